//! The rows of the experiments' result CSVs (STYLE.md "Configuration and results": tidy, one
//! row per run × metric, values in percent) and the checks each row must pass beyond its types.
//! The one definition of the result schema: `reports` reads these rows and the experiments crate
//! writes them ([`write_rows`]), so the two cannot drift apart. Field order is column order.

use crate::error::{ReportError, Result};
use crate::io::atomic_write_bytes;
use crate::schema::{
    DataSource, Metric, Model, ModelName, Objective, SoftKind, Split, Targets, Task,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A row type of one of the result CSVs.
pub trait CsvRow: DeserializeOwned {
    /// The columns every file must have (any order).
    const COLUMNS: &'static [&'static str];
    /// Columns added after files were committed: written with every new file (after
    /// [`CsvRow::COLUMNS`]), optional when reading (a file without them still loads; their
    /// fields take their serde default).
    const OPTIONAL_COLUMNS: &'static [&'static str] = &[];
    /// Checks that go beyond types (ranges, consistency); the message names the column.
    fn check(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// One evaluation result: `<results>/<task>/metrics.csv`, or a run's `metrics.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// The task.
    pub task: Task,
    /// Which model was evaluated: `teacher` or a student variant.
    pub model: ModelName,
    /// Which split.
    pub split: Split,
    /// Which metric.
    pub metric: Metric,
    /// The value, in percent.
    pub value: f64,
    /// The run's seed.
    pub seed: u64,
    /// The config the run used (name or path).
    pub config: String,
    /// The git revision of the code that produced it.
    pub git_rev: String,
}

impl CsvRow for MetricRow {
    const COLUMNS: &'static [&'static str] = &[
        "task", "model", "split", "metric", "value", "seed", "config", "git_rev",
    ];
    fn check(&self) -> std::result::Result<(), String> {
        if self.metric.is_percent() {
            check_percent("value", self.value)
        } else {
            check_non_negative("value", self.value)
        }
    }
}

/// One training epoch of a model: `<results>/<task>/history.csv`, or a run's `history.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// The task.
    pub task: Task,
    /// The model trained: `teacher` or a student variant.
    pub model: ModelName,
    /// 1-based epoch (0 allowed for an evaluation before training).
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Dev accuracy after the epoch, percent.
    pub dev_accuracy: f64,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
    /// The run's seed.
    pub seed: u64,
    /// The config the run used.
    pub config: String,
}

impl CsvRow for HistoryRow {
    const COLUMNS: &'static [&'static str] = &[
        "task",
        "model",
        "epoch",
        "train_loss",
        "dev_accuracy",
        "seconds",
        "seed",
        "config",
    ];
    fn check(&self) -> std::result::Result<(), String> {
        check_percent("dev_accuracy", self.dev_accuracy)?;
        check_finite("train_loss", self.train_loss)?;
        check_non_negative("seconds", self.seconds)
    }
}

/// One class logit of the teacher for one sentence: `<results>/sst2/softmax_t.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogitRow {
    /// The sentence (the same on every row).
    pub sentence: String,
    /// 0-based class index.
    pub class: usize,
    /// The class's name (`negative`, `positive`).
    pub label_name: String,
    /// The teacher's logit for the class.
    pub logit: f64,
}

impl CsvRow for LogitRow {
    const COLUMNS: &'static [&'static str] = &["sentence", "class", "label_name", "logit"];
    fn check(&self) -> std::result::Result<(), String> {
        check_finite("logit", self.logit)
    }
}

