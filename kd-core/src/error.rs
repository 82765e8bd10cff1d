//! The error type of every fallible kd-core function.

pub use kd_schema::FileError;
use std::path::PathBuf;

/// Errors from kd-core. Messages name the file and line where one applies.
#[derive(Debug, thiserror::Error)]
pub enum KdError {
    /// A tensor argument had the wrong shape; the message names the dims.
    #[error("shape error: {0}")]
    Shape(String),
    /// A configuration value out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A malformed input file (`path:line: what`) or an I/O error on a named file.
    #[error(transparent)]
    File(#[from] FileError),
    /// An error from libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A loop stopped at a batch boundary because the process was asked to stop (the signal's
    /// name: `"SIGTERM"`); see [`crate::stop`].
    #[error("stopped by {0}")]
    Stopped(&'static str),
}

impl KdError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        KdError::File(FileError::io(path, source))
    }
    /// A parse error at `path:line`.
    pub fn parse(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        KdError::File(FileError::parse(path, line, msg))
    }
}

/// kd-core's result type.
pub type Result<T> = std::result::Result<T, KdError>;
