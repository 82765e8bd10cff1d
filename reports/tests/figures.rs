//! Each figure is written as a non-empty PNG and SVG; a figure whose CSV is absent is skipped
//! with one line naming the file, and the rest still render.

mod common;

use common::{copied_results, full_results, render};
use std::path::Path;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
const STEMS: [&str; 4] = [
    "fig1_accuracy",
    "fig2_training_curves",
    "fig3_softmax_t",
    "fig4_size_speed",
];

fn assert_figure(out: &Path, stem: &str) {
    let png = std::fs::read(out.join(format!("{stem}.png"))).unwrap();
    assert!(png.len() > 5_000, "{stem}.png is {} bytes", png.len());
    assert_eq!(png[..8], PNG_SIGNATURE, "{stem}.png is a PNG");
    let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
    assert!(svg.contains("<svg"), "{stem}.svg is an SVG");
    // Text was laid out with the embedded font: the title is in the SVG.
    assert!(svg.contains("<text"), "{stem}.svg has text");
}

#[test]
fn every_figure_table_and_report_is_written() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out");
    let output = render(&full_results(), &out);
    assert!(output.skipped.is_empty(), "{:?}", output.skipped);
    for stem in STEMS {
        assert_figure(&out, stem);
    }
    for name in [
        "table1.md",
        "table1.csv",
        "table2.md",
        "table2.csv",
        "REPORT.md",
    ] {
        assert!(
            std::fs::metadata(out.join(name)).unwrap().len() > 100,
            "{name}"
        );
    }
    assert_eq!(output.written.len(), 13);
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    for stem in STEMS {
        assert!(
            report.contains(&format!("]({stem}.png)")),
            "REPORT.md embeds {stem}"
        );
    }
    assert!(report.contains("cargo run --release -p experiments --bin sst2  # config experiments/configs/sst2.yaml, git abc1234"));
    assert!(report.contains("MiniLM-L6") && report.contains("50-d GloVe"));
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn figures_with_absent_csv_are_skipped_with_one_line() {
    let (tmp, results) = copied_results();
    std::fs::remove_file(results.join("sst2/softmax_t.csv")).unwrap();
    std::fs::remove_file(results.join("table2.csv")).unwrap();
    let out = tmp.path().join("out");
    let output = render(&results, &out);
    assert_eq!(output.skipped.len(), 2, "{:?}", output.skipped);
    assert!(output.skipped[0].starts_with("skipping fig3_softmax_t: missing"));
    assert!(output.skipped[0].ends_with("sst2/softmax_t.csv"));
    assert!(output.skipped[1].ends_with("table2.csv"));
    assert_figure(&out, "fig1_accuracy");
    assert_figure(&out, "fig2_training_curves");
    assert!(!out.join("fig3_softmax_t.png").exists());
    assert!(!out.join("fig4_size_speed.svg").exists());
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        report.contains("Not drawn — skipping fig4_size_speed"),
        "{report}"
    );
}

#[test]
fn empty_results_dir_renders_tables_and_skips_every_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let out = tmp.path().join("out");
    let output = render(&results, &out);
    assert_eq!(output.skipped.len(), 4);
    let t1 = std::fs::read_to_string(out.join("table1.md")).unwrap();
    assert_eq!(t1.matches("not run: data not available here").count(), 15);
}
