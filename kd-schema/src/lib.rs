//! # kd-schema
//!
//! The names every crate of the workspace shares, with no libtorch: the GLUE tasks (Tang et al.
//! 2019, Section 4: SST-2, QQP and MNLI — their GLUE names, label spellings, class counts), and
//! the vocabularies of the result CSVs: models (the teacher, the hard-label BiLSTM, the distilled
//! BiLSTM_SOFT and any named student variant of an ablation grid), splits, metrics and the
//! variant fields. An unknown task, split or metric, or a model name outside `[a-z][a-z0-9_]*`,
//! is a parse error, never a silently ignored row. This is the one place the workspace spells
//! task names (`sst2`, `SST-2`): `kd-core` loads data with [`Task`], `experiments` writes its
//! result files through these types, and `reports` reads them back (as `reports::schema`).

use serde::{Deserialize, Serialize};
use std::fmt;

mod file_error;
pub use file_error::FileError;

/// A GLUE task of the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Stanford Sentiment Treebank, binary.
    Sst2,
    /// Quora Question Pairs.
    Qqp,
    /// Multi-genre NLI.
    Mnli,
}

impl Task {
    /// All tasks in the paper's column order.
    pub const ALL: [Task; 3] = [Task::Sst2, Task::Qqp, Task::Mnli];

    /// The directory and CSV name (`sst2`).
    pub fn id(self) -> &'static str {
        match self {
            Task::Sst2 => "sst2",
            Task::Qqp => "qqp",
            Task::Mnli => "mnli",
        }
    }

    /// The short name used in paths and result rows (`sst2`); the same as [`Task::id`].
    pub fn as_str(self) -> &'static str {
        self.id()
    }

    /// The task named `name` (`sst2`, `qqp`, `mnli`).
    pub fn from_name(name: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.id() == name)
    }

    /// GLUE's name of the task (`SST-2`, `QQP`, `MNLI`), as in GLUE's folder names.
    pub fn glue_name(self) -> &'static str {
        self.display()
    }

    /// Label names in class-index order, as GLUE's files spell them (`0`/`1`; MNLI's words):
    /// what the loaders parse and the submission files write.
    pub fn label_names(self) -> &'static [&'static str] {
        match self {
            Task::Sst2 | Task::Qqp => &["0", "1"],
            Task::Mnli => &["contradiction", "entailment", "neutral"],
        }
    }

    /// Readable names of the classes, in the same index order as [`Task::label_names`].
    pub fn class_names(self) -> &'static [&'static str] {
        match self {
            Task::Sst2 => &["negative", "positive"],
            Task::Qqp => &["not_duplicate", "duplicate"],
            Task::Mnli => &["contradiction", "entailment", "neutral"],
        }
    }

    /// Whether examples are sentence pairs (QQP, MNLI).
    pub fn is_pair(self) -> bool {
        !matches!(self, Task::Sst2)
    }

    /// Number of classes.
    pub fn num_classes(self) -> usize {
        self.label_names().len()
    }

    /// The dev split the task's models are selected and compared on (`dev`; MNLI: matched).
    pub fn primary_dev_split(self) -> Split {
        match self {
            Task::Mnli => Split::DevMatched,
            Task::Sst2 | Task::Qqp => Split::Dev,
        }
    }

    /// The paper's display name (`SST-2`).
    pub fn display(self) -> &'static str {
        match self {
            Task::Sst2 => "SST-2",
            Task::Qqp => "QQP",
            Task::Mnli => "MNLI",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The name in the `model` column of our CSVs: `teacher` or a teacher variant `teacher_<...>`,
/// or a student variant's name from the experiment's config (`bilstm`, `bilstm_soft`,
/// `kd_no_aug`, ...). Always `[a-z][a-z0-9_]*`, checked on construction and when read from a CSV.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModelName(String);

impl ModelName {
    /// Checks `name` against `[a-z][a-z0-9_]*`; the error quotes the name in backticks.
    pub fn new(name: &str) -> std::result::Result<ModelName, String> {
        let mut chars = name.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(ModelName(name.to_string()))
        } else {
            Err(format!(
                "`{name}` is not a model name (expected [a-z][a-z0-9_]*)"
            ))
        }
    }

    /// The teacher's name, `teacher`.
    pub fn teacher() -> ModelName {
        Model::Teacher.name()
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The paper's role this name stands for (`teacher`, `bilstm`, `bilstm_soft`), if any.
    pub fn role(&self) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.id() == self.0)
    }

    /// The display name: the paper's (`BiLSTM_SOFT`) for its three roles, else the name itself.
    pub fn display(&self) -> &str {
        match self.role() {
            Some(m) => m.display(),
            None => self.as_str(),
        }
    }

    /// Whether this is a teacher: `teacher` (the config's `teacher` block) or a named teacher
    /// variant, `teacher_<...>`.
    pub fn is_teacher(&self) -> bool {
        self.0 == Model::Teacher.id() || self.0.starts_with("teacher_")
    }
}

