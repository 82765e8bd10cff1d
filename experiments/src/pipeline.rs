//! The one pipeline behind every task binary (§3 of the paper, end to end), as a list of stages
//! whose keys are all known before any of them runs ([`Plan`]):
//!
//! 1. fine-tune the teacher ([`stages::teacher`]);
//! 2. build each transfer set the students need ([`stages::transfer`]) and
//! 3. label it with the teacher's logits ([`stages::labels`]);
//! 4. train every student variant × seed ([`stages::student`]);
//! 5. evaluate every model, write submissions and the result files ([`stages::evaluate`]).
//!
//! Stages live in the shared store ([`crate::store`]); the run's out dir holds what this run
//! produced: `config.yaml`, `metrics.csv`, `history.csv`, `variants.csv`, `dev_predictions.csv`,
//! `softmax_t.csv` (SST-2), `submissions/`, `stages.json` (the stages it used) and `log.txt`.

use crate::config::{DataSource, ExperimentConfig, StudentRun};
use crate::data::{load_task_data, TaskData};
use crate::log::RunLog;
use crate::logln;
use crate::names::{task_slug, ModelName};
use crate::results::{git_rev, write_csv, HistoryRow, VariantRow};
use crate::stages::evaluate::{evaluate, StudentClassifier, Subject, TeacherClassifier};
use crate::stages::labels::Labelled;
use crate::stages::{self, student::Sources, TrainSummary};
use crate::store::{files_digest, path_digest, try_lock_file, Stage, Store};
use anyhow::{bail, Context, Result};
use bilstm_student::Objective;
use kd_core::augment::AugmentConfig;
use kd_core::loss::SoftLoss;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Everything a run needs, resolved by the command line.
pub struct RunSpec {
    /// The checked config.
    pub cfg: ExperimentConfig,
    /// The GLUE task folder.
    pub data_dir: PathBuf,
    /// Where this run's result files go.
    pub out_dir: PathBuf,
    /// The stage store.
    pub store: PathBuf,
    /// Where tensors live.
    pub device: tch::Device,
}

/// One transfer set the students need: its augmentation and its two stages.
pub struct TransferPlan {
    /// The augmentation settings.
    pub augment: AugmentConfig,
    /// The augmented set.
    pub transfer: Stage,
    /// Its teacher logits.
    pub labels: Stage,
}

/// One student to train and the stage it trains into.
pub struct StudentPlan {
    /// The variant at one seed.
    pub run: StudentRun,
    /// Its stage.
    pub stage: Stage,
    /// Index into [`Plan::transfers`] of the set it trains on (`data: transfer`).
    pub transfer: Option<usize>,
}

/// Every stage of a run, keys computed up front from the config and the inputs' contents.
pub struct Plan {
    /// The teacher.
    pub teacher: Stage,
    /// The transfer sets; the shared `augment` block's first when it is needed.
    pub transfers: Vec<TransferPlan>,
    /// Index of the shared `augment` block's set, whose originals give teacher targets on the
    /// training set.
    pub base: Option<usize>,
    /// The students, in config order.
    pub students: Vec<StudentPlan>,
}

