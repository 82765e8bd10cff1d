//! Atomic file writes: write a temporary sibling, fsync, rename, so an interrupted run leaves the
//! previous output (or none), never a truncated table or figure. Mirrors `kd_core::io`, which
//! `reports` cannot use because kd-core links libtorch and this crate must build without it.

use crate::error::{ReportError, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The temporary sibling used while `path` is written. The extension is kept last
/// (`fig.tmp123.png`) because the PNG encoder picks the format from it.
pub fn tmp_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.tmp{}.{}", std::process::id(), ext.to_string_lossy()),
        None => format!("{stem}.tmp{}", std::process::id()),
    };
    path.with_file_name(name)
}

/// Creates the parent directory of `path` if needed.
pub fn ensure_parent(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically, creating parent directories.
pub fn atomic_write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    ensure_parent(path)?;
    let tmp = tmp_path(path);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        w.write_all(bytes)?;
        w.flush()?;
        w.get_ref().sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(ReportError::io(path, e));
    }
    commit_tmp(&tmp, path)
}

/// Renames a finished temporary file onto `path`.
pub fn commit_tmp(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        ReportError::io(path, e)
    })
}
