//! Atomic writes leave no temporary behind, whatever fails; exclusive creation has one winner;
//! the sweep removes only dead writers' temporaries (this host's by process, another host's by
//! age, the older pid-only names by pid); a process stopping on a signal removes the temporaries
//! it is writing; the `KD_FAIL_WRITE` hook fails exactly the writes it names.

use kd_core::io::{
    abandon_live_temps, atomic_create, atomic_write, atomic_write_bytes, sweep_temp_files,
    tmp_path, FAIL_WRITE_ENV, FOREIGN_TEMP_TTL,
};
use kd_core::owner::Owner;
use kd_core::{FileError, KdError};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// The names in `dir`, sorted.
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A pid above Linux's largest `pid_max` (2^22): no process can have it.
const DEAD_PID: u32 = 4_000_000_000;

#[test]
fn failed_rename_removes_the_temporary() {
    let dir = tempfile::tempdir().unwrap();
    // A non-empty directory where the file should go: the rename fails after the data is written.
    let target = dir.path().join("out.json");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"x").unwrap();
    match atomic_write_bytes(&target, b"{}") {
        Err(KdError::File(FileError::Io { path, .. })) => assert_eq!(path, target),
        other => panic!("expected an I/O error naming the target, got {other:?}"),
    }
    assert_eq!(names(dir.path()), set(&["out.json"]), "no temporary left");
    assert_eq!(names(&target), set(&["keep"]));
}

#[test]
fn failed_create_names_the_target_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The parent "directory" is a file: neither the directory nor the temporary can be created.
    let blocker = dir.path().join("stage");
    std::fs::write(&blocker, b"not a dir").unwrap();
    let err = atomic_write_bytes(&blocker.join("done.json"), b"{}").unwrap_err();
    assert!(err.to_string().contains("stage"), "{err}");
    assert_eq!(names(dir.path()), set(&["stage"]));
    assert_eq!(std::fs::read(&blocker).unwrap(), b"not a dir");
}

#[test]
fn panicking_writer_removes_the_temporary_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logits.tsv");
    atomic_write_bytes(&path, b"old").unwrap();
    let outcome = std::panic::catch_unwind(|| {
        let _ = atomic_write(&path, |w| {
            w.write_all(&[b'x'; 100_000])?;
            panic!("writer bug");
        });
    });
    assert!(outcome.is_err(), "the panic propagates");
    assert_eq!(names(dir.path()), set(&["logits.tsv"]));
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
}

#[test]
fn successful_write_replaces_and_leaves_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/metrics.csv");
    atomic_write_bytes(&path, b"one").unwrap();
    atomic_write_bytes(&path, b"two").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"two");
    assert_eq!(names(path.parent().unwrap()), set(&["metrics.csv"]));
}

#[test]
fn sweep_removes_only_dead_writers_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let me = Owner::current();
    // This host's writers: one whose pid is gone, one whose pid now names a later process.
    let gone = Owner {
        pid: DEAD_PID,
        ..me.clone()
    };
    let reused = Owner {
        start: me.start + 1,
        ..me.clone()
    };
    let dead = format!(".done.json.tmp.{}.0", gone.token());
    let dead2 = format!(".labels.tsv.tmp.{}.17", reused.token());
    // tmp_path_with_extension's form (tch's safetensors writer needs the extension).
    let dead3 = format!(".last.safetensors.tmp.{}.3.safetensors", gone.token());
    // The older, pid-only form of a dead writer.
    let old_dead = format!(".done.json.tmp.{DEAD_PID}.0");
    let mine = tmp_path(&d.join("live.json"));
    let mine_name = mine.file_name().unwrap().to_string_lossy().into_owned();
    let pid1 = ".init.tmp.1.0"; // pid 1 is always running
                                // Another host's writers cannot be looked up: a fresh temporary stays, one older than the
                                // TTL goes.
    let other = Owner {
        host: format!("{}-elsewhere", me.host),
        pid: DEAD_PID,
        start: 1,
    };
    let foreign_fresh = format!(".done.json.tmp.{}.0", other.token());
    let foreign_old = format!(".done.json.tmp.{}.1", other.token());
    let keep_files = [
        "done.json",
        "done.json.tmp",
        "notes.tmp.5.6",      // no leading dot
        ".done.json.tmp.5",   // no sequence number
        ".done.json.tmp.5.x", // sequence not decimal
        ".tmp.4000000000.0x", // suffix not decimal
        ".model.tmp123.safetensors",
        ".x.tmp.5.6.a.b",   // more than one extension
        ".x.tmp.5.6.",      // empty extension
        ".x.tmp.a.b-1-2.0", // a host with a dot is no token
    ];
    for name in keep_files.iter().copied().chain([
        dead.as_str(),
        dead2.as_str(),
        dead3.as_str(),
        old_dead.as_str(),
        mine_name.as_str(),
        pid1,
        foreign_fresh.as_str(),
        foreign_old.as_str(),
    ]) {
        std::fs::write(d.join(name), b"x").unwrap();
    }
    let long_ago = std::time::SystemTime::now() - FOREIGN_TEMP_TTL - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(d.join(&foreign_old))
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    // A directory and a symbolic link with temporary names are not files: left alone.
    let dead_dir = format!(".stage.tmp.{}.1", gone.token());
    std::fs::create_dir(d.join(&dead_dir)).unwrap();
    std::fs::write(d.join(&dead_dir).join("inner"), b"x").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("precious"), b"x").unwrap();
    let dead_link = format!(".link.tmp.{DEAD_PID}.2");
    std::os::unix::fs::symlink(outside.path().join("precious"), d.join(&dead_link)).unwrap();

    let removed = sweep_temp_files(d).unwrap();
    let mut expected: Vec<_> = [&dead, &dead2, &dead3, &old_dead, &foreign_old]
        .iter()
        .map(|n| d.join(n))
        .collect();
    expected.sort();
    assert_eq!(removed, expected);

    let mut left = set(&keep_files);
    left.extend([
        mine_name,
        pid1.to_string(),
        foreign_fresh,
        dead_dir.clone(),
        dead_link,
    ]);
    assert_eq!(names(d), left);
    assert!(d.join(&dead_dir).join("inner").exists());
    assert!(outside.path().join("precious").exists());

    assert!(
        sweep_temp_files(d).unwrap().is_empty(),
        "a second sweep finds nothing"
    );
    assert!(sweep_temp_files(&d.join("missing")).unwrap().is_empty());
}

