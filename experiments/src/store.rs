//! The stage store: one directory shared by every run (default `runs/store/`, `--store DIR`),
//! holding each pipeline stage's output in `<store>/<stage>-<key>/`.
//!
//! A stage's **key** is the SHA-256 (12 hex digits) of everything that can change its output and
//! nothing else: the content digests of its input files (checkpoint, tokenizer, model config,
//! word vectors, POS model, data files), its results-relevant settings (normalised: no threads,
//! progress or evaluation batch sizes), the keys of the stages it reads, and a per-stage version
//! constant that is bumped whenever that stage's code changes what it produces. Two configs that
//! share a stage's inputs share its directory: an ablation reuses the default run's teacher and
//! labels.
//!
//! `done.json` is written last, atomically, with the stage's summary and its provenance (git
//! revision, device, CPU, threads, libtorch); a directory without it is an unfinished stage that
//! the stage itself resumes (teacher and student epochs, labelling chunks). A stage is built under
//! an exclusive lock (`<dir>/.lock`): a second process that wants the same stage waits for it and
//! then reuses the result, so two runs never share a half-built stage. (The labelling stage's
//! workers share it: they hold the lock shared while each labels its own chunks, and the join
//! takes it exclusively; see [`crate::stages::labels`].)

use anyhow::{Context, Result};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The shared stage store.
#[derive(Debug, Clone)]
pub struct Store {
    /// Its root directory.
    pub root: PathBuf,
}

impl Store {
    /// The store at `root` (created when missing).
    pub fn open(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root)
            .with_context(|| format!("creating the stage store {}", root.display()))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The stage `name` at code version `version` whose inputs serialise to `inputs` (anything
    /// serde can write as JSON). Computing a stage's key creates nothing on disk.
    pub fn stage(&self, name: &str, version: u32, inputs: &impl Serialize) -> Result<Stage> {
        let json = serde_json::to_vec(&(name, version, inputs)).context("hashing stage inputs")?;
        let key = hex12(&Sha256::digest(&json));
        let dir = self.root.join(format!("{name}-{key}"));
        Ok(Stage {
            name: name.to_string(),
            key,
            dir,
        })
    }
}

/// A stage's directory and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// e.g. "teacher", "transfer", "labels", "student".
    pub name: String,
    /// 12 hex digits of the SHA-256 of the stage's inputs.
    pub key: String,
    /// `<store>/<name>-<key>`.
    pub dir: PathBuf,
}

/// What `done.json` holds: the stage's summary and who made it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Done<T> {
    /// The stage's own summary (what later runs read back instead of redoing the work).
    pub summary: T,
    /// The machine and code that produced it.
    pub provenance: Provenance,
}

/// The code and machine that produced a stage or a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `git rev-parse --short HEAD` (`-dirty` with uncommitted changes).
    pub git_rev: String,
    /// e.g. `Cpu`, `Cuda(0)`.
    pub device: String,
    /// `/proc/cpuinfo`'s model name.
    pub cpu: String,
    /// The SIMD extensions libtorch's CPU kernels pick from (which differ across CPUs and are
    /// why the students' float reductions, and so their numbers, can differ across machines).
    pub isa: Vec<String>,
    /// libtorch intra-op threads.
    pub threads: usize,
    /// libtorch's version (from the `build-version` file of the libtorch it was built against).
    pub libtorch: String,
    /// When the stage finished (seconds since the Unix epoch).
    pub finished_unix: u64,
}

