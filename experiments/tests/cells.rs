//! The run as cells (`--list-cells`, `--cell K`): a smoke run's cells executed by three concurrent
//! workers over one store (scripts/local-array.sh) give the results and the stages of a serial
//! run; a cell run before its dependency fails with one line naming it; SIGTERM stops a cell
//! cleanly and the cells waiting for it at once; two hosts racing one cell build it once; the
//! lock check passes on this machine's file system; the deployment files agree with the cells:
//! the Slurm submission's phases (`deploy/slurm/submit.sh --dry-run`) with `--list-cells` for
//! the default and sharded configs, the Kubernetes Job with `deploy/k8s/job.sh`'s output. These
//! need the set-up's teacher and GloVe cache and the shared data (scripts/setup.sh); they fail,
//! with the missing path, when those are absent.

mod common;

use common::*;
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `experiments::terminate::GRACE`: how long a stop waits for the working thread.
const GRACE: Duration = experiments::terminate::GRACE;

fn require_setup() {
    require(&root().join("data/glue/SST-2/train.tsv"));
    require(&root().join(".cache/minilm/model.safetensors"));
}

/// `sst2 --list-cells ARGS`: (kind, name, dir) per line, numbered from 0.
fn list_cells(args: &[&str]) -> Vec<(String, String, PathBuf)> {
    let mut all = vec!["--list-cells"];
    all.extend(args);
    let out = run_ok("sst2", &all);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(k, line)| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 4, "{line}");
            assert_eq!(f[0], k.to_string(), "{line}");
            (f[1].to_string(), f[2].to_string(), PathBuf::from(f[3]))
        })
        .collect()
}

