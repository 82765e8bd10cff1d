//! One run folder of an ablation grid (`<results>/<name>/` holding `variants.csv`): its variants,
//! dev metrics and per-example dev predictions, checked against each other. A malformed or
//! inconsistent file is one error naming the file and line.

use super::bootstrap::Correctness;
use crate::error::{ReportError, Result};
use crate::load::{
    read_lines_from, read_optional, read_unique, DevPredictionRow, HistoryRow, MetricRow,
    TeacherRow, VariantRow,
};
use crate::schema::{Metric, ModelName, Split, Task};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Accuracy from the predictions and the metric row may differ by float formatting only.
const ACCURACY_TOLERANCE: f64 = 1e-6;

/// A loaded, checked ablation run folder.
#[derive(Debug, Clone)]
pub struct AblationRun {
    /// The folder.
    pub dir: PathBuf,
    /// Its name (`sst2-ablations`).
    pub name: String,
    /// The task every row names.
    pub task: Task,
    /// The config every row names.
    pub config: String,
    /// The dev split the variants are compared on ([`Task::primary_dev_split`]).
    pub split: Split,
    /// The variants, in the file's (the config's) order.
    pub variants: Vec<VariantRow>,
    /// Every row of `metrics.csv` (teacher included).
    pub metrics: Vec<MetricRow>,
    /// Per model, per seed, whether each dev example of `split` was classified correctly.
    pub correct: BTreeMap<ModelName, Correctness>,
    /// Per student variant, per seed, whether its prediction on each sentence of the test split
    /// equals its teacher's ([`super::agreement`]); empty for runs without submission files.
    pub agreement: BTreeMap<ModelName, Correctness>,
    /// `teachers.csv`: how each teacher was made (empty for runs made before teachers were
    /// data, whose one teacher is `teacher`).
    pub teachers: Vec<TeacherRow>,
    /// `history.csv`, when present: every model's per-epoch record.
    pub history: Vec<HistoryRow>,
}

/// The sub-folders of `results` holding a `variants.csv`, sorted by name.
pub fn find_runs(results: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(results).map_err(|e| ReportError::io(results, e))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ReportError::io(results, e))?;
        let dir = entry.path();
        if dir.is_dir() && AblationRun::variants_path(&dir).is_file() {
            dirs.push(dir);
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| ReportError::io(path, e))
}

impl AblationRun {
    /// `<dir>/variants.csv`.
    pub fn variants_path(dir: &Path) -> PathBuf {
        dir.join("variants.csv")
    }
    /// `<dir>/metrics.csv`.
    pub fn metrics_path(dir: &Path) -> PathBuf {
        dir.join("metrics.csv")
    }
    /// `<dir>/dev_predictions.csv`.
    pub fn predictions_path(dir: &Path) -> PathBuf {
        dir.join("dev_predictions.csv")
    }

    /// The baseline variant (exactly one exists once loaded).
    pub fn baseline(&self) -> &VariantRow {
        // `load` rejects a folder without exactly one baseline.
        self.variants
            .iter()
            .find(|v| v.baseline)
            .unwrap_or(&self.variants[0])
    }

    /// Loads and cross-checks the three files of `dir`.
    pub fn load(dir: &Path) -> Result<AblationRun> {
        let variants = read_variants(&Self::variants_path(dir))?;
        // `read_variants` rejects an empty file and a second task or config.
        let (task, config) = (variants[0].task, variants[0].config.clone());
        let grid = Grid {
            task,
            config: &config,
            variants: &variants,
        };
        let mpath = Self::metrics_path(dir);
        let metrics = read_metrics(&mpath, &grid)?;
        let split = task.primary_dev_split();
        let ppath = Self::predictions_path(dir);
        let (correct, lines) = read_predictions(&ppath, &grid, split)?;
        // The table's accuracies (metrics.csv) and the bootstrap's (dev_predictions.csv) must
        // describe the same predictions.
        let files = (mpath.as_path(), ppath.as_path());
        check_accuracies_match(&metrics, &correct, split, files)?;
        check_predictions_have_accuracy(&lines, &metrics, split, files)?;
        let agreement = super::agreement::read_agreement(dir, task, &variants)?;
        check_agreement_matches(&metrics, &agreement, task, &mpath)?;
        Ok(AblationRun {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dir: dir.to_path_buf(),
            task,
            config,
            split,
            variants,
            metrics: metrics.into_iter().map(|(_, r)| r).collect(),
            correct,
            agreement,
            teachers: read_optional::<TeacherRow>(&dir.join("teachers.csv"))?.unwrap_or_default(),
            history: read_optional::<HistoryRow>(&dir.join("history.csv"))?.unwrap_or_default(),
        })
    }
}

fn not_found(path: &Path) -> ReportError {
    ReportError::io(path, std::io::ErrorKind::NotFound.into())
}

