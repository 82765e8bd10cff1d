//! Stage 3: the teacher's logits on every transfer example, written with the examples as
//! `transfer.tsv` and as `transfer.parquet` (typed, zstd; what pandas or polars users load, see
//! [`kd_core::augment::parquet_file`]) in the stage dir. The pipeline reads the Parquet file.
//!
//! The logits are computed in chunks (`teacher.label_chunk_size` examples each, files under
//! `<stage>/chunks/`) that any number of workers share — the serial run's one process, or the
//! labelling cells of an array job (`--cell K`):
//!
//! - a worker holds a **shared** lock on the stage's `.lock` while it labels, and claims a chunk
//!   by taking its lock file `chunks/chunk-NNNNNN.lock`; a chunk whose `.safetensors` file exists
//!   is done, one whose lock another live process holds is skipped ([`Held::Skip`], the cells) or
//!   waited for and then labelled if it is still missing ([`Held::Wait`], the serial run). A
//!   killed worker's locks go with it (flock), so a rerun picks its chunk up;
//! - the **join** — every chunk read back, the two set files and `done.json` written, `chunks/`
//!   removed — takes the stage's **exclusive** lock, so it never overlaps a worker, and happens
//!   once: by the worker that finds every chunk present after its last one, or by a cell that
//!   needs the labels and finds them all there ([`Labeller::join_if_complete`]).
//!
//! A chunk's logits depend only on the teacher, its examples and the batch size, so the joined
//! logits are the same whichever processes labelled which chunks.

use super::{secs, LabelsSummary, TransferSummary};
use crate::log::RunLog;
use crate::logln;
use crate::store::{lock_file, try_lock_file, Stage};
use anyhow::{bail, Context, Result};
use bert_teacher::label::{chunk_count, label_chunk, missing_chunks, prepare_work_dir};
use kd_core::augment::{
    read_transfer_parquet, read_transfer_set, write_transfer_parquet, write_transfer_set,
    TransferExample,
};
use kd_core::data::Example;
use kd_core::progress::example_bar;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

/// The labelled set as Parquet, beside `transfer.tsv` (kd_core::augment::parquet_file).
pub const PARQUET_FILE: &str = "transfer.parquet";

/// The labelled transfer set: examples and row-major logits.
pub struct Labelled {
    /// The transfer examples, in order (originals first per example, as built).
    pub examples: Vec<TransferExample>,
    /// Row-major `[examples.len(), classes]` teacher logits.
    pub logits: Vec<f32>,
    /// Number of classes.
    pub classes: usize,
}

/// What a worker does with a missing chunk whose lock another live process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Leave it to that process (a labelling cell: the last worker to finish joins).
    Skip,
    /// Wait for its lock, then label it if it is still missing (the serial run: the stage is
    /// finished when it returns).
    Wait,
}

/// One labelling stage: the set it labels and how.
pub struct Labeller<'a> {
    /// The labels stage.
    pub stage: &'a Stage,
    /// The transfer-set stage it labels (finished).
    pub transfer: &'a Stage,
    /// Teacher batch size.
    pub batch_size: usize,
    /// Examples per chunk.
    pub chunk_size: usize,
    /// The task's classes (the teacher's labels).
    pub classes: usize,
    /// For the provenance.
    pub device: tch::Device,
    /// The run's log.
    pub log: &'a RunLog,
}

fn to_examples(transfer: &[TransferExample]) -> Vec<Example> {
    transfer
        .iter()
        .map(|t| Example {
            text_a: t.text_a.clone(),
            text_b: t.text_b.clone(),
            label: t.label,
            index: None,
        })
        .collect()
}