/// The names of a store's stage dirs, sorted.
fn stage_names(store: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn three_workers_running_the_cells_match_a_serial_run() {
    require_setup();
    let tmp = tempfile::tempdir().unwrap();
    let (serial, store_s) = (tmp.path().join("serial"), tmp.path().join("store-serial"));
    let (cells, store_c) = (tmp.path().join("cells"), tmp.path().join("store-cells"));
    let mut args = vec!["--smoke", "--label-shards", "3"];
    args.extend(dirs_args(&cells, &store_c));
    let listed = list_cells(&args);
    assert!(!store_c.exists(), "--list-cells created the store");
    let kinds: Vec<&str> = listed.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        kinds,
        ["teacher", "transfer", "labels", "labels", "labels", "student", "student", "evaluate"]
    );
    // The serial run beside the workers (they idle while they wait for each other).
    let out = std::thread::scope(|s| {
        s.spawn(|| smoke("sst2", &serial, &store_s, &[]));
        let mut array = Command::new("bash");
        array
            .arg(root().join("scripts/local-array.sh"))
            .arg("3")
            .args(&args)
            .current_dir(root())
            .env("KD_BIN", env!("CARGO_BIN_EXE_sst2"))
            .env("RUST_BACKTRACE", "0");
        passive_threads(&mut array);
        array.output().unwrap()
    });
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "local-array.sh failed:\n{log}");

    let differences = result_differences(&serial, &cells);
    assert!(
        differences.is_empty(),
        "the cells' results differ from the serial run's:\n{}",
        differences.join("\n")
    );
    for f in ["config.yaml", "stages.json", "run.json", "softmax_t.csv"] {
        assert!(cells.join(f).is_file(), "{f} missing");
    }
    // The same stages (same keys), the ones listed, each finished, nothing left over.
    assert_eq!(stage_names(&store_s), stage_names(&store_c));
    let mut listed_dirs: Vec<PathBuf> = listed[..listed.len() - 1]
        .iter()
        .map(|c| c.2.clone())
        .collect();
    listed_dirs.sort();
    listed_dirs.dedup();
    // Besides the listed stages, the evaluation cell builds (and caches) the teachers' logits on
    // dev and test: its own stage, one per teacher.
    let (predictions, built): (Vec<PathBuf>, Vec<PathBuf>) =
        stage_dirs(&store_c, "").into_iter().partition(|d| {
            d.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("predictions-")
        });
    assert_eq!(listed_dirs, built);
    assert_eq!(predictions.len(), 1, "{predictions:?}");
    for name in stage_names(&store_c) {
        let d = store_c.join(&name);
        assert!(d.join("done.json").is_file(), "{name} unfinished");
        assert!(!d.join("chunks").exists(), "{name}: chunks/ left behind");
    }
    let labels = stage_dirs(&store_c, "labels-");
    assert_eq!(labels.len(), 1);
    let name = labels[0].file_name().unwrap();
    assert_eq!(
        std::fs::read(labels[0].join("transfer.tsv")).unwrap(),
        std::fs::read(store_s.join(name).join("transfer.tsv")).unwrap(),
        "the sharded labels differ from the serial ones"
    );
    for d in [&cells, &store_c] {
        let left = temp_files(d);
        assert!(left.is_empty(), "left behind: {left:?}");
    }
    // Every cell ran in its own process and logged into its own file in the out dir.
    let mut run_log = String::new();
    for k in 0..listed.len() {
        let path = cells.join(format!("logs/cell-{k}.log"));
        let log = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert!(
            log.lines().all(|l| l.contains(&format!("cell {k}: "))),
            "{log}"
        );
        run_log += &log;
    }
    assert!(
        !cells.join("log.txt").exists(),
        "cells write logs/, not log.txt"
    );
    let joins = run_log
        .lines()
        .filter(|l| l.contains("labels: ") && l.contains(" examples in "))
        .count();
    assert_eq!(joins, 1, "the labels are joined once:\n{run_log}");

    // A finished cell run again is served from the store.
    let cell = |k: &'static str| {
        let mut a = vec!["--cell", k];
        a.extend(&args);
        a
    };
    let out = run_ok("sst2", &cell("6"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cached"), "{err}");
    assert!(!err.contains("training on"), "{err}");

    // A labelling worker that dies after its first chunk (a full disk at its second, through
    // kd_core::io's KD_FAIL_WRITE hook) leaves the other chunk to a rerun; meanwhile the student
    // that needs the labels names them. The labels end as the serial run's bytes.
    let labels_dir = labels[0].clone();
    let serial_labels = std::fs::read(store_s.join(name).join("transfer.tsv")).unwrap();
    std::fs::remove_dir_all(&labels_dir).unwrap();
    let o = bin("sst2")
        .args(cell("2"))
        .env("KD_FAIL_WRITE", "chunk-000001")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left"), "{err}");
    let chunks = labels_dir.join("chunks");
    assert!(chunks.join("chunk-000000.safetensors").is_file());
    assert!(!chunks.join("chunk-000001.safetensors").exists());
    // The failed worker left its marker: the student fails at once, naming it, with status 3.
    let failed = std::fs::read_to_string(labels_dir.join("failed.json")).unwrap();
    assert!(
        failed.contains("cell 2 (labels set 0, shard 1/3)"),
        "{failed}"
    );
    let o = bin("sst2").args(cell("6")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("needs {}", labels_dir.display()))
            && err.contains("cell 2 (labels set 0, shard 1/3) failed")
            && err.contains("No space left"),
        "{err}"
    );
    // The rerun labels only the missing chunk; say it dies at the join (done.json): the student
    // that needs the labels then finds every chunk there and joins them itself.
    let o = bin("sst2")
        .args(cell("4"))
        .env("KD_FAIL_WRITE", "done.json")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("labels: 1 of 2 chunk(s) of 64 to label"),
        "{err}"
    );
    assert!(!labels_dir.join("done.json").exists());
    let out = run_ok("sst2", &cell("6"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cell 6: labels: 118 examples in"), "{err}");
    assert!(labels_dir.join("done.json").is_file(), "{err}");
    assert!(!chunks.exists());
    assert!(
        !labels_dir.join("failed.json").exists(),
        "the join clears the marker"
    );
    assert_eq!(
        std::fs::read(labels_dir.join("transfer.tsv")).unwrap(),
        serial_labels
    );
    let left = temp_files(&store_c);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_cell_before_its_dependencies_fails_naming_the_missing_stage() {
    require_setup();
    let tmp = tempfile::tempdir().unwrap();
    let (out, store) = (tmp.path().join("out"), tmp.path().join("store"));
    let mut args = vec!["--smoke"];
    args.extend(dirs_args(&out, &store));
    let listed = list_cells(&args);
    // teacher, transfer, labels, bilstm, bilstm_soft, evaluate
    assert_eq!(listed.len(), 6);
    assert_eq!(listed[4].0, "student");
    assert_eq!(listed[4].1, "bilstm_soft seed 0");
    let labels_dir = &listed[2].2;

    let fail = |extra: &[&str]| -> String {
        let mut all: Vec<&str> = extra.to_vec();
        all.extend(&args);
        let o = bin("sst2").args(&all).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(1), "{extra:?}:\n{stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{extra:?}: one error line:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        errors[0].to_string()
    };
    let e = fail(&["--cell", "4"]);
    assert!(
        e.contains(&labels_dir.display().to_string())
            && e.contains("labels of transfer set 0, built by cell 2")
            && e.contains("not finished")
            && e.contains("--wait"),
        "{e}"
    );
    // Nothing was built, nor waited for.
    assert!(
        stage_dirs(&store, "").is_empty(),
        "{:?}",
        stage_dirs(&store, "")
    );
    // With --wait it polls, then gives up naming what it waited for.
    let e = fail(&["--cell", "5", "--wait", "1"]);
    assert!(
        e.contains("timed out after 1 s waiting for")
            && e.contains(&listed[0].2.display().to_string()),
        "{e}"
    );
    let e = fail(&["--cell", "6"]);
    assert!(e.contains("this run has 6 cells, 0 to 5"), "{e}");
    // An array sized for another cell list fails loudly, before any work.
    let e = fail(&["--cell", "0", "--expect-cells", "9"]);
    assert!(
        e.contains("--expect-cells 9: this run has 6 cells (0 to 5)"),
        "{e}"
    );
    assert!(stage_dirs(&store, "").is_empty());
    // --wait belongs to --cell.
    let o = bin("sst2").args(["--smoke", "--wait"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.join("metrics.csv").exists());
}

/// The value at `path` (mapping keys) in `v`.
fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| {
        v.get(*k)
            .unwrap_or_else(|| panic!("no {k} in {path:?}: {v:?}"))
    })
}

/// Sends SIGTERM to `child` once `ready()` holds (checked every 20 ms, for up to `limit`; the
/// child must not end before), then waits for it: its output and how long it took to exit.
/// First checks that every thread of the child but its signal thread blocks the signal.
fn sigterm_once(
    child: std::process::Child,
    ready: impl Fn() -> bool,
    limit: Duration,
) -> (std::process::Output, Duration) {
    let mut child = child;
    let t = Instant::now();
    while !ready() {
        assert!(t.elapsed() < limit, "the child never got ready");
        assert!(child.try_wait().unwrap().is_none(), "the child ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_signals_reach_only_the_signal_thread(&child.id().to_string());
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let t = Instant::now();
    let o = child.wait_with_output().unwrap();
    (o, t.elapsed())
}

#[test]
fn sigterm_stops_a_cell_cleanly_and_its_waiters_at_once() {
    require_setup();
    let tmp = tempfile::tempdir().unwrap();
    let (out, store) = (tmp.path().join("out"), tmp.path().join("store"));
    let mut args = vec!["--smoke"];
    args.extend(dirs_args(&out, &store));
    let listed = list_cells(&args);
    let teacher = listed[0].2.clone();
    let with = |extra: &[&'static str]| {
        let mut a: Vec<&str> = extra.to_vec();
        a.extend(&args);
        a
    };
    // The teacher cell, held in the middle of writing done.json (its temporary written): a thread
    // that never reaches a batch boundary, so the clean-up is forced after the grace period.
    let child = bin("sst2")
        .args(with(&["--cell", "0"]))
        .env("KD_HOLD_WRITE", "done.json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let held_write = || {
        store.exists()
            && temp_files(&store).iter().any(|p| {
                p.starts_with(&teacher)
                    && p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(".done.json.tmp.")
            })
    };
    let (o, took) = sigterm_once(child, held_write, Duration::from_secs(300));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(took < GRACE + Duration::from_secs(5), "{err}");
    assert!(took >= GRACE, "forced before the grace period: {err}");
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(
        err.contains("SIGTERM: stopping at the next batch")
            && err.contains("SIGTERM: forcing the stop")
            && err.contains("removed 1 temporary file(s) and 1 claim(s)"),
        "{err}"
    );
    let left = temp_files(&store);
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!teacher.join(".owner").exists());
    assert!(!teacher.join("done.json").exists());
    let marker = std::fs::read_to_string(teacher.join("failed.json")).unwrap();
    assert!(marker.contains("stopped by SIGTERM"), "{marker}");

    // A labelling cell waiting for the teacher gives up at once, with status 3.
    let t = Instant::now();
    let o = bin("sst2")
        .args(with(&["--cell", "2", "--wait", "120"]))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(t.elapsed() < Duration::from_secs(60), "{err}");
    assert!(
        err.contains("cell 0 (teacher teacher) failed") && err.contains("stopped by SIGTERM"),
        "{err}"
    );
    // The rerun finishes the teacher (from its last epoch) and clears the marker.
    run_ok("sst2", &with(&["--cell", "0"]));
    assert!(teacher.join("done.json").is_file());
    assert!(!teacher.join("failed.json").exists());
    assert!(temp_files(&store).is_empty());

    // A labelling cell waiting for the transfer set (cell 1, not run) stops on its own thread,
    // well inside the grace period: its wait returns "stopped by SIGTERM" like any error.
    let labels = listed[2].2.clone();
    let log = out.join("logs/cell-2.log");
    let child = bin("sst2")
        .args(with(&["--cell", "2", "--wait", "120"]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waiting = || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("waiting for"));
    let (o, took) = sigterm_once(child, waiting, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(took < GRACE, "{err}");
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(
        err.contains("error: ") && err.contains("stopped by SIGTERM"),
        "{err}"
    );
    assert!(
        err.contains("SIGTERM: stopped cleanly; exiting with status 143"),
        "{err}"
    );
    assert!(!err.contains("forcing"), "{err}");
    let marker = std::fs::read_to_string(labels.join("failed.json")).unwrap();
    assert!(marker.contains("stopped by SIGTERM"), "{marker}");
    assert!(temp_files(&store).is_empty());
}

#[test]
fn two_hosts_racing_one_cell_build_it_once() {
    require_setup();
    let tmp = tempfile::tempdir().unwrap();
    let (out, store) = (tmp.path().join("out"), tmp.path().join("store"));
    let mut args = vec!["--cell", "1", "--smoke"];
    args.extend(dirs_args(&out, &store));
    // Two "hosts" (KD_HOST) build the transfer set at once over one store.
    let children: Vec<_> = ["alpha", "beta"]
        .iter()
        .map(|h| {
            bin("sst2")
                .args(&args)
                .env("KD_HOST", h)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let logs: Vec<String> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr).to_string();
            assert!(o.status.success(), "{err}");
            err
        })
        .collect();
    let built = logs
        .iter()
        .filter(|l| l.contains("transfer set: augmenting"))
        .count();
    let cached = logs
        .iter()
        .filter(|l| l.contains("transfer set: cached"))
        .count();
    assert_eq!((built, cached), (1, 1), "{logs:?}");
    let dir = &stage_dirs(&store, "transfer-")[0];
    let done: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("done.json")).unwrap()).unwrap();
    let host = done["owner"]["host"].as_str().unwrap();
    assert!(host == "alpha" || host == "beta", "{done}");
    assert!(!dir.join(".owner").exists());
    assert!(temp_files(&store).is_empty());
}

#[test]
fn the_lock_check_passes_on_this_file_system() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("check");
    let children: Vec<_> = ["alpha", "beta"]
        .iter()
        .map(|h| {
            Command::new(env!("CARGO_BIN_EXE_lock-check"))
                .arg(&dir)
                .args(["--rounds", "5", "--timeout", "60"])
                .env("KD_HOST", h)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
        for check in [
            "PASS peers on distinct hosts: 2 hosts: alpha, beta",
            "PASS shared locks coexist",
            "PASS exclusive locks exclude",
            "PASS exclusive creation (hard links) has one winner",
            "PASS clocks agree",
            "PASS: every check passed",
        ] {
            assert!(stdout.contains(check), "{check}:\n{stdout}");
        }
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "left files");
    // One process alone never finds its peer: an error, not a pass.
    let o = Command::new(env!("CARGO_BIN_EXE_lock-check"))
        .arg(&dir)
        .args(["--timeout", "1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("only 1 of 2 processes"));
}

/// One phase of `deploy/slurm/submit.sh --dry-run`: an `sbatch` line.
#[derive(Debug)]
struct Phase {
    name: String,
    cells: (usize, usize),
    after: Option<String>,
    kill_on_invalid_dep: bool,
    gres: Option<String>,
    /// The words after deploy/slurm/cell.sbatch.
    cell_args: Vec<String>,
}

/// Runs `deploy/slurm/submit.sh --dry-run ARGS` with `env`; the phases it would submit.
fn submit_plan(env: &[(&str, &str)], args: &[&str]) -> Result<Vec<Phase>, String> {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("deploy/slurm/submit.sh"))
        .arg("--dry-run")
        .args(args)
        .current_dir(root())
        .env("KD_BIN", env!("CARGO_BIN_EXE_sst2"))
        .env_remove("GPUS")
        .env_remove("CPUS")
        .env_remove("STORE")
        .env_remove("OUT_DIR")
        .env_remove("LABEL_SHARDS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).to_string());
    }
    let stdout = String::from_utf8(o.stdout).unwrap();
    Ok(stdout
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words[0], "sbatch", "{line}");
            let opt = |name: &str| {
                words
                    .iter()
                    .find_map(|w| w.strip_prefix(&format!("--{name}=")))
                    .map(str::to_string)
            };
            let (lo, hi) = opt("array")
                .unwrap()
                .split_once('-')
                .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
                .unwrap();
            let script = words
                .iter()
                .position(|w| w.ends_with("deploy/slurm/cell.sbatch"))
                .unwrap_or_else(|| panic!("no cell.sbatch: {line}"));
            Phase {
                name: opt("job-name").unwrap(),
                cells: (lo, hi),
                after: opt("dependency"),
                kill_on_invalid_dep: opt("kill-on-invalid-dep").as_deref() == Some("yes"),
                gres: opt("gres"),
                cell_args: words[script + 1..].iter().map(|w| w.to_string()).collect(),
            }
        })
        .collect())
}

