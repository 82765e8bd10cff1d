//! The `predict` binary on the models of one SST-2 smoke run (shared by every test here): its
//! output's shape and probabilities, the temperature, every input route giving the same rows,
//! both formats agreeing, the predictions equal to the run's own GLUE submissions for the
//! students and the teacher, and one clear error line for a bad model dir or a bad input line.
//! A sentence-pair student with random weights (built here, no training) covers pair inputs.
//! Needs the set-up's teacher and GloVe cache and the shared data (scripts/setup.sh).

mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Test sentences the smoke run predicted (`data.max_test` of experiments/configs/smoke.yaml).
const SMOKE_TEST_ROWS: usize = 16;

/// The smoke run: its out dir and each model's (name, seed, store dir) from its stages.json.
struct Smoke {
    dir: PathBuf,
    models: Vec<(String, u64, PathBuf)>,
    /// The smoke run's test split: the first rows of SST-2's test.tsv, header included.
    test_tsv: PathBuf,
    /// A 3-class sentence-pair student with random weights.
    pair_student: PathBuf,
}

impl Smoke {
    fn model(&self, name: &str) -> &Path {
        &self
            .models
            .iter()
            .find(|(m, _, _)| m == name)
            .unwrap_or_else(|| panic!("no {name} in stages.json"))
            .2
    }
    fn student(&self) -> &Path {
        self.model("bilstm_soft")
    }
    fn teacher(&self) -> &Path {
        self.model("teacher")
    }
    fn tmp(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn smoke_run() -> &'static Smoke {
    static SMOKE: OnceLock<Smoke> = OnceLock::new();
    SMOKE.get_or_init(|| {
        let test = root().join("data/glue/SST-2/test.tsv");
        require(&test);
        require(&root().join(".cache/minilm/model.safetensors"));
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("predict-smoke");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (out, store) = (dir.join("run"), dir.join("store"));
        smoke("sst2", &out, &store, &[]);
        let stages: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("stages.json")).unwrap())
                .unwrap();
        let models = stages
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| {
                let path = root().join(s["dir"].as_str().unwrap());
                match s["stage"].as_str().unwrap() {
                    "teacher" => Some(("teacher".to_string(), 0, path)),
                    "student" => Some((
                        s["model"].as_str().unwrap().to_string(),
                        s["seed"].as_u64().unwrap(),
                        path,
                    )),
                    _ => None,
                }
            })
            .collect();
        let text = std::fs::read_to_string(&test).unwrap();
        let head: String = text
            .lines()
            .take(1 + SMOKE_TEST_ROWS)
            .map(|l| format!("{l}\n"))
            .collect();
        let test_tsv = dir.join("test-head.tsv");
        std::fs::write(&test_tsv, head).unwrap();
        let pair_student = dir.join("pair-student");
        build_pair_student(&pair_student);
        Smoke {
            dir,
            models,
            test_tsv,
            pair_student,
        }
    })
}

/// Saves an untrained 3-class Siamese student (small, random embeddings) into `dir`.
fn build_pair_student(dir: &Path) {
    use bilstm_student::{EmbeddingConfig, EmbeddingMode, StudentConfig, StudentModel, Vocab};
    let cfg = StudentConfig {
        embedding: EmbeddingConfig {
            mode: EmbeddingMode::Rand,
            vectors: None,
            dim: 8,
            ..Default::default()
        },
        hidden_dim: 8,
        fc_dim: 8,
        num_classes: 3,
        pair: true,
        ..Default::default()
    };
    let vocab = Vocab::build(["a man is sleeping", "nobody sleeps"], &cfg.vocab);
    tch::manual_seed(0);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let model = StudentModel::with_vectors(vs.root(), &cfg, vocab, None).unwrap();
    model.save(&vs, dir).unwrap();
}

