//! The store's keys, digests, locks and claims; two "hosts" (processes with different `KD_HOST`)
//! racing one stage, with working locks and with locks that do not reach across hosts.

use super::claim::{self, Timing};
use super::lock::open_lock;
use super::*;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Tests only: when set, each host token locks its own copy of every lock file (`X.lock.<host>`),
/// which is how `flock` behaves on a file system whose locks are node-local (NFS with
/// `local_lock=flock`, Lustre with `localflock`): processes of one host exclude each other,
/// processes of two hosts do not. Claims are not affected.
const HOST_LOCAL_ENV: &str = "KD_TEST_HOST_LOCAL_LOCKS";
/// The race test's store, for its child processes.
const RACE_STORE_ENV: &str = "KD_TEST_RACE_STORE";

/// `path`, or its host-local copy under [`HOST_LOCAL_ENV`].
pub(super) fn host_local(path: &Path) -> PathBuf {
    if std::env::var_os(HOST_LOCAL_ENV).is_none() {
        return path.to_path_buf();
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}", Owner::current().host));
    path.with_file_name(name)
}

/// Short beats, so that the tests see heartbeats and stale claims within seconds.
const TEST_TIMING: Timing = Timing {
    beat: Duration::from_millis(100),
    stale: Duration::from_millis(1500),
};

/// A claim file of another owner, last beaten `age` ago.
fn fake_claim(path: &Path, owner: &Owner, age: Duration) {
    let json = serde_json::json!({ "owner": owner, "since_unix": 0 });
    std::fs::write(path, json.to_string()).unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - age)
        .unwrap();
}

fn elsewhere() -> Owner {
    Owner {
        host: format!("{}-elsewhere", Owner::current().host),
        pid: 4242,
        start: 1,
    }
}

/// The access mode of an open file (`/proc/self/fdinfo`'s flags & O_ACCMODE).
fn access_mode(file: &File) -> u32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", file.as_raw_fd())).unwrap();
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .unwrap()
        .trim();
    u32::from_str_radix(flags, 8).unwrap() & 0o3
}

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

#[test]
fn locks_are_taken_on_files_open_for_reading_and_writing_as_nfs4_needs() {
    // NFSv4 refuses a shared lock on a file not opened for reading (EBADF): labelling takes its
    // stage's lock shared, the join and the builders exclusively.
    const O_RDWR: u32 = 0o2;
    let dir = tempfile::tempdir().unwrap();
    let stage = Store::open(dir.path())
        .unwrap()
        .stage("labels", 1, &1)
        .unwrap();
    let shared = stage.lock_shared(|m| panic!("{m}")).unwrap();
    assert_eq!(access_mode(shared._lock._file.as_ref().unwrap()), O_RDWR);
    drop(shared);
    let exclusive = stage.lock(|m| panic!("{m}")).unwrap();
    assert_eq!(access_mode(exclusive._lock._file.as_ref().unwrap()), O_RDWR);
    assert!(exclusive._lock.is_claimed());
    let chunk = try_lock_file(&stage.dir.join("chunk-000000.lock"))
        .unwrap()
        .unwrap();
    assert_eq!(access_mode(chunk._file.as_ref().unwrap()), O_RDWR);
}

#[test]
fn a_stage_finished_by_the_older_version_is_finished() {
    // done.json as the version before owners wrote it: no owner.
    let dir = tempfile::tempdir().unwrap();
    let stage = Store::open(dir.path())
        .unwrap()
        .stage("student", 1, &1)
        .unwrap();
    std::fs::create_dir_all(&stage.dir).unwrap();
    let old = r#"{
  "summary": 7,
  "provenance": {
    "git_rev": "0e94e13", "device": "Cpu", "cpu": "x", "isa": ["avx2"],
    "threads": 2, "libtorch": "2.11.0", "finished_unix": 1
  }
}"#;
    std::fs::write(stage.dir.join("done.json"), old).unwrap();
    assert!(stage.is_done());
    assert_eq!(stage.done::<u32>().unwrap(), Some(7));
    let lock = stage.lock(|m| panic!("{m}")).unwrap();
    assert!(!lock._lock.is_claimed(), "a finished stage is not claimed");
    // Finishing it again is refused, and leaves the old file.
    let e = stage.finish(&8u32, tch::Device::Cpu).unwrap_err();
    assert!(
        format!("{e:#}").contains("another process finished"),
        "{e:#}"
    );
    assert_eq!(
        std::fs::read_to_string(stage.dir.join("done.json")).unwrap(),
        old
    );
}

