//! `StudentModel`: the paper's BiLSTM student (§3, Fig. 1) and its Siamese sentence-pair variant
//! (Fig. 2), bundled with its vocabulary and configuration so that a directory
//! (`best.safetensors`, `vocab.json`, `student_config.json`) restores it whole.
//!
//! - single sentence: `h = encoder(x)` → `fc` (Linear + ReLU, `fc_dim`) → dropout → `out`;
//! - pair: `h1 = encoder(x1)`, `h2 = encoder(x2)` (shared weights) →
//!   [`pair_features`] `[h1, h2, h1 * h2, |h1 - h2|]` → `fc` → dropout → `out`.
//!
//! Parameter names: `encoder.embedding.{static,non_static}.weight`,
//! `encoder.lstm.{weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0}[_reverse]`,
//! `fc.weight`, `fc.bias`, `out.weight`, `out.bias`.

use crate::batch::{Batch, Encoded};
use crate::config::{EmbeddingMode, StudentConfig};
use crate::embedding::Embeddings;
use crate::encoder::BiLstmEncoder;
use crate::pair::{pair_feature_dim, pair_features};
use crate::vectors::WordVectors;
use crate::vocab::Vocab;
use kd_core::{KdError, Result};
use std::path::Path;
use tch::{nn, nn::Module, Device, Kind, Tensor};

/// Weights file of a saved student (the best checkpoint of a training run).
pub const WEIGHTS_FILE: &str = "best.safetensors";
/// Vocabulary file of a saved student.
pub const VOCAB_FILE: &str = "vocab.json";
/// Configuration file of a saved student.
pub const CONFIG_FILE: &str = "student_config.json";

/// The student network together with the vocabulary and configuration it was built with. Its
/// weights live in the `nn::VarStore` it was created in.
#[derive(Debug)]
pub struct StudentModel {
    vocab: Vocab,
    config: StudentConfig,
    encoder: BiLstmEncoder,
    fc: nn::Linear,
    out: nn::Linear,
}

impl StudentModel {
    /// Builds a student under `p`, reading pre-trained vectors from `cfg.embedding.vectors`
    /// (all modes but `rand`). The stored config records the vectors' dimension.
    pub fn new(p: nn::Path, cfg: &StudentConfig, vocab: Vocab) -> Result<Self> {
        let vectors = match (cfg.embedding.mode, &cfg.embedding.vectors) {
            (EmbeddingMode::Rand, _) => None,
            (_, Some(path)) => Some(WordVectors::load(path, &vocab)?),
            (mode, None) => {
                return Err(KdError::InvalidArgument(format!(
                    "embedding mode {mode:?} needs `embedding.vectors`"
                )))
            }
        };
        Self::with_vectors(p, cfg, vocab, vectors.as_ref())
    }

    /// Builds a student with vectors already in memory (`None`: random tables of
    /// `cfg.embedding.dim`, as when a checkpoint is about to be loaded).
    pub fn with_vectors(
        p: nn::Path,
        cfg: &StudentConfig,
        vocab: Vocab,
        vectors: Option<&WordVectors>,
    ) -> Result<Self> {
        if cfg.num_classes < 1 || cfg.hidden_dim < 1 || cfg.fc_dim < 1 {
            return Err(KdError::InvalidArgument(
                "num_classes, hidden_dim and fc_dim must be > 0".into(),
            ));
        }
        if !(0.0..1.0).contains(&cfg.dropout) {
            return Err(KdError::InvalidArgument(format!(
                "dropout {} not in [0, 1)",
                cfg.dropout
            )));
        }
        let mut config = cfg.clone();
        let vectors = vectors.filter(|_| cfg.embedding.mode != EmbeddingMode::Rand);
        if let Some(v) = vectors {
            config.embedding.dim = v.dim;
        }
        let enc = &p / "encoder";
        let embedding = Embeddings::new(
            &enc / "embedding",
            &config.embedding,
            &vocab,
            config.embedding.dim,
            vectors,
        )?;
        let encoder = BiLstmEncoder::new(enc, embedding, config.hidden_dim);
        let features = if config.pair {
            pair_feature_dim(encoder.output_dim())
        } else {
            encoder.output_dim()
        };
        let fc = nn::linear(
            &p / "fc",
            features as i64,
            config.fc_dim as i64,
            Default::default(),
        );
        let out = nn::linear(
            &p / "out",
            config.fc_dim as i64,
            config.num_classes as i64,
            Default::default(),
        );
        Ok(StudentModel {
            vocab,
            config,
            encoder,
            fc,
            out,
        })
    }

    /// Restores a student saved by [`StudentModel::save`] (or a training run's `out_dir`), on
    /// the CPU.
    pub fn load(dir: &Path) -> Result<(Self, nn::VarStore)> {
        Self::load_on(dir, Device::Cpu)
    }

    /// [`StudentModel::load`] onto `device` (a checkpoint saved on any device loads on any).
    pub fn load_on(dir: &Path, device: Device) -> Result<(Self, nn::VarStore)> {
        let cfg_path = dir.join(CONFIG_FILE);
        let bytes = std::fs::read(&cfg_path).map_err(|e| KdError::io(&cfg_path, e))?;
        let config: StudentConfig = serde_json::from_slice(&bytes)
            .map_err(|e| KdError::parse(&cfg_path, e.line(), e.to_string()))?;
        let vocab = Vocab::load(&dir.join(VOCAB_FILE))?;
        let mut vs = nn::VarStore::new(device);
        let model = Self::with_vectors(vs.root(), &config, vocab, None)?;
        let weights = dir.join(WEIGHTS_FILE);
        vs.load(&weights)
            .map_err(|e| KdError::parse(&weights, 0, e.to_string()))?;
        Ok((model, vs))
    }