fn predict(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_predict"));
    cmd.current_dir(root())
        .env("RUST_BACKTRACE", "0")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// stdout of a successful run, which printed nothing on stderr.
fn predict_ok(args: &[&str], stdin: Option<&str>) -> String {
    let out = predict(args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "predict {args:?} failed:\n{stderr}");
    assert!(
        stderr.is_empty(),
        "predict {args:?} wrote on stderr:\n{stderr}"
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The one stderr line of a run that must fail with exit code 1; it must contain `expect`.
fn predict_err(args: &[&str], stdin: Option<&str>, expect: &str) -> String {
    let out = predict(args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "predict {args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "predict {args:?}: not one line:\n{stderr}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(expect),
        "predict {args:?}: expected {expect:?} in {stderr:?}"
    );
    lines[0].to_string()
}

/// One output row: index, label, probabilities.
type Row = (u64, String, Vec<f32>);

/// A TSV output: its header and rows.
fn parse(text: &str) -> (Vec<String>, Vec<Row>) {
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split('\t')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].parse().unwrap(),
                f[1].to_string(),
                f[2..].iter().map(|x| x.parse().unwrap()).collect(),
            )
        })
        .collect();
    (header, rows)
}

fn entropy(p: &[f32]) -> f64 {
    p.iter()
        .filter(|&&x| x > 0.0)
        .map(|&x| -(x as f64) * (x as f64).ln())
        .sum()
}

fn max(p: &[f32]) -> f32 {
    p.iter().copied().fold(f32::MIN, f32::max)
}

/// The smoke run's test sentences.
fn test_sentences(s: &Smoke) -> Vec<String> {
    std::fs::read_to_string(&s.test_tsv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split_once('\t').unwrap().1.to_string())
        .collect()
}

#[test]
fn predictions_equal_the_runs_submissions_for_students_and_teacher() {
    let s = smoke_run();
    assert_eq!(s.models.len(), 3, "{:?}", s.models);
    for (model, seed, dir) in &s.models {
        let out = predict_ok(
            &[
                "--model",
                dir.to_str().unwrap(),
                "--input",
                s.test_tsv.to_str().unwrap(),
            ],
            None,
        );
        let (header, rows) = parse(&out);
        assert_eq!(header, ["index", "label", "p_0", "p_1"], "{model}");
        assert_eq!(rows.len(), SMOKE_TEST_ROWS, "{model}");
        for (i, label, p) in &rows {
            assert_eq!(p.len(), 2, "{model}");
            let sum: f32 = p.iter().sum();
            assert!((sum - 1.0).abs() <= 1e-5, "{model} row {i}: sum {sum}");
            let argmax = if p[1] > p[0] { "1" } else { "0" };
            assert_eq!(label, argmax, "{model} row {i}: {p:?}");
        }
        let sub = s
            .dir
            .join("run/submissions")
            .join(format!("SST-2.{model}.seed{seed}.tsv"));
        let expected: Vec<(u64, String)> = std::fs::read_to_string(&sub)
            .unwrap_or_else(|e| panic!("{}: {e}", sub.display()))
            .lines()
            .skip(1)
            .map(|l| {
                let (i, p) = l.split_once('\t').unwrap();
                (i.parse().unwrap(), p.to_string())
            })
            .collect();
        let got: Vec<(u64, String)> = rows.into_iter().map(|(i, l, _)| (i, l)).collect();
        assert_eq!(
            got,
            expected,
            "{model} ({}) vs {}",
            dir.display(),
            sub.display()
        );
    }
}

#[test]
fn higher_temperature_flattens_and_keeps_the_labels() {
    let s = smoke_run();
    for dir in [s.student(), s.teacher()] {
        let at = |t: &str| {
            let args = [
                "--model",
                dir.to_str().unwrap(),
                "--input",
                s.test_tsv.to_str().unwrap(),
                "--temperature",
                t,
            ];
            parse(&predict_ok(&args, None)).1
        };
        let (cold, hot) = (at("1"), at("4"));
        assert_eq!(cold.len(), hot.len());
        let mut strictly = 0;
        for ((i, l1, p1), (_, l4, p4)) in cold.iter().zip(&hot) {
            assert_eq!(
                l1,
                l4,
                "{} row {i}: the label is the argmax whatever T",
                dir.display()
            );
            assert!(max(p4) <= max(p1) + 1e-6, "row {i}: {p1:?} -> {p4:?}");
            assert!(
                entropy(p4) >= entropy(p1) - 1e-6,
                "row {i}: {p1:?} -> {p4:?}"
            );
            let sum: f32 = p4.iter().sum();
            assert!((sum - 1.0).abs() <= 1e-5);
            strictly += usize::from(max(p4) < max(p1) && entropy(p4) > entropy(p1));
        }
        assert!(strictly > 0, "{}: T = 4 flattened nothing", dir.display());
    }
}

