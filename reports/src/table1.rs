//! Table 1 of Tang et al. 2019 (Section 5.1, GLUE test results): the paper's teacher, BiLSTM and
//! BiLSTM_SOFT beside ours, with the difference. Ours is measured on dev (GLUE test labels are
//! held by the GLUE server; SST-2's are not public), and on test only where a result exists.

use crate::ablation::bootstrap::PairedCi;
use crate::ablation::dose::Dose;
use crate::load::{MetricRow, Results};
use crate::published::{Published, PAPER_URL};
use crate::schema::{Metric, Model, ModelName, PaperModel, Split, Task};
use crate::stats::{format_diff, Summary};
use crate::tabular::{csv_string, fixed, markdown_head, markdown_row, Align};
use std::collections::BTreeSet;

/// The text of a cell for a task with no `metrics.csv`.
pub const NOT_RUN_NO_DATA: &str = "not run: data not available here";
/// The text of a cell whose task ran but did not report this model/split/metric.
pub const NOT_RUN: &str = "not run";

/// One column of the paper's Table 1 and the splits of ours compared with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The task.
    pub task: Task,
    /// The metric.
    pub metric: Metric,
    /// The paper's split (GLUE test).
    pub paper_split: Split,
    /// Our dev split compared with it.
    pub dev_split: Split,
    /// Our test split, where we have labels.
    pub test_split: Split,
    /// Display label (`MNLI-m acc`).
    pub label: &'static str,
}

/// The columns of Table 1, in the paper's order.
pub const COLUMNS: [Column; 5] = [
    Column {
        task: Task::Sst2,
        metric: Metric::Accuracy,
        paper_split: Split::Test,
        dev_split: Split::Dev,
        test_split: Split::Test,
        label: "SST-2 acc",
    },
    Column {
        task: Task::Qqp,
        metric: Metric::F1,
        paper_split: Split::Test,
        dev_split: Split::Dev,
        test_split: Split::Test,
        label: "QQP F1",
    },
    Column {
        task: Task::Qqp,
        metric: Metric::Accuracy,
        paper_split: Split::Test,
        dev_split: Split::Dev,
        test_split: Split::Test,
        label: "QQP acc",
    },
    Column {
        task: Task::Mnli,
        metric: Metric::Accuracy,
        paper_split: Split::TestMatched,
        dev_split: Split::DevMatched,
        test_split: Split::TestMatched,
        label: "MNLI-m acc",
    },
    Column {
        task: Task::Mnli,
        metric: Metric::Accuracy,
        paper_split: Split::TestMismatched,
        dev_split: Split::DevMismatched,
        test_split: Split::TestMismatched,
        label: "MNLI-mm acc",
    },
];

/// Our result for one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Ours {
    /// Summary over seeds.
    Ran(Summary),
    /// Why there is no number (`not run: data not available here`, `not run`).
    NotRun(&'static str),
}

impl Ours {
    /// The number, if any.
    pub fn summary(&self) -> Option<Summary> {
        match self {
            Ours::Ran(s) => Some(*s),
            Ours::NotRun(_) => None,
        }
    }
    /// The cell text.
    pub fn format(&self) -> String {
        match self {
            Ours::Ran(s) => s.format(),
            Ours::NotRun(why) => (*why).to_string(),
        }
    }
}

/// One row of Table 1: a column × model.
#[derive(Debug, Clone, PartialEq)]
pub struct Table1Row {
    /// Which column of the paper's table.
    pub column: Column,
    /// Our model.
    pub model: Model,
    /// The paper's value and its source.
    pub paper: Option<(f64, String)>,
    /// Ours on dev.
    pub dev: Ours,
    /// Ours on test.
    pub test: Ours,
    /// The commands (with config and git revision) that produced ours.
    pub commands: Vec<String>,
}

impl Table1Row {
    /// Ours on dev minus the paper's.
    pub fn dev_diff(&self) -> Option<f64> {
        Some(self.dev.summary()?.mean - self.paper.as_ref()?.0)
    }
    /// Ours on test minus the paper's.
    pub fn test_diff(&self) -> Option<f64> {
        Some(self.test.summary()?.mean - self.paper.as_ref()?.0)
    }
}