    /// Writes `best.safetensors`, `vocab.json` and `student_config.json` into `dir`, atomically.
    pub fn save(&self, vs: &nn::VarStore, dir: &Path) -> Result<()> {
        self.save_meta(dir)?;
        crate::checkpoint::save_tensors(&dir.join(WEIGHTS_FILE), &named_variables(vs))
    }

    /// Writes `vocab.json` and `student_config.json` into `dir`.
    pub fn save_meta(&self, dir: &Path) -> Result<()> {
        self.vocab.save(&dir.join(VOCAB_FILE))?;
        let json = serde_json::to_vec_pretty(&self.config)
            .map_err(|e| KdError::InvalidArgument(format!("serialising config: {e}")))?;
        kd_core::io::atomic_write_bytes(&dir.join(CONFIG_FILE), &json)
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The resolved configuration (`embedding.dim` is the vectors' dimension).
    pub fn config(&self) -> &StudentConfig {
        &self.config
    }

    /// Parameter count the paper's way (embedding tables excluded).
    pub fn param_count_without_embeddings(&self) -> usize {
        self.config
            .param_count_without_embeddings(self.config.embedding.dim)
    }

    /// Parameter count including every embedding table.
    pub fn param_count_with_embeddings(&self) -> usize {
        self.config
            .param_count_with_embeddings(self.config.embedding.dim, self.vocab.len())
    }

    /// Tokenises one example (`text_b` must be present exactly when the model is a pair model).
    pub fn encode(&self, text_a: &str, text_b: Option<&str>) -> Result<Encoded> {
        if text_b.is_some() != self.config.pair {
            return Err(KdError::InvalidArgument(format!(
                "the {} model got {} sentence(s)",
                if self.config.pair {
                    "pair"
                } else {
                    "single-sentence"
                },
                if text_b.is_some() { 2 } else { 1 }
            )));
        }
        Ok(Encoded::new(
            self.vocab.encode(text_a),
            text_b.map(|t| self.vocab.encode(t)),
        ))
    }

    /// Logits `[batch, num_classes]`; `train` turns dropout on.
    pub fn forward_t(&self, batch: &Batch, train: bool) -> Result<Tensor> {
        let h1 = self.encode_side(&batch.ids_a, &batch.lengths_a, "a")?;
        let features = match (&batch.ids_b, &batch.lengths_b, self.config.pair) {
            (None, None, false) => h1,
            (Some(ids), Some(lens), true) => {
                let h2 = self.encode_side(ids, lens, "b")?;
                if h2.size()[0] != h1.size()[0] {
                    return Err(KdError::Shape(format!(
                        "sentence a has batch {} but sentence b has batch {}",
                        h1.size()[0],
                        h2.size()[0]
                    )));
                }
                pair_features(&h1, &h2)?
            }
            _ => {
                return Err(KdError::InvalidArgument(format!(
                    "batch and model disagree on sentence pairs (model pair = {})",
                    self.config.pair
                )))
            }
        };
        let hidden = self
            .fc
            .forward(&features)
            .relu()
            .dropout(self.config.dropout, train);
        Ok(self.out.forward(&hidden))
    }

    fn encode_side(&self, ids: &Tensor, lengths: &Tensor, side: &str) -> Result<Tensor> {
        let (size, lsize) = (ids.size(), lengths.size());
        if size.len() != 2 || lsize.len() != 1 || lsize[0] != size[0] {
            return Err(KdError::Shape(format!(
                "sentence {side}: ids must be [batch, seq_len] and lengths [batch], got {size:?} and {lsize:?}"
            )));
        }
        if ids.kind() != Kind::Int64 || lengths.kind() != Kind::Int64 {
            return Err(KdError::InvalidArgument(format!(
                "sentence {side}: ids and lengths must be int64"
            )));
        }
        if size[0] == 0 {
            return Err(KdError::Shape(format!("sentence {side}: empty batch")));
        }
        let (min, max) = (
            lengths.min().int64_value(&[]),
            lengths.max().int64_value(&[]),
        );
        if min < 1 || max > size[1] {
            return Err(KdError::Shape(format!(
                "sentence {side}: lengths must lie in 1..={} (seq_len), got {min}..={max} for batch {}",
                size[1], size[0]
            )));
        }
        let vocab = self.vocab.len() as i64;
        let (lo, hi) = (ids.min().int64_value(&[]), ids.max().int64_value(&[]));
        if lo < 0 || hi >= vocab {
            return Err(KdError::Shape(format!(
                "sentence {side}: ids must lie in 0..{vocab} (vocab_size), got {lo}..={hi}"
            )));
        }
        // The checks above read the batch where it was built (the CPU); the LSTM runs where the
        // variables are.
        let device = self.device();
        Ok(self
            .encoder
            .forward(&ids.to_device(device), &lengths.to_device(device)))
    }

    /// The device the model's variables are on (that of the `nn::Path` it was built under).
    pub fn device(&self) -> Device {
        self.out.ws.device()
    }
}

/// The variables of `vs` by name, sorted for a stable file layout.
pub(crate) fn named_variables(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}
