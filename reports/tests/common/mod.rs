//! Helpers shared by the integration tests: a copy of the committed test results in a temp dir,
//! so a test can overwrite one file with a malformed variant, and a render of a results folder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The committed small results set.
pub fn full_results() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/full")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A temp dir holding `results/` (a copy of the committed set) and room for `out/`.
pub fn copied_results() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    copy_dir(&full_results(), &results);
    (dir, results)
}

/// Writes `text` to `dir/rel`, creating parents.
pub fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// Renders `results` into `out` with the embedded published numbers; the run must succeed.
pub fn render(results: &Path, out: &Path) -> reports::RunOutput {
    reports::run(&reports::RunArgs {
        results: results.to_path_buf(),
        out: out.to_path_buf(),
        published: None,
        verdicts: Default::default(),
    })
    .unwrap()
}

/// Equal to within floating-point rounding.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The ablation table's row of `model`; the test fails if there is none.
pub fn row<'a>(
    table: &'a reports::ablation::table::AblationTable,
    model: &str,
) -> &'a reports::ablation::table::AblationRow {
    table
        .rows
        .iter()
        .find(|r| r.variant.model.as_str() == model)
        .unwrap_or_else(|| panic!("no row for {model}"))
}

/// A run folder loaded, its ablation table built and its paragraph written, all at the default
/// bootstrap and verdict settings.
pub fn grid(
    dir: &Path,
) -> (
    reports::ablation::run::AblationRun,
    reports::ablation::table::AblationTable,
    String,
) {
    use reports::ablation::{bootstrap::BootstrapConfig, verdict::VerdictConfig};
    let cfg = BootstrapConfig::default();
    let run = reports::ablation::run::AblationRun::load(dir).unwrap();
    let table =
        reports::ablation::table::AblationTable::build(&run, &cfg, &VerdictConfig::default())
            .unwrap();
    let text = reports::ablation::paragraph::paragraph(&run, &table, &cfg).unwrap();
    (run, table, text)
}
