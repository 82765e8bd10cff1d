//! Helpers shared by the end-to-end tests: the task binaries, smoke runs into a given out dir
//! and store, killing a run at a stage, and comparing two runs' result files.
#![allow(dead_code)] // each test crate uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn require(path: &Path) {
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh first",
        path.display()
    );
}

pub fn bin(task: &str) -> Command {
    let exe = match task {
        "sst2" => env!("CARGO_BIN_EXE_sst2"),
        "qqp" => env!("CARGO_BIN_EXE_qqp"),
        "mnli" => env!("CARGO_BIN_EXE_mnli"),
        _ => unreachable!(),
    };
    let mut cmd = Command::new(exe);
    cmd.current_dir(root()).env("RUST_BACKTRACE", "0");
    passive_threads(&mut cmd);
    cmd
}

/// Lets libtorch's idle OpenMP threads sleep instead of spinning (unless the caller chose a
/// policy). Tests run two at a time, each pipeline with 2 libtorch threads: on a 2-core machine
/// spinning threads starve the other test's, and this file ran 4.7x slower (666 s against 142 s,
/// measured). The policy changes scheduling only, never a number. `make test` sets it for every
/// test process; this covers a plain `cargo test`.
pub fn passive_threads(cmd: &mut Command) {
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        cmd.env("OMP_WAIT_POLICY", "PASSIVE");
    }
}

pub fn run_ok(task: &str, args: &[&str]) -> Output {
    let out = bin(task).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{task} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// The store's stage dirs whose names start with `prefix`, sorted.
pub fn stage_dirs(store: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(store)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Every file under `dir` whose name marks it as temporary.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().contains(".tmp") {
                found.push(p.clone());
            }
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    found
}

/// `--out-dir OUT --store STORE` as arguments.
pub fn dirs_args<'a>(out: &'a Path, store: &'a Path) -> [&'a str; 4] {
    [
        "--out-dir",
        out.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]
}

pub fn smoke(task: &str, out: &Path, store: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--smoke"];
    args.extend(dirs_args(out, store));
    args.extend(extra);
    run_ok(task, &args)
}

/// Spawns a smoke run and SIGKILLs it once `ready` holds (or it exits); true when it was killed
/// before it finished.
pub fn kill_when(out: &Path, store: &Path, ready: impl Fn() -> bool) -> bool {
    let mut args = vec!["--smoke"];
    args.extend(dirs_args(out, store));
    let mut child = bin("sst2")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !ready() && t.elapsed() < Duration::from_secs(300) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    killed && !out.join("metrics.csv").exists()
}

/// A stage dir (name prefix) exists in the store without its `done.json`.
pub fn building(store: &Path, prefix: &str, nth: usize) -> bool {
    stage_dirs(store, prefix)
        .iter()
        .filter(|d| !d.join("done.json").exists())
        .count()
        > 0
        && stage_dirs(store, prefix).len() > nth
}

/// The files a finished run leaves that must not depend on how it got there, byte for byte
/// (`history.csv` is compared by [`history_differences`]).
pub fn results_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        "metrics.csv".to_string(),
        "dev_predictions.csv".to_string(),
        "variants.csv".to_string(),
    ];
    let mut subs: Vec<String> = std::fs::read_dir(dir.join("submissions"))
        .unwrap()
        .flatten()
        .map(|e| format!("submissions/{}", e.file_name().to_string_lossy()))
        .collect();
    subs.sort();
    files.extend(subs);
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            (f, bytes)
        })
        .collect()
}

/// Relative tolerance on an epoch's mean training loss between a serial and a resumed run.
/// On this project's development machine the two are bit-identical (also under random kills);
/// one CI machine's oneDNN/MKL kernels gave a last-digits difference between two processes
/// training the same epoch. A resume bug (a replayed or skipped epoch, a lost optimiser state)
/// moves the loss by percent, not by 1e-5.
pub const LOSS_RTOL: f64 = 1e-5;