#[test]
fn finishing_checks_the_claim_and_records_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let stage = store.stage("student", 1, &2).unwrap();
    let lock = stage.lock(|m| panic!("{m}")).unwrap();
    let claim_file = stage.dir.join(".owner");
    assert!(claim_file.is_file());
    // Another process took the stage over (this one looked dead to it): no finishing.
    fake_claim(&claim_file, &elsewhere(), Duration::ZERO);
    let e = stage.finish(&1u32, tch::Device::Cpu).unwrap_err();
    assert!(format!("{e:#}").contains("taken over by pid 4242"), "{e:#}");
    assert!(!stage.is_done());
    drop(lock);
    assert!(claim_file.is_file(), "another's claim is not removed");
    std::fs::remove_file(&claim_file).unwrap();

    let lock = stage.lock(|m| panic!("{m}")).unwrap();
    stage.finish(&1u32, tch::Device::Cpu).unwrap();
    drop(lock);
    assert!(!claim_file.exists(), "the claim goes with the lock");
    let done: Done<u32> =
        serde_json::from_str(&std::fs::read_to_string(stage.dir.join("done.json")).unwrap())
            .unwrap();
    assert_eq!(done.owner.as_ref(), Some(Owner::current()));
    let build = done.provenance.build_rev.as_deref();
    assert_eq!(
        build,
        Some(crate::results::BUILD_REV),
        "the binary's revision is recorded"
    );
}

/// `git` in the workspace root, where build.rs runs it (panics where it cannot: the tests run in
/// a checkout).
fn git(args: &[&str]) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let args = [&["-C", root][..], args].concat();
    student_onnx::export::git(&args).unwrap_or_else(|| panic!("git {args:?} failed"))
}

/// The revision baked in by build.rs follows the checkout: a commit, a checkout or an edit of a
/// source file reruns it (through cargo's rerun-if-changed), so a test binary built by cargo
/// carries the HEAD it was built at, dirty exactly when the Rust sources differ from it.
#[test]
fn the_build_revision_is_the_checkouts_head_dirty_when_its_sources_are() {
    let build = crate::results::BUILD_REV;
    if let Some(given) = option_env!("KD_GIT_REV").filter(|r| !r.is_empty()) {
        assert_eq!(build, given, "a build given KD_GIT_REV records it");
        return;
    }
    let head = git(&["rev-parse", "--short", "HEAD"]);
    let changed = git(&[
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        "*.rs",
        "*Cargo.toml",
        "Cargo.lock",
    ]);
    let expected = if changed.is_empty() {
        head
    } else {
        format!("{head}-dirty")
    };
    assert_eq!(build, expected, "changed sources:\n{changed}");
}

