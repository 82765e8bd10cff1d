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

/// [`softmax_t`] on row-major `f32` logits `[n, classes]` (as the classifiers return them), in
/// `f64` with the maximum subtracted per row; `T > 0`, `classes > 0`.
pub fn softmax_rows(logits: &[f32], classes: usize, t: f64) -> Result<Vec<f32>> {
    check_temperature(t)?;
    if classes == 0 || !logits.len().is_multiple_of(classes) {
        return Err(crate::KdError::Shape(format!(
            "softmax_rows: {} values do not form rows of {classes} classes",
            logits.len()
        )));
    }
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks(classes) {
        let max = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &z| m.max(z as f64 / t));
        let exps: Vec<f64> = row.iter().map(|&z| (z as f64 / t - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        out.extend(exps.iter().map(|e| (e / sum) as f32));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_match_the_tensor_softmax_and_flatten_with_t() {
        let z = [-2.58f32, 2.81, 0.5, 0.5];
        let p1 = softmax_rows(&z, 2, 1.0).unwrap();
        let t = softmax_t(&Tensor::from_slice(&z).view([2, 2]), 1.0).unwrap();
        let t: Vec<f32> = Vec::try_from(t.flatten(0, -1)).unwrap();
        for (a, b) in p1.iter().zip(&t) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert_eq!(&p1[2..], &[0.5, 0.5]);
        let p10 = softmax_rows(&z, 2, 10.0).unwrap();
        assert!(p10[1] < p1[1] && p10[1] > 0.5);
        assert!(softmax_rows(&z, 3, 1.0).is_err());
        assert!(softmax_rows(&z, 2, 0.0).is_err());
    }
}
