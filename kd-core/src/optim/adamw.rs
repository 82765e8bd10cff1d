//! AdamW (Loshchilov & Hutter 2019), the teacher's optimiser (Tang et al. 2019 §4.2: BERT is
//! fine-tuned before it labels the transfer set).
//!
//! Follows libtorch's C++ `torch::optim::AdamW` (`torch/csrc/api/src/optim/adamw.cpp`, torch
//! 2.11, the optimiser behind `tch::nn::AdamW`) operation for operation, so that swapping tch's
//! optimiser for this one leaves a training run bit-identical on the CPU, while its state can be
//! read out and restored (tch exposes no access to the C++ optimiser's moments):
//!
//! ```text
//! p    *= 1 - lr * weight_decay                     (decoupled decay; skipped when 0)
//! t    += 1
//! m     = beta1 * m;  m += (1 - beta1) * g          (exp_avg.mul_(b1).add_(g, 1 - b1))
//! v     = beta2 * v;  v += (1 - beta2) * g * g      (exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2))
//! denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//! p    += -(lr / (1 - beta1^t)) * m / denom          (p.addcdiv_(m, denom, -step_size))
//! ```
//!
//! Bit-identity needs the same kernels in the same rounding order, not just the same formula:
//! libtorch's CPU `add_(g, alpha)` is a fused multiply-add (`vec::fmadd(g, alpha, m)`, one
//! rounding), and `addcmul_`/`addcdiv_` with a `value` evaluate `self + (value * t1) * t2` and
//! `self + (value * t1) / t2`. tch binds these ops without their `alpha` / `value` arguments,
//! so each is rebuilt from bound ops with the same roundings: `m.addcmul_(g, alpha)` with a 0-dim
//! `alpha` (libtorch fuses `self + t1 * t2` the same way), and `(value * t1)` precomputed with
//! `mul(Scalar)`, which rounds the scalar to the tensor's dtype as the kernels do. Checked against
//! `tch::nn::AdamW` bit for bit in `bert-teacher/tests/adamw_parity.rs`, and against
//! `torch.optim.AdamW` in `kd-core/tests/adamw.rs`.

