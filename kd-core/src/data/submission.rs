//! GLUE submission files for the test-set results of Table 1 (§4): `index<TAB>prediction`.
//!
//! The GLUE server reads one file per test set, named after it (`SST-2.tsv`, `QQP.tsv`,
//! `MNLI-m.tsv`, `MNLI-mm.tsv`), with predictions spelled as the task's label names.

use super::tsv::TsvFile;
use super::Task;
use crate::{KdError, Result};
use std::io::Write;
use std::path::Path;

/// GLUE's name for the submission of `task`'s test split `test_split`: `SST-2`, `QQP`, and for
/// MNLI `MNLI-mm` when the split name contains `mismatched`, else `MNLI-m`.
pub fn submission_name(task: Task, test_split: &str) -> &'static str {
    match task {
        Task::Sst2 => "SST-2",
        Task::Qqp => "QQP",
        Task::Mnli if test_split.contains("mismatched") => "MNLI-mm",
        Task::Mnli => "MNLI-m",
    }
}

/// Writes a GLUE submission to `path` atomically: header `index<TAB>prediction`, then one row per
/// example with `preds[i]` spelled as [`Task::label_names`]`()[preds[i]]`.
///
/// Fails, before touching the file, when `indices` and `preds` differ in length or a prediction is
/// not a class index of `task`.
pub fn write_submission(task: Task, path: &Path, indices: &[u64], preds: &[usize]) -> Result<()> {
    if indices.len() != preds.len() {
        return Err(KdError::InvalidArgument(format!(
            "submission {}: {} indices but {} predictions",
            path.display(),
            indices.len(),
            preds.len()
        )));
    }
    let names = task.label_names();
    if let Some((i, &pred)) = preds.iter().enumerate().find(|(_, &p)| p >= names.len()) {
        return Err(KdError::InvalidArgument(format!(
            "submission {}: prediction {pred} at position {i} is out of range for {} ({} classes)",
            path.display(),
            task.glue_name(),
            names.len()
        )));
    }
    crate::io::atomic_write(path, |w| {
        writeln!(w, "index\tprediction")?;
        for (index, &pred) in indices.iter().zip(preds) {
            writeln!(w, "{index}\t{}", names[pred])?;
        }
        Ok(())
    })
}

/// Reads a submission written by [`write_submission`] (columns found by name) back into
/// `(index, class index)` pairs, in file order. Errors name the line of a bad index or label.
pub fn read_submission(task: Task, path: &Path) -> Result<Vec<(u64, usize)>> {
    let file = TsvFile::open(path)?;
    let index_col = file.require_column("index")?;
    let pred_col = file.require_column("prediction")?;
    let names = task.label_names();
    let mut out = Vec::with_capacity(file.num_rows());
    for row in file.rows() {
        let row = row?;
        let index = row.fields[index_col].parse::<u64>().map_err(|_| {
            KdError::parse(
                path,
                row.line,
                format!("bad index {:?}", row.fields[index_col]),
            )
        })?;
        let pred = names
            .iter()
            .position(|&n| n == row.fields[pred_col])
            .ok_or_else(|| {
                KdError::parse(
                    path,
                    row.line,
                    format!(
                        "unknown {} prediction {:?} (expected one of: {})",
                        task.glue_name(),
                        row.fields[pred_col],
                        names.join(", ")
                    ),
                )
            })?;
        out.push((index, pred));
    }
    Ok(out)
}
