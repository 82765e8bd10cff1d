//! Stage 1: fine-tune the teacher on the task's training set, selecting on the first dev split
//! (resuming an interrupted fine-tune).

use super::{secs, TrainSummary};
use crate::config::ExperimentConfig;
use crate::data::TaskData;
use crate::log::RunLog;
use crate::logln;
use crate::store::Stage;
use anyhow::Result;
use std::time::Instant;

/// Fine-tunes (or returns the cached) teacher in `stage`.
pub fn run(
    stage: &Stage,
    cfg: &ExperimentConfig,
    data: &TaskData,
    device: tch::Device,
    log: &RunLog,
) -> Result<TrainSummary> {
    let _lock = stage.lock(|m| logln!(log, "teacher: {m}"))?;
    if let Some(done) = stage.done::<TrainSummary>()? {
        logln!(
            log,
            "teacher: cached in {} (dev acc {:.2})",
            stage.dir.display(),
            100.0 * done.best_dev_accuracy
        );
        return Ok(done);
    }
    logln!(
        log,
        "teacher: fine-tuning {} on {} examples -> {}",
        cfg.paths.teacher_init.display(),
        data.train.len(),
        stage.dir.display()
    );
    let t = Instant::now();
    let out = bert_teacher::fine_tune_on(
        device,
        &cfg.paths.teacher_init,
        &data.train,
        &data.selection_dev().examples,
        cfg.task.num_classes(),
        &cfg.teacher.fine_tune,
        &stage.dir,
    )?;
    let summary = TrainSummary {
        best_epoch: out.best_epoch,
        best_dev_accuracy: out.best_dev_accuracy,
        history: out.history,
        seconds: secs(t),
        train_examples: data.train.len(),
    };
    stage.finish(&summary, device)?;
    logln!(
        log,
        "teacher: best dev acc {:.2} at epoch {} ({:.0} s)",
        100.0 * summary.best_dev_accuracy,
        summary.best_epoch,
        summary.seconds
    );
    Ok(summary)
}
