//! The error type of every fallible kd-core function.

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
    /// Malformed input file, with a 1-based line number where one applies (0 = whole file).
    #[error("{}:{line}: {msg}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 when the problem concerns the whole file).
        line: usize,
        /// What was wrong.
        msg: String,
    },
    /// An I/O error on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An error from libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl KdError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        KdError::Io {
            path: path.into(),
            source,
        }
    }
    /// A parse error at `path:line`.
    pub fn parse(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        KdError::Parse {
            path: path.into(),
            line,
            msg: msg.into(),
        }
    }
}

/// kd-core's result type.
pub type Result<T> = std::result::Result<T, KdError>;