impl TryFrom<String> for ModelName {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<ModelName, String> {
        ModelName::new(&s)
    }
}

impl std::str::FromStr for ModelName {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<ModelName, String> {
        ModelName::new(s)
    }
}

impl From<ModelName> for String {
    fn from(n: ModelName) -> String {
        n.0
    }
}

impl From<Model> for ModelName {
    fn from(m: Model) -> ModelName {
        m.name()
    }
}

impl PartialEq<Model> for ModelName {
    fn eq(&self, other: &Model) -> bool {
        self.0 == other.id()
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The file name of a model's GLUE test submission for one seed:
/// `<GLUE name>.<model>.seed<N>.tsv` (`SST-2.bilstm_soft.seed0.tsv`; MNLI's `glue_name` is
/// `MNLI-m` / `MNLI-mm`). Runs before seeds were named wrote `<GLUE name>.<model>.tsv`.
pub fn submission_file_name(glue_name: &str, model: &ModelName, seed: u64) -> String {
    format!("{glue_name}.{model}.seed{seed}.tsv")
}

/// One of the paper's three roles: the teacher, the hard-label BiLSTM and the distilled
/// BiLSTM_SOFT (Table 1's rows). Result rows carry a [`ModelName`]; the names `teacher`,
/// `bilstm` and `bilstm_soft` are these roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// The fine-tuned teacher (ours: MiniLM-L6; the paper's: BERT-large).
    Teacher,
    /// The BiLSTM trained on hard labels only.
    Bilstm,
    /// The BiLSTM distilled from the teacher's logits.
    BilstmSoft,
}

impl Model {
    /// All models in the paper's row order.
    pub const ALL: [Model; 3] = [Model::Teacher, Model::Bilstm, Model::BilstmSoft];

    /// The CSV name (`bilstm_soft`).
    pub fn id(self) -> &'static str {
        match self {
            Model::Teacher => "teacher",
            Model::Bilstm => "bilstm",
            Model::BilstmSoft => "bilstm_soft",
        }
    }

    /// The role's name in the `model` column.
    pub fn name(self) -> ModelName {
        ModelName(self.id().to_string())
    }

    /// A display name that says which teacher is whose.
    pub fn display(self) -> &'static str {
        match self {
            Model::Teacher => "Teacher",
            Model::Bilstm => "BiLSTM",
            Model::BilstmSoft => "BiLSTM_SOFT",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A model named in the paper's tables (`published.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaperModel {
    /// BERT-large, the paper's teacher. Written `teacher` in `published.csv` (the role, as in
    /// our CSVs, so the two join on `model`); `bert_large` is accepted too.
    #[serde(rename = "teacher", alias = "bert_large")]
    BertLarge,
    /// ELMo (Table 2 only).
    Elmo,
    /// The paper's BiLSTM trained on hard labels.
    Bilstm,
    /// The paper's distilled BiLSTM.
    BilstmSoft,
}

impl PaperModel {
    /// Our model in the same role, if any.
    pub fn ours(self) -> Option<Model> {
        match self {
            PaperModel::BertLarge => Some(Model::Teacher),
            PaperModel::Elmo => None,
            PaperModel::Bilstm => Some(Model::Bilstm),
            PaperModel::BilstmSoft => Some(Model::BilstmSoft),
        }
    }

    /// The paper's model in `model`'s role.
    pub fn of(model: Model) -> PaperModel {
        match model {
            Model::Teacher => PaperModel::BertLarge,
            Model::Bilstm => PaperModel::Bilstm,
            Model::BilstmSoft => PaperModel::BilstmSoft,
        }
    }

    /// The paper's display name.
    pub fn display(self) -> &'static str {
        match self {
            PaperModel::BertLarge => "BERT-large",
            PaperModel::Elmo => "ELMo",
            PaperModel::Bilstm => "BiLSTM",
            PaperModel::BilstmSoft => "BiLSTM_SOFT",
        }
    }
}

/// An evaluation split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The training set (Table 2's timing runs over SST-2 train).
    Train,
    /// Development set (SST-2, QQP).
    Dev,
    /// MNLI matched development set.
    DevMatched,
    /// MNLI mismatched development set.
    DevMismatched,
    /// Test set (SST-2, QQP; labels held by the GLUE server).
    Test,
    /// MNLI matched test set.
    TestMatched,
    /// MNLI mismatched test set.
    TestMismatched,
}

