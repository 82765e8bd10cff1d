//! Stopping on a signal. Slurm (a time limit, `scancel`) and Kubernetes (a deleted or preempted
//! pod) stop a cell with SIGTERM, then SIGKILL after a grace period (Slurm's `KillWait`, 30 s by
//! default; a pod's `terminationGracePeriodSeconds`, 30 s). On SIGTERM, SIGINT or SIGHUP the task
//! binaries ([`install`]) leave the failure marker of the cell they run (see
//! [`crate::pipeline::run_cell`]), remove the temporary files they are writing
//! ([`kd_core::io::abandon_live_temps`]) and their ownership claims
//! ([`crate::store::claim::abandon_all`]), and exit with status 128 + the signal's number, within
//! milliseconds. Everything they finished stays: a rerun resumes from it.
//!
//! The signal is handled by a thread (signal-hook's iterator), not in the signal handler, so
//! the clean-up may allocate and take locks. As a container's PID 1 the binary needs this: the
//! kernel does not apply a signal's default action to PID 1, so without a handler SIGTERM would
//! be ignored until the grace period ran out.

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::{LazyLock, Mutex};

type Hook = Box<dyn Fn(&str) + Send>;

/// What to do, in order, before the clean-up (the running cell's failure marker).
static HOOKS: LazyLock<Mutex<Vec<Hook>>> = LazyLock::new(Default::default);

/// Installs the handling of SIGTERM, SIGINT and SIGHUP for this process (once, at start).
pub fn install() -> Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .context("signal handling")?;
    std::thread::Builder::new()
        .name("kd-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                stop(signal);
            }
        })
        .context("starting the signal thread")?;
    Ok(())
}

/// Runs `hook` (with the signal's name) when a signal stops this process, before its temporary
/// files and claims are removed.
pub fn on_signal(hook: impl Fn(&str) + Send + 'static) {
    HOOKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Box::new(hook));
}

/// The clean-up, then the exit.
fn stop(signal: i32) -> ! {
    let name = match signal {
        SIGTERM => "SIGTERM",
        SIGINT => "SIGINT",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    };
    eprintln!("{name}: stopping (removing this process's temporary files and claims)");
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
