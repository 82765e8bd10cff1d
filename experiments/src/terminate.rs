//! Stopping on a signal. Slurm (a time limit, `scancel`) and Kubernetes (a deleted or preempted
//! pod) stop a cell with SIGTERM, then SIGKILL after a grace period (Slurm's `KillWait`, 30 s by
//! default; a pod's `terminationGracePeriodSeconds`, 30 s). On SIGTERM, SIGINT or SIGHUP the task
//! binaries ([`install`]) stop in two steps:
//!
//! 1. **At the next batch, on the working thread.** The signal thread only asks for the stop
//!    ([`kd_core::stop::request`]); every long loop checks it before each batch and returns
//!    `stopped by SIGTERM`, which leaves the way any error does: the temporaries being written
//!    are removed as they drop, claims are released, the cell's failure marker is written (see
//!    [`crate::pipeline::run_cell`]), and the binary exits with status 128 + the signal's number
//!    ([`exit_if_stopped`]). Nothing runs beside the working thread while it does so.
//! 2. **Forced, after [`GRACE`] or a second signal**, for a thread that does not reach a batch
//!    boundary (stuck in a write to a hung file system, or in a stretch without checks): the
//!    signal thread leaves the running cell's failure marker, removes this process's temporary
//!    files ([`kd_core::io::abandon_live_temps`]) and ownership claims
//!    ([`crate::store::claim::abandon_all`]), and exits at once.
//!
//! Everything finished (a saved epoch, a labelled chunk) stays: a rerun resumes from it.
//!
//! The signals are blocked on every thread but the signal thread (signal-hook's iterator), so the
//! kernel delivers them there: the working thread is never interrupted, and the clean-up may
//! allocate and take locks. The block is not a nicety. Delivered to the training thread while it
//! was inside oneDNN's JIT-compiled sgemm (the LSTM's `mkldnn_rnn_layer`), SIGTERM aborted the
//! process in glibc's `free` ("corrupted size vs. prev_size while consolidating", called from
//! `sgemm_nocopy_driver`; gdb's backtrace): once in a real run (soft_ens seed 2, 2026-12-05) and
//! in 3 of 8 tries that sent SIGTERM 12–41 s into training that student (from a copy of its
//! inputs), where none of 16 such tries with the block did. As a container's PID 1 the
//! binary needs a handler at all: the kernel does not apply a signal's default action to PID 1,
//! so without one SIGTERM would be ignored until the grace period ran out.

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, Signal};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

type Hook = Box<dyn Fn(&str) + Send>;

/// How long the working thread has to reach a batch boundary before the clean-up is forced: a
/// teacher batch at one thread takes about a second here; a scheduler waits 30 s before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// What to do, in order, before the forced clean-up (the running cell's failure marker).
static HOOKS: LazyLock<Mutex<Vec<Hook>>> = LazyLock::new(Default::default);

/// Held by whichever thread ends the process (the working thread's [`exit_if_stopped`] or the
/// forced clean-up), so that the two never run at once.
static EXIT: Mutex<()> = Mutex::new(());

/// The signals [`install`] handles.
const HANDLED: [i32; 3] = [SIGTERM, SIGINT, SIGHUP];

/// Installs the handling of SIGTERM, SIGINT and SIGHUP for this process: once, at the start of
/// `main`, before any other thread exists. The signals are then blocked on the calling thread and
/// so on every thread it starts later (libtorch's among them): the kernel delivers them to the
/// signal thread alone, and never interrupts the work.
pub fn install() -> Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(HANDLED).context("signal handling")?;
    let thread = std::thread::Builder::new()
        .name("kd-signals".into())
        .spawn(move || {
            let Some(signal) = signals.forever().next() else {
                return;
            };
            let name = kd_core::stop::signal_name(signal);
            kd_core::stop::request(signal);
            eprintln!(
                "{name}: stopping at the next batch (forced in {} s, or at a second signal)",
                GRACE.as_secs()
            );
            let deadline = Instant::now() + GRACE;
            while Instant::now() < deadline {
                if signals.pending().next().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            force(signal)
        });
    thread.context("starting the signal thread")?;
    let mut blocked = SigSet::empty();
    for s in HANDLED {
        blocked.add(Signal::try_from(s).context("signal number")?);
    }
    blocked
        .thread_block()
        .context("blocking SIGTERM, SIGINT and SIGHUP on the working threads")?;
    Ok(())
}

/// Runs `hook` (with the signal's name) when the clean-up is forced, before this process's
/// temporary files and claims are removed.
pub fn on_signal(hook: impl Fn(&str) + Send + 'static) {
    HOOKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Box::new(hook));
}

/// Step 1's end, on the working thread once its error has been reported: when a signal asked for
/// the stop, exits with status 128 + its number (after making sure no temporary or claim is
/// left); otherwise returns.
pub fn exit_if_stopped() {
    let Some(signal) = kd_core::stop::requested() else {
        return;
    };
    let _exiting = EXIT.lock().unwrap_or_else(|e| e.into_inner());
    let name = kd_core::stop::signal_name(signal);
    let temps = kd_core::io::abandon_live_temps();
    let claims = crate::store::claim::abandon_all();
    let left = temps.len() + claims.len();
    if left > 0 {
        eprintln!("{name}: removed {left} temporary file(s) and claim(s) the error left");
    }
    eprintln!(
        "{name}: stopped cleanly; exiting with status {}",
        128 + signal
    );
    std::process::exit(128 + signal)
}

/// Step 2: the clean-up from the signal thread, then the exit.
fn force(signal: i32) -> ! {
    let _exiting = EXIT.lock().unwrap_or_else(|e| e.into_inner());
    let name = kd_core::stop::signal_name(signal);
    eprintln!("{name}: forcing the stop (removing this process's temporary files and claims)");
    for hook in HOOKS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        hook(name);
    }
    let temps = kd_core::io::abandon_live_temps();
    let claims = crate::store::claim::abandon_all();
    eprintln!(
        "{name}: removed {} temporary file(s) and {} claim(s); exiting with status {}",
        temps.len(),
        claims.len(),
        128 + signal
    );
    signal_hook::low_level::exit(128 + signal)
}
