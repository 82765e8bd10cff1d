//! Atomic file writes: write to a temporary sibling, fsync, rename. A run killed mid-write leaves
//! the previous file (or none), never a truncated one.
//!
//! # Temporary files
//!
//! While `dir/NAME` is written, the bytes go to the hidden sibling
//! `dir/.NAME.tmp.<pid>.<seq>` (see [`tmp_path`]): `<pid>` is the writing process's id and `<seq>`
//! a per-process counter, so two threads or two processes writing the same file never share a
//! temporary. A write that fails — in the caller's closure, in `flush`/`fsync`, in the rename, or
//! by a panic in the closure — removes its temporary before returning. Only a process killed
//! mid-write (SIGKILL, power loss) leaves one; [`sweep_temp_files`] removes those, and nothing
//! else.
//!
//! # Fault injection
//!
//! [`FAIL_WRITE_ENV`] (`KD_FAIL_WRITE`) is a hook for tests of the programs built on this module:
//! when it is set to a non-empty string, every [`atomic_write`] whose target path contains that
//! string fails as a full disk would (`ErrorKind::StorageFull`, "No space left on device"), after
//! the temporary has been created and written, so the clean-up path runs too. The previous file,
//! if any, is left as it was.

use crate::{KdError, Result};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The fault-injection environment variable: see the module docs.
///
/// `KD_FAIL_WRITE=<substring>` makes every atomic write to a path containing `<substring>` (as
/// `Path::display` prints it) fail with "No space left on device". Meant for tests only.
pub const FAIL_WRITE_ENV: &str = "KD_FAIL_WRITE";

/// The part of a temporary's name between the target's name and `<pid>.<seq>`.
const TMP_MARKER: &str = ".tmp.";

/// Per-process counter that makes every temporary name unique within the process.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary sibling for writing `path`: `.NAME.tmp.<pid>.<seq>` in `path`'s directory
/// (the naming pattern [`sweep_temp_files`] recognises). Each call returns a new name.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_else(|| OsStr::new("unnamed")));
    let seq = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
    name.push(format!("{TMP_MARKER}{}.{seq}", std::process::id()));
    path.with_file_name(name)
}

/// Like [`tmp_path`], with `.EXT` appended (`.NAME.tmp.<pid>.<seq>.EXT`), for writers that pick
/// the format from the file's extension (tch's safetensors writer); [`sweep_temp_files`]
/// recognises these too.
pub fn tmp_path_with_extension(path: &Path, ext: &str) -> PathBuf {
    let tmp = tmp_path(path);
    let mut name = tmp.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{ext}"));
    tmp.with_file_name(name)
}

/// The writer pid when `name` follows the temporary naming pattern `.NAME.tmp.<pid>.<seq>`
/// (NAME non-empty, `<pid>` and `<seq>` decimal), else `None`.
fn tmp_writer_pid(name: &OsStr) -> Option<u32> {
    let name = name.to_str()?;
    let rest = name.strip_prefix('.')?;
    let (target, suffix) = rest.rsplit_once(TMP_MARKER)?;
    let (pid, seq) = suffix.split_once('.')?;
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
    if target.is_empty() || !decimal(pid) || !decimal(seq) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` may still be running (and so may still be writing its temporary).
///
/// On Linux this asks `/proc`; elsewhere only the current process is known to be alive, so the
/// sweep there must run before any other process starts writing into the directory.
fn process_may_be_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_dir = Path::new("/proc");
    cfg!(target_os = "linux") && proc_dir.is_dir() && proc_dir.join(pid.to_string()).exists()
}

/// Removes the temporaries that killed writers left in `dir` (not recursively) and returns their
/// paths, sorted.
///
/// Only regular files named like [`tmp_path`]'s output, `.NAME.tmp.<pid>.<seq>`, are candidates,
/// and of those only the ones whose writer process is no longer running (so a sweep never pulls
/// the temporary from under a live writer, this process's own included). Anything else — other
/// files, directories, symbolic links, temporaries of live writers — is left alone. A missing
/// `dir` is not an error (nothing to sweep).
///
/// Liveness is judged by pid in this machine's process table (`/proc`), so writers must share
/// it: do not sweep a directory that processes on another machine or in another pid namespace
/// write into, unless they are known to be stopped (or the caller holds the directory's lock).
pub fn sweep_temp_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(KdError::io(dir, e)),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| KdError::io(dir, e))?;
        let Some(pid) = tmp_writer_pid(&entry.file_name()) else {
            continue;
        };
        let path = entry.path();
        let is_file = entry
            .file_type()
            .map_err(|e| KdError::io(&path, e))?
            .is_file();
        if !is_file || process_may_be_alive(pid) {
            continue;
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

/// Removes the temporary on drop unless the write was committed: covers errors and panics alike.
struct TmpGuard {
    path: PathBuf,
    committed: bool,
}

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
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
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| KdError::io(dir, e))?;
    }
    let mut guard = TmpGuard {
        path: tmp_path(path),
        committed: false,
    };
    let result = (|| {
        let file = File::create(&guard.path)?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        w.flush()?;
        if let Some(e) = injected_failure(path) {
            return Err(e);
        }
        w.get_ref().sync_all()?;
        drop(w);
        std::fs::rename(&guard.path, path)
    })();
    result.map_err(|e| KdError::io(path, e))?;
    guard.committed = true;
    // Make the rename itself durable; a failure here cannot un-write the file, so it is ignored.
    if let Some(dir) = dir.filter(|_| cfg!(unix)) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn atomic_write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write(path, |w| w.write_all(bytes))
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
        assert_eq!(tmp_writer_pid(name), Some(std::process::id()));
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
            assert_eq!(tmp_writer_pid(OsStr::new(not_tmp)), None, "{not_tmp}");
        }
        assert_eq!(tmp_writer_pid(OsStr::new(".a.tmp.b.tmp.7.0")), Some(7));
        let c = tmp_path_with_extension(Path::new("d/last.safetensors"), "safetensors");
        assert!(c.to_str().unwrap().ends_with(".safetensors"));
        assert_eq!(
            tmp_writer_pid(c.file_name().unwrap()),
            Some(std::process::id())
        );
    }
}