impl Plan {
    /// Computes every stage's key: content digests of the inputs, the settings that matter
    /// (normalised: no threads, progress or evaluation batch sizes) and the stage versions.
    pub fn new(cfg: &ExperimentConfig, data: &TaskData, store: &Store) -> Result<Self> {
        let runs = cfg.resolve()?;
        let dev = data.selection_dev();
        let init = files_digest(
            &cfg.paths.teacher_init,
            &[
                bert_teacher::teacher::WEIGHTS_FILE,
                bert_teacher::teacher::CONFIG_FILE,
                bert_teacher::teacher::TOKENIZER_FILE,
            ],
        )
        .with_context(|| {
            format!(
                "the teacher checkpoint {}",
                cfg.paths.teacher_init.display()
            )
        })?;
        let mut fine_tune = cfg.teacher.fine_tune.clone();
        fine_tune.eval_batch_size = 0;
        let teacher = store.stage(
            "teacher",
            stages::TEACHER_VERSION,
            &json!({
                "train": data.train_digest, "max_train": cfg.data.max_train,
                "dev": dev.digest, "max_dev": cfg.data.max_dev,
                "checkpoint": init, "fine_tune": fine_tune,
            }),
        )?;

        let needs_base = runs
            .iter()
            .any(|r| r.data == DataSource::Train && r.targets.needs_teacher());
        let mut augments: Vec<AugmentConfig> = Vec::new();
        if needs_base {
            augments.push(cfg.augment.clone());
        }
        for r in &runs {
            if let Some(a) = &r.augment {
                if !augments.contains(a) {
                    augments.push(a.clone());
                }
            }
        }
        let pos = if augments.is_empty() {
            String::new()
        } else {
            path_digest(&cfg.paths.pos_model).with_context(|| {
                format!("the POS model {}", cfg.paths.pos_model.display())
            })?
        };
        let mut transfers = Vec::new();
        for augment in augments {
            let transfer = store.stage(
                "transfer",
                stages::TRANSFER_VERSION,
                &json!({
                    "train": data.train_digest, "max_train": cfg.data.max_train,
                    "augment": augment, "pos_model": pos,
                }),
            )?;
            let labels = store.stage(
                "labels",
                stages::LABELS_VERSION,
                &json!({ "teacher": teacher.key, "transfer": transfer.key }),
            )?;
            transfers.push(TransferPlan {
                augment,
                transfer,
                labels,
            });
        }
        let base = transfers.iter().position(|t| t.augment == cfg.augment);

        let mut vectors: HashMap<PathBuf, String> = HashMap::new();
        let mut students = Vec::new();
        for run in runs {
            let mut model = run.model.clone();
            let vec_digest = match model.embedding.vectors.take() {
                Some(p) => Some(match vectors.get(&p) {
                    Some(d) => d.clone(),
                    None => {
                        let d = path_digest(&p)
                            .with_context(|| format!("the word vectors {}", p.display()))?;
                        vectors.insert(p.clone(), d.clone());
                        d
                    }
                }),
                None => None,
            };
            let mut train = run.train.clone();
            train.eval_batch_size = 0;
            train.threads = None;
            train.progress = false;
            let transfer = run
                .augment
                .as_ref()
                .and_then(|a| transfers.iter().position(|t| &t.augment == a));
            let source = match (run.data, transfer) {
                (DataSource::Transfer, Some(i)) => json!({ "labels": transfers[i].labels.key }),
                (DataSource::Train, _) => json!({
                    "train": data.train_digest, "max_train": cfg.data.max_train,
                    "labels": if run.targets.needs_teacher() {
                        base.map(|b| transfers[b].labels.key.clone())
                    } else { None },
                }),
                (DataSource::Transfer, None) => bail!("{}: no transfer set planned", run.variant),
            };
            let stage = store.stage(
                "student",
                stages::STUDENT_VERSION,
                &json!({
                    "source": source, "targets": run.targets,
                    "dev": dev.digest, "max_dev": cfg.data.max_dev,
                    "model": model, "vectors": vec_digest, "train": train,
                }),
            )?;
            students.push(StudentPlan {
                run,
                stage,
                transfer,
            });
        }
        Ok(Self {
            teacher,
            transfers,
            base,
            students,
        })
    }
}

/// A stage this run used, for `stages.json`.
#[derive(Serialize)]
struct StageRef<'a> {
    stage: &'a str,
    key: &'a str,
    dir: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
}

