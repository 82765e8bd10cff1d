//! Adding students trained elsewhere to a run's result folder (the `merge-results` binary).
//!
//! A run's result folder (`runs/<task>/<config>`, or its published copy under `reports/results/`)
//! is re-evaluated from the stage store; students trained on another machine, whose store this
//! one does not have, can only join it as result rows. [`merge`] adds the student rows of a run
//! folder `from` to a folder `into` — more seeds of its variants, or variants it does not have
//! (a config that extends `into`'s, run with `--variants`) — after checking that the two are one
//! experiment: every setting but the config's name, the student seeds, the baseline and the
//! variants the same; every variant both have defined alike; the same teacher stages (same keys,
//! so the same settings) and the same transfer sets and labels but where `from` brings a new
//! transfer-set variant; and the same teacher *outputs*: its decisions — metric rows, dev
//! predictions, per-epoch dev accuracy, GLUE submission file — exactly, and its per-epoch
//! training losses and logits within float rounding ([`TRAIN_LOSS_RTOL`], [`LOGIT_ATOL`]; the
//! largest differences are reported and recorded), so that a teacher retrained on another CPU
//! is accepted only where it reproduced up to the last digits of its floats. A student (variant,
//! seed) already in `into` is refused. Added rows take `into`'s config name; added variants are
//! never its baseline; `config.yaml` gains their definitions and every variant's seeds. The
//! merged folder is built beside `into` and swapped in by two renames, so a killed merge leaves
//! either the old folder or the new one (the next call finishes an interrupted swap).

use crate::results::{
    git_rev, write_csv, DevPredictionRow, HistoryRow, LogitRow, MetricRow, TeacherRow, VariantRow,
    BUILD_REV,
};
use anyhow::{anyhow, bail, Context, Result};
use reports::rows::{read_rows, CsvRow};
use reports::schema::ModelName;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What [`merge`] added.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The student (variant, seed) pairs added, in `from`'s order.
    pub students: Vec<(ModelName, u64)>,
    /// The variants `into` did not have, in `from`'s order.
    pub variants: Vec<ModelName>,
    /// Submission files copied.
    pub submissions: usize,
    /// How far the two folders' teachers differ where float rounding may show.
    pub teacher_deviation: TeacherDeviation,
}

/// The largest differences between two folders' teachers in their continuous outputs (their
/// decisions — metric rows, dev predictions, test submission — are compared exactly).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TeacherDeviation {
    /// Largest relative difference of a per-epoch training loss.
    pub train_loss_rel: f64,
    /// Largest absolute difference of a logit in `softmax_t.csv`.
    pub logit_abs: f64,
}

/// Per-epoch training losses of one teacher, retrained with the same settings on another CPU,
/// differ by float rounding (~1e-8 relative seen between an AMD EPYC and a Xeon); more than this
/// is another teacher.
pub const TRAIN_LOSS_RTOL: f64 = 1e-5;

/// The same for the teacher's logits: a thousandth of a logit is far below what could change a
/// student's targets (the students' logit MSE to the teacher is ~2).
pub const LOGIT_ATOL: f64 = 1e-3;

/// One result folder, read and checked.
struct Folder {
    dir: PathBuf,
    metrics: Vec<MetricRow>,
    history: Vec<HistoryRow>,
    variants: Vec<VariantRow>,
    teachers: Vec<TeacherRow>,
    predictions: Vec<DevPredictionRow>,
    logits: Option<Vec<LogitRow>>,
    stages: Vec<Value>,
    run: Value,
    config: serde_yaml::Value,
    /// File name → bytes, of `submissions/`.
    submissions: BTreeMap<String, Vec<u8>>,
}

fn read<T: CsvRow>(dir: &Path, name: &str) -> Result<Vec<T>> {
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "{}: not found (is {} a run's result folder?)",
            path.display(),
            dir.display()
        );
    }
    Ok(read_rows(&path)?)
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))
}

impl Folder {
    fn load(dir: &Path) -> Result<Folder> {
        let optional = |name: &str| dir.join(name).is_file();
        let config_path = dir.join("config.yaml");
        let config_text = std::fs::read_to_string(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))?;
        let mut submissions = BTreeMap::new();
        let sub_dir = dir.join("submissions");
        if sub_dir.is_dir() {
            for entry in std::fs::read_dir(&sub_dir)
                .with_context(|| format!("reading {}", sub_dir.display()))?
            {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "tsv") {
                    let name = path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    let bytes = std::fs::read(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    submissions.insert(name, bytes);
                }
            }
        }
        Ok(Folder {
            dir: dir.to_path_buf(),
            metrics: read(dir, "metrics.csv")?,
            history: read(dir, "history.csv")?,
            variants: read(dir, "variants.csv")?,
            teachers: if optional("teachers.csv") {
                read(dir, "teachers.csv")?
            } else {
                Vec::new()
            },
            predictions: read(dir, "dev_predictions.csv")?,
            logits: if optional("softmax_t.csv") {
                Some(read(dir, "softmax_t.csv")?)
            } else {
                None
            },
            stages: match read_json(&dir.join("stages.json"))? {
                Value::Array(a) => a,
                _ => bail!("{}: not a JSON array", dir.join("stages.json").display()),
            },
            run: read_json(&dir.join("run.json"))?,
            config: serde_yaml::from_str(&config_text)
                .with_context(|| format!("{}: not valid YAML", config_path.display()))?,
            submissions,
        })
    }

    /// The student (variant, seed) pairs of `metrics.csv`, in file order.
    fn students(&self) -> Vec<(ModelName, u64)> {
        let mut seen = Vec::new();
        for r in self.metrics.iter().filter(|r| !r.model.is_teacher()) {
            let k = (r.model.clone(), r.seed);
            if !seen.contains(&k) {
                seen.push(k);
            }
        }
        seen
    }
}

