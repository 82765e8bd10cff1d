//! The result schema: rows written through `write_rows` read back equal; model names are
//! checked; task names come from one place.

use reports::load::{read_rows, DevPredictionRow, HistoryRow, MetricRow, VariantRow};
use reports::rows::write_rows;
use reports::schema::{
    submission_file_name, DataSource, Metric, Model, ModelName, Objective, SoftKind, Split,
    Targets, Task,
};

fn name(s: &str) -> ModelName {
    ModelName::new(s).unwrap()
}

fn round_trip<T: reports::load::CsvRow + serde::Serialize + PartialEq + std::fmt::Debug>(
    file: &str,
    rows: &[T],
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    write_rows(&path, rows).unwrap();
    let back: Vec<T> = read_rows(&path).unwrap();
    assert_eq!(back, rows);
}

#[test]
fn metric_and_history_rows_round_trip() {
    round_trip(
        "metrics.csv",
        &[
            MetricRow {
                task: Task::Sst2,
                model: name("kd_no_aug"),
                split: Split::Dev,
                metric: Metric::Accuracy,
                value: 84.05963302752293,
                seed: 2,
                config: "ablations".into(),
                git_rev: "8bc70b9-dirty".into(),
            },
            MetricRow {
                task: Task::Mnli,
                model: ModelName::teacher(),
                split: Split::DevMismatched,
                metric: Metric::F1,
                value: 0.0,
                seed: 0,
                config: "a, \"quoted\" name".into(),
                git_rev: "unknown".into(),
            },
        ],
    );
    round_trip(
        "history.csv",
        &[HistoryRow {
            task: Task::Qqp,
            model: name("soft_ce_t10"),
            epoch: 3,
            train_loss: 0.123456789012345,
            dev_accuracy: 77.7,
            seconds: 12.5,
            seed: 1,
            config: "qqp".into(),
        }],
    );
}

#[test]
fn variant_and_prediction_rows_round_trip() {
    round_trip(
        "variants.csv",
        &[
            VariantRow {
                task: Task::Sst2,
                config: "ablations".into(),
                model: name("bilstm"),
                baseline: true,
                data: DataSource::Train,
                targets: Targets::Gold,
                objective: Objective::Hard,
                alpha: 1.0,
                soft: SoftKind::None,
                temperature: 1.0,
                n_iter: 0,
                transfer_size: 67349,
                description: "BiLSTM: gold labels, training set".into(),
                teacher: name("teacher"),
            },
            VariantRow {
                task: Task::Sst2,
                config: "ablations".into(),
                model: name("mse_alpha05"),
                baseline: false,
                data: DataSource::Transfer,
                targets: Targets::TeacherLogits,
                objective: Objective::Distill,
                alpha: 0.5,
                soft: SoftKind::MseElementwise,
                temperature: 1.0,
                n_iter: 6,
                transfer_size: 322732,
                description: "MSE + hard CE, alpha = 0.5".into(),
                teacher: name("teacher_ens"),
            },
        ],
    );
    round_trip(
        "dev_predictions.csv",
        &[DevPredictionRow {
            task: Task::Mnli,
            config: "mnli".into(),
            model: name("bilstm_soft"),
            seed: 0,
            split: Split::DevMatched,
            example: 9814,
            label: 2,
            prediction: 1,
        }],
    );
}

/// A variants.csv written before teachers were data (no `teacher` column) still reads, its one
/// teacher being `teacher`; a teacher column naming a student is an error with file and line.
#[test]
fn variants_without_a_teacher_column_read_with_the_default_teacher() {
    use reports::load::read_rows_from;
    let old = "task,config,model,baseline,data,targets,objective,alpha,soft,temperature,n_iter,\
               transfer_size,description\n\
               sst2,ablations,bilstm,true,train,gold,hard,1,none,1,0,67349,d\n";
    let rows =
        read_rows_from::<VariantRow, _>(std::path::Path::new("v.csv"), old.as_bytes()).unwrap();
    assert_eq!(rows[0].teacher, name("teacher"));
    let bad = "task,config,model,baseline,data,targets,objective,alpha,soft,temperature,n_iter,\
               transfer_size,description,teacher\n\
               sst2,ablations,bilstm,true,train,gold,hard,1,none,1,0,67349,d,bilstm_soft\n";
    let err = read_rows_from::<VariantRow, _>(std::path::Path::new("v.csv"), bad.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("v.csv:2") && err.contains("column `teacher`"),
        "{err}"
    );
}