/// A result of ours that no column of the paper's table covers (e.g. SST-2 F1), listed so that
/// nothing in the inputs is silently dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraRow {
    /// Task.
    pub task: Task,
    /// Model (any name: a task folder may hold other variants than the paper's three).
    pub model: ModelName,
    /// Split.
    pub split: Split,
    /// Metric.
    pub metric: Metric,
    /// Summary over seeds.
    pub ours: Summary,
}

/// Table 1, built.
#[derive(Debug, Clone, PartialEq)]
pub struct Table1 {
    /// Rows in the paper's order (model-major).
    pub rows: Vec<Table1Row>,
    /// Our results outside the paper's columns.
    pub extras: Vec<ExtraRow>,
    /// BiLSTM_SOFT at the paper's own transfer-set size, where an augmentation dose reached it
    /// ([`Table1::add_paper_settings`]); each printed under the BiLSTM_SOFT row of its column.
    pub settings: Vec<SettingRow>,
}

/// The paper's n_iter: copies of each training example drawn for the transfer set (Section
/// 3.2: 20 for SST-2, 10 for the sentence-pair tasks).
pub fn paper_n_iter(task: Task) -> usize {
    match task {
        Task::Sst2 => 20,
        Task::Qqp | Task::Mnli => 10,
    }
}

/// BiLSTM_SOFT trained on a transfer set of the paper's size, from an augmentation dose's
/// level: the comparison with the paper's BiLSTM_SOFT in the paper's own setting.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingRow {
    /// The column it is compared in.
    pub column: Column,
    /// The dose's run folder (`sst2-ablations-converged`).
    pub folder: String,
    /// The level's variant (`mse_n_iter20`).
    pub variant: ModelName,
    /// Its n_iter (the paper's).
    pub n_iter: usize,
    /// The paper's BiLSTM_SOFT value and its source.
    pub paper: Option<(f64, String)>,
    /// Ours on dev, over seeds.
    pub dev: Summary,
    /// The bootstrap 95% CI of the seed-averaged dev mean.
    pub ci: Option<PairedCi>,
    /// The commands that produced it.
    pub commands: Vec<String>,
}

impl SettingRow {
    /// Ours on dev minus the paper's.
    pub fn dev_diff(&self) -> Option<f64> {
        Some(self.dev.mean - self.paper.as_ref()?.0)
    }
}

/// The command that produced a task's results, from the config and git_rev columns, as one
/// shell line: `cargo run --release -p experiments --bin sst2  # config …, git …`.
pub fn command_for(task: Task, config: &str, git_rev: &str) -> String {
    format!(
        "cargo run --release -p experiments --bin {}  # config {config}, git {git_rev}",
        task.id()
    )
}

fn select<'a>(
    rows: &'a [MetricRow],
    model: &str,
    split: Split,
    metric: Metric,
) -> Vec<&'a MetricRow> {
    rows.iter()
        .filter(|r| r.model.as_str() == model && r.split == split && r.metric == metric)
        .collect()
}

fn ours_of(rows: Option<&[MetricRow]>, model: Model, split: Split, metric: Metric) -> Ours {
    let Some(rows) = rows else {
        return Ours::NotRun(NOT_RUN_NO_DATA);
    };
    let values: Vec<f64> = select(rows, model.id(), split, metric)
        .iter()
        .map(|r| r.value)
        .collect();
    Summary::of(&values).map_or(Ours::NotRun(NOT_RUN), Ours::Ran)
}

/// Builds Table 1 from our results and the paper's numbers.
pub fn build(results: &Results, published: &Published) -> Table1 {
    let mut rows = Vec::new();
    for model in Model::ALL {
        for column in COLUMNS {
            rows.push(row(results, published, model, column));
        }
    }
    let extras = Task::ALL
        .into_iter()
        .filter_map(|task| results.metrics_of(task).map(|rows| (task, rows)))
        .flat_map(|(task, rows)| extras_of(task, rows))
        .collect();
    Table1 {
        rows,
        extras,
        settings: Vec::new(),
    }
}

