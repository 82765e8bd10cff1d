//! The error type of every fallible function in `reports`. Messages name the file and, for
//! malformed CSVs, the 1-based line, so a bad input is one line on stderr.

pub use kd_schema::FileError;
use std::path::PathBuf;

/// Errors from loading result CSVs and rendering tables and figures.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A malformed input file (`path:line: what`; line 1 = the header row) or an I/O error on
    /// a named file or directory.
    #[error(transparent)]
    File(#[from] FileError),
    /// The results directory does not exist.
    #[error("results directory {} does not exist", .0.display())]
    MissingResults(PathBuf),
    /// Inputs that parse but are inconsistent (e.g. a teacher row without a student row to
    /// compare with).
    #[error("{}: {msg}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        msg: String,
    },
    /// polars failed while building or querying a tidy table read from `path`.
    #[error("{}: building the tidy table: {msg}", path.display())]
    Frame {
        /// The results folder the table was read from.
        path: PathBuf,
        /// polars' message.
        msg: String,
    },
    /// A plotting backend failed while drawing a figure.
    #[error("drawing {}: {msg}", path.display())]
    Plot {
        /// The figure being written.
        path: PathBuf,
        /// The backend's message.
        msg: String,
    },
}

impl ReportError {
    /// A parse error at `path:line`.
    pub fn parse(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        ReportError::File(FileError::parse(path, line, msg))
    }
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::File(FileError::io(path, source))
    }
}

/// The result type of `reports`.
pub type Result<T> = std::result::Result<T, ReportError>;
