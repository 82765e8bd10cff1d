//! Experiment configuration: one YAML file per experiment (`experiments/configs/*.yaml`), layered
//! with `extends:` ([`layered`]), deserialised into [`ExperimentConfig`] with unknown keys
//! rejected, and checked as a whole before any stage runs ([`ExperimentConfig::resolve`]): every
//! problem is reported, one line each, naming its key.

pub mod layered;
pub mod students;
pub mod teachers;

use anyhow::{bail, Context, Result};
use bert_teacher::FineTuneConfig;
use indexmap::IndexMap;
use kd_core::augment::AugmentConfig;
use kd_core::data::Task;
use serde::{Deserialize, Serialize};
use serde_yaml::Value;
use std::path::{Path, PathBuf};
pub use students::{DataSource, StudentRun, StudentsConfig, TargetKind, VariantConfig};
pub use teachers::{TeacherSource, TeacherSpec, TeacherVariantConfig};

/// The whole experiment: data, teacher, transfer set, students.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name used for the default output dir (`runs/<task>/<name>`) and in result rows.
    pub name: String,
    /// The GLUE task.
    pub task: Task,
    /// The one seed of the run: the teacher's and the augmentation's, and the students' unless
    /// `students.seeds` says otherwise.
    #[serde(default)]
    pub seed: u64,
    /// libtorch intra-op threads (default: all cores). Does not change results' keys.
    #[serde(default)]
    pub threads: Option<usize>,
    /// Which examples of each split to use.
    #[serde(default)]
    pub data: DataConfig,
    /// Where the pre-trained pieces live.
    #[serde(default)]
    pub paths: PathsConfig,
    /// Teacher fine-tuning and labelling: the teacher named `teacher`, and the settings every
    /// teacher variant starts from.
    pub teacher: TeacherStageConfig,
    /// Named teacher variants (see [`teachers`]): other fine-tunes, a fine-tune's epoch
    /// checkpoints, ensembles, directories made elsewhere.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub teachers: IndexMap<String, TeacherVariantConfig>,
    /// Transfer-set augmentation (§3.2); a student variant may override it.
    pub augment: AugmentConfig,
    /// The students: shared model and training settings and the named variants.
    pub students: StudentsConfig,
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
    /// Fine-tuning on the task's training set (its `seed` is the experiment's).
    pub fine_tune: FineTuneConfig,
    /// Batch size when labelling the transfer set and evaluating.
    #[serde(default = "default_label_batch_size")]
    pub label_batch_size: usize,
    /// Examples per resumable labelling chunk.
    #[serde(default = "default_label_chunk_size")]
    pub label_chunk_size: usize,
    /// Labelling cells per transfer set when the run is split into cells (`--list-cells`,
    /// `--cell K`): each such cell labels whichever chunks no other worker holds, so this many
    /// array tasks can label one set at once. Changes neither keys nor results (default 1; not
    /// written to `config.yaml` at its default).
    #[serde(
        default = "default_label_shards",
        skip_serializing_if = "is_default_label_shards"
    )]
    pub label_shards: usize,
}

fn default_label_batch_size() -> usize {
    128
}
fn default_label_chunk_size() -> usize {
    20_000
}
fn default_label_shards() -> usize {
    1
}
fn is_default_label_shards(n: &usize) -> bool {
    *n == default_label_shards()
}

/// Keys a config may not set because the pipeline sets them (`seed` follows the experiment's
/// seed, `objective` is the variant's, `threads` the run's): accepting them would ignore them.
const SET_BY_THE_PIPELINE: &[(&[&str], &str)] = &[
    (&["teacher", "fine_tune", "seed"], "set `seed` at the top"),
    (&["augment", "seed"], "set `seed` at the top"),
    (
        &["students", "train", "seed"],
        "set `students.seeds` (or a variant's `seeds`)",
    ),
    (
        &["students", "train", "objective"],
        "each variant states its `objective`",
    ),
    (
        &["students", "train", "threads"],
        "set `threads` at the top",
    ),
];

