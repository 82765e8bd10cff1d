//! Configuration of the student (paper §3, Fig. 1 and 2): embeddings → one-layer BiLSTM →
//! ReLU hidden layer → dropout → logits, with a Siamese variant for sentence pairs.

use crate::pair::pair_feature_dim;
use crate::vocab::VocabConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How the word embeddings are initialised and trained (Kim 2014's four variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingMode {
    /// Random U(-0.25, 0.25) vectors of [`EmbeddingConfig::dim`], trained.
    Rand,
    /// Pre-trained vectors, frozen.
    Static,
    /// Pre-trained vectors, fine-tuned.
    NonStatic,
    /// A frozen and a fine-tuned copy of the pre-trained vectors, concatenated: the LSTM input
    /// is `2 * dim` (the paper's setting).
    Multichannel,
}

/// The embedding layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// See [`EmbeddingMode`].
    pub mode: EmbeddingMode,
    /// Pre-trained vectors: a directory with one `*.npy` matrix and one `*.parquet` word index,
    /// or a word2vec/GloVe text file. Required unless `mode` is `rand`; the dimension follows it.
    pub vectors: Option<PathBuf>,
    /// Embedding dimension for `rand` (ignored otherwise).
    pub dim: usize,
    /// Words without a pre-trained vector get U(-init_range, init_range) (0.25 as in Kim 2014).
    pub init_range: f64,
}

impl Default for EmbeddingConfig {
    fn default() -> Self {
        EmbeddingConfig {
            mode: EmbeddingMode::Multichannel,
            vectors: Some(PathBuf::from(".cache/glove")),
            dim: 50,
            init_range: 0.25,
        }
    }
}

/// The student model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudentConfig {
    /// Word embeddings.
    pub embedding: EmbeddingConfig,
    /// How the vocabulary is built.
    pub vocab: VocabConfig,
    /// LSTM hidden size per direction (paper: 150).
    pub hidden_dim: usize,
    /// Width of the ReLU layer before the classifier (paper: 200).
    pub fc_dim: usize,
    /// Dropout before the output layer.
    pub dropout: f64,
    /// Number of classes.
    pub num_classes: usize,
    /// Sentence-pair model (Siamese BiLSTM, Fig. 2) instead of the single-sentence one.
    pub pair: bool,
}

impl Default for StudentConfig {
    fn default() -> Self {
        StudentConfig {
            embedding: EmbeddingConfig::default(),
            vocab: VocabConfig::default(),
            hidden_dim: 150,
            fc_dim: 200,
            dropout: 0.1,
            num_classes: 2,
            pair: false,
        }
    }
}

impl StudentConfig {
    /// Width of one word's LSTM input for embedding dimension `dim`.
    pub fn lstm_input_dim(&self, dim: usize) -> usize {
        match self.embedding.mode {
            EmbeddingMode::Multichannel => 2 * dim,
            _ => dim,
        }
    }

    /// Parameter count the paper's way (Table 1: embedding tables excluded) for word vectors of
    /// dimension `dim`.
    pub fn param_count_without_embeddings(&self, dim: usize) -> usize {
        let (h, input) = (self.hidden_dim, self.lstm_input_dim(dim));
        let lstm = 2 * (4 * h * (input + h) + 2 * 4 * h);
        let sentence_dim = 2 * h;
        let features = if self.pair {
            pair_feature_dim(sentence_dim)
        } else {
            sentence_dim
        };
        let fc = features * self.fc_dim + self.fc_dim;
        let out = self.fc_dim * self.num_classes + self.num_classes;
        lstm + fc + out
    }

    /// Parameter count including the embedding tables for a vocabulary of `vocab_size` words
    /// (both channels of `multichannel`, frozen or not).
    pub fn param_count_with_embeddings(&self, dim: usize, vocab_size: usize) -> usize {
        self.param_count_without_embeddings(dim) + vocab_size * self.lstm_input_dim(dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_sst2_model_has_0_96m_parameters() {
        let cfg = StudentConfig::default();
        assert_eq!(cfg.param_count_without_embeddings(300), 963_002);
        assert_eq!(cfg.param_count_without_embeddings(50), 363_002);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let bad = serde_json::from_str::<StudentConfig>("{\"hiden_dim\": 3}");
        assert!(bad.unwrap_err().to_string().contains("hiden_dim"));
        let ok: StudentConfig =
            serde_json::from_str("{\"embedding\": {\"mode\": \"rand\", \"dim\": 8}}").unwrap();
        assert_eq!(ok.embedding.mode, EmbeddingMode::Rand);
    }
}
