//! The rows of the experiments' result CSVs (STYLE.md "Configuration and results": tidy, one
//! row per run × metric, values in percent) and the checks each row must pass beyond its types.

use crate::schema::{Metric, Model, Split, Task};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A row type of one of the result CSVs.
pub trait CsvRow: DeserializeOwned {
    /// The exact columns the file must have (any order).
    const COLUMNS: &'static [&'static str];
    /// Checks that go beyond types (ranges, consistency); the message names the column.
    fn check(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// One evaluation result: `<results>/<task>/metrics.csv`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MetricRow {
    /// The task.
    pub task: Task,
    /// Which model was evaluated.
    pub model: Model,
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
        check_percent("value", self.value)
    }
}

/// One training epoch of a model: `<results>/<task>/history.csv`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HistoryRow {
    /// The task.
    pub task: Task,
    /// The model trained.
    pub model: Model,
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
    fn check(&self) -> std::result::Result<(), String> {
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
