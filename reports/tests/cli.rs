//! The binary: --help, exit code 1 with one line naming file and line on bad input, no panic.

mod common;

use common::{copied_results, write};
use std::path::Path;
use std::process::{Command, Output};

fn reports() -> Command {
    Command::new(env!("CARGO_BIN_EXE_reports"))
}

/// Runs the binary on `results`, writing under `out`.
fn run_binary(results: &Path, out: &Path) -> Output {
    reports()
        .args([
            "--results",
            results.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap()
}

/// The run failed with exit code 1 and one line on stderr, no panic; returns that line.
fn one_line_error(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn help_lists_the_flags() {
    let out = reports().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("--results") && text.contains("--out") && text.contains("--published"));
}

#[test]
fn malformed_csv_exits_1_with_one_line() {
    let (tmp, results) = copied_results();
    let path = write(
        &results,
        "mnli/metrics.csv",
        "task,model,split,metric,value,seed,config,git_rev\nmnli,bilstm_soft,dev_matched,accuracy,abc,1,c,r\n",
    );
    let err = one_line_error(&run_binary(&results, &tmp.path().join("out")));
    assert!(
        err.contains(&format!("{}:2: column `value`", path.display())),
        "{err}"
    );
}

#[test]
fn missing_results_dir_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let err = one_line_error(&run_binary(&tmp.path().join("none"), &tmp.path().join("o")));
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn skipped_figures_are_printed() {
    let (tmp, results) = copied_results();
    std::fs::remove_file(results.join("table2.csv")).unwrap();
    let out = run_binary(&results, &tmp.path().join("out"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let skipped: Vec<&str> = text.lines().filter(|l| l.starts_with("skipping")).collect();
    assert_eq!(skipped.len(), 1, "{text}");
    assert!(skipped[0].contains("fig4_size_speed") && skipped[0].ends_with("table2.csv"));
}
