//! Loading the experiments' tidy result CSVs (one row per run × metric, STYLE.md "Configuration
//! and results"). Every file must have exactly the documented columns; a wrong column, a
//! non-numeric value or an unknown task/model/split/metric is an error naming the file and line.

use crate::error::{ReportError, Result};
pub use crate::rows::{
    read_lines_from, read_rows, read_rows_from, CsvRow, DevPredictionRow, HistoryRow, LogitRow,
    MetricRow, SpeedRow, TeacherRow, VariantRow,
};
use crate::schema::Task;
use std::path::{Path, PathBuf};


/// Reads `path` if it exists; `Ok(None)` when it does not (the caller reports what is missing).
pub fn read_optional<T: CsvRow>(path: &Path) -> Result<Option<Vec<T>>> {
    if path.is_file() {
        read_rows(path).map(Some)
    } else {
        Ok(None)
    }
}

/// Reads `path` if it exists (`Ok(None)` if not), rejecting a row whose `key` repeats an earlier row's with a
/// different value (a seed counted twice would shrink the reported sd; a model timed twice is
/// ambiguous). A row identical in every column to an earlier one is the same measurement written
/// twice (a cached teacher's row appended once per student seed) and is kept once, so it does not
/// inflate n.
pub fn read_unique<T: CsvRow + PartialEq, K: PartialEq + std::fmt::Debug>(
    path: &Path,
    key: impl Fn(&T) -> K,
) -> Result<Option<Vec<(usize, T)>>> {
    if !path.is_file() {
        return Ok(None);
    }
    let file = std::fs::File::open(path).map_err(|e| ReportError::io(path, e))?;
    let mut rows: Vec<(usize, T)> = Vec::new();
    for (line, row) in read_lines_from::<T, _>(path, file)? {
        let k = key(&row);
        match rows.iter().find(|(_, r)| key(r) == k) {
            Some((_, earlier)) if *earlier == row => {}
            Some((first, _)) => {
                return Err(ReportError::parse(
                    path,
                    line,
                    format!("conflicts with line {first} (same {k:?}, different values)"),
                ));
            }
            None => rows.push((line, row)),
        }
    }
    Ok(Some(rows))
}

/// Reads a per-task file if it exists: rows unique by `key`, each naming the directory's task.
fn read_task_file<T: CsvRow + PartialEq, K: PartialEq + std::fmt::Debug>(
    path: &Path,
    task: Task,
    row_task: impl Fn(&T) -> Task,
    key: impl Fn(&T) -> K,
) -> Result<Option<Vec<T>>> {
    let Some(rows) = read_unique(path, key)? else {
        return Ok(None);
    };
    if let Some((line, row)) = rows.iter().find(|(_, r)| row_task(r) != task) {
        return Err(ReportError::parse(
            path,
            *line,
            format!("task `{}` in the {} directory", row_task(row), task.id()),
        ));
    }
    Ok(Some(rows.into_iter().map(|(_, r)| r).collect()))
}

/// Reads `softmax_t.csv` if it exists, checking it holds one sentence with classes 0..C−1.
fn read_softmax_t(path: &Path) -> Result<Option<Vec<LogitRow>>> {
    if !path.is_file() {
        return Ok(None);
    }
    let file = std::fs::File::open(path).map_err(|e| ReportError::io(path, e))?;
    let rows = read_lines_from::<LogitRow, _>(path, file)?;
    check_logit_rows(path, &rows)?;
    Ok(Some(rows.into_iter().map(|(_, r)| r).collect()))
}

