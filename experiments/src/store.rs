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
//! `done.json` is written last, atomically and exclusively (created by a hard link, so two
//! builders can never both finish a stage), with the stage's summary, its provenance (git
//! revision, device, CPU, threads, libtorch) and its owner; a directory without it is an
//! unfinished stage that the stage itself resumes (teacher and student epochs, labelling chunks).
//!
//! **Who builds a stage.** A stage is built under an exclusive lock (`<dir>/.lock`, `flock`) *and*
//! an ownership claim (`<dir>/.owner`, [`claim`]): the lock makes a second process on any host
//! wait and then reuse the result; the claim — created exclusively, naming its owner by host, pid
//! and start time, kept alive by a heartbeat — makes that hold even on a file system whose locks
//! do not reach across nodes, and is checked again before the stage is finished. A lock whose
//! holder's claim has gone stale on another host (a dead node, whose NFSv3 lock can outlive it)
//! stops blocking after [`claim::Timing::stale`] more, with a warning. The labelling stage's
//! workers share the lock instead: they hold it shared while each labels its own chunks (each
//! chunk under its own lock and claim), and the join takes it exclusively; see
//! [`crate::stages::labels`].
//!
//! **A cell that fails** leaves `failed.json` in its stage dir ([`mark_failed`]), so that
//! cells waiting for the stage fail at once instead of polling until their timeout; the next
//! process that builds the stage removes it.
//!
//! Old stores stay valid: a `done.json` without an owner (written before owners existed) is a
//! finished stage, and processes of the older version share the locks with this one (they do
//! not know claims: on one host, the `flock` keeps them apart).

pub mod check;
pub mod claim;
mod lock;

use anyhow::{bail, Context, Result};
use kd_core::owner::Owner;
use lock::{claim_path, wait_for_lock, Mode};
pub use lock::{lock_file, try_lock_file, FileLock};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The marker a failed cell leaves in its stage dir.
pub const FAILED_FILE: &str = "failed.json";

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
    /// The process that built it (absent in stages finished before owners were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

/// What `failed.json` holds: which cell failed, where, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// e.g. `cell 2 (labels set 0, shard 1/2)`.
    pub cell: String,
    /// The process that failed.
    pub owner: Owner,
    /// Its error (first line of the chain).
    pub error: String,
    /// When (seconds since the Unix epoch).
    pub unix: u64,
}

/// The code and machine that produced a stage or a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `git rev-parse --short HEAD` (`-dirty` with uncommitted changes) when the stage finished.
    pub git_rev: String,
    /// The revision the binary was built from (`-dirty` when its Rust sources had uncommitted
    /// changes; see experiments/build.rs). Differs from `git_rev` when the checkout moved on after
    /// the build. Absent in stages finished before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_rev: Option<String>,
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
            build_rev: Some(crate::results::BUILD_REV.to_string()),
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

/// libtorch's version: the `build-version` file of the libtorch this binary was built against,
/// read at build time (experiments/build.rs), so that it is known wherever the binary runs;
/// `unknown` where the build could not read it.
pub fn libtorch_version() -> String {
    env!("KD_LIBTORCH_VERSION").to_string()
}

/// A lock on a stage (released when dropped): its lock file and, when held exclusively for
/// building, the stage's claim.
#[derive(Debug)]
pub struct StageLock {
    _lock: FileLock,
}

impl Stage {
    fn done_path(&self) -> PathBuf {
        self.dir.join("done.json")
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join(".lock")
    }

    /// Creates the stage dir and takes its lock and claim, waiting (and saying so through `wait`)
    /// while another process builds the stage. When the stage is (or becomes, while waiting)
    /// finished, no claim is taken: the caller reads `done.json`.
    pub fn lock(&self, mut wait: impl FnMut(&str)) -> Result<StageLock> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let path = self.lock_path();
        let file = wait_for_lock(&path, Mode::Exclusive, &mut wait)?;
        // Holding the lock, nobody else writes here: what a killed builder left goes (this
        // host's dead writers' temporaries; another host's only when old, see kd_core::io).
        sweep_tree(&self.dir)?;
        let claim = if self.is_done() {
            None
        } else {
            claim::claim(&claim_path(&path), &|| self.is_done(), &mut wait)?
        };
        Ok(StageLock {
            _lock: FileLock { claim, _file: file },
        })
    }

    /// Creates the stage dir and takes a *shared* lock on it: any number of processes hold it at
    /// once (labelling workers, each claiming its own chunks), none while another holds the
    /// exclusive [`Stage::lock`] (the join), which in turn waits for them all. It also waits while
    /// a live process of another host claims the stage (a join there, where the lock did not keep
    /// this process out). Sweeps nothing.
    pub fn lock_shared(&self, mut wait: impl FnMut(&str)) -> Result<StageLock> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let path = self.lock_path();
        let file = wait_for_lock(&path, Mode::Shared, &mut wait)?;
        claim::wait_until_unclaimed(&claim_path(&path), &|| self.is_done())?;
        Ok(StageLock {
            _lock: FileLock {
                claim: None,
                _file: file,
            },
        })
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
    ///
    /// Checks first that this process still owns the stage (its claim was not taken over), then
    /// creates `done.json` exclusively: an error, and nothing written, when either fails — two
    /// builders never both finish a stage. Removes a failed cell's marker.
    pub fn finish<T: Serialize>(&self, summary: &T, device: tch::Device) -> Result<()> {
        claim::check_owned(&claim_path(&self.lock_path()))?;
        let done = Done {
            summary,
            provenance: Provenance::here(device),
            owner: Some(Owner::current().clone()),
        };
        let json = serde_json::to_vec_pretty(&done)?;
        if !kd_core::io::atomic_create(&self.done_path(), &json)? {
            bail!(
                "{}: another process finished this stage while this one was building it (the \
                 file system's locks and claims did not keep the two apart; see \
                 deploy/README.md, \"What the store needs\")",
                self.done_path().display()
            );
        }
        let _ = std::fs::remove_file(self.dir.join(FAILED_FILE));
        Ok(())
    }
}

/// Leaves the marker of a failed cell (`failed.json`) in stage dir `dir`, for the cells that wait
/// for that stage. A finished stage gets none.
pub fn mark_failed(dir: &Path, cell: &str, error: &str) -> Result<()> {
    if dir.join("done.json").is_file() {
        return Ok(());
    }
    let failure = Failure {
        cell: cell.to_string(),
        owner: Owner::current().clone(),
        error: error.to_string(),
        unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    kd_core::io::atomic_write_bytes(
        &dir.join(FAILED_FILE),
        &serde_json::to_vec_pretty(&failure)?,
    )?;
    Ok(())
}

/// Removes the failed cell's marker from stage dir `dir`: a process is building the stage again.
pub fn clear_failure(dir: &Path) -> Result<()> {
    let path = dir.join(FAILED_FILE);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The failed cell's marker in stage dir `dir`, unless the stage is finished.
pub fn failure_in(dir: &Path) -> Result<Option<Failure>> {
    let path = dir.join(FAILED_FILE);
    if dir.join("done.json").is_file() {
        return Ok(None);
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let failure =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(Some(failure))
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
mod tests;
