//! Teachers as data, end to end at smoke size on the tiny fixture BERT (bert-teacher's test
//! checkpoint as the "pre-trained" teacher, so fine-tunes take a second): a second fine-tune, an
//! epoch checkpoint, an ensemble of the two fine-tunes, students that name their teacher; every
//! teacher evaluated and described in teachers.csv, every student's fidelity to its own teacher
//! in metrics.csv, the ensemble's labels and predictions the mean of its members'.

mod common;

use common::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A pre-trained directory from bert-teacher's tiny fixture (a bare encoder with a pooler, no
/// classifier, as all-MiniLM-L6-v2 ships).
fn tiny_init(dir: &Path) -> PathBuf {
    let fx = root().join("bert-teacher/tests/fixtures");
    let init = dir.join("tiny-init");
    std::fs::create_dir_all(&init).unwrap();
    for (from, to) in [
        ("tiny_bert/config.json", "config.json"),
        ("tiny_bert/tokenizer.json", "tokenizer.json"),
        ("tiny_bert_bare.safetensors", "model.safetensors"),
    ] {
        std::fs::copy(fx.join(from), init.join(to)).unwrap();
    }
    init
}

fn config(dir: &Path, init: &Path, body: &str) -> PathBuf {
    let path = dir.join("teachers.yaml");
    // Smoke sizes, spelled out: `--smoke` would set max_len 64, past the tiny BERT's 40
    // positions.
    let text = format!(
        "extends: {}\nname: teachers\npaths: {{teacher_init: {}}}\n\
         data: {{max_train: 48, max_dev: 24, max_test: 16}}\n\
         teacher:\n  fine_tune: {{epochs: 1, batch_size: 8, eval_batch_size: 16, max_len: 32}}\n\
         \x20 label_batch_size: 32\n  label_chunk_size: 64\n\
         augment: {{n_iter: 2}}\n{body}",
        root().join("experiments/configs/sst2.yaml").display(),
        init.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `(model, split, metric) -> value` of metrics.csv.
fn metric_map(dir: &Path) -> HashMap<(String, String, String), f64> {
    let rows = read_csv(&dir.join("metrics.csv"));
    rows[1..]
        .iter()
        .map(|r| {
            (
                (r[1].clone(), r[2].clone(), r[3].clone()),
                r[4].parse().unwrap(),
            )
        })
        .collect()
}

/// The stage dir stages.json names for (stage kind, model).
fn stage_dir(run: &Path, stage: &str, model: &str) -> PathBuf {
    let text = std::fs::read_to_string(run.join("stages.json")).unwrap();
    let refs: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let r = refs
        .iter()
        .find(|r| r["stage"] == stage && r["model"] == model)
        .unwrap_or_else(|| panic!("no {stage} stage of {model} in stages.json"));
    root().join(r["dir"].as_str().unwrap())
}

fn logits(path: &Path) -> Vec<f32> {
    // transfer.tsv: the logits are the last `k` columns; ours: 2 classes.
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        for c in &cols[cols.len() - 2..] {
            out.push(c.parse::<f32>().unwrap());
        }
    }
    out
}

#[test]
fn teacher_variants_an_ensemble_and_students_that_name_their_teacher() {
    require(&root().join("data/glue/SST-2/train.tsv"));
    let tmp = tempfile::tempdir().unwrap();
    let init = tiny_init(tmp.path());
    let cfg = config(
        tmp.path(),
        &init,
        "teachers:\n\
         \x20 teacher_b: {description: \"another seed\", seed: 1}\n\
         \x20 teacher_e1: {of: teacher_b, epoch: 1}\n\
         \x20 teacher_ens: {ensemble: [teacher, teacher_b]}\n\
         students:\n\
         \x20 train: {epochs: 2, batch_size: 16}\n\
         \x20 variants:\n\
         \x20   bilstm_soft: {teacher: teacher_ens}\n\
         \x20   kd_b: {data: train, targets: teacher_logits, teacher: teacher_b, \
         objective: {kind: distill, alpha: 0.0, soft: {kind: mse}}}\n",
    );
    let out = tmp.path().join("run");
    let store = tmp.path().join("store");
    let args = [
        "--config",
        cfg.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--threads",
        "1",
    ];
    let listed = run_ok("sst2", &[&args[..], &["--list-cells"]].concat());
    let cells = String::from_utf8_lossy(&listed.stdout);
    // Two fine-tunes (the checkpoint and the ensemble need no training); the ensemble's labels
    // are one cell after its members'; every labelling cell names its teacher.
    let teacher_cells: Vec<&str> = cells
        .lines()
        .filter(|l| l.split('\t').nth(1) == Some("teacher"))
        .collect();
    assert_eq!(teacher_cells.len(), 2, "{cells}");
    let labels: Vec<&str> = cells
        .lines()
        .filter(|l| l.split('\t').nth(1) == Some("labels"))
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "set 0 by teacher, shard 1/1",
            "set 0 by teacher_b, shard 1/1",
            "set 0 by teacher_ens, shard 1/1",
        ],
        "{cells}"
    );

    run_ok("sst2", &args);
    let m = metric_map(&out);
    // Each teacher's rows and submission carry its fine-tuning seed (an ensemble has none: 0).
    for (t, seed) in [
        ("teacher", 0),
        ("teacher_b", 1),
        ("teacher_e1", 1),
        ("teacher_ens", 0),
    ] {
        assert!(
            m.contains_key(&(t.into(), "dev".into(), "accuracy".into())),
            "no dev accuracy of {t}"
        );
        let sub = out.join(format!("submissions/SST-2.{t}.seed{seed}.tsv"));
        assert!(sub.is_file(), "no {}", sub.display());
    }
    // Every student's fidelity to its own teacher, on dev and on the unlabelled test split.
    for s in ["bilstm", "bilstm_soft", "kd_b"] {
        for split in ["dev", "test"] {
            for metric in ["teacher_agreement", "teacher_logit_mse"] {
                let v = m
                    .get(&(s.into(), split.into(), metric.into()))
                    .unwrap_or_else(|| panic!("no {s}/{split}/{metric}"));
                assert!(v.is_finite() && *v >= 0.0);
            }
        }
    }
    // Descriptions hold commas: a real CSV reader.
    let mut rdr = csv::Reader::from_path(out.join("variants.csv")).unwrap();
    let col = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|c| c == "teacher")
        .unwrap();
    let variants: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let teacher_of: HashMap<&str, &str> = variants.iter().map(|r| (&r[2], &r[col])).collect();
    assert_eq!(teacher_of["bilstm_soft"], "teacher_ens");
    assert_eq!(teacher_of["kd_b"], "teacher_b");
    assert_eq!(teacher_of["bilstm"], "teacher");

    // teachers.csv describes each; the checkpoint is its parent's epoch 1.
    let teachers = read_csv(&out.join("teachers.csv"));
    let kinds: Vec<(&str, &str)> = teachers[1..]
        .iter()
        .map(|r| (r[2].as_str(), r[3].as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("teacher", "fine_tune"),
            ("teacher_b", "fine_tune"),
            ("teacher_e1", "epoch"),
            ("teacher_ens", "ensemble"),
        ]
    );

    // The ensemble's labels and predictions are the mean of its members'.
    let mean = |a: &[f32], b: &[f32]| -> Vec<f32> {
        a.iter().zip(b).map(|(x, y)| (x + y) / 2.0).collect()
    };
    let lab = |t: &str| logits(&stage_dir(&out, "labels", t).join("transfer.tsv"));
    assert_eq!(lab("teacher_ens"), mean(&lab("teacher"), &lab("teacher_b")));
    let pred = |t: &str| {
        bert_teacher::checkpoint::read_f32(
            &stage_dir(&out, "predictions", t).join("dev.safetensors"),
            "logits",
        )
        .unwrap()
        .1
    };
    assert_eq!(
        pred("teacher_ens"),
        mean(&pred("teacher"), &pred("teacher_b"))
    );
    // Smoke fine-tunes run one epoch: teacher_b's epoch 1 is teacher_b.
    assert_eq!(pred("teacher_e1"), pred("teacher_b"));
    assert_ne!(
        pred("teacher"),
        pred("teacher_b"),
        "the seed changes the teacher"
    );

    // Rerun after completion: every stage cached, nothing trained or labelled again.
    let again = run_ok("sst2", &args);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(
        !log.contains("fine-tuning") && !log.contains("training on") && !log.contains("logits for"),
        "a finished run did work again:\n{log}"
    );
}

#[test]
fn a_bad_teacher_config_is_one_error_line_before_any_stage() {
    let tmp = tempfile::tempdir().unwrap();
    let init = tiny_init(tmp.path());
    let cfg = config(
        tmp.path(),
        &init,
        "teachers:\n  teacher_ens: {ensemble: [teacher, teacher_nope]}\n",
    );
    let out = bin("sst2")
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--store",
            tmp.path().join("store").to_str().unwrap(),
            "--out-dir",
            tmp.path().join("run").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("teachers.teacher_ens.ensemble: no teacher named `teacher_nope`"),
        "{stderr}"
    );
    let store = tmp.path().join("store");
    assert!(!store.exists() || std::fs::read_dir(&store).unwrap().count() == 0);
}