/// One model's size and inference time on this machine: `<results>/table2.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedRow {
    /// The model timed.
    pub model: Model,
    /// Number of parameters.
    pub params: u64,
    /// Number of parameters outside the embedding tables.
    pub params_without_embeddings: u64,
    /// Device name (`cpu`).
    pub device: String,
    /// Intra-op threads.
    pub threads: usize,
    /// Inference batch size.
    pub batch_size: usize,
    /// Sentences classified per repeat.
    pub sentences: usize,
    /// Median seconds over the repeats.
    pub seconds_median: f64,
    /// Fastest repeat.
    pub seconds_min: f64,
    /// Slowest repeat.
    pub seconds_max: f64,
    /// Number of timed repeats.
    pub repeats: usize,
    /// What ran the model; `None` in files written before the column: libtorch.
    #[serde(default)]
    pub runtime: Option<Runtime>,
    /// Threads of the latency measurement (1).
    #[serde(default)]
    pub latency_threads: Option<usize>,
    /// Sentences timed one by one (SST-2 dev).
    #[serde(default)]
    pub latency_sentences: Option<usize>,
    /// Median per-sentence latency at batch 1, milliseconds (text in, logits out).
    #[serde(default)]
    pub latency_p50_ms: Option<f64>,
    /// 95th percentile of the same.
    #[serde(default)]
    pub latency_p95_ms: Option<f64>,
    /// 99th percentile of the same.
    #[serde(default)]
    pub latency_p99_ms: Option<f64>,
}

/// What runs a model in `table2.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// libtorch through tch (the pipeline's models).
    Libtorch,
    /// tract, on the student exported to ONNX (the `classify` binary).
    Tract,
}

impl Runtime {
    /// The CSV spelling.
    pub fn id(self) -> &'static str {
        match self {
            Runtime::Libtorch => "libtorch",
            Runtime::Tract => "tract",
        }
    }
}

impl SpeedRow {
    /// The runtime (libtorch where the file predates the column).
    pub fn runtime(&self) -> Runtime {
        self.runtime.unwrap_or(Runtime::Libtorch)
    }
}

impl CsvRow for SpeedRow {
    const COLUMNS: &'static [&'static str] = &[
        "model",
        "params",
        "params_without_embeddings",
        "device",
        "threads",
        "batch_size",
        "sentences",
        "seconds_median",
        "seconds_min",
        "seconds_max",
        "repeats",
    ];
    const OPTIONAL_COLUMNS: &'static [&'static str] = &[
        "runtime",
        "latency_threads",
        "latency_sentences",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
    ];
    fn check(&self) -> std::result::Result<(), String> {
        let latency = [
            self.latency_p50_ms,
            self.latency_p95_ms,
            self.latency_p99_ms,
        ];
        for (name, v) in ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]
            .into_iter()
            .zip(latency)
        {
            if let Some(v) = v {
                check_non_negative(name, v)?;
            }
        }
        if let [Some(p50), Some(p95), Some(p99)] = latency {
            if !(p50 <= p95 && p95 <= p99) {
                return Err(format!(
                    "expected latency_p50_ms <= latency_p95_ms <= latency_p99_ms, got {p50} / {p95} / {p99}"
                ));
            }
        }
        for (name, v) in [
            ("seconds_median", self.seconds_median),
            ("seconds_min", self.seconds_min),
            ("seconds_max", self.seconds_max),
        ] {
            check_non_negative(name, v)?;
        }
        if !(self.seconds_min <= self.seconds_median && self.seconds_median <= self.seconds_max) {
            return Err(format!(
                "expected seconds_min <= seconds_median <= seconds_max, got {} / {} / {}",
                self.seconds_min, self.seconds_median, self.seconds_max
            ));
        }
        if self.params_without_embeddings > self.params {
            return Err(format!(
                "params_without_embeddings {} exceeds params {}",
                self.params_without_embeddings, self.params
            ));
        }
        if self.sentences == 0 || self.repeats == 0 {
            return Err("sentences and repeats must be positive".into());
        }
        Ok(())
    }
}

