//! Teachers as data: besides the config's `teacher` block (the teacher named `teacher`, which
//! every run has), a config may list named teacher variants under `teachers:`, each one of
//!
//! | entry                                 | what it is                                          |
//! |---------------------------------------|-----------------------------------------------------|
//! | `fine_tune: {...}`, `seed: N`         | its own fine-tune: the `teacher.fine_tune` block with these keys changed, at seed N (default: the run's seed) |
//! | `of: <teacher>`, `epoch: K`           | the teacher `<teacher>` (a fine-tuned one) as it was after epoch K: fine-tunes keep every epoch's weights |
//! | `ensemble: [a, b, ...]`               | the mean of its members' logits (TextBrewer's multi-teacher distillation); its labels are the mean of its members' labels |
//! | `dir: PATH`                           | a fine-tuned classifier directory made elsewhere (HF `BertForSequenceClassification` files): a GPU-trained or larger teacher |
//!
//! Each teacher is evaluated like any model; each student learns from `students.teacher` (default
//! `teacher`) or its variant's own `teacher:`, and each (teacher, transfer set) pair is its own
//! labelling stage. Names are `teacher_<something>` so that result files tell teachers from
//! students. Everything is checked before any stage runs: unknown names, an `of` that is not a
//! fine-tune or an epoch past its last, ensembles of fewer than two or with a repeated member,
//! cycles, members whose label spaces differ, keys the pipeline sets.

use crate::names::ModelName;
use bert_teacher::FineTuneConfig;
use indexmap::IndexMap;
use kd_core::data::Task;
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};

/// One entry of `teachers:`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherVariantConfig {
    /// One line for tables and the report.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Keys of `teacher.fine_tune` it changes (a fine-tuned variant).
    #[serde(default, skip_serializing_if = "Mapping::is_empty")]
    pub fine_tune: Mapping,
    /// Its fine-tuning seed (default: the run's seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// A fine-tuned teacher of this config whose epoch `epoch` this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// With `of`: the 1-based epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<usize>,
    /// Teachers whose logits it averages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensemble: Option<Vec<String>>,
    /// A fine-tuned classifier directory (`config.json` with `id2label`, `model.safetensors`,
    /// `tokenizer.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

/// Where a teacher's logits come from, resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum TeacherSource {
    /// Fine-tuned by this pipeline with these settings (seed filled in).
    FineTune(FineTuneConfig),
    /// Teacher `of` (an index into the resolved list, a [`TeacherSource::FineTune`]) after epoch
    /// `epoch`.
    Epoch {
        /// The fine-tuned teacher.
        of: usize,
        /// The 1-based epoch.
        epoch: usize,
    },
    /// The mean of these teachers' logits (indices, each before this one in the list).
    Ensemble(Vec<usize>),
    /// A fine-tuned classifier directory made elsewhere.
    Dir(PathBuf),
}

/// One teacher of the run, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherSpec {
    /// `teacher` or `teacher_<...>`.
    pub name: ModelName,
    /// One line for tables.
    pub description: String,
    /// Where its logits come from.
    pub source: TeacherSource,
}

/// The name of the teacher every run has (the `teacher` block).
pub const DEFAULT_TEACHER: &str = "teacher";

