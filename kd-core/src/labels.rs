//! Checked class labels: every training and evaluation loop needs "each example has a label in
//! `0..num_classes`", with an error that names the split and the example when one does not.

use crate::{KdError, Result};

/// The labels of a split, each checked to be present and `< num_classes`. `split` names the set
/// in messages ("train", "dev", ...); example indices in messages are 0-based.
pub fn checked_labels(
    labels: impl IntoIterator<Item = Option<usize>>,
    num_classes: usize,
    split: &str,
) -> Result<Vec<usize>> {
    labels
        .into_iter()
        .enumerate()
        .map(|(i, label)| match label {
            Some(l) if l < num_classes => Ok(l),
            Some(l) => Err(KdError::InvalidArgument(format!(
                "{split} example {i}: label {l} out of range for {num_classes} classes"
            ))),
            None => Err(KdError::InvalidArgument(format!(
                "{split} example {i} has no label"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_in_range_labels_pass_others_name_the_example() {
        assert_eq!(
            checked_labels([Some(1), Some(0)], 2, "dev").unwrap(),
            vec![1, 0]
        );
        let e = checked_labels([Some(0), Some(2)], 2, "train").unwrap_err();
        assert!(
            e.to_string()
                .contains("train example 1: label 2 out of range"),
            "{e}"
        );
        let e = checked_labels([Some(0), None], 2, "dev").unwrap_err();
        assert!(e.to_string().contains("dev example 1 has no label"), "{e}");
    }
}