/// One student variant of a run: `<run>/variants.csv` (one row per variant; Δs are measured
/// against the row with `baseline = true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantRow {
    /// The task.
    pub task: Task,
    /// The config name.
    pub config: String,
    /// The variant's name (the `model` of metrics.csv); never `teacher`.
    pub model: ModelName,
    /// Whether every Δ is measured against this variant.
    pub baseline: bool,
    /// Training set or transfer set.
    pub data: DataSource,
    /// What the student is trained to predict.
    pub targets: Targets,
    /// Hard CE only, or distillation.
    pub objective: Objective,
    /// Weight of the hard term (1 for `hard`).
    pub alpha: f64,
    /// The soft term (`none` for `hard`).
    pub soft: SoftKind,
    /// Temperature of the soft term (1 where unused).
    pub temperature: f64,
    /// The transfer set's n_iter (0 for training-set variants).
    pub n_iter: usize,
    /// Examples trained on per epoch.
    pub transfer_size: usize,
    /// One line saying what the variant is.
    pub description: String,
    /// The teacher it learns from (for teacher-free variants, the one its fidelity is measured
    /// against): `teacher` or a teacher variant. Files written before teachers were data have
    /// no such column: their one teacher is `teacher`.
    #[serde(default = "ModelName::teacher")]
    pub teacher: ModelName,
}

impl CsvRow for VariantRow {
    const OPTIONAL_COLUMNS: &'static [&'static str] = &["teacher"];
    const COLUMNS: &'static [&'static str] = &[
        "task",
        "config",
        "model",
        "baseline",
        "data",
        "targets",
        "objective",
        "alpha",
        "soft",
        "temperature",
        "n_iter",
        "transfer_size",
        "description",
    ];
    fn check(&self) -> std::result::Result<(), String> {
        if self.model.is_teacher() {
            return Err(format!(
                "column `model`: `{}` is a teacher's name, not a student variant's",
                self.model
            ));
        }
        if !self.teacher.is_teacher() {
            return Err(format!(
                "column `teacher`: `{}` is not a teacher's name (teacher or teacher_<...>)",
                self.teacher
            ));
        }
        check_finite("alpha", self.alpha)?;
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(format!("column `alpha`: {} is not in [0, 1]", self.alpha));
        }
        check_finite("temperature", self.temperature)?;
        if self.temperature <= 0.0 {
            return Err(format!(
                "column `temperature`: {} is not positive",
                self.temperature
            ));
        }
        match (self.objective, self.soft) {
            (Objective::Hard, SoftKind::None) if self.alpha == 1.0 => {}
            (Objective::Hard, SoftKind::None) => {
                return Err(format!(
                    "column `alpha`: objective `hard` has alpha 1, got {}",
                    self.alpha
                ))
            }
            (Objective::Hard, _) => {
                return Err("column `soft`: objective `hard` has soft `none`".into())
            }
            (Objective::Distill, SoftKind::None) => {
                return Err("column `soft`: objective `distill` needs a soft term".into())
            }
            (Objective::Distill, _) => {}
        }
        match (self.data, self.targets) {
            (DataSource::Transfer, Targets::Gold) => Err(
                "column `targets`: augmented copies have no gold label (use `inherited`)".into(),
            ),
            (DataSource::Train, Targets::Inherited) => {
                Err("column `targets`: `inherited` labels exist only on the transfer set".into())
            }
            _ if self.transfer_size == 0 => {
                Err("column `transfer_size`: a variant trains on at least one example".into())
            }
            _ => Ok(()),
        }
    }
}

/// How a teacher of a run was made (`<run>/teachers.csv`, one row per teacher).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherRow {
    /// The task.
    pub task: Task,
    /// The config name.
    pub config: String,
    /// The teacher's name (`teacher` or `teacher_<...>`).
    pub model: ModelName,
    /// `fine_tune`, `epoch` (another teacher's checkpoint), `ensemble` or `dir`.
    pub kind: String,
    /// Peak learning rate (fine-tunes; an epoch checkpoint's parent's), else empty.
    pub lr: Option<f64>,
    /// Fine-tuning epochs (an epoch checkpoint: its epoch), else empty.
    pub epochs: Option<usize>,
    /// Warm-up fraction, else empty.
    pub warmup_ratio: Option<f64>,
    /// AdamW weight decay, else empty.
    pub weight_decay: Option<f64>,
    /// Truncation length in tokens, else empty.
    pub max_len: Option<usize>,
    /// `cls` or `mean` (fine-tunes and their checkpoints), else empty.
    pub pooling: Option<String>,
    /// Fine-tuning seed, else empty.
    pub seed: Option<u64>,
    /// What it is made of: an epoch checkpoint's parent, an ensemble's members (`a+b+c`), a
    /// directory's path; empty for a fine-tune.
    pub source: String,
    /// The epoch whose weights it is (best dev epoch of a fine-tune), else empty.
    pub best_epoch: Option<usize>,
    /// Wall seconds of its fine-tune (all epochs), else empty.
    pub seconds: Option<f64>,
    /// Training examples per second over its fine-tune, else empty.
    pub examples_per_sec: Option<f64>,
    /// One line saying what it is.
    pub description: String,
}

