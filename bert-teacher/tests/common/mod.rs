//! Helpers shared by the integration tests: fixture paths and float comparison.
#![allow(dead_code)]

use kd_core::data::Example;
use std::path::{Path, PathBuf};

/// `bert-teacher/tests/fixtures/<name>`; a missing fixture fails the test.
pub fn fixture(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    assert!(
        path.exists(),
        "fixture {} is missing: run .venv-fixtures/bin/python bert-teacher/tests/fixtures/make_fixtures.py",
        path.display()
    );
    path
}

/// Parses a JSON fixture.
pub fn json(name: &str) -> serde_json::Value {
    let path = fixture(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A JSON array of numbers as f32.
pub fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// Largest absolute difference; panics on a length mismatch.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Examples from the fixture's `[{text_a, text_b}]` list.
pub fn examples(v: &serde_json::Value) -> Vec<Example> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| Example {
            text_a: e["text_a"].as_str().unwrap().to_string(),
            text_b: e["text_b"].as_str().map(str::to_string),
            label: None,
            index: None,
        })
        .collect()
}

/// Sorted entry names of a directory.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
