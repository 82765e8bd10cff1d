//! Atomic file writes: write to a temporary sibling, fsync, rename. A run killed mid-write leaves
//! the previous file (or none), never a truncated one.
//!
//! # Temporary files
//!
//! While `dir/NAME` is written, the bytes go to the hidden sibling
//! `dir/.NAME.tmp.<host>-<pid>-<start>.<seq>` (see [`tmp_path`]): the writer's token
//! ([`crate::owner::Owner`]: host name, pid, process start time) and a per-process counter, so two
//! threads, two processes or two machines writing the same file never share a temporary. A write
//! that fails — in the caller's closure, in `flush`/`fsync`, in the rename, or by a panic in the
//! closure — removes its temporary before returning, and a process stopped by a signal removes the
//! ones it is writing first ([`abandon_live_temps`]). Only a process killed outright (SIGKILL, the
//! OOM killer, power loss) leaves one; [`sweep_temp_files`] removes those, and nothing else.
//!
//! The sweep judges a temporary by its writer: one of this host is removed once its process has
//! exited (its pid gone, or reused by a later process); one of another host cannot be looked up
//! from here, so it is left alone until it has not been modified for [`FOREIGN_TEMP_TTL`]. Names
//! of the older form `.NAME.tmp.<pid>.<seq>` (written by earlier versions, which named no host)
//! are judged by pid on this host, as those versions did.
//!
//! # Fault injection
//!
//! [`FAIL_WRITE_ENV`] (`KD_FAIL_WRITE`) is a hook for tests of the programs built on this module:
//! when it is set to a non-empty string, every [`atomic_write`] (and [`atomic_create`]) whose target
//! path contains that string fails as a full disk would (`ErrorKind::StorageFull`, "No space left
//! on device"), after the temporary has been created and written, so the clean-up path runs too.
//! The previous file, if any, is left as it was. [`HOLD_WRITE_ENV`] (`KD_HOLD_WRITE`) instead
//! holds such a write for a minute with its temporary written, for tests of what a signal
//! mid-write leaves.

use crate::owner::{Liveness, Owner};
use crate::{KdError, Result};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Duration;

/// The fault-injection environment variable: see the module docs.
///
/// `KD_FAIL_WRITE=<substring>` makes every atomic write to a path containing `<substring>` (as
/// `Path::display` prints it) fail with "No space left on device". Meant for tests only.
pub const FAIL_WRITE_ENV: &str = "KD_FAIL_WRITE";

/// `KD_HOLD_WRITE=<substring>`: every atomic write to a path containing `<substring>` sleeps for
/// a minute after its temporary is written, before the rename. Meant for tests only (of what a
/// signal that arrives mid-write leaves).
pub const HOLD_WRITE_ENV: &str = "KD_HOLD_WRITE";

/// How long another host's temporary must have been left unmodified before a sweep removes it
/// (its writer cannot be looked up from here; no write keeps a temporary unmodified this long).
pub const FOREIGN_TEMP_TTL: Duration = Duration::from_secs(24 * 3600);

/// The part of a temporary's name between the target's name and the writer.
const TMP_MARKER: &str = ".tmp.";

/// Per-process counter that makes every temporary name unique within the process.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary sibling for writing `path`: `.NAME.tmp.<host>-<pid>-<start>.<seq>` in
/// `path`'s directory (the naming pattern [`sweep_temp_files`] recognises). Each call returns a
/// new name.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_else(|| OsStr::new("unnamed")));
    let seq = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
    name.push(format!("{TMP_MARKER}{}.{seq}", Owner::current().token()));
    path.with_file_name(name)
}

/// Like [`tmp_path`], with `.EXT` appended (`.NAME.tmp.<host>-<pid>-<start>.<seq>.EXT`), for
/// writers that pick the format from the file's extension (tch's safetensors writer);
/// [`sweep_temp_files`] recognises these too.
pub fn tmp_path_with_extension(path: &Path, ext: &str) -> PathBuf {
    let tmp = tmp_path(path);
    let mut name = tmp.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{ext}"));
    tmp.with_file_name(name)
}

