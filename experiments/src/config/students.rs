//! The students as data: shared model and training settings, and named **variants**, each saying
//! what it trains on (`data`), against what (`targets`) and with which loss (`objective`), over
//! which `seeds`. The paper's two students are two variants of `sst2.yaml`; the ablation grid
//! (`sst2-ablations.yaml`) is a longer list.
//!
//! | data       | targets          | objective | what it is                                      |
//! |------------|------------------|-----------|-------------------------------------------------|
//! | `train`    | `gold`           | hard      | the paper's BiLSTM                              |
//! | `train`    | `teacher_argmax` | hard      | the teacher's decisions on the training set     |
//! | `train`    | `teacher_logits` | distill   | KD without augmentation                         |
//! | `transfer` | `inherited`      | hard      | augmentation without a teacher (copies keep their original's gold label) |
//! | `transfer` | `teacher_argmax` | hard      | augmentation + the teacher's hard decisions     |
//! | `transfer` | `teacher_logits` | distill   | the paper's BiLSTM_SOFT (α = 0, MSE)            |
//!
//! With `objective: distill` and α > 0, the hard term's label is the gold label on original
//! sentences and the teacher's argmax on augmented copies (which have no gold label).
//! Contradictory entries (`train` + `inherited` — that is `gold`; `transfer` + `gold` — copies have
//! no gold label; `distill` without `teacher_logits`; `teacher_logits` with `hard`; `augment`
//! overrides on `train` data) are rejected before any stage runs.
//!
//! Teacher targets on the training set are the teacher's logits of the original sentences in the
//! transfer set built with the shared `augment` block (every original is kept there, in order),
//! so they cost no labelling of their own.

use crate::names::ModelName;
use anyhow::{bail, Result};
use bilstm_student::{EmbeddingMode, Objective, StudentConfig, TrainConfig};
use indexmap::IndexMap;
use kd_core::augment::AugmentConfig;
use kd_core::data::Task;
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

/// The `students` block.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentsConfig {
    /// The BiLSTM (or Siamese BiLSTM) every variant uses unless it overrides keys.
    pub model: StudentConfig,
    /// Training settings every variant uses unless it overrides keys (`objective` and `seed`
    /// belong to the variants).
    #[serde(default)]
    pub train: TrainConfig,
    /// Student seeds of every variant without its own (default: `[seed]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<Vec<u64>>,
    /// The teacher students learn from unless their variant names one (default: `teacher`);
    /// for teacher-free variants, the one their fidelity is measured against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher: Option<String>,
    /// The variant every Δ in the report is measured against (default: the first
    /// `data: train`, `targets: gold` variant, else the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// The variants, by name, in the order they run.
    pub variants: IndexMap<String, VariantConfig>,
}

/// What a student trains on (`train` or `transfer`), and what it is trained to fit (`gold`,
/// `inherited`, `teacher_argmax`, `teacher_logits`): the result schema's vocabularies, so the
/// config and `variants.csv` spell them the same way.
pub use reports::schema::{DataSource, Targets as TargetKind};

/// One entry of `students.variants`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantConfig {
    /// One line for tables and the report.
    #[serde(default)]
    pub description: String,
    /// What it trains on.
    pub data: DataSource,
    /// Against what.
    pub targets: TargetKind,
    /// With which loss.
    pub objective: Objective,
    /// Its seeds (default: `students.seeds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<Vec<u64>>,
    /// Its teacher (default: `students.teacher`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher: Option<String>,
    /// Keys of `students.train` it changes.
    #[serde(default, skip_serializing_if = "Mapping::is_empty")]
    pub train: Mapping,
    /// Keys of `students.model` it changes.
    #[serde(default, skip_serializing_if = "Mapping::is_empty")]
    pub model: Mapping,
    /// Keys of the top-level `augment` block it changes (`data: transfer` only): its own
    /// transfer set and labelling stage.
    #[serde(default, skip_serializing_if = "Mapping::is_empty")]
    pub augment: Mapping,
}

/// One student to train: a variant at one seed, every setting resolved.
#[derive(Debug, Clone)]
pub struct StudentRun {
    /// The variant's name.
    pub variant: ModelName,
    /// Its one-line description.
    pub description: String,
    /// The student seed (initialisation, shuffles, dropout).
    pub seed: u64,
    /// What it trains on.
    pub data: DataSource,
    /// Against what.
    pub targets: TargetKind,
    /// The model.
    pub model: StudentConfig,
    /// The training loop's settings, objective and seed included.
    pub train: TrainConfig,
    /// The transfer set's augmentation (`data: transfer`).
    pub augment: Option<AugmentConfig>,
    /// The teacher whose logits it learns from (teacher-free targets: the one its fidelity is
    /// measured against).
    pub teacher: ModelName,
}

