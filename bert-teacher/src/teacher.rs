//! [`Teacher`]: a BERT sequence classifier with its tokenizer, the teacher of Tang et al. 2019
//! §3 whose logits `z^B` label the transfer set.
//!
//! A teacher directory holds `config.json`, `model.safetensors` and `tokenizer.json` in Hugging
//! Face's layout; [`Teacher::from_pretrained`] reads a pre-trained encoder (adding a fresh
//! pooler / classifier where the checkpoint has none, see [`crate::bert::pooler`]),
//! [`Teacher::load`] a fine-tuned one written by [`crate::fine_tune`].

use crate::bert::pooling::POOLING_KEY;
use crate::bert::{BertConfig, BertForSequenceClassification, Pooling};
use crate::checkpoint::{load_safetensors, save_safetensors_as, LoadReport};
use crate::error::{Result, TeacherError};
use crate::tokenize::{collate, Encoded, TeacherTokenizer};
use kd_core::batching::sorted_batches;
use kd_core::data::Example;
use kd_core::progress::example_bar;
use kd_core::{Classifier, KdError};
use std::path::{Path, PathBuf};
use tch::{nn::VarStore, Device, Kind};

/// Weights file name inside a teacher directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Config file name inside a teacher directory.
pub const CONFIG_FILE: &str = "config.json";
/// Tokenizer file name inside a teacher directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// `config.json` key recording the truncation length the teacher was fine-tuned with.
pub const MAX_LEN_KEY: &str = "kd_max_len";
/// Truncation length when a config records none (the length of the paper's and HF's recipes).
pub const DEFAULT_MAX_LEN: usize = 128;

/// The weights after epoch `epoch` (1-based) of a fine-tune whose teacher is in `out_dir`: every
/// committed epoch's are kept ([`crate::fine_tune`]), in the layout of `model.safetensors`, so that
/// the directory's `config.json` and `tokenizer.json` with these weights are the teacher of that
/// epoch.
pub fn epoch_weights(out_dir: &Path, epoch: usize) -> PathBuf {
    out_dir
        .join("resume")
        .join(format!("epoch-{epoch}.safetensors"))
}

/// Checkpoint keys that pre-trained BERT files carry and a classifier never uses.
fn is_benign_unused(key: &str) -> bool {
    key.ends_with("position_ids") || key.starts_with("cls.")
}

/// Whether the variable `name` is one of BERT's embedding tables
/// (`bert.embeddings.{word,position,token_type}_embeddings.weight`).
fn is_embedding_table(name: &str) -> bool {
    matches!(
        name,
        "bert.embeddings.word_embeddings.weight"
            | "bert.embeddings.position_embeddings.weight"
            | "bert.embeddings.token_type_embeddings.weight"
    )
}

/// Model + tokenizer + config + device. A [`Classifier`]: callers that hold a `Teacher` get logits
/// through [`Classifier::predict_logits`] (no progress bar) as from any other model.
pub struct Teacher {
    pub(crate) vs: VarStore,
    pub(crate) model: BertForSequenceClassification,
    pub(crate) tokenizer: TeacherTokenizer,
    pub(crate) config: BertConfig,
    device: Device,
    max_len: usize,
    load_report: LoadReport,
}

impl std::fmt::Debug for Teacher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Teacher")
            .field("num_labels", &self.num_labels())
            .field("hidden_size", &self.config.hidden_size)
            .field("num_hidden_layers", &self.config.num_hidden_layers)
            .field("device", &self.device)
            .field("max_len", &self.max_len)
            .finish()
    }
}

