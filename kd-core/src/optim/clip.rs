//! Gradient-norm clipping as `tch::nn::Optimizer::clip_grad_norm` does it (tch 0.24), so that a
//! loop built on [`crate::optim::AdamW`] clips exactly as `backward_step_clip_norm` did.
//!
//! tch computes each defined gradient's 2-norm, the 2-norm of those norms (stacked, in variable
//! order), and, when `max_norm / (total + 1e-6) < 1`, scales every gradient in place by that
//! coefficient. (`torch.nn.utils.clip_grad_norm_` instead clamps the coefficient at 1 and always
//! multiplies; the two agree except for the rounding of that multiply by 1.)

use crate::Result;
use tch::Tensor;

/// Clips the gradients of `vars` to a total 2-norm of at most `max_norm`, in place; returns the
/// total norm before clipping (0 when no variable has a gradient). A non-finite total leaves the
/// gradients as tch would (a NaN total clips nothing); callers should check the returned value.
pub fn clip_grad_norm(vars: &[Tensor], max_norm: f64) -> Result<f64> {
    let total = tch::no_grad(|| {
        let norms = vars
            .iter()
            .map(Tensor::grad)
            .filter(Tensor::defined)
            .map(|g| g.f_norm())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if norms.is_empty() {
            return Ok::<_, tch::TchError>(0.0);
        }
        let total = f64::try_from(Tensor::f_stack(&norms, 0)?.f_norm()?)?;
        let clip_coef = max_norm / (total + 1e-6);
        if clip_coef < 1.0 {
            for var in vars {
                let mut grad = var.grad();
                if grad.defined() {
                    let _ = grad.f_mul_scalar_(clip_coef)?;
                }
            }
        }
        Ok(total)
    })?;
    Ok(total)
}
