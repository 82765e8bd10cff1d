//! Which sentence representation the classifier reads. HF's `BertForSequenceClassification`
//! reads the pooled [CLS] state (`tanh(pooler.dense(h_[CLS]))`, [`super::pooler`]); a
//! sentence-transformers model such as all-MiniLM-L6-v2 was trained to be *mean-pooled* (the
//! masked mean of the last hidden states, `sentence_transformers.models.Pooling` with
//! `pooling_mode_mean_tokens`), and its checkpoint's `pooler.dense` was never trained by it.
//! The choice is a fine-tuning setting ([`crate::FineTuneConfig::pooling`]), recorded in the
//! teacher's `config.json` as `kd_pooling` so that loading, labelling and `predict` use it.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// `config.json` key recording a teacher's pooling when it is not [`Pooling::Cls`].
pub const POOLING_KEY: &str = "kd_pooling";

/// The sentence representation under the classifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The pooler on the [CLS] state (Hugging Face's `BertForSequenceClassification`).
    #[default]
    Cls,
    /// The mean of the last hidden states over the real (unmasked) tokens, special tokens
    /// included, as sentence-transformers pools; the pooler is not used.
    Mean,
}

impl Pooling {
    /// Whether this is the default, [`Pooling::Cls`] (which configs and keys leave unwritten).
    pub fn is_cls(&self) -> bool {
        *self == Pooling::Cls
    }

    /// The name in configs and `config.json`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Pooling::Cls => "cls",
            Pooling::Mean => "mean",
        }
    }

    /// Parses [`Pooling::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Pooling> {
        match s {
            "cls" => Some(Pooling::Cls),
            "mean" => Some(Pooling::Mean),
            _ => None,
        }
    }
}

/// Masked mean over the sequence: `hidden` `[batch, seq_len, hidden_dim]`, `attention_mask`
/// `[batch, seq_len]` (1 on real tokens) → `[batch, hidden_dim]`. The token count is clamped at
/// 1e-9 as sentence-transformers does (a row of padding only gives zeros, not NaN).
pub fn masked_mean(hidden: &Tensor, attention_mask: &Tensor) -> Tensor {
    let mask = attention_mask.to_kind(hidden.kind()).unsqueeze(-1);
    let summed = (hidden * &mask).sum_dim_intlist(1, false, hidden.kind());
    let counts = mask.sum_dim_intlist(1, false, Kind::Float).clamp_min(1e-9);
    summed / counts.to_kind(hidden.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_mean_ignores_padding() {
        // Two sequences of length 3, hidden 2; the second has one padding position.
        let h = Tensor::from_slice(&[1f32, 2., 3., 4., 5., 6., 10., 20., 30., 40., 99., 99.])
            .reshape([2, 3, 2]);
        let m = Tensor::from_slice(&[1i64, 1, 1, 1, 1, 0]).reshape([2, 3]);
        let got = Vec::<f32>::try_from(masked_mean(&h, &m).flatten(0, -1)).unwrap();
        assert_eq!(got, vec![3.0, 4.0, 20.0, 30.0]);
        let zeros = Tensor::zeros([1, 3], (Kind::Int64, tch::Device::Cpu));
        let got =
            Vec::<f32>::try_from(masked_mean(&h.narrow(0, 0, 1), &zeros).flatten(0, -1)).unwrap();
        assert_eq!(got, vec![0.0, 0.0]);
    }

    #[test]
    fn names_round_trip() {
        for p in [Pooling::Cls, Pooling::Mean] {
            assert_eq!(Pooling::parse(p.as_str()), Some(p));
        }
        assert_eq!(Pooling::parse("max"), None);
        assert!(Pooling::default().is_cls());
    }
}
