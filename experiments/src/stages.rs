//! The stage bodies of [`crate::pipeline::run`]: each checks its `done.json`, else does (or
//! resumes) its work inside its stage directory and finishes it.

use crate::config::ExperimentConfig;
use crate::log::RunLog;
use crate::logln;
use crate::pipeline::{secs, transfer_to_examples, TaskData, TrainSummary, TransferSummary};
use crate::stage::Stage;
use anyhow::{Context, Result};
use bilstm_student::{StudentExample, StudentModel, TrainConfig, TrainOutput};
use kd_core::augment::{
    build_transfer_set, read_transfer_set, write_transfer_set, TransferExample,
};
use kd_core::data::Example;
use kd_core::pos::PosTagger;
use std::path::Path;
use std::time::Instant;

/// Stage 1: fine-tunes the teacher (resuming an interrupted fine-tune by epoch).
pub fn teacher(
    stage: &Stage,
    cfg: &ExperimentConfig,
    data: &TaskData,
    log: &RunLog,
) -> Result<TrainSummary> {
    if let Some(done) = stage.done::<TrainSummary>()? {
        logln!(
            log,
            "teacher: cached in {} (dev acc {:.2})",
            stage.dir.display(),
            100.0 * done.best_dev_accuracy
        );
        return Ok(done);
    }
    logln!(
        log,
        "teacher: fine-tuning {} on {} examples -> {}",
        cfg.paths.teacher_init.display(),
        data.train.len(),
        stage.dir.display()
    );
    let t = Instant::now();
    let out = bert_teacher::fine_tune(
        &cfg.paths.teacher_init,
        &data.train,
        &data.dev[0].examples,
        cfg.task.num_classes(),
        &cfg.teacher.fine_tune,
        &stage.dir,
    )?;
    let summary = TrainSummary {
        best_epoch: out.best_epoch,
        best_dev_accuracy: out.best_dev_accuracy,
        history: out.history,
        seconds: secs(t),
    };
    stage.finish(&summary)?;
    logln!(
        log,
        "teacher: best dev acc {:.2} at epoch {} ({:.0} s)",
        100.0 * summary.best_dev_accuracy,
        summary.best_epoch,
        summary.seconds
    );
    Ok(summary)
}

/// Stage 2: builds the augmented transfer set (§3.2) and writes `transfer.tsv`.
pub fn transfer(
    stage: &Stage,
    cfg: &ExperimentConfig,
    data: &TaskData,
    log: &RunLog,
) -> Result<TransferSummary> {
    if let Some(done) = stage.done::<TransferSummary>()? {
        logln!(log, "transfer set: cached ({} examples)", done.total);
        return Ok(done);
    }
    let t = Instant::now();
    let tagger = PosTagger::load(&cfg.paths.pos_model).with_context(|| {
        format!(
            "loading the POS tagger from {}",
            cfg.paths.pos_model.display()
        )
    })?;
    logln!(
        log,
        "transfer set: augmenting {} examples, n_iter {}",
        data.train.len(),
        cfg.augment.n_iter
    );
    let set = build_transfer_set(&data.train, &tagger, &cfg.augment, None)?;
    write_transfer_set(&stage.dir.join("transfer.tsv"), &set.examples, None)?;
    let summary = TransferSummary {
        originals: data.train.len(),
        total: set.examples.len(),
        seconds: secs(t),
    };
    stage.finish(&summary)?;
    logln!(
        log,
        "transfer set: {} examples ({:.1} s)",
        summary.total,
        summary.seconds
    );
    Ok(summary)
}

/// Stage 3: the teacher's logits on every transfer example (resumable by chunk), written with the
/// examples as `transfer.tsv` in the stage dir.
pub fn label(
    stage: &Stage,
    transfer_stage: &Stage,
    cfg: &ExperimentConfig,
    teacher: &bert_teacher::Teacher,
    log: &RunLog,
) -> Result<()> {
    if stage.done::<serde_json::Value>()?.is_some() {
        logln!(log, "labels: cached");
        return Ok(());
    }
    let (transfer, _) = read_transfer_set(&transfer_stage.dir.join("transfer.tsv"))?;
    logln!(
        log,
        "labels: teacher logits for {} examples",
        transfer.len()
    );
    let t = Instant::now();
    let examples = transfer_to_examples(&transfer);
    let logits = bert_teacher::label_resumable(
        teacher,
        &examples,
        cfg.teacher.label_batch_size,
        &stage.dir.join("chunks"),
        cfg.teacher.label_chunk_size,
    )?;
    let k = teacher.num_labels();
    write_transfer_set(
        &stage.dir.join("transfer.tsv"),
        &transfer,
        Some((&logits, k)),
    )?;
    let seconds = secs(t);
    stage.finish(
        &serde_json::json!({ "examples": transfer.len(), "seconds": seconds,
        "examples_per_sec": transfer.len() as f64 / seconds.max(1e-9) }),
    )?;
    let _ = std::fs::remove_dir_all(stage.dir.join("chunks"));
    logln!(
        log,
        "labels: {} examples in {:.0} s",
        transfer.len(),
        seconds
    );
    Ok(())
}

fn summarise(out: TrainOutput, t: Instant) -> TrainSummary {
    TrainSummary {
        best_epoch: out.best_epoch,
        best_dev_accuracy: out.best_dev_accuracy,
        history: out.history,
        seconds: secs(t),
    }
}

fn to_student(examples: &[Example]) -> Vec<StudentExample> {
    examples
        .iter()
        .map(|e| StudentExample {
            text_a: e.text_a.clone(),
            text_b: e.text_b.clone(),
            label: e.label,
            teacher_logits: None,
        })
        .collect()
}

