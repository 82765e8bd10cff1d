//! Softmax with temperature (Hinton et al. 2015; Tang et al. 2019 §3.1 discuss it as the
//! alternative to matching logits).

use super::{check_logits, check_temperature};
use crate::Result;
use tch::Tensor;

/// `softmax(z / T)` over the class axis: `exp(z_i/T) / Σ_j exp(z_j/T)`.
///
/// `logits` is `[batch, classes]` (an empty batch is allowed and gives an empty result);
/// `T > 0`. `T > 1` flattens the distribution, `T < 1` sharpens it. Computed as a stable
/// softmax (max-subtracted by libtorch), so large logits do not overflow.
pub fn softmax_t(logits: &Tensor, t: f64) -> Result<Tensor> {
    check_logits("logits", logits)?;
    check_temperature(t)?;
    Ok(logits.f_div_scalar(t)?.f_softmax(1, None)?)
}