impl CsvRow for TeacherRow {
    const COLUMNS: &'static [&'static str] = &[
        "task",
        "config",
        "model",
        "kind",
        "lr",
        "epochs",
        "warmup_ratio",
        "weight_decay",
        "max_len",
        "pooling",
        "seed",
        "source",
        "best_epoch",
        "seconds",
        "examples_per_sec",
        "description",
    ];
    fn check(&self) -> std::result::Result<(), String> {
        if !self.model.is_teacher() {
            return Err(format!(
                "column `model`: `{}` is not a teacher's name (teacher or teacher_<...>)",
                self.model
            ));
        }
        if !["fine_tune", "epoch", "ensemble", "dir"].contains(&self.kind.as_str()) {
            return Err(format!(
                "column `kind`: `{}` is not fine_tune, epoch, ensemble or dir",
                self.kind
            ));
        }
        for (column, v) in [
            ("lr", self.lr),
            ("warmup_ratio", self.warmup_ratio),
            ("weight_decay", self.weight_decay),
            ("seconds", self.seconds),
            ("examples_per_sec", self.examples_per_sec),
        ] {
            if let Some(v) = v {
                check_non_negative(column, v)?;
            }
        }
        Ok(())
    }
}

/// One model's prediction for one dev example: `<run>/dev_predictions.csv` (one row per model ×
/// seed × dev example), the input of the paired bootstrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevPredictionRow {
    /// The task.
    pub task: Task,
    /// The config name.
    pub config: String,
    /// The model: `teacher` or a student variant.
    pub model: ModelName,
    /// The model's seed.
    pub seed: u64,
    /// The dev split.
    pub split: Split,
    /// 0-based index of the example in the split (after the config's limits).
    pub example: usize,
    /// Gold label.
    pub label: usize,
    /// Predicted label.
    pub prediction: usize,
}

impl CsvRow for DevPredictionRow {
    const COLUMNS: &'static [&'static str] = &[
        "task",
        "config",
        "model",
        "seed",
        "split",
        "example",
        "label",
        "prediction",
    ];
    fn check(&self) -> std::result::Result<(), String> {
        let k = self.task.num_classes();
        for (column, v) in [("label", self.label), ("prediction", self.prediction)] {
            if v >= k {
                return Err(format!(
                    "column `{column}`: class {v} out of range for {} ({k} classes)",
                    self.task.display()
                ));
            }
        }
        Ok(())
    }
}

/// `rows` as CSV bytes with a header row; the columns are the fields in declaration order.
pub fn rows_to_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row)
            .map_err(|e| ReportError::io(path, std::io::Error::other(e.to_string())))?;
    }
    w.into_inner()
        .map_err(|e| ReportError::io(path, std::io::Error::other(e.to_string())))
}

/// The header line a file of `T` rows is written with: [`CsvRow::COLUMNS`], then
/// [`CsvRow::OPTIONAL_COLUMNS`].
pub fn header_line<T: CsvRow>() -> String {
    let all: Vec<&str> = T::COLUMNS
        .iter()
        .chain(T::OPTIONAL_COLUMNS)
        .copied()
        .collect();
    format!("{}\n", all.join(","))
}

/// Writes `rows` to `path` as CSV with a header, atomically (a temporary sibling, then rename).
/// An empty `rows` writes the header alone, so a reader still finds the documented columns.
pub fn write_rows<T: CsvRow + Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let bytes = if rows.is_empty() {
        header_line::<T>().into_bytes()
    } else {
        rows_to_csv(path, rows)?
    };
    atomic_write_bytes(path, &bytes)
}

