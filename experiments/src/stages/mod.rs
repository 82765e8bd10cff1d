//! The stage bodies the pipeline runs, one file each: [`teacher`] fine-tuning, the [`transfer`]
//! set, its [`labels`], the [`student`]s, each teacher's [`predictions`] on the evaluation
//! splits, and the [`evaluate`] step. Each stage takes its lock,
//! returns its cached summary when `done.json` is there, else does (or resumes) its work inside
//! its store directory and finishes it. (The labelling stage is shared by any number of workers
//! at once, each labelling the chunks it claims; see [`labels`].)
//!
//! Each stage has a version constant that is part of its key: bump it when a change to the code
//! changes what the stage produces, so that the store stops serving the old result.

pub mod evaluate;
pub mod labels;
pub mod predictions;
pub mod student;
pub mod teacher;
pub mod transfer;

use kd_core::record::EpochRecord;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Version of the teacher fine-tuning stage's code.
pub const TEACHER_VERSION: u32 = 1;
/// Version of the transfer-set augmentation stage's code.
pub const TRANSFER_VERSION: u32 = 1;
/// Version of the labelling stage's code.
pub const LABELS_VERSION: u32 = 1;
/// Version of the student training stage's code (targets assembly included).
pub const STUDENT_VERSION: u32 = 1;
/// Version of the teachers' predictions stage's code (logits on the dev and test splits).
pub const PREDICTIONS_VERSION: u32 = 1;

/// Summary a finished training stage leaves in `done.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Epoch of the kept checkpoint.
    pub best_epoch: usize,
    /// Its dev accuracy (fraction).
    pub best_dev_accuracy: f64,
    /// Per-epoch records.
    pub history: Vec<EpochRecord>,
    /// Wall time of the stage: the call that finished it, plus the recorded time of the epochs
    /// that earlier, killed calls had finished when it resumed (their start-up is not counted).
    pub seconds: f64,
    /// Examples trained on.
    #[serde(default)]
    pub train_examples: usize,
}

impl TrainSummary {
    /// The stage's wall time, never less than the sum of its epochs': a stage resumed by code
    /// before 4596293 recorded its last call's time only.
    pub fn wall_seconds(&self) -> f64 {
        self.seconds
            .max(earlier_epochs_seconds(&self.history, self.history.len()))
    }
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

/// Summary of the labelling stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelsSummary {
    /// Examples labelled.
    pub examples: usize,
    /// Wall time.
    pub seconds: f64,
    /// Throughput.
    pub examples_per_sec: f64,
}

/// Seconds since `t`.
pub fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// The seconds of the first `resumed` epochs of `history`: the part of a resumed training stage's
/// wall time that earlier calls spent.
pub fn earlier_epochs_seconds(history: &[EpochRecord], resumed: usize) -> f64 {
    history.iter().take(resumed).map(|e| e.seconds).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_stage_counts_the_epochs_earlier_calls_finished() {
        let epoch = |epoch, seconds| EpochRecord {
            epoch,
            train_loss: 0.5,
            dev_accuracy: 0.8,
            seconds,
            examples_per_sec: 100.0,
        };
        let history = [epoch(1, 500.0), epoch(2, 520.0), epoch(3, 610.0)];
        assert_eq!(earlier_epochs_seconds(&history, 0), 0.0, "a fresh run");
        assert_eq!(
            earlier_epochs_seconds(&history, 2),
            1020.0,
            "killed after epoch 2"
        );
        assert_eq!(
            earlier_epochs_seconds(&history, 3),
            1630.0,
            "finished, called again"
        );

        let summary = |seconds| TrainSummary {
            best_epoch: 3,
            best_dev_accuracy: 0.8,
            history: history.to_vec(),
            seconds,
            train_examples: 100,
        };
        assert_eq!(summary(1700.0).wall_seconds(), 1700.0, "start-up included");
        // A stage resumed after epoch 2 by code that counted only the last call (610 s).
        assert_eq!(summary(640.0).wall_seconds(), 1630.0);
    }
}
