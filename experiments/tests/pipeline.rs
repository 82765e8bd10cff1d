//! End-to-end runs of the task binaries under `--smoke`: every output file exists and is
//! well-formed, a killed run resumes to the same metrics, and bad input ends with one clear error
//! line and a non-zero exit. These need the set-up's teacher and GloVe cache and the shared data
//! (scripts/setup.sh); they fail, with the missing path, when those are absent.

mod common;

use common::*;
use std::path::Path;

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
    store: &Path,
    task: &str,
    splits: &[&str],
    metric_names: &[&str],
    submissions: &[(&str, usize)],
) {
    for f in [
        "config.yaml",
        "metrics.csv",
        "history.csv",
        "variants.csv",
        "dev_predictions.csv",
        "stages.json",
        "run.json",
        "log.txt",
    ] {
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
            let path = dir
                .join("submissions")
                .join(format!("{name}.{model}.seed0.tsv"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines[0], "index\tprediction");
            assert_eq!(lines.len(), rows + 1, "{}", path.display());
            assert!(lines[1..].iter().all(|l| l.split('\t').count() == 2));
        }
    }
    // Every student's fidelity to the teacher on every split it was evaluated on, the
    // unlabelled test splits included: agreement in percent, the logit MSE non-negative.
    let test_splits: Vec<String> = m
        .iter()
        .filter(|r| r.0 == "bilstm_soft" && r.2 == "teacher_agreement")
        .map(|r| r.1.clone())
        .filter(|s| s.starts_with("test"))
        .collect();
    assert_eq!(
        test_splits.is_empty(),
        submissions.is_empty(),
        "{task}: test agreement rows"
    );
    for model in ["bilstm", "bilstm_soft"] {
        for split in splits
            .iter()
            .copied()
            .chain(test_splits.iter().map(String::as_str))
        {
            for (metric, hi) in [
                ("teacher_agreement", 100.0),
                ("teacher_logit_mse", f64::MAX),
            ] {
                let v = m
                    .iter()
                    .find(|(mo, s, me, _)| mo == model && s == split && me == metric)
                    .unwrap_or_else(|| panic!("{task}: no {model}/{split}/{metric} row"));
                assert!(
                    (0.0..=hi).contains(&v.3),
                    "{task}: {model}/{split}/{metric} = {}",
                    v.3
                );
            }
        }
    }
    let history = read_csv(&dir.join("history.csv"));
    for model in ["bilstm", "bilstm_soft"] {
        assert!(
            history.iter().filter(|r| r[1] == model).count() >= 2,
            "{task}: {model} has < 2 epochs in history.csv"
        );
    }
    // The transfer set with logits is kept, in the store, and every stage is finished.
    let labels = stage_dirs(store, "labels-");
    assert_eq!(labels.len(), 1, "{task}: one labelling stage");
    let header = std::fs::read_to_string(labels[0].join("transfer.tsv")).unwrap();
    assert!(header.lines().next().unwrap().contains("logit_0"));
    // ... and as Parquet, with the same rows and bit-identical logits.
    let (tsv_rows, tsv_logits) =
        kd_core::augment::read_transfer_set(&labels[0].join("transfer.tsv")).unwrap();
    let (pq_rows, pq_logits, k) =
        kd_core::augment::read_transfer_parquet(&labels[0].join("transfer.parquet")).unwrap();
    let (tsv_logits, tsv_k) = tsv_logits.unwrap();
    assert_eq!((pq_rows, k), (tsv_rows, tsv_k), "{task}: parquet rows");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&pq_logits),
        bits(&tsv_logits),
        "{task}: parquet logits"
    );
    for prefix in ["teacher-", "transfer-", "labels-", "student-"] {
        let dirs = stage_dirs(store, prefix);
        assert!(!dirs.is_empty(), "{task}: no {prefix} stage in the store");
        for d in dirs {
            assert!(d.join("done.json").is_file(), "{} unfinished", d.display());
        }
    }
    // stages.json names every stage the run used.
    let refs = std::fs::read_to_string(dir.join("stages.json")).unwrap();
    // teacher, its predictions, transfer, labels, two students.
    assert_eq!(refs.matches("\"stage\"").count(), 4 + 2, "{refs}");
}