impl Split {
    /// Every split, in file order.
    pub const ALL: [Split; 7] = [
        Split::Train,
        Split::Dev,
        Split::DevMatched,
        Split::DevMismatched,
        Split::Test,
        Split::TestMatched,
        Split::TestMismatched,
    ];

    /// The split spelled `name` (`dev`, `dev_matched`, ...), if there is one.
    pub fn from_name(name: &str) -> Option<Split> {
        Split::ALL.into_iter().find(|s| s.id() == name)
    }

    /// The CSV name.
    pub fn id(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Dev => "dev",
            Split::DevMatched => "dev_matched",
            Split::DevMismatched => "dev_mismatched",
            Split::Test => "test",
            Split::TestMatched => "test_matched",
            Split::TestMismatched => "test_mismatched",
        }
    }
}

/// An evaluation metric; values are in percent, but for [`Metric::TeacherLogitMse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Accuracy, percent.
    Accuracy,
    /// F1 of the positive class, percent (QQP).
    F1,
    /// Fidelity: the share of examples on which a student's prediction (argmax) equals its
    /// teacher's, percent. Needs no label, so it is measured on the test splits too.
    TeacherAgreement,
    /// Fidelity: the mean over examples of ‖z^B − z^S‖² between the teacher's and the student's
    /// logits (summed over classes: the paper's distillation loss). Not a percentage.
    TeacherLogitMse,
}

impl Metric {
    /// The CSV name.
    pub fn id(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::F1 => "f1",
            Metric::TeacherAgreement => "teacher_agreement",
            Metric::TeacherLogitMse => "teacher_logit_mse",
        }
    }
    /// The short display name (`acc`, `F1`, `agree`, `MSE`).
    pub fn display(self) -> &'static str {
        match self {
            Metric::Accuracy => "acc",
            Metric::F1 => "F1",
            Metric::TeacherAgreement => "agree",
            Metric::TeacherLogitMse => "MSE",
        }
    }
    /// Whether values are percentages (all but the logit MSE).
    pub fn is_percent(self) -> bool {
        self != Metric::TeacherLogitMse
    }
}

/// Which examples a student variant trains on (`variants.csv`'s `data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The task's training set.
    Train,
    /// The augmented transfer set (Section 3.2).
    Transfer,
}

/// What a student variant is trained to predict (`variants.csv`'s `targets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Targets {
    /// The gold labels of the training set.
    Gold,
    /// Each augmented copy inherits its source sentence's gold label (no teacher).
    Inherited,
    /// The teacher's argmax (hard decisions).
    TeacherArgmax,
    /// The teacher's logits z^B.
    TeacherLogits,
}

/// A student variant's objective (`variants.csv`'s `objective`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Cross-entropy on hard labels only.
    Hard,
    /// α·CE + (1 − α)·soft term.
    Distill,
}

/// The soft term of a distilling variant (`variants.csv`'s `soft`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoftKind {
    /// No soft term (objective `hard`).
    None,
    /// The paper's ‖z^B − z^S‖², summed over classes.
    Mse,
    /// PyTorch's `MSELoss()`, mean over all elements.
    MseElementwise,
    /// Hinton's T²-scaled soft cross-entropy.
    SoftCe,
    /// T²-scaled KL divergence.
    Kl,
}

impl DataSource {
    /// The CSV name.
    pub fn id(self) -> &'static str {
        match self {
            DataSource::Train => "train",
            DataSource::Transfer => "transfer",
        }
    }
}

impl Targets {
    /// Whether these targets come from the teacher (its logits or its decisions).
    pub fn needs_teacher(self) -> bool {
        matches!(self, Targets::TeacherArgmax | Targets::TeacherLogits)
    }

    /// The CSV name.
    pub fn id(self) -> &'static str {
        match self {
            Targets::Gold => "gold",
            Targets::Inherited => "inherited",
            Targets::TeacherArgmax => "teacher_argmax",
            Targets::TeacherLogits => "teacher_logits",
        }
    }
}

impl Objective {
    /// The CSV name.
    pub fn id(self) -> &'static str {
        match self {
            Objective::Hard => "hard",
            Objective::Distill => "distill",
        }
    }
}

impl SoftKind {
    /// The CSV name.
    pub fn id(self) -> &'static str {
        match self {
            SoftKind::None => "none",
            SoftKind::Mse => "mse",
            SoftKind::MseElementwise => "mse_elementwise",
            SoftKind::SoftCe => "soft_ce",
            SoftKind::Kl => "kl",
        }
    }
}
