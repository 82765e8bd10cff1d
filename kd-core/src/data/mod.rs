//! GLUE data: the example type shared by every crate, loaders by header name, submission writers.
//!
//! The paper's datasets (§4.1): SST-2, QQP and MNLI in GLUE's TSV layout. [`load_split`] reads one
//! file into [`Example`]s, [`task_files`] names a task's files, [`write_submission`] writes GLUE
//! test-set predictions.

mod glue;
mod submission;
pub mod tsv;

pub use glue::{
    columns, load_split, load_split_file, parse_label, task_files, Columns, SplitFile, TaskFiles,
};
pub use submission::{read_submission, submission_name, write_submission};

/// A GLUE task this project knows (defined once, in `kd-schema`, for every crate).
pub use kd_schema::Task;

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
