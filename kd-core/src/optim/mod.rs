//! Optimisation for the student and the teacher (Tang et al. 2019, §4.2).
//!
//! - The BiLSTM student is trained with Adadelta, `lr = 1.0`, `rho = 0.95` (the paper's values;
//!   note torch's default `rho` is 0.9). [`Adadelta`] reproduces `torch.optim.Adadelta` step for
//!   step (checked against PyTorch in `kd-core/tests/adadelta.rs`); tch ships no Adadelta.
//! - The BERT teacher is fine-tuned with AdamW and a linear warm-up/decay schedule. tch's own
//!   `tch::nn::AdamW` (`nn::AdamW { wd: .., ..Default::default() }.build(&vs, lr)`, then
//!   `opt.set_lr(lr0 * linear_warmup_decay(step, warmup, total))` before each step) is enough:
//!   it is libtorch's `torch::optim::AdamW`, and weight-decay exclusion for biases/LayerNorm can
//!   use a var-store group (`vs.root().set_group(1)`, `opt.set_weight_decay_group(1, 0.0)`). So
//!   only the schedule, [`linear_warmup_decay`], lives here.

mod adadelta;
mod schedule;

pub use adadelta::{Adadelta, AdadeltaConfig};
pub use schedule::linear_warmup_decay;
