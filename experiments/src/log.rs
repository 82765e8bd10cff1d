//! The run log: every line goes to stderr and is appended to `<out>/log.txt`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// Appends timestamped lines to a log file and echoes them on stderr.
pub struct RunLog {
    file: Mutex<Option<File>>,
    start: Instant,
}

impl RunLog {
    /// Opens (appends to) `path`; logging still goes to stderr if the file cannot be opened.
    pub fn open(path: &Path) -> Self {
        let file = OpenOptions::new().create(true).append(true).open(path).ok();
        Self {
            file: Mutex::new(file),
            start: Instant::now(),
        }
    }

    /// Logs one line.
    pub fn line(&self, msg: &str) {
        let secs = self.start.elapsed().as_secs_f64();
        let line = format!("[{:>7.1}s] {msg}", secs);
        eprintln!("{line}");
        if let Ok(mut guard) = self.file.lock() {
            if let Some(f) = guard.as_mut() {
                let _ = writeln!(f, "{line}");
            }
        }
    }
}

/// `logln!(log, "fmt", args...)`: formats and logs one line.
#[macro_export]
macro_rules! logln {
    ($log:expr, $($arg:tt)*) => { $log.line(&format!($($arg)*)) };
}
