//! Distillation objectives of Tang et al. 2019, §3.1.
//!
//! The student is trained on `L = alpha * L_CE + (1 - alpha) * L_distill` (eq. 2–3). The paper's
//! `L_distill` is the squared distance between logits, `||z^B - z^S||²` ([`mse_logits`]); its
//! reported BiLSTM_SOFT uses `alpha = 0`. For comparison the classic Hinton et al. (2015)
//! objective is here too: [`soft_ce`] and [`kl_div`], both scaled by `T²` so that gradient
//! magnitudes do not shrink as `1/T²` when the temperature rises.
//!
//! Conventions (all checked against PyTorch fixtures in `kd-core/tests/fixtures/`):
//! - logits are `[batch, classes]` floating tensors; the class axis is dim 1;
//! - every loss is a scalar, **mean over the batch** (the `batchmean` of `F.kl_div`; the default
//!   `mean` of `F.cross_entropy`); [`mse_logits`] sums over classes before that mean, while
//!   [`mse_logits_elementwise`] is `nn.MSELoss()` (mean over every element);
//! - teacher logits are cast to the student's kind and are *not* detached: cached teacher logits
//!   carry no gradient anyway, and a caller who wants gradients to flow into a teacher gets them;
//! - shapes are checked at every entry point and reported as [`KdError::Shape`] naming the dims.

mod distill;
mod hard;
mod mse;
mod soft;
mod softmax;

pub use distill::{DistillLoss, SoftLoss};
pub use hard::hard_ce;
pub use mse::{mse_logits, mse_logits_elementwise};
pub use soft::{kl_div, soft_ce};
pub use softmax::{softmax_rows, softmax_t};

use crate::{KdError, Result};
use tch::{Kind, Tensor};

/// Checks that `xs` (called `name` in messages) is a defined floating `[batch, classes]` tensor
/// with at least one class, and returns `(batch, classes)`.
pub(crate) fn check_logits(name: &str, xs: &Tensor) -> Result<(i64, i64)> {
    if !xs.defined() {
        return Err(KdError::Shape(format!(
            "{name}: undefined tensor, expected [batch, classes]"
        )));
    }
    let size = xs.size();
    let &[batch, classes] = size.as_slice() else {
        return Err(KdError::Shape(format!(
            "{name}: expected 2 dims [batch, classes], got {} dims {size:?}",
            size.len()
        )));
    };
    if classes < 1 {
        return Err(KdError::Shape(format!(
            "{name}: [batch={batch}, classes={classes}] needs at least one class"
        )));
    }
    let kind = xs.f_kind()?;
    if !matches!(
        kind,
        Kind::Half | Kind::BFloat16 | Kind::Float | Kind::Double
    ) {
        return Err(KdError::InvalidArgument(format!(
            "{name}: logits must be a floating tensor, got {kind:?}"
        )));
    }
    Ok((batch, classes))
}

/// Checks a non-empty student/teacher pair of equal shape; returns `(batch, classes)` and the
/// teacher cast to the student's kind.
pub(crate) fn check_pair(student: &Tensor, teacher: &Tensor) -> Result<(i64, i64, Tensor)> {
    let (batch, classes) = check_logits("student logits", student)?;
    let (t_batch, t_classes) = check_logits("teacher logits", teacher)?;
    if (batch, classes) != (t_batch, t_classes) {
        return Err(KdError::Shape(format!(
            "student logits [batch={batch}, classes={classes}] and teacher logits \
             [batch={t_batch}, classes={t_classes}] differ"
        )));
    }
    check_nonempty("student logits", batch, classes)?;
    let kind = student.f_kind()?;
    let teacher = if teacher.f_kind()? == kind {
        teacher.shallow_clone()
    } else {
        teacher.f_to_kind(kind)?
    };
    Ok((batch, classes, teacher))
}

/// A mean over an empty batch is NaN: refuse it instead.
pub(crate) fn check_nonempty(name: &str, batch: i64, classes: i64) -> Result<()> {
    if batch < 1 {
        return Err(KdError::Shape(format!(
            "{name}: [batch={batch}, classes={classes}]: a loss needs batch >= 1"
        )));
    }
    Ok(())
}

/// Temperatures must be finite and strictly positive.
pub(crate) fn check_temperature(t: f64) -> Result<()> {
    if !(t.is_finite() && t > 0.0) {
        return Err(KdError::InvalidArgument(format!(
            "temperature T must be finite and > 0, got {t}"
        )));
    }
    Ok(())
}
