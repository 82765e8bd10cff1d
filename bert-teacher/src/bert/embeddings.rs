//! `BertEmbeddings`: word + position + token-type embeddings, LayerNorm, dropout.
//!
//! Port of `BertEmbeddings` in transformers' `modeling_bert.py` (absolute positions only).

use super::{BertConfig, LayerNorm, DECAY_GROUP};
use tch::{nn, nn::Module, Kind, Tensor};

/// The input embedding block of BERT.
#[derive(Debug)]
pub struct BertEmbeddings {
    /// `word_embeddings.weight`, `[vocab_size, hidden_dim]`.
    pub word_embeddings: Tensor,
    /// `position_embeddings.weight`, `[max_position_embeddings, hidden_dim]`.
    pub position_embeddings: Tensor,
    /// `token_type_embeddings.weight`, `[type_vocab_size, hidden_dim]`.
    pub token_type_embeddings: Tensor,
    layer_norm: LayerNorm,
    dropout: f64,
}

impl BertEmbeddings {
    /// Creates the block under `p` (`p/word_embeddings/weight`, ..., `p/LayerNorm/weight`).
    pub fn new(p: nn::Path, cfg: &BertConfig) -> BertEmbeddings {
        let init = nn::Init::Randn {
            mean: 0.0,
            stdev: cfg.initializer_range,
        };
        let h = cfg.hidden_size as i64;
        let g = p.set_group(DECAY_GROUP);
        let word_embeddings =
            (&g / "word_embeddings").var("weight", &[cfg.vocab_size as i64, h], init);
        let position_embeddings = (&g / "position_embeddings").var(
            "weight",
            &[cfg.max_position_embeddings as i64, h],
            init,
        );
        let token_type_embeddings =
            (&g / "token_type_embeddings").var("weight", &[cfg.type_vocab_size as i64, h], init);
        let layer_norm = LayerNorm::new(&p / "LayerNorm", cfg.hidden_size, cfg.layer_norm_eps);
        BertEmbeddings {
            word_embeddings,
            position_embeddings,
            token_type_embeddings,
            layer_norm,
            dropout: cfg.hidden_dropout_prob,
        }
    }

    /// `input_ids`, `token_type_ids`: `[batch_size, seq_len]` int64 → `[batch_size, seq_len,
    /// hidden_dim]`. Ids are range-checked by [`super::BertModel::forward_t`].
    pub fn forward_t(&self, input_ids: &Tensor, token_type_ids: &Tensor, train: bool) -> Tensor {
        let seq_len = input_ids.size()[1];
        let position_ids = Tensor::arange(seq_len, (Kind::Int64, input_ids.device()));
        let xs = Tensor::embedding(&self.word_embeddings, input_ids, -1, false, false)
            + Tensor::embedding(&self.position_embeddings, &position_ids, -1, false, false)
                .unsqueeze(0)
            + Tensor::embedding(
                &self.token_type_embeddings,
                token_type_ids,
                -1,
                false,
                false,
            );
        self.layer_norm.forward(&xs).dropout(self.dropout, train)
    }
}
