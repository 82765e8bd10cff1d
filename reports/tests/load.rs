//! CSV parsing: the committed small results load; malformed files fail with file and line.

mod common;

use common::{copied_results, full_results, write};
use reports::load::{read_rows, HistoryRow, MetricRow, Results};
use reports::schema::{Metric, Model, Split, Task};
use reports::{FileError, ReportError};

const METRICS_HEADER: &str = "task,model,split,metric,value,seed,config,git_rev\n";

#[test]
fn committed_results_load() {
    let r = Results::load(&full_results()).unwrap();
    let sst2 = r.metrics_of(Task::Sst2).unwrap();
    assert_eq!(sst2.len(), 7);
    assert_eq!(
        sst2[0],
        MetricRow {
            task: Task::Sst2,
            model: Model::Teacher.name(),
            split: Split::Dev,
            metric: Metric::Accuracy,
            value: 91.06,
            seed: 1,
            config: "experiments/configs/sst2.yaml".into(),
            git_rev: "abc1234".into(),
        }
    );
    assert!(r.metrics_of(Task::Qqp).is_none(), "qqp has no metrics.csv");
    assert_eq!(r.metrics_of(Task::Mnli).unwrap().len(), 2);
    assert_eq!(r.history_of(Task::Sst2).unwrap().len(), 10);
    assert!(r.history_of(Task::Mnli).is_none());
    assert_eq!(r.softmax_t.as_ref().unwrap().len(), 2);
    assert_eq!(r.table2.as_ref().unwrap()[1].model, Model::BilstmSoft);
}

/// Loads `dir` after replacing `rel` with `text`; returns the error's message.
fn error_after_writing(rel: &str, text: &str) -> (String, ReportError) {
    let (_tmp, results) = copied_results();
    let path = write(&results, rel, text);
    let err = Results::load(&results).expect_err("malformed file must fail");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&path.display().to_string()),
        "message names the file: {msg}"
    );
    (msg, err)
}

fn line_of(err: &ReportError) -> usize {
    match err {
        ReportError::File(FileError::Parse { line, .. }) => *line,
        other => panic!("expected a parse error, got {other:?}"),
    }
}

/// As [`error_after_writing`], for an error that names `line`; returns the message.
fn error_on_line(rel: &str, text: &str, line: usize) -> String {
    let (msg, err) = error_after_writing(rel, text);
    assert_eq!(line_of(&err), line, "{msg}");
    msg
}

/// As [`error_on_line`], for `sst2/metrics.csv` holding the header and `rows`.
fn metrics_error_on_line(rows: &str, line: usize) -> String {
    error_on_line("sst2/metrics.csv", &format!("{METRICS_HEADER}{rows}"), line)
}

#[test]
fn wrong_column_is_an_error_on_line_1() {
    let msg = error_on_line(
        "sst2/metrics.csv",
        "task,model,split,metric,score,seed,config,git_rev\nsst2,teacher,dev,accuracy,90,1,c,r\n",
        1,
    );
    assert!(
        msg.contains("missing: [value]") && msg.contains("unexpected: [score]"),
        "{msg}"
    );
}

#[test]
fn non_numeric_value_names_line_and_column() {
    let msg = metrics_error_on_line(
        "sst2,teacher,dev,accuracy,90.5,1,c,r\nsst2,bilstm,dev,accuracy,ninety,1,c,r\n",
        3,
    );
    assert!(
        msg.contains(":3:") && msg.contains("column `value`"),
        "{msg}"
    );
}

#[test]
fn malformed_model_name_is_an_error() {
    // Any `[a-z][a-z0-9_]*` is a variant name now; this one is not.
    let msg = metrics_error_on_line("sst2,Bert-Base,dev,accuracy,90.5,1,c,r\n", 2);
    assert!(
        msg.contains("column `model`") && msg.contains("`Bert-Base` is not a model name"),
        "{msg}"
    );
}

#[test]
fn a_variant_outside_the_papers_roles_is_listed_not_dropped() {
    let (_tmp, results) = copied_results();
    let text = format!(
        "{METRICS_HEADER}sst2,bilstm,dev,accuracy,80,1,c,r\nsst2,kd_no_aug,dev,accuracy,82,1,c,r\n"
    );
    write(&results, "sst2/metrics.csv", &text);
    let r = Results::load(&results).unwrap();
    let t1 = reports::table1::build(&r, &reports::published::Published::embedded().unwrap());
    assert!(t1
        .extras
        .iter()
        .any(|e| e.model.as_str() == "kd_no_aug" && e.ours.mean == 82.0));
}