/// The model a submission file is of: `<Task>.<model>.seed<N>.tsv` → `model`.
fn submission_model(name: &str) -> Option<ModelName> {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        [_, model, seed, "tsv"] if seed.starts_with("seed") => ModelName::new(model).ok(),
        _ => None,
    }
}

/// The keys of `students` in which two parts of one experiment may differ: `from` may hold other
/// seeds or other variants than `into`, of a config with another name that extends `into`'s.
const PART_KEYS: [&str; 3] = ["seeds", "baseline", "variants"];

/// Top-level keys of a resolved config that are settings of the invocation, not of the
/// experiment: libtorch's thread count (stage keys leave it out; each stage's provenance records
/// the threads it ran with).
const RUN_KEYS: [&str; 1] = ["threads"];

/// The resolved config without its `name`, the [`RUN_KEYS`] and the [`PART_KEYS`] of `students`,
/// and its variants' definitions (each without its `seeds`), by name.
fn settings(
    config: &serde_yaml::Value,
    path: &Path,
) -> Result<(serde_yaml::Value, BTreeMap<String, serde_yaml::Value>)> {
    let mut rest = config.clone();
    if let Some(m) = rest.as_mapping_mut() {
        m.remove("name");
        for key in RUN_KEYS {
            m.remove(key);
        }
    }
    let students = rest
        .get_mut("students")
        .and_then(|s| s.as_mapping_mut())
        .ok_or_else(|| anyhow!("{}: no `students` section", path.display()))?;
    let mut variants = BTreeMap::new();
    if let Some(serde_yaml::Value::Mapping(m)) = students.get("variants") {
        for (name, def) in m {
            let mut def = def.clone();
            if let Some(d) = def.as_mapping_mut() {
                d.remove("seeds");
            }
            variants.insert(name.as_str().unwrap_or_default().to_string(), def);
        }
    }
    for key in PART_KEYS {
        students.remove(key);
    }
    Ok((rest, variants))
}

