//! `BertPooler`: `tanh(dense(h_[CLS]))`. Port of `BertPooler` in transformers' `modeling_bert.py`.
//!
//! Choice when a checkpoint has no `pooler.*` tensors: like
//! `BertForSequenceClassification.from_pretrained` we create a fresh pooler (N(0,
//! initializer_range) weight, zero bias) rather than classify the raw [CLS] state. The
//! fine-tuning recipe is then exactly HF's (so a PyTorch fine-tune of the same checkpoint is a
//! like-for-like reference), and a checkpoint written by this crate loads unchanged in
//! transformers and vice versa. When the checkpoint has a pooler it is loaded: the copy of
//! all-MiniLM-L6-v2 in `.cache/minilm` does carry `pooler.dense.*` (inherited from
//! nreimers/MiniLM-L6-H384-uncased; sentence-transformers itself mean-pools and never trains it),
//! and HF would load it too.

use super::{BertConfig, Dense};
use tch::{nn, nn::Module, Tensor};

/// The pooler (`pooler.dense`).
#[derive(Debug)]
pub struct BertPooler {
    dense: Dense,
}

impl BertPooler {
    /// Creates `p/dense`.
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        BertPooler {
            dense: Dense::new(
                &p / "dense",
                cfg.hidden_size,
                cfg.hidden_size,
                cfg.initializer_range,
            ),
        }
    }
}

impl Module for BertPooler {
    /// `[batch_size, seq_len, hidden_dim]` → `[batch_size, hidden_dim]` from the first token.
    fn forward(&self, hidden: &Tensor) -> Tensor {
        self.dense.forward(&hidden.select(1, 0)).tanh()
    }
}