impl Labeller<'_> {
    fn chunks_dir(&self) -> PathBuf {
        self.stage.dir.join("chunks")
    }

    fn chunk_lock(&self, index: usize) -> PathBuf {
        self.chunks_dir().join(format!("chunk-{index:06}.lock"))
    }

    fn read_transfer(&self) -> Result<Vec<TransferExample>> {
        Ok(read_transfer_set(&self.transfer.dir.join("transfer.tsv"))?.0)
    }

    /// Labels the chunks this process can claim (loading the teacher only when there is one),
    /// then joins when every chunk is there. `None`: chunks are still being labelled by other
    /// workers (with [`Held::Skip`] only), the last of which joins.
    pub fn run(
        &self,
        teacher: &dyn Fn() -> Result<Rc<bert_teacher::Teacher>>,
        held: Held,
    ) -> Result<Option<LabelsSummary>> {
        let log = self.log;
        let t = Instant::now();
        let shared = self.stage.lock_shared(|m| logln!(log, "labels: {m}"))?;
        if let Some(done) = self.stage.done::<LabelsSummary>()? {
            logln!(log, "labels: cached ({} examples)", done.examples);
            return Ok(Some(done));
        }
        let transfer = self.read_transfer()?;
        let examples = to_examples(&transfer);
        let n = examples.len();
        let dir = self.chunks_dir();
        let cs = self.chunk_size;
        let missing = missing_chunks(&dir, n, cs);
        if !missing.is_empty() {
            let teacher = teacher()?;
            logln!(log, "labels: teacher logits for {n} examples");
            let total = chunk_count(n, cs);
            if missing.len() < total || held == Held::Skip {
                logln!(
                    log,
                    "labels: {} of {total} chunk(s) of {cs} to label",
                    missing.len()
                );
            }
            prepare_work_dir(&teacher, &examples, &dir, cs)?;
            let rows = |i: usize| cs.min(n - i * cs) as u64;
            let bar = example_bar(missing.iter().map(|&i| rows(i)).sum(), "label", true);
            let label = |i: usize| -> Result<()> {
                if !bert_teacher::label::chunk_path(&dir, i).exists() {
                    label_chunk(&teacher, &examples, self.batch_size, &dir, cs, i)?;
                }
                bar.inc(rows(i));
                Ok(())
            };
            let mut busy = Vec::new();
            for &i in &missing {
                match try_lock_file(&self.chunk_lock(i))? {
                    Some(_claim) => label(i)?,
                    None => busy.push(i),
                }
            }
            match held {
                Held::Wait => {
                    for &i in &busy {
                        let _claim =
                            lock_file(&self.chunk_lock(i), |m| logln!(log, "labels: {m}"))?;
                        label(i)?;
                    }
                }
                Held::Skip if !busy.is_empty() => {
                    logln!(
                        log,
                        "labels: chunk(s) {busy:?} are being labelled by other workers"
                    );
                }
                Held::Skip => {}
            }
            bar.finish_and_clear();
        }
        drop(shared);
        let left = missing_chunks(&dir, n, cs);
        if !left.is_empty() {
            logln!(
                log,
                "labels: {} chunk(s) still being labelled elsewhere; the last worker joins",
                left.len()
            );
            return Ok(None);
        }
        self.join(t, Some(transfer))
    }

    /// Whether every chunk is there (the transfer set finished, no chunk file missing), so that
    /// [`Labeller::join_if_complete`] would finish the stage. Takes no lock.
    pub fn complete(&self) -> Result<bool> {
        let Some(t) = self.transfer.done::<TransferSummary>()? else {
            return Ok(false);
        };
        let dir = self.chunks_dir();
        Ok(dir.join("meta.json").is_file()
            && missing_chunks(&dir, t.total, self.chunk_size).is_empty())
    }

    /// Finishes the stage from its chunks when they are all there (what a cell that needs the
    /// labels does when the last labelling worker could not: it died after its chunk, or its
    /// view of a shared file system lagged). `None` when the stage is neither finished nor
    /// complete.
    pub fn join_if_complete(&self) -> Result<Option<LabelsSummary>> {
        if let Some(done) = self.stage.done::<LabelsSummary>()? {
            return Ok(Some(done));
        }
        if !self.complete()? {
            return Ok(None);
        }
        self.join(Instant::now(), None)
    }

    /// The join, under the stage's exclusive lock: every chunk read back (meta.json and shapes
    /// checked), `transfer.tsv` and `transfer.parquet` with the logits, `done.json`, and
    /// `chunks/` removed.
    fn join(
        &self,
        started: Instant,
        transfer: Option<Vec<TransferExample>>,
    ) -> Result<Option<LabelsSummary>> {
        let log = self.log;
        let _lock = self.stage.lock(|m| logln!(log, "labels: {m}"))?;
        if let Some(done) = self.stage.done::<LabelsSummary>()? {
            logln!(log, "labels: cached ({} examples)", done.examples);
            return Ok(Some(done));
        }
        let transfer = match transfer {
            Some(t) => t,
            None => self.read_transfer()?,
        };
        let examples = to_examples(&transfer);
        let dir = self.chunks_dir();
        if !missing_chunks(&dir, examples.len(), self.chunk_size).is_empty() {
            return Ok(None);
        }
        let logits = if examples.is_empty() {
            Vec::new()
        } else {
            bert_teacher::label::read_chunks(&examples, &dir, self.chunk_size, self.classes)?
        };
        write_transfer_set(
            &self.stage.dir.join("transfer.tsv"),
            &transfer,
            Some((&logits, self.classes)),
        )?;
        write_transfer_parquet(
            &self.stage.dir.join(PARQUET_FILE),
            &transfer,
            &logits,
            self.classes,
        )?;
        let seconds = secs(started);
        let summary = LabelsSummary {
            examples: transfer.len(),
            seconds,
            examples_per_sec: transfer.len() as f64 / seconds.max(1e-9),
        };
        self.stage.finish(&summary, self.device)?;
        let _ = std::fs::remove_dir_all(&dir);
        logln!(
            log,
            "labels: {} examples in {:.0} s",
            transfer.len(),
            seconds
        );
        Ok(Some(summary))
    }
}

