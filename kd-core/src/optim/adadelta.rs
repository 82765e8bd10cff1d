//! Adadelta (Zeiler 2012), the student's optimiser in Tang et al. 2019 §4.2 (lr 1.0, rho 0.95).
//!
//! Follows `torch.optim.Adadelta` (`_single_tensor_adadelta`, torch 2.11) operation for
//! operation, in the parameters' own dtype:
//!
//! ```text
//! g   = grad + weight_decay * p
//! v   = rho * v + (1 - rho) * g²                      (square_avg)
//! d   = sqrt(u + eps) / sqrt(v + eps) * g
//! u   = rho * u + (1 - rho) * d²                      (acc_delta)
//! p  -= lr * d
//! ```
//!
//! One addition: every [`Adadelta::FLUSH_EVERY`] steps the two running averages are flushed of
//! subnormal values (set to 0). Rows of an embedding that a batch does not touch get a zero
//! gradient, so their averages only decay by `rho` each step and pass through the subnormal range
//! on their way to 0 (~300 steps at rho 0.95), and x86 CPUs take a slow microcoded path for
//! arithmetic on subnormals: a hard-label student trained for 20 epochs on the transfer set had 12%
//! of its embedding's optimiser state subnormal at epoch 19, and its epochs slowed from ~195 s
//! (epochs 3-14) to 543 s (epoch 20); 64 steps on such a state take 2.3x as long without the flush
//! (`cargo bench -p kd-core --bench loss -- adadelta_64`). The flush does not change the update: a
//! subnormal `v` or `u` only ever enters it through `v + eps` and `u + eps`, where an `eps` of
//! `1e-30` or more absorbs it (the parameters stay bitwise those of the unflushed update; test
//! `flushing_subnormal_state_leaves_the_parameters_unchanged`). It is skipped for half-precision
//! variables (whose smallest normal, 6e-5, is not negligible) and for `eps` under `1e-30`.

use crate::{KdError, Result};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// The smallest `eps` for which flushing subnormal state cannot change an update (`eps`'s
/// rounding step is then over 100 times the largest subnormal).
const FLUSH_MIN_EPS: f64 = 1e-30;

/// Adadelta hyper-parameters. Defaults are the paper's: `lr 1.0`, `rho 0.95` (torch's default
/// is 0.9), `eps 1e-6`, no weight decay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdadeltaConfig {
    /// Learning rate (a multiplier on the Adadelta step), `>= 0`.
    pub lr: f64,
    /// Decay of both running averages, in `[0, 1]`.
    pub rho: f64,
    /// Added inside both square roots, `>= 0`.
    pub eps: f64,
    /// L2 penalty added to the gradient (not decoupled), `>= 0`.
    pub weight_decay: f64,
}

impl Default for AdadeltaConfig {
    fn default() -> Self {
        AdadeltaConfig {
            lr: 1.0,
            rho: 0.95,
            eps: 1e-6,
            weight_decay: 0.0,
        }
    }
}

impl AdadeltaConfig {
    /// The ranges `torch.optim.Adadelta` enforces.
    pub fn validate(&self) -> Result<()> {
        let ok = self.lr >= 0.0
            && (0.0..=1.0).contains(&self.rho)
            && self.eps >= 0.0
            && self.weight_decay >= 0.0
            && self.lr.is_finite()
            && self.eps.is_finite()
            && self.weight_decay.is_finite();
        if !ok {
            return Err(KdError::InvalidArgument(format!(
                "Adadelta needs lr >= 0, rho in [0, 1], eps >= 0, weight_decay >= 0 (all finite); got {self:?}"
            )));
        }
        Ok(())
    }
}

/// Adadelta over a fixed list of variables (e.g. `VarStore::trainable_variables()`).
///
/// One difference from torch: tch cannot reset a gradient to `None`, so [`Adadelta::zero_grad`]
/// zeroes gradients in place (torch's `zero_grad(set_to_none=False)`). A variable whose gradient
/// was never defined is skipped, as in torch; one that received a gradient once and then none
/// still gets a zero-gradient update (its running averages decay, weight decay applies).
#[derive(Debug)]
pub struct Adadelta {
    vars: Vec<Tensor>,
    square_avg: Vec<Tensor>,
    acc_delta: Vec<Tensor>,
    steps: i64,
    cfg: AdadeltaConfig,
    flush_subnormals: bool,
}

impl Adadelta {
    /// How often (in steps) [`Adadelta::step`] flushes subnormal values from its running averages.
    pub const FLUSH_EVERY: i64 = 16;