impl StudentsConfig {
    /// Keeps only the variants named in `names` (`--variants`), in the config's order: a part of
    /// an experiment trained on its own, whose rows `merge-results` can add to the published
    /// folder of the rest. An unknown or repeated name is an error listing the variants. A
    /// baseline left out is dropped (every variant of the selection then has `baseline` false
    /// in `variants.csv`, unless the default rule picks one of them).
    pub fn select(&mut self, names: &[String]) -> Result<()> {
        let known = || self.variants.keys().cloned().collect::<Vec<_>>().join(", ");
        if names.is_empty() {
            bail!(
                "--variants: name at least one variant (variants: {})",
                known()
            );
        }
        for (k, n) in names.iter().enumerate() {
            if !self.variants.contains_key(n) {
                bail!("--variants: no variant named `{n}` (variants: {})", known());
            }
            if names[..k].contains(n) {
                bail!("--variants: `{n}` is named twice");
            }
        }
        self.variants.retain(|name, _| names.contains(name));
        if self.baseline.as_ref().is_some_and(|b| !names.contains(b)) {
            self.baseline = None;
        }
        Ok(())
    }

    /// The baseline variant's name.
    pub fn baseline_name(&self) -> String {
        if let Some(b) = &self.baseline {
            return b.clone();
        }
        self.variants
            .iter()
            .find(|(_, v)| v.data == DataSource::Train && v.targets == TargetKind::Gold)
            .or_else(|| self.variants.iter().next())
            .map(|(n, _)| n.clone())
            .unwrap_or_default()
    }

    /// The teacher a variant learns from: its own, else `students.teacher`, else `teacher`.
    pub fn teacher_of<'a>(&'a self, v: &'a VariantConfig) -> &'a str {
        v.teacher
            .as_deref()
            .or(self.teacher.as_deref())
            .unwrap_or(super::teachers::DEFAULT_TEACHER)
    }

    /// Resolves every variant × seed, pushing one line per problem; `teachers` are the run's
    /// teachers' names.
    pub fn resolve(
        &self,
        task: Task,
        seed: u64,
        augment: &AugmentConfig,
        teachers: &[&str],
        problems: &mut Vec<String>,
    ) -> Vec<StudentRun> {
        let mut runs = Vec::new();
        if self.variants.is_empty() {
            problems.push("students.variants: at least one variant is needed".into());
        }
        if let Some(b) = &self.baseline {
            if !self.variants.contains_key(b) {
                problems.push(format!(
                    "students.baseline: {b:?} is not one of students.variants"
                ));
            }
        }
        let known = |key: String, name: &str, problems: &mut Vec<String>| {
            // An empty list: the teachers did not resolve, and said why.
            if !teachers.is_empty() && !teachers.contains(&name) {
                problems.push(format!(
                    "{key}: no teacher named `{name}` (teachers: {})",
                    teachers.join(", ")
                ));
            }
        };
        if let Some(t) = &self.teacher {
            known("students.teacher".into(), t, problems);
        }
        let shared_train = serde_yaml::to_value(&self.train).unwrap_or(Value::Null);
        let shared_model = serde_yaml::to_value(&self.model).unwrap_or(Value::Null);
        let shared_augment = serde_yaml::to_value(augment).unwrap_or(Value::Null);
        for (name, v) in &self.variants {
            let key = format!("students.variants.{name}");
            let before = problems.len();
            let variant = variant_name(&key, name, problems);
            if let Some(t) = &v.teacher {
                known(format!("{key}.teacher"), t, problems);
            }
            let teacher = ModelName::new(self.teacher_of(v)).ok();
            check_combination(&key, v, problems);
            let model: Option<StudentConfig> =
                overlay(&shared_model, &v.model, &key, "model", problems);
            let train: Option<TrainConfig> =
                overlay(&shared_train, &v.train, &key, "train", problems);
            let aug: Option<AugmentConfig> = match v.data {
                DataSource::Transfer => {
                    overlay(&shared_augment, &v.augment, &key, "augment", problems)
                }
                DataSource::Train => None,
            };
            let resolved = (model.as_ref(), train.as_ref(), aug.as_ref());
            check_resolved(&key, v, resolved, task, problems);
            let seeds = v
                .seeds
                .clone()
                .or_else(|| self.seeds.clone())
                .unwrap_or_else(|| vec![seed]);
            check_seeds(&key, &seeds, problems);
            if problems.len() > before {
                continue;
            }
            let (Some(variant), Some(model), Some(train), Some(teacher)) =
                (variant, model, train, teacher)
            else {
                continue;
            };
            for &s in &seeds {
                let mut t = train.clone();
                t.objective = v.objective;
                t.seed = s;
                runs.push(StudentRun {
                    variant: variant.clone(),
                    description: v.description.clone(),
                    seed: s,
                    data: v.data,
                    targets: v.targets,
                    model: model.clone(),
                    train: t,
                    augment: aug.clone(),
                    teacher: teacher.clone(),
                });
            }
        }
        runs
    }
}

