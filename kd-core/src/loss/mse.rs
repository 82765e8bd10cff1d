//! The paper's distillation objective: squared distance between teacher and student logits,
//! `L_distill = ||z^B - z^S||²` (Tang et al. 2019, §3.1, eq. 3).

use super::check_pair;
use crate::Result;
use tch::Tensor;

/// `mean_b( Σ_i (z^B_bi - z^S_bi)² )`: eq. 3 summed over classes, averaged over the batch.
///
/// This is the paper's equation taken literally. It is `classes` times
/// [`mse_logits_elementwise`]; with Adadelta the scale matters little, but it changes the
/// balance against the hard loss when `alpha > 0`.
pub fn mse_logits(student: &Tensor, teacher: &Tensor) -> Result<Tensor> {
    let (_, _, teacher) = check_pair(student, teacher)?;
    let diff = teacher.f_sub(student)?;
    Ok(diff
        .f_square()?
        .f_sum_dim_intlist(1i64, false, None)?
        .f_mean(None)?)
}

/// `nn.MSELoss()` (reduction `mean`): the mean of `(z^B - z^S)²` over every element, which is
/// what many public re-implementations of the paper use.
pub fn mse_logits_elementwise(student: &Tensor, teacher: &Tensor) -> Result<Tensor> {
    let (_, _, teacher) = check_pair(student, teacher)?;
    Ok(teacher.f_sub(student)?.f_square()?.f_mean(None)?)
}
