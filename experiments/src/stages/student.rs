//! Stage 4: one student variant at one seed — its training examples assembled from its `data`
//! and `targets` (see [`crate::config::students`]), then the BiLSTM trained with Adadelta,
//! selecting on the first dev split (resumable by epoch).

use super::labels::Labelled;
use super::{earlier_epochs_seconds, secs, TrainSummary};
use crate::config::{DataSource, StudentRun, TargetKind};
use crate::log::RunLog;
use crate::logln;
use crate::store::Stage;
use anyhow::{bail, Result};
use bilstm_student::{Objective, StudentExample};
use kd_core::data::Example;
use kd_core::metrics::argmax;
use std::time::Instant;

/// Where a run's targets come from.
pub struct Sources<'a> {
    /// The task's training examples (gold labels).
    pub train: &'a [Example],
    /// The labelled transfer set the variant trains on (`data: transfer`).
    pub transfer: Option<&'a Labelled>,
    /// The labelled transfer set of the shared `augment` block, whose originals give the
    /// teacher's logits on the training set (`data: train` with teacher targets).
    pub base: Option<&'a Labelled>,
}

fn example(text_a: &str, text_b: Option<&String>) -> StudentExample {
    StudentExample {
        text_a: text_a.to_string(),
        text_b: text_b.cloned(),
        label: None,
        teacher_logits: None,
    }
}

/// The training examples of `run`: its `data` with the targets its `targets` names.
pub fn training_examples(run: &StudentRun, src: &Sources) -> Result<Vec<StudentExample>> {
    let alpha = match run.train.objective {
        Objective::Distill(loss) => loss.alpha,
        Objective::Hard => 1.0,
    };
    match run.data {
        DataSource::Train => train_examples(run, src),
        DataSource::Transfer => {
            let set = src
                .transfer
                .ok_or_else(|| anyhow::anyhow!("{}: no labelled transfer set", run.variant))?;
            transfer_examples(run, set, src.train, alpha)
        }
    }
}

/// The task's training set with gold labels, or with the teacher's logits or decisions on the
/// originals of the shared labelled set (`data: train`).
fn train_examples(run: &StudentRun, src: &Sources) -> Result<Vec<StudentExample>> {
    let teacher = if run.targets.needs_teacher() {
        let base = src
            .base
            .ok_or_else(|| anyhow::anyhow!("{}: no labelled originals", run.variant))?;
        Some((
            teacher_logits_on_train(base, src.train.len())?,
            base.classes,
        ))
    } else {
        None
    };
    Ok(src
        .train
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut s = example(&e.text_a, e.text_b.as_ref());
            match (run.targets, &teacher) {
                (TargetKind::TeacherArgmax, Some((z, k))) => {
                    s.label = Some(argmax(&z[i * k..(i + 1) * k], *k)[0]);
                }
                (TargetKind::TeacherLogits, Some((z, k))) => {
                    s.label = e.label;
                    s.teacher_logits = Some(z[i * k..(i + 1) * k].to_vec());
                }
                _ => s.label = e.label,
            }
            s
        })
        .collect())
}

/// Row-major teacher logits of the `n` training examples, from the originals (`aug == 0`) of a
/// labelled transfer set; every original must be there.
fn teacher_logits_on_train(base: &Labelled, n: usize) -> Result<Vec<f32>> {
    let k = base.classes;
    let mut z = vec![f32::NAN; n * k];
    let mut seen = 0;
    for (t, row) in base.examples.iter().zip(base.logits.chunks(k)) {
        if t.aug == 0 && t.orig_id < n {
            z[t.orig_id * k..(t.orig_id + 1) * k].copy_from_slice(row);
            seen += 1;
        }
    }
    if seen != n {
        bail!("the labelled transfer set holds {seen} originals, the training set {n}");
    }
    Ok(z)
}

/// The labelled transfer set with the targets `run.targets` names (`data: transfer`).
fn transfer_examples(
    run: &StudentRun,
    set: &Labelled,
    train: &[Example],
    alpha: f64,
) -> Result<Vec<StudentExample>> {
    let k = set.classes;
    let mut out = Vec::with_capacity(set.examples.len());
    for (t, z) in set.examples.iter().zip(set.logits.chunks(k)) {
        let mut s = example(&t.text_a, t.text_b.as_ref());
        let gold = if t.aug == 0 {
            t.label
        } else {
            train.get(t.orig_id).and_then(|e| e.label)
        };
        match run.targets {
            TargetKind::Inherited => s.label = gold,
            TargetKind::TeacherArgmax => s.label = Some(argmax(z, k)[0]),
            TargetKind::TeacherLogits => {
                s.teacher_logits = Some(z.to_vec());
                // The hard term (alpha > 0): gold on originals, the teacher's decision
                // on copies. At alpha = 0 no label is read.
                if alpha > 0.0 {
                    s.label = if t.aug == 0 && t.label.is_some() {
                        t.label
                    } else {
                        Some(argmax(z, k)[0])
                    };
                }
            }
            TargetKind::Gold => bail!("{}: gold targets on transfer data", run.variant),
        }
        out.push(s);
    }
    Ok(out)
}

/// Trains (or returns the cached) student `run` in `stage`.
pub fn run(
    stage: &Stage,
    run: &StudentRun,
    train: &[StudentExample],
    dev: &[StudentExample],
    device: tch::Device,
    log: &RunLog,
) -> Result<TrainSummary> {
    let name = format!("{} seed {}", run.variant, run.seed);
    let _lock = stage.lock(|m| logln!(log, "{name}: {m}"))?;
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
        run.train.epochs,
        stage.dir.display()
    );
    let t = Instant::now();
    let texts = train
        .iter()
        .flat_map(|e| std::iter::once(e.text_a.as_str()).chain(e.text_b.as_deref()));
    let (model, mut vs) = crate::models::fresh_student(&run.model, texts, run.seed, device)?;
    logln!(
        log,
        "{name}: vocab {}, {} parameters without embeddings ({} with)",
        model.vocab().len(),
        model.param_count_without_embeddings(),
        model.param_count_with_embeddings()
    );
    let out = bilstm_student::train(&model, &mut vs, train, dev, &run.train, &stage.dir)?;
    // A resumed stage's wall time counts the epochs earlier calls finished.
    let seconds = secs(t) + earlier_epochs_seconds(&out.history, out.resumed_epochs);
    let summary = TrainSummary {
        best_epoch: out.best_epoch,
        best_dev_accuracy: out.best_dev_accuracy,
        history: out.history,
        seconds,
        train_examples: train.len(),
    };
    stage.finish(&summary, device)?;
    logln!(
        log,
        "{name}: best dev acc {:.2} at epoch {} ({:.0} s)",
        100.0 * summary.best_dev_accuracy,
        summary.best_epoch,
        summary.seconds
    );
    Ok(summary)
}
