//! The lock check (`lock-check DIR`, `scripts/lock-check.sh DIR`): run at the same time on two or
//! more nodes over one directory of the file system meant for the store, it tests what the store
//! relies on, with the store's own code paths, and says what fails:
//!
//! 1. **shared locks** — every process takes a shared `flock` on one file, opened as the store
//!    opens its lock files, and holds it until all do (NFSv4 refuses this on a file opened
//!    write-only; locks that exclude where they should share would never get all of them in);
//! 2. **exclusive locks** — each process in turn holds an exclusive `flock` and, inside it,
//!    creates a marker with `O_EXCL` and bumps a counter: a marker already there (two holders at
//!    once) or a lost update fails; then one process holds the lock while the others check that
//!    they cannot take it shared (node-local locks let them);
//! 3. **exclusive creation** — all race to create the same files by hard link
//!    ([`kd_core::io::atomic_create`], how `done.json` and claims are made): one winner per file;
//! 4. **clocks** — the file system's clock (a written file's mtime) against this machine's.
//!
//! It also prints the mount the directory is on, with the options known to break locks across
//! nodes (`local_lock=`, `nolock`, Lustre's `localflock`). Processes meet through files in the
//! directory (each announces itself, and waits for the others at each step), so they need no
//! network of their own; the directory should be empty, and is left empty.

use super::lock::open_lock;
use anyhow::{bail, Context, Result};
use kd_core::owner::Owner;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// The directory (on the file system under test), shared by every participant.
    pub dir: PathBuf,
    /// How many processes take part (they wait for each other).
    pub peers: usize,
    /// Exclusive-lock turns and creation races per process.
    pub rounds: usize,
    /// How long to wait for the others at any step.
    pub timeout: Duration,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Which check.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

