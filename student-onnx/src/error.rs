//! The error of every fallible function of this crate: a bad file (`path:line: what`, the
//! workspace's [`FileError`]), a bad argument or model, or a failure inside tract.

pub use kd_schema::FileError;
use std::path::PathBuf;

/// Errors from student-onnx. Each prints as one line naming the file (and line) where one applies.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// A malformed input file (`path:line: what`) or an I/O error on a named file.
    #[error(transparent)]
    File(#[from] FileError),
    /// An argument or a model that cannot be used (the message says which and why).
    #[error("{0}")]
    Invalid(String),
    /// tract failed to load or run a model.
    #[error("tract: {0}")]
    Runtime(String),
}

impl OnnxError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OnnxError::File(FileError::io(path, source))
    }

    /// A parse error at `path:line` (line 0: the whole file).
    pub fn parse(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        OnnxError::File(FileError::parse(path, line, msg))
    }

    /// tract's error, all its causes on one line.
    pub fn tract(e: impl Into<anyhow::Error>) -> Self {
        let e: anyhow::Error = e.into();
        OnnxError::Runtime(format!("{e:#}").replace('\n', " "))
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, OnnxError>;