#[test]
fn a_dead_owners_claim_is_taken_over_and_a_live_ones_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let stage = Store::open(dir.path())
        .unwrap()
        .stage("teacher", 1, &3)
        .unwrap();
    std::fs::create_dir_all(&stage.dir).unwrap();
    let claim_file = stage.dir.join(".owner");
    // This host's process that has exited: taken over at once.
    let gone = Owner {
        pid: 4_000_000_000,
        ..Owner::current().clone()
    };
    fake_claim(&claim_file, &gone, Duration::ZERO);
    let lock = stage.lock(|m| panic!("{m}")).unwrap();
    assert!(lock._lock.is_claimed());
    drop(lock);
    // Another host's owner that beat a moment ago holds it; one silent for a day does not.
    let chunk_lock = stage.dir.join("chunk-000003.lock");
    let chunk_claim = stage.dir.join("chunk-000003.owner");
    fake_claim(&chunk_claim, &elsewhere(), Duration::ZERO);
    assert!(try_lock_file(&chunk_lock).unwrap().is_none());
    fake_claim(&chunk_claim, &elsewhere(), Duration::from_secs(86_400));
    let taken = try_lock_file(&chunk_lock).unwrap().unwrap();
    assert!(taken.is_claimed());
    let left: Vec<String> = std::fs::read_dir(&stage.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_lock_left_by_a_dead_node_stops_blocking_and_a_live_holders_does_not() {
    claim::set_timing(TEST_TIMING);
    let dir = tempfile::tempdir().unwrap();
    let stage = Store::open(dir.path())
        .unwrap()
        .stage("teacher", 1, &4)
        .unwrap();
    std::fs::create_dir_all(&stage.dir).unwrap();
    let lock_path = stage.dir.join(".lock");
    let claim_file = stage.dir.join(".owner");
    // The lock stays held (as a dead NFSv3 client's lock does) ...
    let held = open_lock(&lock_path).unwrap();
    held.try_lock().unwrap();
    // ... by a process of this host whose claim says it has exited: this host's locks go with
    // their processes, so the holder is someone else (an older version): keep waiting.
    let gone = Owner {
        pid: 4_000_000_000,
        ..Owner::current().clone()
    };
    fake_claim(&claim_file, &gone, Duration::from_secs(3600));
    let (tx, rx) = std::sync::mpsc::channel();
    let s = stage.clone();
    let waiter = std::thread::spawn(move || {
        let mut said = Vec::new();
        let lock = s.lock(|m| said.push(m.to_string())).unwrap();
        tx.send(()).unwrap();
        (lock._lock._file.is_some(), said)
    });
    std::thread::sleep(TEST_TIMING.stale * 2);
    assert!(rx.try_recv().is_err(), "went on beside a live holder");
    drop(held);
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let (locked, said) = waiter.join().unwrap();
    assert!(locked);
    assert!(said[0].contains("another process holds it"), "{said:?}");

    // Another host's claim, silent for an hour, beside a lock that stays held: a dead node.
    let held = open_lock(&lock_path).unwrap();
    held.try_lock().unwrap();
    fake_claim(&claim_file, &elsewhere(), Duration::from_secs(3600));
    let t = Instant::now();
    let mut said = Vec::new();
    let lock = stage.lock(|m| said.push(m.to_string())).unwrap();
    assert!(lock._lock._file.is_none(), "the dead node's lock is left");
    assert!(lock._lock.is_claimed(), "the claim is taken over");
    assert!(t.elapsed() >= TEST_TIMING.stale);
    assert!(t.elapsed() < Duration::from_secs(30));
    let text = said.join("\n");
    assert!(
        text.contains("claimed by pid 4242")
            && text.contains("heartbeat stopped")
            && text.contains("going on without"),
        "{text}"
    );
}

#[test]
fn failure_markers_are_read_back_and_cleared_by_finishing() {
    let dir = tempfile::tempdir().unwrap();
    let stage = Store::open(dir.path())
        .unwrap()
        .stage("labels", 1, &5)
        .unwrap();
    assert_eq!(failure_in(&stage.dir).unwrap(), None);
    std::fs::create_dir_all(&stage.dir).unwrap();
    mark_failed(&stage.dir, "cell 2 (labels set 0)", "out of memory").unwrap();
    let f = failure_in(&stage.dir).unwrap().unwrap();
    assert_eq!(f.cell, "cell 2 (labels set 0)");
    assert_eq!(f.error, "out of memory");
    assert_eq!(&f.owner, Owner::current());
    clear_failure(&stage.dir).unwrap();
    assert_eq!(failure_in(&stage.dir).unwrap(), None);
    mark_failed(&stage.dir, "cell 2", "again").unwrap();
    let lock = stage.lock(|m| panic!("{m}")).unwrap();
    stage.finish(&0u32, tch::Device::Cpu).unwrap();
    drop(lock);
    assert!(!stage.dir.join(FAILED_FILE).exists());
    mark_failed(&stage.dir, "cell 2", "late").unwrap();
    assert!(
        !stage.dir.join(FAILED_FILE).exists(),
        "a finished stage gets no marker"
    );
}

/// One race: two child processes of this test binary, hosts `alpha` and `beta`, build one stage
/// of a fresh store at once. Returns each one's (result line, stderr).
fn race(host_local_locks: bool) -> (PathBuf, tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["alpha", "beta"]
        .iter()
        .map(|host| {
            let mut cmd = Command::new(&exe);
            cmd.args([
                "--exact",
                "store::tests::race_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(kd_core::owner::HOST_ENV, host)
            .env(RACE_STORE_ENV, dir.path())
            .env_remove(HOST_LOCAL_ENV)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
            if host_local_locks {
                cmd.env(HOST_LOCAL_ENV, "1");
            }
            cmd.spawn().unwrap()
        })
        .collect();
    // Both start building at once.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(dir.path().join("go"), b"").unwrap();
    let results = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
            let result = stdout
                .lines()
                // The harness prints the test's name first, on the same line.
                .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
                .unwrap_or_else(|| panic!("no result:\n{stdout}\n{stderr}"))
                .to_string();
            (result, stderr)
        })
        .collect();
    let stage = Store::open(dir.path())
        .unwrap()
        .stage("student", 1, &"race")
        .unwrap();
    (stage.dir, dir, results)
}

#[test]
fn two_hosts_racing_one_stage_never_mix_it() {
    for host_local_locks in [false, true, true] {
        let (stage_dir, _keep, results) = race(host_local_locks);
        let what = format!("host-local locks: {host_local_locks}: {results:?}");
        let built: Vec<usize> = (0..2).filter(|&i| results[i].0 == "built").collect();
        assert_eq!(built.len(), 1, "{what}");
        let (winner, loser) = (built[0], 1 - built[0]);
        let host = ["alpha", "beta"][winner];
        // The other reused the stage (or failed saying why): never a second build.
        let other = &results[loser].0;
        assert!(
            *other == format!("reused {host}") || other.starts_with("failed: "),
            "{what}"
        );
        // Every file of the stage is the winner's.
        for part in 0..3 {
            let text = std::fs::read_to_string(stage_dir.join(format!("part-{part}"))).unwrap();
            assert_eq!(text, host, "part-{part}: {what}");
        }
        let done: Done<String> =
            serde_json::from_str(&std::fs::read_to_string(stage_dir.join("done.json")).unwrap())
                .unwrap();
        assert_eq!(done.summary, host);
        assert_eq!(done.owner.unwrap().host, host);
        let names: Vec<String> = std::fs::read_dir(&stage_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.contains(".tmp.") && n != ".owner"),
            "{names:?}"
        );
        let stderr = &results[loser].1;
        if host_local_locks {
            // Both took "their" lock; the claim kept the second out, and it said why.
            assert!(
                stderr.contains("claimed by pid")
                    && stderr.contains("locks do not reach across hosts"),
                "{what}"
            );
        } else {
            assert!(stderr.contains("another process holds it"), "{what}");
        }
    }
}