/// Metric rows: fidelity metrics are read; the logit MSE is not a percentage.
#[test]
fn fidelity_metrics_read_with_their_ranges() {
    use reports::load::read_rows_from;
    let head = "task,model,split,metric,value,seed,config,git_rev\n";
    let ok = format!(
        "{head}sst2,bilstm_soft,test,teacher_agreement,89.1,0,c,abc\nsst2,bilstm_soft,test,teacher_logit_mse,123.5,0,c,abc\n"
    );
    let rows =
        read_rows_from::<MetricRow, _>(std::path::Path::new("m.csv"), ok.as_bytes()).unwrap();
    assert_eq!(rows[1].metric, Metric::TeacherLogitMse);
    let bad = format!("{head}sst2,bilstm_soft,test,teacher_agreement,101,0,c,abc\n");
    assert!(read_rows_from::<MetricRow, _>(std::path::Path::new("m.csv"), bad.as_bytes()).is_err());
    let neg = format!("{head}sst2,bilstm_soft,test,teacher_logit_mse,-1,0,c,abc\n");
    assert!(read_rows_from::<MetricRow, _>(std::path::Path::new("m.csv"), neg.as_bytes()).is_err());
}

#[test]
fn written_columns_are_the_documented_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("variants.csv");
    write_rows::<VariantRow>(&path, &[]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "task,config,model,baseline,data,targets,objective,alpha,soft,temperature,n_iter,\
         transfer_size,description,teacher\n"
    );
    assert!(read_rows::<VariantRow>(&path).unwrap().is_empty());
    let path = dir.path().join("dev_predictions.csv");
    write_rows::<DevPredictionRow>(&path, &[]).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "task,config,model,seed,split,example,label,prediction\n"
    );
}

#[test]
fn model_names_are_checked() {
    for ok in ["teacher", "bilstm", "kd_no_aug", "soft_ce_t10", "a"] {
        assert_eq!(name(ok).as_str(), ok);
    }
    for bad in [
        "",
        "Bilstm",
        "1bilstm",
        "_x",
        "kd-no-aug",
        "kd no aug",
        "bilstm\u{e9}",
    ] {
        let err = ModelName::new(bad).unwrap_err();
        assert!(err.contains(&format!("`{bad}`")), "{err}");
    }
    assert_eq!(name("bilstm_soft").role(), Some(Model::BilstmSoft));
    assert_eq!(name("bilstm_soft").display(), "BiLSTM_SOFT");
    assert_eq!(name("kd_no_aug").role(), None);
    assert_eq!(name("kd_no_aug").display(), "kd_no_aug");
    assert!(ModelName::teacher().is_teacher());
    assert!(name("bilstm") == Model::Bilstm && name("bilstm") != Model::BilstmSoft);
}

#[test]
fn task_names_and_submission_files() {
    for t in Task::ALL {
        assert_eq!(Task::from_name(t.as_str()), Some(t));
    }
    assert_eq!(Task::from_name("cola"), None);
    assert_eq!(Task::Sst2.glue_name(), "SST-2");
    assert_eq!(Task::Mnli.num_classes(), 3);
    assert_eq!(Task::Mnli.primary_dev_split(), Split::DevMatched);
    assert_eq!(
        submission_file_name(Task::Sst2.glue_name(), &name("bilstm_soft"), 2),
        "SST-2.bilstm_soft.seed2.tsv"
    );
}

#[test]
fn bad_variant_rows_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let header = "task,config,model,baseline,data,targets,objective,alpha,soft,temperature,\
                  n_iter,transfer_size,description\n";
    for (row, want) in [
        (
            "sst2,c,x,true,train,gold,hard,1,mse,1,0,8,d",
            "column `soft`",
        ),
        (
            "sst2,c,x,true,train,gold,distill,0,none,1,0,8,d",
            "needs a soft term",
        ),
        (
            "sst2,c,x,true,transfer,gold,hard,1,none,1,6,8,d",
            "column `targets`",
        ),
        (
            "sst2,c,x,true,train,gold,distill,1.5,mse,1,0,8,d",
            "column `alpha`",
        ),
        (
            "sst2,c,x,true,train,gold,distill,0,kl,0,0,8,d",
            "column `temperature`",
        ),
        (
            "sst2,c,teacher,true,train,gold,hard,1,none,1,0,8,d",
            "not a student variant",
        ),
        (
            "sst2,c,x,yes,train,gold,hard,1,none,1,0,8,d",
            "column `baseline`",
        ),
        (
            "sst2,c,x,true,train,silver,hard,1,none,1,0,8,d",
            "column `targets`",
        ),
    ] {
        let path = dir.path().join("variants.csv");
        std::fs::write(&path, format!("{header}{row}\n")).unwrap();
        let err = read_rows::<VariantRow>(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:2: ", path.display())) && err.contains(want),
            "{row}: {err}"
        );
    }
    let path = dir.path().join("dev_predictions.csv");
    std::fs::write(
        &path,
        "task,config,model,seed,split,example,label,prediction\nsst2,c,x,0,dev,0,1,1\n\
         sst2,c,x,0,dev,1,2,1\n",
    )
    .unwrap();
    let err = read_rows::<DevPredictionRow>(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{}:3: column `label`", path.display())),
        "{err}"
    );
}