#[test]
fn file_stdin_and_arguments_give_the_same_rows_in_both_formats() {
    let s = smoke_run();
    let model = s.student().to_str().unwrap();
    let sentences = test_sentences(s);
    let sentences = &sentences[..5];
    // test.tsv's first rows have indices 0..4, the positions of the arguments and lines.
    let tsv_path = s.tmp("five.tsv");
    let mut tsv = String::from("index\tsentence\n");
    for (i, t) in sentences.iter().enumerate() {
        tsv.push_str(&format!("{i}\t{t}\n"));
    }
    std::fs::write(&tsv_path, tsv).unwrap();
    let from_file = predict_ok(
        &["--model", model, "--input", tsv_path.to_str().unwrap()],
        None,
    );
    let mut args = vec!["--model", model];
    args.extend(sentences.iter().map(String::as_str));
    let from_args = predict_ok(&args, None);
    let lines: String = sentences.iter().map(|t| format!("{t}\n")).collect();
    let from_stdin = predict_ok(&["--model", model], Some(&lines));
    // Small batches (several blocks) give the same rows.
    let batched = predict_ok(&["--model", model, "--batch-size", "1"], Some(&lines));
    assert_eq!(parse(&from_file).1.len(), 5);
    assert_eq!(from_file, from_args);
    assert_eq!(from_file, from_stdin);
    assert_close(&from_file, &batched, 1e-5);

    // --output writes the same bytes (atomically: no temporary left).
    let out_path = s.tmp("out/five.pred.tsv");
    let printed = predict_ok(
        &[
            "--model",
            model,
            "--input",
            tsv_path.to_str().unwrap(),
            "--output",
            out_path.to_str().unwrap(),
        ],
        None,
    );
    assert!(printed.is_empty());
    assert_eq!(std::fs::read_to_string(&out_path).unwrap(), from_file);
    assert!(temp_files(out_path.parent().unwrap()).is_empty());

    // JSONL: the TSV's columns as keys, the same values.
    let jsonl = predict_ok(&["--model", model, "--format", "jsonl"], Some(&lines));
    let (header, rows) = parse(&from_file);
    let objects: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), rows.len());
    for (o, (index, label, p)) in objects.iter().zip(&rows) {
        let keys: Vec<&String> = o.as_object().unwrap().keys().collect();
        let mut want: Vec<&String> = header.iter().collect();
        want.sort();
        assert_eq!(keys, want, "{o}");
        assert_eq!(o["index"].as_u64(), Some(*index));
        assert_eq!(o["label"].as_str(), Some(label.as_str()));
        for (c, &x) in p.iter().enumerate() {
            assert_eq!(o[format!("p_{c}")].as_f64().unwrap() as f32, x, "{o}");
        }
    }
}

/// Two outputs with the same indices and labels, the probabilities within `tol`: batches of
/// another size may change a probability's last bits, never a label.
fn assert_close(a: &str, b: &str, tol: f32) {
    let ((ha, ra), (hb, rb)) = (parse(a), parse(b));
    assert_eq!(ha, hb);
    assert_eq!(ra.len(), rb.len());
    for ((ia, la, pa), (ib, lb, pb)) in ra.iter().zip(&rb) {
        assert_eq!((ia, la), (ib, lb));
        for (x, y) in pa.iter().zip(pb) {
            assert!((x - y).abs() <= tol, "row {ia}: {pa:?} vs {pb:?}");
        }
    }
}

#[test]
fn pair_models_read_pairs_from_tsv_columns_and_tab_separated_lines() {
    let s = smoke_run();
    let model = s.pair_student.to_str().unwrap();
    let mnli = s.tmp("mnli.tsv");
    std::fs::write(
        &mnli,
        "index\tgenre\tsentence1\tsentence2\n10\tx\ta man is sleeping\tnobody sleeps\n\
         11\ty\tnobody sleeps\ta man is sleeping\n",
    )
    .unwrap();
    let from_file = predict_ok(&["--model", model, "--input", mnli.to_str().unwrap()], None);
    let (header, rows) = parse(&from_file);
    assert_eq!(
        header,
        [
            "index",
            "label",
            "p_contradiction",
            "p_entailment",
            "p_neutral"
        ]
    );
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [10, 11]);
    let lines = "a man is sleeping\tnobody sleeps\nnobody sleeps\ta man is sleeping\n";
    let from_stdin = parse(&predict_ok(&["--model", model], Some(lines))).1;
    for ((_, l1, p1), (_, l2, p2)) in rows.iter().zip(&from_stdin) {
        assert_eq!((l1, p1), (l2, p2));
        assert_eq!(p1.len(), 3);
    }
    // The teacher reads pairs too.
    let teacher = s.teacher().to_str().unwrap();
    let (header, rows) = parse(&predict_ok(&["--model", teacher], Some(lines)));
    assert_eq!((header.len(), rows.len()), (4, 2));
}