/// The child of [`two_hosts_racing_one_stage_never_mix_it`]: builds the race stage (three
/// files written slowly, each naming this host) unless it is finished, and prints what it did.
/// Its parent runs it: `cargo test --workspace --lib two_hosts_racing_one_stage_never_mix_it`.
#[test]
#[ignore = "run by two_hosts_racing_one_stage_never_mix_it"]
fn race_child() {
    claim::set_timing(TEST_TIMING);
    let root = PathBuf::from(std::env::var_os(RACE_STORE_ENV).unwrap());
    let host = Owner::current().host.clone();
    let stage = Store::open(&root)
        .unwrap()
        .stage("student", 1, &"race")
        .unwrap();
    let t = Instant::now();
    while !root.join("go").exists() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let result = (|| -> Result<String> {
        let _lock = stage.lock(|m| eprintln!("{host}: {m}"))?;
        if let Some(done) = stage.done::<String>()? {
            return Ok(format!("reused {done}"));
        }
        for part in 0..3 {
            kd_core::io::atomic_write(&stage.dir.join(format!("part-{part}")), |w| {
                use std::io::Write;
                w.write_all(host.as_bytes())?;
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })?;
        }
        stage.finish(&host, tch::Device::Cpu)?;
        Ok("built".into())
    })();
    match result {
        Ok(r) => println!("RESULT {r}"),
        Err(e) => println!("RESULT failed: {e:#}"),
    }
}

