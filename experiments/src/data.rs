//! The task's splits as a run reads them (the config's limits applied), with the content digest
//! of each file for the stage keys.

use crate::config::ExperimentConfig;
use crate::store::file_digest;
use anyhow::{bail, Result};
use kd_core::data::{load_split, task_files, Example, SplitFile, Task};
use std::path::Path;

/// One evaluated split: its examples and where they came from.
pub struct Split {
    /// The file and split name.
    pub file: SplitFile,
    /// Its examples (after the config's limits).
    pub examples: Vec<Example>,
    /// Content digest of the file.
    pub digest: String,
}

/// Everything a run reads: the task's splits.
pub struct TaskData {
    /// Training examples.
    pub train: Vec<Example>,
    /// Content digest of the training file.
    pub train_digest: String,
    /// Labelled dev splits (the first one selects checkpoints).
    pub dev: Vec<Split>,
    /// Unlabelled test splits (predictions become GLUE submissions).
    pub test: Vec<Split>,
}

impl TaskData {
    /// The split that selects checkpoints (teacher and students).
    pub fn selection_dev(&self) -> &Split {
        &self.dev[0]
    }
}

/// Reads the task's splits, applying the config's limits.
pub fn load_task_data(task: Task, dir: &Path, cfg: &ExperimentConfig) -> Result<TaskData> {
    let files = task_files(task, dir);
    let take = |mut v: Vec<Example>, n: Option<usize>| {
        if let Some(n) = n {
            v.truncate(n);
        }
        v
    };
    let train = take(load_split(task, &files.train)?, cfg.data.max_train);
    if train.is_empty() {
        bail!("{}: no training examples", files.train.display());
    }
    let train_digest = file_digest(&files.train)?;
    let read = |file: SplitFile, max: Option<usize>| -> Result<Split> {
        if !file.path.is_file() {
            bail!(
                "{}: {} split '{}' not found",
                file.path.display(),
                if file.labelled { "dev" } else { "test" },
                file.name
            );
        }
        let digest = file_digest(&file.path)?;
        let examples = take(load_split(task, &file.path)?, max);
        Ok(Split {
            file,
            examples,
            digest,
        })
    };
    let dev = files
        .dev
        .into_iter()
        .map(|f| read(f, cfg.data.max_dev))
        .collect::<Result<Vec<_>>>()?;
    if dev.is_empty() {
        bail!("{}: no dev split for {:?}", dir.display(), task);
    }
    let test = files
        .test
        .into_iter()
        .map(|f| read(f, cfg.data.max_test))
        .collect::<Result<Vec<_>>>()?;
    Ok(TaskData {
        train,
        train_digest,
        dev,
        test,
    })
}