impl Teacher {
    fn build(
        dir: &Path,
        weights: &Path,
        num_labels: Option<usize>,
        device: Device,
    ) -> Result<Self> {
        let mut config = BertConfig::from_file(&dir.join(CONFIG_FILE))?;
        let tokenizer = TeacherTokenizer::from_file(&dir.join(TOKENIZER_FILE))?;
        let fine_tuned = num_labels.is_none();
        let num_labels = match num_labels.or_else(|| config.num_labels()) {
            Some(n) if n >= 1 => n,
            Some(n) => {
                return Err(TeacherError::InvalidArgument(format!(
                    "num_labels must be >= 1, got {n}"
                )))
            }
            None => {
                return Err(TeacherError::config(
                    dir.join(CONFIG_FILE),
                    "no id2label: not a fine-tuned classifier (use Teacher::from_pretrained)",
                ))
            }
        };
        let mut vs = VarStore::new(device);
        let model = BertForSequenceClassification::new(vs.root(), &config, num_labels);
        let load_report = load_safetensors(&mut vs, weights, |name| {
            !fine_tuned && (name.starts_with("bert.pooler.") || name.starts_with("classifier."))
        })?;
        let odd: Vec<&String> = load_report
            .unused
            .iter()
            .filter(|k| !is_benign_unused(k))
            .collect();
        if !odd.is_empty() {
            eprintln!(
                "warning: {} tensors of {} unused by BertForSequenceClassification: {:?}{}",
                odd.len(),
                weights.display(),
                &odd[..odd.len().min(5)],
                if odd.len() > 5 { " ..." } else { "" }
            );
        }
        let max_len = config
            .extra
            .get(MAX_LEN_KEY)
            .and_then(|v| v.as_u64())
            .map(|n| n as usize)
            .unwrap_or(DEFAULT_MAX_LEN)
            .min(config.max_position_embeddings);
        let pooling = match config.extra.get(POOLING_KEY) {
            None => Pooling::Cls,
            Some(v) => v.as_str().and_then(Pooling::parse).ok_or_else(|| {
                TeacherError::config(
                    dir.join(CONFIG_FILE),
                    format!("{POOLING_KEY} must be \"cls\" or \"mean\", got {v}"),
                )
            })?,
        };
        let mut model = model;
        model.set_pooling(pooling);
        config.set_num_labels(num_labels);
        Ok(Teacher {
            vs,
            model,
            tokenizer,
            config,
            device,
            max_len,
            load_report,
        })
    }

    /// Loads a pre-trained Hugging Face BERT directory (`config.json`, `model.safetensors`,
    /// `tokenizer.json`) as a `num_labels`-way classifier. Pooler and classifier weights absent
    /// from the checkpoint are freshly initialised from libtorch's RNG (seed it with
    /// `tch::manual_seed` for reproducibility); every other tensor must be present.
    pub fn from_pretrained(dir: &Path, num_labels: usize, device: Device) -> Result<Self> {
        Self::build(dir, &dir.join(WEIGHTS_FILE), Some(num_labels), device)
    }