/// Resolves the run's teachers: `teacher` (the `teacher` block at the run's seed) first, then
/// the variants, ordered so that every ensemble follows its members. Pushes one line per
/// problem, naming its key.
pub fn resolve(
    base: &FineTuneConfig,
    seed: u64,
    variants: &IndexMap<String, TeacherVariantConfig>,
    task: Task,
    problems: &mut Vec<String>,
) -> Vec<TeacherSpec> {
    let mut base = base.clone();
    base.seed = seed;
    let base_value = serde_yaml::to_value(&base).unwrap_or(Value::Null);
    let names: Vec<&str> = std::iter::once(DEFAULT_TEACHER)
        .chain(variants.keys().map(String::as_str))
        .collect();
    let mut ok = true;
    for name in variants.keys() {
        let key = format!("teachers.{name}");
        match ModelName::new(name) {
            Ok(_) if name.starts_with("teacher_") => {}
            Ok(_) if name == DEFAULT_TEACHER => {
                problems.push(format!(
                    "{key}: `teacher` is the `teacher` block's; name variants teacher_<...>"
                ));
                ok = false;
            }
            Ok(_) => {
                problems.push(format!(
                    "{key}: teacher names start with `teacher_` (result files tell teachers from \
                     students by it)"
                ));
                ok = false;
            }
            Err(e) => {
                problems.push(format!("{key}: {e}"));
                ok = false;
            }
        }
    }
    if !ok {
        return Vec::new();
    }
    // Sources by name, in config order (the default teacher first).
    let mut raw: Vec<(String, String, Option<RawSource>)> = vec![(
        DEFAULT_TEACHER.to_string(),
        String::new(),
        Some(RawSource::FineTune(base.clone())),
    )];
    for (name, v) in variants {
        let key = format!("teachers.{name}");
        let source = raw_source(&key, v, &base_value, seed, &names, problems);
        raw.push((name.clone(), v.description.clone(), source));
    }
    let order = match topological_order(&raw, problems) {
        Some(o) => o,
        None => return Vec::new(),
    };
    let position = |name: &str| order.iter().position(|&i| raw[i].0 == name);
    let mut specs = Vec::new();
    for &i in &order {
        let (name, description, source) = &raw[i];
        let Some(source) = source else { continue };
        let key = format!("teachers.{name}");
        let resolved = match source {
            RawSource::FineTune(f) => Some(TeacherSource::FineTune(f.clone())),
            RawSource::Dir(p) => {
                check_dir_labels(&key, p, task, problems);
                Some(TeacherSource::Dir(p.clone()))
            }
            RawSource::Epoch { of, epoch } => {
                let target = raw.iter().find(|(n, _, _)| n == of);
                match target.and_then(|(_, _, s)| s.as_ref()) {
                    Some(RawSource::FineTune(f)) if (1..=f.epochs).contains(epoch) => {
                        position(of).map(|of| TeacherSource::Epoch { of, epoch: *epoch })
                    }
                    Some(RawSource::FineTune(f)) => {
                        problems.push(format!(
                            "{key}.epoch: {epoch} is not an epoch of `{of}` (1 to {})",
                            f.epochs
                        ));
                        None
                    }
                    Some(_) => {
                        problems.push(format!(
                            "{key}.of: `{of}` is not fine-tuned by this config (an epoch \
                             checkpoint needs a fine-tune's per-epoch weights)"
                        ));
                        None
                    }
                    None => None,
                }
            }
            RawSource::Ensemble(members) => {
                let idx: Option<Vec<usize>> = members.iter().map(|m| position(m)).collect();
                idx.map(TeacherSource::Ensemble)
            }
        };
        if let Some(source) = resolved {
            specs.push(TeacherSpec {
                name: ModelName::new(name).expect("checked above"),
                description: description.clone(),
                source,
            });
        }
    }
    if specs.len() != raw.len() {
        return Vec::new();
    }
    check_label_spaces(&specs, task, problems);
    specs
}

/// A variant's source before the list is ordered: teachers by name.
#[derive(Debug, Clone)]
enum RawSource {
    FineTune(FineTuneConfig),
    Epoch { of: String, epoch: usize },
    Ensemble(Vec<String>),
    Dir(PathBuf),
}

fn raw_source(
    key: &str,
    v: &TeacherVariantConfig,
    base: &Value,
    seed: u64,
    names: &[&str],
    problems: &mut Vec<String>,
) -> Option<RawSource> {
    let fine_tune = !v.fine_tune.is_empty() || v.seed.is_some();
    let kinds = [
        fine_tune,
        v.of.is_some() || v.epoch.is_some(),
        v.ensemble.is_some(),
        v.dir.is_some(),
    ];
    if kinds.iter().filter(|&&k| k).count() > 1 {
        problems.push(format!(
            "{key}: give one of fine_tune/seed, of + epoch, ensemble or dir"
        ));
        return None;
    }
    let known = |what: &str, name: &str, problems: &mut Vec<String>| {
        let found = names.contains(&name);
        if !found {
            problems.push(format!(
                "{key}.{what}: no teacher named `{name}` (teachers: {})",
                names.join(", ")
            ));
        }
        found
    };
    if let Some(members) = &v.ensemble {
        let mut sorted = members.clone();
        sorted.sort();
        sorted.dedup();
        if members.len() < 2 {
            problems.push(format!(
                "{key}.ensemble: an ensemble needs at least two members, got {}",
                members.len()
            ));
            return None;
        }
        if sorted.len() != members.len() {
            problems.push(format!("{key}.ensemble: {members:?} repeats a member"));
            return None;
        }
        // Every member is checked (no short circuit), so that each unknown one is reported.
        let unknown = members
            .iter()
            .filter(|m| !known("ensemble", m, problems))
            .count();
        return (unknown == 0).then(|| RawSource::Ensemble(members.clone()));
    }
    if let Some(dir) = &v.dir {
        return Some(RawSource::Dir(dir.clone()));
    }
    if v.of.is_some() || v.epoch.is_some() {
        let (Some(of), Some(epoch)) = (&v.of, v.epoch) else {
            problems.push(format!("{key}: `of` and `epoch` go together"));
            return None;
        };
        if epoch == 0 {
            problems.push(format!("{key}.epoch: epochs count from 1"));
            return None;
        }
        return known("of", of, problems).then(|| RawSource::Epoch {
            of: of.clone(),
            epoch,
        });
    }
    if v.fine_tune.contains_key("seed") {
        problems.push(format!(
            "{key}.fine_tune.seed: not allowed here (set the variant's `seed`)"
        ));
        return None;
    }
    let merged = crate::config::layered::merge(base.clone(), Value::Mapping(v.fine_tune.clone()));
    match serde_yaml::from_value::<FineTuneConfig>(merged) {
        Ok(mut f) => {
            f.seed = v.seed.unwrap_or(seed);
            if let Err(e) = f.validate() {
                problems.push(format!("{key}.fine_tune: {e}"));
                return None;
            }
            Some(RawSource::FineTune(f))
        }
        Err(e) => {
            problems.push(format!("{key}.fine_tune: {e}"));
            None
        }
    }
}