/// Overrides the command line applies on top of the files.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--student-seed` / `--student-seeds`: every variant's seeds.
    pub student_seeds: Option<Vec<u64>>,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--smoke`: apply the smoke overlay.
    pub smoke: bool,
    /// `--variants`: train and evaluate only these student variants (in the config's order).
    pub variants: Option<Vec<String>>,
}

impl ExperimentConfig {
    /// Reads a config file (and the files it extends) and checks it.
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        Self::load(
            &layered::Source::File(path.to_path_buf()),
            &Overrides::default(),
        )
        .with_context(|| path.display().to_string())
    }

    /// Parses config text without `extends` (tests, tools) and checks it.
    pub fn from_yaml_str(text: &str) -> Result<Self> {
        let value: Value = serde_yaml::from_str(text)?;
        Self::from_value(value, &Overrides::default())
    }

    /// Reads `source` with its `extends` chain, applies the overrides, and checks the result.
    pub fn load(source: &layered::Source, overrides: &Overrides) -> Result<Self> {
        let value = layered::load(source)?;
        Self::from_value(value, overrides)
    }

    /// Builds the config from merged YAML: overlay, pipeline-owned keys rejected, typed parse
    /// (unknown keys rejected), overrides, seeds, and the whole-config check.
    pub fn from_value(mut value: Value, overrides: &Overrides) -> Result<Self> {
        if overrides.smoke {
            value = layered::apply_overlay(value, layered::SMOKE_OVERLAY)?;
        }
        let mut problems = Vec::new();
        for (path, hint) in SET_BY_THE_PIPELINE {
            if lookup(&value, path).is_some() {
                problems.push(format!("{}: not allowed here ({hint})", path.join(".")));
            }
        }
        if let Some(Value::Mapping(variants)) = lookup(&value, &["students", "variants"]) {
            for (name, v) in variants {
                let name = name.as_str().unwrap_or("?");
                for (block, key, hint) in [
                    ("train", "seed", "use the variant's `seeds`"),
                    ("train", "objective", "use the variant's `objective`"),
                    ("train", "threads", "set `threads` at the top"),
                    ("augment", "seed", "set `seed` at the top"),
                ] {
                    if lookup(v, &[block, key]).is_some() {
                        problems.push(format!(
                            "students.variants.{name}.{block}.{key}: not allowed here ({hint})"
                        ));
                    }
                }
            }
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
        let mut cfg: Self = serde_yaml::from_value(value)?;
        if overrides.smoke {
            cfg.name = format!("{}-smoke", cfg.name);
        }
        if let Some(seed) = overrides.seed {
            cfg.seed = seed;
        }
        if let Some(seeds) = &overrides.student_seeds {
            cfg.students.seeds = Some(seeds.clone());
            for v in cfg.students.variants.values_mut() {
                v.seeds = None;
            }
        }
        if let Some(threads) = overrides.threads {
            cfg.threads = Some(threads);
        }
        if let Some(names) = &overrides.variants {
            cfg.students.select(names)?;
        }
        cfg.teacher.fine_tune.seed = cfg.seed;
        cfg.augment.seed = cfg.seed;
        cfg.resolve()?;
        Ok(cfg)
    }

    /// Checks everything serde cannot and returns the student runs (variant × seed), in config
    /// order. Every problem is reported, one line each, naming its key.
    pub fn resolve(&self) -> Result<Vec<StudentRun>> {
        Ok(self.resolve_all()?.students)
    }

    /// [`ExperimentConfig::resolve`] with the run's teachers.
    pub fn resolve_all(&self) -> Result<Resolved> {
        let mut problems = Vec::new();
        if self.name.is_empty() || self.name.contains(['/', '\\']) {
            problems.push(format!(
                "name: must be a non-empty file name, got {:?}",
                self.name
            ));
        }
        if self.threads == Some(0) {
            problems.push("threads: must be >= 1".into());
        }
        if let Err(e) = self.teacher.fine_tune.validate() {
            problems.push(format!("teacher.fine_tune: {e}"));
        }
        if self.teacher.label_batch_size == 0 {
            problems.push("teacher.label_batch_size: must be >= 1".into());
        }
        if self.teacher.label_chunk_size == 0 {
            problems.push("teacher.label_chunk_size: must be >= 1".into());
        }
        if self.teacher.label_shards == 0 {
            problems.push("teacher.label_shards: must be >= 1".into());
        }
        if let Err(e) = self.augment.validate() {
            problems.push(format!("augment: {e}"));
        }
        for (key, v) in [
            ("data.max_train", self.data.max_train),
            ("data.max_dev", self.data.max_dev),
            ("data.max_test", self.data.max_test),
        ] {
            if v == Some(0) {
                problems.push(format!(
                    "{key}: must be >= 1 (or absent for the whole file)"
                ));
            }
        }
        let teachers = teachers::resolve(
            &self.teacher.fine_tune,
            self.seed,
            &self.teachers,
            self.task,
            &mut problems,
        );
        let names: Vec<&str> = teachers.iter().map(|t| t.name.as_str()).collect();
        let students =
            self.students
                .resolve(self.task, self.seed, &self.augment, &names, &mut problems);
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
        Ok(Resolved { teachers, students })
    }
}

/// A checked config's teachers and student runs.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The teachers, `teacher` first, every ensemble after its members.
    pub teachers: Vec<TeacherSpec>,
    /// The student runs (variant × seed), in config order.
    pub students: Vec<StudentRun>,
}

/// The value at `path` in nested YAML mappings.
fn lookup<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut v = value;
    for key in path {
        v = v.as_mapping()?.get(*key)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin(name: &'static str, overrides: &Overrides) -> Result<ExperimentConfig> {
        ExperimentConfig::load(&layered::Source::Embedded(name), overrides)
    }

    #[test]
    fn the_default_config_has_the_two_paper_students() {
        let cfg = builtin("sst2.yaml", &Overrides::default()).unwrap();
        let runs = cfg.resolve().unwrap();
        let names: Vec<&str> = runs.iter().map(|r| r.variant.as_str()).collect();
        assert_eq!(names, ["bilstm", "bilstm_soft"]);
        assert_eq!(cfg.students.baseline_name(), "bilstm");
        assert_eq!((runs[0].train.epochs, runs[1].train.epochs), (10, 8));
    }

    #[test]
    fn seeds_follow_the_experiment_and_the_student_override() {
        let cfg = builtin(
            "sst2.yaml",
            &Overrides {
                seed: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((cfg.teacher.fine_tune.seed, cfg.augment.seed), (3, 3));
        assert!(cfg.resolve().unwrap().iter().all(|r| r.seed == 3));
        let cfg = builtin(
            "sst2.yaml",
            &Overrides {
                seed: Some(3),
                student_seeds: Some(vec![7, 8]),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((cfg.teacher.fine_tune.seed, cfg.augment.seed), (3, 3));
        let runs = cfg.resolve().unwrap();
        let seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
        assert_eq!(seeds, [7, 8, 7, 8]);
        assert!(runs.iter().all(|r| r.train.seed == r.seed));
    }

    #[test]
    fn the_smoke_overlay_caps_every_stage() {
        let cfg = builtin(
            "sst2.yaml",
            &Overrides {
                smoke: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(cfg.name, "default-smoke");
        assert_eq!(cfg.data.max_train, Some(48));
        assert_eq!(cfg.teacher.fine_tune.epochs, 1);
        assert_eq!(cfg.augment.n_iter, 2);
        for r in cfg.resolve().unwrap() {
            assert_eq!((r.train.epochs, r.train.batch_size), (2, 16));
            assert_eq!(r.train.patience, None);
        }
        let abl = builtin(
            "sst2-ablations.yaml",
            &Overrides {
                smoke: true,
                ..Default::default()
            },
        )
        .unwrap();
        for r in abl.resolve().unwrap() {
            assert_eq!(r.train.epochs, 2, "{}", r.variant);
            if let Some(a) = &r.augment {
                assert_eq!(a.n_iter, 2, "{}", r.variant);
            }
        }
    }

    #[test]
    fn the_paper_config_differs_from_the_default_only_where_it_says() {
        let d = builtin("sst2.yaml", &Overrides::default()).unwrap();
        let p = builtin("sst2-paper.yaml", &Overrides::default()).unwrap();
        assert_eq!(p.augment.n_iter, 20);
        assert_eq!(d.students.model, p.students.model);
        assert_eq!(d.teacher.label_batch_size, p.teacher.label_batch_size);
    }

    #[test]
    fn pipeline_owned_and_unknown_keys_are_rejected_with_their_key() {
        let base = layered::load(&layered::Source::Embedded("sst2.yaml")).unwrap();
        let with = |extra: &str| {
            let over: Value = serde_yaml::from_str(extra).unwrap();
            let err = ExperimentConfig::from_value(
                layered::merge(base.clone(), over),
                &Overrides::default(),
            )
            .unwrap_err();
            format!("{err:#}")
        };
        assert!(with("teacher: {fine_tune: {seed: 4}}").contains("teacher.fine_tune.seed"));
        assert!(with("augment: {seed: 4}").contains("augment.seed"));
        assert!(with("students: {variants: {bilstm: {train: {seed: 1}}}}")
            .contains("students.variants.bilstm.train.seed"));
        assert!(with("students: {modle: {}}").contains("modle"));
        assert!(with("threads: 0").contains("threads"));
    }

    #[test]
    fn every_range_problem_is_reported_at_once() {
        let base = layered::load(&layered::Source::Embedded("sst2.yaml")).unwrap();
        let over: Value = serde_yaml::from_str(
            "teacher: {label_batch_size: 0}\n\
             students:\n  train: {batch_size: 0, patience: 0}\n  variants:\n    bilstm_soft:\n      objective: {kind: distill, alpha: 1.5, soft: {kind: soft_ce, t: 0.0}}\n",
        )
        .unwrap();
        let err = format!(
            "{:#}",
            ExperimentConfig::from_value(layered::merge(base, over), &Overrides::default())
                .unwrap_err()
        );
        for key in [
            "teacher.label_batch_size",
            "students.variants.bilstm.train.batch_size",
            "students.variants.bilstm.train.patience",
            "students.variants.bilstm_soft.objective",
        ] {
            assert!(err.contains(key), "{key} missing from:\n{err}");
        }
        assert!(err.lines().count() >= 4, "{err}");
    }
}
