//! The run log: every line goes to stderr and is appended to a file: `<out>/log.txt` for a
//! serial run, `<out>/logs/cell-K.log` for cell K of an array job (`--cell K`), so that each file
//! has one writer at a time (appends from several NFS clients to one file are not line-atomic).
//! A cell's lines carry a `cell K: ` prefix ([`RunLog::with_prefix`]), on stderr too, so that
//! the logs of workers sharing a terminal (`scripts/local-array.sh`) stay apart.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// Appends timestamped lines to a log file and echoes them on stderr.
pub struct RunLog {
    file: Mutex<Option<File>>,
    start: Instant,
    prefix: String,
}

impl RunLog {
    /// Opens (appends to) `path`; logging still goes to stderr if the file cannot be opened.
    pub fn open(path: &Path) -> Self {
        let file = OpenOptions::new().create(true).append(true).open(path).ok();
        Self {
            file: Mutex::new(file),
            start: Instant::now(),
            prefix: String::new(),
        }
    }

    /// The same log with `prefix` before every message (after the timestamp).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    /// Logs one line.
    pub fn line(&self, msg: &str) {
        let secs = self.start.elapsed().as_secs_f64();
        let line = format!("[{:>7.1}s] {}{msg}", secs, self.prefix);
        eprintln!("{line}");
        if let Ok(mut guard) = self.file.lock() {
            if let Some(f) = guard.as_mut() {
                let _ = f.write_all(format!("{line}\n").as_bytes());
            }
        }
    }
}

/// `logln!(log, "fmt", args...)`: formats and logs one line.
#[macro_export]
macro_rules! logln {
    ($log:expr, $($arg:tt)*) => { $log.line(&format!($($arg)*)) };
}