/// Who wrote a temporary, from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Writer {
    /// `.NAME.tmp.<pid>.<seq>`: the older form, a pid of some host.
    Pid(u32),
    /// `.NAME.tmp.<host>-<pid>-<start>.<seq>`.
    Owner(Owner),
}

/// The writer when `name` follows a temporary naming pattern — `.NAME.tmp.<writer>.<seq>`, with
/// an optional `.EXT` (one dot-free word with a letter in it), NAME non-empty, `<seq>` decimal,
/// `<writer>` a decimal pid or a `<host>-<pid>-<start>` token — else `None`.
fn tmp_writer(name: &OsStr) -> Option<Writer> {
    let name = name.to_str()?;
    let rest = name.strip_prefix('.')?;
    let (target, suffix) = rest.rsplit_once(TMP_MARKER)?;
    let (writer, seq) = suffix.split_once('.')?;
    // `.EXT` of tmp_path_with_extension.
    let seq = seq.split_once('.').map_or(seq, |(seq, ext)| {
        // An extension is one dot-free word with a letter in it (`safetensors`), never a number.
        if ext.contains('.') || !ext.bytes().any(|b| b.is_ascii_alphabetic()) {
            ""
        } else {
            seq
        }
    });
    let decimal = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if target.is_empty() || !decimal(seq) {
        return None;
    }
    if decimal(writer) {
        return writer.parse().ok().map(Writer::Pid);
    }
    Owner::parse(writer).map(Writer::Owner)
}

/// Whether the older-form writer `pid` may still be running (and so may still be writing its
/// temporary): this process, or any process with that pid on this host.
///
/// On Linux this asks `/proc`; elsewhere only the current process is known to be alive.
fn pid_may_be_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_dir = Path::new("/proc");
    cfg!(target_os = "linux") && proc_dir.is_dir() && proc_dir.join(pid.to_string()).exists()
}

/// Whether the temporary at `path`, written by `writer`, may still be being written.
fn may_be_live(path: &Path, writer: &Writer) -> std::io::Result<bool> {
    match writer {
        Writer::Pid(pid) => Ok(pid_may_be_alive(*pid)),
        Writer::Owner(owner) => match owner.liveness() {
            Liveness::Alive => Ok(true),
            Liveness::Dead => Ok(false),
            Liveness::Unknown => {
                let modified = std::fs::symlink_metadata(path)?.modified()?;
                let age = std::time::SystemTime::now()
                    .duration_since(modified)
                    .unwrap_or_default();
                Ok(age < FOREIGN_TEMP_TTL)
            }
        },
    }
}

/// Removes the temporaries that killed writers left in `dir` (not recursively) and returns their
/// paths, sorted.
///
/// Only regular files named like [`tmp_path`]'s output (or the older `.NAME.tmp.<pid>.<seq>`)
/// are candidates, and of those only the ones whose writer is known to be gone: a writer of this
/// host whose process has exited; one of another host once the file has not been modified for
/// [`FOREIGN_TEMP_TTL`]; an older-form name whose pid is not running on this host. A sweep never
/// pulls the temporary from under a live writer of this host, this process's own included.
/// Anything else — other files, directories, symbolic links — is left alone. A missing `dir` is
/// not an error (nothing to sweep).
///
/// Older-form names carry no host, so their writers are looked up here: do not sweep a directory
/// that older versions on other machines write into unless they are known to be stopped.
pub fn sweep_temp_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(KdError::io(dir, e)),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| KdError::io(dir, e))?;
        let Some(writer) = tmp_writer(&entry.file_name()) else {
            continue;
        };
        let path = entry.path();
        let is_file = entry
            .file_type()
            .map_err(|e| KdError::io(&path, e))?
            .is_file();
        if !is_file {
            continue;
        }
        match may_be_live(&path, &writer) {
            Ok(true) => continue,
            Ok(false) => {}
            // Gone between the listing and the look-up: another sweeper got there first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(KdError::io(&path, e)),
        }
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            // Another sweeper got there first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(KdError::io(&path, e)),
        }
    }
    removed.sort();
    Ok(removed)
}