fn check_finite(column: &str, v: f64) -> std::result::Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("column `{column}`: {v} is not finite"))
    }
}

fn check_non_negative(column: &str, v: f64) -> std::result::Result<(), String> {
    check_finite(column, v)?;
    if v < 0.0 {
        return Err(format!("column `{column}`: {v} is negative"));
    }
    Ok(())
}

fn check_percent(column: &str, v: f64) -> std::result::Result<(), String> {
    check_finite(column, v)?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!(
            "column `{column}`: {v} is not a percentage in [0, 100]"
        ));
    }
    Ok(())
}

// The readers: here, not in `load`, so that they exist without the `render` feature (the
// experiments' binaries read result folders through them too).

/// Reads every row of `path`, checking the header and each row. Errors name `path` and the
/// 1-based line.
pub fn read_rows<T: CsvRow>(path: &Path) -> Result<Vec<T>> {
    let file = std::fs::File::open(path).map_err(|e| ReportError::io(path, e))?;
    read_rows_from(path, file)
}

/// As [`read_rows`], from any reader; `path` is used in messages only.
pub fn read_rows_from<T: CsvRow, R: std::io::Read>(path: &Path, reader: R) -> Result<Vec<T>> {
    Ok(read_lines_from(path, reader)?
        .into_iter()
        .map(|(_, row)| row)
        .collect())
}

/// As [`read_rows_from`], keeping each row's 1-based line for later consistency checks.
pub fn read_lines_from<T: CsvRow, R: std::io::Read>(
    path: &Path,
    reader: R,
) -> Result<Vec<(usize, T)>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let headers = rdr.headers().map_err(|e| csv_error(path, &e))?.clone();
    check_header(path, &headers, T::COLUMNS, T::OPTIONAL_COLUMNS)?;
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, &e)),
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        let row: T = record.deserialize(Some(&headers)).map_err(|e| {
            let msg = match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => {
                    let text = err.kind().to_string();
                    // serde reports no field index for an unknown enum variant; the message
                    // quotes the value, so name the column holding it.
                    let index = err.field().map(|i| i as usize).or_else(|| {
                        record
                            .iter()
                            .position(|v| !v.is_empty() && text.contains(&format!("`{v}`")))
                    });
                    let column = index
                        .and_then(|i| headers.get(i))
                        .map(|c| format!("column `{c}`: "))
                        .unwrap_or_default();
                    format!("{column}{text}")
                }
                _ => e.to_string(),
            };
            ReportError::parse(path, line, msg)
        })?;
        row.check()
            .map_err(|msg| ReportError::parse(path, line, msg))?;
        rows.push((line, row));
    }
    Ok(rows)
}

fn csv_error(path: &Path, e: &csv::Error) -> ReportError {
    let line = e.position().map_or(1, |p| p.line() as usize);
    let msg = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields, found {len}")
        }
        _ => e.to_string(),
    };
    ReportError::parse(path, line, msg)
}

fn check_header(
    path: &Path,
    headers: &csv::StringRecord,
    expected: &[&str],
    optional: &[&str],
) -> Result<()> {
    let found: Vec<&str> = headers.iter().collect();
    let mut missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|c| !found.contains(c) && !optional.contains(c))
        .collect();
    let unexpected: Vec<&str> = found
        .iter()
        .copied()
        .filter(|c| !expected.contains(c) && !optional.contains(c))
        .collect();
    let mut dup = found.clone();
    dup.sort_unstable();
    dup.dedup();
    if missing.is_empty() && unexpected.is_empty() && dup.len() == found.len() {
        return Ok(());
    }
    missing.dedup();
    Err(ReportError::parse(
        path,
        1,
        format!(
            "wrong columns (missing: [{}], unexpected: [{}]); expected {}",
            missing.join(","),
            unexpected.join(","),
            expected.join(",")
        ),
    ))
}