/// The keys in which two configs differ: top-level keys, and `students.<key>` within `students`.
fn differing_keys(a: &serde_yaml::Value, b: &serde_yaml::Value) -> Vec<String> {
    let keys = |v: &serde_yaml::Value| -> Vec<String> {
        v.as_mapping()
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut names: Vec<String> = keys(a);
    names.extend(keys(b).into_iter().filter(|k| a.get(k.as_str()).is_none()));
    let mut out = Vec::new();
    for name in names {
        let (x, y) = (a.get(name.as_str()), b.get(name.as_str()));
        if x == y {
            continue;
        }
        match (x, y) {
            (Some(x), Some(y)) if name == "students" => out.extend(
                differing_keys(x, y)
                    .into_iter()
                    .map(|k| format!("students.{k}")),
            ),
            _ => out.push(name),
        }
    }
    out
}

/// `config`'s seeds, rewritten to those of `seeds_of` (every student variant's seeds in the
/// merged rows): the variants without their own `seeds` share `students.seeds` when their seeds
/// agree, else `students.seeds` is their union and each that differs gets its own list; a variant
/// with its own list gets its merged one.
fn record_seeds(
    config: &mut serde_yaml::Value,
    seeds_of: &BTreeMap<ModelName, Vec<u64>>,
    path: &Path,
) -> Result<()> {
    let students = config
        .get_mut("students")
        .and_then(|s| s.as_mapping_mut())
        .ok_or_else(|| anyhow!("{}: no `students` section", path.display()))?;
    let has_own = |name: &ModelName, students: &serde_yaml::Mapping| {
        students
            .get("variants")
            .and_then(|v| v.get(name.as_str()))
            .is_some_and(|d| d.get("seeds").is_some())
    };
    let shared: Vec<(&ModelName, &Vec<u64>)> = seeds_of
        .iter()
        .filter(|(m, _)| !has_own(m, students))
        .collect();
    let union: BTreeSet<u64> = shared.iter().flat_map(|(_, s)| s.iter().copied()).collect();
    let union: Vec<u64> = union.into_iter().collect();
    if !shared.is_empty() {
        students.insert("seeds".into(), serde_yaml::to_value(&union)?);
    }
    let own: Vec<(&ModelName, &Vec<u64>)> = seeds_of
        .iter()
        .filter(|(m, s)| has_own(m, students) || **s != union)
        .collect();
    if let Some(variants) = students
        .get_mut("variants")
        .and_then(|v| v.as_mapping_mut())
    {
        for (name, seeds) in own {
            if let Some(d) = variants
                .get_mut(name.as_str())
                .and_then(|d| d.as_mapping_mut())
            {
                d.insert("seeds".into(), serde_yaml::to_value(seeds)?);
            }
        }
    }
    Ok(())
}

/// Teacher rows compared without their wall time (a teacher served from another store, or
/// retrained, took its own time).
fn untimed(t: &TeacherRow) -> TeacherRow {
    TeacherRow {
        config: String::new(),
        seconds: None,
        examples_per_sec: None,
        ..t.clone()
    }
}

/// A variant's row compared between two folders: without the config's name, and without the
/// baseline mark (a part run with `--variants` may lack `into`'s baseline).
fn definition(v: &VariantRow) -> VariantRow {
    VariantRow {
        config: String::new(),
        baseline: false,
        ..v.clone()
    }
}

/// What [`check`] found: the students and variants to add, the shared stages `into` lacks (the
/// new variants' transfer sets and labels), and how far the teachers differ.
struct Checked {
    students: Vec<(ModelName, u64)>,
    variants: Vec<ModelName>,
    stages: Vec<Value>,
    deviation: TeacherDeviation,
}

/// A stage entry of `stages.json`: (stage, key, model) of a shared stage; `None` for a student's.
fn shared_stage(v: &Value) -> Option<(String, String, String)> {
    if v.get("seed").is_some_and(|s| !s.is_null()) {
        return None;
    }
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Some((s("stage"), s("key"), s("model")))
}

/// Checks that `from` and `into` are the same experiment with the same teacher outputs, and that
/// `from`'s students are new to `into`. The error names what differs.
fn check(from: &Folder, into: &Folder) -> Result<Checked> {
    let (f, i) = (from.dir.display(), into.dir.display());
    let task = into.variants.first().map(|v| v.task);
    let mut variants = Vec::new();
    for v in &from.variants {
        match into.variants.iter().find(|o| o.model == v.model) {
            Some(o) if definition(o) == definition(v) => {}
            Some(_) => bail!(
                "variant `{}` differs between the variants.csv of {f} and {i}: not the same \
                 experiment",
                v.model
            ),
            None if Some(v.task) != task => bail!(
                "variant `{}` of {f} is of task {}, {i} of another: not the same experiment",
                v.model,
                v.task.id()
            ),
            None => variants.push(v.model.clone()),
        }
    }
    let (from_cfg, from_defs) = settings(&from.config, &from.dir.join("config.yaml"))?;
    let (into_cfg, into_defs) = settings(&into.config, &into.dir.join("config.yaml"))?;
    if from_cfg != into_cfg {
        bail!(
            "config.yaml of {f} and {i} differ in more than the name and students.{{{}}} (in {}): \
             not the same experiment",
            PART_KEYS.join(", "),
            differing_keys(&from_cfg, &into_cfg).join(", ")
        );
    }
    for (name, def) in &from_defs {
        match into_defs.get(name) {
            Some(theirs) if theirs != def => bail!(
                "students.variants.{name} differs between the config.yaml of {f} and {i}: not \
                 the same experiment"
            ),
            None if !variants.iter().any(|v| v.as_str() == name) => {
                bail!("{f}/config.yaml defines variant `{name}`, which its variants.csv lacks")
            }
            _ => {}
        }
    }
    let teachers = |d: &Folder| d.teachers.iter().map(untimed).collect::<Vec<_>>();
    if teachers(from) != teachers(into) {
        bail!("teachers.csv of {f} and {i} differ (beyond wall time): not the same teachers");
    }
    // Teachers the same stages; transfer sets and labels too, but those of a new variant.
    let new_sets = from
        .variants
        .iter()
        .any(|v| variants.contains(&v.model) && v.data == reports::schema::DataSource::Transfer);
    let into_shared: BTreeSet<_> = into.stages.iter().filter_map(shared_stage).collect();
    let mut stages = Vec::new();
    for (v, s) in from
        .stages
        .iter()
        .filter_map(|v| shared_stage(v).map(|s| (v, s)))
    {
        if into_shared.contains(&s) {
            continue;
        }
        let of_a_set = s.0 == "transfer" || s.0 == "labels";
        if !(of_a_set && new_sets) {
            bail!(
                "stage {} {} (model `{}`) of {f} is not among {i}'s stages: different settings",
                s.0,
                s.1,
                s.2
            );
        }
        stages.push(v.clone());
    }

    // The teacher's outputs, exactly: equal settings do not make equal weights across CPUs.
    for r in from.metrics.iter().filter(|r| r.model.is_teacher()) {
        let same = into.metrics.iter().find(|o| {
            (&o.model, o.split, o.metric, o.seed) == (&r.model, r.split, r.metric, r.seed)
        });
        match same {
            Some(o) if o.value == r.value => {}
            Some(o) => bail!(
                "the teacher's {} {} ({}) is {} in {f} and {} in {i}: not the same teacher \
                 (retrained on another CPU?)",
                r.split.id(),
                r.metric.id(),
                r.model,
                r.value,
                o.value
            ),
            None => bail!(
                "{i} has no {} {} row for `{}`, which {f} has",
                r.split.id(),
                r.metric.id(),
                r.model
            ),
        }
    }
    let teacher_preds = |d: &Folder| -> Vec<DevPredictionRow> {
        d.predictions
            .iter()
            .filter(|r| r.model.is_teacher())
            .map(|r| DevPredictionRow {
                config: String::new(),
                ..r.clone()
            })
            .collect()
    };
    if teacher_preds(from) != teacher_preds(into) {
        bail!("the teachers' dev predictions differ between {f} and {i}: not the same teacher");
    }
    // Continuous outputs within float rounding: the same settings on another CPU round sums
    // differently (README, "Reproducibility"), so the losses and logits of a retrained teacher
    // may differ in their last digits while every decision above is the same.
    let teacher_epochs = |d: &Folder| -> Vec<(ModelName, usize, u64, f64, f64)> {
        d.history
            .iter()
            .filter(|r| r.model.is_teacher())
            .map(|r| {
                (
                    r.model.clone(),
                    r.epoch,
                    r.seed,
                    r.train_loss,
                    r.dev_accuracy,
                )
            })
            .collect()
    };
    let (a, b) = (teacher_epochs(from), teacher_epochs(into));
    let same_epochs = a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| (&x.0, x.1, x.2, x.4) == (&y.0, y.1, y.2, y.4));
    if !same_epochs {
        bail!("the teachers' epochs or dev accuracies per epoch differ between {f} and {i}: not the same teacher");
    }
    let loss_rel = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x.3 - y.3).abs() / y.3.abs().max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max);
    if loss_rel > TRAIN_LOSS_RTOL {
        bail!(
            "the teachers' training losses differ by {loss_rel:.1e} (relative) between {f} and \
             {i}, more than float rounding ({TRAIN_LOSS_RTOL:.0e}): not the same teacher"
        );
    }
    let mut logit_abs = 0.0f64;
    if let (Some(x), Some(y)) = (&from.logits, &into.logits) {
        let same_rows = x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(p, q)| (&p.sentence, p.class) == (&q.sentence, q.class));
        if !same_rows {
            bail!("softmax_t.csv of {f} and {i} hold different sentences or classes");
        }
        logit_abs = x
            .iter()
            .zip(y)
            .map(|(p, q)| (p.logit - q.logit).abs())
            .fold(0.0, f64::max);
        if logit_abs > LOGIT_ATOL {
            bail!(
                "the teacher's logits in softmax_t.csv differ by {logit_abs:.1e} between {f} and \
                 {i}, more than float rounding ({LOGIT_ATOL:.0e}): not the same teacher"
            );
        }
    }
    let deviation = TeacherDeviation {
        train_loss_rel: loss_rel,
        logit_abs,
    };

    let students = from.students();
    if students.is_empty() {
        bail!("{f} has no student rows in metrics.csv: nothing to merge");
    }
    let present = into.students();
    if let Some((m, s)) = students.iter().find(|k| present.contains(k)) {
        bail!("{i} already has `{m}` seed {s}: a seed is merged once");
    }
    for (name, bytes) in &from.submissions {
        let is_teacher = submission_model(name)
            .ok_or_else(|| anyhow!("{f}/submissions/{name}: not <Task>.<model>.seed<N>.tsv"))?
            .is_teacher();
        match into.submissions.get(name) {
            Some(theirs) if is_teacher && theirs != bytes => {
                bail!("submissions/{name} differs between {f} and {i}: not the same teacher")
            }
            Some(_) if !is_teacher => bail!("{i}/submissions/{name} exists already"),
            None if is_teacher => bail!("{i} has no submissions/{name}, which {f} has"),
            _ => {}
        }
    }
    Ok(Checked {
        students,
        variants,
        stages,
        deviation,
    })
}

