//! GLUE loaders for the paper's three tasks (§4.1): SST-2, QQP and MNLI, columns found by name.
//!
//! GLUE's files carry more columns than a model needs (MNLI has a dozen: parses, genre, the five
//! annotator labels; QQP has `id`, `qid1`, `qid2`), and other copies order them differently, so
//! columns are looked up by header name:
//!
//! | task  | text                       | label (labelled files)                   | test index |
//! | ----- | -------------------------- | ---------------------------------------- | ---------- |
//! | SST-2 | `sentence`                 | `label`: `0` / `1`                       | `index`    |
//! | QQP   | `question1`, `question2`   | `is_duplicate`: `0` / `1`                | `id` (or `index`) |
//! | MNLI  | `sentence1`, `sentence2`   | `gold_label`: `entailment` / `neutral` / `contradiction` | `index` |
//!
//! A file without the label column is a test file and must have the index column. MNLI labels
//! may also be the Hugging Face `glue/mnli` integers (`0` entailment, `1` neutral,
//! `2` contradiction), as in the MNLI-1k sample's `train.tsv`; they are mapped to the same class
//! indices as the names ([`Task::label_names`] order), never taken as class indices directly.

use super::tsv::{TsvFile, TsvRow};
use super::{Example, Task};
use crate::{KdError, Result};
use std::path::{Path, PathBuf};

/// The column names of one task's GLUE files (found by name, so column order does not matter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// The sentence (SST-2 `sentence`) or the pair's first sentence.
    pub text_a: &'static str,
    /// The pair's second sentence.
    pub text_b: Option<&'static str>,
    /// The gold label (absent from test files).
    pub label: &'static str,
    /// Index column names, in order of preference (QQP's test file says `id`).
    pub index: &'static [&'static str],
}

/// The columns [`load_split`] reads for `task`.
pub fn columns(task: Task) -> Columns {
    match task {
        Task::Sst2 => Columns {
            text_a: "sentence",
            text_b: None,
            label: "label",
            index: &["index"],
        },
        Task::Qqp => Columns {
            text_a: "question1",
            text_b: Some("question2"),
            label: "is_duplicate",
            index: &["id", "index"],
        },
        Task::Mnli => Columns {
            text_a: "sentence1",
            text_b: Some("sentence2"),
            label: "gold_label",
            index: &["index"],
        },
    }
}

/// Hugging Face `glue/mnli` integer labels, by integer: the order the MNLI-1k sample uses.
const MNLI_HF_LABELS: [&str; 3] = ["entailment", "neutral", "contradiction"];

/// The class index (into [`Task::label_names`]) of a label as spelled in `task`'s data files.
pub fn parse_label(task: Task, label: &str) -> Option<usize> {
    let names = task.label_names();
    if let Some(i) = names.iter().position(|&n| n == label) {
        return Some(i);
    }
    match task {
        Task::Mnli => {
            let name = label
                .parse::<usize>()
                .ok()
                .and_then(|i| MNLI_HF_LABELS.get(i))?;
            names.iter().position(|n| n == name)
        }
        Task::Sst2 | Task::Qqp => None,
    }
}

/// Loads one split of `task` from the GLUE-layout TSV at `path`.
///
/// Columns are found by header name (see the module docs); extra columns and any column order are
/// accepted. A file with the task's label column gives labelled examples (`index` filled too when
/// the file has an index column); one without it is a test file and must have the index column.
/// Errors are [`FileError::Parse`](crate::FileError::Parse) (in [`KdError::File`]) with the 1-based line: a row whose field count differs from the
/// header's, an unknown label, an empty (or all-whitespace) text, a bad index, invalid UTF-8,
/// a missing column (line 1), an empty file or one with no data rows (line 0).
pub fn load_split(task: Task, path: &Path) -> Result<Vec<Example>> {
    let file = TsvFile::open(path)?;
    let cols = columns(task);
    let text_a = file.require_column(cols.text_a)?;
    let text_b = cols
        .text_b
        .map(|name| file.require_column(name))
        .transpose()?;
    let label = file.column(cols.label);
    let index = cols.index.iter().find_map(|name| file.column(name));
    if label.is_none() && index.is_none() {
        return Err(KdError::parse(
            path,
            1,
            format!(
                "missing column `{}` (a labelled file needs it; a test file needs `{}` instead; \
                 header has: {})",
                cols.label,
                cols.index.join("` or `"),
                file.header().join(", ")
            ),
        ));
    }
    let mut examples = Vec::with_capacity(file.num_rows());
    for row in file.rows() {
        let row = row?;
        examples.push(Example {
            text_a: text_field(&file, &row, text_a)?,
            text_b: text_b.map(|col| text_field(&file, &row, col)).transpose()?,
            label: label
                .map(|col| label_field(task, &file, &row, col))
                .transpose()?,
            index: index.map(|col| index_field(&file, &row, col)).transpose()?,
        });
    }
    if examples.is_empty() {
        return Err(KdError::parse(path, 0, "no data rows after the header"));
    }
    Ok(examples)
}

