//! The checkpoint layout both optimisers share: two moment tensors per variable, named
//! `<first>.{i}` and `<second>.{i}`, plus one `step` tensor; and the checks a saved state must
//! pass before it is loaded (count, names, shapes, and optionally dtypes).

use crate::{KdError, Result};
use tch::Tensor;

/// Copies of the two moments of every variable and the `step` tensor, in checkpoint order.
pub(crate) fn moment_tensors(
    names: [&str; 2],
    first: &[Tensor],
    second: &[Tensor],
    step: Tensor,
) -> Vec<(String, Tensor)> {
    let mut named = Vec::with_capacity(2 * first.len() + 1);
    for (i, (a, b)) in first.iter().zip(second).enumerate() {
        named.push((format!("{}.{i}", names[0]), a.copy()));
        named.push((format!("{}.{i}", names[1]), b.copy()));
    }
    named.push(("step".to_string(), step));
    named
}

/// A saved state checked against `vars`: its `step` tensor and, per variable, its two moments.
pub(crate) struct SavedMoments<'a> {
    /// The `step` tensor (its shape and dtype are the optimiser's to check).
    pub step: &'a Tensor,
    /// `[first, second]` moment of each variable, in variable order.
    pub moments: Vec<[&'a Tensor; 2]>,
}

/// Finds and checks the tensors of a state saved by [`moment_tensors`] (in any order): exactly
/// `2 * vars.len() + 1` of them, every name present, each moment shaped like its variable and,
/// with `same_kind`, of its variable's dtype. `what` names the optimiser in errors.
pub(crate) fn saved_moments<'a>(
    what: &str,
    names: [&str; 2],
    named: &'a [(String, Tensor)],
    vars: &[Tensor],
    same_kind: bool,
) -> Result<SavedMoments<'a>> {
    let n = vars.len();
    if named.len() != 2 * n + 1 {
        return Err(KdError::InvalidArgument(format!(
            "{what} state: expected {} tensors ({}.i, {}.i for {n} variables, and step), got {}",
            2 * n + 1,
            names[0],
            names[1],
            named.len()
        )));
    }
    let find = |name: &str| {
        named
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, t)| t)
            .ok_or_else(|| {
                KdError::InvalidArgument(format!("{what} state: missing tensor {name:?}"))
            })
    };
    let step = find("step")?;
    let mut moments = Vec::with_capacity(n);
    for (i, var) in vars.iter().enumerate() {
        let mut pair = Vec::with_capacity(2);
        for prefix in names {
            let name = format!("{prefix}.{i}");
            let src = find(&name)?;
            if src.size() != var.size() {
                return Err(KdError::Shape(format!(
                    "{what} state: {name} has shape {:?}, variable {i} has shape {:?}",
                    src.size(),
                    var.size()
                )));
            }
            if same_kind && src.kind() != var.kind() {
                return Err(KdError::InvalidArgument(format!(
                    "{what} state: {name} has dtype {:?}, variable {i} has dtype {:?}",
                    src.kind(),
                    var.kind()
                )));
            }
            pair.push(src);
        }
        moments.push([pair[0], pair[1]]);
    }
    Ok(SavedMoments { step, moments })
}
