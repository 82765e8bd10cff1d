//! GLUE data: the example type shared by every crate, loaders by header name, submission writers.
//!
//! The paper's datasets (§4.1): SST-2, QQP and MNLI in GLUE's TSV layout. [`load_split`] reads one
//! file into [`Example`]s, [`task_files`] names a task's files, [`write_submission`] writes GLUE
//! test-set predictions.

mod glue;
mod submission;
pub mod tsv;

pub use glue::{load_split, load_split_file, parse_label, task_files, SplitFile, TaskFiles};
pub use submission::{read_submission, submission_name, write_submission};

/// A GLUE task this project knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Stanford Sentiment Treebank, binary (single sentences).
    Sst2,
    /// Quora Question Pairs (pairs; reported as F1/accuracy).
    Qqp,
    /// MultiNLI (pairs; matched and mismatched dev).
    Mnli,
}

impl Task {
    /// Label names in class-index order, as GLUE's submission files spell them.
    pub fn label_names(self) -> &'static [&'static str] {
        match self {
            Task::Sst2 | Task::Qqp => &["0", "1"],
            Task::Mnli => &["contradiction", "entailment", "neutral"],
        }
    }
    /// Number of classes.
    pub fn num_classes(self) -> usize {
        self.label_names().len()
    }
    /// Whether examples are sentence pairs.
    pub fn is_pair(self) -> bool {
        !matches!(self, Task::Sst2)
    }
    /// GLUE's folder / submission-file name (`SST-2`, `QQP`, `MNLI`).
    pub fn glue_name(self) -> &'static str {
        match self {
            Task::Sst2 => "SST-2",
            Task::Qqp => "QQP",
            Task::Mnli => "MNLI",
        }
    }
}

/// One example: a sentence or a sentence pair, with its gold label when the split has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The sentence (or the first sentence of a pair).
    pub text_a: String,
    /// The second sentence of a pair.
    pub text_b: Option<String>,
    /// Class index into [`Task::label_names`]; `None` on unlabelled test files.
    pub label: Option<usize>,
    /// GLUE's `index` column on test files (used by submission files).
    pub index: Option<u64>,
}