/// Reads `variants.csv`: at least one variant, one task and config throughout, one baseline.
fn read_variants(path: &Path) -> Result<Vec<VariantRow>> {
    let variants = read_unique(path, |r: &VariantRow| r.model.clone())?
        .ok_or_else(|| not_found(path))?;
    let Some((_, first)) = variants.first() else {
        return Err(ReportError::parse(path, 1, "no variants"));
    };
    let (task, config) = (first.task, &first.config);
    let mut baseline_line: Option<usize> = None;
    for (line, v) in &variants {
        if v.task != task || v.config != *config {
            return Err(ReportError::parse(
                path,
                *line,
                format!(
                    "task/config `{}`/`{}` differs from line 2's `{}`/`{config}`",
                    v.task, v.config, task
                ),
            ));
        }
        if v.baseline {
            if let Some(first) = baseline_line {
                return Err(ReportError::parse(
                    path,
                    *line,
                    format!("a second baseline (line {first} is one)"),
                ));
            }
            baseline_line = Some(*line);
        }
    }
    if baseline_line.is_none() {
        return Err(ReportError::Invalid {
            path: path.to_path_buf(),
            msg: "no variant has baseline = true".into(),
        });
    }
    Ok(variants.into_iter().map(|(_, v)| v).collect())
}

/// What every row of `metrics.csv` and `dev_predictions.csv` must agree with: the task and
/// config of `variants.csv`, and a model that is the teacher or one of its variants.
struct Grid<'a> {
    task: Task,
    config: &'a str,
    variants: &'a [VariantRow],
}

impl Grid<'_> {
    /// Checks the row at `path:line` (its task, config and model) against the grid.
    fn check(
        &self,
        path: &Path,
        line: usize,
        task: Task,
        config: &str,
        model: &ModelName,
    ) -> Result<()> {
        if task != self.task || config != self.config {
            return Err(ReportError::parse(
                path,
                line,
                format!(
                    "task/config `{task}`/`{config}`, variants.csv says `{}`/`{}`",
                    self.task, self.config
                ),
            ));
        }
        let known = model.is_teacher() || self.variants.iter().any(|v| v.model == *model);
        if !known {
            return Err(ReportError::parse(
                path,
                line,
                format!("model `{model}` is not in variants.csv"),
            ));
        }
        Ok(())
    }
}

/// Reads `metrics.csv`, each row checked against the grid; rows keep their lines.
fn read_metrics(path: &Path, grid: &Grid<'_>) -> Result<Vec<(usize, MetricRow)>> {
    let metrics = read_unique(path, |r: &MetricRow| {
        (r.model.clone(), r.split, r.metric, r.seed, r.config.clone())
    })?
    .ok_or_else(|| not_found(path))?;
    for (line, r) in &metrics {
        grid.check(path, *line, r.task, &r.config, &r.model)?;
    }
    Ok(metrics)
}

/// Every `split` accuracy of `metrics.csv` has predictions, and they give that accuracy.
/// `files` is (metrics.csv, dev_predictions.csv), for the messages.
fn check_accuracies_match(
    metrics: &[(usize, MetricRow)],
    correct: &BTreeMap<ModelName, Correctness>,
    split: Split,
    (mpath, ppath): (&Path, &Path),
) -> Result<()> {
    for (line, r) in metrics {
        if r.split != split || r.metric != Metric::Accuracy {
            continue;
        }
        let Some(c) = correct
            .get(&r.model)
            .and_then(|by_seed| by_seed.get(&r.seed))
        else {
            return Err(ReportError::parse(
                mpath,
                *line,
                format!(
                    "no predictions for model `{}` seed {} in {}",
                    r.model,
                    r.seed,
                    ppath.display()
                ),
            ));
        };
        let acc = 100.0 * c.iter().filter(|&&ok| ok).count() as f64 / c.len() as f64;
        if (acc - r.value).abs() > ACCURACY_TOLERANCE {
            return Err(ReportError::parse(
                mpath,
                *line,
                format!(
                    "accuracy {} but {} gives {acc} for model `{}` seed {}",
                    r.value,
                    ppath.display(),
                    r.model,
                    r.seed
                ),
            ));
        }
    }
    Ok(())
}