/// The temporaries this process is writing (registered by [`TempFile`]).
static LIVE_TEMPS: LazyLock<Mutex<HashSet<PathBuf>>> = LazyLock::new(Default::default);

fn live_temps() -> MutexGuard<'static, HashSet<PathBuf>> {
    LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every temporary this process is writing and keeps any other from being started: for a
/// process about to exit on a signal (SIGTERM from Slurm or Kubernetes), so that it leaves no
/// temporary behind. Every later [`TempFile`] blocks for good, so call it only right before
/// exiting. Returns the paths removed.
pub fn abandon_live_temps() -> Vec<PathBuf> {
    let mut live = live_temps();
    let mut removed: Vec<PathBuf> = live
        .drain()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .collect();
    removed.sort();
    // Held until the process exits: no writer registers (and so creates) another temporary.
    std::mem::forget(live);
    removed
}

/// A temporary sibling being written: registered for [`abandon_live_temps`], removed when
/// dropped unless committed (covers errors and panics alike).
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    committed: bool,
}

impl TempFile {
    /// A fresh temporary for writing `target` ([`tmp_path`]); nothing is created yet.
    pub fn new(target: &Path) -> Self {
        Self::register(tmp_path(target))
    }

    /// A fresh temporary ending in `.EXT` ([`tmp_path_with_extension`]).
    pub fn with_extension(target: &Path, ext: &str) -> Self {
        Self::register(tmp_path_with_extension(target, ext))
    }

