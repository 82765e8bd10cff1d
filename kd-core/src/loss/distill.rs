//! The combined student objective `L = alpha · L_CE + (1 - alpha) · L_distill` of Tang et al.
//! 2019, §3.1, eq. 3, with the soft term chosen by configuration.

use super::{
    check_pair, check_temperature, hard_ce, kl_div, mse_logits, mse_logits_elementwise, soft_ce,
};
use crate::{KdError, Result};
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Which soft (distillation) term to use. Serialised as `{kind: mse}`,
/// `{kind: soft_ce, t: 2.0}`, … (YAML/JSON, internally tagged).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SoftLoss {
    /// The paper's `||z^B - z^S||²`, summed over classes, mean over the batch ([`mse_logits`]).
    /// The default.
    #[default]
    Mse,
    /// `nn.MSELoss()`: mean over every element ([`mse_logits_elementwise`]).
    MseElementwise,
    /// Hinton soft cross-entropy with temperature `t`, times `t²` ([`soft_ce`]).
    SoftCe {
        /// Temperature, > 0.
        t: f64,
    },
    /// `t² · KL(p_teacher || p_student)` at temperature `t` ([`kl_div`]).
    Kl {
        /// Temperature, > 0.
        t: f64,
    },
}

impl SoftLoss {
    /// The soft term alone, on `[batch, classes]` student and teacher logits.
    pub fn forward(&self, student: &Tensor, teacher: &Tensor) -> Result<Tensor> {
        match *self {
            SoftLoss::Mse => mse_logits(student, teacher),
            SoftLoss::MseElementwise => mse_logits_elementwise(student, teacher),
            SoftLoss::SoftCe { t } => soft_ce(student, teacher, t),
            SoftLoss::Kl { t } => kl_div(student, teacher, t),
        }
    }
}

/// `alpha · hard_ce + (1 - alpha) · soft`. The default (`alpha = 0`, [`SoftLoss::Mse`]) is the
/// paper's BiLSTM_SOFT.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistillLoss {
    /// Weight of the hard cross-entropy term, in `[0, 1]`.
    pub alpha: f64,
    /// The soft term.
    pub soft: SoftLoss,
}

impl DistillLoss {
    /// `alpha · hard_ce(student, y) + (1 - alpha) · soft(student, teacher)`, where `y` is
    /// `labels` (i64 `[batch]`) or, when `labels` is `None`, the teacher's argmax (first index on
    /// ties) — the paper's transfer set has no gold labels.
    ///
    /// A term whose weight is exactly 0 is not evaluated, so `alpha = 0` never looks at the
    /// labels' values (their shape is still checked) and a non-finite unused term cannot turn the
    /// total into NaN.
    pub fn forward(
        &self,
        student: &Tensor,
        teacher: &Tensor,
        labels: Option<&Tensor>,
    ) -> Result<Tensor> {
        self.validate()?;
        let (batch, _, teacher_cast) = check_pair(student, teacher)?;
        let alpha = self.alpha;
        let hard = if alpha > 0.0 {
            let y = match labels {
                Some(y) => y.shallow_clone(),
                None => teacher.f_argmax(1, false)?,
            };
            Some(hard_ce(student, &y)?.f_mul_scalar(alpha)?)
        } else {
            if let Some(y) = labels {
                check_labels_shape(y, batch)?;
            }
            None
        };
        if alpha >= 1.0 {
            if let Some(h) = hard {
                return Ok(h);
            }
        }
        let soft = self
            .soft
            .forward(student, &teacher_cast)?
            .f_mul_scalar(1.0 - alpha)?;
        Ok(match hard {
            Some(h) => h.f_add(&soft)?,
            None => soft,
        })
    }

    /// Checks `alpha ∈ [0, 1]` and the soft term's temperature.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(KdError::InvalidArgument(format!(
                "alpha must be in [0, 1], got {}",
                self.alpha
            )));
        }
        match self.soft {
            SoftLoss::SoftCe { t } | SoftLoss::Kl { t } => check_temperature(t),
            SoftLoss::Mse | SoftLoss::MseElementwise => Ok(()),
        }
    }
}

/// With `alpha = 0` the labels' values are unused, but a mis-shaped tensor is still a caller bug.
fn check_labels_shape(labels: &Tensor, batch: i64) -> Result<()> {
    let size = if labels.defined() {
        labels.size()
    } else {
        vec![]
    };
    if size.as_slice() != [batch] {
        return Err(KdError::Shape(format!(
            "labels: expected [batch={batch}] to match the logits, got {size:?}"
        )));
    }
    Ok(())
}
