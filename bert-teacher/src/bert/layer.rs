//! One transformer layer: attention, then the feed-forward block (`BertIntermediate` +
//! `BertOutput`). Port of `BertLayer` in transformers' `modeling_bert.py`.

use super::attention::{BertAttention, BertSelfOutput};
use super::{BertConfig, Dense};
use tch::{nn, nn::Module, Tensor};

/// Feed-forward activations HF BERT configs name in `hidden_act`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact (erf) GELU, HF's `gelu`.
    Gelu,
    /// Tanh-approximated GELU, HF's `gelu_new` / `gelu_pytorch_tanh`.
    GeluTanh,
    /// ReLU.
    Relu,
    /// SiLU, HF's `silu` / `swish`.
    Silu,
}

impl Activation {
    /// Parses HF's `hidden_act` string.
    pub fn parse(name: &str) -> Option<Activation> {
        match name {
            "gelu" => Some(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" => Some(Activation::GeluTanh),
            "relu" => Some(Activation::Relu),
            "silu" | "swish" => Some(Activation::Silu),
            _ => None,
        }
    }

    fn apply(self, xs: &Tensor) -> Tensor {
        match self {
            Activation::Gelu => xs.gelu("none"),
            Activation::GeluTanh => xs.gelu("tanh"),
            Activation::Relu => xs.relu(),
            Activation::Silu => xs.silu(),
        }
    }
}

/// One encoder layer (`encoder.layer.N`).
#[derive(Debug)]
pub struct BertLayer {
    attention: BertAttention,
    intermediate: Dense,
    activation: Activation,
    output: BertSelfOutput,
}

impl BertLayer {
    /// Creates `p/attention`, `p/intermediate/dense`, `p/output`. The config must have passed
    /// [`BertConfig::validate`].
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        BertLayer {
            attention: BertAttention::new(&p / "attention", cfg),
            intermediate: Dense::new(
                &p / "intermediate" / "dense",
                cfg.hidden_size,
                cfg.intermediate_size,
                cfg.initializer_range,
            ),
            activation: Activation::parse(&cfg.hidden_act).unwrap_or(Activation::Gelu),
            output: BertSelfOutput::new(&p / "output", cfg, cfg.intermediate_size),
        }
    }

    /// `[batch_size, seq_len, hidden_dim]` → same shape.
    pub fn forward_t(&self, xs: &Tensor, additive_mask: &Tensor, train: bool) -> Tensor {
        let attended = self.attention.forward_t(xs, additive_mask, train);
        let hidden = self.activation.apply(&self.intermediate.forward(&attended));
        self.output.forward_t(&hidden, &attended, train)
    }
}
