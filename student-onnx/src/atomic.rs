//! Writing a set of files so that none is ever half-written: every file goes to a hidden
//! temporary sibling (`.NAME.tmp.<pid>.<seq>`, the naming of `kd_core::io`, whose sweeper
//! recognises it) and is fsynced; only when all are written are they renamed into place, in
//! order. A failure before the renames removes every temporary and leaves the directory as it
//! was.
//!
//! `KD_FAIL_WRITE=<substring>` (as in `kd_core::io`) makes the write of every target whose path
//! contains the substring fail as a full disk would, after its temporary was written: the hook
//! the tests use to check that a failed export leaves nothing behind.

use crate::error::{OnnxError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The fault-injection variable (shared with `kd_core::io`).
pub const FAIL_WRITE_ENV: &str = "KD_FAIL_WRITE";

static SEQ: AtomicU64 = AtomicU64::new(0);

fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "unnamed".into());
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp.{}.{seq}", std::process::id()))
}

fn write_tmp(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let tmp = tmp_path(path);
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        if let Ok(pat) = std::env::var(FAIL_WRITE_ENV) {
            if !pat.is_empty() && path.display().to_string().contains(&pat) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "No space left on device",
                ));
            }
        }
        Ok(())
    })();
    match res {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(OnnxError::io(path, e))
        }
    }
}

/// Writes every `(path, bytes)`, all or none: see the module docs. Renames follow the order given,
/// so the file that marks a complete set goes last.
pub fn write_all(files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
    let mut tmps: Vec<PathBuf> = Vec::new();
    for (path, bytes) in files {
        match write_tmp(path, bytes) {
            Ok(t) => tmps.push(t),
            Err(e) => {
                for t in &tmps {
                    let _ = std::fs::remove_file(t);
                }
                return Err(e);
            }
        }
    }
    for (i, ((path, _), tmp)) in files.iter().zip(&tmps).enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            for t in &tmps[i..] {
                let _ = std::fs::remove_file(t);
            }
            return Err(OnnxError::io(path, e));
        }
    }
    Ok(())
}

/// Writes `path` through `write` (streamed into the temporary), then renames it into place; on
/// an error from `write` or the file system the temporary is removed and `path` is left as it was.
pub fn write_streaming<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    let tmp = tmp_path(path);
    let file = std::fs::File::create(&tmp).map_err(|e| OnnxError::io(path, e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
    let res = write(&mut w).and_then(|v| {
        let file = w
            .into_inner()
            .map_err(|e| OnnxError::io(path, e.into_error()))?;
        file.sync_all().map_err(|e| OnnxError::io(path, e))?;
        std::fs::rename(&tmp, path).map_err(|e| OnnxError::io(path, e))?;
        Ok(v)
    });
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}
