//! Progress reporting for long loops (fine-tuning, labelling, student epochs): an indicatif bar
//! with throughput and ETA on a terminal; when stderr is not a terminal (a log file, `nohup`, CI)
//! the same line is printed at most every 30 s instead of being dropped, so long runs stay visible.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Interval between progress lines when stderr is not a terminal.
pub const LOG_INTERVAL: Duration = Duration::from_secs(30);

/// A bar over `len` examples, prefixed `label`; hidden when `enabled` is false.
pub fn example_bar(len: u64, label: &str, enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let (bar, template) = if std::io::stderr().is_terminal() {
        (
            ProgressBar::new(len),
            "{prefix} [{elapsed_precise}] [{bar:30}] {pos}/{len} ex ({per_sec}, ETA {eta}) {msg}",
        )
    } else {
        let target =
            ProgressDrawTarget::term_like_with_hz(Box::new(LogLines::new(LOG_INTERVAL)), 1);
        (
            ProgressBar::with_draw_target(Some(len), target),
            "{prefix} [{elapsed_precise}] {pos}/{len} ex ({percent}%, {per_sec}, ETA {eta}) {msg}",
        )
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}

/// A [`TermLike`] that turns redraws into plain stderr lines, at most one per `interval`.
#[derive(Debug)]
struct LogLines {
    interval: Duration,
    last: Mutex<Instant>,
}

impl LogLines {
    fn new(interval: Duration) -> Self {
        // The first line comes one interval in: a loop shorter than that prints nothing.
        Self {
            interval,
            last: Mutex::new(Instant::now()),
        }
    }

    fn emit(&self, s: &str) {
        let line = s.trim();
        if line.is_empty() {
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.elapsed() >= self.interval {
            eprintln!("{line}");
            *last = Instant::now();
        }
    }
}

impl TermLike for LogLines {
    fn width(&self) -> u16 {
        120
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.emit(s);
        Ok(())
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.emit(s);
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}
