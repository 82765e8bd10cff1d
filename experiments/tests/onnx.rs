//! The exported student (student-onnx) against the libtorch student it came from:
//!
//! - tract's logits equal libtorch's within 1e-5, for every embedding mode, single and pair
//!   models, on batches of different lengths and on batches of one;
//! - onnxruntime's logits on the committed fixture bundles (student-onnx/tests/fixtures/
//!   onnxruntime.json) equal libtorch's on the committed fixture students within 1e-5;
//! - the tch-free tokeniser gives the ids `bilstm_student::Vocab` gives, on every SST-2 sentence;
//! - `classify`'s output (the library behind it) equals `predict`'s on SST-2's dev file: same
//!   header, same indices and labels, probabilities within 1e-5;
//! - the exporter's mirror of `StudentConfig` reads every configuration the student writes.
//!
//! Needs the shared SST-2 data (scripts/setup.sh).

mod common;

use bilstm_student::{
    EmbeddingConfig, EmbeddingMode, Encoded, StudentConfig, StudentModel, Vocab, VocabConfig,
};
use common::*;
use kd_core::data::{load_split, Example, Task};
use kd_core::Classifier;
use std::path::{Path, PathBuf};
use student_onnx::input::{Pairing, TsvReader};
use student_onnx::output::{predict_stream, Format};
use student_onnx::OnnxStudent;

/// Largest difference allowed between two runtimes' float32 logits or probabilities.
const TOL: f32 = 1e-5;

fn example(a: &str, b: Option<&str>) -> Example {
    Example {
        text_a: a.into(),
        text_b: b.map(str::to_owned),
        label: None,
        index: None,
    }
}

fn onnx_example(e: &Example) -> student_onnx::Example {
    student_onnx::Example {
        text_a: e.text_a.clone(),
        text_b: e.text_b.clone(),
    }
}

fn tiny(
    mode: EmbeddingMode,
    pair: bool,
    classes: usize,
    vocab: Vocab,
    seed: i64,
) -> (StudentModel, tch::nn::VarStore) {
    let cfg = StudentConfig {
        embedding: EmbeddingConfig {
            mode,
            vectors: None,
            dim: 6,
            init_range: 0.5,
        },
        hidden_dim: 5,
        fc_dim: 7,
        num_classes: classes,
        dropout: 0.3,
        pair,
        ..Default::default()
    };
    tch::manual_seed(seed);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let model = StudentModel::with_vectors(vs.root(), &cfg, vocab, None).unwrap();
    (model, vs)
}

/// Saves and exports `model`; returns the bundle dir.
fn export(model: &StudentModel, vs: &tch::nn::VarStore, dir: &Path) -> PathBuf {
    let student = dir.join("student");
    model.save(vs, &student).unwrap();
    let out = dir.join("onnx");
    student_onnx::export(&student, &out, None).unwrap();
    out
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn tract_matches_libtorch_for_every_mode_single_and_pair() {
    let corpus = [
        "the film is good",
        "a dull , dull mess",
        "Good acting but a weak plot",
    ];
    let a = [
        "the film is good",
        "A DULL mess with unknown words and a very long tail of the film the film",
        "",
        "good",
        "[MASK] plot",
    ];
    let b = [
        "weak",
        "the plot is good and the acting is not dull",
        "film",
        "",
        "a a a a",
    ];
    let cases = [
        (EmbeddingMode::Multichannel, false, 2),
        (EmbeddingMode::Rand, false, 2),
        (EmbeddingMode::Static, false, 5),
        (EmbeddingMode::Multichannel, true, 3),
    ];
    for (i, (mode, pair, classes)) in cases.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let vocab = Vocab::build(corpus, &VocabConfig::default());
        let (model, vs) = tiny(mode, pair, classes, vocab, 40 + i as i64);
        let onnx = OnnxStudent::load(&export(&model, &vs, dir.path())).unwrap();
        let examples: Vec<Example> = a
            .iter()
            .zip(b)
            .map(|(x, y)| example(x, pair.then_some(y)))
            .collect();
        let want = model.predict_logits(&examples, 64).unwrap();
        let ex: Vec<_> = examples.iter().map(onnx_example).collect();
        // One padded batch of every length, and each example alone (no padding at all).
        let got = onnx.predict_logits(&ex, 64).unwrap();
        let alone = onnx.predict_logits(&ex, 1).unwrap();
        let what = format!("{mode:?} pair={pair}");
        assert!(max_diff(&want, &got) < TOL, "{what}: {want:?} vs {got:?}");
        assert!(
            max_diff(&want, &alone) < TOL,
            "{what}: {want:?} vs {alone:?}"
        );
        // Not a vacuous match: the examples' logits differ from one another.
        assert!(
            want.chunks(classes)
                .any(|r| max_diff(r, &want[..classes]) > 1e-3),
            "{what}"
        );
    }
}

