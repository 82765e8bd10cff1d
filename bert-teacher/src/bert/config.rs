//! `BertConfig`: the Hugging Face `config.json` of a BERT checkpoint.
//!
//! Follows `transformers.BertConfig` (transformers' `configuration_bert.py`). Unlike the
//! workspace's own configs this one does NOT deny unknown keys: HF configs carry dozens of keys
//! this port has no use for (`_name_or_path`, `transformers_version`, `use_cache`, ...). They are
//! kept in [`BertConfig::extra`] and written back unchanged, so a saved fine-tuned config is still
//! a valid HF config.

use crate::error::{Result, TeacherError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Architecture hyper-parameters of a BERT encoder, as in HF's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BertConfig {
    /// Word-piece vocabulary size.
    pub vocab_size: usize,
    /// Width of every hidden state (`hidden_dim`).
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; must divide `hidden_size`.
    pub num_attention_heads: usize,
    /// Width of the feed-forward block.
    pub intermediate_size: usize,
    /// Feed-forward activation: `gelu` (erf), `gelu_new` / `gelu_pytorch_tanh` (tanh), `relu`,
    /// `silu` / `swish`.
    pub hidden_act: String,
    /// Dropout on embeddings and block outputs.
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities.
    pub attention_probs_dropout_prob: f64,
    /// Longest sequence the position embeddings cover.
    pub max_position_embeddings: usize,
    /// Number of token types (segments).
    pub type_vocab_size: usize,
    /// Standard deviation of the normal initialiser for fresh weights.
    pub initializer_range: f64,
    /// Epsilon of every LayerNorm.
    pub layer_norm_eps: f64,
    /// Id of the padding token.
    pub pad_token_id: i64,
    /// Only `absolute` is supported.
    pub position_embedding_type: String,
    /// Dropout before the classifier; `None` means `hidden_dropout_prob` (as in HF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classifier_dropout: Option<f64>,
    /// Class names by index as strings (`{"0": "LABEL_0", ...}`); its length is the number of
    /// labels of a sequence-classification checkpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id2label: Option<BTreeMap<String, String>>,
    /// Every other key of the file, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for BertConfig {
    /// bert-base-uncased.
    fn default() -> Self {
        BertConfig {
            vocab_size: 30522,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            hidden_act: "gelu".into(),
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            initializer_range: 0.02,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            position_embedding_type: "absolute".into(),
            classifier_dropout: None,
            id2label: None,
            extra: serde_json::Map::new(),
        }
    }
}

impl BertConfig {
    /// Reads and validates `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TeacherError::io(path, e))?;
        let cfg: BertConfig = serde_json::from_str(&text)
            .map_err(|e| TeacherError::config(path, format!("line {}: {e}", e.line())))?;
        cfg.validate()
            .map_err(|msg| TeacherError::config(path, msg))?;
        Ok(cfg)
    }

    /// Writes the config as pretty JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| TeacherError::config(path, e.to_string()))?;
        kd_core::io::atomic_write_bytes(path, &json)?;
        Ok(())
    }

    /// Checks the values this port relies on; the message names the offending key.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.hidden_size == 0 || self.num_attention_heads == 0 {
            return Err("hidden_size and num_attention_heads must be positive".into());
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.position_embedding_type != "absolute" {
            return Err(format!(
                "position_embedding_type {:?} is not supported (only \"absolute\")",
                self.position_embedding_type
            ));
        }
        if crate::bert::layer::Activation::parse(&self.hidden_act).is_none() {
            return Err(format!("hidden_act {:?} is not supported", self.hidden_act));
        }
        for (key, p) in [
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
            ("classifier_dropout", self.classifier_dropout.unwrap_or(0.0)),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(format!("{key} = {p} is outside [0, 1)"));
            }
        }
        Ok(())
    }

    /// Number of labels recorded in `id2label` (or in a `num_labels` key), if any.
    pub fn num_labels(&self) -> Option<usize> {
        self.id2label.as_ref().map(|m| m.len()).or_else(|| {
            self.extra
                .get("num_labels")
                .and_then(|v| v.as_u64())
                .map(|n| n as usize)
        })
    }

    /// Records `num_labels` the way HF does (`id2label` / `label2id` with `LABEL_i` names) and
    /// marks the architecture as `BertForSequenceClassification`.
    pub fn set_num_labels(&mut self, num_labels: usize) {
        let id2label: BTreeMap<String, String> = (0..num_labels)
            .map(|i| (i.to_string(), format!("LABEL_{i}")))
            .collect();
        let label2id: serde_json::Map<String, serde_json::Value> = (0..num_labels)
            .map(|i| (format!("LABEL_{i}"), serde_json::Value::from(i)))
            .collect();
        self.id2label = Some(id2label);
        self.extra.remove("num_labels");
        self.extra
            .insert("label2id".into(), serde_json::Value::Object(label2id));
        self.extra.insert(
            "architectures".into(),
            serde_json::json!(["BertForSequenceClassification"]),
        );
    }

    /// Dropout applied before the classifier.
    pub fn classifier_dropout_prob(&self) -> f64 {
        self.classifier_dropout.unwrap_or(self.hidden_dropout_prob)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}
