//! The ablation table, paragraph and figure on the small fixture run folder
//! (tests/data/ablation/sst2-ablations, made by make_fixture.py beside it; every expected number
//! below is a count of the correctness lists there).

mod common;

use common::{close, grid, render, row};
use reports::ablation::frame::{dev_accuracy_by_variant, tidy};
use reports::ablation::run::AblationRun;
use reports::ablation::verdict::Verdict;
use std::path::{Path, PathBuf};

fn fixture_results() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ablation")
}

fn fixture_run() -> PathBuf {
    fixture_results().join("sst2-ablations")
}

fn copied_fixture() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("results/sst2-ablations");
    std::fs::create_dir_all(&run).unwrap();
    for f in ["variants.csv", "metrics.csv", "dev_predictions.csv"] {
        std::fs::copy(fixture_run().join(f), run.join(f)).unwrap();
    }
    (tmp, run)
}

#[test]
fn tidy_table_joins_metrics_with_variants() {
    let run = AblationRun::load(&fixture_run()).unwrap();
    let df = tidy(&run).unwrap();
    // 12 metric rows: teacher 1 seed, five variants × 2 seeds, soft_ce_t2 1 seed.
    assert_eq!(df.height(), 12);
    assert!(df.column("description").is_ok() && df.column("value").is_ok());
    let acc = dev_accuracy_by_variant(&run).unwrap();
    let names: Vec<&str> = acc.iter().map(|a| a.model.as_str()).collect();
    assert_eq!(
        names,
        [
            "bilstm",
            "bilstm_soft",
            "kd_no_aug",
            "aug_inherited",
            "aug_teacher_argmax",
            "soft_ce_t2"
        ]
    );
    let bilstm = acc[0].summary.unwrap();
    // 62.5 and 50: mean 56.25, sd = 12.5 / √2.
    assert!(close(bilstm.mean, 56.25) && close(bilstm.sd.unwrap(), 12.5 / 2f64.sqrt()));
    assert_eq!(bilstm.n, 2);
    let t2 = acc[5].summary.unwrap();
    assert_eq!((t2.mean, t2.sd, t2.n), (75.0, None, 1));
}

#[test]
fn ablation_table_on_the_fixture() {
    let (_, table, _) = grid(&fixture_run());
    let row = |m: &str| row(&table, m);
    let base = row("bilstm");
    assert!(base.variant.baseline && base.delta.is_none() && base.ci.is_none());
    let soft = row("bilstm_soft");
    assert!(close(soft.summary.unwrap().mean, 87.5));
    assert!(close(soft.delta.unwrap(), 31.25));
    let ci = soft.ci.as_ref().unwrap();
    // Per seed 87.5 − 62.5 = 25 and 87.5 − 50 = 37.5: the paired difference is 31.25.
    assert!(close(ci.diff, 31.25) && ci.low <= ci.diff && ci.diff <= ci.high);
    assert_eq!(ci.seeds, vec![0, 1]);
    // Identical predictions to the baseline: exactly [0, 0].
    let inherited = row("aug_inherited").ci.as_ref().unwrap();
    assert_eq!(
        (inherited.diff, inherited.low, inherited.high),
        (0.0, 0.0, 0.0)
    );
    assert!(close(row("kd_no_aug").delta.unwrap(), 12.5));
    assert!(close(row("aug_teacher_argmax").delta.unwrap(), 18.75));
    // soft_ce_t2 has seed 0 only: Δ of means 75 − 56.25, and the CI is of the same difference
    // (each model averaged over its own seeds), not of seed 0's 75 − 62.5.
    let t2 = row("soft_ce_t2");
    assert!(close(t2.delta.unwrap(), 18.75));
    assert_eq!(t2.ci.as_ref().unwrap().seeds, vec![0, 1]);
    assert!(close(t2.ci.as_ref().unwrap().diff, 18.75));

    let md = table.to_markdown();
    assert!(md.contains("| `bilstm` (baseline) | BiLSTM: gold labels, training set | 56.25 ± 8.84 | 2 | — | — |"), "{md}");
    assert!(md.contains("| `aug_inherited` | Augmentation without a teacher | 56.25 ± 8.84 | 2 | +0.00 | [+0.00, +0.00] equivalent within ±0.5 |"), "{md}");
    // Identical predictions: equivalent within the margin, not merely "not different".
    assert_eq!(
        row("aug_inherited").verdict,
        Some(Verdict::Equivalent { margin: 0.5 })
    );
    // No submission files in this fixture: no second measure, no agreement columns.
    assert!(!table.has_agreement && !md.contains("test agreement"));
    assert!(md.contains("10000 resamples"));
    let csv = table.to_csv();
    assert_eq!(csv.lines().count(), 7);
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("sst2,ablations,bilstm,"));
    assert!(
        csv.contains(",soft_ce,0,2,6,40,dev,75.0000,,1,18.7500,18.7500,6.2500,37.5000,0.95,0 1,"),
        "{csv}"
    );
}

