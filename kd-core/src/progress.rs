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
            "{prefix} [{elapsed_precise}] [{bar:30}] {pos}/{len} ex ({rate}, ETA {eta}) {msg}",
        )
    } else {
        let target =
            ProgressDrawTarget::term_like_with_hz(Box::new(LogLines::new(LOG_INTERVAL)), 1);
        (
            ProgressBar::with_draw_target(Some(len), target),
            "{prefix} [{elapsed_precise}] {pos}/{len} ex ({percent}%, {rate}, ETA {eta}) {msg}",
        )
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&format_rate(state.per_sec()));
            },
        )
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}

/// A throughput as a reader wants it: whole examples per second from 10/s up (`68/s`, not
/// `68.4498/s`), one decimal below.
pub fn format_rate(per_sec: f64) -> String {
    if !per_sec.is_finite() {
        "-/s".to_string()
    } else if per_sec >= 10.0 {
        format!("{per_sec:.0}/s")
    } else {
        format!("{per_sec:.1}/s")
    }
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

#[cfg(test)]
mod tests {
    use super::format_rate;

    #[test]
    fn rates_are_printed_to_the_digits_that_matter() {
        assert_eq!(format_rate(68.4498), "68/s");
        assert_eq!(format_rate(4755.2), "4755/s");
        assert_eq!(format_rate(4.8589), "4.9/s");
        assert_eq!(format_rate(f64::INFINITY), "-/s");
    }
}