#[test]
fn the_slurm_submission_chains_one_array_per_phase_of_the_listed_cells() {
    require_setup();
    // The default config with 4 and 8 labelling cells (8: 13 cells, which the fixed 0-8 array
    // of the old script silently cut short), and a sharded smoke run.
    for (shards, task_args) in [("4", vec![]), ("8", vec![]), ("3", vec!["--smoke"])] {
        let mut list_args = vec!["--threads", "4", "--label-shards", shards];
        list_args.extend(&task_args);
        let listed = list_cells(&list_args);
        let n = listed.len();
        let phases = submit_plan(&[("LABEL_SHARDS", shards)], &task_args)
            .unwrap_or_else(|e| panic!("submit.sh failed: {e}"));
        let what = format!("--label-shards {shards} {task_args:?}: {phases:#?}");
        // The phases cover every cell once, in order, each the whole run of one kind.
        let mut next = 0;
        for (i, p) in phases.iter().enumerate() {
            assert_eq!(p.cells.0, next, "{what}");
            assert!(p.cells.1 >= p.cells.0, "{what}");
            let kind = &listed[p.cells.0].0;
            assert!(
                listed[p.cells.0..=p.cells.1].iter().all(|c| &c.0 == kind),
                "{what}"
            );
            assert_eq!(p.name, format!("kd-{kind}"), "{what}");
            if i > 0 {
                assert_ne!(&listed[p.cells.0 - 1].0, kind, "phases are maximal: {what}");
            }
            next = p.cells.1 + 1;
            // Each phase after the one before it; none holds a GPU on a CPU build.
            let after = (i > 0).then(|| format!("afterok:dry{i}"));
            assert_eq!(p.after, after, "{what}");
            assert_eq!(p.kill_on_invalid_dep, i > 0, "{what}");
            assert_eq!(p.gres, None, "{what}");
            let words = p.cell_args.join(" ");
            assert!(
                words.starts_with(&format!(
                    "--expect-cells {n} --device cpu --threads 4 --label-shards {shards}"
                )),
                "{words}"
            );
            assert!(words.ends_with(&task_args.join(" ")), "{words}");
        }
        assert_eq!(next, n, "{what}");
        let kinds: Vec<&str> = phases.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "kd-teacher",
                "kd-transfer",
                "kd-labels",
                "kd-student",
                "kd-evaluate"
            ],
            "{what}"
        );
    }
    // GPUs only with a CUDA build: the CPU binary is refused, loudly.
    let e = submit_plan(&[("GPUS", "1")], &[]).unwrap_err();
    assert!(e.contains("does not link libtorch_cuda.so"), "{e}");
    // cell.sbatch runs the array task's cell, as its index.
    let cell = std::fs::read_to_string(root().join("deploy/slurm/cell.sbatch")).unwrap();
    assert!(cell.contains(r#"exec "$KD_BIN" --cell "$SLURM_ARRAY_TASK_ID" "$@""#));
}

#[test]
fn deployment_files_are_well_formed_and_agree_with_the_cells() {
    require_setup();
    let read =
        |p: &str| std::fs::read_to_string(root().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    for script in [
        "deploy/slurm/submit.sh",
        "deploy/slurm/cell.sbatch",
        "deploy/k8s/job.sh",
        "scripts/local-array.sh",
        "scripts/cells-speedup.sh",
        "scripts/lock-check.sh",
        "scripts/slurm-check.sh",
    ] {
        let o = Command::new("bash")
            .args(["-n", script])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // The committed Job is job.sh's output for the default config with 4 labelling cells.
    let n = list_cells(&["--label-shards", "4"]).len();
    assert_eq!(n, 9, "teacher, transfer, 4 labels, 2 students, evaluation");
    let o = Command::new("bash")
        .arg(root().join("deploy/k8s/job.sh"))
        .args(["--label-shards", "4"])
        .current_dir(root())
        .env("KD_BIN", env!("CARGO_BIN_EXE_sst2"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = read("deploy/k8s/sst2-indexed-job.yaml");
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        text,
        "deploy/k8s/sst2-indexed-job.yaml is stale: regenerate it with deploy/k8s/job.sh --label-shards 4"
    );
    let job: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(at(&job, &["kind"]).as_str(), Some("Job"));
    assert_eq!(at(&job, &["apiVersion"]).as_str(), Some("batch/v1"));
    let spec = at(&job, &["spec"]);
    assert_eq!(at(spec, &["completionMode"]).as_str(), Some("Indexed"));
    assert_eq!(at(spec, &["completions"]).as_u64(), Some(n as u64));
    assert!(at(spec, &["parallelism"]).as_u64().unwrap() >= 1);
    let rules = at(spec, &["podFailurePolicy", "rules"])
        .as_sequence()
        .unwrap();
    assert!(rules.iter().any(|r| r.get("onExitCodes").is_some_and(|c| {
        at(c, &["values"])
            .as_sequence()
            .unwrap()
            .iter()
            .any(|v| v.as_u64() == Some(3))
    }) && at(r, &["action"]).as_str() == Some("Ignore")));
    let pod = at(spec, &["template", "spec"]);
    assert_eq!(
        at(pod, &["securityContext", "runAsNonRoot"]).as_bool(),
        Some(true)
    );
    assert_eq!(
        at(pod, &["securityContext", "runAsUser"]).as_u64(),
        Some(10001)
    );
    let container = &at(pod, &["containers"]).as_sequence().unwrap()[0];
    let words: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|k| container.get(*k))
        .flat_map(|v| v.as_sequence().unwrap())
        .map(|w| w.as_str().unwrap())
        .collect();
    let flag = |f: &str| words[words.iter().position(|w| *w == f).unwrap() + 1];
    assert_eq!(flag("--cell"), "$(JOB_COMPLETION_INDEX)");
    assert_eq!(flag("--expect-cells"), n.to_string());
    assert_eq!(flag("--label-shards"), "4");
    assert!(words.contains(&"--wait"));
    let env = at(container, &["env"]).as_sequence().unwrap();
    assert!(env
        .iter()
        .any(|e| at(e, &["name"]).as_str() == Some("JOB_COMPLETION_INDEX")));
    let volumes = at(pod, &["volumes"]).as_sequence().unwrap();
    let pvc = volumes
        .iter()
        .find(|v| v.get("persistentVolumeClaim").is_some())
        .expect("a persistentVolumeClaim volume");
    let mounts = at(container, &["volumeMounts"]).as_sequence().unwrap();
    let mount = mounts
        .iter()
        .find(|m| at(m, &["name"]) == at(pvc, &["name"]))
        .expect("the claim is mounted");
    let mount_path = at(mount, &["mountPath"]).as_str().unwrap();
    for f in ["--store", "--out-dir", "--data-dir"] {
        assert!(flag(f).starts_with(mount_path), "{f} off the volume");
    }
    // The claim: ReadWriteMany, with a storage class to choose (a default class is RWO).
    let claim: Value = serde_yaml::from_str(&read("deploy/k8s/pvc.yaml")).unwrap();
    assert_eq!(
        at(&claim, &["metadata", "name"]),
        at(pvc, &["persistentVolumeClaim", "claimName"])
    );
    assert!(at(&claim, &["spec", "accessModes"])
        .as_sequence()
        .unwrap()
        .iter()
        .any(|m| m.as_str() == Some("ReadWriteMany")));
    assert!(at(&claim, &["spec", "storageClassName"])
        .as_str()
        .unwrap()
        .starts_with("CHANGE-ME"));
    let loader_text = read("deploy/k8s/loader.yaml");
    let loader: Value = serde_yaml::from_str(&loader_text).unwrap();
    assert!(
        at(&loader, &["spec", "activeDeadlineSeconds"])
            .as_u64()
            .unwrap()
            <= 3600
    );
    assert!(loader_text.contains("kubectl exec kd-loader -- mkdir -p /work/data"));

    // Docker is not here: the Dockerfile is checked for what it must do (the image was built
    // with podman once; deploy/README.md has the result).
    let docker = read("deploy/Dockerfile");
    let setup = read("scripts/setup.sh");
    let torch = setup
        .lines()
        .find_map(|l| l.strip_prefix("TORCH_VERSION="))
        .unwrap();
    assert!(
        docker.contains(&format!("ARG TORCH_VERSION={torch}")),
        "the Dockerfile's torch is not scripts/setup.sh's {torch}"
    );
    assert!(docker.contains("RUN bash scripts/setup.sh"));
    assert!(docker.contains("cargo build --release"));
    for b in ["sst2", "qqp", "mnli", "lock-check"] {
        assert!(docker.contains(&format!("--bin {b}")), "{b}");
    }
    assert_eq!(
        docker.lines().filter(|l| l.starts_with("FROM ")).count(),
        2,
        "builder + runtime"
    );
    assert!(docker.contains("ENV LD_LIBRARY_PATH="));
    assert!(docker.lines().any(|l| l == "USER 10001:10001"), "not root");
    assert!(docker.contains(r#"KD_GIT_REV="${GIT_REV}""#));
    assert!(
        docker.contains("ldd target/release/sst2"),
        "only the libraries loaded"
    );
    assert!(
        !docker.contains("cp -rL .venv/libtorch/lib"),
        "not all of torch/lib"
    );

    let readme = read("deploy/README.md");
    for needle in [
        "--list-cells",
        "deploy/slurm/submit.sh",
        "--dependency=afterok",
        "scripts/slurm-check.sh",
        "scripts/lock-check.sh",
        "local_lock",
        "deploy/k8s/job.sh",
        "storageClassName",
        "docker build -f deploy/Dockerfile",
        "scripts/local-array.sh",
    ] {
        assert!(readme.contains(needle), "deploy/README.md lacks {needle}");
    }
    assert!(!readme.contains("not measured yet"));
}