/// Runs the check in this process; `say` hears progress. Returns every finding (an error only
/// when the check itself could not run: a missing peer, an unwritable directory).
pub fn run(cfg: &CheckConfig, say: &mut dyn FnMut(&str)) -> Result<Vec<Finding>> {
    let dir = &cfg.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let me = Owner::current().token();
    let mut findings = Vec::new();
    say(&format!("lock check in {} as {me}", dir.display()));
    if let Some(m) = mount_of(dir) {
        findings.push(mount_finding(&m));
    }

    // Meet.
    touch(&dir.join(format!("hello-{me}")))?;
    let peers = barrier(cfg, "hello-")?;
    let leader = peers[0].clone();
    let hosts: Vec<String> = peers
        .iter()
        .filter_map(|t| Owner::parse(t).map(|o| o.host))
        .collect();
    let mut distinct = hosts.clone();
    distinct.sort();
    distinct.dedup();
    say(&format!("peers: {}", peers.join(", ")));
    findings.push(Finding {
        name: "peers on distinct hosts",
        ok: distinct.len() == peers.len(),
        detail: if distinct.len() == peers.len() {
            format!("{} hosts: {}", distinct.len(), distinct.join(", "))
        } else {
            format!(
                "hosts {hosts:?}: run one process per node, or this checks nothing across nodes"
            )
        },
    });

    // 1. Shared locks held by all at once.
    let shared = open_lock(&dir.join("shared.lock"))?;
    let outcome = match shared.try_lock_shared() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => {
            wait_lock(&shared, cfg.timeout, true).map_err(|e| e.to_string())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(format!("taking a shared lock: {e}")),
    };
    match outcome {
        Ok(()) => {
            touch(&dir.join(format!("shared-{me}")))?;
            let all = barrier(cfg, "shared-").is_ok();
            findings.push(Finding {
                name: "shared locks coexist",
                ok: all,
                detail: if all {
                    format!("{} processes held one shared lock at once", cfg.peers)
                } else {
                    "the other processes never got the shared lock this one held".into()
                },
            });
        }
        Err(e) => {
            touch(&dir.join(format!("shared-{me}")))?;
            let _ = barrier(cfg, "shared-");
            findings.push(Finding {
                name: "shared locks coexist",
                ok: false,
                detail: e,
            });
        }
    }
    drop(shared);
    touch(&dir.join(format!("released-{me}")))?;
    barrier(cfg, "released-")?;

    // 2a. Exclusive locks, in turns: never two holders, no lost update.
    let counter = dir.join("counter");
    if me == leader {
        std::fs::write(&counter, b"0").with_context(|| format!("writing {}", counter.display()))?;
        touch(&dir.join("counter-ready"))?;
    }
    wait_for(cfg, &dir.join("counter-ready"))?;
    let mut overlaps = 0;
    for _ in 0..cfg.rounds {
        let file = open_lock(&dir.join("exclusive.lock"))?;
        wait_lock(&file, cfg.timeout, false)?;
        let inside = dir.join("inside");
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&inside)
        {
            Ok(_) => {
                bump(&counter)?;
                std::thread::sleep(Duration::from_millis(10));
                let _ = std::fs::remove_file(&inside);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                overlaps += 1;
                bump(&counter)?;
            }
            Err(e) => return Err(e).with_context(|| format!("creating {}", inside.display())),
        }
        drop(file);
    }
    touch(&dir.join(format!("exclusive-{me}")))?;
    barrier(cfg, "exclusive-")?;
    let count: usize = std::fs::read_to_string(&counter)?
        .trim()
        .parse()
        .unwrap_or(0);
    let expected = cfg.rounds * cfg.peers;
    findings.push(Finding {
        name: "exclusive locks exclude",
        ok: overlaps == 0 && count == expected,
        detail: format!(
            "{overlaps} of this process's {} turns found another holder inside; the shared \
             counter reads {count} of {expected}",
            cfg.rounds
        ),
    });

    // 2b. One holds the lock exclusively; the others must be kept out, even from a shared one.
    let held = dir.join("held");
    if me == leader {
        let file = open_lock(&dir.join("exclusive.lock"))?;
        wait_lock(&file, cfg.timeout, false)?;
        touch(&held)?;
        touch(&dir.join(format!("probed-{me}")))?;
        barrier(cfg, "probed-")?;
        drop(file);
    } else {
        wait_for(cfg, &held)?;
        let file = open_lock(&dir.join("exclusive.lock"))?;
        let blocked = matches!(
            file.try_lock_shared(),
            Err(std::fs::TryLockError::WouldBlock)
        );
        drop(file);
        findings.push(Finding {
            name: "an exclusive lock keeps other hosts out",
            ok: blocked,
            detail: if blocked {
                format!("{leader} held it; this process could not take it")
            } else {
                format!("{leader} held it exclusively, yet this process took it: locks are not shared between these hosts")
            },
        });
        touch(&dir.join(format!("probed-{me}")))?;
        barrier(cfg, "probed-")?;
    }

    // 3. Exclusive creation: one winner per file.
    let mut wrong = Vec::new();
    let mut wins = 0;
    for r in 0..cfg.rounds {
        let path = dir.join(format!("race-{r}"));
        if kd_core::io::atomic_create(&path, me.as_bytes())? {
            wins += 1;
            let text = std::fs::read_to_string(&path)?;
            if text != me {
                wrong.push(format!("race-{r}: won, but it holds {text}"));
            }
        }
    }
    touch(&dir.join(format!("race-done-{me}")))?;
    barrier(cfg, "race-done-")?;
    for r in 0..cfg.rounds {
        let text = std::fs::read_to_string(dir.join(format!("race-{r}"))).unwrap_or_default();
        if !peers.contains(&text) {
            wrong.push(format!("race-{r} holds {text:?}"));
        }
    }
    findings.push(Finding {
        name: "exclusive creation (hard links) has one winner",
        ok: wrong.is_empty(),
        detail: if wrong.is_empty() {
            format!("this process won {wins} of {} races", cfg.rounds)
        } else {
            wrong.join("; ")
        },
    });

    // 4. Clocks.
    let probe = dir.join(format!("clock-{me}"));
    touch(&probe)?;
    let server = std::fs::metadata(&probe)?.modified()?;
    let local = SystemTime::now();
    let skew = match local.duration_since(server) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    findings.push(Finding {
        name: "clocks agree",
        ok: skew.abs() < 30.0,
        detail: format!(
            "this machine's clock is {skew:+.1} s from the file system's (claims judge \
             heartbeats on the file system's clock; other hosts' temporaries are swept after a \
             day by this one's)"
        ),
    });

    // Leave the directory empty: the leader clears it once everyone has seen everyone finish.
    touch(&dir.join(format!("bye-{me}")))?;
    barrier(cfg, "bye-")?;
    touch(&dir.join(format!("gone-{me}")))?;
    if me == leader {
        barrier(cfg, "gone-")?;
        for entry in std::fs::read_dir(dir)?.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(findings)
}

