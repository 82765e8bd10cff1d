//! Experiment configuration: one YAML file per experiment (`experiments/configs/*.yaml`),
//! deserialised into [`ExperimentConfig`] with unknown keys rejected. Every stage's settings live
//! here; the binaries only choose the file and apply the command-line overrides.

use anyhow::{bail, Context, Result};
use bert_teacher::FineTuneConfig;
use bilstm_student::{StudentConfig, TrainConfig};
use kd_core::augment::AugmentConfig;
use kd_core::data::Task;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The whole experiment: data, teacher, transfer set, students.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name used for the default output dir (`runs/<task>/<name>`) and in result rows.
    pub name: String,
    /// The GLUE task.
    pub task: Task,
    /// The one seed of the run; every stage derives its own from it (see [`Self::resolve_seeds`]).
    #[serde(default)]
    pub seed: u64,
    /// libtorch intra-op threads (default: all cores).
    #[serde(default)]
    pub threads: Option<usize>,
    /// Which examples of each split to use.
    #[serde(default)]
    pub data: DataConfig,
    /// Where the pre-trained pieces live.
    #[serde(default)]
    pub paths: PathsConfig,
    /// Teacher fine-tuning and labelling.
    pub teacher: TeacherStageConfig,
    /// Transfer-set augmentation (§3.2).
    pub augment: AugmentConfig,
    /// The two students: the hard-label baseline and the distilled one.
    pub student: StudentStageConfig,
}

/// Limits on the splits (`None` = the whole file). The first examples of each file are kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Use only the first N training examples.
    pub max_train: Option<usize>,
    /// Use only the first N examples of each dev split.
    pub max_dev: Option<usize>,
    /// Use only the first N examples of each test split.
    pub max_test: Option<usize>,
}

/// Paths of the inputs that are not GLUE files. Relative paths are taken from the current dir.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PathsConfig {
    /// A Hugging Face BERT checkpoint dir (safetensors + config.json + tokenizer.json).
    pub teacher_init: PathBuf,
    /// NLTK's averaged-perceptron tagger, JSON format.
    pub pos_model: PathBuf,
}

impl Default for PathsConfig {
    fn default() -> Self {
        Self {
            teacher_init: PathBuf::from(".cache/minilm"),
            pos_model: PathBuf::from("data/pos/averaged_perceptron_tagger_eng"),
        }
    }
}

/// Teacher settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherStageConfig {
    /// Fine-tuning on the task's training set.
    pub fine_tune: FineTuneConfig,
    /// Batch size when labelling the transfer set and evaluating.
    #[serde(default = "default_label_batch_size")]
    pub label_batch_size: usize,
    /// Examples per resumable labelling chunk.
    #[serde(default = "default_label_chunk_size")]
    pub label_chunk_size: usize,
}

fn default_label_batch_size() -> usize {
    128
}
fn default_label_chunk_size() -> usize {
    20_000
}

/// Student settings: one model configuration, two training runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentStageConfig {
    /// The BiLSTM (or Siamese BiLSTM) itself.
    pub model: StudentConfig,
    /// "BiLSTM": hard labels, training set only.
    pub hard: TrainConfig,
    /// "BiLSTM_SOFT": distillation on the labelled transfer set.
    pub soft: TrainConfig,
    /// Seed of both students (initialisation, shuffles, dropout); default: the experiment's seed.
    /// Varying it alone measures the students' seed variance while the teacher, the transfer set
    /// and the logits come from the cache.
    #[serde(default)]
    pub seed: Option<u64>,
}

impl ExperimentConfig {
    /// Reads and validates a YAML config.
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_yaml_str(&text).with_context(|| format!("{}", path.display()))
    }

    /// Parses and validates YAML text (serde_yaml's errors carry line and column).
    pub fn from_yaml_str(text: &str) -> Result<Self> {
        let cfg: Self = serde_yaml::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values that serde cannot.
    pub fn validate(&self) -> Result<()> {
        self.augment.validate()?;
        if self.name.is_empty() || self.name.contains(['/', '\\']) {
            bail!("name must be a non-empty file name, got {:?}", self.name);
        }
        if self.teacher.label_batch_size == 0 || self.teacher.label_chunk_size == 0 {
            bail!("teacher.label_batch_size and teacher.label_chunk_size must be > 0");
        }
        if self.student.model.pair != self.task.is_pair() {
            bail!(
                "student.model.pair is {} but task {:?} {} sentence pairs",
                self.student.model.pair,
                self.task,
                if self.task.is_pair() { "has" } else { "has no" }
            );
        }
        if self.student.model.num_classes != self.task.num_classes() {
            bail!(
                "student.model.num_classes is {} but task {:?} has {} classes",
                self.student.model.num_classes,
                self.task,
                self.task.num_classes()
            );
        }
        Ok(())
    }

    /// Makes every stage's seed follow the experiment's seed, so that `--seed N` changes them all
    /// (the students follow `student.seed` instead where it is set).
    pub fn resolve_seeds(&mut self) {
        let s = self.seed;
        self.teacher.fine_tune.seed = s;
        self.augment.seed = s;
        let student = self.student.seed.unwrap_or(s);
        self.student.hard.seed = student;
        self.student.soft.seed = student;
    }

    /// The `--smoke` preset: every stage on a few dozen examples, in well under a minute on two cores.
    pub fn apply_smoke(&mut self) {
        self.name = format!("{}-smoke", self.name);
        self.data = DataConfig {
            max_train: Some(48),
            max_dev: Some(24),
            max_test: Some(16),
        };
        let ft = &mut self.teacher.fine_tune;
        ft.epochs = 1;
        ft.batch_size = 8;
        ft.eval_batch_size = 16;
        ft.max_len = 64;
        ft.max_train_examples = None;
        self.teacher.label_batch_size = 32;
        self.teacher.label_chunk_size = 64;
        self.augment.n_iter = 2;
        for t in [&mut self.student.hard, &mut self.student.soft] {
            t.epochs = 2;
            t.batch_size = 16;
            t.patience = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_seed_moves_only_the_students() {
        let text = include_str!("../configs/sst2.yaml");
        let mut a = ExperimentConfig::from_yaml_str(text).unwrap();
        a.seed = 3;
        a.resolve_seeds();
        let mut b = a.clone();
        b.student.seed = Some(7);
        b.resolve_seeds();
        assert_eq!(
            (
                a.teacher.fine_tune.seed,
                a.augment.seed,
                a.student.soft.seed
            ),
            (3, 3, 3)
        );
        assert_eq!((b.teacher.fine_tune.seed, b.augment.seed), (3, 3));
        assert_eq!((b.student.hard.seed, b.student.soft.seed), (7, 7));
    }
}
