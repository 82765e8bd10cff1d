//! Stage 3: the teacher's logits on every transfer example (resumable by chunk), written with
//! the examples as `transfer.tsv` in the stage dir.

use super::{secs, LabelsSummary};
use crate::log::RunLog;
use crate::logln;
use crate::store::Stage;
use anyhow::{bail, Context, Result};
use kd_core::augment::{read_transfer_set, write_transfer_set, TransferExample};
use kd_core::data::Example;
use std::time::Instant;

/// The labelled transfer set: examples and row-major logits.
pub struct Labelled {
    /// The transfer examples, in order (originals first per example, as built).
    pub examples: Vec<TransferExample>,
    /// Row-major `[examples.len(), classes]` teacher logits.
    pub logits: Vec<f32>,
    /// Number of classes.
    pub classes: usize,
}

/// Labels (or finds the cached labels of) `transfer_stage`'s set in `stage`.
pub fn run(
    stage: &Stage,
    transfer_stage: &Stage,
    teacher: &bert_teacher::Teacher,
    batch_size: usize,
    chunk_size: usize,
    device: tch::Device,
    log: &RunLog,
) -> Result<LabelsSummary> {
    let _lock = stage.lock(|m| logln!(log, "labels: {m}"))?;
    if let Some(done) = stage.done::<LabelsSummary>()? {
        logln!(log, "labels: cached ({} examples)", done.examples);
        return Ok(done);
    }
    let (transfer, _) = read_transfer_set(&transfer_stage.dir.join("transfer.tsv"))?;
    logln!(
        log,
        "labels: teacher logits for {} examples",
        transfer.len()
    );
    let t = Instant::now();
    let examples: Vec<Example> = transfer
        .iter()
        .map(|t| Example {
            text_a: t.text_a.clone(),
            text_b: t.text_b.clone(),
            label: t.label,
            index: None,
        })
        .collect();
    let logits = bert_teacher::label_resumable(
        teacher,
        &examples,
        batch_size,
        &stage.dir.join("chunks"),
        chunk_size,
    )?;
    let k = teacher.num_labels();
    write_transfer_set(
        &stage.dir.join("transfer.tsv"),
        &transfer,
        Some((&logits, k)),
    )?;
    let seconds = secs(t);
    let summary = LabelsSummary {
        examples: transfer.len(),
        seconds,
        examples_per_sec: transfer.len() as f64 / seconds.max(1e-9),
    };
    stage.finish(&summary, device)?;
    let _ = std::fs::remove_dir_all(stage.dir.join("chunks"));
    logln!(
        log,
        "labels: {} examples in {:.0} s",
        transfer.len(),
        seconds
    );
    Ok(summary)
}

/// Reads a finished labelling stage's set, checking its width against the task.
pub fn read(stage: &Stage, classes: usize) -> Result<Labelled> {
    let path = stage.dir.join("transfer.tsv");
    let (examples, logits) = read_transfer_set(&path)?;
    let (logits, k) = logits.with_context(|| format!("{}: no logits", path.display()))?;
    if k != classes {
        bail!(
            "{}: {k} logits per row, the task has {classes} classes",
            path.display()
        );
    }
    Ok(Labelled {
        examples,
        logits,
        classes,
    })
}