    /// An optimiser over `vars` with zeroed state.
    ///
    /// # Panics
    /// If `cfg` is out of range (as torch raises `ValueError`); use [`Adadelta::try_new`] for
    /// configurations read from files.
    pub fn new(vars: Vec<Tensor>, cfg: AdadeltaConfig) -> Self {
        match Self::try_new(vars, cfg) {
            Ok(opt) => opt,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`Adadelta::new`], returning an error for an out-of-range configuration.
    pub fn try_new(vars: Vec<Tensor>, cfg: AdadeltaConfig) -> Result<Self> {
        cfg.validate()?;
        let (square_avg, acc_delta) = tch::no_grad(|| {
            let zeros = |v: &Tensor| v.f_zeros_like().map(|z| z.detach());
            let sq = vars
                .iter()
                .map(zeros)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let acc = vars
                .iter()
                .map(zeros)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok::<_, tch::TchError>((sq, acc))
        })?;
        Ok(Adadelta {
            vars,
            square_avg,
            acc_delta,
            steps: 0,
            cfg,
            flush_subnormals: true,
        })
    }

    /// One `torch.optim.Adadelta.step()`: updates every variable with a defined gradient, in
    /// place and without recording autograd history.
    pub fn step(&mut self) {
        let AdadeltaConfig {
            lr,
            rho,
            eps,
            weight_decay,
        } = self.cfg;
        tch::no_grad(|| {
            for ((var, square_avg), acc_delta) in self
                .vars
                .iter_mut()
                .zip(&mut self.square_avg)
                .zip(&mut self.acc_delta)
            {
                let grad = var.grad();
                if !grad.defined() {
                    continue;
                }
                let grad = if weight_decay != 0.0 {
                    grad + var.g_mul_scalar(weight_decay)
                } else {
                    grad
                };
                // torch's addcmul_(g, g, value=1-rho) evaluates (value * g) * g; same order here.
                let _ = square_avg.g_mul_scalar_(rho);
                let _ = square_avg.g_add_(&(grad.g_mul_scalar(1.0 - rho) * &grad));
                let std = square_avg.g_add_scalar(eps).sqrt_();
                let mut delta = acc_delta.g_add_scalar(eps).sqrt_();
                let _ = delta.g_div_(&std);
                let _ = delta.g_mul_(&grad);
                let _ = acc_delta.g_mul_scalar_(rho);
                let _ = acc_delta.g_add_(&(delta.g_mul_scalar(1.0 - rho) * &delta));
                let _ = var.g_add_(&delta.g_mul_scalar(-lr));
            }
        });
        self.steps += 1;
        if self.flush_subnormals && self.steps % Self::FLUSH_EVERY == 0 && eps >= FLUSH_MIN_EPS {
            self.flush();
        }
    }

    /// Sets every subnormal value of the running averages to 0 (both are non-negative; NaN is
    /// kept).
    fn flush(&mut self) {
        tch::no_grad(|| {
            for state in self.square_avg.iter_mut().chain(&mut self.acc_delta) {
                let smallest_normal = match state.kind() {
                    Kind::Float | Kind::BFloat16 => f64::from(f32::MIN_POSITIVE),
                    Kind::Double => f64::MIN_POSITIVE,
                    _ => continue,
                };
                let subnormal = state.lt(smallest_normal);
                let _ = state.masked_fill_(&subnormal, 0.0);
            }
        });
    }

    /// Whether [`Adadelta::step`] flushes subnormal state (on by default; off reproduces torch's
    /// state tensors bit for bit as well as its parameters, at the cost of speed).
    pub fn set_flush_subnormals(&mut self, on: bool) {
        self.flush_subnormals = on;
    }

    /// Zeroes every defined gradient in place.
    pub fn zero_grad(&mut self) {
        for var in &mut self.vars {
            var.zero_grad();
        }
    }

    /// Sets the learning rate for the following steps.
    pub fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.cfg.lr
    }

    /// The configuration (with the current learning rate).
    pub fn config(&self) -> &AdadeltaConfig {
        &self.cfg
    }

    /// Number of [`Adadelta::step`] calls so far (restored by [`Adadelta::load_state_tensors`]).
    pub fn steps(&self) -> i64 {
        self.steps
    }

    /// Copies of the optimiser state for checkpointing: `square_avg.{i}` and `acc_delta.{i}` for
    /// the `i`-th variable, and `step`, a scalar i64 tensor.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        super::state::moment_tensors(
            ["square_avg", "acc_delta"],
            &self.square_avg,
            &self.acc_delta,
            Tensor::from(self.steps),
        )
    }

    /// Restores state saved by [`Adadelta::state_tensors`] (in any order). Errors when a name is
    /// missing or unknown, or a shape differs from its variable's; values are converted to each
    /// variable's dtype and device. On error the optimiser is left unchanged.
    pub fn load_state_tensors(&mut self, named: &[(String, Tensor)]) -> Result<()> {
        let saved = super::state::saved_moments(
            "Adadelta",
            ["square_avg", "acc_delta"],
            named,
            &self.vars,
            false,
        )?;
        let step_t = saved.step;
        if step_t.numel() != 1 {
            return Err(KdError::Shape(format!(
                "Adadelta state: step must be a scalar, got {:?}",
                step_t.size()
            )));
        }
        let steps = step_t.f_to_kind(Kind::Int64)?.f_int64_value(&[])?;
        tch::no_grad(|| {
            for (i, [sq, acc]) in saved.moments.iter().enumerate() {
                self.square_avg[i].f_copy_(sq)?;
                self.acc_delta[i].f_copy_(acc)?;
            }
            Ok::<_, tch::TchError>(())
        })?;
        self.steps = steps;
        Ok(())
    }
}
