//! Cross-entropy with the gold (or teacher-argmax) labels: the `L_CE` term of Tang et al. 2019,
//! §3.1, eq. 3.

use super::{check_logits, check_nonempty};
use crate::{KdError, Result};
use tch::{Kind, Tensor};

/// `mean_b( -log softmax(z_b)[y_b] )`, i.e. `F.cross_entropy(logits, labels)`.
///
/// `logits` is `[batch, classes]`, `labels` an `i64` tensor `[batch]` with values in
/// `0..classes`. Out-of-range labels are an error, not a libtorch abort.
pub fn hard_ce(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let (batch, classes) = check_logits("logits", logits)?;
    check_nonempty("logits", batch, classes)?;
    check_labels(labels, batch, classes)?;
    let log_probs = logits.f_log_softmax(1, None)?;
    let picked = log_probs.f_gather(1, &labels.f_unsqueeze(1)?, false)?;
    Ok(picked.f_mean(None)?.f_neg()?)
}

/// Labels must be `i64 [batch]` with every value in `0..classes`.
pub(crate) fn check_labels(labels: &Tensor, batch: i64, classes: i64) -> Result<()> {
    if !labels.defined() {
        return Err(KdError::Shape(format!(
            "labels: undefined tensor, expected [batch={batch}]"
        )));
    }
    let size = labels.size();
    if size.as_slice() != [batch] {
        return Err(KdError::Shape(format!(
            "labels: expected [batch={batch}] to match the logits, got {size:?}"
        )));
    }
    let kind = labels.f_kind()?;
    if kind != Kind::Int64 {
        return Err(KdError::InvalidArgument(format!(
            "labels: expected an i64 tensor, got {kind:?}"
        )));
    }
    let (lo, hi) = (
        labels.f_min()?.f_int64_value(&[])?,
        labels.f_max()?.f_int64_value(&[])?,
    );
    if lo < 0 || hi >= classes {
        return Err(KdError::InvalidArgument(format!(
            "labels: values must be in 0..{classes} (classes={classes}), got min {lo}, max {hi}"
        )));
    }
    Ok(())
}
