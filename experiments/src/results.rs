//! Tidy result files: `metrics.csv` (one row per model × split × metric, values in percent) and
//! `history.csv` (one row per training epoch), the inputs of the `reports` crate.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use std::path::Path;

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// `sst2`, `qqp` or `mnli`.
    pub task: String,
    /// `teacher`, `bilstm` or `bilstm_soft`.
    pub model: String,
    /// `dev`, `dev_matched`, `dev_mismatched`, ...
    pub split: String,
    /// `accuracy` or `f1`.
    pub metric: String,
    /// In percent.
    pub value: f64,
    /// The run's seed.
    pub seed: u64,
    /// The config name.
    pub config: String,
    /// `git rev-parse --short HEAD` of the code that ran (`-dirty` when uncommitted changes).
    pub git_rev: String,
}

/// One row of `history.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// Task name.
    pub task: String,
    /// Model name.
    pub model: String,
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Dev accuracy after the epoch, in percent.
    pub dev_accuracy: f64,
    /// Wall time of the epoch.
    pub seconds: f64,
    /// The run's seed.
    pub seed: u64,
    /// The config name.
    pub config: String,
}

/// One row of `variants.csv`: what each evaluated student variant is (one row per variant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantRow {
    /// Task name.
    pub task: String,
    /// The config name.
    pub config: String,
    /// The variant's name (the `model` of metrics.csv).
    pub model: String,
    /// Whether every Δ is measured against this variant.
    pub baseline: bool,
    /// `train` or `transfer`.
    pub data: String,
    /// `gold`, `inherited`, `teacher_argmax` or `teacher_logits`.
    pub targets: String,
    /// `hard` or `distill`.
    pub objective: String,
    /// Weight of the hard term (1 for `hard`).
    pub alpha: f64,
    /// `none`, `mse`, `mse_elementwise`, `soft_ce` or `kl`.
    pub soft: String,
    /// Temperature of the soft term (1 where unused).
    pub temperature: f64,
    /// The transfer set's n_iter (0 for `train` data).
    pub n_iter: usize,
    /// Examples trained on.
    pub transfer_size: usize,
    /// One line.
    pub description: String,
}

/// One row of `dev_predictions.csv`: a model's prediction for one dev example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevPredictionRow {
    /// Task name.
    pub task: String,
    /// The config name.
    pub config: String,
    /// The model (variant) name.
    pub model: String,
    /// Its seed.
    pub seed: u64,
    /// The dev split.
    pub split: String,
    /// 0-based index of the example in the split (after the config's limits).
    pub example: usize,
    /// Gold label.
    pub label: usize,
    /// Predicted label.
    pub prediction: usize,
}

/// Writes `rows` as CSV with a header, atomically.
pub fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut wtr = csv::Writer::from_writer(Vec::new());
    for row in rows {
        wtr.serialize(row)?;
    }
    let bytes = wtr.into_inner().context("flushing CSV")?;
    kd_core::io::atomic_write_bytes(path, &bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// The short git revision of the working tree, with `-dirty` when it has uncommitted changes;
/// `unknown` outside a git checkout.
pub fn git_rev() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) if !rev.is_empty() => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev}-dirty")
            } else {
                rev
            }
        }
        _ => "unknown".to_string(),
    }
}

/// The paper's published numbers (Table 1, GLUE test), from `reports/data/published.csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct Published {
    /// `table1` / `table2`.
    pub table: String,
    /// Task name.
    pub task: String,
    /// Model name.
    pub model: String,
    /// Split (the paper reports GLUE test).
    pub split: String,
    /// Metric name.
    pub metric: String,
    /// Value (percent for Table 1).
    pub value: f64,
    /// Where it comes from.
    pub source: String,
}

/// The published rows, compiled in so that the binaries can print the comparison anywhere.
pub fn published() -> Result<Vec<Published>> {
    const CSV: &str = include_str!("../../reports/data/published.csv");
    let mut rdr = csv::Reader::from_reader(CSV.as_bytes());
    let mut rows = Vec::new();
    for (i, row) in rdr.deserialize().enumerate() {
        rows.push(row.with_context(|| format!("reports/data/published.csv:{}", i + 2))?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_numbers_parse_and_hold_the_sst2_rows() {
        let rows = published().unwrap();
        let find = |model: &str| {
            rows.iter()
                .find(|p| {
                    p.table == "table1"
                        && p.task == "sst2"
                        && p.model == model
                        && p.metric == "accuracy"
                })
                .map(|p| p.value)
        };
        assert_eq!(find("bilstm_soft"), Some(90.7));
        assert_eq!(find("bilstm"), Some(86.7));
    }
}