/// `into`'s rows with `from`'s rows of each student model inserted after `into`'s last row of
/// that model (so files stay grouped by model), the rest appended.
fn interleave<T: Clone>(
    into: &[T],
    added: impl Iterator<Item = T>,
    model: impl Fn(&T) -> &ModelName,
) -> Vec<T> {
    let mut by_model: BTreeMap<ModelName, Vec<T>> = BTreeMap::new();
    let mut order = Vec::new();
    for r in added {
        let m = model(&r).clone();
        if !by_model.contains_key(&m) {
            order.push(m.clone());
        }
        by_model.entry(m).or_default().push(r);
    }
    let last: BTreeMap<&ModelName, usize> = into
        .iter()
        .enumerate()
        .map(|(k, r)| (model(r), k))
        .collect();
    let mut out = Vec::with_capacity(into.len() + by_model.values().map(Vec::len).sum::<usize>());
    for (k, r) in into.iter().enumerate() {
        out.push(r.clone());
        let m = model(r);
        if last.get(m) == Some(&k) {
            out.extend(by_model.remove(m).unwrap_or_default());
        }
    }
    for m in order {
        out.extend(by_model.remove(&m).unwrap_or_default());
    }
    out
}

/// A per-student result row (metrics, history, dev predictions): its (model, seed), and the same
/// row under another config name.
trait StudentRow: Clone {
    fn key(&self) -> (&ModelName, u64);
    fn renamed(&self, config: &str) -> Self;
}

/// The three row types share the fields `StudentRow` reads, so one impl serves all.
macro_rules! student_row {
    ($($row:ident),*) => {$(
        impl StudentRow for $row {
            fn key(&self) -> (&ModelName, u64) {
                (&self.model, self.seed)
            }
            fn renamed(&self, config: &str) -> Self {
                $row {
                    config: config.to_string(),
                    ..self.clone()
                }
            }
        }
    )*};
}

student_row!(MetricRow, HistoryRow, DevPredictionRow);

/// `into`'s rows with `from`'s rows of the students `is_new` accepts, under config name `name`,
/// grouped by model ([`interleave`]).
fn added<T: StudentRow>(
    into: &[T],
    from: &[T],
    is_new: &impl Fn(&ModelName, u64) -> bool,
    name: &str,
) -> Vec<T> {
    interleave(
        into,
        from.iter()
            .filter(|r| {
                let (m, s) = r.key();
                is_new(m, s)
            })
            .map(|r| r.renamed(name)),
        |r| r.key().0,
    )
}

fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).with_context(|| format!("creating {}", dst.display()))?;
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let path = entry?.path();
        let target = dst.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_dir(&path, &target)?;
        } else {
            std::fs::copy(&path, &target)
                .with_context(|| format!("copying {} to {}", path.display(), target.display()))?;
        }
    }
    Ok(())
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    dir.with_file_name(name)
}

/// Finishes or undoes a swap a killed merge left: `<into>.premerge` is the old folder, renamed
/// away just before the new one was renamed in.
fn recover(into: &Path) -> Result<()> {
    let old = sibling(into, ".premerge");
    if old.is_dir() {
        if into.is_dir() {
            std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        } else {
            std::fs::rename(&old, into)
                .with_context(|| format!("restoring {} from {}", into.display(), old.display()))?;
        }
    }
    let staging = sibling(into, ".merging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing {}", staging.display()))?;
    }
    Ok(())
}