/// Loads a split named by [`task_files`], checking that a labelled split has labels and a test
/// split has none (so a test file put where a dev file belongs is caught, not scored as unlabelled).
pub fn load_split_file(task: Task, split: &SplitFile) -> Result<Vec<Example>> {
    let examples = load_split(task, &split.path)?;
    let has_labels = examples[0].label.is_some();
    if has_labels != split.labelled {
        let (want, got) = if split.labelled {
            ("labelled", "has no label column")
        } else {
            ("unlabelled", "has a label column")
        };
        return Err(KdError::parse(
            &split.path,
            1,
            format!(
                "split `{}` should be {want} but the file {got} (`{}`)",
                split.name,
                columns(task).label
            ),
        ));
    }
    Ok(examples)
}

fn text_field(file: &TsvFile, row: &TsvRow<'_>, col: usize) -> Result<String> {
    let text = row.fields[col];
    if text.trim().is_empty() {
        return Err(KdError::parse(
            file.path(),
            row.line,
            format!("empty text in column `{}`", file.header()[col]),
        ));
    }
    Ok(text.to_owned())
}

fn label_field(task: Task, file: &TsvFile, row: &TsvRow<'_>, col: usize) -> Result<usize> {
    let label = row.fields[col];
    parse_label(task, label).ok_or_else(|| {
        KdError::parse(
            file.path(),
            row.line,
            format!(
                "unknown {} label {label:?} in column `{}` (expected one of: {})",
                task.glue_name(),
                file.header()[col],
                task.label_names().join(", ")
            ),
        )
    })
}

fn index_field(file: &TsvFile, row: &TsvRow<'_>, col: usize) -> Result<u64> {
    let index = row.fields[col];
    index.parse::<u64>().map_err(|_| {
        KdError::parse(
            file.path(),
            row.line,
            format!(
                "bad index {index:?} in column `{}`: expected an integer >= 0",
                file.header()[col]
            ),
        )
    })
}

/// One evaluation file of a task: its split name, path and whether it carries gold labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFile {
    /// Split name: `dev`, `dev_matched`, `dev_mismatched`, `test`, `test_matched` or
    /// `test_mismatched`.
    pub name: String,
    /// The TSV file.
    pub path: PathBuf,
    /// Whether the file has gold labels (dev) or not (GLUE test).
    pub labelled: bool,
}

/// The files of one task's GLUE folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFiles {
    /// The training file (`train.tsv`), whether or not it exists.
    pub train: PathBuf,
    /// Labelled dev files (one, or MNLI's matched and mismatched), whether or not they exist.
    pub dev: Vec<SplitFile>,
    /// Unlabelled test files that exist; missing ones are left out.
    pub test: Vec<SplitFile>,
}

/// The GLUE file layout of `task` under `task_dir` (e.g. `data/glue/SST-2`).
///
/// No I/O beyond checking which test files exist: a missing train or dev file is reported by
/// the caller when it loads it, while test files are optional (samples ship without them).
pub fn task_files(task: Task, task_dir: &Path) -> TaskFiles {
    let suffixes: &[&str] = match task {
        Task::Sst2 | Task::Qqp => &[""],
        Task::Mnli => &["_matched", "_mismatched"],
    };
    let split = |stem: &str, suffix: &str, labelled: bool| {
        let name = format!("{stem}{suffix}");
        SplitFile {
            path: task_dir.join(format!("{name}.tsv")),
            name,
            labelled,
        }
    };
    TaskFiles {
        train: task_dir.join("train.tsv"),
        dev: suffixes.iter().map(|s| split("dev", s, true)).collect(),
        test: suffixes
            .iter()
            .map(|s| split("test", s, false))
            .filter(|f| f.path.is_file())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_map_to_label_names_order() {
        assert_eq!(parse_label(Task::Sst2, "1"), Some(1));
        assert_eq!(parse_label(Task::Sst2, "2"), None);
        assert_eq!(parse_label(Task::Qqp, "0"), Some(0));
        assert_eq!(parse_label(Task::Qqp, "yes"), None);
        assert_eq!(parse_label(Task::Mnli, "contradiction"), Some(0));
        assert_eq!(parse_label(Task::Mnli, "entailment"), Some(1));
        assert_eq!(parse_label(Task::Mnli, "neutral"), Some(2));
        // Hugging Face integers: 0 entailment, 1 neutral, 2 contradiction.
        assert_eq!(parse_label(Task::Mnli, "0"), Some(1));
        assert_eq!(parse_label(Task::Mnli, "1"), Some(2));
        assert_eq!(parse_label(Task::Mnli, "2"), Some(0));
        assert_eq!(parse_label(Task::Mnli, "3"), None);
        assert_eq!(parse_label(Task::Mnli, "-"), None);
        assert_eq!(parse_label(Task::Mnli, "Entailment"), None);
    }
}