impl Table1 {
    /// Adds, for every dose with a level at the paper's n_iter for its task, that level's dev
    /// accuracy beside the paper's BiLSTM_SOFT in the column of the dose's task and split.
    pub fn add_paper_settings<'a>(
        &mut self,
        doses: impl IntoIterator<Item = &'a Dose>,
        published: &Published,
    ) {
        for dose in doses {
            let n_iter = paper_n_iter(dose.task);
            let Some(level) = dose.levels.iter().find(|l| l.n_iter == n_iter) else {
                continue;
            };
            // Dev accuracy is the dose's first measure.
            let Some(dev) = level.measures.first().and_then(|m| m.summary) else {
                continue;
            };
            let ci = level.measures.first().and_then(|m| m.ci.clone());
            let columns = COLUMNS.iter().filter(|c| {
                c.task == dose.task && c.metric == Metric::Accuracy && c.dev_split == dose.split
            });
            for column in columns {
                let paper = paper_value(published, *column, Model::BilstmSoft);
                self.settings.push(SettingRow {
                    column: *column,
                    folder: dose.name.clone(),
                    variant: level.model.clone(),
                    n_iter,
                    paper,
                    dev,
                    ci: ci.clone(),
                    commands: level
                        .runs
                        .iter()
                        .map(|(config, rev)| command_for(dose.task, config, rev))
                        .collect(),
                });
            }
        }
    }
}

/// The paper's value of `model` in `column`, with its source.
fn paper_value(published: &Published, column: Column, model: Model) -> Option<(f64, String)> {
    published
        .table1(
            column.task,
            PaperModel::of(model),
            column.paper_split,
            column.metric,
        )
        .map(|r| (r.value, r.source.clone()))
}

/// The row of `model` in `column`: the paper's value, ours on dev and test, and our commands.
fn row(results: &Results, published: &Published, model: Model, column: Column) -> Table1Row {
    let task_rows = results.metrics_of(column.task);
    let paper = paper_value(published, column, model);
    let mut commands = BTreeSet::new();
    for split in [column.dev_split, column.test_split] {
        for r in select(task_rows.unwrap_or(&[]), model.id(), split, column.metric) {
            commands.insert(command_for(r.task, &r.config, &r.git_rev));
        }
    }
    Table1Row {
        column,
        model,
        paper,
        dev: ours_of(task_rows, model, column.dev_split, column.metric),
        test: ours_of(task_rows, model, column.test_split, column.metric),
        commands: commands.into_iter().collect(),
    }
}

/// `task`'s results that no column covers, one per (model, split, metric), in that order.
fn extras_of(task: Task, task_rows: &[MetricRow]) -> Vec<ExtraRow> {
    let keys: BTreeSet<(ModelName, Split, Metric)> = task_rows
        .iter()
        .map(|r| (r.model.clone(), r.split, r.metric))
        .collect();
    let mut extras = Vec::new();
    for (model, split, metric) in keys {
        // A variant outside the paper's three roles is never in a column: list it here.
        let covered = model.role().is_some()
            && COLUMNS.iter().any(|c| {
                c.task == task
                    && c.metric == metric
                    && (c.dev_split == split || c.test_split == split)
            });
        if covered {
            continue;
        }
        let values: Vec<f64> = select(task_rows, model.as_str(), split, metric)
            .iter()
            .map(|r| r.value)
            .collect();
        if let Some(ours) = Summary::of(&values) {
            extras.push(ExtraRow {
                task,
                model,
                split,
                metric,
                ours,
            });
        }
    }
    extras
}

fn model_cell(model: Model) -> &'static str {
    match model {
        Model::Teacher => "Teacher (paper: BERT-large; ours: MiniLM-L6)",
        Model::Bilstm => "BiLSTM (hard labels)",
        Model::BilstmSoft => "BiLSTM_SOFT (distilled)",
    }
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "—".into())
}

const MARKDOWN_COLUMNS: [(&str, Align); 7] = [
    ("Model", Align::Left),
    ("Task / metric", Align::Left),
    ("Paper (test)", Align::Right),
    ("Ours (dev)", Align::Right),
    ("Δ dev − paper", Align::Right),
    ("Ours (test)", Align::Right),
    ("Δ test − paper", Align::Right),
];

const EXTRA_COLUMNS: [(&str, Align); 5] = [
    ("Task", Align::Left),
    ("Model", Align::Left),
    ("Split", Align::Left),
    ("Metric", Align::Left),
    ("Ours", Align::Right),
];

const CSV_COLUMNS: [&str; 19] = [
    "task",
    "metric",
    "model",
    "paper_model",
    "paper_split",
    "paper_value",
    "dev_split",
    "dev_mean",
    "dev_sd",
    "dev_n",
    "dev_diff",
    "test_split",
    "test_mean",
    "test_sd",
    "test_n",
    "test_diff",
    "status",
    "command",
    "source",
];

