//! Typed names: the models a run evaluates (`teacher` and the student variants of the config)
//! and the tasks' short names used in paths and result rows.

use kd_core::data::Task;

/// The name of an evaluated model: `teacher`, or a student variant's name from the config
/// (`bilstm`, `bilstm_soft`, `kd_no_aug`, ...), always `[a-z][a-z0-9_]*`. The result schema's type.
pub use reports::schema::ModelName;

/// Short task name used in paths and result rows (`sst2`, `qqp`, `mnli`).
pub fn task_slug(task: Task) -> &'static str {
    task.id()
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
    fn class_names_match_the_class_counts() {
        for task in Task::ALL {
            assert_eq!(task.class_names().len(), task.num_classes());
            assert_eq!(task.label_names().len(), task.num_classes());
        }
        // Index order is the loaders' (MNLI: contradiction, entailment, neutral).
        assert_eq!(Task::Mnli.class_names(), Task::Mnli.label_names());
    }
}
