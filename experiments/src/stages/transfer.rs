//! Stage 2: the augmented transfer set of §3.2 (masking, same-tag replacement, n-gram sampling,
//! `n_iter` copies, duplicates dropped), written as `transfer.tsv`.

use super::{secs, TransferSummary};
use crate::data::TaskData;
use crate::log::RunLog;
use crate::logln;
use crate::store::Stage;
use anyhow::{Context, Result};
use kd_core::augment::{build_transfer_set, write_transfer_set, AugmentConfig};
use kd_core::pos::PosTagger;
use std::path::Path;
use std::time::Instant;

/// Builds (or returns the cached) transfer set in `stage`.
pub fn run(
    stage: &Stage,
    augment: &AugmentConfig,
    pos_model: &Path,
    data: &TaskData,
    device: tch::Device,
    log: &RunLog,
) -> Result<TransferSummary> {
    let _lock = stage.lock(|m| logln!(log, "transfer set: {m}"))?;
    if let Some(done) = stage.done::<TransferSummary>()? {
        logln!(
            log,
            "transfer set: cached, n_iter {} ({} examples)",
            augment.n_iter,
            done.total
        );
        return Ok(done);
    }
    let t = Instant::now();
    let tagger = PosTagger::load(pos_model)
        .with_context(|| format!("loading the POS tagger from {}", pos_model.display()))?;
    logln!(
        log,
        "transfer set: augmenting {} examples, n_iter {}",
        data.train.len(),
        augment.n_iter
    );
    let set = build_transfer_set(&data.train, &tagger, augment, None)?;
    write_transfer_set(&stage.dir.join("transfer.tsv"), &set.examples, None)?;
    let summary = TransferSummary {
        originals: data.train.len(),
        total: set.examples.len(),
        seconds: secs(t),
    };
    stage.finish(&summary, device)?;
    logln!(
        log,
        "transfer set: {} examples ({:.1} s)",
        summary.total,
        summary.seconds
    );
    Ok(summary)
}