/// The mount holding `path` (`/proc/self/mountinfo`): mount point, type, options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted.
    pub point: PathBuf,
    /// e.g. `nfs4`, `lustre`, `ext4`.
    pub fs_type: String,
    /// Mount and super-block options, comma-separated.
    pub options: String,
}

/// The mount `path` lives on (the longest mount point that is a prefix of it).
pub fn mount_of(path: &Path) -> Option<Mount> {
    let path = std::fs::canonicalize(path).ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter_map(parse_mountinfo)
        .filter(|m| path.starts_with(&m.point))
        .max_by_key(|m| m.point.as_os_str().len())
}

/// One `/proc/self/mountinfo` line.
fn parse_mountinfo(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let left: Vec<&str> = left.split(' ').collect();
    let right: Vec<&str> = right.split(' ').collect();
    let point = left.get(4)?.replace("\\040", " ");
    Some(Mount {
        point: PathBuf::from(point),
        fs_type: right.first()?.to_string(),
        options: format!("{},{}", left.get(5)?, right.get(2).unwrap_or(&"")),
    })
}

/// What the mount's options say about cross-node locks.
pub fn mount_finding(m: &Mount) -> Finding {
    let opts: Vec<&str> = m.options.split(',').collect();
    let has = |o: &str| {
        opts.iter()
            .any(|x| *x == o || x.starts_with(&format!("{o}=")))
    };
    let bad: Vec<&str> = opts
        .iter()
        .copied()
        .filter(|o| {
            matches!(
                *o,
                "nolock" | "localflock" | "local_lock=flock" | "local_lock=all"
            )
        })
        .collect();
    let lustre_without_flock = m.fs_type == "lustre" && !has("flock");
    let ok = bad.is_empty() && !lustre_without_flock;
    let mut detail = format!("{} on {} ({})", m.fs_type, m.point.display(), m.options);
    if !bad.is_empty() {
        detail += &format!(": {} keeps locks on each node", bad.join(", "));
    }
    if lustre_without_flock {
        detail += ": Lustre needs the `flock` mount option for locks across nodes";
    }
    Finding {
        name: "mount options",
        ok,
        detail,
    }
}

/// Creates (or refreshes) an empty marker file.
fn touch(path: &Path) -> Result<()> {
    let mut f = File::create(path).with_context(|| format!("writing {}", path.display()))?;
    f.write_all(b"")?;
    f.sync_all()
        .with_context(|| format!("writing {}", path.display()))
}

/// Bumps the decimal counter in `path` (read, add one, write back; no lock of its own).
fn bump(path: &Path) -> Result<()> {
    let n: usize = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .parse()
        .unwrap_or(0);
    let mut f = File::create(path).with_context(|| format!("writing {}", path.display()))?;
    f.write_all((n + 1).to_string().as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Takes `file`'s lock (shared or exclusive), polling up to `timeout`.
fn wait_lock(file: &File, timeout: Duration, shared: bool) -> Result<()> {
    let t = Instant::now();
    loop {
        let attempt = if shared {
            file.try_lock_shared()
        } else {
            file.try_lock()
        };
        match attempt {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if t.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                bail!("no lock after {} s", timeout.as_secs())
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e).context("taking a lock"),
        }
    }
}

/// Waits until `path` exists.
fn wait_for(cfg: &CheckConfig, path: &Path) -> Result<()> {
    let t = Instant::now();
    while !path.exists() {
        if t.elapsed() > cfg.timeout {
            bail!(
                "{} did not appear within {} s",
                path.display(),
                cfg.timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Waits until `cfg.peers` files named `<prefix><token>` exist; returns the tokens, sorted.
fn barrier(cfg: &CheckConfig, prefix: &str) -> Result<Vec<String>> {
    let t = Instant::now();
    loop {
        let mut tokens: Vec<String> = std::fs::read_dir(&cfg.dir)?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let token = name.strip_prefix(prefix)?;
                Owner::parse(token).map(|_| token.to_string())
            })
            .collect();
        tokens.sort();
        if tokens.len() > cfg.peers {
            bail!(
                "{} holds {} `{prefix}*` files for {} peers: files of an earlier check, or more \
                 processes than --peers; use an empty directory",
                cfg.dir.display(),
                tokens.len(),
                cfg.peers
            );
        }
        if tokens.len() == cfg.peers {
            return Ok(tokens);
        }
        if t.elapsed() > cfg.timeout {
            bail!(
                "only {} of {} processes reached `{prefix}` within {} s: start the check on every \
                 node at about the same time",
                tokens.len(),
                cfg.peers,
                cfg.timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