#[test]
fn bad_dirs_and_bad_input_give_one_error_line_and_exit_code_1() {
    let s = smoke_run();
    let student = s.student();
    let m = student.to_str().unwrap();

    let empty = s.tmp("empty-dir");
    std::fs::create_dir_all(&empty).unwrap();
    predict_err(
        &["--model", empty.to_str().unwrap(), "x"],
        None,
        "not a model dir",
    );
    let missing = s.tmp("no-such-dir");
    predict_err(
        &["--model", missing.to_str().unwrap(), "x"],
        None,
        "no such directory",
    );
    let incomplete = s.tmp("incomplete-student");
    std::fs::create_dir_all(&incomplete).unwrap();
    for f in [
        "student_config.json",
        "vocab.json",
        "train_config.json",
        "done.json",
    ] {
        std::fs::copy(student.join(f), incomplete.join(f)).unwrap();
    }
    predict_err(
        &["--model", incomplete.to_str().unwrap(), "x"],
        None,
        "incomplete student dir: best.safetensors missing",
    );
    let half_teacher = s.tmp("incomplete-teacher");
    std::fs::create_dir_all(&half_teacher).unwrap();
    std::fs::copy(
        s.teacher().join("config.json"),
        half_teacher.join("config.json"),
    )
    .unwrap();
    predict_err(
        &["--model", half_teacher.to_str().unwrap(), "x"],
        None,
        "incomplete teacher dir: model.safetensors, tokenizer.json missing",
    );
    // The pre-trained MiniLM has no classifier head.
    predict_err(
        &["--model", ".cache/minilm", "x"],
        None,
        "without a classifier head",
    );

    // Bad input lines name the source and the line.
    predict_err(
        &["--model", m],
        Some("fine\nnot\tfine\n"),
        "<stdin>:2: a tab",
    );
    predict_err(
        &["--model", m],
        Some("fine\n\nfine\n"),
        "<stdin>:2: empty line",
    );
    let pair = s.pair_student.to_str().unwrap();
    predict_err(
        &["--model", pair],
        Some("a\tb\nno tab here\n"),
        "<stdin>:2: no tab",
    );
    predict_err(
        &["--model", pair, "a\tb", "c"],
        None,
        "TEXT argument 2: no tab",
    );
    let teacher = s.teacher().to_str().unwrap();
    predict_err(
        &["--model", teacher],
        Some("a\tb\nc\n"),
        "<stdin>:2: a single sentence where the first input was a sentence pair",
    );
    let no_column = s.tmp("no-column.tsv");
    std::fs::write(&no_column, "index\ttext\n0\ta film\n").unwrap();
    let no_column = no_column.to_str().unwrap();
    predict_err(
        &["--model", m, "--input", no_column],
        None,
        &format!("{no_column}:1: missing column `sentence`"),
    );
    let sst = s.test_tsv.to_str().unwrap();
    predict_err(
        &["--model", pair, "--input", sst],
        None,
        &format!("{sst}:1: no sentence-pair columns"),
    );
    // A bad row far into the file: nothing is written to --output (atomic).
    let bad_row = s.tmp("bad-row.tsv");
    let mut text = String::from("index\tsentence\n");
    for i in 0..600 {
        text.push_str(&format!("{i}\tsentence number {i}\n"));
    }
    text.push_str("600\tone\textra field\n");
    std::fs::write(&bad_row, text).unwrap();
    let bad_row = bad_row.to_str().unwrap();
    let out = s.tmp("bad-out/pred.tsv");
    predict_err(
        &[
            "--model",
            m,
            "--input",
            bad_row,
            "--output",
            out.to_str().unwrap(),
        ],
        None,
        &format!("{bad_row}:602: 3 field(s) where the header has 2 column(s)"),
    );
    assert!(!out.exists(), "a failed run left {}", out.display());
    assert!(temp_files(out.parent().unwrap()).is_empty());
}
