//! A stop asked of this process (SIGTERM from Slurm or Kubernetes, SIGINT from a terminal), seen
//! by the long loops at their next batch.
//!
//! The signal handling itself lives with the binaries (`experiments::terminate`): it only calls
//! [`request`]. Every loop that runs for more than a moment — student epochs, teacher fine-tuning,
//! teacher inference (labelling, evaluation) — calls [`check`] once per batch and returns
//! [`KdError::Stopped`] when a stop was asked. The error then takes the ordinary way out, on the
//! thread that owns the work: the temporaries being written are removed as they drop, claims are
//! released, the failure marker is left, and no other thread tears down files (or memory) that the
//! working thread is still using. What a loop finished (a saved epoch, a labelled chunk) stays.

use crate::error::{KdError, Result};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// The number of the signal that asked for the stop; 0 while none has.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Asks every loop to stop at its next batch, for `signal` (its number, > 0). The first request
/// wins; later ones change nothing. Safe to call from any thread.
pub fn request(signal: i32) {
    let _ = SIGNAL.compare_exchange(0, signal.max(1), Ordering::SeqCst, Ordering::SeqCst);
}

/// The signal a stop was asked for, if one was.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// `Err(KdError::Stopped)` once a stop was asked: the check a loop makes before each batch.
pub fn check() -> Result<()> {
    match requested() {
        None => Ok(()),
        Some(s) => Err(KdError::Stopped(signal_name(s))),
    }
}

/// Sleeps for `d` in short slices, returning early with `Err(KdError::Stopped)` as soon as a stop
/// is asked: for the loops that wait on another process (a dependency, a lock, a claim).
pub fn sleep(d: Duration) -> Result<()> {
    const SLICE: Duration = Duration::from_millis(20);
    let end = Instant::now() + d;
    loop {
        check()?;
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(SLICE));
    }
}

/// The conventional name of the signals a scheduler or a terminal sends (`"SIGTERM"`), or
/// `"a signal"`.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_the_signals_the_binaries_handle() {
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(2), "SIGINT");
        assert_eq!(signal_name(1), "SIGHUP");
        assert_eq!(signal_name(9), "a signal");
    }
}
