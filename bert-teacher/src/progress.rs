//! Progress bars counting examples, with throughput and ETA (see [`kd_core::progress`]).

use indicatif::ProgressBar;

/// A bar over `len` examples labelled `label`; hidden when `enabled` is false (tests).
pub fn example_bar(len: usize, label: &str, enabled: bool) -> ProgressBar {
    kd_core::progress::example_bar(len as u64, label, enabled)
}