impl Table1 {
    /// The markdown table with its notes.
    pub fn to_markdown(&self) -> String {
        let mut s = String::from("# Table 1: paper (GLUE test) vs ours\n\n");
        s.push_str(&markdown_head(&MARKDOWN_COLUMNS));
        for r in &self.rows {
            s.push_str(&markdown_row(&markdown_cells(r)));
            if r.model == Model::BilstmSoft {
                for set in self.settings.iter().filter(|x| x.column == r.column) {
                    s.push_str(&markdown_row(&setting_cells(set)));
                }
            }
        }
        s.push_str(&notes());
        s.push_str(&self.settings_notes());
        s.push_str(&self.commands_markdown());
        s.push_str(&self.extras_markdown());
        s
    }

    /// "Produced by:" and every command behind the rows, once each; empty when none ran.
    fn commands_markdown(&self) -> String {
        let mut commands: BTreeSet<&str> = BTreeSet::new();
        for r in &self.rows {
            commands.extend(r.commands.iter().map(String::as_str));
        }
        for r in &self.settings {
            commands.extend(r.commands.iter().map(String::as_str));
        }
        let mut s = String::new();
        if !commands.is_empty() {
            s.push_str("\nProduced by:\n\n");
            for c in commands {
                s.push_str(&format!("- `{c}`\n"));
            }
        }
        s
    }

    /// The table of results outside the paper's columns; empty when there are none.
    fn extras_markdown(&self) -> String {
        let mut s = String::new();
        if !self.extras.is_empty() {
            s.push_str("\n## Our other results (no paper number)\n\n");
            s.push_str(&markdown_head(&EXTRA_COLUMNS));
            for e in &self.extras {
                s.push_str(&markdown_row(&[
                    e.task.display(),
                    e.model.display(),
                    e.split.id(),
                    e.metric.display(),
                    &e.ours.format(),
                ]));
            }
        }
        s
    }

    /// One note per paper-setting row: where it comes from, how it was trained, its CI.
    fn settings_notes(&self) -> String {
        let mut s = String::new();
        for r in &self.settings {
            let ci = r.ci.as_ref().map_or(String::new(), |c| {
                format!("; 95% CI of its mean [{:.2}, {:.2}]", c.low, c.high)
            });
            s.push_str(&format!(
                "- {}: BiLSTM_SOFT (the teacher's logits, MSE, α = 0) on a transfer set of the \
                 paper's size (n_iter {}; the default run's BiLSTM_SOFT uses 6): the `{}` level of \
                 the augmentation dose in `{}`, each seed trained to its best dev epoch{ci}. The \
                 commands that trained its students are in that folder's `run.json`.\n",
                setting_label(r),
                r.n_iter,
                r.variant,
                r.folder,
            ));
        }
        s
    }

    /// The tidy CSV: one row per table row, then the paper-setting rows and the extras.
    pub fn to_csv(&self) -> String {
        let rows = self.rows.iter().map(csv_record);
        let settings = self.settings.iter().map(setting_csv_record);
        let extras = self.extras.iter().map(extra_csv_record);
        csv_string(&CSV_COLUMNS, rows.chain(settings).chain(extras))
    }
}

/// One row's markdown cells, in [`MARKDOWN_COLUMNS`] order.
fn markdown_cells(r: &Table1Row) -> [String; 7] {
    let test = match &r.test {
        Ours::Ran(sm) => sm.format(),
        // Test labels are not public: no test result is the normal case, not news.
        Ours::NotRun(_) => "—".into(),
    };
    [
        model_cell(r.model).to_string(),
        r.column.label.to_string(),
        opt(r.paper.as_ref().map(|(v, _)| format!("{v:.1}"))),
        r.dev.format(),
        opt(r.dev_diff().map(format_diff)),
        test,
        opt(r.test_diff().map(format_diff)),
    ]
}

/// A paper-setting row's model cell.
fn setting_label(r: &SettingRow) -> String {
    format!("BiLSTM_SOFT at the paper's n_iter {} (`{}`)", r.n_iter, r.variant)
}