/// Indices of `raw` with every teacher after those it reads (`of`, ensemble members); `None`
/// (and a problem line) on a cycle.
fn topological_order(
    raw: &[(String, String, Option<RawSource>)],
    problems: &mut Vec<String>,
) -> Option<Vec<usize>> {
    let index = |name: &str| raw.iter().position(|(n, _, _)| n == name);
    let deps = |i: usize| -> Vec<usize> {
        match &raw[i].2 {
            Some(RawSource::Ensemble(m)) => m.iter().filter_map(|n| index(n)).collect(),
            Some(RawSource::Epoch { of, .. }) => index(of).into_iter().collect(),
            _ => Vec::new(),
        }
    };
    // 0 = unvisited, 1 = on the current path, 2 = placed.
    let mut state = vec![0u8; raw.len()];
    let mut order = Vec::new();
    fn visit(
        i: usize,
        deps: &dyn Fn(usize) -> Vec<usize>,
        state: &mut [u8],
        order: &mut Vec<usize>,
        path: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let start = path.iter().position(|&p| p == i).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(i);
                return Err(cycle);
            }
            _ => {}
        }
        state[i] = 1;
        path.push(i);
        for d in deps(i) {
            visit(d, deps, state, order, path)?;
        }
        path.pop();
        state[i] = 2;
        order.push(i);
        Ok(())
    }
    for i in 0..raw.len() {
        if let Err(cycle) = visit(i, &deps, &mut state, &mut order, &mut Vec::new()) {
            let names: Vec<&str> = cycle.iter().map(|&c| raw[c].0.as_str()).collect();
            problems.push(format!(
                "teachers.{}: a cycle ({})",
                names[0],
                names.join(" -> ")
            ));
            return None;
        }
    }
    Some(order)
}

/// The classes a fine-tuned directory's `config.json` declares (`id2label`'s size, else
/// `num_labels`), or a problem line.
fn dir_classes(key: &str, dir: &Path, problems: &mut Vec<String>) -> Option<usize> {
    let path = dir.join(bert_teacher::teacher::CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(format!("{key}.dir: {}: {e}", path.display()));
            return None;
        }
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(j) => j,
        Err(e) => {
            problems.push(format!("{key}.dir: {}: {e}", path.display()));
            return None;
        }
    };
    let n = json
        .get("id2label")
        .and_then(|m| m.as_object())
        .map(|m| m.len())
        .or_else(|| {
            json.get("num_labels")
                .and_then(|n| n.as_u64())
                .map(|n| n as usize)
        });
    if n.is_none() {
        problems.push(format!(
            "{key}.dir: {} has no id2label: not a fine-tuned classifier",
            path.display()
        ));
    }
    n
}

fn check_dir_labels(key: &str, dir: &Path, task: Task, problems: &mut Vec<String>) {
    if let Some(n) = dir_classes(key, dir, problems) {
        if n != task.num_classes() {
            problems.push(format!(
                "{key}.dir: {} classes in {}, task {task:?} has {}",
                n,
                dir.display(),
                task.num_classes()
            ));
        }
    }
}

