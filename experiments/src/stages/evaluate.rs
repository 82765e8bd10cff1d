//! The last step: every model of the run (each teacher and each student variant × seed), from its
//! logits on every split ([`Predictions`], through the one [`kd_core::Classifier`] interface):
//! metrics and per-example predictions on every dev split, GLUE submission files for every test
//! split, and each student's fidelity to its teacher on both (agreement needs no label).

use super::predictions::Predictions;
use crate::data::TaskData;
use crate::names::ModelName;
use crate::results::{DevPredictionRow, LogitRow, MetricRow};
use anyhow::{bail, Context, Result};
use bilstm_student::StudentModel;
use kd_core::data::{submission_name, write_submission, Task};
use kd_core::metrics::{argmax, Confusion};
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

impl Evaluation {
    /// Appends `other`'s rows and files.
    pub fn extend(&mut self, other: Evaluation) {
        self.metrics.extend(other.metrics);
        self.predictions.extend(other.predictions);
        self.submissions.extend(other.submissions);
    }
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

/// Scores one model's logits on every split of `data` ([`Predictions`], in the run's split
/// order): accuracy (and F1 for QQP) and per-example rows on every dev split, a submission file
/// per test split (`<GLUE name>.<model>.seed<N>.tsv` in `submissions_dir`), and, given its
/// teacher's logits (`teacher`), its fidelity on every split, dev and test: agreement with the
/// teacher's argmax (percent) and the mean ‖z^B − z^S‖² ([`fidelity`]).
pub fn score(
    preds: &Predictions,
    who: &Subject,
    data: &TaskData,
    submissions_dir: &Path,
    teacher: Option<&Predictions>,
) -> Result<Evaluation> {
    let k = preds.classes;
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
    let logits_of = |p: &Predictions, name: &str| -> Result<Vec<f32>> {
        p.split(name)
            .map(<[f32]>::to_vec)
            .with_context(|| format!("no logits for split {name}"))
    };
    for split in &data.dev {
        let name = Split::from_name(&split.file.name)
            .with_context(|| format!("{}: unknown split name", split.file.name))?;
        let logits = logits_of(preds, &split.file.name)?;
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
        let logits = logits_of(preds, &split.file.name)?;
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
    if let Some(teacher) = teacher {
        for split in data.dev.iter().chain(&data.test) {
            let name = Split::from_name(&split.file.name)
                .with_context(|| format!("{}: unknown split name", split.file.name))?;
            let f = fidelity(
                &logits_of(preds, &split.file.name)?,
                &logits_of(teacher, &split.file.name)?,
                k,
            )?;
            out.metrics
                .push(row(name, Metric::TeacherAgreement, f.agreement));
            out.metrics.push(row(name, Metric::TeacherLogitMse, f.mse));
        }
    }
    Ok(out)
}

/// How closely a student follows its teacher on one split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fidelity {
    /// Share of examples whose argmax equals the teacher's, percent.
    pub agreement: f64,
    /// Mean over examples of ‖z^B − z^S‖² (summed over classes, as the paper's loss).
    pub mse: f64,
}

/// The fidelity of `student` to `teacher` (row-major logits of the same examples, `k` classes).
/// Ties in an argmax go to the lower class for both ([`argmax`]). An empty split gives 0 and 0.
pub fn fidelity(student: &[f32], teacher: &[f32], k: usize) -> Result<Fidelity> {
    if k == 0 || student.len() != teacher.len() || !student.len().is_multiple_of(k) {
        bail!(
            "fidelity: {} student and {} teacher logits for {k} classes",
            student.len(),
            teacher.len()
        );
    }
    let n = student.len() / k;
    if n == 0 {
        return Ok(Fidelity {
            agreement: 0.0,
            mse: 0.0,
        });
    }
    let agree = argmax(student, k)
        .iter()
        .zip(argmax(teacher, k))
        .filter(|(a, b)| **a == *b)
        .count();
    let sq: f64 = student
        .iter()
        .zip(teacher)
        .map(|(s, t)| (f64::from(*s) - f64::from(*t)).powi(2))
        .sum();
    Ok(Fidelity {
        agreement: 100.0 * agree as f64 / n as f64,
        mse: sq / n as f64,
    })
}

/// The designated teacher's logits for one real dev sentence, for the report's softmax-T figure
/// (`softmax_t.csv`): the first dev sentence of 8-20 words (among the first 64 such) that it
/// classifies correctly (deterministic), else the first dev sentence.
pub fn softmax_t_example(
    out_dir: &Path,
    task: Task,
    teacher: &Predictions,
    data: &TaskData,
) -> Result<()> {
    let dev = data.selection_dev();
    let k = teacher.classes;
    let logits = teacher
        .split(&dev.file.name)
        .with_context(|| format!("no teacher logits for {}", dev.file.name))?;
    let candidates: Vec<usize> = dev
        .examples
        .iter()
        .enumerate()
        .filter(|(_, e)| (8..=20).contains(&e.text_a.split_whitespace().count()))
        .map(|(i, _)| i)
        .take(64)
        .collect();
    let row = |i: usize| &logits[i * k..(i + 1) * k];
    let chosen = candidates
        .iter()
        .copied()
        .find(|&i| dev.examples[i].label == Some(argmax(row(i), k)[0]))
        .or(candidates.first().copied())
        .unwrap_or(0);
    let pick = &dev.examples[chosen];
    let names = task.class_names();
    let rows: Vec<LogitRow> = row(chosen)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fidelity_on_a_hand_built_case() {
        // Three examples, two classes: the student agrees on the first and the third.
        let teacher = [2.0, -1.0, 0.5, 1.5, -3.0, 3.0];
        let student = [1.0, 0.0, 1.0, -1.0, 0.0, 2.0];
        let f = fidelity(&student, &teacher, 2).unwrap();
        assert!((f.agreement - 200.0 / 3.0).abs() < 1e-12, "{f:?}");
        // (1 + 1) + (0.25 + 6.25) + (9 + 1) = 18.5 over 3 examples.
        assert!((f.mse - 18.5 / 3.0).abs() < 1e-12, "{f:?}");
        let same = fidelity(&teacher, &teacher, 2).unwrap();
        assert_eq!((same.agreement, same.mse), (100.0, 0.0));
        assert!(fidelity(&student[..4], &teacher, 2).is_err());
        assert!(fidelity(&student[..5], &teacher[..5], 2).is_err());
    }
}
