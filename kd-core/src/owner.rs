//! Who is writing: a process named by its host, pid and start time, the token that the
//! temporary-file names of [`crate::io`] and the stage store's ownership claims carry.
//!
//! A pid alone names a process only on one machine (and only until it is reused): on a shared file
//! system, pid 4242 of node A and pid 4242 of node B are different processes, and in containers
//! every pod's main process is pid 1. So a writer is `<host>-<pid>-<start>`: the host name, the pid
//! and the process's start time (clock ticks since boot, field 22 of `/proc/<pid>/stat`). Whether
//! such a writer still runs can be told only on its own host ([`Owner::liveness`]); for another
//! host's writer the answer is [`Liveness::Unknown`].
//!
//! The host name is `$KD_HOST` when set ([`HOST_ENV`]), else the kernel's host name. Setting
//! `KD_HOST` makes two processes of one machine look like two hosts (the store's tests race one
//! stage that way); in production it is only needed where two machines share a host name.

use std::path::Path;
use std::sync::OnceLock;

/// The environment variable that overrides the host name in writer tokens (see the module docs).
pub const HOST_ENV: &str = "KD_HOST";

/// A writing process: host, pid, start time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Owner {
    /// The host name, reduced to `[A-Za-z0-9_]` and `-` (dots become `_`), never empty.
    pub host: String,
    /// The process id on that host.
    pub pid: u32,
    /// The process's start time in clock ticks since the host booted (0 where unknown).
    pub start: u64,
}

/// Whether a writer still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// It runs (or is this process).
    Alive,
    /// It has exited: its pid is gone on this host, or now names a later process.
    Dead,
    /// It runs on another host (or this system has no `/proc`): this process cannot tell.
    Unknown,
}

impl Owner {
    /// This process.
    pub fn current() -> &'static Owner {
        static CURRENT: OnceLock<Owner> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let pid = std::process::id();
            Owner {
                host: this_host(),
                pid,
                start: start_ticks(pid).unwrap_or(0),
            }
        })
    }

    /// `<host>-<pid>-<start>`, as temporary-file names carry it.
    pub fn token(&self) -> String {
        format!("{}-{}-{}", self.host, self.pid, self.start)
    }

    /// Parses [`Owner::token`]'s output (the host may contain `-`: the last two fields are the
    /// pid and the start time).
    pub fn parse(token: &str) -> Option<Owner> {
        let mut fields = token.rsplitn(3, '-');
        let start = fields.next()?;
        let pid = fields.next()?;
        let host = fields.next()?;
        let decimal = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !host_ok || !decimal(pid) || !decimal(start) {
            return None;
        }
        Some(Owner {
            host: host.to_string(),
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }

    /// Whether this writer is on this process's host.
    pub fn is_local(&self) -> bool {
        self.host == Owner::current().host
    }

    /// Whether this writer still runs, as far as this process can tell: only a writer on this
    /// host can be looked up (`/proc/<pid>/stat`, its start time compared, so that a reused pid
    /// does not pass for the writer).
    pub fn liveness(&self) -> Liveness {
        let me = Owner::current();
        if self == me {
            return Liveness::Alive;
        }
        if !self.is_local() || !Path::new("/proc/self/stat").exists() {
            return Liveness::Unknown;
        }
        match start_ticks(self.pid) {
            None => Liveness::Dead,
            // A writer recorded without a start time (no /proc when it started) is judged by pid.
            Some(_) if self.start == 0 => Liveness::Alive,
            Some(start) if start == self.start => Liveness::Alive,
            Some(_) => Liveness::Dead,
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {}", self.pid, self.host)
    }
}

/// `$KD_HOST`, else the kernel's host name, else `unknown-host`, reduced to the characters a
/// token may hold.
fn this_host() -> String {
    let raw = std::env::var(HOST_ENV)
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    sanitize_host(&raw)
}

/// `host` with every character outside `[A-Za-z0-9_-]` replaced by `_`.
pub fn sanitize_host(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Field 22 of `/proc/<pid>/stat` (start time, clock ticks since boot); `None` when the process
/// does not exist (or there is no `/proc`).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after its `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_other_names() {
        let o = Owner {
            host: "node-17_a".into(),
            pid: 42,
            start: 987,
        };
        assert_eq!(o.token(), "node-17_a-42-987");
        assert_eq!(Owner::parse(&o.token()), Some(o));
        for bad in [
            "", "42-987", "-42-987", "a-x-1", "a-1-", "a.b-1-2", "a-1-2x",
        ] {
            assert_eq!(Owner::parse(bad), None, "{bad}");
        }
        assert_eq!(sanitize_host("n1.cluster.local"), "n1_cluster_local");
    }

    #[test]
    fn this_process_is_alive_and_a_gone_one_dead() {
        let me = Owner::current();
        assert!(me.start > 0, "start time from /proc/self/stat");
        assert_eq!(me.liveness(), Liveness::Alive);
        assert_eq!(Owner::parse(&me.token()).as_ref(), Some(me));
        // This pid, started at another time: a reused pid, so the writer is gone.
        let reused = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert_eq!(reused.liveness(), Liveness::Dead);
        let gone = Owner {
            pid: 4_000_000_000,
            ..me.clone()
        };
        assert_eq!(gone.liveness(), Liveness::Dead);
        // pid 1 of this host runs; the same pid elsewhere cannot be looked up.
        let init = Owner {
            pid: 1,
            start: start_ticks(1).unwrap(),
            ..me.clone()
        };
        assert_eq!(init.liveness(), Liveness::Alive);
        let elsewhere = Owner {
            host: format!("{}-other", me.host),
            ..init
        };
        assert_eq!(elsewhere.liveness(), Liveness::Unknown);
    }
}
