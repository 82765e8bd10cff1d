//! BERT in tch, ported block by block from transformers' `models/bert/modeling_bert.py`
//! (Devlin et al. 2019), the teacher of Tang et al. 2019 §3 / §4.2.
//!
//! Parameter paths are Hugging Face state-dict names (`bert.embeddings.word_embeddings.weight`,
//! `bert.encoder.layer.0.attention.self.query.weight`, `classifier.weight`, ...), so HF
//! checkpoints load without renaming (see [`crate::checkpoint`]).
//!
//! Biases and LayerNorm parameters are created in optimiser group [`NO_DECAY_GROUP`], so that
//! fine-tuning can exempt them from weight decay as HF's recipe (and the original BERT code) do.

pub mod attention;
pub mod config;
pub mod embeddings;
pub mod encoder;
pub mod layer;
pub mod model;
pub mod pooler;
pub mod pooling;

pub use config::BertConfig;
pub use model::{BertForSequenceClassification, BertInput, BertModel, BertModelOutput};
pub use pooling::Pooling;

use tch::{nn, Tensor};

/// Optimiser parameter group of weights that get weight decay.
pub const DECAY_GROUP: usize = 0;
/// Optimiser parameter group of biases and LayerNorm parameters (no weight decay).
pub const NO_DECAY_GROUP: usize = 1;

/// A dense layer `xs @ W^T + b` with HF's initialisation (weight ~ N(0, init_std), bias 0).
#[derive(Debug)]
pub struct Dense {
    /// `[out_dim, in_dim]`, as `torch.nn.Linear.weight`.
    pub weight: Tensor,
    /// `[out_dim]`.
    pub bias: Tensor,
}

impl Dense {
    /// Creates `p/weight` (group [`DECAY_GROUP`]) and `p/bias` (group [`NO_DECAY_GROUP`]).
    pub fn new(p: nn::Path, in_dim: usize, out_dim: usize, init_std: f64) -> Dense {
        let (in_dim, out_dim) = (in_dim as i64, out_dim as i64);
        let weight = p.set_group(DECAY_GROUP).var(
            "weight",
            &[out_dim, in_dim],
            nn::Init::Randn {
                mean: 0.0,
                stdev: init_std,
            },
        );
        let bias = p
            .set_group(NO_DECAY_GROUP)
            .var("bias", &[out_dim], nn::Init::Const(0.0));
        Dense { weight, bias }
    }
}

impl nn::Module for Dense {
    fn forward(&self, xs: &Tensor) -> Tensor {
        xs.linear(&self.weight, Some(&self.bias))
    }
}

/// LayerNorm over the last dim, named `weight` / `bias` like `torch.nn.LayerNorm`.
#[derive(Debug)]
pub struct LayerNorm {
    /// `[hidden_dim]`, initialised to 1.
    pub weight: Tensor,
    /// `[hidden_dim]`, initialised to 0.
    pub bias: Tensor,
    eps: f64,
    hidden_dim: i64,
}

impl LayerNorm {
    /// Creates `p/weight` and `p/bias`, both in group [`NO_DECAY_GROUP`].
    pub fn new(p: nn::Path, hidden_dim: usize, eps: f64) -> LayerNorm {
        let p = p.set_group(NO_DECAY_GROUP);
        let hidden_dim = hidden_dim as i64;
        let weight = p.var("weight", &[hidden_dim], nn::Init::Const(1.0));
        let bias = p.var("bias", &[hidden_dim], nn::Init::Const(0.0));
        LayerNorm {
            weight,
            bias,
            eps,
            hidden_dim,
        }
    }
}

impl nn::Module for LayerNorm {
    fn forward(&self, xs: &Tensor) -> Tensor {
        xs.layer_norm(
            [self.hidden_dim],
            Some(&self.weight),
            Some(&self.bias),
            self.eps,
            true,
        )
    }
}