#[test]
fn sst2_smoke_outputs_render_and_survive_a_kill_in_every_stage() {
    require(&root().join("data/glue/SST-2/train.tsv"));
    require(&root().join(".cache/minilm/model.safetensors"));
    let tmp = tempfile::tempdir().unwrap();
    let (full, store) = (tmp.path().join("full"), tmp.path().join("store-full"));
    smoke("sst2", &full, &store, &[]);
    check_outputs(
        &full,
        &store,
        "sst2",
        &["dev"],
        &["accuracy"],
        &[("SST-2", 16)],
    );
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
        verdicts: Default::default(),
    })
    .unwrap_or_else(|e| panic!("reports cannot read the smoke run's results: {e}"));
    assert!(report.written.iter().any(|p| p.ends_with("table1.md")));

    // Kill a run inside each stage in turn (teacher epoch, labelling chunks, the first and the
    // second student, evaluation), re-running the same command each time; the last run finishes.
    let (resumed, store2) = (tmp.path().join("resumed"), tmp.path().join("store-killed"));
    type Ready<'a> = Box<dyn Fn() -> bool + 'a>;
    let points: [(&str, Ready); 5] = [
        ("teacher", Box::new(|| building(&store2, "teacher-", 0))),
        (
            "labelling",
            Box::new(|| {
                stage_dirs(&store2, "labels-")
                    .iter()
                    .any(|d| d.join("chunks").is_dir())
            }),
        ),
        (
            "first student",
            Box::new(|| building(&store2, "student-", 0)),
        ),
        (
            "second student",
            Box::new(|| building(&store2, "student-", 1)),
        ),
        (
            "evaluation",
            Box::new(|| resumed.join("submissions").is_dir()),
        ),
    ];
    let mut killed = Vec::new();
    for (name, ready) in &points {
        if kill_when(&resumed, &store2, ready) {
            killed.push(*name);
        }
    }
    eprintln!("kills that landed inside a stage: {killed:?}");
    assert!(
        killed.len() >= 3,
        "too few kills landed inside a stage: {killed:?}"
    );
    smoke("sst2", &resumed, &store2, &[]);
    let differences = result_differences(&full, &resumed);
    assert!(
        differences.is_empty(),
        "after kills in {killed:?} the resumed run differs from the serial one:\n{}",
        differences.join("\n")
    );
    for d in [&resumed, &store2] {
        let left = temp_files(d);
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    // A failing run into the same out dir leaves the finished run's outputs as they were.
    let before = std::fs::read(full.join("metrics.csv")).unwrap();
    let config_before = std::fs::read(full.join("config.yaml")).unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "name: default\ntask: sst2\nunknown_key: 1\n").unwrap();
    let mut args = vec!["--smoke", "--config", bad.to_str().unwrap()];
    args.extend(dirs_args(&full, &store));
    let out = bin("sst2").args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(full.join("metrics.csv")).unwrap(), before);
    assert_eq!(
        std::fs::read(full.join("config.yaml")).unwrap(),
        config_before
    );

    // A full disk for one write (kd_core::io's KD_FAIL_WRITE hook): one clear error line, the
    // previous results untouched, no temporary file.
    let mut args = vec!["--smoke"];
    args.extend(dirs_args(&full, &store));
    let out = bin("sst2")
        .args(&args)
        .env("KD_FAIL_WRITE", "metrics.csv")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(
        errors.len() == 1 && errors[0].contains("No space left"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(full.join("metrics.csv")).unwrap(), before);
    // ... and inside a stage: the new student's done.json cannot be written; the rerun
    // finishes it from its checkpoint.
    let seed5 = tmp.path().join("seed5");
    let mut args = vec!["--smoke", "--student-seed", "5"];
    args.extend(dirs_args(&seed5, &store));
    let out = bin("sst2")
        .args(&args)
        .env("KD_FAIL_WRITE", "done.json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No space left"));
    assert!(!seed5.join("metrics.csv").exists());
    run_ok("sst2", &args);
    assert!(seed5.join("metrics.csv").is_file());
    for d in [&full, &seed5, &store] {
        let left = temp_files(d);
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

#[test]
fn two_runs_racing_one_store_share_its_stages_and_an_ablation_reuses_them() {
    require(&root().join("data/glue/SST-2/train.tsv"));
    require(&root().join(".cache/minilm/model.safetensors"));
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let spawn = |out: &Path| {
        let mut args = vec!["--smoke"];
        args.extend(dirs_args(out, &store));
        bin("sst2").args(&args).output().unwrap()
    };
    let (oa, ob) = std::thread::scope(|s| {
        let ha = s.spawn(|| spawn(&a));
        let hb = s.spawn(|| spawn(&b));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    for o in [&oa, &ob] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // One teacher, one transfer set, one labelling, one dir per student: built once, reused once.
    for prefix in ["teacher-", "transfer-", "labels-"] {
        assert_eq!(stage_dirs(&store, prefix).len(), 1, "{prefix}");
    }
    assert_eq!(stage_dirs(&store, "student-").len(), 2);
    let log_a = std::fs::read_to_string(a.join("log.txt")).unwrap();
    let log_b = std::fs::read_to_string(b.join("log.txt")).unwrap();
    let tuned = [&log_a, &log_b]
        .iter()
        .filter(|l| l.contains("teacher: fine-tuning"))
        .count();
    assert_eq!(tuned, 1, "exactly one run fine-tunes the teacher");
    assert_eq!(
        std::fs::read(a.join("metrics.csv")).unwrap(),
        std::fs::read(b.join("metrics.csv")).unwrap()
    );
    assert_eq!(
        std::fs::read(a.join("dev_predictions.csv")).unwrap(),
        std::fs::read(b.join("dev_predictions.csv")).unwrap()
    );

    // Two runs into one out dir: the second fails fast, naming the lock.
    let lock = std::fs::File::create(a.join(".lock")).unwrap();
    lock.lock().unwrap();
    let mut args = vec!["--smoke"];
    args.extend(dirs_args(&a, &store));
    let e = run_err(&args);
    assert!(e.contains("in use by another run"), "{e}");
    drop(lock);

    // The ablation grid (smoke-sized) reuses the teacher, the transfer set and its logits.
    let abl = tmp.path().join("abl");
    smoke(
        "sst2",
        &abl,
        &store,
        &["--config", "experiments/configs/sst2-ablations.yaml"],
    );
    let log = std::fs::read_to_string(abl.join("log.txt")).unwrap();
    assert!(!log.contains("teacher: fine-tuning"), "{log}");
    assert!(log.contains("teacher: cached"), "{log}");
    assert!(!log.contains("labels: teacher logits for"), "{log}");
    assert_eq!(stage_dirs(&store, "teacher-").len(), 1);
    assert_eq!(stage_dirs(&store, "labels-").len(), 1);
    let m = metrics(&abl);
    let variants = read_csv(&abl.join("variants.csv"));
    assert_eq!(variants.len(), 1 + 11, "header + 11 variants");
    for v in &variants[1..] {
        let rows = m
            .iter()
            .filter(|r| r.0 == v[2] && r.2 == "accuracy")
            .count();
        assert_eq!(rows, 3, "{}: one dev accuracy per seed", v[2]);
        for seed in 0..3 {
            let sub = abl
                .join("submissions")
                .join(format!("SST-2.{}.seed{seed}.tsv", v[2]));
            assert!(sub.is_file(), "{}", sub.display());
        }
    }
    // The paper's two students of the ablation config are the default run's stages only when
    // every setting matches; here their epochs differ, so they are new stages.
    assert!(stage_dirs(&store, "student-").len() > 2);
    // Rerun after completion: nothing is trained again.
    let before = stage_dirs(&store, "student-").len();
    let again = smoke(
        "sst2",
        &abl,
        &store,
        &["--config", "experiments/configs/sst2-ablations.yaml"],
    );
    assert_eq!(stage_dirs(&store, "student-").len(), before);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(
        !log.contains("training on"),
        "a finished grid retrained:\n{log}"
    );
}

/// The converged 2×2 factorial at smoke size (two student seeds): the run writes every cell's
/// fidelity, and the reports crate renders the factorial's effects from its files.
#[test]
fn the_converged_factorial_at_smoke_size_renders_its_effects() {
    require(&root().join("data/glue/SST-2/train.tsv"));
    require(&root().join(".cache/minilm/model.safetensors"));
    let tmp = tempfile::tempdir().unwrap();
    let (out, store) = (tmp.path().join("conv"), tmp.path().join("store"));
    let config = "experiments/configs/sst2-ablations-converged.yaml";
    smoke(
        "sst2",
        &out,
        &store,
        &[
            "--config",
            config,
            "--student-seeds",
            "0,1",
            "--threads",
            "1",
        ],
    );
    let results = tmp.path().join("results/sst2-ablations-converged");
    std::fs::create_dir_all(results.join("submissions")).unwrap();
    for f in [
        "metrics.csv",
        "history.csv",
        "variants.csv",
        "teachers.csv",
        "dev_predictions.csv",
    ] {
        std::fs::copy(out.join(f), results.join(f)).unwrap();
    }
    for e in std::fs::read_dir(out.join("submissions"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), results.join("submissions").join(e.file_name())).unwrap();
    }
    let report = tmp.path().join("report");
    reports::run(&reports::RunArgs {
        results: tmp.path().join("results"),
        out: report.clone(),
        published: None,
        verdicts: Default::default(),
    })
    .unwrap_or_else(|e| panic!("reports cannot read the factorial's results: {e}"));
    let sub = report.join("sst2-ablations-converged");
    let factorial = std::fs::read_to_string(sub.join("factorial.md")).unwrap();
    for cell in [
        "`bilstm`",
        "`aug_inherited`",
        "`kd_no_aug`",
        "`bilstm_soft`",
    ] {
        assert!(factorial.contains(cell), "{factorial}");
    }
    assert!(factorial.contains("interaction") && factorial.contains("test agreement"));
    let text = std::fs::read_to_string(report.join("REPORT.md")).unwrap();
    assert!(text.contains("**The 2×2 factorial**"), "{text}");
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
            "--store",
            tmp.path().join("store").to_str().unwrap(),
        ],
    );
    check_outputs(
        &out,
        &tmp.path().join("store"),
        "qqp",
        &["dev"],
        &["accuracy", "f1"],
        &[("QQP", 16)],
    );
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
            "--store",
            tmp.path().join("store").to_str().unwrap(),
        ],
    );
    check_outputs(
        &out,
        &tmp.path().join("store"),
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

/// Every binary's `--version` names it, the revision it was built from and its libtorch, the same
/// revision its stages record as `build_rev`.
#[test]
fn every_binary_names_itself_and_the_revision_it_was_built_from() {
    let binaries = [
        ("sst2", env!("CARGO_BIN_EXE_sst2")),
        ("qqp", env!("CARGO_BIN_EXE_qqp")),
        ("mnli", env!("CARGO_BIN_EXE_mnli")),
        ("predict", env!("CARGO_BIN_EXE_predict")),
        ("merge-results", env!("CARGO_BIN_EXE_merge-results")),
        ("lock-check", env!("CARGO_BIN_EXE_lock-check")),
        ("bench", env!("CARGO_BIN_EXE_bench")),
        ("table2", env!("CARGO_BIN_EXE_table2")),
    ];
    let version = experiments::results::VERSION;
    assert!(
        version.contains(experiments::results::BUILD_REV),
        "{version}"
    );
    for (name, exe) in binaries {
        let out = std::process::Command::new(exe)
            .arg("--version")
            .output()
            .unwrap();
        assert!(out.status.success(), "{name} --version: {out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.trim(), format!("{name} {version}"));
    }
}

#[test]
fn bad_input_gives_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out = out.to_str().unwrap();
    let store = tmp.path().join("store");
    let store = store.to_str().unwrap();

    let e = run_err(&[
        "--smoke",
        "--data-dir",
        "/nonexistent/glue",
        "--out-dir",
        out,
        "--store",
        store,
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
        "--store",
        store,
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
        "--store",
        store,
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
        "--store",
        store,
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
        "--store",
        store,
    ]);
    assert!(e.contains("model.safetensors"), "{e}");
}
