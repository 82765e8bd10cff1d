//! Hinton et al. (2015) soft-target losses with temperature, the alternative that Tang et al.
//! 2019 §3.1 contrast with logit matching. Both carry the customary `T²` factor.

use super::{check_pair, check_temperature};
use crate::Result;
use tch::Tensor;

/// `T² · mean_b( -Σ_i softmax(z^B/T)_i · log softmax(z^S/T)_i )`.
///
/// Equals `F.cross_entropy(zS / T, F.softmax(zB / T, 1)) * T**2`. Its minimum over the student
/// is the teacher's entropy (not 0); use [`kl_div`] for a loss that is 0 at a perfect match.
/// The gradients of the two are identical.
pub fn soft_ce(student: &Tensor, teacher: &Tensor, t: f64) -> Result<Tensor> {
    let (_, _, teacher) = check_pair(student, teacher)?;
    check_temperature(t)?;
    let log_p_student = student.f_div_scalar(t)?.f_log_softmax(1, None)?;
    let p_teacher = teacher.f_div_scalar(t)?.f_softmax(1, None)?;
    let per_example = p_teacher
        .f_mul(&log_p_student)?
        .f_sum_dim_intlist(1i64, false, None)?;
    Ok(per_example.f_mean(None)?.f_mul_scalar(-t * t)?)
}

/// `T² · mean_b KL(p_T || p_S)` with `p = softmax(z/T)`:
/// `F.kl_div(F.log_softmax(zS/T, 1), F.softmax(zB/T, 1), reduction="batchmean") * T**2`.
///
/// The teacher's log-probabilities come from `log_softmax` (not `log(softmax)`), so the value
/// stays finite when a teacher probability underflows to 0.
pub fn kl_div(student: &Tensor, teacher: &Tensor, t: f64) -> Result<Tensor> {
    let (_, _, teacher) = check_pair(student, teacher)?;
    check_temperature(t)?;
    let log_p_student = student.f_div_scalar(t)?.f_log_softmax(1, None)?;
    let log_p_teacher = teacher.f_div_scalar(t)?.f_log_softmax(1, None)?;
    let pointwise = log_p_teacher
        .f_exp()?
        .f_mul(&log_p_teacher.f_sub(&log_p_student)?)?;
    let per_example = pointwise.f_sum_dim_intlist(1i64, false, None)?;
    Ok(per_example.f_mean(None)?.f_mul_scalar(t * t)?)
}
