//! A trained student's directory, read without libtorch: `student_config.json`, `vocab.json`
//! and `best.safetensors` as `bilstm_student::StudentModel::save` writes them, plus the stage's
//! `done.json` when the pipeline trained it (`runs/store/student-<key>/`).
//!
//! The configuration is read into a mirror of `bilstm_student::StudentConfig` that rejects
//! unknown keys: a field added to the student that this exporter does not know of stops the
//! export instead of being ignored (and `experiments/tests/onnx.rs` serialises the real config to
//! catch that at test time). Every tensor's name, dtype and shape is checked against the
//! configuration, so a corrupt or mismatched directory gives one line naming the file.

use crate::error::{OnnxError, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Weights file of a saved student.
pub const WEIGHTS_FILE: &str = "best.safetensors";
/// Vocabulary file of a saved student.
pub const VOCAB_FILE: &str = "vocab.json";
/// Configuration file of a saved student.
pub const CONFIG_FILE: &str = "student_config.json";
/// The pipeline's marker of a finished stage.
pub const DONE_FILE: &str = "done.json";
/// Files that only an unfinished (or finished) training run leaves: with them and no
/// [`DONE_FILE`], the weights are those of an epoch that may not be the last.
const TRAINING_FILES: [&str; 2] = ["last.safetensors", "train_state.json"];
/// Files of a teacher dir (to say so when one is given).
const TEACHER_FILES: [&str; 2] = ["tokenizer.json", "model.safetensors"];

/// `bilstm_student::EmbeddingMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingMode {
    /// Random vectors, trained.
    Rand,
    /// Pre-trained, frozen.
    Static,
    /// Pre-trained, fine-tuned.
    NonStatic,
    /// A frozen and a fine-tuned table, concatenated per word.
    Multichannel,
}

impl EmbeddingMode {
    /// The tables the mode has, in the order the student concatenates them.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            EmbeddingMode::Rand | EmbeddingMode::NonStatic => &[NON_STATIC],
            EmbeddingMode::Static => &[STATIC],
            EmbeddingMode::Multichannel => &[STATIC, NON_STATIC],
        }
    }

    /// The config's spelling.
    pub fn name(self) -> &'static str {
        match self {
            EmbeddingMode::Rand => "rand",
            EmbeddingMode::Static => "static",
            EmbeddingMode::NonStatic => "non_static",
            EmbeddingMode::Multichannel => "multichannel",
        }
    }
}

const STATIC: &str = "encoder.embedding.static.weight";
const NON_STATIC: &str = "encoder.embedding.non_static.weight";

/// Mirror of `bilstm_student::EmbeddingConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct EmbeddingFile {
    mode: EmbeddingMode,
    vectors: Option<PathBuf>,
    dim: usize,
    init_range: f64,
}

/// Mirror of `bilstm_student::VocabConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct VocabConfigFile {
    min_freq: usize,
    lowercase: bool,
}

/// Mirror of `bilstm_student::StudentConfig` as `student_config.json` holds it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ConfigFile {
    embedding: EmbeddingFile,
    vocab: VocabConfigFile,
    hidden_dim: usize,
    fc_dim: usize,
    dropout: f64,
    num_classes: usize,
    pair: bool,
}

/// `vocab.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabFile {
    lowercase: bool,
    words: Vec<String>,
}

/// A float32 tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
}

/// What the pipeline's `done.json` says of the student (absent for a directory written by
/// `StudentModel::save` outside the pipeline).
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// Dev accuracy of the kept epoch (fraction).
    pub dev_accuracy: f64,
    /// The kept epoch (1-based).
    pub best_epoch: u64,
    /// The git revision that trained it.
    pub git_rev: String,
}

/// A trained student, read from its directory.
#[derive(Debug, Clone)]
pub struct StudentDir {
    /// The directory.
    pub dir: PathBuf,
    /// Embedding mode (which tables there are).
    pub mode: EmbeddingMode,
    /// Width of one embedding table.
    pub embedding_dim: usize,
    /// LSTM hidden size per direction.
    pub hidden_dim: usize,
    /// Width of the ReLU layer.
    pub fc_dim: usize,
    /// Number of classes.
    pub num_classes: usize,
    /// Siamese sentence-pair model.
    pub pair: bool,
    /// Vocabulary words in id order.
    pub words: Vec<String>,
    /// Whether tokens are lower-cased.
    pub lowercase: bool,
    /// Every tensor of `best.safetensors`, by name.
    pub tensors: BTreeMap<String, Tensor>,
    /// From `done.json`, when the pipeline trained it.
    pub trained: Option<Trained>,
}

