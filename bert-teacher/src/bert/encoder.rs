//! The stack of transformer layers. Port of `BertEncoder` in transformers' `modeling_bert.py`.

use super::layer::BertLayer;
use super::BertConfig;
use tch::{nn, Tensor};

/// `encoder.layer.0` ... `encoder.layer.{L-1}`.
#[derive(Debug)]
pub struct BertEncoder {
    layers: Vec<BertLayer>,
}

impl BertEncoder {
    /// Creates `p/layer/0` ... `p/layer/{num_hidden_layers-1}`.
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        let p = &p / "layer";
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| BertLayer::new(&p / i, cfg))
            .collect();
        BertEncoder { layers }
    }

    /// Runs every layer; returns the last hidden state, `[batch_size, seq_len, hidden_dim]`.
    pub fn forward_t(&self, xs: &Tensor, additive_mask: &Tensor, train: bool) -> Tensor {
        let mut hidden = xs.shallow_clone();
        for layer in &self.layers {
            hidden = layer.forward_t(&hidden, additive_mask, train);
        }
        hidden
    }
}
