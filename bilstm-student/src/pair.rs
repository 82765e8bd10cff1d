//! The Siamese pair features of §3 / Fig. 2: both sentences go through
//! the same encoder, and the classifier reads `[h1, h2, h1 ⊙ h2, |h1 − h2|]`.

use kd_core::{KdError, Result};
use tch::Tensor;

/// How many sentence vectors wide the pair features are (`h1`, `h2`, `h1 ⊙ h2`, `|h1 − h2|`).
pub const PAIR_FEATURE_WIDTH_FACTOR: usize = 4;

/// Width of the pair features for sentence vectors of width `sentence_dim` (the encoder's
/// output, `2 * hidden_dim` for the BiLSTM).
pub fn pair_feature_dim(sentence_dim: usize) -> usize {
    PAIR_FEATURE_WIDTH_FACTOR * sentence_dim
}

/// `[h1, h2, h1 ⊙ h2, |h1 − h2|]` of `h1`, `h2` `[batch, dim]`, concatenated along the last
/// dim: `[batch, pair_feature_dim(dim)]`. Fails when the shapes differ or are not 2-D.
pub fn pair_features(h1: &Tensor, h2: &Tensor) -> Result<Tensor> {
    let (s1, s2) = (h1.size(), h2.size());
    if s1.len() != 2 || s1 != s2 {
        return Err(KdError::Shape(format!(
            "pair features need sentence vectors a and b of one shape [batch, dim], got {s1:?} and {s2:?}"
        )));
    }
    let prod = h1 * h2;
    let diff = (h1 - h2).abs();
    Ok(Tensor::cat(&[h1, h2, &prod, &diff], 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_of_a_hand_computed_pair() {
        // Two examples, dim 2.
        let h1 = Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0]).view([2, 2]);
        let h2 = Tensor::from_slice(&[4.0f32, 1.0, -0.5, 3.0]).view([2, 2]);
        let xs = pair_features(&h1, &h2).unwrap();
        assert_eq!(xs.size(), [2, pair_feature_dim(2) as i64]);
        let expected = [
            // h1         h2          h1*h2         |h1-h2|
            1.0f32, -2.0, 4.0, 1.0, 4.0, -2.0, 3.0, 3.0, //
            0.5, 3.0, -0.5, 3.0, -0.25, 9.0, 1.0, 0.0,
        ];
        assert_eq!(Vec::<f32>::try_from(xs.flatten(0, -1)).unwrap(), expected);
    }

    #[test]
    fn mismatched_shapes_are_an_error() {
        let h1 = Tensor::zeros([2, 3], (tch::Kind::Float, tch::Device::Cpu));
        let h2 = Tensor::zeros([3, 3], (tch::Kind::Float, tch::Device::Cpu));
        let msg = pair_features(&h1, &h2).unwrap_err().to_string();
        assert!(msg.contains("[2, 3] and [3, 3]"), "{msg}");
    }
}
