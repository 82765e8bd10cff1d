//! The one error every crate raises for a bad input file: a malformed line (`path:line: what`)
//! or a failed read or write (`path: the OS error`). `kd-core` and `reports` wrap it in their own
//! error types (`KdError::File`, `ReportError::File`), so a message reads the same whichever crate
//! found the problem.

use std::path::PathBuf;

/// A malformed or unreadable file, named with its path (and line, where one applies).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Malformed input, at a 1-based line (0 when the problem concerns the whole file).
    #[error("{}:{line}: {msg}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 = the whole file).
        line: usize,
        /// What was wrong.
        msg: String,
    },
    /// An I/O error on a named file or directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl FileError {
    /// A parse error at `path:line`.
    pub fn parse(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        FileError::Parse {
            path: path.into(),
            line,
            msg: msg.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FileError::Io {
            path: path.into(),
            source,
        }
    }

    /// The 1-based line of a parse error (`None` for an I/O error).
    pub fn line(&self) -> Option<usize> {
        match self {
            FileError::Parse { line, .. } => Some(*line),
            FileError::Io { .. } => None,
        }
    }
}