impl Provenance {
    /// This process's provenance on `device`.
    pub fn here(device: tch::Device) -> Self {
        Self {
            git_rev: crate::results::git_rev(),
            device: format!("{device:?}"),
            cpu: cpu_model(),
            isa: isa_flags(),
            threads: tch::get_num_threads().max(0) as usize,
            libtorch: libtorch_version(),
            finished_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }
}

/// The CPU's model name (`unknown` where /proc/cpuinfo is not there).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The x86 SIMD extensions present (empty on other architectures).
pub fn isa_flags() -> Vec<String> {
    #[allow(unused_mut)]
    let mut flags: Vec<String> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let checks = [
            ("avx", std::arch::is_x86_feature_detected!("avx")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
            ("avx512bw", std::arch::is_x86_feature_detected!("avx512bw")),
        ];
        flags.extend(checks.iter().filter(|c| c.1).map(|c| c.0.to_string()));
    }
    flags
}

/// libtorch's version, read from the `build-version` file next to the libtorch this binary was
/// built against; `unknown` where that is not there (a binary moved to another machine).
pub fn libtorch_version() -> String {
    option_env!("LIBTORCH")
        .and_then(|dir| std::fs::read_to_string(Path::new(dir).join("build-version")).ok())
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// An exclusive lock on a stage (released when dropped).
#[derive(Debug)]
pub struct StageLock {
    _file: File,
}

impl Stage {
    fn done_path(&self) -> PathBuf {
        self.dir.join("done.json")
    }

    /// Creates the stage dir and takes its lock, waiting (and saying so through `wait`) while
    /// another process builds the stage.
    pub fn lock(&self, wait: impl FnOnce(&str)) -> Result<StageLock> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let path = self.dir.join(".lock");
        let file = lock_file(&path, |msg| wait(msg))?;
        // Holding the lock, nobody else writes here: what a killed builder left goes.
        sweep_tree(&self.dir)?;
        Ok(StageLock { _file: file })
    }

    /// Creates the stage dir and takes a *shared* lock on it: any number of processes hold it at
    /// once (labelling workers, each claiming its own chunks), none while another holds the
    /// exclusive [`Stage::lock`] (the join), which in turn waits for them all. Sweeps nothing.
    pub fn lock_shared(&self, wait: impl FnOnce(&str)) -> Result<StageLock> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let path = self.dir.join(".lock");
        let file = open_lock(&path)?;
        match file.try_lock_shared() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                wait(&format!(
                    "waiting for {} (another process holds it)",
                    path.display()
                ));
                file.lock_shared()
                    .with_context(|| format!("locking {}", path.display()))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
        Ok(StageLock { _file: file })
    }

    /// Whether the stage has finished (its `done.json` is there).
    pub fn is_done(&self) -> bool {
        self.done_path().is_file()
    }

    /// The summary written by [`Stage::finish`], if the stage has finished.
    pub fn done<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        let path = self.done_path();
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let value: Done<T> =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        Ok(Some(value.summary))
    }

    /// Marks the stage finished, with a summary that later runs read back instead of redoing it.
    pub fn finish<T: Serialize>(&self, summary: &T, device: tch::Device) -> Result<()> {
        let done = Done {
            summary,
            provenance: Provenance::here(device),
        };
        let json = serde_json::to_vec_pretty(&done)?;
        kd_core::io::atomic_write_bytes(&self.done_path(), &json)?;
        Ok(())
    }
}