    /// Loads a fine-tuned teacher directory written by [`crate::fine_tune`] (or any HF
    /// `BertForSequenceClassification` checkpoint with `id2label`); every tensor must be present.
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        Self::build(dir, &dir.join(WEIGHTS_FILE), None, device)
    }

    /// The teacher of a fine-tune's directory `dir` as it was after epoch `epoch` (1-based): the
    /// directory's `config.json` and `tokenizer.json` with that epoch's weights, which
    /// [`crate::fine_tune`] keeps ([`epoch_weights`]).
    pub fn load_at_epoch(dir: &Path, epoch: usize, device: Device) -> Result<Self> {
        let weights = epoch_weights(dir, epoch);
        if !weights.is_file() {
            return Err(TeacherError::WorkDir {
                path: weights,
                msg: format!(
                    "no weights of epoch {epoch} in {} (fine-tunes keep every finished epoch's)",
                    dir.display()
                ),
            });
        }
        Self::build(dir, &weights, None, device)
    }

    /// Writes `config.json` (recording `num_labels` and the truncation length),
    /// `model.safetensors` and `tokenizer.json` to `dir`, each atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.save_as(dir, Kind::Float)
    }

    /// [`Teacher::save`] with the weights stored as `kind`: `Kind::Half` or `Kind::BFloat16` halve
    /// the file (all-MiniLM-L6-v2: 90 → 45 MB), as many Hugging Face checkpoints ship; any
    /// float checkpoint loads back as float32.
    pub fn save_as(&self, dir: &Path, kind: Kind) -> Result<()> {
        let mut config = self.config.clone();
        config
            .extra
            .insert(MAX_LEN_KEY.into(), serde_json::Value::from(self.max_len));
        // Only a non-default pooling is written: [CLS] teachers' files stay as they were.
        if self.pooling().is_cls() {
            config.extra.remove(POOLING_KEY);
        } else {
            config.extra.insert(
                POOLING_KEY.into(),
                serde_json::Value::from(self.pooling().as_str()),
            );
        }
        save_safetensors_as(&self.vs, &dir.join(WEIGHTS_FILE), kind)?;
        let src = self.tokenizer.path();
        let tokenizer = std::fs::read(src).map_err(|e| TeacherError::io(src, e))?;
        kd_core::io::atomic_write_bytes(&dir.join(TOKENIZER_FILE), &tokenizer)?;
        // Config last: its presence marks a complete directory.
        config.save(&dir.join(CONFIG_FILE))
    }

    /// Number of classes.
    pub fn num_labels(&self) -> usize {
        self.model.num_labels()
    }

    /// Number of scalar parameters (encoder, pooler and classifier). With `without_embeddings`,
    /// the three embedding tables (word, position and token type) are left out, the count the
    /// students' is compared with; the embeddings' LayerNorm stays counted.
    pub fn param_count(&self, without_embeddings: bool) -> usize {
        self.vs
            .variables()
            .iter()
            .filter(|(name, _)| !(without_embeddings && is_embedding_table(name)))
            .map(|(_, t)| t.numel())
            .sum()
    }

    /// The architecture config (with `id2label` for this classifier).
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Device the weights live on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Truncation length (tokens, special tokens included).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Sets the truncation length; it must leave room for text and fit the position table.
    pub fn set_max_len(&mut self, max_len: usize) -> Result<()> {
        if max_len < 5 || max_len > self.config.max_position_embeddings {
            return Err(TeacherError::InvalidArgument(format!(
                "max_len {max_len} must lie in [5, max_position_embeddings = {}]",
                self.config.max_position_embeddings
            )));
        }
        self.max_len = max_len;
        Ok(())
    }

    /// The sentence representation the classifier reads (`kd_pooling` in `config.json`).
    pub fn pooling(&self) -> Pooling {
        self.model.pooling()
    }

    /// Sets the sentence representation the classifier reads; [`Teacher::save`] records it.
    pub fn set_pooling(&mut self, pooling: Pooling) {
        self.model.set_pooling(pooling);
    }

    /// What loading did: freshly initialised and unused tensors.
    pub fn load_report(&self) -> &LoadReport {
        &self.load_report
    }

    /// The classifier (for callers that batch their own inputs).
    pub fn model(&self) -> &BertForSequenceClassification {
        &self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TeacherTokenizer {
        &self.tokenizer
    }

    /// Tokenises `examples` with this teacher's truncation length.
    pub fn encode(&self, examples: &[Example]) -> Result<Vec<Encoded>> {
        self.tokenizer.encode_all(examples, self.max_len)
    }

    /// Logits of every example, row-major `[n, num_labels]` in INPUT order, computed under
    /// `no_grad` in eval mode over length-sorted batches of `batch_size`.
    pub fn predict_logits(
        &self,
        examples: &[Example],
        batch_size: usize,
        progress: bool,
    ) -> Result<Vec<f32>> {
        let encoded = self.encode(examples)?;
        self.predict_encoded(&encoded, batch_size, progress)
    }

    /// [`Teacher::predict_logits`] on already tokenised inputs.
    pub fn predict_encoded(
        &self,
        encoded: &[Encoded],
        batch_size: usize,
        progress: bool,
    ) -> Result<Vec<f32>> {
        if batch_size == 0 {
            return Err(TeacherError::InvalidArgument(
                "batch_size must be >= 1".into(),
            ));
        }
        let num_labels = self.num_labels();
        let mut out = vec![0f32; encoded.len() * num_labels];
        let lengths: Vec<usize> = encoded.iter().map(|e| e.ids.len()).collect();
        let bar = example_bar(encoded.len() as u64, "predict", progress);
        tch::no_grad(|| -> Result<()> {
            for batch in sorted_batches(&lengths, batch_size) {
                kd_core::stop::check()?;
                let refs: Vec<&Encoded> = batch.iter().map(|&i| &encoded[i]).collect();
                let input = collate(&refs, self.tokenizer.pad_id()).to_device(self.device);
                let logits = self.model.forward_t(&input, false)?;
                let values = Vec::<f32>::try_from(
                    logits
                        .to_device(Device::Cpu)
                        .to_kind(Kind::Float)
                        .flatten(0, -1),
                )?;
                for (row, &i) in batch.iter().enumerate() {
                    out[i * num_labels..(i + 1) * num_labels]
                        .copy_from_slice(&values[row * num_labels..(row + 1) * num_labels]);
                }
                bar.inc(batch.len() as u64);
            }
            Ok(())
        })?;
        bar.finish_and_clear();
        Ok(out)
    }
}

impl Classifier for Teacher {
    fn num_classes(&self) -> usize {
        self.num_labels()
    }

    /// `false`: BERT reads a single sentence or a pair (`[CLS] a [SEP] b [SEP]`) alike, so
    /// `text_b` is optional, never required.
    fn is_pair(&self) -> bool {
        false
    }

    fn predict_logits(&self, examples: &[Example], batch_size: usize) -> kd_core::Result<Vec<f32>> {
        Teacher::predict_logits(self, examples, batch_size, false).map_err(|e| match e {
            TeacherError::Kd(e) => e,
            TeacherError::Torch(e) => KdError::Torch(e),
            other => KdError::InvalidArgument(other.to_string()),
        })
    }
}
