//! Table 1 formatting: mean ± sd (n), the difference to the paper, and not-run rows.

mod common;

use common::full_results;
use reports::load::Results;
use reports::published::Published;
use reports::schema::{Metric, Model, Task};
use reports::stats::{format_diff, Summary};
use reports::table1::{build, Ours, Table1, NOT_RUN, NOT_RUN_NO_DATA};

fn table() -> Table1 {
    build(
        &Results::load(&full_results()).unwrap(),
        &Published::embedded().unwrap(),
    )
}

fn row<'a>(t: &'a Table1, model: Model, label: &str) -> &'a reports::table1::Table1Row {
    t.rows
        .iter()
        .find(|r| r.model == model && r.column.label == label)
        .unwrap()
}

#[test]
fn summary_is_mean_and_sample_sd() {
    let s = Summary::of(&[80.0, 81.0, 82.0]).unwrap();
    assert_eq!((s.mean, s.sd, s.n), (81.0, Some(1.0), 3));
    assert_eq!(s.format(), "81.00 ± 1.00 (n=3)");
    assert_eq!(Summary::of(&[91.06]).unwrap().format(), "91.06 (n=1)");
    assert!(Summary::of(&[]).is_none());
    assert_eq!(format_diff(-5.7), "-5.70");
    assert_eq!(format_diff(1.234), "+1.23");
}

#[test]
fn seeds_are_summarised_and_compared_with_the_paper() {
    let t = table();
    let hard = row(&t, Model::Bilstm, "SST-2 acc");
    assert_eq!(hard.paper.as_ref().unwrap().0, 86.7);
    assert_eq!(
        hard.dev,
        Ours::Ran(Summary {
            mean: 81.0,
            sd: Some(1.0),
            n: 3
        })
    );
    assert!((hard.dev_diff().unwrap() - (81.0 - 86.7)).abs() < 1e-12);
    assert_eq!(hard.test, Ours::NotRun(NOT_RUN), "no SST-2 test rows");
    assert!(hard.commands[0].contains("--bin sst2") && hard.commands[0].contains("abc1234"));
    let soft = row(&t, Model::BilstmSoft, "SST-2 acc");
    assert_eq!(soft.dev.summary().unwrap().n, 2);
}

#[test]
fn tasks_without_results_are_not_run() {
    let t = table();
    // QQP has no metrics.csv at all; MNLI has one, without teacher rows.
    assert_eq!(
        row(&t, Model::Teacher, "QQP F1").dev,
        Ours::NotRun(NOT_RUN_NO_DATA)
    );
    assert_eq!(
        row(&t, Model::Teacher, "MNLI-m acc").dev,
        Ours::NotRun(NOT_RUN)
    );
    assert_eq!(
        row(&t, Model::BilstmSoft, "MNLI-mm acc")
            .dev
            .summary()
            .unwrap()
            .mean,
        61.75
    );
    assert_eq!(t.rows.len(), 15, "3 models × 5 columns");
}

#[test]
fn markdown_has_values_diffs_notes_and_extras() {
    let md = table().to_markdown();
    assert!(
        md.contains(
            "| BiLSTM (hard labels) | SST-2 acc | 86.7 | 81.00 ± 1.00 (n=3) | -5.70 | — | — |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| QQP F1 | 72.1 | not run: data not available here | — |"),
        "{md}"
    );
    assert!(md.contains("SST-2 test labels are not public"));
    assert!(md.contains("not transcribed here") && md.contains("1903.12136"));
    // SST-2 F1 has no paper column: it is listed, not dropped.
    assert!(
        md.contains("| SST-2 | BiLSTM_SOFT | dev | F1 | 85.00 (n=1) |"),
        "{md}"
    );
    assert_eq!(table().extras.len(), 1);
    assert_eq!(table().extras[0].metric, Metric::F1);
    assert_eq!(table().extras[0].task, Task::Sst2);
}

#[test]
fn csv_is_tidy_and_parseable() {
    let text = table().to_csv();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 16, "15 table rows + 1 extra");
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let hard = rows
        .iter()
        .find(|r| &r[col("model")] == "bilstm" && &r[col("task")] == "sst2")
        .unwrap();
    assert_eq!(&hard[col("dev_mean")], "81.0000");
    assert_eq!(&hard[col("dev_sd")], "1.0000");
    assert_eq!(&hard[col("dev_n")], "3");
    assert_eq!(&hard[col("dev_diff")], "-5.7000");
    let qqp = rows.iter().find(|r| &r[col("task")] == "qqp").unwrap();
    assert_eq!(&qqp[col("status")], NOT_RUN_NO_DATA);
}

