//! The run as cells (`--list-cells`, `--cell K`): a smoke run's cells executed by three concurrent
//! workers over one store (scripts/local-array.sh) give the results and the stages of a serial
//! run; a cell run before its dependency fails with one line naming it; the deployment files
//! (Slurm array, Kubernetes Indexed Job, Dockerfile) are well-formed and sized for the default
//! config's cells. These need the set-up's teacher and GloVe cache and the shared data
//! (scripts/setup.sh); they fail, with the missing path, when those are absent.

mod common;

use common::*;
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

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
        Command::new("bash")
            .arg(root().join("scripts/local-array.sh"))
            .arg("3")
            .args(&args)
            .current_dir(root())
            .env("KD_BIN", env!("CARGO_BIN_EXE_sst2"))
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap()
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
    assert_eq!(listed_dirs, stage_dirs(&store_c, ""));
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
    // Every cell ran in its own process and logged into the out dir.
    let run_log = std::fs::read_to_string(cells.join("log.txt")).unwrap();
    for k in 0..listed.len() {
        assert!(
            run_log.contains(&format!("cell {k}: ")),
            "cell {k}:\n{run_log}"
        );
    }
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
    let o = bin("sst2").args(cell("6")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("needs {}", labels_dir.display())),
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

#[test]
fn deployment_files_are_well_formed_and_sized_for_the_default_cells() {
    require_setup();
    // The deployment files run the default config with four labelling cells.
    let n = list_cells(&["--label-shards", "4"]).len();
    assert_eq!(n, 9, "teacher, transfer, 4 labels, 2 students, evaluation");
    let read =
        |p: &str| std::fs::read_to_string(root().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));

    for script in [
        "deploy/slurm/sst2-array.sbatch",
        "scripts/local-array.sh",
        "scripts/cells-speedup.sh",
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
    let sbatch = read("deploy/slurm/sst2-array.sbatch");
    assert!(
        sbatch
            .lines()
            .any(|l| l.trim() == format!("#SBATCH --array=0-{}", n - 1)),
        "{sbatch}"
    );
    // Directives must come before the first command.
    let lines: Vec<&str> = sbatch.lines().collect();
    let first_command = lines
        .iter()
        .position(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .unwrap();
    let last_directive = lines
        .iter()
        .rposition(|l| l.starts_with("#SBATCH"))
        .unwrap();
    assert!(last_directive < first_command);
    for needle in [
        "--cell \"$SLURM_ARRAY_TASK_ID\"",
        "--wait",
        "--store",
        "LABEL_SHARDS:-4",
    ] {
        assert!(sbatch.contains(needle), "sbatch lacks {needle}");
    }

    let text = read("deploy/k8s/sst2-indexed-job.yaml");
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let kind = |k: &str| {
        docs.iter()
            .find(|d| d.get("kind").and_then(Value::as_str) == Some(k))
            .unwrap_or_else(|| panic!("no {k} in the k8s file"))
    };
    let job = kind("Job");
    assert_eq!(at(job, &["apiVersion"]).as_str(), Some("batch/v1"));
    let spec = at(job, &["spec"]);
    assert_eq!(at(spec, &["completionMode"]).as_str(), Some("Indexed"));
    assert_eq!(at(spec, &["completions"]).as_u64(), Some(n as u64));
    assert!(at(spec, &["parallelism"]).as_u64().unwrap() >= 1);
    let pod = at(spec, &["template", "spec"]);
    let container = &at(pod, &["containers"]).as_sequence().unwrap()[0];
    let words: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|k| container.get(*k))
        .flat_map(|v| v.as_sequence().unwrap())
        .map(|w| w.as_str().unwrap())
        .collect();
    let cell = words.iter().position(|w| *w == "--cell").expect("--cell");
    assert_eq!(words[cell + 1], "$(JOB_COMPLETION_INDEX)");
    assert!(words.contains(&"--wait"));
    let shards = words.iter().position(|w| *w == "--label-shards").unwrap();
    assert_eq!(words[shards + 1], "4");
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
    for flag in ["--store", "--out-dir", "--data-dir"] {
        let i = words.iter().position(|w| *w == flag).unwrap();
        assert!(
            words[i + 1].starts_with(mount_path),
            "{flag} off the volume"
        );
    }
    let claim = kind("PersistentVolumeClaim");
    assert_eq!(
        at(claim, &["metadata", "name"]),
        at(pvc, &["persistentVolumeClaim", "claimName"])
    );
    assert!(at(claim, &["spec", "accessModes"])
        .as_sequence()
        .unwrap()
        .iter()
        .any(|m| m.as_str() == Some("ReadWriteMany")));

    // Docker is not here: the Dockerfile is checked for what it must do, not built.
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
    assert!(docker.contains("torch wheel"));
    assert!(docker.contains("cargo build --release"));
    for b in ["sst2", "qqp", "mnli"] {
        assert!(docker.contains(&format!("--bin {b}")), "{b}");
    }
    assert_eq!(
        docker.lines().filter(|l| l.starts_with("FROM ")).count(),
        2,
        "builder + runtime"
    );
    assert!(docker.contains("ENV LD_LIBRARY_PATH="));

    let readme = read("deploy/README.md");
    for needle in [
        "--list-cells",
        "sbatch",
        "kubectl apply -f deploy/k8s/sst2-indexed-job.yaml",
        "docker build -f deploy/Dockerfile",
        "scripts/local-array.sh",
    ] {
        assert!(readme.contains(needle), "deploy/README.md lacks {needle}");
    }
}
