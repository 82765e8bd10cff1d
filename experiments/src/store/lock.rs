//! Lock files: `flock` on a file opened for reading and writing, taken by polling so that a lock
//! left by a dead node stops blocking once its holder's claim says it is gone, and paired with
//! the ownership claim beside it ([`super::claim`]).

use super::claim::{self, Claim, Holder};
use anyhow::{Context, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A lock file held (`flock`) and, for an exclusive holder, the claim beside it. The claim is
/// released first, then the lock (fields drop in order).
#[derive(Debug)]
pub struct FileLock {
    pub(super) claim: Option<Claim>,
    /// `None` where the lock was left to a dead holder (see [`wait_for_lock`]).
    pub(super) _file: Option<File>,
}

impl FileLock {
    /// Whether this process owns what the lock guards (holds its claim).
    pub fn is_claimed(&self) -> bool {
        self.claim.is_some()
    }
}

/// The claim beside a lock file: `X.lock` → `X.owner` (`.lock` → `.owner`).
pub(super) fn claim_path(lock: &Path) -> PathBuf {
    let name = lock.file_name().unwrap_or_default().to_string_lossy();
    let stem = name.strip_suffix(".lock").unwrap_or(&name);
    lock.with_file_name(format!("{stem}.owner"))
}

/// Exclusive or shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Exclusive,
    Shared,
}

/// Opens `path` and takes its `flock` in `mode`, waiting while another process holds it (`wait`
/// hears it once, with the holder's claim when there is one). `None` when the lock was left
/// behind by a dead holder of another host: its claim's heartbeat has been stale for
/// [`claim::Timing::stale`] on top of the stale age itself (a node that died holding an NFSv3
/// lock, which the server keeps until that node restarts); the caller then goes on under the
/// claim alone, with a warning.
pub(super) fn wait_for_lock(
    path: &Path,
    mode: Mode,
    wait: &mut dyn FnMut(&str),
) -> Result<Option<File>> {
    let file = open_lock(path)?;
    let owner = claim_path(path);
    let mut told = false;
    let mut pause = Duration::from_millis(50);
    let mut last_look: Option<Instant> = None;
    let mut dead_since: Option<Instant> = None;
    loop {
        let attempt = match mode {
            Mode::Exclusive => file.try_lock(),
            Mode::Shared => file.try_lock_shared(),
        };
        match attempt {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(lock_error(path, e)),
        }
        if !told {
            let by = match claim::holder(&owner)? {
                Some(Holder::Live(o)) | Some(Holder::Stale(o)) => format!(", claimed by {o}"),
                None => String::new(),
            };
            wait(&format!(
                "waiting for {} (another process holds it{by})",
                path.display()
            ));
            told = true;
        }
        // Every heartbeat or so: is the holder a dead node?
        let timing = claim::timing();
        if last_look.is_none_or(|t| t.elapsed() >= timing.beat) {
            last_look = Some(Instant::now());
            match claim::holder(&owner)? {
                Some(Holder::Stale(o)) if !o.is_local() => {
                    let since = *dead_since.get_or_insert_with(|| {
                        let age = claim::beat_age(path.parent().unwrap_or(Path::new(".")), &owner);
                        wait(&format!(
                            "warning: {} is still locked, but the claim beside it belongs to {o}, \
                             whose heartbeat stopped {} s ago: a lock left by a dead node? \
                             (NFSv3 keeps a client's locks until it restarts.) Going on under \
                             the claim alone in {} s unless it beats again",
                            path.display(),
                            age.unwrap_or(0),
                            timing.stale.as_secs()
                        ));
                        Instant::now()
                    });
                    if since.elapsed() >= timing.stale {
                        wait(&format!(
                            "warning: going on without {}: its holder {o} is gone",
                            path.display()
                        ));
                        return Ok(None);
                    }
                }
                _ => dead_since = None,
            }
        }
        kd_core::stop::sleep(pause)?;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// The error for a failed `flock`, with what to do about the usual causes.
fn lock_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    const ENOLCK: i32 = 37;
    const EBADF: i32 = 9;
    let hint = match e.raw_os_error() {
        Some(ENOLCK) => {
            " (the file system offers no locks: NFS mounted with nolock or without a running \
             lockd, or a local_lock option; the store needs cross-node locks, see \
             deploy/README.md, \"What the store needs\")"
        }
        Some(EBADF) => " (a lock this file system refuses on this open mode; see deploy/README.md)",
        _ => "",
    };
    anyhow::Error::new(e).context(format!("locking {}{hint}", path.display()))
}

/// Takes the exclusive lock of `path` and the claim beside it (`X.lock` → `X.owner`); when
/// another process holds them, calls `wait` (with who holds it) and waits until they are free.
pub fn lock_file(path: &Path, mut wait: impl FnMut(&str)) -> Result<FileLock> {
    let file = wait_for_lock(path, Mode::Exclusive, &mut wait)?;
    let claim = claim::claim(&claim_path(path), &|| false, &mut wait)?;
    Ok(FileLock { claim, _file: file })
}

/// Takes `path`'s lock and claim without waiting: `Ok(None)` when another process holds either
/// (a live owner; a dead one's claim is taken over).
pub fn try_lock_file(path: &Path) -> Result<Option<FileLock>> {
    let file = open_lock(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => return Err(lock_error(path, e)),
    }
    match claim::try_claim(&claim_path(path))? {
        Ok(claim) => Ok(Some(FileLock {
            claim: Some(claim),
            _file: Some(file),
        })),
        Err(_) => Ok(None),
    }
}

/// Opens (creating, never truncating) a lock file, for reading and writing: the Linux NFSv4
/// client refuses a shared lock on a file not opened for reading (and an exclusive one on a file
/// not opened for writing) with EBADF, as `flock` is emulated there by POSIX byte-range locks.
pub(super) fn open_lock(path: &Path) -> Result<File> {
    #[cfg(test)]
    let path = &super::tests::host_local(path);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("opening the lock file {}", path.display()))
}
