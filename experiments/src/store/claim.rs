//! Ownership claims: who builds a stage (or labels a chunk, or writes an out dir), recorded in the
//! store itself so that it holds across machines even where `flock` does not.
//!
//! A claim is a small file beside the lock file (`<dir>/.owner` beside `<dir>/.lock`,
//! `chunk-NNNNNN.owner` beside `chunk-NNNNNN.lock`) naming its owner ([`Owner`]: host, pid,
//! start time). It is created exclusively ([`kd_core::io::atomic_create`]: a hard link, which
//! fails when the name exists, on NFS as locally), so of two processes that both believe they
//! hold the lock — two nodes of a file system whose locks are node-local — only one owns the
//! stage. The owner rewrites its claim every [`Timing::beat`] (a heartbeat: the file's mtime, set
//! by the file server's clock) and removes it when done.
//!
//! A process that finds another's claim judges its owner: one of this host is looked up in
//! `/proc` (a dead one's claim is taken over at once); one of another host is alive while its
//! heartbeat is younger than [`Timing::stale`] on the store's own clock (a probe file's mtime,
//! so that the machines' clocks need not agree), and its claim is taken over once it is older.
//! A take-over moves the stale claim aside and creates a new one, so that two processes taking
//! over at once still end with one owner; the displaced owner, if it was alive after all (a
//! suspended process), finds its claim gone at its next heartbeat and stops.

use anyhow::{bail, Context, Result};
use kd_core::owner::{Liveness, Owner};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often owners beat and how old a heartbeat may get before its claim counts as abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Interval between two heartbeats.
    pub beat: Duration,
    /// Age of the last heartbeat (on the store's clock) after which a claim of another host is
    /// taken over. Several beats, so that a slow file server does not lose a live owner its
    /// claim; about an NFSv4 lease (90 s), after which a dead client's locks are released too.
    pub stale: Duration,
}

impl Timing {
    /// 10 s beats, stale after 90 s.
    pub const DEFAULT: Timing = Timing {
        beat: Duration::from_secs(10),
        stale: Duration::from_secs(90),
    };
}

static TIMING: RwLock<Timing> = RwLock::new(Timing::DEFAULT);

/// The timing in force.
pub fn timing() -> Timing {
    *TIMING.read().unwrap_or_else(|e| e.into_inner())
}

/// Shorter beats for tests (every process of a test sets the same).
#[cfg(test)]
pub(crate) fn set_timing(t: Timing) {
    *TIMING.write().unwrap_or_else(|e| e.into_inner()) = t;
}

/// What a claim file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ClaimFile {
    owner: Owner,
    /// When it was claimed (seconds since the Unix epoch, the owner's clock; for people).
    since_unix: u64,
}

/// A claim this process holds; removed (when still its own) on drop.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
}