/// Adds the student rows and submission files of run folder `from` to result folder `into` (see
/// the module docs); `command` is recorded in `into`'s `run.json` under `merged`.
pub fn merge(from: &Path, into: &Path, command: &[String]) -> Result<Merged> {
    recover(into)?;
    let (src, dst) = (Folder::load(from)?, Folder::load(into)?);
    let Checked {
        students,
        variants,
        stages: new_stages,
        deviation: teacher_deviation,
    } = check(&src, &dst)?;
    let is_new = |m: &ModelName, s: u64| !m.is_teacher() && students.contains(&(m.clone(), s));
    // Added rows take `into`'s config name (a part run under another config's name included).
    let name = dst
        .variants
        .first()
        .map(|v| v.config.clone())
        .unwrap_or_default();

    let metrics = added(&dst.metrics, &src.metrics, &is_new, &name);
    let history = added(&dst.history, &src.history, &is_new, &name);
    let predictions = added(&dst.predictions, &src.predictions, &is_new, &name);
    let mut variant_rows = dst.variants.clone();
    variant_rows.extend(
        src.variants
            .iter()
            .filter(|v| variants.contains(&v.model))
            .map(|v| VariantRow {
                config: name.clone(),
                baseline: false,
                ..v.clone()
            }),
    );
    let mut stages = dst.stages.clone();
    stages.extend(new_stages);
    stages.extend(
        src.stages
            .iter()
            .filter(|v| shared_stage(v).is_none())
            .cloned(),
    );

    // config.yaml: `into`'s, with the new variants' definitions and every variant's seeds.
    let mut config = dst.config.clone();
    if !variants.is_empty() {
        let defs = src
            .config
            .get("students")
            .and_then(|s| s.get("variants"))
            .and_then(|v| v.as_mapping())
            .ok_or_else(|| anyhow!("{}/config.yaml: no students.variants", from.display()))?;
        let into_defs = config
            .get_mut("students")
            .and_then(|s| s.as_mapping_mut())
            .ok_or_else(|| anyhow!("{}/config.yaml: no `students` section", into.display()))?
            .entry("variants".into())
            .or_insert_with(|| serde_yaml::Value::Mapping(Default::default()));
        let into_defs = into_defs.as_mapping_mut().ok_or_else(|| {
            anyhow!(
                "{}/config.yaml: students.variants is not a map",
                into.display()
            )
        })?;
        for v in &variants {
            let def = defs.get(v.as_str()).ok_or_else(|| {
                anyhow!(
                    "{}/config.yaml: no definition of variant `{v}`",
                    from.display()
                )
            })?;
            into_defs.insert(v.as_str().into(), def.clone());
        }
    }
    let mut seeds_of: BTreeMap<ModelName, Vec<u64>> = BTreeMap::new();
    for r in metrics.iter().filter(|r| !r.model.is_teacher()) {
        let seeds = seeds_of.entry(r.model.clone()).or_default();
        if !seeds.contains(&r.seed) {
            seeds.push(r.seed);
        }
    }
    seeds_of.values_mut().for_each(|s| s.sort_unstable());
    record_seeds(&mut config, &seeds_of, &into.join("config.yaml"))?;
    let mut run = dst.run.clone();
    let entry = json!({
        "students": students.iter().map(|(m, s)| format!("{m} seed {s}")).collect::<Vec<_>>(),
        "variants": variants.iter().map(ModelName::as_str).collect::<Vec<_>>(),
        "config": src.variants.first().map(|v| v.config.as_str()),
        "from": src.run,
        "teacher_deviation": {
            "train_loss_rel": teacher_deviation.train_loss_rel,
            "logit_abs": teacher_deviation.logit_abs,
        },
        "merged_by": { "command": command, "git_rev": git_rev(), "build_rev": BUILD_REV },
    });
    match run.get_mut("merged").and_then(Value::as_array_mut) {
        Some(list) => list.push(entry),
        None => {
            run.as_object_mut()
                .ok_or_else(|| anyhow!("{}: not a JSON object", into.join("run.json").display()))?
                .insert("merged".into(), Value::Array(vec![entry]));
        }
    }

    let staging = sibling(into, ".merging");
    copy_dir(into, &staging)?;
    write_csv(&staging.join("metrics.csv"), &metrics)?;
    write_csv(&staging.join("history.csv"), &history)?;
    write_csv(&staging.join("dev_predictions.csv"), &predictions)?;
    if !variants.is_empty() {
        write_csv(&staging.join("variants.csv"), &variant_rows)?;
    }
    let write = |name: &str, bytes: Vec<u8>| {
        kd_core::io::atomic_write_bytes(&staging.join(name), &bytes)
            .with_context(|| format!("writing {}", staging.join(name).display()))
    };
    write("stages.json", serde_json::to_vec_pretty(&stages)?)?;
    write("run.json", serde_json::to_vec_pretty(&run)?)?;
    write("config.yaml", serde_yaml::to_string(&config)?.into_bytes())?;
    let mut copied = 0;
    for (name, bytes) in &src.submissions {
        if !submission_model(name).is_some_and(|m| m.is_teacher()) {
            write(&format!("submissions/{name}"), bytes.clone())?;
            copied += 1;
        }
    }
    let old = sibling(into, ".premerge");
    std::fs::rename(into, &old)
        .with_context(|| format!("renaming {} to {}", into.display(), old.display()))?;
    std::fs::rename(&staging, into)
        .with_context(|| format!("renaming {} to {}", staging.display(), into.display()))?;
    std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    Ok(Merged {
        students,
        variants,
        submissions: copied,
        teacher_deviation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A result folder by hand: a teacher (dev accuracy `teacher_acc`, fine-tune `seconds`) and
    /// the students `(variant, seed)`, each with one dev metric, one epoch, two dev predictions,
    /// a stage and a submission file.
    fn folder(dir: &Path, students: &[(&str, u64)], teacher_acc: f64, seconds: f64) {
        let w = |name: &str, text: String| {
            std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
            std::fs::write(dir.join(name), text).unwrap();
        };
        let seeds: BTreeSet<u64> = students.iter().map(|s| s.1).collect();
        let mut metrics = format!(
            "task,model,split,metric,value,seed,config,git_rev\n\
             sst2,teacher,dev,accuracy,{teacher_acc},0,c,r0\n"
        );
        let mut history = format!(
            "task,model,epoch,train_loss,dev_accuracy,seconds,seed,config\n\
             sst2,teacher,1,0.25,{teacher_acc},{seconds},0,c\n"
        );
        let mut preds = String::from(
            "task,config,model,seed,split,example,label,prediction\n\
             sst2,c,teacher,0,dev,0,0,0\nsst2,c,teacher,0,dev,1,1,1\n",
        );
        let mut stages =
            vec![json!({"stage": "teacher", "key": "t1", "dir": "s/t1", "model": "teacher"})];
        w(
            "submissions/SST-2.teacher.seed0.tsv",
            "index\tprediction\n0\t1\n".into(),
        );
        for &(m, s) in students {
            let acc = 80.0 + s as f64;
            metrics += &format!("sst2,{m},dev,accuracy,{acc},{s},c,r{s}\n");
            history += &format!("sst2,{m},1,0.5,{acc},1.0,{s},c\n");
            preds += &format!("sst2,c,{m},{s},dev,0,0,0\nsst2,c,{m},{s},dev,1,1,0\n");
            stages.push(json!({"stage": "student", "key": format!("{m}{s}"), "dir": "s", "model": m, "seed": s}));
            w(
                &format!("submissions/SST-2.{m}.seed{s}.tsv"),
                format!("index\tprediction\n0\t{}\n", s % 2),
            );
        }
        w("metrics.csv", metrics);
        w("history.csv", history);
        w("dev_predictions.csv", preds);
        w(
            "variants.csv",
            "task,config,model,baseline,data,targets,objective,alpha,soft,temperature,n_iter,transfer_size,description,teacher\n\
             sst2,c,bilstm,true,train,gold,hard,1.0,none,1.0,0,10,a,teacher\n\
             sst2,c,soft,false,transfer,teacher_logits,distill,0.0,mse,1.0,6,60,b,teacher\n"
                .into(),
        );
        w(
            "teachers.csv",
            format!(
                "task,config,model,kind,lr,epochs,warmup_ratio,weight_decay,max_len,pooling,seed,source,best_epoch,seconds,examples_per_sec,description\n\
                 sst2,c,teacher,fine_tune,0.00005,1,0.1,0.01,66,cls,0,,1,{seconds},{},\n",
                100.0 / seconds
            ),
        );
        w(
            "softmax_t.csv",
            "sentence,class,label_name,logit\n\"a film .\",0,negative,-1.5\n\"a film .\",1,positive,2.0\n"
                .into(),
        );
        w(
            "stages.json",
            serde_json::to_string_pretty(&stages).unwrap(),
        );
        w(
            "run.json",
            json!({"command": ["sst2"], "config": "c", "provenance": {"cpu": "x"}}).to_string(),
        );
        let seeds: Vec<String> = seeds.iter().map(|s| format!("  - {s}\n")).collect();
        w(
            "config.yaml",
            format!(
                "name: c\nstudents:\n  seeds:\n{}  baseline: bilstm\n",
                seeds.concat()
            ),
        );
    }

    fn models_in_order(dir: &Path) -> Vec<(String, u64)> {
        read_rows::<MetricRow>(&dir.join("metrics.csv"))
            .unwrap()
            .into_iter()
            .map(|r| (r.model.to_string(), r.seed))
            .collect()
    }

    #[test]
    fn adds_new_seeds_grouped_by_model_and_records_the_merge() {
        let tmp = tempfile::tempdir().unwrap();
        let (into, from) = (tmp.path().join("into"), tmp.path().join("from"));
        folder(
            &into,
            &[("bilstm", 0), ("bilstm", 1), ("soft", 0), ("soft", 1)],
            90.0,
            100.0,
        );
        // The same teacher (retrained elsewhere: only its wall time differs), seed 2.
        folder(&from, &[("bilstm", 2), ("soft", 2)], 90.0, 57.0);
        let m = merge(&from, &into, &["merge-results".into()]).unwrap();
        assert_eq!(m.students.len(), 2);
        assert_eq!(m.submissions, 2);
        let order: Vec<String> = models_in_order(&into)
            .iter()
            .map(|(m, s)| format!("{m}{s}"))
            .collect();
        assert_eq!(
            order,
            ["teacher0", "bilstm0", "bilstm1", "bilstm2", "soft0", "soft1", "soft2"]
        );
        let preds = read_rows::<DevPredictionRow>(&into.join("dev_predictions.csv")).unwrap();
        assert_eq!(preds.len(), 2 * 7);
        assert!(into.join("submissions/SST-2.soft.seed2.tsv").is_file());
        let config: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(into.join("config.yaml")).unwrap())
                .unwrap();
        assert_eq!(
            config["students"]["seeds"],
            serde_yaml::to_value([0, 1, 2]).unwrap()
        );
        let run = read_json(&into.join("run.json")).unwrap();
        assert_eq!(
            run["merged"][0]["students"],
            json!(["bilstm seed 2", "soft seed 2"])
        );
        assert_eq!(
            run["command"],
            json!(["sst2"]),
            "the folder's own command is kept"
        );
        let stages = read_json(&into.join("stages.json")).unwrap();
        assert_eq!(stages.as_array().unwrap().len(), 1 + 4 + 2);
        // The teacher's timing stays the folder's own.
        let t = read_rows::<TeacherRow>(&into.join("teachers.csv")).unwrap();
        assert_eq!(t[0].seconds, Some(100.0));
        assert!(!sibling(&into, ".merging").exists() && !sibling(&into, ".premerge").exists());

        // A seed is merged once.
        let err = merge(&from, &into, &[]).unwrap_err().to_string();
        assert!(err.contains("already has `bilstm` seed 2"), "{err}");
    }

    #[test]
    fn refuses_a_teacher_whose_outputs_differ_and_leaves_the_folder_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let (into, from) = (tmp.path().join("into"), tmp.path().join("from"));
        folder(&into, &[("bilstm", 0)], 90.0, 100.0);
        folder(&from, &[("bilstm", 1)], 89.5, 100.0);
        let before = std::fs::read(into.join("metrics.csv")).unwrap();
        let err = merge(&from, &into, &[]).unwrap_err().to_string();
        assert!(err.contains("not the same teacher"), "{err}");
        assert_eq!(std::fs::read(into.join("metrics.csv")).unwrap(), before);

        // Equal metrics but one dev prediction changed.
        folder(&from, &[("bilstm", 1)], 90.0, 100.0);
        let p = from.join("dev_predictions.csv");
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("teacher,0,dev,1,1,1", "teacher,0,dev,1,1,0");
        std::fs::write(&p, text).unwrap();
        let err = merge(&from, &into, &[]).unwrap_err().to_string();
        assert!(err.contains("dev predictions differ"), "{err}");

        // Equal everywhere but the teacher's test predictions.
        folder(&from, &[("bilstm", 1)], 90.0, 100.0);
        std::fs::write(
            from.join("submissions/SST-2.teacher.seed0.tsv"),
            "index\tprediction\n0\t0\n",
        )
        .unwrap();
        let err = merge(&from, &into, &[]).unwrap_err().to_string();
        assert!(err.contains("SST-2.teacher.seed0.tsv differs"), "{err}");
    }

    #[test]
    fn a_retrained_teacher_passes_within_float_rounding_only() {
        let tmp = tempfile::tempdir().unwrap();
        let (into, from) = (tmp.path().join("into"), tmp.path().join("from"));
        let edit = |name: &str, old: &str, new: &str| {
            let p = from.join(name);
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(text.contains(old), "{old} not in {name}");
            std::fs::write(&p, text.replace(old, new)).unwrap();
        };
        folder(&into, &[("bilstm", 0)], 90.0, 100.0);
        for (file, old, new, refused) in [
            (
                "history.csv",
                "teacher,1,0.25,",
                "teacher,1,0.26,",
                "training losses differ by 4.0e-2",
            ),
            (
                "softmax_t.csv",
                ",1,positive,2.0",
                ",1,positive,2.01",
                "logits in softmax_t.csv differ by 1.0e-2",
            ),
        ] {
            folder(&from, &[("bilstm", 1)], 90.0, 100.0);
            edit(file, old, new);
            let err = merge(&from, &into, &[]).unwrap_err().to_string();
            assert!(err.contains(refused), "{err}");
        }
        folder(&from, &[("bilstm", 1)], 90.0, 100.0);
        edit("history.csv", "teacher,1,0.25,", "teacher,1,0.2500000025,");
        edit("softmax_t.csv", ",1,positive,2.0", ",1,positive,2.0000003");
        let m = merge(&from, &into, &[]).unwrap();
        assert!(
            (m.teacher_deviation.train_loss_rel - 1e-8).abs() < 1e-12,
            "{m:?}"
        );
        assert!(
            (m.teacher_deviation.logit_abs - 3e-7).abs() < 1e-12,
            "{m:?}"
        );
        // The folder keeps its own teacher's numbers.
        let t = read_rows::<HistoryRow>(&into.join("history.csv")).unwrap();
        assert_eq!(t[0].train_loss, 0.25);
    }

    /// `threads` is the invocation's (e.g. `--threads 1` on a shared machine), not the
    /// experiment's: a part run with it joins a folder evaluated without it.
    #[test]
    fn the_thread_count_of_a_run_does_not_count() {
        let tmp = tempfile::tempdir().unwrap();
        let (into, from) = (tmp.path().join("into"), tmp.path().join("from"));
        folder(&into, &[("bilstm", 0)], 90.0, 100.0);
        folder(&from, &[("bilstm", 1)], 90.0, 100.0);
        for (dir, threads) in [(&into, "null"), (&from, "1")] {
            let cfg = dir.join("config.yaml");
            let text = std::fs::read_to_string(&cfg).unwrap() + &format!("threads: {threads}\n");
            std::fs::write(&cfg, text).unwrap();
        }
        merge(&from, &into, &[]).unwrap();
        assert_eq!(
            models_in_order(&into),
            [("teacher", 0), ("bilstm", 0), ("bilstm", 1)].map(|(m, s)| (m.to_string(), s))
        );
    }

    #[test]
    fn refuses_another_experiment() {
        let tmp = tempfile::tempdir().unwrap();
        let (into, from) = (tmp.path().join("into"), tmp.path().join("from"));
        folder(&into, &[("bilstm", 0)], 90.0, 100.0);
        folder(&from, &[("bilstm", 1)], 90.0, 100.0);
        let cfg = from.join("config.yaml");
        let text = std::fs::read_to_string(&cfg).unwrap() + "augment:\n  n_iter: 2\n";
        std::fs::write(&cfg, text).unwrap();
        let err = merge(&from, &into, &[]).unwrap_err().to_string();
        assert!(
            err.contains(
                "differ in more than the name and students.{seeds, baseline, variants} (in augment)"
            ),
            "{err}"
        );

        // A variant both have, defined otherwise.
        folder(&from, &[("soft", 1)], 90.0, 100.0);
        let v = from.join("variants.csv");
        let text = std::fs::read_to_string(&v)
            .unwrap()
            .replace("distill,0.0,mse", "distill,0.5,mse");
        std::fs::write(&v, text).unwrap();
        let err = merge(&from, &into, &[]).unwrap_err().to_string();
        assert!(err.contains("variant `soft` differs"), "{err}");

        folder(&from, &[("bilstm", 1)], 90.0, 100.0);
        let st = from.join("stages.json");
        let text = std::fs::read_to_string(&st)
            .unwrap()
            .replace("\"t1\"", "\"t2\"");
        std::fs::write(&st, text).unwrap();
        let err = merge(&from, &into, &[]).unwrap_err().to_string();
        assert!(err.contains("stage teacher t2"), "{err}");
    }

    #[test]
    fn adds_a_variant_run_on_its_own_under_another_configs_name() {
        let tmp = tempfile::tempdir().unwrap();
        let (into, from) = (tmp.path().join("into"), tmp.path().join("from"));
        let w = |dir: &Path, name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
        let defs = "  variants:\n    bilstm:\n      data: train\n    soft:\n      data: transfer\n";
        folder(
            &into,
            &[("bilstm", 0), ("bilstm", 1), ("soft", 0), ("soft", 1)],
            90.0,
            100.0,
        );
        let text = std::fs::read_to_string(into.join("config.yaml")).unwrap() + defs;
        w(&into, "config.yaml", &text);
        // `--variants t2` of a config `c-extras` extending `c`: one variant, on a set of its own.
        folder(&from, &[("t2", 0)], 90.0, 100.0);
        for name in [
            "metrics.csv",
            "history.csv",
            "dev_predictions.csv",
            "teachers.csv",
        ] {
            let text = std::fs::read_to_string(from.join(name)).unwrap();
            w(
                &from,
                name,
                &text
                    .replace(",c,", ",c-extras,")
                    .replace(",c\n", ",c-extras\n"),
            );
        }
        w(
            &from,
            "variants.csv",
            "task,config,model,baseline,data,targets,objective,alpha,soft,temperature,n_iter,transfer_size,description,teacher\n\
             sst2,c-extras,t2,true,transfer,teacher_logits,distill,0.0,soft_ce,2.0,2,20,c,teacher\n",
        );
        w(
            &from,
            "config.yaml",
            "name: c-extras\nstudents:\n  seeds:\n  - 0\n  variants:\n    t2:\n      data: transfer\n      augment: {n_iter: 2}\n",
        );
        let mut stages = read_json(&from.join("stages.json")).unwrap();
        stages
            .as_array_mut()
            .unwrap()
            .push(json!({"stage": "transfer", "key": "x2", "dir": "s/x2"}));
        w(&from, "stages.json", &stages.to_string());

        let m = merge(&from, &into, &["merge-results".into()]).unwrap();
        assert_eq!(m.variants, [ModelName::new("t2").unwrap()]);
        let variants = read_rows::<VariantRow>(&into.join("variants.csv")).unwrap();
        let rows: Vec<(String, String, bool)> = variants
            .iter()
            .map(|v| (v.model.to_string(), v.config.clone(), v.baseline))
            .collect();
        assert_eq!(
            rows,
            [
                ("bilstm".into(), "c".into(), true),
                ("soft".into(), "c".into(), false),
                ("t2".into(), "c".into(), false),
            ]
        );
        let metrics = read_rows::<MetricRow>(&into.join("metrics.csv")).unwrap();
        assert!(metrics.iter().all(|r| r.config == "c"));
        assert_eq!(metrics.len(), 6);
        let config: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(into.join("config.yaml")).unwrap())
                .unwrap();
        let students = &config["students"];
        assert_eq!(students["seeds"], serde_yaml::to_value([0, 1]).unwrap());
        assert_eq!(
            students["variants"]["t2"]["seeds"],
            serde_yaml::to_value([0]).unwrap(),
            "a variant whose seeds differ from students.seeds gets its own"
        );
        assert_eq!(students["variants"]["t2"]["augment"]["n_iter"], 2);
        assert!(students["variants"]["soft"].get("seeds").is_none());
        assert_eq!(config["name"], "c");
        let stages = read_json(&into.join("stages.json")).unwrap();
        assert!(stages.as_array().unwrap().iter().any(|s| s["key"] == "x2"));
        let run = read_json(&into.join("run.json")).unwrap();
        assert_eq!(run["merged"][0]["variants"], json!(["t2"]));
        assert_eq!(run["merged"][0]["config"], json!("c-extras"));

        // A set `into` lacks, brought by no new variant: other settings.
        let again = tmp.path().join("again");
        folder(&again, &[("bilstm", 2)], 90.0, 100.0);
        let mut stages = read_json(&again.join("stages.json")).unwrap();
        stages
            .as_array_mut()
            .unwrap()
            .push(json!({"stage": "transfer", "key": "x3", "dir": "s/x3"}));
        w(&again, "stages.json", &stages.to_string());
        let err = merge(&again, &into, &[]).unwrap_err().to_string();
        assert!(err.contains("stage transfer x3"), "{err}");
    }

    #[test]
    fn an_interrupted_swap_is_undone_or_finished() {
        let tmp = tempfile::tempdir().unwrap();
        let into = tmp.path().join("into");
        folder(&into, &[("bilstm", 0)], 90.0, 100.0);
        // Killed between the two renames: only the old folder, renamed away.
        let old = sibling(&into, ".premerge");
        std::fs::rename(&into, &old).unwrap();
        std::fs::create_dir_all(sibling(&into, ".merging")).unwrap();
        recover(&into).unwrap();
        assert!(into.join("metrics.csv").is_file() && !old.exists());
        assert!(!sibling(&into, ".merging").exists());
        // Killed after both: the old folder is left to remove.
        copy_dir(&into, &old).unwrap();
        recover(&into).unwrap();
        assert!(into.join("metrics.csv").is_file() && !old.exists());
    }

    #[test]
    fn submission_names() {
        assert_eq!(
            submission_model("SST-2.bilstm.seed3.tsv")
                .unwrap()
                .to_string(),
            "bilstm"
        );
        assert!(submission_model("SST-2.teacher.seed0.tsv")
            .unwrap()
            .is_teacher());
        assert!(submission_model("notes.tsv").is_none());
    }
}
