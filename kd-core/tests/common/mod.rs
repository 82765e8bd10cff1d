//! Helpers shared by the PyTorch-fixture tests.

use serde_json::Value;

/// Reads `tests/fixtures/<name>`; a missing fixture is a failure that says how to regenerate it.
pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "missing fixture {}: {e}; regenerate with .venv-fixtures/bin/python kd-core/tests/fixtures/gen_fixtures.py",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("fixture is valid JSON")
}