impl Claim {
    /// The claim file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut held = held();
        if let Some(i) = held.iter().position(|p| p == &self.path) {
            held.swap_remove(i);
            if owner_of(&self.path)
                .ok()
                .flatten()
                .map(|c| c.owner)
                .as_ref()
                == Some(Owner::current())
            {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// The claims this process holds (beaten by the heartbeat thread).
static HELD: LazyLock<Mutex<Vec<PathBuf>>> = LazyLock::new(Default::default);

fn held() -> MutexGuard<'static, Vec<PathBuf>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every claim this process holds and keeps it from taking another: for a process about
/// to exit on a signal. Returns the claim files removed.
pub fn abandon_all() -> Vec<PathBuf> {
    let mut held = held();
    let mine = Some(Owner::current());
    let removed: Vec<PathBuf> = held
        .drain(..)
        .filter(|p| owner_of(p).ok().flatten().map(|c| c.owner).as_ref() == mine)
        .filter(|p| std::fs::remove_file(p).is_ok())
        .collect();
    std::mem::forget(held);
    removed
}

/// The claim at `path`: `None` when there is none (or it is being replaced).
fn owner_of(path: &Path) -> std::io::Result<Option<ClaimFile>> {
    let mut text = String::new();
    match std::fs::File::open(path) {
        Ok(mut f) => f.read_to_string(&mut text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // A claim file is written whole before it is linked into place, so an unreadable one is not
    // a claim of this code: treat it as absent rather than fail every process on it.
    Ok(serde_json::from_str(&text).ok())
}

/// A claim seen in the store: its content and its last heartbeat.
#[derive(Debug, Clone)]
struct Seen {
    claim: ClaimFile,
    beat: SystemTime,
}

fn look(path: &Path) -> Result<Option<Seen>> {
    let claim = owner_of(path).with_context(|| format!("reading the claim {}", path.display()))?;
    let Some(claim) = claim else {
        return Ok(None);
    };
    let beat = match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    Ok(Some(Seen { claim, beat }))
}

/// The current time on the clock of the file system holding `dir`: the mtime of a file written
/// there now (NFS servers stamp writes with their own clock).
fn store_now(dir: &Path) -> Result<SystemTime> {
    let tmp = kd_core::io::TempFile::new(&dir.join("clock"));
    let probe = (|| {
        std::fs::write(tmp.path(), b"t")?;
        std::fs::metadata(tmp.path())?.modified()
    })();
    probe.with_context(|| format!("writing a clock probe in {}", dir.display()))
}

/// What became of a claim that another owner holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// Its owner runs (this host), or beat within [`Timing::stale`] (another host).
    Live(Owner),
    /// Its owner has exited (this host) or has not beat for [`Timing::stale`] (another host).
    Stale(Owner),
}

/// Judges the owner of `seen`.
fn judge(dir: &Path, seen: &Seen) -> Result<Holder> {
    let owner = seen.claim.owner.clone();
    Ok(match owner.liveness() {
        Liveness::Alive => Holder::Live(owner),
        Liveness::Dead => Holder::Stale(owner),
        Liveness::Unknown => {
            let age = store_now(dir)?
                .duration_since(seen.beat)
                .unwrap_or_default();
            if age > timing().stale {
                Holder::Stale(owner)
            } else {
                Holder::Live(owner)
            }
        }
    })
}

/// Who holds the claim at `path`, judged; `None` when nobody does (or this process does).
pub fn holder(path: &Path) -> Result<Option<Holder>> {
    let Some(seen) = look(path)? else {
        return Ok(None);
    };
    if &seen.claim.owner == Owner::current() {
        return Ok(None);
    }
    Ok(Some(judge(path.parent().unwrap_or(Path::new(".")), &seen)?))
}

/// How old `seen`'s heartbeat is on the store's clock, in whole seconds (for messages).
pub fn beat_age(dir: &Path, path: &Path) -> Option<u64> {
    let seen = look(path).ok().flatten()?;
    let now = store_now(dir).ok()?;
    Some(now.duration_since(seen.beat).unwrap_or_default().as_secs())
}

/// One attempt to claim `path`: the claim, or who holds it.
pub fn try_claim(path: &Path) -> Result<std::result::Result<Claim, Holder>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    for _ in 0..8 {
        let content = ClaimFile {
            owner: Owner::current().clone(),
            since_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let json = serde_json::to_vec(&content)?;
        if kd_core::io::atomic_create(path, &json)? {
            return Ok(Ok(register(path)));
        }
        let Some(seen) = look(path)? else {
            // Released (or being replaced) between the two steps: try again.
            continue;
        };
        if &seen.claim.owner == Owner::current() {
            bail!(
                "{}: this process already holds this claim (a lock taken twice)",
                path.display()
            );
        }
        match judge(dir, &seen)? {
            Holder::Live(owner) => return Ok(Err(Holder::Live(owner))),
            Holder::Stale(_) => take_over(path, &seen.claim)?,
        }
    }
    bail!(
        "{}: could not claim it after 8 attempts (other processes keep replacing it)",
        path.display()
    )
}

/// Claims `path`, waiting while a live owner holds it: `None` when `give_up()` becomes true
/// while waiting (the stage it guards got finished meanwhile). `wait` hears once who holds it.
pub fn claim(
    path: &Path,
    give_up: &dyn Fn() -> bool,
    wait: &mut dyn FnMut(&str),
) -> Result<Option<Claim>> {
    let mut told = false;
    let mut warned = false;
    let mut first: Option<(Owner, SystemTime)> = None;
    let mut pause = Duration::from_millis(100);
    loop {
        let holder = match try_claim(path)? {
            Ok(claim) => return Ok(Some(claim)),
            Err(Holder::Live(owner)) | Err(Holder::Stale(owner)) => owner,
        };
        if give_up() {
            return Ok(None);
        }
        if !told {
            wait(&format!(
                "waiting for {} (claimed by {holder})",
                path.display()
            ));
            told = true;
        }
        // The caller holds the lock beside the claim. An owner of another host that beats on
        // meanwhile is alive although that lock should have kept it out: the lock did not reach
        // it. Say so once; the claim still keeps the two apart.
        if let Some(beat) = look(path)?.map(|s| s.beat) {
            match &first {
                Some((o, b0)) if *o == holder => {
                    if !warned && beat != *b0 && !holder.is_local() {
                        wait(&format!(
                            "warning: {} is held by {holder}, whose heartbeat goes on although \
                             this process holds the lock beside it: this file system's locks do \
                             not reach across hosts (see deploy/README.md, \"What the store \
                             needs\"); waiting for the claim instead",
                            path.display()
                        ));
                        warned = true;
                    }
                }
                _ => first = Some((holder.clone(), beat)),
            }
        }
        kd_core::stop::sleep(pause)?;
        pause = (pause * 2).min(timing().beat.min(Duration::from_secs(2)));
    }
}

/// Waits until nobody live holds `path` (without claiming it), or `give_up()`.
pub fn wait_until_unclaimed(path: &Path, give_up: &dyn Fn() -> bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut pause = Duration::from_millis(100);
    loop {
        let Some(seen) = look(path)? else {
            return Ok(());
        };
        if give_up() || &seen.claim.owner == Owner::current() {
            return Ok(());
        }
        if let Holder::Stale(_) = judge(dir, &seen)? {
            return Ok(());
        }
        kd_core::stop::sleep(pause)?;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// Checks that this process still owns `path` (before it finishes what the claim guards): an
/// error when another owner has taken the claim over, or when there is no claim while this
/// process holds one. A path this process never claimed passes when nobody live claims it.
pub fn check_owned(path: &Path) -> Result<()> {
    let mine = held().iter().any(|p| p == path);
    let seen = look(path)?;
    let me = Owner::current();
    match (mine, seen) {
        (_, Some(s)) if &s.claim.owner == me => Ok(()),
        (true, Some(s)) => bail!(
            "{}: the claim was taken over by {} while this process worked (its heartbeat looked \
             stale to it); stopping without finishing, so that the two never mix their files",
            path.display(),
            s.claim.owner
        ),
        (true, None) => bail!(
            "{}: this process's claim was removed while it worked; stopping without finishing",
            path.display()
        ),
        (false, None) => Ok(()),
        (false, Some(s)) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            match judge(dir, &s)? {
                Holder::Stale(_) => Ok(()),
                Holder::Live(owner) => bail!(
                    "{}: claimed by {owner}, which is still working on it",
                    path.display()
                ),
            }
        }
    }
}

/// Moves the stale claim `seen` aside (to a temporary name of this process, swept if it dies) and
/// drops it; a claim that turns out to be newer than `seen` is put back.
fn take_over(path: &Path, seen: &ClaimFile) -> Result<()> {
    let aside = kd_core::io::TempFile::new(path);
    match std::fs::rename(path, aside.path()) {
        Ok(()) => {}
        // Someone else moved it first.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("taking over {}", path.display())),
    }
    if owner_of(aside.path()).ok().flatten().as_ref() != Some(seen) {
        // Another process took it over and claimed it in between: give the claim back.
        let _ = std::fs::hard_link(aside.path(), path);
    }
    Ok(())
}

/// Registers a new claim for the heartbeat (started with the first claim).
fn register(path: &Path) -> Claim {
    static BEAT: std::sync::Once = std::sync::Once::new();
    BEAT.call_once(|| {
        std::thread::Builder::new()
            .name("kd-claims".into())
            .spawn(heartbeat)
            .map(|_| ())
            .unwrap_or_else(|e| eprintln!("warning: no heartbeat thread for claims: {e}"));
    });
    held().push(path.to_path_buf());
    Claim {
        path: path.to_path_buf(),
    }
}

/// Beats every claim this process holds, forever. A claim that another owner has taken over
/// (this process was suspended past [`Timing::stale`], or its file system hid its heartbeat)
/// stops the process: it must not go on writing what someone else now builds.
fn heartbeat() {
    let mut last = Instant::now();
    loop {
        std::thread::sleep(timing().beat.saturating_sub(last.elapsed()));
        last = Instant::now();
        let paths: Vec<PathBuf> = held().clone();
        for path in paths {
            match owner_of(&path) {
                Ok(Some(c)) if &c.owner == Owner::current() => {
                    // Rewriting the same bytes moves the mtime (the server's clock on NFS).
                    let beat = std::fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .and_then(|f| {
                            use std::os::unix::fs::FileExt;
                            f.write_all_at(&serde_json::to_vec(&c).unwrap_or_default(), 0)
                        });
                    if let Err(e) = beat {
                        eprintln!("warning: heartbeat of {}: {e}", path.display());
                    }
                }
                Ok(Some(c)) if held().contains(&path) => {
                    eprintln!(
                        "error: {} was taken over by {} while this process held it (it was \
                         suspended, or the file system hid its heartbeat): stopping",
                        path.display(),
                        c.owner
                    );
                    kd_core::io::abandon_live_temps();
                    signal_hook::low_level::exit(1);
                }
                // Released meanwhile, or removed with its directory (a joined labelling stage's
                // chunks): nothing to beat.
                _ => {}
            }
        }
    }
}