/// Runs the whole pipeline.
pub fn run(spec: &RunSpec) -> Result<()> {
    let cfg = &spec.cfg;
    let task = cfg.task;
    let slug = task_slug(task);
    let out_dir = &spec.out_dir;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let lock_path = out_dir.join(".lock");
    let Some(_out_lock) = try_lock_file(&lock_path)? else {
        bail!(
            "{} is in use by another run (lock {}): wait for it to finish or choose another --out-dir",
            out_dir.display(),
            lock_path.display()
        );
    };
    let store = Store::open(&spec.store)?;
    let log = RunLog::open(&out_dir.join("log.txt"));
    kd_core::io::atomic_write_bytes(
        &out_dir.join("config.yaml"),
        serde_yaml::to_string(cfg)?.as_bytes(),
    )?;
    if let Some(n) = cfg.threads {
        tch::set_num_threads(n as i32);
    }
    let device = spec.device;
    let rev = git_rev();
    logln!(
        log,
        "{slug}: config '{}', seed {}, data {}, out {}, store {}, device {:?}, {} threads, git {rev}",
        cfg.name,
        cfg.seed,
        spec.data_dir.display(),
        out_dir.display(),
        store.root.display(),
        device,
        tch::get_num_threads()
    );

    let data = load_task_data(task, &spec.data_dir, cfg)?;
    let sizes = |splits: &[crate::data::Split]| {
        splits
            .iter()
            .map(|s| format!("{}={}", s.file.name, s.examples.len()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    logln!(
        log,
        "data: {} train, dev {}, test {}",
        data.train.len(),
        sizes(&data.dev),
        sizes(&data.test)
    );
    let plan = Plan::new(cfg, &data, &store)?;
    logln!(
        log,
        "plan: teacher, {} transfer set(s), {} student run(s)",
        plan.transfers.len(),
        plan.students.len()
    );

    // 1. Teacher.
    let teacher_summary = stages::teacher::run(&plan.teacher, cfg, &data, device, &log)?;
    let teacher = bert_teacher::Teacher::load(&plan.teacher.dir, device).with_context(|| {
        format!(
            "loading the fine-tuned teacher from {}",
            plan.teacher.dir.display()
        )
    })?;

    // 2. and 3. Transfer sets and their logits.
    let mut labelled: Vec<Labelled> = Vec::new();
    let mut transfer_sizes = Vec::new();
    for t in &plan.transfers {
        let summary = stages::transfer::run(
            &t.transfer,
            &t.augment,
            &cfg.paths.pos_model,
            &data,
            device,
            &log,
        )?;
        stages::labels::run(
            &t.labels,
            &t.transfer,
            &teacher,
            cfg.teacher.label_batch_size,
            cfg.teacher.label_chunk_size,
            device,
            &log,
        )?;
        labelled.push(stages::labels::read(&t.labels, task.num_classes())?);
        transfer_sizes.push(summary.total);
    }

    // 4. Students.
    let dev = stages::student::plain(&data.selection_dev().examples);
    let mut summaries: Vec<TrainSummary> = Vec::new();
    for (i, sp) in plan.students.iter().enumerate() {
        let sources = Sources {
            train: &data.train,
            transfer: sp.transfer.map(|t| &labelled[t]),
            base: plan.base.map(|b| &labelled[b]),
        };
        let train = stages::student::training_examples(&sp.run, &sources)?;
        logln!(
            log,
            "student {}/{}: {} seed {}",
            i + 1,
            plan.students.len(),
            sp.run.variant,
            sp.run.seed
        );
        summaries.push(stages::student::run(
            &sp.stage, &sp.run, &train, &dev, device, &log,
        )?);
    }

    // 5. Evaluation, submissions, result rows.
    let submissions = out_dir.join("submissions");
    let teacher_name = ModelName::teacher();
    let subject = |model, seed| Subject {
        task,
        model,
        seed,
        config: &cfg.name,
        git_rev: &rev,
    };
    let teacher_clf = TeacherClassifier(&teacher);
    let mut ev = evaluate(
        &teacher_clf,
        &subject(&teacher_name, cfg.seed),
        &data,
        cfg.teacher.label_batch_size,
        &submissions,
    )?;
    let mut history = history_rows(slug, &cfg.name, &teacher_name, cfg.seed, &teacher_summary);
    for (sp, summary) in plan.students.iter().zip(&summaries) {
        let clf = StudentClassifier::load(&sp.stage.dir)?;
        let e = evaluate(
            &clf,
            &subject(&sp.run.variant, sp.run.seed),
            &data,
            sp.run.train.eval_batch_size,
            &submissions,
        )?;
        ev.metrics.extend(e.metrics);
        ev.predictions.extend(e.predictions);
        history.extend(history_rows(
            slug,
            &cfg.name,
            &sp.run.variant,
            sp.run.seed,
            summary,
        ));
    }
    let variants = variant_rows(cfg, &plan, &transfer_sizes, &data);
    write_csv(&out_dir.join("metrics.csv"), &ev.metrics)?;
    write_csv(&out_dir.join("history.csv"), &history)?;
    write_csv(&out_dir.join("variants.csv"), &variants)?;
    write_csv(&out_dir.join("dev_predictions.csv"), &ev.predictions)?;
    write_stage_refs(out_dir, &plan)?;
    if task == kd_core::data::Task::Sst2 {
        stages::evaluate::softmax_t_example(out_dir, task, &teacher_clf, &data)?;
    }
    for (t, size) in plan.transfers.iter().zip(&transfer_sizes) {
        logln!(
            log,
            "transfer set n_iter {}: {} originals -> {size} examples",
            t.augment.n_iter,
            data.train.len()
        );
    }
    for line in crate::compare::comparison_lines(task, &ev.metrics) {
        logln!(log, "{line}");
    }
    logln!(log, "done: {}", out_dir.join("metrics.csv").display());
    Ok(())
}

fn history_rows(
    slug: &str,
    config: &str,
    model: &ModelName,
    seed: u64,
    summary: &TrainSummary,
) -> Vec<HistoryRow> {
    summary
        .history
        .iter()
        .map(|e| HistoryRow {
            task: slug.into(),
            model: model.to_string(),
            epoch: e.epoch,
            train_loss: e.train_loss,
            dev_accuracy: 100.0 * e.dev_accuracy,
            seconds: e.seconds,
            seed,
            config: config.into(),
        })
        .collect()
}

/// One `variants.csv` row per variant (its first seed's plan describes them all).
fn variant_rows(
    cfg: &ExperimentConfig,
    plan: &Plan,
    transfer_sizes: &[usize],
    data: &TaskData,
) -> Vec<VariantRow> {
    let baseline = cfg.students.baseline_name();
    let mut rows: Vec<VariantRow> = Vec::new();
    for sp in &plan.students {
        let r = &sp.run;
        if rows.iter().any(|v| v.model == r.variant.as_str()) {
            continue;
        }
        let (objective, alpha, soft, temperature) = match r.train.objective {
            Objective::Hard => ("hard", 1.0, "none", 1.0),
            Objective::Distill(loss) => {
                let (soft, t) = match loss.soft {
                    SoftLoss::Mse => ("mse", 1.0),
                    SoftLoss::MseElementwise => ("mse_elementwise", 1.0),
                    SoftLoss::SoftCe { t } => ("soft_ce", t),
                    SoftLoss::Kl { t } => ("kl", t),
                };
                ("distill", loss.alpha, soft, t)
            }
        };
        rows.push(VariantRow {
            task: task_slug(cfg.task).into(),
            config: cfg.name.clone(),
            model: r.variant.to_string(),
            baseline: r.variant.as_str() == baseline,
            data: r.data.as_str().into(),
            targets: r.targets.as_str().into(),
            objective: objective.into(),
            alpha,
            soft: soft.into(),
            temperature,
            n_iter: r.augment.as_ref().map_or(0, |a| a.n_iter),
            transfer_size: match sp.transfer {
                Some(i) if r.data == DataSource::Transfer => transfer_sizes[i],
                _ => data.train.len(),
            },
            description: r.description.clone(),
        });
    }
    rows
}

fn write_stage_refs(out_dir: &Path, plan: &Plan) -> Result<()> {
    let mut refs = vec![StageRef {
        stage: "teacher",
        key: &plan.teacher.key,
        dir: &plan.teacher.dir,
        model: None,
        seed: None,
    }];
    for t in &plan.transfers {
        for s in [&t.transfer, &t.labels] {
            refs.push(StageRef {
                stage: &s.name,
                key: &s.key,
                dir: &s.dir,
                model: None,
                seed: None,
            });
        }
    }
    for sp in &plan.students {
        refs.push(StageRef {
            stage: &sp.stage.name,
            key: &sp.stage.key,
            dir: &sp.stage.dir,
            model: Some(sp.run.variant.to_string()),
            seed: Some(sp.run.seed),
        });
    }
    kd_core::io::atomic_write_bytes(
        &out_dir.join("stages.json"),
        &serde_json::to_vec_pretty(&refs)?,
    )?;
    Ok(())
}