use crate::{KdError, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// AdamW hyper-parameters. Defaults are libtorch's / `torch.optim.AdamW`'s (and `tch::nn::AdamW`'s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    /// Learning rate, `>= 0` (usually overridden per step by a schedule via [`AdamW::set_lr`]).
    pub lr: f64,
    /// Decay of the first-moment average, in `[0, 1)`.
    pub beta1: f64,
    /// Decay of the second-moment average, in `[0, 1)`.
    pub beta2: f64,
    /// Added to the denominator, `>= 0`.
    pub eps: f64,
    /// Decoupled weight decay for the variables marked as decayed, `>= 0`.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

impl AdamWConfig {
    /// The ranges libtorch's `AdamW` constructor enforces (all values finite).
    pub fn validate(&self) -> Result<()> {
        let ok = self.lr >= 0.0
            && self.lr.is_finite()
            && (0.0..1.0).contains(&self.beta1)
            && (0.0..1.0).contains(&self.beta2)
            && self.eps >= 0.0
            && self.eps.is_finite()
            && self.weight_decay >= 0.0
            && self.weight_decay.is_finite();
        if !ok {
            return Err(KdError::InvalidArgument(format!(
                "AdamW needs lr >= 0, beta1 and beta2 in [0, 1), eps >= 0, weight_decay >= 0 (all finite); got {self:?}"
            )));
        }
        Ok(())
    }
}

/// AdamW over a fixed list of variables (e.g. `VarStore::trainable_variables()`), each with its
/// own step count (as libtorch keeps one per parameter) and a flag saying whether weight decay
/// applies to it (biases and LayerNorm parameters are usually exempt).
///
/// One difference from libtorch: tch cannot reset a gradient to undefined, so
/// [`AdamW::zero_grad`] zeroes gradients in place. A variable whose gradient was never defined is
/// skipped (no decay, no state change), as in libtorch; one that had a gradient once and none in
/// a later backward pass gets a zero-gradient update there, where libtorch would skip it.
#[derive(Debug)]
pub struct AdamW {
    vars: Vec<Tensor>,
    decay: Vec<bool>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    steps: Vec<i64>,
    cfg: AdamWConfig,
}

impl AdamW {
    /// An optimiser over `vars`, all with weight decay, and zeroed state.
    ///
    /// # Panics
    /// If `cfg` is out of range (as libtorch's constructor throws); use [`AdamW::try_new`] for
    /// configurations read from files.
    pub fn new(vars: Vec<Tensor>, cfg: AdamWConfig) -> Self {
        match Self::try_new(vars, cfg) {
            Ok(opt) => opt,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`AdamW::new`], returning an error for an out-of-range configuration.
    pub fn try_new(vars: Vec<Tensor>, cfg: AdamWConfig) -> Result<Self> {
        let decay = vec![true; vars.len()];
        Self::with_decay_mask(vars, decay, cfg)
    }

    /// An optimiser over `vars` where `decay[i]` says whether variable `i` gets weight decay
    /// (libtorch's two parameter groups, one with `weight_decay = 0`).
    pub fn with_decay_mask(vars: Vec<Tensor>, decay: Vec<bool>, cfg: AdamWConfig) -> Result<Self> {
        cfg.validate()?;
        if decay.len() != vars.len() {
            return Err(KdError::InvalidArgument(format!(
                "AdamW: {} decay flags for {} variables",
                decay.len(),
                vars.len()
            )));
        }
        let (exp_avg, exp_avg_sq) = tch::no_grad(|| {
            let zeros = |v: &Tensor| v.f_zeros_like().map(|z| z.detach());
            let m = vars
                .iter()
                .map(zeros)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let v = vars
                .iter()
                .map(zeros)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok::<_, tch::TchError>((m, v))
        })?;
        let steps = vec![0; vars.len()];
        Ok(AdamW {
            vars,
            decay,
            exp_avg,
            exp_avg_sq,
            steps,
            cfg,
        })
    }

    /// One libtorch `AdamW::step()`: updates every variable with a defined gradient, in place and
    /// without recording autograd history.
    pub fn step(&mut self) -> Result<()> {
        let AdamWConfig {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.cfg;
        tch::no_grad(|| {
            for i in 0..self.vars.len() {
                let var = &mut self.vars[i];
                let grad = var.grad();
                if !grad.defined() {
                    continue;
                }
                let wd = if self.decay[i] { weight_decay } else { 0.0 };
                if wd != 0.0 {
                    let _ = var.f_mul_scalar_(1.0 - lr * wd)?;
                }
                self.steps[i] += 1;
                // libtorch: 1 - std::pow(beta, step) with an int64 step promoted to double.
                let step = self.steps[i] as f64;
                let bias_correction1 = 1.0 - beta1.powf(step);
                let bias_correction2 = 1.0 - beta2.powf(step);

                // exp_avg.mul_(beta1).add_(grad, 1 - beta1): the add is fmadd(grad, alpha, m),
                // which addcmul_ with a 0-dim alpha reproduces.
                let exp_avg = &mut self.exp_avg[i];
                let _ = exp_avg.f_mul_scalar_(beta1)?;
                let alpha = Tensor::f_from_slice(&[1.0 - beta1])?
                    .f_to_kind(grad.kind())?
                    .f_to_device(grad.device())?
                    .f_reshape([] as [i64; 0])?;
                let _ = exp_avg.f_addcmul_(&grad, &alpha)?;

                // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2) = v + ((value*g) * g).
                let exp_avg_sq = &mut self.exp_avg_sq[i];
                let _ = exp_avg_sq.f_mul_scalar_(beta2)?;
                let _ = exp_avg_sq.f_addcmul_(&grad.f_mul_scalar(1.0 - beta2)?, &grad)?;

                let mut denom = exp_avg_sq.f_sqrt()?.f_div_scalar(bias_correction2.sqrt())?;
                let _ = denom.f_add_scalar_(eps)?;
                let step_size = lr / bias_correction1;
                // p.addcdiv_(exp_avg, denom, -step_size) = p + ((value * m) / denom).
                let _ = var.f_addcdiv_(&exp_avg.f_mul_scalar(-step_size)?, &denom)?;
            }
            Ok::<_, tch::TchError>(())
        })?;
        Ok(())
    }

    /// Zeroes every defined gradient in place.
    pub fn zero_grad(&mut self) {
        for var in &mut self.vars {
            var.zero_grad();
        }
    }

    /// The variables, in the order their state is indexed.
    pub fn vars(&self) -> &[Tensor] {
        &self.vars
    }

    /// Sets the learning rate for the following steps (of every variable).
    pub fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.cfg.lr
    }

    /// The configuration (with the current learning rate).
    pub fn config(&self) -> &AdamWConfig {
        &self.cfg
    }

    /// Steps taken by variable `i` (restored by [`AdamW::load_state_tensors`]); `None` when out
    /// of range.
    pub fn steps(&self, i: usize) -> Option<i64> {
        self.steps.get(i).copied()
    }

    /// Copies of the optimiser state for checkpointing: `exp_avg.{i}` and `exp_avg_sq.{i}` for
    /// the `i`-th variable (in its dtype), and `step`, an i64 tensor of every variable's count.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        super::state::moment_tensors(
            ["exp_avg", "exp_avg_sq"],
            &self.exp_avg,
            &self.exp_avg_sq,
            Tensor::from_slice(&self.steps),
        )
    }

    /// Restores state saved by [`AdamW::state_tensors`] (in any order). Errors when a name is
    /// missing or unknown, a shape differs from its variable's, a step count is negative, or a
    /// moment's dtype differs from its variable's (a converted moment would not resume exactly).
    /// On error the optimiser is left unchanged.
    pub fn load_state_tensors(&mut self, named: &[(String, Tensor)]) -> Result<()> {
        let n = self.vars.len();
        let saved = super::state::saved_moments(
            "AdamW",
            ["exp_avg", "exp_avg_sq"],
            named,
            &self.vars,
            true,
        )?;
        let step_t = saved.step;
        if step_t.size() != [n as i64] {
            return Err(KdError::Shape(format!(
                "AdamW state: step must have shape [{n}], got {:?}",
                step_t.size()
            )));
        }
        if step_t.kind() != Kind::Int64 {
            return Err(KdError::InvalidArgument(format!(
                "AdamW state: step must be int64, got {:?}",
                step_t.kind()
            )));
        }
        let steps = Vec::<i64>::try_from(step_t)?;
        if let Some(i) = steps.iter().position(|&s| s < 0) {
            return Err(KdError::InvalidArgument(format!(
                "AdamW state: step of variable {i} is {}",
                steps[i]
            )));
        }
        tch::no_grad(|| {
            for (i, [m, v]) in saved.moments.iter().enumerate() {
                self.exp_avg[i].f_copy_(m)?;
                self.exp_avg_sq[i].f_copy_(v)?;
            }
            Ok::<_, tch::TchError>(())
        })?;
        self.steps = steps;
        Ok(())
    }
}