#[test]
fn paragraph_is_drawn_from_the_numbers() {
    let (_, _, text) = grid(&fixture_run());
    assert!(
        text.contains("BiLSTM_SOFT (`bilstm_soft`) against the baseline: dev accuracy +31.25"),
        "{text}"
    );
    assert!(
        text.contains("Augmentation without a teacher (`aug_inherited`) against the baseline: dev accuracy +0.00 [+0.00, +0.00], equivalent within ±0.5"),
        "{text}"
    );
    assert!(
        text.contains(
            "KD without augmentation (`kd_no_aug`) against the baseline: dev accuracy +12.50"
        ),
        "{text}"
    );
    assert!(text.contains("Over all 5 variants"), "{text}");
    // Only the rule table's words: no "alone carries" without an equivalence verdict.
    assert!(!text.contains("carries the gain"), "{text}");

    // Make the argmax variant predict exactly what bilstm_soft predicts: it now reaches
    // BiLSTM_SOFT (its CI against it is [0, 0]), and the text must say so.
    let (_tmp, dir) = copied_fixture();
    let preds = std::fs::read_to_string(dir.join("dev_predictions.csv")).unwrap();
    let mut lines: Vec<String> = preds
        .lines()
        .filter(|l| !l.contains(",aug_teacher_argmax,"))
        .map(String::from)
        .collect();
    let copies: Vec<String> = preds
        .lines()
        .filter(|l| l.contains(",bilstm_soft,"))
        .map(|l| l.replace(",bilstm_soft,", ",aug_teacher_argmax,"))
        .collect();
    lines.extend(copies);
    std::fs::write(dir.join("dev_predictions.csv"), lines.join("\n") + "\n").unwrap();
    let metrics = std::fs::read_to_string(dir.join("metrics.csv"))
        .unwrap()
        .replace(
            "aug_teacher_argmax,dev,accuracy,75.0",
            "aug_teacher_argmax,dev,accuracy,87.5",
        );
    std::fs::write(dir.join("metrics.csv"), metrics).unwrap();
    let (_, table, text) = grid(&dir);
    assert!(
        text.contains(
            "against BiLSTM_SOFT: dev accuracy +0.00 [+0.00, +0.00], equivalent within ±0.5"
        ),
        "{text}"
    );
    // The rule table allows "alone carries" only now: better than the baseline (if its CI
    // excludes 0) and equivalent to BiLSTM_SOFT.
    let argmax_better = row(&table, "aug_teacher_argmax").verdict == Some(Verdict::Better);
    assert_eq!(
        text.contains("carries the gain") || text.contains("carry the gain"),
        argmax_better,
        "{text}"
    );
}

#[test]
fn report_has_the_ablation_section_table_and_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let output = render(&fixture_results(), &out);
    let sub = out.join("sst2-ablations");
    for f in [
        "ablation.md",
        "ablation.csv",
        "fig5_ablation.png",
        "fig5_ablation.svg",
    ] {
        assert!(
            output.written.contains(&sub.join(f)),
            "{f} reported written"
        );
    }
    let png = std::fs::read(sub.join("fig5_ablation.png")).unwrap();
    assert!(png.len() > 5_000 && png[..4] == [0x89, b'P', b'N', b'G']);
    let svg = std::fs::read_to_string(sub.join("fig5_ablation.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("kd_no_aug"),
        "labels in the SVG"
    );
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(report.contains("## Ablations: where the gain comes from"));
    assert!(report.contains("![Ablation grid](sst2-ablations/fig5_ablation.png)"));
    assert!(report.contains("**What the grid shows**"));
    assert!(!report.contains("Not run: no folder"));
}