/// The variant's name as a model name (not `teacher`), or a problem line.
fn variant_name(key: &str, name: &str, problems: &mut Vec<String>) -> Option<ModelName> {
    match ModelName::new(name) {
        Ok(n) if !n.is_teacher() => Some(n),
        Ok(_) => {
            problems.push(format!(
                "{key}: the names `teacher` and `teacher_<...>` are taken by the teachers"
            ));
            None
        }
        Err(e) => {
            problems.push(format!("{key}: {e}"));
            None
        }
    }
}

/// Checks a variant's merged model, train and augment blocks and its objective.
fn check_resolved(
    key: &str,
    v: &VariantConfig,
    (model, train, aug): (
        Option<&StudentConfig>,
        Option<&TrainConfig>,
        Option<&AugmentConfig>,
    ),
    task: Task,
    problems: &mut Vec<String>,
) {
    if let Some(m) = model {
        check_model(key, m, task, problems);
    }
    if let Some(t) = train {
        check_train(key, t, problems);
    }
    if let Some(a) = aug {
        if let Err(e) = a.validate() {
            problems.push(format!("{key}.augment: {e}"));
        }
    }
    if let Objective::Distill(loss) = v.objective {
        if let Err(e) = loss.validate() {
            problems.push(format!("{key}.objective: {e}"));
        }
    }
}

/// A variant's seeds: at least one, none repeated.
fn check_seeds(key: &str, seeds: &[u64], problems: &mut Vec<String>) {
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if seeds.is_empty() {
        problems.push(format!("{key}.seeds: at least one seed is needed"));
    } else if sorted.len() != seeds.len() {
        problems.push(format!("{key}.seeds: {seeds:?} repeats a seed"));
    }
}

/// `shared` with the variant's `keys` merged in, as `T`; a problem line on failure.
fn overlay<T: serde::de::DeserializeOwned>(
    shared: &Value,
    keys: &Mapping,
    key: &str,
    block: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    let merged = crate::config::layered::merge(shared.clone(), Value::Mapping(keys.clone()));
    match serde_yaml::from_value(merged) {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(format!("{key}.{block}: {e}"));
            None
        }
    }
}

fn check_combination(key: &str, v: &VariantConfig, problems: &mut Vec<String>) {
    use DataSource::*;
    use TargetKind::*;
    let distill = matches!(v.objective, Objective::Distill(_));
    let msg = match (v.data, v.targets) {
        (Train, Inherited) => Some(
            "targets: inherited means augmented copies keep their original's label; on data: train \
             that is targets: gold",
        ),
        (Transfer, Gold) => Some(
            "targets: gold on data: transfer — augmented copies have no gold label (use inherited)",
        ),
        _ => None,
    };
    if let Some(m) = msg {
        problems.push(format!("{key}: {m}"));
    }
    if distill && v.targets != TeacherLogits {
        problems.push(format!(
            "{key}.objective: distill needs targets: teacher_logits (got {})",
            v.targets.id()
        ));
    }
    if !distill && v.targets == TeacherLogits {
        problems.push(format!(
            "{key}.objective: hard cross-entropy cannot fit teacher_logits (use targets: \
             teacher_argmax, or objective: {{kind: distill}})"
        ));
    }
    if v.data == Train && !v.augment.is_empty() {
        problems.push(format!(
            "{key}.augment: augmentation settings apply to data: transfer only"
        ));
    }
}

