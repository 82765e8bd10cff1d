//! Multi-head self-attention: `BertSelfAttention`, `BertSelfOutput`, `BertAttention`.
//!
//! Port of the classes of the same names in transformers' `modeling_bert.py`; the attention
//! itself is `torch.nn.functional.scaled_dot_product_attention`, which is what HF's default
//! (`sdpa`) BERT attention calls too.

use super::{BertConfig, Dense, LayerNorm};
use tch::{nn, nn::Module, Tensor};

/// Query/key/value projections and scaled dot-product attention (`attention.self`).
#[derive(Debug)]
pub struct BertSelfAttention {
    query: Dense,
    key: Dense,
    value: Dense,
    num_heads: i64,
    head_dim: i64,
    dropout: f64,
}

impl BertSelfAttention {
    /// Creates `p/query`, `p/key`, `p/value`.
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        let h = cfg.hidden_size;
        BertSelfAttention {
            query: Dense::new(&p / "query", h, h, cfg.initializer_range),
            key: Dense::new(&p / "key", h, h, cfg.initializer_range),
            value: Dense::new(&p / "value", h, h, cfg.initializer_range),
            num_heads: cfg.num_attention_heads as i64,
            head_dim: cfg.head_dim() as i64,
            dropout: cfg.attention_probs_dropout_prob,
        }
    }

    /// `xs`: `[batch_size, seq_len, hidden_dim]`; `additive_mask`: `[batch_size, 1, 1, seq_len]`
    /// (0 where attended, a large negative number on padding). Returns the context vectors,
    /// `[batch_size, seq_len, hidden_dim]`.
    pub fn forward_t(&self, xs: &Tensor, additive_mask: &Tensor, train: bool) -> Tensor {
        let size = xs.size();
        let (batch_size, seq_len, hidden_dim) = (size[0], size[1], size[2]);
        let heads = |t: Tensor| {
            t.view([batch_size, seq_len, self.num_heads, self.head_dim])
                .transpose(1, 2)
        };
        let q = heads(self.query.forward(xs));
        let k = heads(self.key.forward(xs));
        let v = heads(self.value.forward(xs));
        let dropout_p = if train { self.dropout } else { 0.0 };
        Tensor::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            Some(additive_mask),
            dropout_p,
            false,
            None,
            false,
        )
        .transpose(1, 2)
        .contiguous()
        .view([batch_size, seq_len, hidden_dim])
    }
}

/// Output projection, dropout, residual and LayerNorm (`attention.output`). The same shape
/// (with a different input width) is `BertOutput` after the feed-forward block.
#[derive(Debug)]
pub struct BertSelfOutput {
    dense: Dense,
    layer_norm: LayerNorm,
    dropout: f64,
}

impl BertSelfOutput {
    /// Creates `p/dense` (`in_dim` → hidden) and `p/LayerNorm`.
    pub fn new(p: nn::Path, cfg: &BertConfig, in_dim: usize) -> Self {
        BertSelfOutput {
            dense: Dense::new(&p / "dense", in_dim, cfg.hidden_size, cfg.initializer_range),
            layer_norm: LayerNorm::new(&p / "LayerNorm", cfg.hidden_size, cfg.layer_norm_eps),
            dropout: cfg.hidden_dropout_prob,
        }
    }

    /// `LayerNorm(dropout(dense(xs)) + residual)`.
    pub fn forward_t(&self, xs: &Tensor, residual: &Tensor, train: bool) -> Tensor {
        let ys = self.dense.forward(xs).dropout(self.dropout, train);
        self.layer_norm.forward(&(ys + residual))
    }
}

/// Self-attention plus its output block (`layer.N.attention`).
#[derive(Debug)]
pub struct BertAttention {
    self_attention: BertSelfAttention,
    output: BertSelfOutput,
}

impl BertAttention {
    /// Creates `p/self` and `p/output`.
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        BertAttention {
            self_attention: BertSelfAttention::new(&p / "self", cfg),
            output: BertSelfOutput::new(&p / "output", cfg, cfg.hidden_size),
        }
    }

    /// `[batch_size, seq_len, hidden_dim]` → same shape.
    pub fn forward_t(&self, xs: &Tensor, additive_mask: &Tensor, train: bool) -> Tensor {
        let context = self.self_attention.forward_t(xs, additive_mask, train);
        self.output.forward_t(&context, xs, train)
    }
}
