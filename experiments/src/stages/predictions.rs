//! A teacher's logits on every dev and test split of the run (`<split>.safetensors`, tensor
//! `logits`, `[examples, classes]`): what the evaluation scores the teacher on, and what every
//! student's fidelity is measured against — agreement with the teacher needs no label, so it is
//! measured on the unlabelled test split too. One forward pass over ~2.7k SST-2 sentences,
//! cached in the store like any stage. An ensemble's predictions are the mean of its members'.

use super::secs;
use crate::data::TaskData;
use crate::log::RunLog;
use crate::logln;
use crate::store::Stage;
use anyhow::{bail, Context, Result};
use bert_teacher::checkpoint::{read_f32, write_f32};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Logits of one model on every evaluation split, in the run's split order (dev, then test).
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// `(split file name, row-major [examples, classes] logits)`.
    pub splits: Vec<(String, Vec<f32>)>,
    /// Number of classes.
    pub classes: usize,
}

impl Predictions {
    /// The logits of the split whose file is named `name`.
    pub fn split(&self, name: &str) -> Option<&[f32]> {
        self.splits
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, z)| z.as_slice())
    }
}

/// `done.json` of a predictions stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictionsSummary {
    /// `(split file name, examples)`.
    pub splits: Vec<(String, usize)>,
    /// Wall time.
    pub seconds: f64,
}

fn split_path(stage: &Stage, name: &str) -> std::path::PathBuf {
    stage.dir.join(format!("{name}.safetensors"))
}

/// Every evaluation split of `data` with its examples, in order.
fn splits(data: &TaskData) -> impl Iterator<Item = &crate::data::Split> {
    data.dev.iter().chain(&data.test)
}

/// The cached predictions in `stage`, or `compute`'s (written into the stage and finished).
pub fn run(
    stage: &Stage,
    what: &str,
    data: &TaskData,
    classes: usize,
    device: tch::Device,
    log: &RunLog,
    compute: &dyn Fn() -> Result<Predictions>,
) -> Result<Predictions> {
    let _lock = stage.lock(|m| logln!(log, "{what}: {m}"))?;
    if stage.done::<PredictionsSummary>()?.is_some() {
        return read(stage, data, classes);
    }
    let t = Instant::now();
    let p = compute()?;
    check(&p, data, classes).with_context(|| format!("{what}: predictions"))?;
    for (name, logits) in &p.splits {
        write_f32(
            &split_path(stage, name),
            "logits",
            &[logits.len() / classes, classes],
            logits,
        )?;
    }
    let summary = PredictionsSummary {
        splits: p
            .splits
            .iter()
            .map(|(n, z)| (n.clone(), z.len() / classes))
            .collect(),
        seconds: secs(t),
    };
    stage.finish(&summary, device)?;
    logln!(
        log,
        "{what}: logits on {} split(s) in {:.1} s",
        p.splits.len(),
        summary.seconds
    );
    Ok(p)
}

/// The logits of `clf` on every evaluation split of `data`.
pub fn compute(
    clf: &dyn kd_core::Classifier,
    data: &TaskData,
    batch_size: usize,
) -> Result<Predictions> {
    let mut out = Vec::new();
    for split in splits(data) {
        out.push((
            split.file.name.clone(),
            clf.predict_logits(&split.examples, batch_size)?,
        ));
    }
    Ok(Predictions {
        splits: out,
        classes: clf.num_classes(),
    })
}

/// The element-wise mean of the members' logits (summed in member order, then divided).
pub fn mean(members: &[&Predictions]) -> Result<Predictions> {
    let Some(first) = members.first() else {
        bail!("an ensemble without members");
    };
    let mut splits = first.splits.clone();
    for m in &members[1..] {
        if m.classes != first.classes
            || m.splits.len() != splits.len()
            || m.splits
                .iter()
                .zip(&splits)
                .any(|((n, z), (n0, z0))| n != n0 || z.len() != z0.len())
        {
            bail!("ensemble members' predictions cover different splits or classes");
        }
        for ((_, acc), (_, z)) in splits.iter_mut().zip(&m.splits) {
            for (a, v) in acc.iter_mut().zip(z) {
                *a += v;
            }
        }
    }
    let n = members.len() as f32;
    for (_, z) in &mut splits {
        for v in z.iter_mut() {
            *v /= n;
        }
    }
    Ok(Predictions {
        splits,
        classes: first.classes,
    })
}

/// Reads a finished stage's predictions, checking them against the run's splits.
pub fn read(stage: &Stage, data: &TaskData, classes: usize) -> Result<Predictions> {
    let mut out = Vec::new();
    for split in splits(data) {
        let path = split_path(stage, &split.file.name);
        let (shape, logits) = read_f32(&path, "logits")?;
        if shape != [split.examples.len(), classes] {
            bail!(
                "{}: logits of shape {shape:?}, the split has {} examples of {classes} classes",
                path.display(),
                split.examples.len()
            );
        }
        out.push((split.file.name.clone(), logits));
    }
    Ok(Predictions {
        splits: out,
        classes,
    })
}

fn check(p: &Predictions, data: &TaskData, classes: usize) -> Result<()> {
    let want: Vec<(&str, usize)> = splits(data)
        .map(|s| (s.file.name.as_str(), s.examples.len() * classes))
        .collect();
    let got: Vec<(&str, usize)> = p
        .splits
        .iter()
        .map(|(n, z)| (n.as_str(), z.len()))
        .collect();
    if p.classes != classes || want != got {
        bail!(
            "splits {got:?} of {} classes, the run has {want:?} of {classes}",
            p.classes
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_of_members_is_elementwise_and_checks_their_shapes() {
        let a = Predictions {
            splits: vec![("dev".into(), vec![1.0, 2.0, 3.0, 4.0])],
            classes: 2,
        };
        let b = Predictions {
            splits: vec![("dev".into(), vec![3.0, 0.0, -3.0, 1.0])],
            classes: 2,
        };
        let m = mean(&[&a, &b]).unwrap();
        assert_eq!(m.split("dev").unwrap(), [2.0, 1.0, 0.0, 2.5]);
        let other = Predictions {
            splits: vec![("test".into(), vec![0.0; 4])],
            classes: 2,
        };
        assert!(mean(&[&a, &other]).is_err());
        assert!(mean(&[]).is_err());
    }
}