fn check_model(key: &str, m: &StudentConfig, task: Task, problems: &mut Vec<String>) {
    let k = format!("{key}.model");
    if m.pair != task.is_pair() {
        problems.push(format!(
            "{k}.pair: is {} but task {task:?} {} sentence pairs",
            m.pair,
            if task.is_pair() { "has" } else { "has no" }
        ));
    }
    if m.num_classes != task.num_classes() {
        problems.push(format!(
            "{k}.num_classes: is {} but task {task:?} has {} classes",
            m.num_classes,
            task.num_classes()
        ));
    }
    if m.hidden_dim == 0 || m.fc_dim == 0 {
        problems.push(format!("{k}: hidden_dim and fc_dim must be >= 1"));
    }
    if !(0.0..1.0).contains(&m.dropout) {
        problems.push(format!("{k}.dropout: must be in [0, 1), got {}", m.dropout));
    }
    let e = &m.embedding;
    if !(e.init_range.is_finite() && e.init_range >= 0.0) {
        problems.push(format!(
            "{k}.embedding.init_range: must be >= 0, got {}",
            e.init_range
        ));
    }
    if e.mode == EmbeddingMode::Rand && e.dim == 0 {
        problems.push(format!("{k}.embedding.dim: must be >= 1"));
    }
    if e.mode != EmbeddingMode::Rand && e.vectors.is_none() {
        problems.push(format!(
            "{k}.embedding.vectors: mode {:?} needs pre-trained vectors",
            e.mode
        ));
    }
}

fn check_train(key: &str, t: &TrainConfig, problems: &mut Vec<String>) {
    let k = format!("{key}.train");
    for (name, v) in [
        ("epochs", t.epochs),
        ("batch_size", t.batch_size),
        ("eval_batch_size", t.eval_batch_size),
        ("sort_pool_batches", t.sort_pool_batches),
    ] {
        if v == 0 {
            problems.push(format!("{k}.{name}: must be >= 1"));
        }
    }
    if t.patience == Some(0) {
        problems.push(format!(
            "{k}.patience: must be >= 1 (or absent: no early stop)"
        ));
    }
    if let Err(e) = t.optimizer.validate() {
        problems.push(format!("{k}.optimizer: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{layered, ExperimentConfig, Overrides};
    use serde_yaml::Value;

    fn with(variants: &str) -> String {
        let base = layered::load(&layered::Source::Embedded("sst2.yaml")).unwrap();
        let over: Value =
            serde_yaml::from_str(&format!("students:\n  variants:\n{variants}")).unwrap();
        match ExperimentConfig::from_value(layered::merge(base, over), &Overrides::default()) {
            Ok(_) => String::new(),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn contradictory_variants_are_rejected_before_any_stage() {
        let cases = [
            ("    x: {data: train, targets: inherited, objective: {kind: hard}}", "targets: gold"),
            ("    x: {data: transfer, targets: gold, objective: {kind: hard}}", "no gold label"),
            ("    x: {data: train, targets: gold, objective: {kind: distill}}", "needs targets: teacher_logits"),
            ("    x: {data: transfer, targets: teacher_logits, objective: {kind: hard}}", "teacher_argmax"),
            ("    x: {data: train, targets: gold, objective: {kind: hard}, augment: {n_iter: 2}}", "data: transfer only"),
            ("    Bad-Name: {data: train, targets: gold, objective: {kind: hard}}", "[a-z]"),
            ("    teacher: {data: train, targets: gold, objective: {kind: hard}}", "taken"),
            ("    x: {data: train, targets: gold, objective: {kind: hard}, seeds: []}", "x.seeds"),
            ("    x: {data: train, targets: gold, objective: {kind: hard}, seeds: [1, 1]}", "repeats"),
            ("    x: {data: train, targets: gold, objective: {kind: hard}, train: {epoch: 3}}", "epoch"),
            ("    x: {data: train, targets: gold, objective: {kind: hard}, model: {dropout: 1.0}}", "x.model.dropout"),
            ("    x: {data: transfer, targets: teacher_logits, objective: {kind: distill, alpha: -0.1}}", "alpha"),
        ];
        for (yaml, want) in cases {
            let err = with(yaml);
            assert!(err.contains(want), "{yaml}\n-> {err:?} lacks {want:?}");
        }
    }

    #[test]
    fn valid_variants_resolve_with_their_overrides() {
        assert_eq!(
            with("    x: {data: transfer, targets: inherited, objective: {kind: hard}, augment: {n_iter: 2}, train: {epochs: 1}}\n    y: {data: train, targets: teacher_logits, objective: {kind: distill, alpha: 0.5}}"),
            ""
        );
    }
}