/// A paper-setting row's markdown cells, in [`MARKDOWN_COLUMNS`] order.
fn setting_cells(r: &SettingRow) -> [String; 7] {
    [
        setting_label(r),
        r.column.label.to_string(),
        opt(r.paper.as_ref().map(|(v, _)| format!("{v:.1}"))),
        r.dev.format(),
        opt(r.dev_diff().map(format_diff)),
        "—".into(),
        "—".into(),
    ]
}

/// A paper-setting row's CSV record: the variant as the model, BiLSTM_SOFT as the paper's.
fn setting_csv_record(r: &SettingRow) -> [String; 19] {
    let none = String::new;
    [
        r.column.task.id().to_string(),
        r.column.metric.id().to_string(),
        r.variant.to_string(),
        PaperModel::of(Model::BilstmSoft).display().to_string(),
        r.column.paper_split.id().to_string(),
        fixed(r.paper.as_ref().map(|p| p.0), 4),
        r.column.dev_split.id().to_string(),
        fixed(Some(r.dev.mean), 4),
        fixed(r.dev.sd, 4),
        r.dev.n.to_string(),
        fixed(r.dev_diff(), 4),
        none(),
        none(),
        none(),
        none(),
        none(),
        format!("paper setting: n_iter {} ({})", r.n_iter, r.folder),
        r.commands.join("; "),
        r.paper.as_ref().map(|p| p.1.clone()).unwrap_or_default(),
    ]
}

/// The notes under the table: units, splits, teachers, where the rest of the paper's table is.
fn notes() -> String {
    let mut s = String::from(
        "\nNotes:\n\n\
         - Values are percent. Ours: mean ± sample sd over seeds (n runs); Δ = our mean − paper.\n\
         - The paper reports GLUE **test** scores; ours are on **dev** (SST-2 and QQP dev, MNLI \
         dev-matched/mismatched). SST-2 test labels are not public, so an SST-2 comparison is \
         our dev against their test. A test column is filled only where we have test labels.\n\
         - Teacher: the paper's is BERT-large (335M parameters); ours is all-MiniLM-L6-v2 \
         (22.7M) fine-tuned on the task.\n",
    );
    s.push_str(&format!(
        "- Table 1's other rows (BERT-base, OpenAI GPT, the ELMo baselines, GLUE's BiLSTM) \
         are not transcribed here; see Tang et al. 2019, Table 1: {PAPER_URL}.\n"
    ));
    s
}

/// One table row's CSV record, in [`CSV_COLUMNS`] order.
fn csv_record(r: &Table1Row) -> [String; 19] {
    let (dev, test) = (r.dev.summary(), r.test.summary());
    let status = match (&r.dev, &r.test) {
        (Ours::NotRun(why), Ours::NotRun(_)) => (*why).to_string(),
        _ => "ran".into(),
    };
    [
        r.column.task.id().to_string(),
        r.column.metric.id().to_string(),
        r.model.id().to_string(),
        PaperModel::of(r.model).display().to_string(),
        r.column.paper_split.id().to_string(),
        fixed(r.paper.as_ref().map(|p| p.0), 4),
        r.column.dev_split.id().to_string(),
        fixed(dev.map(|s| s.mean), 4),
        fixed(dev.and_then(|s| s.sd), 4),
        dev.map(|s| s.n.to_string()).unwrap_or_default(),
        fixed(r.dev_diff(), 4),
        r.column.test_split.id().to_string(),
        fixed(test.map(|s| s.mean), 4),
        fixed(test.and_then(|s| s.sd), 4),
        test.map(|s| s.n.to_string()).unwrap_or_default(),
        fixed(r.test_diff(), 4),
        status,
        r.commands.join("; "),
        r.paper.as_ref().map(|p| p.1.clone()).unwrap_or_default(),
    ]
}

/// An extra's CSV record: task, metric, model, dev split and summary; no paper columns.
fn extra_csv_record(e: &ExtraRow) -> [String; 19] {
    let none = String::new;
    [
        e.task.id().to_string(),
        e.metric.id().to_string(),
        e.model.to_string(),
        none(),
        none(),
        none(),
        e.split.id().to_string(),
        fixed(Some(e.ours.mean), 4),
        fixed(e.ours.sd, 4),
        e.ours.n.to_string(),
        none(),
        none(),
        none(),
        none(),
        none(),
        none(),
        "extra: no paper number".into(),
        none(),
        none(),
    ]
}