    fn register(path: PathBuf) -> Self {
        live_temps().insert(path.clone());
        Self {
            path,
            committed: false,
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames it onto `target` (on failure it is removed when dropped).
    pub fn commit(mut self, target: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
        live_temps().remove(&self.path);
    }
}

/// The injected failure for `path`, when [`FAIL_WRITE_ENV`] asks for one.
fn injected_failure(path: &Path) -> Option<std::io::Error> {
    let pattern = std::env::var_os(FAIL_WRITE_ENV)?;
    let pattern = pattern.to_string_lossy();
    (!pattern.is_empty() && path.to_string_lossy().contains(pattern.as_ref())).then(|| {
        std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            format!("No space left on device (injected by {FAIL_WRITE_ENV}={pattern})"),
        )
    })
}

/// Holds the write for a minute when [`HOLD_WRITE_ENV`] names `path`.
fn injected_hold(path: &Path) {
    let Some(pattern) = std::env::var_os(HOLD_WRITE_ENV) else {
        return;
    };
    let pattern = pattern.to_string_lossy();
    if !pattern.is_empty() && path.to_string_lossy().contains(pattern.as_ref()) {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Creates `path`'s directory and writes a temporary for it through `write`, flushed and synced
/// (with the injected failures and holds applied).
fn write_temp<F>(path: &Path, write: F) -> Result<TempFile>
where
    F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
{
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| KdError::io(dir, e))?;
    }
    let tmp = TempFile::new(path);
    let result = (|| {
        let file = File::create(tmp.path())?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        w.flush()?;
        if let Some(e) = injected_failure(path) {
            return Err(e);
        }
        injected_hold(path);
        w.get_ref().sync_all()
    })();
    result.map_err(|e| KdError::io(path, e))?;
    Ok(tmp)
}

/// Makes the last rename or link in `path`'s directory durable; a failure here cannot un-write
/// the file, so it is ignored.
fn sync_parent(path: &Path) {
    if let Some(dir) = path
        .parent()
        .filter(|d| cfg!(unix) && !d.as_os_str().is_empty())
    {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Writes `path` atomically through `write`, creating parent directories.
///
/// On any error the previous content of `path` (or its absence) is kept and the temporary is
/// removed; the error names `path`.
pub fn atomic_write<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
{
    let tmp = write_temp(path, write)?;
    tmp.commit(path).map_err(|e| KdError::io(path, e))?;
    sync_parent(path);
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn atomic_write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write(path, |w| w.write_all(bytes))
}

/// Creates `path` with `bytes`, atomically and exclusively: `Ok(true)` when this call created it,
/// `Ok(false)` (and nothing written) when `path` already existed, whoever made it.
///
/// The bytes go to a temporary that is then hard-linked to `path`: `link` fails when the name
/// exists, on NFS as on a local disk (unlike `rename`, which replaces), so of two processes — on
/// one machine or on two — that create the same file at once exactly one gets `true`, and a
/// reader never sees a partial file. Where an NFS reply is lost and the retried `link` reports
/// the name as taken, the temporary's link count tells whether this call made it (the
/// `open(2)` manual's recipe for exclusive creation on NFS). A file system without hard links
/// fails here with its error.
pub fn atomic_create(path: &Path, bytes: &[u8]) -> Result<bool> {
    let tmp = write_temp(path, |w| w.write_all(bytes))?;
    let created = match std::fs::hard_link(tmp.path(), path) {
        Ok(()) => true,
        Err(e) => {
            use std::os::unix::fs::MetadataExt;
            let linked = std::fs::metadata(tmp.path()).is_ok_and(|m| m.nlink() == 2);
            if !linked && e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(KdError::io(path, e));
            }
            linked
        }
    };
    drop(tmp);
    if created {
        sync_parent(path);
    }
    Ok(created)
}

/// Runs a reader of `path` that may panic on a malformed file (the `parquet` crate asserts on
/// some crafted inputs) and turns a panic into a parse error naming the file: no input file may
/// take the program down. `format` names the file format in the message.
pub fn read_without_panics<T>(
    path: &Path,
    format: &str,
    read: impl FnOnce() -> Result<T>,
) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(KdError::parse(
            path,
            0,
            format!("malformed {format} file (the reader panicked: {what})"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_old_file_and_no_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        atomic_write_bytes(&path, b"old").unwrap();
        let err = atomic_write(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("killed"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn tmp_names_follow_the_swept_pattern() {
        let a = tmp_path(Path::new("d/done.json"));
        let b = tmp_path(Path::new("d/done.json"));
        assert_ne!(a, b, "each call gets a fresh name");
        let name = a.file_name().unwrap();
        assert!(name.to_str().unwrap().starts_with(".done.json.tmp."));
        assert_eq!(
            tmp_writer(name),
            Some(Writer::Owner(Owner::current().clone()))
        );
        for not_tmp in [
            "done.json",
            "done.json.tmp",
            ".done.json.tmp.12",
            ".done.json.tmp.12.",
            ".done.json.tmp.x.1",
            ".done.json.tmp.1.2.3",
            "..tmp.1.2",
            "done.json.tmp.1.2",
        ] {
            assert_eq!(tmp_writer(OsStr::new(not_tmp)), None, "{not_tmp}");
        }
        // The older form (a pid, no host) is still recognised.
        assert_eq!(
            tmp_writer(OsStr::new(".a.tmp.b.tmp.7.0")),
            Some(Writer::Pid(7))
        );
        assert_eq!(
            tmp_writer(OsStr::new(".m.safetensors.tmp.7.3.safetensors")),
            Some(Writer::Pid(7))
        );
        let other = Owner {
            host: "node-2".into(),
            pid: 7,
            start: 99,
        };
        assert_eq!(
            tmp_writer(OsStr::new(".done.json.tmp.node-2-7-99.0")),
            Some(Writer::Owner(other))
        );
        let c = tmp_path_with_extension(Path::new("d/last.safetensors"), "safetensors");
        assert!(c.to_str().unwrap().ends_with(".safetensors"));
        assert_eq!(
            tmp_writer(c.file_name().unwrap()),
            Some(Writer::Owner(Owner::current().clone()))
        );
    }
}