#[test]
fn published_numbers_are_the_papers() {
    let p = Published::embedded().unwrap();
    use reports::schema::{PaperModel, Split};
    let get = |t, m, s, metric| p.table1(t, m, s, metric).unwrap().value;
    assert_eq!(
        get(
            Task::Sst2,
            PaperModel::BertLarge,
            Split::Test,
            Metric::Accuracy
        ),
        94.9
    );
    assert_eq!(
        get(Task::Qqp, PaperModel::Bilstm, Split::Test, Metric::F1),
        63.7
    );
    assert_eq!(
        get(
            Task::Mnli,
            PaperModel::BilstmSoft,
            Split::TestMismatched,
            Metric::Accuracy
        ),
        72.6
    );
    assert!(p.rows.iter().all(|r| r.source.contains("1903.12136")));
    // `teacher` in published.csv is the paper's BERT-large (joins with our `model` column).
    assert_eq!(p.rows[0].model, PaperModel::BertLarge);
    assert!(p.rows[0].source.contains("BERT-large"));
}

#[test]
fn duplicate_published_value_is_an_error() {
    let text = "table,task,model,split,metric,value,source\n\
                table1,sst2,bilstm,test,accuracy,86.7,x\ntable1,sst2,bilstm,test,accuracy,86.8,x\n";
    let err = Published::parse(std::path::Path::new("p.csv"), text).unwrap_err();
    assert_eq!(err.to_string(), "p.csv:3: duplicate published value");
}

/// A dose of three levels; `top` is the largest level's n_iter.
fn dose(top: usize) -> reports::ablation::dose::Dose {
    use reports::ablation::bootstrap::BootstrapConfig;
    use reports::ablation::dose::{Dose, DoseLevel, LevelMeasure};
    use reports::ablation::table::Measure;
    use reports::schema::Split;
    let level = |n_iter: usize, model: &str, mean: f64| DoseLevel {
        model: model.parse().unwrap(),
        n_iter,
        transfer_size: 67_349 * n_iter.max(1),
        measures: vec![LevelMeasure {
            summary: Some(Summary {
                mean,
                sd: Some(0.5),
                n: 3,
            }),
            ci: None,
            step: None,
        }],
        runs: vec![("dose".into(), "e57114c".into())],
    };
    Dose {
        name: "sst2-ablations-converged".into(),
        task: Task::Sst2,
        split: Split::Dev,
        measures: vec![Measure::DevAccuracy],
        levels: vec![
            level(0, "kd_no_aug", 85.5),
            level(6, "bilstm_soft", 87.5),
            level(top, "mse_n_iter_top", 89.0),
        ],
        bootstrap: BootstrapConfig::default(),
    }
}

#[test]
fn a_dose_at_the_papers_n_iter_sits_under_the_papers_bilstm_soft() {
    let published = Published::embedded().unwrap();
    let mut t = table();
    t.add_paper_settings([&dose(20)], &published);
    assert_eq!(t.settings.len(), 1, "one SST-2 accuracy column");
    let s = &t.settings[0];
    assert_eq!(
        (s.column.label, s.n_iter, s.variant.as_str()),
        ("SST-2 acc", 20, "mse_n_iter_top")
    );
    assert_eq!(s.paper.as_ref().unwrap().0, 90.7);
    assert!((s.dev_diff().unwrap() - (89.0 - 90.7)).abs() < 1e-12);
    let md = t.to_markdown();
    let soft = md.find("| BiLSTM_SOFT (distilled) | SST-2 acc |").unwrap();
    let setting = md
        .find("| BiLSTM_SOFT at the paper's n_iter 20 (`mse_n_iter_top`) | SST-2 acc | 90.7 | 89.00 ± 0.50 (n=3) | -1.70 | — | — |")
        .unwrap_or_else(|| panic!("{md}"));
    assert!(
        soft < setting && !md[soft..setting].contains("QQP"),
        "directly under: {md}"
    );
    assert!(
        md.contains("--bin sst2  # config dose, git e57114c`"),
        "its command: {md}"
    );
    assert!(
        md.contains("on a transfer set of the paper's size (n_iter 20; the default run's"),
        "its note: {md}"
    );
    let csv = t.to_csv();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("sst2,accuracy,mse_n_iter_top,")
                && l.contains("paper setting: n_iter 20")),
        "{csv}"
    );

    // A dose that stops short of the paper's n_iter adds nothing.
    let mut short = table();
    short.add_paper_settings([&dose(2)], &published);
    assert!(short.settings.is_empty());
    assert_eq!(short.to_markdown(), table().to_markdown());
}
