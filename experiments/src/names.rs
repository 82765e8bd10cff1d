//! Typed names: the models a run evaluates (`teacher` and the student variants of the config)
//! and the tasks' short names used in paths and result rows.

use anyhow::{bail, Result};
use kd_core::data::Task;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The name of an evaluated model: `teacher`, or a student variant's name from the config
/// (`bilstm`, `bilstm_soft`, `kd_no_aug`, ...). Always `[a-z][a-z0-9_]*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModelName(String);

impl ModelName {
    /// The fine-tuned teacher.
    pub const TEACHER: &'static str = "teacher";

    /// Checks `name` against `[a-z][a-z0-9_]*`.
    pub fn new(name: &str) -> Result<Self> {
        let mut chars = name.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            bail!("model name {name:?} must match [a-z][a-z0-9_]*");
        }
        Ok(Self(name.to_string()))
    }

    /// The teacher's name.
    pub fn teacher() -> Self {
        Self(Self::TEACHER.into())
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ModelName {
    type Error = anyhow::Error;
    fn try_from(s: String) -> Result<Self> {
        Self::new(&s)
    }
}

impl From<ModelName> for String {
    fn from(n: ModelName) -> String {
        n.0
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Short task name used in paths and result rows (`sst2`, `qqp`, `mnli`).
pub fn task_slug(task: Task) -> &'static str {
    match task {
        Task::Sst2 => "sst2",
        Task::Qqp => "qqp",
        Task::Mnli => "mnli",
    }
}

/// The names of the task's classes, in label-index order (GLUE's conventions).
pub fn label_names(task: Task) -> &'static [&'static str] {
    match task {
        Task::Sst2 => &["negative", "positive"],
        Task::Qqp => &["not_duplicate", "duplicate"],
        Task::Mnli => &["entailment", "neutral", "contradiction"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_are_checked() {
        for ok in ["teacher", "bilstm_soft", "t2", "kd_no_aug"] {
            assert_eq!(ModelName::new(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "BiLSTM", "2t", "soft-ce", "a b", "_x"] {
            assert!(ModelName::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn label_names_match_the_class_counts() {
        for task in [Task::Sst2, Task::Qqp, Task::Mnli] {
            assert_eq!(label_names(task).len(), task.num_classes());
        }
    }
}
