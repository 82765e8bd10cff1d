//! The committed fixture bundles (tests/fixtures/onnx/, exported from tests/fixtures/students/)
//! against onnxruntime (tests/fixtures/onnxruntime.json, written by run_onnxruntime.py): tract's
//! logits within 1e-5 of onnxruntime's, the Rust tokeniser's ids equal to the Python
//! reimplementation's, and today's exporter writing the graph the fixture was made from.

use prost::Message;
use serde_json::Value;
use std::path::{Path, PathBuf};
use student_onnx::{Example, OnnxStudent};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn onnxruntime() -> Value {
    let path = fixtures().join("onnxruntime.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "missing fixture {} ({e}); run tests/fixtures/run_onnxruntime.py",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map_or_else(Vec::new, |a| {
        a.iter().map(|s| s.as_str().unwrap().to_string()).collect()
    })
}

#[test]
fn tract_and_the_tokeniser_match_onnxruntime() {
    let fx = onnxruntime();
    for name in ["single", "pair"] {
        let case = &fx[name];
        let model = OnnxStudent::load(&fixtures().join("onnx").join(name)).unwrap();
        let (a, b) = (strings(&case["sentences_a"]), strings(&case["sentences_b"]));
        assert_eq!(model.is_pair(), !b.is_empty());
        for (side, texts) in [("ids_a", &a), ("ids_b", &b)] {
            for (i, t) in texts.iter().enumerate() {
                let want: Vec<i64> = case[side][i]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_i64().unwrap())
                    .collect();
                assert_eq!(model.tokenizer().encode(t), want, "{name} {side} {t:?}");
            }
        }
        let examples: Vec<Example> = a
            .iter()
            .enumerate()
            .map(|(i, t)| Example {
                text_a: t.clone(),
                text_b: b.get(i).cloned(),
            })
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
        for batch in [1, 3, 64] {
            let got = model.predict_logits(&examples, batch).unwrap();
            let gap = want
                .iter()
                .zip(&got)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(
                gap < 1e-5,
                "{name} batch {batch}: gap {gap}: {want:?} vs {got:?}"
            );
        }
    }
}

#[test]
fn the_exporter_still_writes_the_fixture_graphs() {
    for name in ["single", "pair"] {
        let dir = tempfile::tempdir().unwrap();
        let student = fixtures().join("students").join(name);
        student_onnx::export(&student, dir.path(), None).unwrap();
        let graph = |p: &Path| {
            let bytes = std::fs::read(p.join("model.onnx")).unwrap();
            tract_onnx::pb::ModelProto::decode(bytes.as_slice())
                .unwrap()
                .graph
        };
        assert!(
            graph(dir.path()) == graph(&fixtures().join("onnx").join(name)),
            "{name}: the exporter's graph differs from the committed fixture's: regenerate the \
             fixtures (scripts/gen_fixtures.sh: make_students.py, export, run_onnxruntime.py)"
        );
        let vocab = |p: &Path| std::fs::read(p.join("vocab.txt")).unwrap();
        assert_eq!(
            vocab(dir.path()),
            vocab(&fixtures().join("onnx").join(name))
        );
    }
}