/// Checks a `softmax_t.csv`: one sentence, classes 0..C−1 each exactly once, C ≥ 2.
pub fn check_logit_rows(path: &Path, rows: &[(usize, LogitRow)]) -> Result<()> {
    let Some((_, first)) = rows.first() else {
        return Err(ReportError::parse(
            path,
            1,
            "no rows (expected one row per class)",
        ));
    };
    for (line, r) in rows {
        if r.sentence != first.sentence {
            return Err(ReportError::parse(
                path,
                *line,
                "a second sentence; the file holds one",
            ));
        }
        if r.class >= rows.len() {
            return Err(ReportError::parse(
                path,
                *line,
                format!(
                    "class {} out of range for {} rows (classes are 0..{})",
                    r.class,
                    rows.len(),
                    rows.len()
                ),
            ));
        }
        if rows.iter().filter(|(_, o)| o.class == r.class).count() > 1 {
            return Err(ReportError::parse(
                path,
                *line,
                format!("class {} appears twice", r.class),
            ));
        }
    }
    if rows.len() < 2 {
        return Err(ReportError::parse(
            path,
            rows[0].0,
            "one class only; softmax needs at least two",
        ));
    }
    Ok(())
}

/// All result files found under one results directory. `None` = the file is absent.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// The results directory.
    pub dir: PathBuf,
    /// `metrics.csv` per task, in [`Task::ALL`] order.
    pub metrics: Vec<(Task, Option<Vec<MetricRow>>)>,
    /// `history.csv` per task, in [`Task::ALL`] order.
    pub history: Vec<(Task, Option<Vec<HistoryRow>>)>,
    /// `sst2/softmax_t.csv`.
    pub softmax_t: Option<Vec<LogitRow>>,
    /// `table2.csv`.
    pub table2: Option<Vec<SpeedRow>>,
}

impl Results {
    /// Path of a task's metrics file.
    pub fn metrics_path(dir: &Path, task: Task) -> PathBuf {
        dir.join(task.id()).join("metrics.csv")
    }
    /// Path of a task's history file.
    pub fn history_path(dir: &Path, task: Task) -> PathBuf {
        dir.join(task.id()).join("history.csv")
    }
    /// Path of the softmax-T logits file.
    pub fn softmax_t_path(dir: &Path) -> PathBuf {
        dir.join("sst2").join("softmax_t.csv")
    }
    /// Path of the timing file.
    pub fn table2_path(dir: &Path) -> PathBuf {
        dir.join("table2.csv")
    }

    /// Loads every result file under `dir`; absent files are `None`, malformed ones are errors.
    pub fn load(dir: &Path) -> Result<Results> {
        if !dir.is_dir() {
            return Err(ReportError::MissingResults(dir.to_path_buf()));
        }
        let mut metrics = Vec::new();
        let mut history = Vec::new();
        for task in Task::ALL {
            let path = Self::metrics_path(dir, task);
            let rows = read_task_file(
                &path,
                task,
                |r: &MetricRow| r.task,
                |r| (r.model.clone(), r.split, r.metric, r.seed, r.config.clone()),
            )?;
            metrics.push((task, rows));
            let path = Self::history_path(dir, task);
            let rows = read_task_file(
                &path,
                task,
                |r: &HistoryRow| r.task,
                |r| (r.model.clone(), r.epoch, r.seed, r.config.clone()),
            )?;
            history.push((task, rows));
        }
        Ok(Results {
            dir: dir.to_path_buf(),
            metrics,
            history,
            softmax_t: read_softmax_t(&Self::softmax_t_path(dir))?,
            table2: read_unique(&Self::table2_path(dir), |r: &SpeedRow| (r.model, r.runtime()))?
                .map(|rows| rows.into_iter().map(|(_, r)| r).collect()),
        })
    }

    /// A task's metric rows, if its file exists.
    pub fn metrics_of(&self, task: Task) -> Option<&[MetricRow]> {
        self.metrics
            .iter()
            .find(|(t, _)| *t == task)
            .and_then(|(_, r)| r.as_deref())
    }

    /// A task's history rows, if its file exists.
    pub fn history_of(&self, task: Task) -> Option<&[HistoryRow]> {
        self.history
            .iter()
            .find(|(t, _)| *t == task)
            .and_then(|(_, r)| r.as_deref())
    }
}
