//! The one pipeline behind every task binary (§3 of the paper, end to end):
//!
//! 1. fine-tune the teacher;
//! 2. build the augmented transfer set;
//! 3. label it with the teacher's logits;
//! 4. train the hard-label student ("BiLSTM");
//! 5. train the distilled student ("BiLSTM_SOFT");
//! 6. evaluate, write submissions and result rows, print the paper comparison.

use crate::cli::{resolve_config, task_dir, task_slug, Args};
use crate::config::ExperimentConfig;
use crate::log::RunLog;
use crate::logln;
use crate::results::{git_rev, write_csv, HistoryRow, MetricRow};
use crate::stage::{file_digest, Stage};
use crate::stages::Predictor;
use anyhow::{bail, Context, Result};
use kd_core::augment::{read_transfer_set, TransferExample};
use kd_core::data::{
    load_split, submission_name, task_files, write_submission, Example, SplitFile, Task,
};
use kd_core::metrics::{argmax, Confusion};
use kd_core::record::EpochRecord;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One evaluated split: its examples and where they came from.
pub struct Split {
    /// The file and split name.
    pub file: SplitFile,
    /// Its examples (after the config's limits).
    pub examples: Vec<Example>,
}

/// Everything a run reads: the task's splits.
pub struct TaskData {
    /// Training examples.
    pub train: Vec<Example>,
    /// Labelled dev splits (the first one selects checkpoints).
    pub dev: Vec<Split>,
    /// Unlabelled test splits (predictions become GLUE submissions).
    pub test: Vec<Split>,
    /// Digest of the files used, for stage keys.
    pub digest: String,
}

/// Summary a finished training stage leaves in `done.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Epoch of the kept checkpoint.
    pub best_epoch: usize,
    /// Its dev accuracy (fraction).
    pub best_dev_accuracy: f64,
    /// Per-epoch records.
    pub history: Vec<EpochRecord>,
    /// Wall time of the stage.
    pub seconds: f64,
}

/// Summary of the transfer-set stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferSummary {
    /// Training examples (the originals).
    pub originals: usize,
    /// Size of the transfer set after dedup, originals included.
    pub total: usize,
    /// Wall time of the stage.
    pub seconds: f64,
}

/// Reads the task's splits, applying the config's limits.
pub fn load_task_data(task: Task, dir: &Path, cfg: &ExperimentConfig) -> Result<TaskData> {
    let files = task_files(task, dir);
    let take = |mut v: Vec<Example>, n: Option<usize>| {
        if let Some(n) = n {
            v.truncate(n);
        }
        v
    };
    let train = take(load_split(task, &files.train)?, cfg.data.max_train);
    if train.is_empty() {
        bail!("{}: no training examples", files.train.display());
    }
    let mut digest = vec![file_digest(&files.train)?];
    let mut dev = Vec::new();
    for file in files.dev {
        if !file.path.is_file() {
            bail!(
                "{}: dev split '{}' not found",
                file.path.display(),
                file.name
            );
        }
        digest.push(file_digest(&file.path)?);
        let examples = take(load_split(task, &file.path)?, cfg.data.max_dev);
        dev.push(Split { file, examples });
    }
    if dev.is_empty() {
        bail!("{}: no dev split for {:?}", dir.display(), task);
    }
    let mut test = Vec::new();
    for file in files.test {
        let examples = take(load_split(task, &file.path)?, cfg.data.max_test);
        test.push(Split { file, examples });
    }
    Ok(TaskData {
        train,
        dev,
        test,
        digest: digest.join("-"),
    })
}