/// Runs [`check_child`] as hosts `alpha` and `beta` at once; each one's findings as
/// (ok, name) pairs.
fn check_as_two_hosts(host_local_locks: bool) -> Vec<Vec<(bool, String)>> {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["alpha", "beta"]
        .iter()
        .map(|host| {
            let mut cmd = Command::new(&exe);
            cmd.args([
                "--exact",
                "store::tests::check_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(kd_core::owner::HOST_ENV, host)
            .env(RACE_STORE_ENV, dir.path().join("check"))
            .env_remove(HOST_LOCAL_ENV)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
            if host_local_locks {
                cmd.env(HOST_LOCAL_ENV, "1");
            }
            cmd.spawn().unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(
                out.status.success(),
                "{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
                .lines()
                .filter_map(|l| l.split_once("FINDING\t").map(|(_, f)| f))
                .map(|f| {
                    let mut fields = f.split('\t');
                    let ok = fields.next() == Some("true");
                    (ok, fields.next().unwrap_or_default().to_string())
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_lock_check_tells_locks_that_reach_across_hosts_from_ones_that_do_not() {
    let working = check_as_two_hosts(false);
    for findings in &working {
        assert!(findings.len() >= 6, "{findings:?}");
        assert!(findings.iter().all(|f| f.0), "{findings:?}");
    }
    // Locks that stay on each host: the host that is not holding the exclusive lock takes it
    // anyway, and says so; what does not rest on locks still passes.
    let broken = check_as_two_hosts(true);
    let find = |name: &str| -> Vec<bool> {
        broken
            .iter()
            .flat_map(|f| f.iter().filter(|x| x.1 == name).map(|x| x.0))
            .collect()
    };
    assert_eq!(find("an exclusive lock keeps other hosts out"), [false]);
    assert_eq!(find("shared locks coexist"), [true, true]);
    assert_eq!(
        find("exclusive creation (hard links) has one winner"),
        [true, true]
    );
}

/// The child of [`the_lock_check_tells_locks_that_reach_across_hosts_from_ones_that_do_not`],
/// which runs it: `cargo test --workspace --lib the_lock_check_tells_locks`.
#[test]
#[ignore = "run by the_lock_check_tells_locks_that_reach_across_hosts_from_ones_that_do_not"]
fn check_child() {
    let cfg = super::check::CheckConfig {
        dir: PathBuf::from(std::env::var_os(RACE_STORE_ENV).unwrap()),
        peers: 2,
        rounds: 30,
        timeout: Duration::from_secs(60),
    };
    for f in super::check::run(&cfg, &mut |m| eprintln!("{m}")).unwrap() {
        println!("FINDING\t{}\t{}\t{}", f.ok, f.name, f.detail);
    }
}