#[test]
fn report_says_not_run_without_a_variants_file() {
    let (tmp, results) = common::copied_results();
    let out = tmp.path().join("out");
    render(&results, &out);
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        report.contains(&format!(
            "Not run: no folder of `{}` holds a `variants.csv`",
            results.display()
        )),
        "{report}"
    );
}

/// Loads the copied fixture after `edit(file text)` on `file`; returns the error message.
fn error_after(file: &str, edit: impl Fn(String) -> String) -> String {
    let (_tmp, dir) = copied_fixture();
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
    let err = AblationRun::load(&dir).expect_err("inconsistent folder must fail");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&path.display().to_string()),
        "names {file}: {msg}"
    );
    msg
}

#[test]
fn inconsistent_folders_name_file_and_line() {
    let msg = error_after("variants.csv", |t| t.replacen("false", "true", 1));
    assert!(
        msg.contains(":3: a second baseline (line 2 is one)"),
        "{msg}"
    );
    let msg = error_after("variants.csv", |t| t.replacen("true", "false", 1));
    assert!(msg.contains("no variant has baseline = true"), "{msg}");
    let msg = error_after("metrics.csv", |t| {
        t.replacen("bilstm,dev,accuracy,62.5", "bilstm,dev,accuracy,60", 1)
    });
    assert!(
        msg.contains(":3: accuracy 60 but") && msg.contains("gives 62.5"),
        "{msg}"
    );
    let msg = error_after("metrics.csv", |t| t.replace(",soft_ce_t2,", ",soft_ce_t3,"));
    assert!(
        msg.contains(":13: model `soft_ce_t3` is not in variants.csv"),
        "{msg}"
    );
    let msg = error_after("dev_predictions.csv", |t| {
        t.lines()
            .filter(|l| *l != "sst2,ablations,kd_no_aug,1,dev,7,0,1")
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    });
    assert!(
        msg.contains("model `kd_no_aug` seed 1 has 7 of 8 dev predictions (no example 7)"),
        "{msg}"
    );
    let msg = error_after("dev_predictions.csv", |t| {
        t.replacen(
            "sst2,ablations,bilstm,0,dev,3,1,",
            "sst2,ablations,bilstm,0,dev,3,0,",
            1,
        )
    });
    assert!(
        msg.contains("example 3 has label 0, line 5 says 1"),
        "{msg}"
    );
    let msg = error_after("dev_predictions.csv", |t| {
        t + "sst2,ablations,bilstm,0,dev,2,0,0\n"
    });
    assert!(
        msg.contains(":98: model `bilstm` seed 0 predicts example 2 twice"),
        "{msg}"
    );
    let msg = error_after("dev_predictions.csv", |t| {
        t + "sst2,ablations,bilstm,0,dev,x,0,0\n"
    });
    assert!(msg.contains(":98: column `example`"), "{msg}");
}

#[test]
fn a_grid_of_baseline_and_bilstm_soft_attributes_nothing() {
    // The default run's folder: the baseline and BiLSTM_SOFT, no ingredient on its own.
    let (_tmp, run_dir) = copied_fixture();
    for f in ["variants.csv", "metrics.csv", "dev_predictions.csv"] {
        let path = run_dir.join(f);
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .enumerate()
            .filter(|(i, l)| {
                *i == 0
                    || [",teacher,", ",bilstm,", ",bilstm_soft,"]
                        .iter()
                        .any(|m| l.contains(m))
            })
            .map(|(_, l)| l)
            .collect();
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    }
    let (run, _, text) = grid(&run_dir);
    assert_eq!(run.variants.len(), 2);
    assert!(
        text.contains("BiLSTM_SOFT (`bilstm_soft`) against the baseline: dev accuracy +31.25"),
        "{text}"
    );
    assert!(
        text.contains(
            "The grid runs no ingredient on its own, so it cannot say where the gain comes from."
        ),
        "{text}"
    );
    assert!(!text.contains("comes from combining"), "{text}");
    assert!(!text.contains("Over all"), "{text}");
}
