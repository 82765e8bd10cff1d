//! Table 2: the paper's and our size ratios and speed-ups.

mod common;

use common::{copied_results, full_results};
use reports::load::Results;
use reports::published::Published;
use reports::table2::{build, thousands};

#[test]
fn paper_and_our_ratios() {
    let t = build(
        &Results::load(&full_results()).unwrap(),
        &Published::embedded().unwrap(),
    )
    .unwrap();
    let p = t.paper_ratios().unwrap();
    assert!((p.size_ratio - 335.0 / 0.96).abs() < 1e-9);
    assert!((p.speedup - 1060.0 / 2.44).abs() < 1e-9);
    let o = t.our_ratios().unwrap();
    // teacher 22,713,216 params; student 1,056,802 without embeddings, 21,056,802 with.
    assert!((o.size_ratio - 22_713_216.0 / 1_056_802.0).abs() < 1e-9);
    assert!((o.size_ratio_total.unwrap() - 22_713_216.0 / 21_056_802.0).abs() < 1e-9);
    // Same sentence count: 40 s / 0.5 s.
    assert!((o.speedup - 80.0).abs() < 1e-9);
    let md = t.to_markdown();
    assert!(md.contains("| 349.0× | 21.5× |"), "{md}");
    assert!(md.contains("| 434.4× | 80.0× |"), "{md}");
    // A file from before the runtime and latency columns: libtorch, no latency.
    assert!(md.contains("| ours | Teacher (MiniLM-L6) | libtorch | 22.71 | 10.99 | 40.00 (min 39.00, max 42.00; 3 repeats) | 2,000 | 50.0 | cpu | 2 | 512 | — |"), "{md}");
    assert_eq!(t.to_csv().lines().count(), 6, "header + 3 paper + 2 ours");
}

#[test]
fn absent_timings_are_not_run() {
    let (_tmp, results) = copied_results();
    std::fs::remove_file(results.join("table2.csv")).unwrap();
    let t = build(
        &Results::load(&results).unwrap(),
        &Published::embedded().unwrap(),
    )
    .unwrap();
    assert!(t.our_ratios().is_none());
    assert!(t.to_markdown().contains("not run: data not available here"));
}

#[test]
fn duplicate_model_is_an_error() {
    let (_tmp, results) = copied_results();
    let path = results.join("table2.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let last = text.lines().last().unwrap().replace(",0.5,", ",0.55,");
    text.push_str(&last);
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    let err = Results::load(&results).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:4: conflicts with line 3 (same (BilstmSoft, Libtorch), different values)",
            path.display()
        )
    );
}

/// A file with the runtime and latency columns: the student on libtorch and on tract.
const WITH_LATENCY: &str = "\
model,params,params_without_embeddings,device,threads,batch_size,sentences,seconds_median,seconds_min,seconds_max,repeats,runtime,latency_threads,latency_sentences,latency_p50_ms,latency_p95_ms,latency_p99_ms
bilstm_soft,21056802,1056802,cpu,2,512,2000,0.5,0.45,0.6,3,libtorch,1,872,0.41,0.6,0.8
bilstm_soft,21056802,1056802,cpu,1,512,2000,0.8,0.7,0.9,3,tract,1,872,0.2,0.3,0.5
teacher,22713216,10994304,cpu,2,512,2000,40.0,39.0,42.0,3,libtorch,1,872,9.5,12.25,14.0
";

#[test]
fn latency_columns_and_the_tract_row() {
    let (_tmp, results) = copied_results();
    std::fs::write(results.join("table2.csv"), WITH_LATENCY).unwrap();
    let t = build(
        &Results::load(&results).unwrap(),
        &Published::embedded().unwrap(),
    )
    .unwrap();
    // Ratios compare with the libtorch student.
    assert!((t.our_ratios().unwrap().speedup - 80.0).abs() < 1e-9);
    let md = t.to_markdown();
    assert!(md.contains("| BiLSTM_SOFT | tract | 21.06 | 1.06 | 0.80 (min 0.70, max 0.90; 3 repeats) | 2,000 | 2500.0 | cpu | 1 | 512 | 0.200 / 0.300 / 0.500 |"), "{md}");
    assert!(md.contains("| libtorch | 22.71 | 10.99 | 40.00 (min 39.00, max 42.00; 3 repeats) | 2,000 | 50.0 | cpu | 2 | 512 | 9.500 / 12.250 / 14.000 |"), "{md}");
    let csv = t.to_csv();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with(",runtime,latency_p50_ms,latency_p95_ms,latency_p99_ms"));
    assert!(csv.contains(",tract,0.2000,0.3000,0.5000"), "{csv}");
    // Percentiles out of order are a bad row.
    std::fs::write(
        results.join("table2.csv"),
        WITH_LATENCY.replace("0.2,0.3,0.5", "0.2,0.6,0.5"),
    )
    .unwrap();
    let err = Results::load(&results).unwrap_err().to_string();
    assert!(
        err.contains("table2.csv:3:") && err.contains("latency_p50_ms <= latency_p95_ms"),
        "{err}"
    );
}

#[test]
fn thousands_separator() {
    assert_eq!(thousands(67_350), "67,350");
    assert_eq!(thousands(512), "512");
    assert_eq!(thousands(1_000_000), "1,000,000");
}