impl StudentDir {
    /// Reads and checks the student in `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(OnnxError::Invalid(format!(
                "{}: no such directory (give a student dir, e.g. runs/store/student-<hash>/)",
                dir.display()
            )));
        }
        let has = |f: &str| dir.join(f).is_file();
        if !has(CONFIG_FILE) && TEACHER_FILES.iter().any(|f| has(f)) {
            return Err(OnnxError::Invalid(format!(
                "{}: a teacher dir (it holds {}): only a student can be exported; the student \
                 dirs are runs/store/student-<hash>/",
                dir.display(),
                TEACHER_FILES.join(", ")
            )));
        }
        let missing: Vec<&str> = [CONFIG_FILE, VOCAB_FILE, WEIGHTS_FILE]
            .into_iter()
            .filter(|f| !has(f))
            .collect();
        if !missing.is_empty() {
            return Err(OnnxError::Invalid(format!(
                "{}: not a complete student dir: {} missing",
                dir.display(),
                missing.join(", ")
            )));
        }
        if !has(DONE_FILE) && TRAINING_FILES.iter().any(|f| has(f)) {
            return Err(OnnxError::Invalid(format!(
                "{}: training has not finished (no {DONE_FILE}; {} is an intermediate epoch's)",
                dir.display(),
                WEIGHTS_FILE
            )));
        }
        let cfg_path = dir.join(CONFIG_FILE);
        let cfg: ConfigFile = read_json(&cfg_path)?;
        let vocab_path = dir.join(VOCAB_FILE);
        let vocab: VocabFile = read_json(&vocab_path)?;
        let tensors = read_safetensors(&dir.join(WEIGHTS_FILE))?;
        let trained = if has(DONE_FILE) {
            Some(read_done(&dir.join(DONE_FILE))?)
        } else {
            None
        };
        let embedding_dim = cfg.embedding.dim;
        let student = StudentDir {
            dir: dir.to_path_buf(),
            mode: cfg.embedding.mode,
            embedding_dim,
            hidden_dim: cfg.hidden_dim,
            fc_dim: cfg.fc_dim,
            num_classes: cfg.num_classes,
            pair: cfg.pair,
            words: vocab.words,
            lowercase: vocab.lowercase,
            tensors,
            trained,
        };
        student.check_shapes()?;
        Ok(student)
    }

    /// The tensor names and shapes the configuration implies.
    pub fn expected_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (v, d, h) = (self.words.len(), self.embedding_dim, self.hidden_dim);
        let input = d * self.mode.tables().len();
        let mut out: Vec<(String, Vec<usize>)> = self
            .mode
            .tables()
            .iter()
            .map(|t| (t.to_string(), vec![v, d]))
            .collect();
        for suffix in ["", "_reverse"] {
            let p = |n: &str| format!("encoder.lstm.{n}_l0{suffix}");
            out.push((p("weight_ih"), vec![4 * h, input]));
            out.push((p("weight_hh"), vec![4 * h, h]));
            out.push((p("bias_ih"), vec![4 * h]));
            out.push((p("bias_hh"), vec![4 * h]));
        }
        let features = if self.pair { 8 * h } else { 2 * h };
        out.push(("fc.weight".into(), vec![self.fc_dim, features]));
        out.push(("fc.bias".into(), vec![self.fc_dim]));
        out.push(("out.weight".into(), vec![self.num_classes, self.fc_dim]));
        out.push(("out.bias".into(), vec![self.num_classes]));
        out
    }

    fn check_shapes(&self) -> Result<()> {
        let path = self.dir.join(WEIGHTS_FILE);
        if self.hidden_dim == 0 || self.fc_dim == 0 || self.num_classes == 0 {
            return Err(OnnxError::parse(
                self.dir.join(CONFIG_FILE),
                0,
                "hidden_dim, fc_dim and num_classes must be > 0",
            ));
        }
        let expected = self.expected_shapes();
        for (name, shape) in &expected {
            match self.tensors.get(name) {
                None => {
                    return Err(OnnxError::parse(
                        &path,
                        0,
                        format!(
                            "no tensor {name} (a {} student with these settings has it)",
                            self.mode.name()
                        ),
                    ))
                }
                Some(t) if &t.shape != shape => {
                    return Err(OnnxError::parse(
                        &path,
                        0,
                        format!(
                            "tensor {name} has shape {:?}, {CONFIG_FILE} and {VOCAB_FILE} imply {shape:?}",
                            t.shape
                        ),
                    ))
                }
                Some(t) => {
                    if let Some(i) = t.data.iter().position(|x| !x.is_finite()) {
                        return Err(OnnxError::parse(
                            &path,
                            0,
                            format!("tensor {name} holds a non-finite value at element {i}"),
                        ));
                    }
                }
            }
        }
        if let Some(extra) = self
            .tensors
            .keys()
            .find(|k| !expected.iter().any(|(n, _)| n == *k))
        {
            return Err(OnnxError::parse(
                &path,
                0,
                format!("unexpected tensor {extra} (not part of this student's configuration)"),
            ));
        }
        Ok(())
    }

    /// A tensor that [`StudentDir::load`] checked is there.
    pub fn tensor(&self, name: &str) -> &Tensor {
        &self.tensors[name]
    }

    /// Parameters outside the embedding tables (the paper's count).
    pub fn params_without_embeddings(&self) -> usize {
        self.tensors
            .iter()
            .filter(|(n, _)| !n.starts_with("encoder.embedding."))
            .map(|(_, t)| t.data.len())
            .sum()
    }

    /// Every parameter, embedding tables included.
    pub fn params(&self) -> usize {
        self.tensors.values().map(|t| t.data.len()).sum()
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| OnnxError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| OnnxError::parse(path, e.line(), e.to_string()))
}

fn read_safetensors(path: &Path) -> Result<BTreeMap<String, Tensor>> {
    let bytes = std::fs::read(path).map_err(|e| OnnxError::io(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| OnnxError::parse(path, 0, format!("not a safetensors file: {e}")))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(OnnxError::parse(
                path,
                0,
                format!("tensor {name} is {:?}; students are float32", view.dtype()),
            ));
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        out.insert(
            name,
            Tensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok(out)
}

fn read_done(path: &Path) -> Result<Trained> {
    let v: serde_json::Value = read_json(path)?;
    let bad =
        |what: &str| OnnxError::parse(path, 0, format!("no {what}: not a student's done.json"));
    Ok(Trained {
        dev_accuracy: v["summary"]["best_dev_accuracy"]
            .as_f64()
            .ok_or_else(|| bad("summary.best_dev_accuracy"))?,
        best_epoch: v["summary"]["best_epoch"]
            .as_u64()
            .ok_or_else(|| bad("summary.best_epoch"))?,
        git_rev: v["provenance"]["git_rev"]
            .as_str()
            .ok_or_else(|| bad("provenance.git_rev"))?
            .to_string(),
    })
}