fn train_student(
    name: &str,
    stage: &Stage,
    cfg: &ExperimentConfig,
    train_cfg: &TrainConfig,
    train: &[StudentExample],
    dev: &[StudentExample],
    log: &RunLog,
) -> Result<TrainSummary> {
    if let Some(done) = stage.done::<TrainSummary>()? {
        logln!(
            log,
            "{name}: cached (dev acc {:.2})",
            100.0 * done.best_dev_accuracy
        );
        return Ok(done);
    }
    logln!(
        log,
        "{name}: training on {} examples, {} epochs -> {}",
        train.len(),
        train_cfg.epochs,
        stage.dir.display()
    );
    let t = Instant::now();
    let texts = train
        .iter()
        .flat_map(|e| std::iter::once(e.text_a.as_str()).chain(e.text_b.as_deref()));
    let (model, mut vs) = crate::models::fresh_student(&cfg.student.model, texts, train_cfg.seed)?;
    logln!(
        log,
        "{name}: vocab {}, {} parameters without embeddings ({} with)",
        model.vocab().len(),
        model.param_count_without_embeddings(),
        model.param_count_with_embeddings()
    );
    let out = bilstm_student::train(&model, &mut vs, train, dev, train_cfg, &stage.dir)?;
    let summary = summarise(out, t);
    stage.finish(&summary)?;
    logln!(
        log,
        "{name}: best dev acc {:.2} at epoch {} ({:.0} s)",
        100.0 * summary.best_dev_accuracy,
        summary.best_epoch,
        summary.seconds
    );
    Ok(summary)
}

/// Stage 4: the hard-label student on the training set ("BiLSTM").
pub fn student_hard(
    stage: &Stage,
    cfg: &ExperimentConfig,
    data: &TaskData,
    log: &RunLog,
) -> Result<TrainSummary> {
    let train = to_student(&data.train);
    let dev = to_student(&data.dev[0].examples);
    train_student("bilstm", stage, cfg, &cfg.student.hard, &train, &dev, log)
}

/// Stage 5: the distilled student on the labelled transfer set ("BiLSTM_SOFT").
pub fn student_soft(
    stage: &Stage,
    cfg: &ExperimentConfig,
    data: &TaskData,
    transfer: &[TransferExample],
    logits: &[f32],
    log: &RunLog,
) -> Result<TrainSummary> {
    let k = cfg.task.num_classes();
    let train: Vec<StudentExample> = transfer
        .iter()
        .zip(logits.chunks(k))
        // No gold labels here: where alpha > 0 the hard term uses the teacher's argmax for every
        // transfer example (augmented copies have no gold label, and one rule for all keeps the
        // objective the same whatever the mix).
        .map(|(t, z)| StudentExample {
            text_a: t.text_a.clone(),
            text_b: t.text_b.clone(),
            label: None,
            teacher_logits: Some(z.to_vec()),
        })
        .collect();
    let dev = to_student(&data.dev[0].examples);
    train_student(
        "bilstm_soft",
        stage,
        cfg,
        &cfg.student.soft,
        &train,
        &dev,
        log,
    )
}

/// Loads a trained student's best checkpoint as a predictor returning row-major logits.
pub type Predictor<'a> = Box<dyn Fn(&[Example]) -> Result<(Vec<f32>, usize)> + 'a>;

/// A predictor over the best checkpoint in `dir`.
pub fn student_predictor(dir: &Path, batch_size: usize) -> Result<Predictor<'static>> {
    let (model, _vs) = StudentModel::load(dir)
        .with_context(|| format!("loading the student from {}", dir.display()))?;
    Ok(Box::new(move |examples: &[Example]| {
        let _keep_alive = &_vs;
        let logits = bilstm_student::predict(&model, &to_student(examples), batch_size)?;
        let k = logits.size()[1] as usize;
        let flat = Vec::<f32>::try_from(logits.flatten(0, -1).to_kind(tch::Kind::Float))?;
        Ok((flat, k))
    }))
}

/// The teacher's logits for one real SST-2 dev sentence, for the report's softmax-T figure.
pub fn softmax_t_example(
    out_dir: &Path,
    teacher: &bert_teacher::Teacher,
    data: &TaskData,
) -> Result<()> {
    // A sentence of middling length that the teacher gets right shows the effect of T best: the
    // first dev sentence of 8-20 words that it classifies correctly (deterministic), else the first.
    let dev = &data.dev[0].examples;
    let candidates: Vec<Example> = dev
        .iter()
        .filter(|e| (8..=20).contains(&e.text_a.split_whitespace().count()))
        .take(64)
        .cloned()
        .collect();
    let candidates = if candidates.is_empty() {
        vec![dev[0].clone()]
    } else {
        candidates
    };
    let k = teacher.num_labels();
    let all = teacher.predict_logits(&candidates, 64, false)?;
    let chosen = candidates
        .iter()
        .zip(all.chunks(k))
        .position(|(e, z)| e.label == Some(kd_core::metrics::argmax(z, k)[0]))
        .unwrap_or(0);
    let pick = &candidates[chosen];
    let logits = &all[chosen * k..(chosen + 1) * k];
    #[derive(serde::Serialize)]
    struct Row<'a> {
        sentence: &'a str,
        class: usize,
        label_name: &'a str,
        logit: f32,
    }
    let names = ["negative", "positive"];
    let rows: Vec<Row> = logits
        .iter()
        .enumerate()
        .map(|(class, &logit)| Row {
            sentence: &pick.text_a,
            class,
            label_name: names.get(class).copied().unwrap_or("?"),
            logit,
        })
        .collect();
    crate::results::write_csv(&out_dir.join("softmax_t.csv"), &rows)
}