/// Every (model, seed) with predictions has a `split` accuracy in `metrics.csv`.
fn check_predictions_have_accuracy(
    lines: &PredictionLines,
    metrics: &[(usize, MetricRow)],
    split: Split,
    (mpath, ppath): (&Path, &Path),
) -> Result<()> {
    for ((model, seed), line) in lines {
        let has_metric = metrics.iter().any(|(_, r)| {
            r.model == *model && r.seed == *seed && r.split == split && r.metric == Metric::Accuracy
        });
        if !has_metric {
            return Err(ReportError::parse(
                ppath,
                *line,
                format!(
                    "model `{model}` seed {seed} has predictions but no {} accuracy in {}",
                    split.id(),
                    mpath.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Where `metrics.csv` has a `teacher_agreement` row on the test split for a (variant, seed),
/// it must equal the agreement the submission files give (the run's and the report's
/// measurements of one thing).
fn check_agreement_matches(
    metrics: &[(usize, MetricRow)],
    agreement: &BTreeMap<ModelName, Correctness>,
    task: Task,
    mpath: &Path,
) -> Result<()> {
    let split = match task {
        Task::Mnli => Split::TestMatched,
        Task::Sst2 | Task::Qqp => Split::Test,
    };
    for (line, r) in metrics {
        if r.metric != Metric::TeacherAgreement || r.split != split {
            continue;
        }
        let Some(agree) = agreement.get(&r.model).and_then(|s| s.get(&r.seed)) else {
            continue;
        };
        let ours = 100.0 * agree.iter().filter(|&&a| a).count() as f64 / agree.len().max(1) as f64;
        if (ours - r.value).abs() > ACCURACY_TOLERANCE {
            return Err(ReportError::parse(
                mpath,
                *line,
                format!(
                    "`{}` seed {}: teacher_agreement {} but its submission agrees with its \
                     teacher's on {ours}%",
                    r.model, r.seed, r.value
                ),
            ));
        }
    }
    Ok(())
}

type PredictionLines = BTreeMap<(ModelName, u64), usize>;

/// Reads `dev_predictions.csv` into per-model, per-seed correctness on `split`, checking that
/// every (model, seed) covers examples 0..n−1 once each, with one gold label per example.
/// Also returns each (model, seed)'s first line, for later messages.
fn read_predictions(
    path: &Path,
    grid: &Grid<'_>,
    split: Split,
) -> Result<(BTreeMap<ModelName, Correctness>, PredictionLines)> {
    let rows = read_lines_from::<DevPredictionRow, _>(path, open(path)?)?;
    let mut tally = Tally::default();
    for (line, r) in rows {
        grid.check(path, line, r.task, &r.config, &r.model)?;
        if r.split == split {
            tally.add(path, line, &r)?;
        }
    }
    tally.finish(path, split)
}

/// The predictions of one split read so far.
#[derive(Default)]
struct Tally {
    /// Per (model, seed), per example: its line and whether the prediction was right.
    by_run: BTreeMap<(ModelName, u64), BTreeMap<usize, (usize, bool)>>,
    /// Per example: its gold label and the line that first gave it.
    labels: BTreeMap<usize, (usize, usize)>,
    /// Each (model, seed)'s first line.
    first_line: PredictionLines,
}

impl Tally {
    /// Adds the row at `path:line`: its label must agree with earlier rows' for that example,
    /// and its (model, seed) must not have predicted that example yet.
    fn add(&mut self, path: &Path, line: usize, r: &DevPredictionRow) -> Result<()> {
        match self.labels.get(&r.example) {
            Some(&(label, at)) if label != r.label => {
                return Err(ReportError::parse(
                    path,
                    line,
                    format!(
                        "example {} has label {}, line {at} says {label}",
                        r.example, r.label
                    ),
                ));
            }
            Some(_) => {}
            None => {
                self.labels.insert(r.example, (r.label, line));
            }
        }
        let key = (r.model.clone(), r.seed);
        self.first_line.entry(key.clone()).or_insert(line);
        let seen = self.by_run.entry(key).or_default();
        if let Some(&(at, _)) = seen.get(&r.example) {
            return Err(ReportError::parse(
                path,
                line,
                format!(
                    "model `{}` seed {} predicts example {} twice (line {at})",
                    r.model, r.seed, r.example
                ),
            ));
        }
        seen.insert(r.example, (line, r.label == r.prediction));
        Ok(())
    }

    /// The number of examples, once they are checked to run 0..n−1 without a gap.
    fn examples(&self, path: &Path, split: Split) -> Result<usize> {
        let n = self.labels.len();
        if let Some((&last, _)) = self.labels.last_key_value() {
            if last + 1 != n {
                let missing = (0..n).find(|i| !self.labels.contains_key(i)).unwrap_or(0);
                return Err(ReportError::Invalid {
                    path: path.to_path_buf(),
                    msg: format!(
                        "{} example {missing} has no prediction (examples run to {last})",
                        split.id()
                    ),
                });
            }
        }
        Ok(n)
    }

    /// Per model, per seed, the correctness of every example; each (model, seed) must cover all.
    fn finish(
        self,
        path: &Path,
        split: Split,
    ) -> Result<(BTreeMap<ModelName, Correctness>, PredictionLines)> {
        let n = self.examples(path, split)?;
        let mut correct: BTreeMap<ModelName, Correctness> = BTreeMap::new();
        for ((model, seed), seen) in self.by_run {
            if seen.len() != n {
                let missing = (0..n).find(|i| !seen.contains_key(i)).unwrap_or(0);
                return Err(ReportError::Invalid {
                    path: path.to_path_buf(),
                    msg: format!(
                        "model `{model}` seed {seed} has {} of {n} {} predictions (no example {missing})",
                        seen.len(),
                        split.id()
                    ),
                });
            }
            let ok = seen.into_values().map(|(_, ok)| ok).collect();
            correct.entry(model).or_default().insert(seed, ok);
        }
        Ok((correct, self.first_line))
    }
}