#[test]
fn exclusive_creation_has_one_winner_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stage/done.json");
    let wins: Vec<bool> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let path = &path;
                s.spawn(move || atomic_create(path, format!("writer {i}").as_bytes()).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    let winner = wins.iter().position(|w| *w).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("writer {winner}")
    );
    assert_eq!(names(path.parent().unwrap()), set(&["done.json"]));
    // An existing file is never replaced.
    assert!(!atomic_create(&path, b"late").unwrap());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("writer {winner}")
    );
}

/// Runs [`abandon_child`] in a child process: abandoning blocks every later temporary of the
/// process, which would hang the other tests of this one.
#[test]
fn a_process_stopping_on_a_signal_removes_the_temporaries_it_writes() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--exact", "abandon_child", "--ignored", "--test-threads=1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The child half of [`a_process_stopping_on_a_signal_removes_the_temporaries_it_writes`]: a
/// write is held mid-way (its temporary written) while the process abandons its temporaries.
/// Its parent runs it: `cargo test -p kd-core --test io a_process_stopping_on_a_signal`.
#[test]
#[ignore = "run by a_process_stopping_on_a_signal_removes_the_temporaries_it_writes"]
fn abandon_child() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let (written, wait) = std::sync::mpsc::channel();
    let p = path.clone();
    std::thread::spawn(move || {
        let _ = atomic_write(&p, |w| {
            w.write_all(b"partial")?;
            w.flush()?;
            written.send(()).unwrap();
            std::thread::sleep(Duration::from_secs(5));
            Ok(())
        });
    });
    wait.recv().unwrap();
    let tmp: Vec<String> = names(dir.path()).into_iter().collect();
    assert_eq!(tmp.len(), 1, "{tmp:?}");
    assert!(tmp[0].starts_with(".model.safetensors.tmp."), "{tmp:?}");
    let removed = abandon_live_temps();
    assert_eq!(removed, [dir.path().join(&tmp[0])]);
    assert!(names(dir.path()).is_empty());
    assert!(!path.exists());
}

/// Runs [`fault_injection_child`] in a child process with `KD_FAIL_WRITE` set: the variable is
/// process-global, and setting it here would race with the other tests' writes.
#[test]
fn fault_injection_env_fails_only_the_named_writes() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "fault_injection_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env(FAIL_WRITE_ENV, "victim")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The child half of [`fault_injection_env_fails_only_the_named_writes`], which re-runs this test
/// binary with `KD_FAIL_WRITE=victim` and `--ignored --exact fault_injection_child`. Ignored in a
/// plain run because the variable is process-global and would fail the other tests' writes. To
/// run it alone: `KD_FAIL_WRITE=victim cargo test -p kd-core --test io -- --ignored --exact
/// fault_injection_child`.
#[test]
#[ignore = "run by fault_injection_env_fails_only_the_named_writes with KD_FAIL_WRITE set"]
fn fault_injection_child() {
    assert_eq!(std::env::var(FAIL_WRITE_ENV).as_deref(), Ok("victim"));
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("stages/victim/done.json");
    std::fs::create_dir_all(victim.parent().unwrap()).unwrap();
    std::fs::write(&victim, b"old").unwrap();
    match atomic_write_bytes(&victim, b"new") {
        Err(KdError::File(FileError::Io { path, source })) => {
            assert_eq!(path, victim);
            assert_eq!(source.kind(), std::io::ErrorKind::StorageFull);
            assert!(
                source.to_string().contains("No space left on device"),
                "{source}"
            );
        }
        other => panic!("expected an injected I/O error, got {other:?}"),
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"old");
    assert_eq!(names(victim.parent().unwrap()), set(&["done.json"]));
    let other = dir.path().join("stages/other/done.json");
    atomic_write_bytes(&other, b"fine").unwrap();
    assert_eq!(std::fs::read(&other).unwrap(), b"fine");
}
