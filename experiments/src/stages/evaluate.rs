//! The last step: every model of the run (the teacher and each student variant × seed) through
//! the one [`Classifier`] interface on every dev split (metrics and per-example predictions) and
//! every test split (GLUE submission files).

use crate::data::TaskData;
use crate::names::ModelName;
use crate::results::{DevPredictionRow, LogitRow, MetricRow};
use anyhow::{bail, Context, Result};
use bilstm_student::StudentModel;
use kd_core::data::{submission_name, write_submission, Example, Task};
use kd_core::metrics::{argmax, Confusion};
use kd_core::Classifier;
use reports::schema::{Metric, Split};
use std::path::{Path, PathBuf};

/// A trained student loaded from its stage dir onto `device` (the model and the `VarStore` its
/// weights live in).
pub fn load_student(dir: &Path, device: tch::Device) -> Result<(StudentModel, tch::nn::VarStore)> {
    StudentModel::load_on(dir, device)
        .with_context(|| format!("loading the student from {}", dir.display()))
}

/// What one model's evaluation adds to the run's result files.
#[derive(Default)]
pub struct Evaluation {
    /// metrics.csv rows.
    pub metrics: Vec<MetricRow>,
    /// dev_predictions.csv rows.
    pub predictions: Vec<DevPredictionRow>,
    /// Submission files written.
    pub submissions: Vec<PathBuf>,
}

/// Who is evaluated, for the rows.
pub struct Subject<'a> {
    /// The task.
    pub task: Task,
    /// The model's name.
    pub model: &'a ModelName,
    /// Its seed.
    pub seed: u64,
    /// The config's name.
    pub config: &'a str,
    /// The code's revision.
    pub git_rev: &'a str,
}

/// Evaluates `clf` on every dev split and writes its test submissions into `submissions_dir`
/// (`<GLUE name>.<model>.seed<N>.tsv`).
pub fn evaluate(
    clf: &dyn Classifier,
    who: &Subject,
    data: &TaskData,
    batch_size: usize,
    submissions_dir: &Path,
) -> Result<Evaluation> {
    let k = clf.num_classes();
    let task = who.task;
    let mut out = Evaluation::default();
    let row = |split: Split, metric: Metric, value: f64| MetricRow {
        task,
        model: who.model.clone(),
        split,
        metric,
        value,
        seed: who.seed,
        config: who.config.into(),
        git_rev: who.git_rev.into(),
    };
    for split in &data.dev {
        let name = Split::from_name(&split.file.name)
            .with_context(|| format!("{}: unknown split name", split.file.name))?;
        let logits = clf.predict_logits(&split.examples, batch_size)?;
        let preds = argmax(&logits, k);
        let mut conf = Confusion::new(k);
        for (i, (&p, e)) in preds.iter().zip(&split.examples).enumerate() {
            let Some(y) = e.label.filter(|&y| y < k) else {
                bail!(
                    "{}: example {} has no label (a dev split must be labelled)",
                    split.file.path.display(),
                    i + 1
                );
            };
            conf.add(p, y);
            out.predictions.push(DevPredictionRow {
                task,
                config: who.config.into(),
                model: who.model.clone(),
                seed: who.seed,
                split: name,
                example: i,
                label: y,
                prediction: p,
            });
        }
        out.metrics
            .push(row(name, Metric::Accuracy, 100.0 * conf.accuracy()));
        if who.task == Task::Qqp {
            out.metrics.push(row(name, Metric::F1, 100.0 * conf.f1(1)));
        }
    }
    for split in &data.test {
        let logits = clf.predict_logits(&split.examples, batch_size)?;
        let preds = argmax(&logits, k);
        let indices: Vec<u64> = split
            .examples
            .iter()
            .enumerate()
            .map(|(i, e)| e.index.unwrap_or(i as u64))
            .collect();
        let path = submissions_dir.join(format!(
            "{}.{}.seed{}.tsv",
            submission_name(who.task, &split.file.name),
            who.model,
            who.seed
        ));
        write_submission(who.task, &path, &indices, &preds)?;
        out.submissions.push(path);
    }
    Ok(out)
}

/// The teacher's logits for one real dev sentence, for the report's softmax-T figure
/// (`softmax_t.csv`).
pub fn softmax_t_example(
    out_dir: &Path,
    task: Task,
    teacher: &dyn Classifier,
    data: &TaskData,
) -> Result<()> {
    // A sentence of middling length that the teacher gets right shows the effect of T best: the
    // first dev sentence of 8-20 words that it classifies correctly (deterministic), else the first.
    let dev = &data.selection_dev().examples;
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
    let k = teacher.num_classes();
    let all = teacher.predict_logits(&candidates, 64)?;
    let chosen = candidates
        .iter()
        .zip(all.chunks(k))
        .position(|(e, z)| e.label == Some(argmax(z, k)[0]))
        .unwrap_or(0);
    let pick = &candidates[chosen];
    let logits = &all[chosen * k..(chosen + 1) * k];
    let names = task.class_names();
    let rows: Vec<LogitRow> = logits
        .iter()
        .enumerate()
        .map(|(class, &logit)| LogitRow {
            sentence: pick.text_a.clone(),
            class,
            label_name: names.get(class).copied().unwrap_or("?").to_string(),
            logit: f64::from(logit),
        })
        .collect();
    crate::results::write_csv(&out_dir.join("softmax_t.csv"), &rows)
}