#[test]
fn onnxruntime_fixture_matches_libtorch() {
    let fixtures = root().join("student-onnx/tests/fixtures");
    let path = fixtures.join("onnxruntime.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "missing fixture {} ({e}); see student-onnx/tests/fixtures/run_onnxruntime.py",
            path.display()
        )
    });
    let fx: serde_json::Value = serde_json::from_str(&text).unwrap();
    for name in ["single", "pair"] {
        let case = &fx[name];
        let (model, _vs) = StudentModel::load(&fixtures.join("students").join(name)).unwrap();
        let pair = model.config().pair;
        let texts = |k: &str| -> Vec<String> {
            case[k].as_array().map_or_else(Vec::new, |v| {
                v.iter().map(|s| s.as_str().unwrap().to_string()).collect()
            })
        };
        let (sa, sb) = (texts("sentences_a"), texts("sentences_b"));
        let examples: Vec<Example> = sa
            .iter()
            .enumerate()
            .map(|(i, s)| example(s, pair.then(|| sb[i].as_str())))
            .collect();
        let want: Vec<f32> = case["logits"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
            })
            .collect();
        let got = model.predict_logits(&examples, 3).unwrap();
        assert!(
            max_diff(&want, &got) < TOL,
            "{name}: onnxruntime {want:?} vs libtorch {got:?}"
        );
    }
}

fn sst2(split: &str) -> Vec<Example> {
    let path = root().join("data/glue/SST-2").join(format!("{split}.tsv"));
    require(&path);
    load_split(Task::Sst2, &path).unwrap()
}

#[test]
fn tokeniser_gives_the_students_ids_on_sst2() {
    let train = sst2("train");
    let vocab = Vocab::build(
        train.iter().map(|e| e.text_a.as_str()),
        &VocabConfig::default(),
    );
    let tok =
        student_onnx::Tokenizer::new(vocab.words().to_vec(), true, Path::new("vocab")).unwrap();
    let extra = [
        "",
        "  ",
        "İSTANBUL ΟΔΟΣ STRAßE Ǆ [MASK] [Mask] [UNK] [PAD] x\u{a0}y\u{2003}z\u{3000}w",
    ];
    let mut n = 0;
    for split in ["train", "dev", "test"] {
        let texts: Vec<String> = if split == "train" {
            train.iter().map(|e| e.text_a.clone()).collect()
        } else {
            sst2(split).into_iter().map(|e| e.text_a).collect()
        };
        for t in texts.iter().map(String::as_str).chain(extra) {
            let want = Encoded::new(vocab.encode(t), None).a;
            assert_eq!(tok.encode(t), want, "{split}: {t:?}");
            n += 1;
        }
    }
    assert!(n > 70_000, "{n} sentences");
}

#[test]
fn classify_writes_what_predict_writes() {
    let dir = tempfile::TempDir::new_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let train = sst2("train");
    let vocab = Vocab::build(
        train.iter().map(|e| e.text_a.as_str()),
        &VocabConfig::default(),
    );
    let (model, vs) = tiny(EmbeddingMode::Multichannel, false, 2, vocab, 7);
    let bundle = export(&model, &vs, dir.path());
    let onnx = OnnxStudent::load(&bundle).unwrap();
    let dev = root().join("data/glue/SST-2/dev.tsv");
    for (format, flag) in [(Format::Tsv, "tsv"), (Format::Jsonl, "jsonl")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_predict"))
            .args(["--device", "cpu", "--format", flag, "--model"])
            .arg(dir.path().join("student"))
            .arg("--input")
            .arg(&dev)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = String::from_utf8(out.stdout).unwrap();
        let mut got = Vec::new();
        let records = TsvReader::open(&dev, Pairing::Single).unwrap();
        predict_stream(&onnx, records, 256, 1.0, format, &mut got).unwrap();
        let got = String::from_utf8(got).unwrap();
        let (want, got): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
        assert_eq!(want.len(), got.len());
        assert!(want.len() > 800);
        // (name, value) of every column: TSV by the header, JSONL by key.
        let header: Vec<String> = if format == Format::Tsv {
            want[0].split('\t').map(str::to_owned).collect()
        } else {
            Vec::new()
        };
        let fields = |line: &str| -> Vec<(String, String)> {
            if format == Format::Tsv {
                header
                    .iter()
                    .cloned()
                    .zip(line.split('\t').map(str::to_owned))
                    .collect()
            } else {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                v.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, x)| (k.clone(), x.to_string()))
                    .collect()
            }
        };
        for (w, g) in want.iter().zip(&got) {
            let (w, g) = (fields(w), fields(g));
            assert_eq!(w.len(), g.len(), "{flag}: {w:?} vs {g:?}");
            for ((kw, x), (kg, y)) in w.iter().zip(&g) {
                assert_eq!(kw, kg, "{flag}");
                match (kw.starts_with("p_"), x.parse::<f32>(), y.parse::<f32>()) {
                    (true, Ok(a), Ok(b)) => assert!((a - b).abs() < TOL, "{flag}: {w:?} vs {g:?}"),
                    // Header, index, label: identical.
                    _ => assert_eq!(x, y, "{flag}: {w:?} vs {g:?}"),
                }
            }
        }
    }
}
