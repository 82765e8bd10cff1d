//! Stage caching. Each pipeline stage writes into `<out>/stages/<stage>-<key>/`, where `key` hashes
//! exactly the settings and inputs the stage depends on; `done.json` is written last (atomically),
//! so a directory without it is an unfinished stage that the stage itself resumes (teacher and
//! student epochs, labelling chunks). Changing a student setting changes only the students' keys.

use anyhow::{Context, Result};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A stage's directory and key.
#[derive(Debug, Clone)]
pub struct Stage {
    /// e.g. "teacher".
    pub name: &'static str,
    /// 12 hex digits of the SHA-256 of the stage's inputs.
    pub key: String,
    /// `<out>/stages/<name>-<key>`.
    pub dir: PathBuf,
}

impl Stage {
    /// The stage `name` whose inputs serialise to `inputs` (anything serde can write as JSON).
    pub fn new(out_dir: &Path, name: &'static str, inputs: &impl Serialize) -> Result<Self> {
        let json = serde_json::to_vec(inputs).context("hashing stage inputs")?;
        let key = hex12(&Sha256::digest(&json));
        let dir = out_dir.join("stages").join(format!("{name}-{key}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self { name, key, dir })
    }

    fn done_path(&self) -> PathBuf {
        self.dir.join("done.json")
    }

    /// The summary written by [`Stage::finish`], if the stage has finished.
    pub fn done<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        let path = self.done_path();
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        Ok(Some(value))
    }

    /// Marks the stage finished, with a summary that later runs read back instead of redoing it.
    pub fn finish<T: Serialize>(&self, summary: &T) -> Result<()> {
        let json = serde_json::to_vec_pretty(summary)?;
        kd_core::io::atomic_write_bytes(&self.done_path(), &json)?;
        Ok(())
    }
}

/// First 12 hex digits of a digest.
pub fn hex12(digest: &[u8]) -> String {
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (12 hex digits) of a file's bytes: identifies a data file in stage keys.
pub fn file_digest(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex12(&Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_follows_inputs_and_done_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let a = Stage::new(dir.path(), "teacher", &("x", 1)).unwrap();
        let b = Stage::new(dir.path(), "teacher", &("x", 2)).unwrap();
        let a2 = Stage::new(dir.path(), "teacher", &("x", 1)).unwrap();
        assert_ne!(a.key, b.key);
        assert_eq!(a.key, a2.key);
        assert_eq!(a.done::<u32>().unwrap(), None);
        a.finish(&7u32).unwrap();
        assert_eq!(a2.done::<u32>().unwrap(), Some(7));
        assert_eq!(b.done::<u32>().unwrap(), None);
    }
}
