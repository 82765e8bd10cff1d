//! End-to-end runs of the task binaries under `--smoke`: every output file exists and is
//! well-formed, a killed run resumes to the same metrics, and bad input ends with one clear error
//! line and a non-zero exit. These need the set-up's teacher and GloVe cache and the shared data
//! (scripts/setup.sh); they fail, with the missing path, when those are absent.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn require(path: &Path) {
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh first",
        path.display()
    );
}

fn bin(task: &str) -> Command {
    let exe = match task {
        "sst2" => env!("CARGO_BIN_EXE_sst2"),
        "qqp" => env!("CARGO_BIN_EXE_qqp"),
        "mnli" => env!("CARGO_BIN_EXE_mnli"),
        _ => unreachable!(),
    };
    let mut cmd = Command::new(exe);
    cmd.current_dir(root()).env("RUST_BACKTRACE", "0");
    cmd
}

fn run_ok(task: &str, args: &[&str]) -> Output {
    let out = bin(task).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{task} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// (model, split, metric) -> value, from metrics.csv.
fn metrics(dir: &Path) -> Vec<(String, String, String, f64)> {
    let rows = read_csv(&dir.join("metrics.csv"));
    assert_eq!(
        rows[0],
        ["task", "model", "split", "metric", "value", "seed", "config", "git_rev"]
    );
    rows[1..]
        .iter()
        .map(|r| {
            (
                r[1].clone(),
                r[2].clone(),
                r[3].clone(),
                r[4].parse::<f64>().unwrap(),
            )
        })
        .collect()
}

fn check_outputs(
    dir: &Path,
    task: &str,
    splits: &[&str],
    metric_names: &[&str],
    submissions: &[(&str, usize)],
) {
    for f in ["config.yaml", "metrics.csv", "history.csv", "log.txt"] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    let m = metrics(dir);
    for model in ["teacher", "bilstm", "bilstm_soft"] {
        for split in splits {
            for metric in metric_names {
                let v = m
                    .iter()
                    .find(|(mo, s, me, _)| mo == model && s == split && me == metric)
                    .unwrap_or_else(|| panic!("{task}: no {model}/{split}/{metric} row"));
                assert!(
                    (0.0..=100.0).contains(&v.3),
                    "{task}: {model}/{split}/{metric} = {}",
                    v.3
                );
            }
        }
        for (name, rows) in submissions {
            let path = dir.join("submissions").join(format!("{name}.{model}.tsv"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines[0], "index\tprediction");
            assert_eq!(lines.len(), rows + 1, "{}", path.display());
            assert!(lines[1..].iter().all(|l| l.split('\t').count() == 2));
        }
    }
    let history = read_csv(&dir.join("history.csv"));
    for model in ["bilstm", "bilstm_soft"] {
        assert!(
            history.iter().filter(|r| r[1] == model).count() >= 2,
            "{task}: {model} has < 2 epochs in history.csv"
        );
    }
    // The transfer set with logits is kept.
    let stages: Vec<String> = std::fs::read_dir(dir.join("stages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    let labels = stages
        .iter()
        .find(|s| s.starts_with("labels-"))
        .expect("labels stage dir");
    let header =
        std::fs::read_to_string(dir.join("stages").join(labels).join("transfer.tsv")).unwrap();
    assert!(header.lines().next().unwrap().contains("logit_0"));
}

#[test]
fn sst2_smoke_outputs_and_resume_after_kill() {
    require(&root().join("data/glue/SST-2/train.tsv"));
    require(&root().join(".cache/minilm/model.safetensors"));
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    run_ok("sst2", &["--smoke", "--out-dir", full.to_str().unwrap()]);
    check_outputs(&full, "sst2", &["dev"], &["accuracy"], &[("SST-2", 16)]);
    let softmax = read_csv(&full.join("softmax_t.csv"));
    assert_eq!(softmax.len(), 3, "softmax_t.csv: header + 2 classes");

    // The result files are exactly what the reports crate reads: it renders tables and figures.
    let results = tmp.path().join("results");
    std::fs::create_dir_all(results.join("sst2")).unwrap();
    for f in ["metrics.csv", "history.csv", "softmax_t.csv"] {
        std::fs::copy(full.join(f), results.join("sst2").join(f)).unwrap();
    }
    let report = reports::run(&reports::RunArgs {
        results: results.clone(),
        out: tmp.path().join("report"),
        published: None,
    })
    .unwrap_or_else(|e| panic!("reports cannot read the smoke run's results: {e}"));
    assert!(report.written.iter().any(|p| p.ends_with("table1.md")));

    // Kill a second run once the distilled student has started, then resume it.
    let resumed = tmp.path().join("resumed");
    let mut child = bin("sst2")
        .args(["--smoke", "--out-dir", resumed.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let started = |dir: &Path| {
        std::fs::read_dir(dir.join("stages"))
            .map(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("bilstm_soft-"))
            })
            .unwrap_or(false)
    };
    while !started(&resumed) && t.elapsed() < Duration::from_secs(300) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !resumed.join("metrics.csv").exists(),
        "the run finished before it could be killed"
    );
    run_ok("sst2", &["--smoke", "--out-dir", resumed.to_str().unwrap()]);
    assert_eq!(
        metrics(&full),
        metrics(&resumed),
        "a resumed run must end with the same metrics"
    );
    // A failing run into the same out dir leaves the finished run's outputs as they were.
    let before = std::fs::read(full.join("metrics.csv")).unwrap();
    let config_before = std::fs::read(full.join("config.yaml")).unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "name: default\ntask: sst2\nunknown_key: 1\n").unwrap();
    let out = bin("sst2")
        .args([
            "--smoke",
            "--config",
            bad.to_str().unwrap(),
            "--out-dir",
            full.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(full.join("metrics.csv")).unwrap(), before);
    assert_eq!(
        std::fs::read(full.join("config.yaml")).unwrap(),
        config_before
    );

    // No temporary files left behind anywhere.
    let mut stack = vec![resumed.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            assert!(
                !e.file_name().to_string_lossy().contains(".tmp"),
                "left behind: {}",
                p.display()
            );
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
}

#[test]
fn qqp_smoke_on_the_tiny_fixture() {
    require(&root().join(".cache/minilm/model.safetensors"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("qqp");
    run_ok(
        "qqp",
        &[
            "--smoke",
            "--data-dir",
            "experiments/tests/data/QQP-tiny",
            "--out-dir",
            out.to_str().unwrap(),
        ],
    );
    check_outputs(&out, "qqp", &["dev"], &["accuracy", "f1"], &[("QQP", 16)]);
}

#[test]
fn mnli_smoke_on_the_shared_sample() {
    require(&root().join("data/samples/MNLI-1k/train.tsv"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mnli");
    run_ok(
        "mnli",
        &[
            "--smoke",
            "--data-dir",
            "data/samples/MNLI-1k",
            "--out-dir",
            out.to_str().unwrap(),
        ],
    );
    check_outputs(
        &out,
        "mnli",
        &["dev_matched", "dev_mismatched"],
        &["accuracy"],
        &[],
    );
}

/// Runs `sst2` expecting failure; returns stderr.
fn run_err(args: &[&str]) -> String {
    let out = bin("sst2").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "panic instead of an error:\n{stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "expected one error line, got:\n{stderr}");
    errors[0].to_string()
}

#[test]
fn bad_input_gives_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out = out.to_str().unwrap();

    let e = run_err(&[
        "--smoke",
        "--data-dir",
        "/nonexistent/glue",
        "--out-dir",
        out,
    ]);
    assert!(
        e.contains("/nonexistent/glue") && e.contains("train.tsv"),
        "{e}"
    );

    let bad = tmp.path().join("SST-2");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("train.tsv"),
        "sentence\tlabel\ngood film\t1\nbad film\t7\n",
    )
    .unwrap();
    std::fs::write(bad.join("dev.tsv"), "sentence\tlabel\nfine\t1\n").unwrap();
    let e = run_err(&[
        "--smoke",
        "--data-dir",
        bad.to_str().unwrap(),
        "--out-dir",
        out,
    ]);
    assert!(e.contains("train.tsv:3"), "{e}");

    let cfg = tmp.path().join("bad.yaml");
    let text = std::fs::read_to_string(root().join("experiments/configs/sst2.yaml")).unwrap();
    std::fs::write(&cfg, text.replace("seed:", "seeed:")).unwrap();
    let e = run_err(&[
        "--smoke",
        "--config",
        cfg.to_str().unwrap(),
        "--out-dir",
        out,
    ]);
    assert!(e.contains("seeed") && e.contains("bad.yaml"), "{e}");

    // A teacher checkpoint whose tensors have the wrong shape.
    let ckpt = tmp.path().join("teacher");
    std::fs::create_dir_all(&ckpt).unwrap();
    for f in ["config.json", "tokenizer.json", "vocab.txt"] {
        std::fs::copy(root().join(".cache/minilm").join(f), ckpt.join(f)).unwrap();
    }
    let config = std::fs::read_to_string(root().join(".cache/minilm/config.json")).unwrap();
    std::fs::write(
        ckpt.join("config.json"),
        config.replace("\"intermediate_size\": 1536", "\"intermediate_size\": 1000"),
    )
    .unwrap();
    std::fs::copy(
        root().join(".cache/minilm/model.safetensors"),
        ckpt.join("model.safetensors"),
    )
    .unwrap();
    let cfg2 = tmp.path().join("shape.yaml");
    std::fs::write(
        &cfg2,
        format!("{text}\npaths:\n  teacher_init: {}\n", ckpt.display()),
    )
    .unwrap();
    let e = run_err(&[
        "--smoke",
        "--config",
        cfg2.to_str().unwrap(),
        "--out-dir",
        out,
    ]);
    assert!(e.contains("intermediate") || e.contains("shape"), "{e}");

    // A teacher checkpoint without its weights file.
    std::fs::remove_file(ckpt.join("model.safetensors")).unwrap();
    std::fs::write(ckpt.join("config.json"), &config).unwrap();
    let e = run_err(&[
        "--smoke",
        "--config",
        cfg2.to_str().unwrap(),
        "--out-dir",
        out,
    ]);
    assert!(e.contains("model.safetensors"), "{e}");
}
