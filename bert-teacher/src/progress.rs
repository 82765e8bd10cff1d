//! indicatif progress bars counting examples, with throughput and ETA.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` examples labelled `label`; hidden when `enabled` is false (tests, logs).
pub fn example_bar(len: usize, label: &str, enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template(
        "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} ex ({per_sec}, ETA {eta}) {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}
