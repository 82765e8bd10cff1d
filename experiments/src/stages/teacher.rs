//! Stage 1: fine-tune the teacher on the task's training set, selecting on the first dev split
//! (resuming an interrupted fine-tune).

use super::{earlier_epochs_seconds, secs, TrainSummary};
use crate::data::TaskData;
use crate::log::RunLog;
use crate::logln;
use crate::store::Stage;
use anyhow::Result;
use bert_teacher::FineTuneConfig;
use std::path::Path;
use std::time::Instant;

/// Which teacher a fine-tune stage makes.
pub struct Who<'a> {
    /// Its name (`teacher`, `teacher_<...>`), for the log.
    pub name: &'a str,
    /// The pre-trained checkpoint it starts from.
    pub init: &'a Path,
    /// Its settings (seed included).
    pub fine_tune: &'a FineTuneConfig,
    /// The task's classes.
    pub classes: usize,
}

/// Fine-tunes (or returns the cached) teacher `who` in `stage`.
pub fn run(
    stage: &Stage,
    who: &Who,
    data: &TaskData,
    device: tch::Device,
    log: &RunLog,
) -> Result<TrainSummary> {
    let name = who.name;
    let _lock = stage.lock(|m| logln!(log, "{name}: {m}"))?;
    if let Some(done) = stage.done::<TrainSummary>()? {
        logln!(
            log,
            "{name}: cached in {} (dev acc {:.2})",
            stage.dir.display(),
            100.0 * done.best_dev_accuracy
        );
        return Ok(done);
    }
    logln!(
        log,
        "{name}: fine-tuning {} on {} examples -> {}",
        who.init.display(),
        data.train.len(),
        stage.dir.display()
    );
    let t = Instant::now();
    let out = bert_teacher::fine_tune_on(
        device,
        who.init,
        &data.train,
        &data.selection_dev().examples,
        who.classes,
        who.fine_tune,
        &stage.dir,
    )?;
    // A resumed stage's wall time counts the epochs earlier calls finished.
    let seconds = secs(t) + earlier_epochs_seconds(&out.history, out.resumed_epochs);
    let summary = TrainSummary {
        best_epoch: out.best_epoch,
        best_dev_accuracy: out.best_dev_accuracy,
        history: out.history,
        seconds,
        train_examples: data.train.len(),
    };
    stage.finish(&summary, device)?;
    logln!(
        log,
        "{name}: best dev acc {:.2} at epoch {} ({:.0} s)",
        100.0 * summary.best_dev_accuracy,
        summary.best_epoch,
        summary.seconds
    );
    Ok(summary)
}
