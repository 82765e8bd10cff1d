//! The vocabularies of the result CSVs: tasks, models, splits and metrics (Tang et al. 2019,
//! Section 4: SST-2, QQP and MNLI; the teacher, the hard-label BiLSTM and the distilled
//! BiLSTM_SOFT). An unknown name in a CSV is a parse error, never a silently ignored row.

use serde::Deserialize;
use std::fmt;

/// A GLUE task of the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
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

/// One of our models (the `model` column of our CSVs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
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

/// An evaluation metric; values are in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Accuracy, percent.
    Accuracy,
    /// F1 of the positive class, percent (QQP).
    F1,
}

impl Metric {
    /// The CSV name.
    pub fn id(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::F1 => "f1",
        }
    }
    /// The short display name (`acc`, `F1`).
    pub fn display(self) -> &'static str {
        match self {
            Metric::Accuracy => "acc",
            Metric::F1 => "F1",
        }
    }
}
