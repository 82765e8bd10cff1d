//! The exported directory (the "bundle"): everything a runtime needs to feed the model.
//!
//! | file | what |
//! | --- | --- |
//! | `model.onnx` | the graph and its weights ([`crate::graph`]) |
//! | `vocab.txt` | one token per line; the 0-based line number is its id |
//! | `student.json` | the [`Manifest`]: inputs, class names, the tokenisation rules, architecture, provenance, and the SHA-256 of the two files above |
//! | `README.md` | the same for a person: tokenisation, inputs, a Python onnxruntime snippet |
//!
//! `student.json` is written last: a bundle whose files do not match its hashes (an export killed
//! between two renames) is refused by [`Manifest::load`].

use crate::error::{OnnxError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The graph.
pub const MODEL_FILE: &str = "model.onnx";
/// The vocabulary, one token per line.
pub const VOCAB_FILE: &str = "vocab.txt";
/// The manifest.
pub const MANIFEST_FILE: &str = "student.json";
/// The human-readable description.
pub const README_FILE: &str = "README.md";
/// `Manifest::format`.
pub const FORMAT: &str = "bert-bilstm-distill student";
/// `Manifest::format_version`.
pub const FORMAT_VERSION: u32 = 1;

/// `student.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// SHA-256 (hex) of `model.onnx`.
    pub model_sha256: String,
    /// SHA-256 (hex) of `vocab.txt`.
    pub vocab_sha256: String,
    /// Sentence-pair model (inputs `ids_b`, `lengths_b` too).
    pub pair: bool,
    /// The graph's inputs, in order.
    pub inputs: Vec<String>,
    /// The graph's output (`[batch, num_classes]` float logits).
    pub output: String,
    /// Number of classes.
    pub num_classes: usize,
    /// Class names in class-index order, spelled as in GLUE submission files (`predict`'s).
    pub class_names: Vec<String>,
    /// How a sentence becomes ids.
    pub tokenizer: TokenizerSpec,
    /// The network's sizes.
    pub architecture: Architecture,
    /// Where the model comes from.
    pub provenance: Provenance,
}

/// The tokenisation rules (`crate::tokenize` states them in full).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerSpec {
    /// How sentences are split.
    pub split: String,
    /// Whether tokens are lower-cased (Unicode full case mapping).
    pub lowercase: bool,
    /// Which tokens keep their case.
    pub keep_case: String,
    /// Id of `[PAD]`.
    pub pad_id: i64,
    /// Id of `[UNK]` (unknown words, and the mask token).
    pub unk_id: i64,
    /// The augmentation's mask token (read as `[UNK]`).
    pub mask_token: String,
    /// What an empty sentence becomes.
    pub empty_sentence: String,
    /// Padding of a batch.
    pub padding: String,
}

impl TokenizerSpec {
    /// The rules of this project's student.
    pub fn student(lowercase: bool) -> Self {
        TokenizerSpec {
            split: "unicode_whitespace (Rust str::split_whitespace, Python str.split())".into(),
            lowercase,
            keep_case: "tokens that start with '[' and end with ']'".into(),
            pad_id: crate::tokenize::PAD_ID,
            unk_id: crate::tokenize::UNK_ID,
            mask_token: crate::tokenize::MASK.into(),
            empty_sentence: "one [PAD] token (id 0), length 1".into(),
            padding: "right-pad ids to the batch's longest sentence (any id; 0 by convention); \
                      lengths = true token counts"
                .into(),
        }
    }
}

/// The network's sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    /// `rand`, `static`, `non_static` or `multichannel`.
    pub embedding_mode: String,
    /// Width of one embedding table.
    pub embedding_dim: usize,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// LSTM hidden size per direction.
    pub hidden_dim: usize,
    /// Width of the ReLU layer.
    pub fc_dim: usize,
    /// All parameters.
    pub params: usize,
    /// Parameters outside the embedding tables (the paper's count).
    pub params_without_embeddings: usize,
    /// ONNX opset.
    pub opset: i64,
}

/// Where the model comes from. `None`: not known to the exporter (a directory saved outside the
/// pipeline has no `done.json`; variant, seed and teacher come from a run's `stages.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The student directory exported (as given).
    pub student_dir: String,
    /// The run whose `stages.json` names it.
    pub run_dir: Option<String>,
    /// The task of that run (`sst2`, `qqp`, `mnli`).
    pub task: Option<String>,
    /// The student variant (`bilstm_soft`, ...).
    pub variant: Option<String>,
    /// Its seed.
    pub seed: Option<u64>,
    /// What it was trained to predict (`gold`, `teacher_logits`, ...; `variants.csv`).
    pub targets: Option<String>,
    /// The teacher whose outputs it learnt from (`teacher-<key>`); `None` for gold-label students.
    pub teacher: Option<String>,
    /// Dev accuracy (fraction) of the kept epoch (`done.json`).
    pub dev_accuracy: Option<f64>,
    /// The kept epoch.
    pub best_epoch: Option<u64>,
    /// Git revision that trained it.
    pub trained_git_rev: Option<String>,
    /// Git revision of the exporter.
    pub exported_git_rev: String,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    /// Reads `dir/student.json` and checks that `model.onnx` and `vocab.txt` are the files it
    /// describes; returns it with the model's bytes.
    pub fn load(dir: &Path) -> Result<(Self, Vec<u8>)> {
        if !dir.is_dir() {
            return Err(OnnxError::Invalid(format!(
                "{}: no such directory (give a directory written by `export`)",
                dir.display()
            )));
        }
        let path = dir.join(MANIFEST_FILE);
        if !path.is_file() {
            let hint = if dir.join("student_config.json").is_file() {
                ": this is a trained student; export it first (`export --model DIR --out OUT`)"
            } else {
                ""
            };
            return Err(OnnxError::Invalid(format!(
                "{}: not an exported student: no {MANIFEST_FILE}{hint}",
                dir.display()
            )));
        }
        let bytes = std::fs::read(&path).map_err(|e| OnnxError::io(&path, e))?;
        let m: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| OnnxError::parse(&path, e.line(), e.to_string()))?;
        if m.format != FORMAT || m.format_version != FORMAT_VERSION {
            return Err(OnnxError::parse(
                &path,
                0,
                format!(
                    "format {:?} version {}; this runtime reads {FORMAT:?} version {FORMAT_VERSION}",
                    m.format, m.format_version
                ),
            ));
        }
        if m.class_names.len() != m.num_classes {
            return Err(OnnxError::parse(
                &path,
                0,
                "class_names and num_classes disagree",
            ));
        }
        let model_path = dir.join(MODEL_FILE);
        let model = std::fs::read(&model_path).map_err(|e| OnnxError::io(&model_path, e))?;
        for (file, bytes, want) in [
            (MODEL_FILE, Some(&model), &m.model_sha256),
            (VOCAB_FILE, None, &m.vocab_sha256),
        ] {
            let p = dir.join(file);
            let got = match bytes {
                Some(b) => sha256_hex(b),
                None => sha256_hex(&std::fs::read(&p).map_err(|e| OnnxError::io(&p, e))?),
            };
            if &got != want {
                return Err(OnnxError::Invalid(format!(
                    "{}: does not match {MANIFEST_FILE} (SHA-256 {got}, expected {want}): the \
                     bundle is mixed from two exports; export it again",
                    p.display()
                )));
            }
        }
        Ok((m, model))
    }
}
