//! Typed names: the models a run evaluates (`teacher` and the student variants of the config)
//! and the tasks' short names used in paths and result rows.

use kd_core::data::Task;

/// The name of an evaluated model: `teacher`, or a student variant's name from the config
/// (`bilstm`, `bilstm_soft`, `kd_no_aug`, ...), always `[a-z][a-z0-9_]*`. The result schema's type.
pub use reports::schema::ModelName;

/// The result schema's task for a task of the loaders.
pub fn schema_task(task: Task) -> reports::schema::Task {
    match task {
        Task::Sst2 => reports::schema::Task::Sst2,
        Task::Qqp => reports::schema::Task::Qqp,
        Task::Mnli => reports::schema::Task::Mnli,
    }
}

/// Short task name used in paths and result rows (`sst2`, `qqp`, `mnli`).
pub fn task_slug(task: Task) -> &'static str {
    schema_task(task).id()
}

/// Readable names of the task's classes, in the loaders' label-index order.
pub fn label_names(task: Task) -> &'static [&'static str] {
    schema_task(task).label_names()
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
        // Index order is the loaders' (MNLI: contradiction, entailment, neutral).
        assert_eq!(label_names(Task::Mnli), Task::Mnli.label_names());
    }
}
