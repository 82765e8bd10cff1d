//! The paper's own numbers (Tang et al. 2019, Tables 1 and 2), read from the committed
//! `reports/data/published.csv`, which names the source of every value. Only the rows we are
//! certain of are transcribed; the rest of Table 1 (BERT-base, OpenAI GPT, ELMo baselines,
//! GLUE's BiLSTM) is pointed to, not invented.

use crate::error::{ReportError, Result};
use crate::load::{read_lines_from, CsvRow};
use crate::schema::{Metric, PaperModel, Split, Task};
use serde::Deserialize;
use std::path::Path;

/// The committed copy, embedded so the binary works from any directory.
pub const PUBLISHED_CSV: &str = include_str!("../data/published.csv");
/// The path named in messages about the embedded copy.
pub const PUBLISHED_PATH: &str = "reports/data/published.csv";
/// Where the untranscribed Table 1 rows are.
pub const PAPER_URL: &str = "https://arxiv.org/abs/1903.12136";

/// What a published value measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PubMetric {
    /// Accuracy, percent (Table 1).
    Accuracy,
    /// F1, percent (Table 1, QQP).
    F1,
    /// Millions of parameters (Table 2).
    ParamsMillions,
    /// Inference seconds (Table 2).
    Seconds,
}

impl PubMetric {
    /// The Table 1 metric, if this is one.
    pub fn as_metric(self) -> Option<Metric> {
        match self {
            PubMetric::Accuracy => Some(Metric::Accuracy),
            PubMetric::F1 => Some(Metric::F1),
            _ => None,
        }
    }
}

/// Which of the paper's tables a number is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PubTable {
    /// Table 1: GLUE test scores.
    Table1,
    /// Table 2: size and inference time.
    Table2,
}

/// One published number.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PublishedRow {
    /// The paper's table.
    pub table: PubTable,
    /// The task.
    pub task: Task,
    /// The paper's model.
    pub model: PaperModel,
    /// The split it was measured on.
    pub split: Split,
    /// What it measures.
    pub metric: PubMetric,
    /// The value (percent, millions or seconds).
    pub value: f64,
    /// Where it is printed.
    pub source: String,
}

impl CsvRow for PublishedRow {
    const COLUMNS: &'static [&'static str] = &[
        "table", "task", "model", "split", "metric", "value", "source",
    ];
    fn check(&self) -> std::result::Result<(), String> {
        let is_table1 = self.metric.as_metric().is_some();
        if is_table1 != (self.table == PubTable::Table1) {
            return Err(format!(
                "metric {:?} does not belong to {:?}",
                self.metric, self.table
            ));
        }
        if !self.value.is_finite() || self.value <= 0.0 {
            return Err(format!(
                "column `value`: {} is not a positive number",
                self.value
            ));
        }
        if self.source.trim().is_empty() {
            return Err("column `source` is empty".into());
        }
        Ok(())
    }
}

/// The paper's numbers.
#[derive(Debug, Clone)]
pub struct Published {
    /// All rows, in file order.
    pub rows: Vec<PublishedRow>,
}

impl Published {
    /// Parses `text` (the contents of `path`); duplicates of a key are errors.
    pub fn parse(path: &Path, text: &str) -> Result<Published> {
        let lines = read_lines_from::<PublishedRow, _>(path, text.as_bytes())?;
        for (i, (line, row)) in lines.iter().enumerate() {
            if lines[..i].iter().any(|(_, r)| {
                (r.table, r.task, r.model, r.split, r.metric)
                    == (row.table, row.task, row.model, row.split, row.metric)
            }) {
                return Err(ReportError::parse(path, *line, "duplicate published value"));
            }
        }
        Ok(Published {
            rows: lines.into_iter().map(|(_, r)| r).collect(),
        })
    }

    /// The embedded copy of `reports/data/published.csv`.
    pub fn embedded() -> Result<Published> {
        Self::parse(Path::new(PUBLISHED_PATH), PUBLISHED_CSV)
    }

    /// Reads a published file from disk.
    pub fn load(path: &Path) -> Result<Published> {
        let text = std::fs::read_to_string(path).map_err(|e| ReportError::io(path, e))?;
        Self::parse(path, &text)
    }

    /// A Table 1 number.
    pub fn table1(
        &self,
        task: Task,
        model: PaperModel,
        split: Split,
        metric: Metric,
    ) -> Option<&PublishedRow> {
        self.rows.iter().find(|r| {
            r.table == PubTable::Table1
                && r.task == task
                && r.model == model
                && r.split == split
                && r.metric.as_metric() == Some(metric)
        })
    }

    /// A Table 2 number (`ParamsMillions` or `Seconds`).
    pub fn table2(&self, model: PaperModel, metric: PubMetric) -> Option<&PublishedRow> {
        self.rows
            .iter()
            .find(|r| r.table == PubTable::Table2 && r.model == model && r.metric == metric)
    }

    /// The models of Table 2, in file order.
    pub fn table2_models(&self) -> Vec<PaperModel> {
        let mut models = Vec::new();
        for r in self.rows.iter().filter(|r| r.table == PubTable::Table2) {
            if !models.contains(&r.model) {
                models.push(r.model);
            }
        }
        models
    }
}