/// Runs the whole pipeline for `task` as the arguments say.
pub fn run(task: Task, args: &Args) -> Result<()> {
    let cfg = resolve_config(task, args)?;
    let slug = task_slug(task);
    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(slug).join(&cfg.name));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let log = RunLog::open(&out_dir.join("log.txt"));
    let data_dir = task_dir(task, &args.data_dir)?;
    kd_core::io::atomic_write_bytes(
        &out_dir.join("config.yaml"),
        serde_yaml::to_string(&cfg)?.as_bytes(),
    )?;
    if let Some(n) = cfg.threads {
        tch::set_num_threads(n as i32);
    }
    let device = tch::Device::cuda_if_available();
    let rev = git_rev();
    logln!(
        log,
        "{slug}: config '{}', seed {}, data {}, out {}, device {:?}, {} threads, git {rev}",
        cfg.name,
        cfg.seed,
        data_dir.display(),
        out_dir.display(),
        device,
        tch::get_num_threads()
    );

    let data = load_task_data(task, &data_dir, &cfg)?;
    logln!(
        log,
        "data: {} train, dev {}, test {}",
        data.train.len(),
        data.dev
            .iter()
            .map(|s| format!("{}={}", s.file.name, s.examples.len()))
            .collect::<Vec<_>>()
            .join(" "),
        data.test
            .iter()
            .map(|s| format!("{}={}", s.file.name, s.examples.len()))
            .collect::<Vec<_>>()
            .join(" ")
    );

    // 1. Teacher.
    // The checkpoint's bytes, not only its path: new weights at the same path retrain the teacher.
    let init_weights = cfg.paths.teacher_init.join("model.safetensors");
    let init_digest = file_digest(&init_weights).with_context(|| {
        format!(
            "the teacher checkpoint {}",
            cfg.paths.teacher_init.display()
        )
    })?;
    let teacher_stage = Stage::new(
        &out_dir,
        "teacher",
        &(
            &data.digest,
            &cfg.data,
            &cfg.paths.teacher_init,
            &init_digest,
            &cfg.teacher.fine_tune,
        ),
    )?;
    let teacher_summary = crate::stages::teacher(&teacher_stage, &cfg, &data, &log)?;
    let teacher = bert_teacher::Teacher::load(&teacher_stage.dir, device).with_context(|| {
        format!(
            "loading the fine-tuned teacher from {}",
            teacher_stage.dir.display()
        )
    })?;

    // 2. Transfer set.
    let transfer_stage = Stage::new(
        &out_dir,
        "transfer",
        &(&data.digest, &cfg.data, &cfg.augment),
    )?;
    let transfer_summary = crate::stages::transfer(&transfer_stage, &cfg, &data, &log)?;

    // 3. Teacher logits on the transfer set.
    let labels_stage = Stage::new(
        &out_dir,
        "labels",
        &(&teacher_stage.key, &transfer_stage.key),
    )?;
    crate::stages::label(&labels_stage, &transfer_stage, &cfg, &teacher, &log)?;
    let (transfer, logits) = read_transfer_set(&labels_stage.dir.join("transfer.tsv"))?;
    let (logits, num_classes) = logits.context("the labelled transfer set has no logits")?;
    if num_classes != task.num_classes() {
        bail!(
            "labelled transfer set has {num_classes} logits per row, the task has {}",
            task.num_classes()
        );
    }

    // 4. and 5. Students.
    let hard_stage = Stage::new(
        &out_dir,
        "bilstm",
        &(
            &data.digest,
            &cfg.data,
            &cfg.student.model,
            &cfg.student.hard,
        ),
    )?;
    let hard_summary = crate::stages::student_hard(&hard_stage, &cfg, &data, &log)?;
    let soft_stage = Stage::new(
        &out_dir,
        "bilstm_soft",
        &(&labels_stage.key, &cfg.student.model, &cfg.student.soft),
    )?;
    let soft_summary =
        crate::stages::student_soft(&soft_stage, &cfg, &data, &transfer, &logits, &log)?;

    // 6. Evaluation, submissions, result rows.
    let mut metrics = Vec::new();
    let mut history = Vec::new();
    // A row's seed is the one its model was trained with (students may have their own).
    let seed_of = |model: &str| {
        if model == "teacher" {
            cfg.seed
        } else {
            cfg.student.hard.seed
        }
    };
    let row = |model: &str, split: &str, metric: &str, value: f64| MetricRow {
        task: slug.into(),
        model: model.into(),
        split: split.into(),
        metric: metric.into(),
        value,
        seed: seed_of(model),
        config: cfg.name.clone(),
        git_rev: rev.clone(),
    };
    let predictors: Vec<(&str, Predictor)> = vec![
        (
            "teacher",
            Box::new(|ex: &[Example]| {
                Ok((
                    teacher.predict_logits(ex, cfg.teacher.label_batch_size, false)?,
                    task.num_classes(),
                ))
            }),
        ),
        (
            "bilstm",
            crate::stages::student_predictor(&hard_stage.dir, cfg.student.hard.eval_batch_size)?,
        ),
        (
            "bilstm_soft",
            crate::stages::student_predictor(&soft_stage.dir, cfg.student.soft.eval_batch_size)?,
        ),
    ];
    for (model, predict) in &predictors {
        for split in &data.dev {
            let (logits, k) = predict(&split.examples)?;
            let labels: Vec<usize> = split
                .examples
                .iter()
                .map(|e| e.label.unwrap_or(usize::MAX))
                .collect();
            let conf = confusion(&logits, k, &labels, &split.file.path)?;
            metrics.push(row(
                model,
                &split.file.name,
                "accuracy",
                100.0 * conf.accuracy(),
            ));
            if task == Task::Qqp {
                metrics.push(row(model, &split.file.name, "f1", 100.0 * conf.f1(1)));
            }
        }
        for split in &data.test {
            let (logits, k) = predict(&split.examples)?;
            let preds = argmax(&logits, k);
            let indices: Vec<u64> = split
                .examples
                .iter()
                .enumerate()
                .map(|(i, e)| e.index.unwrap_or(i as u64))
                .collect();
            let path = out_dir.join("submissions").join(format!(
                "{}.{model}.tsv",
                submission_name(task, &split.file.name)
            ));
            write_submission(task, &path, &indices, &preds)?;
        }
    }
    for (model, summary) in [
        ("teacher", &teacher_summary),
        ("bilstm", &hard_summary),
        ("bilstm_soft", &soft_summary),
    ] {
        for e in &summary.history {
            history.push(HistoryRow {
                task: slug.into(),
                model: model.into(),
                epoch: e.epoch,
                train_loss: e.train_loss,
                dev_accuracy: 100.0 * e.dev_accuracy,
                seconds: e.seconds,
                seed: seed_of(model),
                config: cfg.name.clone(),
            });
        }
    }
    write_csv(&out_dir.join("metrics.csv"), &metrics)?;
    write_csv(&out_dir.join("history.csv"), &history)?;
    if task == Task::Sst2 {
        crate::stages::softmax_t_example(&out_dir, &teacher, &data)?;
    }
    logln!(
        log,
        "transfer set: {} originals -> {} examples",
        transfer_summary.originals,
        transfer_summary.total
    );
    for line in crate::compare::comparison_lines(task, &metrics) {
        logln!(log, "{line}");
    }
    logln!(log, "done: {}", out_dir.join("metrics.csv").display());
    Ok(())
}

/// Confusion counts of `logits` (row-major `[n, k]`) against labels; every label must be present.
pub fn confusion(logits: &[f32], k: usize, labels: &[usize], path: &Path) -> Result<Confusion> {
    let preds = argmax(logits, k);
    let mut conf = Confusion::new(k);
    for (i, (&p, &y)) in preds.iter().zip(labels).enumerate() {
        if y >= k {
            bail!(
                "{}: example {} has no label (a dev split must be labelled)",
                path.display(),
                i + 1
            );
        }
        conf.add(p, y);
    }
    Ok(conf)
}

/// Seconds since `t`.
pub fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Converts transfer examples to the student's training examples.
pub fn transfer_to_examples(transfer: &[TransferExample]) -> Vec<Example> {
    transfer
        .iter()
        .map(|t| Example {
            text_a: t.text_a.clone(),
            text_b: t.text_b.clone(),
            label: t.label,
            index: None,
        })
        .collect()
}
