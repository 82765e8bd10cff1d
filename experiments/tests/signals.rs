//! The task binaries' signals (`experiments::terminate::install`) are blocked on the thread that
//! installs them and on every thread it starts after, and reach the signal thread alone:
//! delivered to a thread inside libtorch's oneDNN kernels, SIGTERM has corrupted the heap (see
//! experiments/src/terminate.rs). The binaries' own threads are checked in tests/cells.rs. In its
//! own test binary: the block and the signal thread stay for the process.

mod common;

use common::*;

/// This thread's blocked-signal mask.
fn own_mask() -> u64 {
    blocked_signals(&std::fs::read_to_string("/proc/thread-self/status").unwrap())
}

#[test]
fn the_handled_signals_reach_only_the_signal_thread() {
    assert_eq!(own_mask() & HANDLED_SIGNALS, 0);
    experiments::terminate::install().unwrap();
    assert_eq!(own_mask() & HANDLED_SIGNALS, HANDLED_SIGNALS);
    // A thread started afterwards (libtorch's, the claims' heartbeat) inherits the block.
    let later = std::thread::spawn(own_mask).join().unwrap();
    assert_eq!(later & HANDLED_SIGNALS, HANDLED_SIGNALS);
    let masks = thread_masks("self");
    let signals: Vec<u64> = masks
        .iter()
        .filter(|(name, _)| name == "kd-signals")
        .map(|(_, m)| *m)
        .collect();
    assert_eq!(signals.len(), 1, "{masks:x?}");
    assert_eq!(signals[0] & HANDLED_SIGNALS, 0, "{masks:x?}");
}