#[test]
fn missing_field_is_an_error() {
    let msg = metrics_error_on_line("sst2,teacher,dev,accuracy,90.5,1,c\n", 2);
    assert!(msg.contains("expected 8 fields, found 7"), "{msg}");
}

#[test]
fn fraction_over_100_or_negative_is_not_a_percentage() {
    let text = format!("{METRICS_HEADER}sst2,teacher,dev,accuracy,-0.9,1,c,r\n");
    let (msg, _) = error_after_writing("sst2/metrics.csv", &text);
    assert!(msg.contains("not a percentage"), "{msg}");
}

#[test]
fn task_must_match_its_directory() {
    let msg = metrics_error_on_line("mnli,teacher,dev_matched,accuracy,80,1,c,r\n", 2);
    assert!(msg.contains("task `mnli` in the sst2 directory"), "{msg}");
}

#[test]
fn history_with_text_epoch_is_an_error() {
    let text = "task,model,epoch,train_loss,dev_accuracy,seconds,seed,config\n\
                sst2,bilstm,one,0.5,80,1.0,1,c\n";
    let msg = error_on_line("sst2/history.csv", text, 2);
    assert!(msg.contains("column `epoch`"), "{msg}");
}

#[test]
fn softmax_file_with_two_sentences_or_repeated_class_is_an_error() {
    let msg = error_on_line(
        "sst2/softmax_t.csv",
        "sentence,class,label_name,logit\na,0,negative,1.0\nb,1,positive,2.0\n",
        3,
    );
    assert!(msg.contains("second sentence"), "{msg}");
    let (msg, _) = error_after_writing(
        "sst2/softmax_t.csv",
        "sentence,class,label_name,logit\na,1,negative,1.0\na,1,positive,2.0\n",
    );
    assert!(msg.contains("class 1 appears twice"), "{msg}");
}

#[test]
fn table2_with_inconsistent_times_is_an_error() {
    let text = "model,params,params_without_embeddings,device,threads,batch_size,sentences,\
                seconds_median,seconds_min,seconds_max,repeats\n\
                teacher,100,50,cpu,2,512,100,1.0,2.0,3.0,3\n";
    let msg = error_on_line("table2.csv", text, 2);
    assert!(msg.contains("seconds_min <= seconds_median"), "{msg}");
}

#[test]
fn missing_results_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = Results::load(&missing).unwrap_err();
    assert!(matches!(err, ReportError::MissingResults(_)));
    assert!(err.to_string().contains("does not exist"));
}

#[test]
fn read_rows_reports_a_missing_file_by_name() {
    let err = read_rows::<HistoryRow>(std::path::Path::new("/no/such/history.csv")).unwrap_err();
    assert!(err.to_string().starts_with("/no/such/history.csv"), "{err}");
}

#[test]
fn a_seed_reported_twice_is_an_error() {
    let msg = metrics_error_on_line(
        "sst2,bilstm,dev,accuracy,80,1,c,r\nsst2,bilstm,dev,accuracy,80,2,c,r\n\
         sst2,bilstm,dev,accuracy,81,1,c,r\n",
        4,
    );
    assert!(msg.contains("conflicts with line 2"), "{msg}");
}

#[test]
fn an_identical_row_written_twice_counts_once() {
    let (_tmp, results) = copied_results();
    let text = format!(
        "{METRICS_HEADER}sst2,teacher,dev,accuracy,91,7,c,r\nsst2,bilstm,dev,accuracy,80,1,c,r\n\
         sst2,teacher,dev,accuracy,91,7,c,r\n"
    );
    write(&results, "sst2/metrics.csv", &text);
    let r = Results::load(&results).unwrap();
    let teacher: Vec<_> = r
        .metrics_of(Task::Sst2)
        .unwrap()
        .iter()
        .filter(|r| r.model == Model::Teacher)
        .collect();
    assert_eq!(teacher.len(), 1);
}