/// Opens (creating) `path` and takes an exclusive lock on it; when another process holds it,
/// calls `wait` with a message once and blocks until the lock is free.
pub fn lock_file(path: &Path, wait: impl FnOnce(&str)) -> Result<File> {
    let file = open_lock(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            wait(&format!(
                "waiting for {} (another process holds it)",
                path.display()
            ));
            file.lock()
                .with_context(|| format!("locking {}", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
    Ok(file)
}

/// Takes `path`'s lock without waiting: `Ok(None)` when another process holds it.
pub fn try_lock_file(path: &Path) -> Result<Option<File>> {
    let file = open_lock(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Removes the temporary files that killed writers left anywhere under `dir`
/// ([`kd_core::io::sweep_temp_files`] in every directory); returns how many.
pub fn sweep_tree(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        removed += kd_core::io::sweep_temp_files(&d)
            .with_context(|| format!("sweeping {}", d.display()))?
            .len();
        let entries = std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
    Ok(removed)
}

/// Opens (creating, never truncating) a lock file.
fn open_lock(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening the lock file {}", path.display()))
}

/// First 12 hex digits of a digest.
pub fn hex12(digest: &[u8]) -> String {
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (12 hex digits) of a file's bytes, streamed.
pub fn file_digest(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex12(&hasher.finalize()))
}

/// Digest of a file, or of every regular file of a directory (names and contents, sorted by
/// name, hidden files skipped): identifies a checkpoint dir, a vectors dir or a POS model dir.
pub fn path_digest(path: &Path) -> Result<String> {
    if path.is_file() {
        return file_digest(path);
    }
    let entries = std::fs::read_dir(path)
        .with_context(|| format!("reading the directory {}", path.display()))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", path.display()))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.path().is_file() {
            files.push(entry.path());
        }
    }
    if files.is_empty() {
        anyhow::bail!("{}: no files there", path.display());
    }
    files.sort();
    let mut hasher = Sha256::new();
    for f in &files {
        hasher.update(f.file_name().unwrap_or_default().as_encoded_bytes());
        hasher.update(file_digest(f)?.as_bytes());
    }
    Ok(hex12(&hasher.finalize()))
}

/// Digest of the named files of a directory only (e.g. the three files a teacher checkpoint is
/// loaded from), so that a README or an unrelated file beside them does not change the key.
pub fn files_digest(dir: &Path, names: &[&str]) -> Result<String> {
    let mut hasher = Sha256::new();
    for name in names {
        hasher.update(name.as_bytes());
        hasher.update(file_digest(&dir.join(name))?.as_bytes());
    }
    Ok(hex12(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_follows_inputs_and_version_and_done_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = store.stage("teacher", 1, &("x", 1)).unwrap();
        let b = store.stage("teacher", 1, &("x", 2)).unwrap();
        let v2 = store.stage("teacher", 2, &("x", 1)).unwrap();
        let a2 = store.stage("teacher", 1, &("x", 1)).unwrap();
        assert_ne!(a.key, b.key);
        assert_ne!(a.key, v2.key, "a version bump must change the key");
        assert_eq!(a, a2);
        let _lock = a.lock(|_| {}).unwrap();
        assert_eq!(a.done::<u32>().unwrap(), None);
        a.finish(&7u32, tch::Device::Cpu).unwrap();
        assert_eq!(a2.done::<u32>().unwrap(), Some(7));
        assert_eq!(b.done::<u32>().unwrap(), None);
        let text = std::fs::read_to_string(a.dir.join("done.json")).unwrap();
        assert!(text.contains("\"provenance\"") && text.contains("\"threads\""));
    }

    #[test]
    fn digests_follow_content_not_paths() {
        let dir = tempfile::tempdir().unwrap();
        let (p, q) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        std::fs::write(&p, "same").unwrap();
        std::fs::write(&q, "same").unwrap();
        assert_eq!(file_digest(&p).unwrap(), file_digest(&q).unwrap());
        let d1 = path_digest(dir.path()).unwrap();
        std::fs::write(dir.path().join(".lock"), "x").unwrap();
        assert_eq!(d1, path_digest(dir.path()).unwrap(), "hidden files count");
        std::fs::write(&q, "other").unwrap();
        assert_ne!(d1, path_digest(dir.path()).unwrap());
        assert_ne!(
            files_digest(dir.path(), &["a.txt"]).unwrap(),
            files_digest(dir.path(), &["b.txt"]).unwrap()
        );
    }

    #[test]
    fn a_held_lock_is_reported_busy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = try_lock_file(&path).unwrap();
        assert!(held.is_some());
        assert!(try_lock_file(&path).unwrap().is_none());
        drop(held);
        assert!(try_lock_file(&path).unwrap().is_some());
    }

    #[test]
    fn shared_stage_locks_coexist_and_keep_the_exclusive_one_out() {
        let dir = tempfile::tempdir().unwrap();
        let stage = Store::open(dir.path())
            .unwrap()
            .stage("labels", 1, &1)
            .unwrap();
        let a = stage.lock_shared(|m| panic!("{m}")).unwrap();
        let b = stage.lock_shared(|m| panic!("{m}")).unwrap();
        let lock = stage.dir.join(".lock");
        assert!(
            try_lock_file(&lock).unwrap().is_none(),
            "exclusive beside shared"
        );
        drop(a);
        assert!(
            try_lock_file(&lock).unwrap().is_none(),
            "one shared holder left"
        );
        drop(b);
        let exclusive = stage.lock(|m| panic!("{m}")).unwrap();
        let f = open_lock(&lock).unwrap();
        assert!(matches!(
            f.try_lock_shared(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(exclusive);
        assert!(!stage.is_done());
    }
}