/// Labels (or finds the cached labels of) the whole set in this process, sharing its chunks
/// with any other worker that labels it at the same time.
pub fn run(
    labeller: &Labeller,
    teacher: &dyn Fn() -> Result<Rc<bert_teacher::Teacher>>,
) -> Result<LabelsSummary> {
    match labeller.run(teacher, Held::Wait)? {
        Some(summary) => Ok(summary),
        None => bail!(
            "{}: chunks missing after labelling every chunk",
            labeller.stage.dir.display()
        ),
    }
}

/// An ensemble teacher's labelled set: its members' finished labelled sets of the same transfer
/// set, their logits averaged (summed in member order, then divided), written as a labelling
/// stage is (`transfer.tsv`, `transfer.parquet`, `done.json`) under the stage's exclusive lock.
pub fn average(
    stage: &Stage,
    members: &[&Stage],
    classes: usize,
    device: tch::Device,
    log: &RunLog,
) -> Result<LabelsSummary> {
    let _lock = stage.lock(|m| logln!(log, "labels: {m}"))?;
    if let Some(done) = stage.done::<LabelsSummary>()? {
        logln!(log, "labels: cached ({} examples)", done.examples);
        return Ok(done);
    }
    let t = Instant::now();
    let mut sets = Vec::new();
    for m in members {
        sets.push(read(m, classes)?);
    }
    let first = &sets[0];
    let mut sum = first.logits.clone();
    for (m, set) in members.iter().zip(&sets).skip(1) {
        let same = set.examples.len() == first.examples.len()
            && set
                .examples
                .iter()
                .zip(&first.examples)
                .all(|(a, b)| a.orig_id == b.orig_id && a.aug == b.aug && a.text_a == b.text_a);
        if !same {
            bail!(
                "{}: its examples differ from {}'s: ensemble members must label one transfer set",
                m.dir.display(),
                members[0].dir.display()
            );
        }
        for (a, v) in sum.iter_mut().zip(&set.logits) {
            *a += v;
        }
    }
    let n = sets.len() as f32;
    let logits: Vec<f32> = sum.into_iter().map(|v| v / n).collect();
    write_transfer_set(
        &stage.dir.join("transfer.tsv"),
        &first.examples,
        Some((&logits, classes)),
    )?;
    write_transfer_parquet(
        &stage.dir.join(PARQUET_FILE),
        &first.examples,
        &logits,
        classes,
    )?;
    let seconds = secs(t);
    let summary = LabelsSummary {
        examples: first.examples.len(),
        seconds,
        examples_per_sec: first.examples.len() as f64 / seconds.max(1e-9),
    };
    stage.finish(&summary, device)?;
    logln!(
        log,
        "labels: the mean of {} teachers' logits on {} examples",
        members.len(),
        summary.examples
    );
    Ok(summary)
}

/// Reads a finished labelling stage's set, checking its width against the task: from
/// `transfer.parquet`, or from `transfer.tsv` in a stage made before the Parquet file existed.
pub fn read(stage: &Stage, classes: usize) -> Result<Labelled> {
    let parquet = stage.dir.join(PARQUET_FILE);
    let (path, examples, logits, k) = if parquet.exists() {
        let (examples, logits, k) = read_transfer_parquet(&parquet)?;
        (parquet, examples, logits, k)
    } else {
        let path = stage.dir.join("transfer.tsv");
        let (examples, logits) = read_transfer_set(&path)?;
        let (logits, k) = logits.with_context(|| format!("{}: no logits", path.display()))?;
        (path, examples, logits, k)
    };
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
