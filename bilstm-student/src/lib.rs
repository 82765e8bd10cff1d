//! # bilstm-student
//!
//! The student of "Distilling Task-Specific Knowledge from BERT into Simple Neural Networks"
//! (Tang et al. 2019, arXiv 1903.12136), §3 and Fig. 1/2: a one-layer BiLSTM over word
//! embeddings (`multichannel` GloVe/word2vec by default), a ReLU layer and a classifier, plus the
//! Siamese variant for sentence pairs; and the one training loop used for every student.
//!
//! - [`vocab`]: the word-level vocabulary (`[PAD]` = 0, `[UNK]` = 1, `[MASK]` → `[UNK]`).
//! - [`vectors`]: pre-trained vectors from `.npy` + parquet (GloVe 6B) or word2vec text.
//! - [`config`]: [`StudentConfig`] and the parameter counts of Table 1.
//! - [`embedding`], [`encoder`], [`pair`], [`model`]: the network (the Siamese features
//!   `[h1, h2, h1 ⊙ h2, |h1 − h2|]` in [`pair`]); [`StudentModel`] bundles it with its
//!   vocabulary and configuration and is a [`kd_core::Classifier`].
//! - [`batch`]: length bucketing (fixed padded lengths keep libtorch's fused LSTM fast).
//! - [`train`]: [`train()`](train::train), [`predict`], resume via [`checkpoint`].
//!
//! Parameter names follow PyTorch's `nn.LSTM` / `nn.Linear`:
//! `encoder.embedding.static.weight`, `encoder.embedding.non_static.weight`,
//! `encoder.lstm.weight_ih_l0`, `encoder.lstm.weight_hh_l0`, `encoder.lstm.bias_ih_l0`,
//! `encoder.lstm.bias_hh_l0` (and `*_reverse`), `fc.weight`, `fc.bias`, `out.weight`,
//! `out.bias`.

pub mod batch;
pub mod checkpoint;
mod classifier;
pub mod config;
pub mod embedding;
pub mod encoder;
pub mod model;
pub mod pair;
pub mod train;
pub mod vectors;
pub mod vocab;

pub use batch::{Batch, Encoded};
pub use config::{EmbeddingConfig, EmbeddingMode, StudentConfig};
pub use model::StudentModel;
pub use pair::{pair_feature_dim, pair_features, PAIR_FEATURE_WIDTH_FACTOR};
pub use train::{predict, train, EpochRecord, Objective, StudentExample, TrainConfig, TrainOutput};
pub use vectors::WordVectors;
pub use vocab::{Vocab, VocabConfig};
