//! The error type of every fallible bert-teacher function.

use std::path::PathBuf;

/// Errors from bert-teacher. Messages name the file, tensor or dims involved.
#[derive(Debug, thiserror::Error)]
pub enum TeacherError {
    /// An error from kd-core (I/O on a named file, parse errors, shapes).
    #[error(transparent)]
    Kd(#[from] kd_core::KdError),
    /// An error from libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A checkpoint tensor that is missing, has the wrong shape or an unsupported dtype.
    #[error("checkpoint {}: {msg}", path.display())]
    Checkpoint {
        /// The weights file.
        path: PathBuf,
        /// What was wrong, naming the tensor (and both shapes for a mismatch).
        msg: String,
    },
    /// A malformed or unsupported `config.json`.
    #[error("config {}: {msg}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What was wrong.
        msg: String,
    },
    /// An error from the `tokenizers` crate.
    #[error("tokenizer {}: {msg}", path.display())]
    Tokenizer {
        /// The tokenizer file (or the text being encoded, when that is the context).
        path: PathBuf,
        /// What was wrong.
        msg: String,
    },
    /// A bad argument (empty input, zero batch size, label out of range, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Fine-tuning diverged: a non-finite training loss or gradient norm. Raised before the
    /// optimiser step, so no weights of that step and no resume state for that epoch are written.
    #[error(
        "fine-tuning diverged at epoch {epoch}, step {step} of {steps_per_epoch}: {what} is {value}"
    )]
    NonFinite {
        /// What was not finite: `"training loss"` or `"gradient norm"`.
        what: &'static str,
        /// Its value (NaN or ±inf).
        value: f64,
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// Steps in an epoch.
        steps_per_epoch: usize,
    },
    /// A resume / labelling work directory that does not belong to this run.
    #[error("work dir {}: {msg}", path.display())]
    WorkDir {
        /// The directory or state file.
        path: PathBuf,
        /// Why it cannot be resumed.
        msg: String,
    },
}

impl TeacherError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TeacherError::Kd(kd_core::KdError::io(path, source))
    }
    /// A checkpoint error on `path`.
    pub fn checkpoint(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        TeacherError::Checkpoint {
            path: path.into(),
            msg: msg.into(),
        }
    }
    /// A config error on `path`.
    pub fn config(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        TeacherError::Config {
            path: path.into(),
            msg: msg.into(),
        }
    }
}

/// bert-teacher's result type.
pub type Result<T> = std::result::Result<T, TeacherError>;

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync_for_anyhow() {
        fn assert_send_sync<T: std::error::Error + Send + Sync + 'static>() {}
        assert_send_sync::<super::TeacherError>();
    }
}
