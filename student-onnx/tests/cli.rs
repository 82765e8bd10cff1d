//! The `export` and `classify` binaries on the committed fixture students: what they write, and
//! one clear error line — with nothing left behind — for a teacher dir, a corrupt student dir,
//! an output that cannot be written, and a bad input line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn export(args: &[&Path], env: Option<(&str, &str)>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_export"));
    cmd.arg("--model").arg(args[0]).arg("--out").arg(args[1]);
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn classify(model: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_classify"))
        .arg("--model")
        .arg(model)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// The single error line of a failed run.
fn error_line(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn export_writes_the_bundle_and_classify_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ship");
    let res = export(&[&fixtures().join("students/single"), &out], None);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert_eq!(
        files(&out),
        ["README.md", "model.onnx", "student.json", "vocab.txt"]
    );
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("import onnxruntime as ort"));
    // TEXT arguments, stdin lines and a TSV give the same rows.
    let args = classify(&out, &["a gorgeous , witty film", "A DULL MESS"], None);
    assert!(
        args.status.success(),
        "{}",
        String::from_utf8_lossy(&args.stderr)
    );
    let lines = classify(&out, &[], Some("a gorgeous , witty film\nA DULL MESS\n"));
    let tsv = dir.path().join("in.tsv");
    std::fs::write(
        &tsv,
        "sentence\tlabel\na gorgeous , witty film\t1\nA DULL MESS\t0\n",
    )
    .unwrap();
    let file = classify(&out, &["--input", tsv.to_str().unwrap()], None);
    let text = String::from_utf8(args.stdout).unwrap();
    assert_eq!(text, String::from_utf8(lines.stdout).unwrap());
    assert_eq!(text, String::from_utf8(file.stdout).unwrap());
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "index\tlabel\tp_0\tp_1");
    assert_eq!(rows.len(), 3);
    for (i, row) in rows[1..].iter().enumerate() {
        let f: Vec<&str> = row.split('\t').collect();
        assert_eq!(f[0], i.to_string());
        let p: Vec<f64> = f[2..].iter().map(|x| x.parse().unwrap()).collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-6);
        let label = if p[1] > p[0] { "1" } else { "0" };
        assert_eq!(f[1], label);
    }
    // --output is written whole; the pair model reads tab-separated pairs.
    let dest = dir.path().join("pred.jsonl");
    let res = classify(
        &out,
        &[
            "--format",
            "jsonl",
            "--output",
            dest.to_str().unwrap(),
            "film",
        ],
        None,
    );
    assert!(res.status.success());
    let json = std::fs::read_to_string(&dest).unwrap();
    assert!(json.starts_with("{\"index\":0,\"label\":"), "{json}");
    let pair = dir.path().join("pair");
    assert!(export(&[&fixtures().join("students/pair"), &pair], None)
        .status
        .success());
    let res = classify(&pair, &["a film\ta dull mess"], None);
    let text = String::from_utf8(res.stdout).unwrap();
    assert!(
        text.starts_with("index\tlabel\tp_contradiction\tp_entailment\tp_neutral\n0\t"),
        "{text}"
    );
}

#[test]
fn bad_models_and_outputs_are_one_line_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A teacher dir.
    let teacher = dir.path().join("teacher");
    std::fs::create_dir_all(&teacher).unwrap();
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::write(teacher.join(f), "{}").unwrap();
    }
    let e = error_line(&export(&[&teacher, &out], None));
    assert!(e.contains("a teacher dir"), "{e}");
    // A corrupt student: truncated weights.
    let corrupt = dir.path().join("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    for f in ["student_config.json", "vocab.json", "best.safetensors"] {
        std::fs::copy(fixtures().join("students/single").join(f), corrupt.join(f)).unwrap();
    }
    let weights = std::fs::read(corrupt.join("best.safetensors")).unwrap();
    std::fs::write(
        corrupt.join("best.safetensors"),
        &weights[..weights.len() / 2],
    )
    .unwrap();
    let e = error_line(&export(&[&corrupt, &out], None));
    assert!(
        e.contains("best.safetensors:0: not a safetensors file"),
        "{e}"
    );
    // A configuration that disagrees with the weights.
    std::fs::write(corrupt.join("best.safetensors"), &weights).unwrap();
    let cfg = std::fs::read_to_string(corrupt.join("student_config.json")).unwrap();
    std::fs::write(
        corrupt.join("student_config.json"),
        cfg.replace("\"hidden_dim\": 3", "\"hidden_dim\": 4"),
    )
    .unwrap();
    let e = error_line(&export(&[&corrupt, &out], None));
    assert!(e.contains("has shape [12, 8]"), "{e}");
    // An unknown configuration key.
    std::fs::write(
        corrupt.join("student_config.json"),
        cfg.replace("\"pair\"", "\"layers\": 2, \"pair\""),
    )
    .unwrap();
    let e = error_line(&export(&[&corrupt, &out], None));
    assert!(
        e.contains("student_config.json:") && e.contains("unknown field `layers`"),
        "{e}"
    );
    assert!(!out.exists(), "a failed export created {}", out.display());
    // An output that fails to be written (a full disk at model.onnx): nothing is left, not even
    // the files written before it.
    let e = error_line(&export(
        &[&fixtures().join("students/single"), &out],
        Some(("KD_FAIL_WRITE", "model.onnx")),
    ));
    assert!(e.contains("model.onnx: No space left on device"), "{e}");
    assert_eq!(files(&out), Vec::<String>::new());
    // An output path under a regular file.
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "x").unwrap();
    error_line(&export(
        &[&fixtures().join("students/single"), &blocked.join("sub")],
        None,
    ));
    // classify: a student dir that was not exported, and a bad input line.
    let e = error_line(&classify(
        &fixtures().join("students/single"),
        &["film"],
        None,
    ));
    assert!(e.contains("export it first"), "{e}");
    let e = error_line(&classify(
        &fixtures().join("onnx/single"),
        &[],
        Some("film\n\nfilm\n"),
    ));
    assert!(e.starts_with("error: <stdin>:2: empty line"), "{e}");
    // A bundle mixed from two exports.
    let mixed = dir.path().join("mixed");
    assert!(export(&[&fixtures().join("students/single"), &mixed], None)
        .status
        .success());
    std::fs::copy(
        fixtures().join("onnx/pair/model.onnx"),
        mixed.join("model.onnx"),
    )
    .unwrap();
    let e = error_line(&classify(&mixed, &["film"], None));
    assert!(e.contains("does not match student.json"), "{e}");
}