/// Every ensemble's members must share one label space: the task's classes for teachers this
/// config fine-tunes, the `config.json`'s for a directory.
fn check_label_spaces(specs: &[TeacherSpec], task: Task, problems: &mut Vec<String>) {
    let mut quiet = Vec::new();
    let classes = |s: &TeacherSpec, quiet: &mut Vec<String>| -> Option<usize> {
        match &s.source {
            TeacherSource::Dir(p) => dir_classes("", p, quiet),
            _ => Some(task.num_classes()),
        }
    };
    for s in specs {
        if let TeacherSource::Ensemble(members) = &s.source {
            let spaces: Vec<(String, Option<usize>)> = members
                .iter()
                .map(|&m| (specs[m].name.to_string(), classes(&specs[m], &mut quiet)))
                .collect();
            let first = spaces[0].1;
            if spaces.iter().any(|(_, c)| *c != first) {
                let list: Vec<String> = spaces
                    .iter()
                    .map(|(n, c)| format!("{n}: {}", c.map_or("?".into(), |c| c.to_string())))
                    .collect();
                problems.push(format!(
                    "teachers.{}.ensemble: members with different label spaces ({})",
                    s.name,
                    list.join(", ")
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> IndexMap<String, TeacherVariantConfig> {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn run(yaml: &str) -> (Vec<TeacherSpec>, Vec<String>) {
        let base = FineTuneConfig {
            epochs: 2,
            ..FineTuneConfig::default()
        };
        let mut problems = Vec::new();
        let specs = resolve(&base, 7, &parse(yaml), Task::Sst2, &mut problems);
        (specs, problems)
    }

    #[test]
    fn variants_resolve_in_dependency_order_with_their_settings() {
        let (specs, problems) = run("teacher_ens: {ensemble: [teacher_a, teacher]}\n\
             teacher_a: {fine_tune: {lr: 3.0e-5, epochs: 3, pooling: mean}, seed: 1}\n\
             teacher_e1: {of: teacher_a, epoch: 1}\n");
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["teacher", "teacher_a", "teacher_ens", "teacher_e1"]);
        match &specs[0].source {
            TeacherSource::FineTune(f) => assert_eq!((f.seed, f.epochs, f.lr), (7, 2, 2e-5)),
            s => panic!("{s:?}"),
        }
        match &specs[1].source {
            TeacherSource::FineTune(f) => {
                assert_eq!((f.seed, f.epochs, f.lr), (1, 3, 3e-5));
                assert_eq!(f.pooling, bert_teacher::bert::Pooling::Mean);
            }
            s => panic!("{s:?}"),
        }
        assert_eq!(specs[2].source, TeacherSource::Ensemble(vec![1, 0]));
        assert_eq!(specs[3].source, TeacherSource::Epoch { of: 1, epoch: 1 });
    }

    #[test]
    fn bad_teacher_variants_are_rejected_naming_their_key() {
        let cases = [
            ("teacher_x: {ensemble: [teacher]}", "at least two members"),
            ("teacher_x: {ensemble: [teacher, teacher]}", "repeats a member"),
            ("teacher_x: {ensemble: [teacher, teacher_nope]}", "no teacher named `teacher_nope`"),
            (
                "teacher_x: {ensemble: [teacher, teacher_y]}\nteacher_y: {ensemble: [teacher, teacher_x]}",
                "a cycle",
            ),
            ("teacher_x: {of: teacher, epoch: 3}", "not an epoch of `teacher` (1 to 2)"),
            ("teacher_x: {of: teacher}", "go together"),
            (
                "teacher_x: {ensemble: [teacher, teacher_y]}\nteacher_y: {of: teacher_x, epoch: 1}",
                "a cycle",
            ),
            (
                "teacher_x: {ensemble: [teacher, teacher_z]}\nteacher_z: {fine_tune: {lr: 1.0e-5}}\nteacher_y: {of: teacher_x, epoch: 1}",
                "not fine-tuned by this config",
            ),
            ("teacher_x: {fine_tune: {seed: 3}}", "set the variant's `seed`"),
            ("teacher_x: {fine_tune: {lr: -1.0}}", "teachers.teacher_x.fine_tune"),
            ("teacher_x: {fine_tune: {lr_max: 1.0}}", "unknown field"),
            ("teacher_x: {seed: 1, ensemble: [teacher, teacher_y]}", "give one of"),
            ("big: {seed: 1}", "start with `teacher_`"),
            ("teacher: {seed: 1}", "the `teacher` block's"),
            ("teacher_x: {dir: /nonexistent/dir}", "teachers.teacher_x.dir"),
        ];
        for (yaml, want) in cases {
            let (_, problems) = run(yaml);
            let all = problems.join("\n");
            assert!(all.contains(want), "{yaml}\n-> {all:?} lacks {want:?}");
        }
    }

    #[test]
    fn members_with_different_label_spaces_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let three = dir.path().join("three");
        std::fs::create_dir_all(&three).unwrap();
        std::fs::write(
            three.join("config.json"),
            r#"{"id2label": {"0": "a", "1": "b", "2": "c"}}"#,
        )
        .unwrap();
        let (_, problems) = run(&format!(
            "teacher_d: {{dir: {}}}\nteacher_x: {{ensemble: [teacher, teacher_d]}}",
            three.display()
        ));
        let all = problems.join("\n");
        assert!(all.contains("3 classes"), "{all}");
        assert!(all.contains("different label spaces"), "{all}");
    }
}
