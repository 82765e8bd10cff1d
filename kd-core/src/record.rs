//! The per-epoch record shared by every training loop (the teacher's fine-tuning and the
//! students'), so that results, resume state and reports read one shape.

use serde::{Deserialize, Serialize};

/// One finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's examples.
    pub train_loss: f64,
    /// Dev accuracy after the epoch (fraction).
    pub dev_accuracy: f64,
    /// Wall-clock seconds of the epoch (training and dev evaluation).
    pub seconds: f64,
    /// Training throughput (training examples / training seconds, evaluation excluded); 0 in
    /// records written before it was kept.
    #[serde(default)]
    pub examples_per_sec: f64,
}

impl std::fmt::Display for EpochRecord {
    /// One log line: `epoch 2: train loss 0.1368, dev acc 89.91%, 113 ex/s, 612 s`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {}: train loss {:.4}, dev acc {:.2}%, {:.0} ex/s, {:.0} s",
            self.epoch,
            self.train_loss,
            100.0 * self.dev_accuracy,
            self.examples_per_sec,
            self.seconds
        )
    }
}
