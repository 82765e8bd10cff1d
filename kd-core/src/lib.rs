//! # kd-core
//!
//! The reusable pieces of "Distilling Task-Specific Knowledge from BERT into Simple Neural
//! Networks" (Tang et al. 2019, arXiv 1903.12136):
//!
//! - [`loss`]: softmax with temperature, hard cross-entropy, the paper's MSE-on-logits objective
//!   (§3.1, eq. 3), the Hinton soft cross-entropy / KL with T² scaling, and [`loss::DistillLoss`].
//! - [`optim`]: Adadelta matching `torch.optim.Adadelta`, and the teacher's warm-up/decay schedule.
//! - [`metrics`]: accuracy, F1, confusion counts.
//! - [`data`]: GLUE loaders (SST-2, QQP, MNLI) and submission writers.
//! - [`pos`]: NLTK's averaged-perceptron POS tagger, run from its JSON model.
//! - [`augment`]: the transfer-set augmentation of §3.2 (masking, POS-guided replacement, n-grams).
//! - [`progress`]: progress bars that also work in log files.
//! - [`io`]: atomic file writes, so that a killed run never leaves a half-written file; [`owner`]:
//!   the writer token (host, pid, start time) their temporaries carry.
//! - [`batching`]: length-bucketed batch plans; [`seed`]: per-epoch seeds; [`labels`]: checked
//!   labels — the scaffolding every training loop shares.
//! - [`classifier`]: the [`Classifier`] trait every trained model implements.
//! - [`stop`]: a stop asked by a signal, seen by the long loops at their next batch.

pub mod augment;
pub mod batching;
pub mod classifier;
pub mod data;
pub mod error;
pub mod io;
pub mod labels;
pub mod loss;
pub mod metrics;
pub mod optim;
pub mod owner;
pub mod pos;
pub mod progress;
pub mod record;
pub mod seed;
pub mod stop;

pub use classifier::Classifier;
pub use error::{FileError, KdError, Result};
