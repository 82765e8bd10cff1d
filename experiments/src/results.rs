//! Tidy result files: `metrics.csv` (one row per model × split × metric, values in percent) and
//! `history.csv` (one row per training epoch), the inputs of the `reports` crate.

use anyhow::{Context, Result};
use serde::Deserialize;

use std::path::Path;

/// The rows of the result files: defined once, by the `reports` crate that reads them.
pub use reports::rows::{
    DevPredictionRow, HistoryRow, LogitRow, MetricRow, TeacherRow, VariantRow,
};

/// Writes `rows` as CSV with a header (the header alone when there are no rows), atomically
/// through [`kd_core::io`] like every other file of a run (so its fault-injection hook applies).
pub fn write_csv<T: reports::rows::CsvRow + serde::Serialize>(
    path: &Path,
    rows: &[T],
) -> Result<()> {
    let bytes = if rows.is_empty() {
        reports::rows::header_line::<T>().into_bytes()
    } else {
        reports::rows::rows_to_csv(path, rows)?
    };
    kd_core::io::atomic_write_bytes(path, &bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// The revision this binary was built from (experiments/build.rs): the checkout's short HEAD at
/// build time, `-dirty` when its Rust sources had uncommitted changes; the build's `KD_GIT_REV`
/// when given one; else `unknown`.
pub const BUILD_REV: &str = env!("KD_BUILD_REV");

/// What the binaries' `--version` prints: the crate version, the revision they were built from
/// and the libtorch they were built against.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (built at ",
    env!("KD_BUILD_REV"),
    ", libtorch ",
    env!("KD_LIBTORCH_VERSION"),
    ")"
);

/// The short git revision of the working tree, with `-dirty` when it has uncommitted changes;
/// outside a git checkout, the revision the binary was built from when its build was given one
/// (`KD_GIT_REV`, baked in by experiments/build.rs: the Docker image's), else `unknown`.
pub fn git_rev() -> String {
    student_onnx::export::git_rev_or(
        option_env!("KD_GIT_REV")
            .filter(|r| !r.is_empty())
            .unwrap_or("unknown"),
    )
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