/// How `b`'s history.csv differs from `a`'s: the same rows and columns exactly (wall seconds
/// aside), the training loss within [`LOSS_RTOL`].
pub fn history_differences(a: &Path, b: &Path) -> Vec<String> {
    let (ra, rb) = (
        read_csv(&a.join("history.csv")),
        read_csv(&b.join("history.csv")),
    );
    if ra.len() != rb.len() {
        return vec![format!("history.csv: {} vs {} rows", ra.len(), rb.len())];
    }
    let header = &ra[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (loss, secs) = (col("train_loss"), col("seconds"));
    let mut out = Vec::new();
    for (x, y) in ra.iter().zip(&rb) {
        let same_rest = x.len() == y.len()
            && x.iter()
                .zip(y)
                .enumerate()
                .all(|(i, (u, v))| i == loss || i == secs || u == v);
        let close = |u: &str, v: &str| {
            let (u, v): (f64, f64) = (u.parse().unwrap(), v.parse().unwrap());
            (u - v).abs() <= LOSS_RTOL * u.abs().max(v.abs())
        };
        if !same_rest || (x[loss] != y[loss] && !close(&x[loss], &y[loss])) {
            out.push(format!(
                "history.csv:\n  serial:  {}\n  resumed: {}",
                x.join(","),
                y.join(",")
            ));
        }
    }
    out
}

/// Every file of [`results_of`] that differs, with its first differing line.
pub fn result_differences(a: &Path, b: &Path) -> Vec<String> {
    let (ra, rb) = (results_of(a), results_of(b));
    let mut out = Vec::new();
    if ra.len() != rb.len() {
        out.push(format!("{} vs {} result files", ra.len(), rb.len()));
    }
    for ((fa, xa), (fb, xb)) in ra.iter().zip(&rb) {
        assert_eq!(fa, fb);
        if xa != xb {
            let (la, lb) = (String::from_utf8_lossy(xa), String::from_utf8_lossy(xb));
            let first = la
                .lines()
                .zip(lb.lines())
                .find(|(x, y)| x != y)
                .map(|(x, y)| format!("serial:  {x}\n  resumed: {y}"))
                .unwrap_or_else(|| {
                    format!("{} vs {} lines", la.lines().count(), lb.lines().count())
                });
            out.push(format!("{fa}:\n  {first}"));
        }
    }
    out.extend(history_differences(a, b));
    out
}

/// SIGHUP, SIGINT and SIGTERM as bits of a `/proc` signal mask (bit `n - 1` for signal `n`).
pub const HANDLED_SIGNALS: u64 = (1 << 0) | (1 << 1) | (1 << 14);

/// The blocked-signal mask (`SigBlk`) of a `/proc/.../status` text.
pub fn blocked_signals(status: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .unwrap()
}

/// Each thread of process `pid` (`"self"` for this one): its name and its blocked-signal mask
/// (`SigBlk` in `/proc/PID/task/TID/status`).
pub fn thread_masks(pid: &str) -> Vec<(String, u64)> {
    let tasks = Path::new("/proc").join(pid).join("task");
    let mut out = Vec::new();
    for task in std::fs::read_dir(&tasks).unwrap().flatten() {
        // A thread that ended between the listing and the read is skipped.
        let (Ok(comm), Ok(status)) = (
            std::fs::read_to_string(task.path().join("comm")),
            std::fs::read_to_string(task.path().join("status")),
        ) else {
            continue;
        };
        out.push((comm.trim().to_string(), blocked_signals(&status)));
    }
    out
}

/// Asserts that in process `pid` the handled signals are blocked on every thread but the signal
/// thread (`kd-signals`), and not there.
pub fn assert_signals_reach_only_the_signal_thread(pid: &str) {
    let masks = thread_masks(pid);
    let signal_threads = masks.iter().filter(|(n, _)| n == "kd-signals").count();
    assert_eq!(signal_threads, 1, "{masks:x?}");
    for (name, mask) in &masks {
        let blocked = mask & HANDLED_SIGNALS;
        let want = if name == "kd-signals" {
            0
        } else {
            HANDLED_SIGNALS
        };
        assert_eq!(blocked, want, "thread {name}: {masks:x?}");
    }
}
