//! Optimisation for the student and the teacher (Tang et al. 2019, §4.2).
//!
//! - The BiLSTM student is trained with Adadelta, `lr = 1.0`, `rho = 0.95` (the paper's values;
//!   note torch's default `rho` is 0.9). [`Adadelta`] reproduces `torch.optim.Adadelta` step for
//!   step (checked against PyTorch in `kd-core/tests/adadelta.rs`); tch ships no Adadelta.
//! - The BERT teacher is fine-tuned with AdamW and a linear warm-up/decay schedule
//!   ([`linear_warmup_decay`]) with gradient-norm clipping ([`clip_grad_norm`]). [`AdamW`]
//!   reproduces libtorch's C++ `torch::optim::AdamW` (what `tch::nn::AdamW` runs) bit for bit on
//!   the CPU, with a per-variable weight-decay flag for biases/LayerNorm, and unlike tch's it can
//!   save and restore its moments, so a resumed fine-tune equals an uninterrupted one.

mod adadelta;
mod adamw;
mod clip;
mod schedule;
mod state;

pub use adadelta::{Adadelta, AdadeltaConfig};
pub use adamw::{AdamW, AdamWConfig};
pub use clip::clip_grad_norm;
pub use schedule::linear_warmup_decay;
