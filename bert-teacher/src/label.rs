//! Resumable, shardable transfer-set labelling (Tang et al. 2019 §3.2: the fine-tuned teacher's
//! logits `z^B` on every augmented example). Logits are computed chunk by chunk and each chunk is
//! written atomically to the work directory, so a killed run skips the chunks it finished.
//!
//! A chunk is a pure function of the teacher, its examples and the batch size: any process may
//! compute any chunk, in any order, and the joined logits ([`read_chunks`]) are the same. The
//! pieces ([`prepare_work_dir`], [`missing_chunks`], [`label_chunk`], [`read_chunks`]) let several
//! workers share one work directory (the caller decides who labels which chunk);
//! [`label_resumable`] is the one-process loop over them.

use crate::checkpoint::{read_f32, write_f32};
use crate::error::{Result, TeacherError};
use crate::fingerprint::examples_fingerprint;
use crate::teacher::Teacher;
use kd_core::data::Example;
use kd_core::progress::example_bar;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `work_dir/meta.json`: what the chunks in a work directory were computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelMeta {
    n_examples: usize,
    chunk_size: usize,
    num_labels: usize,
    max_len: usize,
    examples_fingerprint: String,
}

const META_FILE: &str = "meta.json";

/// File of chunk `index` in a work directory.
pub fn chunk_path(work_dir: &Path, index: usize) -> PathBuf {
    work_dir.join(format!("chunk-{index:06}.safetensors"))
}

/// Number of chunks `n_examples` examples make at `chunk_size` per chunk (the last may be short).
pub fn chunk_count(n_examples: usize, chunk_size: usize) -> usize {
    n_examples.div_ceil(chunk_size.max(1))
}

/// The chunks of a work directory whose file is not there yet, in index order.
pub fn missing_chunks(work_dir: &Path, n_examples: usize, chunk_size: usize) -> Vec<usize> {
    (0..chunk_count(n_examples, chunk_size))
        .filter(|&i| !chunk_path(work_dir, i).exists())
        .collect()
}

fn check_sizes(batch_size: usize, chunk_size: usize) -> Result<()> {
    if batch_size == 0 || chunk_size == 0 {
        return Err(TeacherError::InvalidArgument(format!(
            "batch_size ({batch_size}) and chunk_size ({chunk_size}) must be >= 1"
        )));
    }
    Ok(())
}

fn read_meta(meta_path: &Path) -> Result<LabelMeta> {
    let text = std::fs::read_to_string(meta_path).map_err(|e| TeacherError::io(meta_path, e))?;
    serde_json::from_str(&text).map_err(|e| TeacherError::WorkDir {
        path: meta_path.to_path_buf(),
        msg: format!("unreadable: {e}"),
    })
}

/// Creates `work_dir` with its `meta.json` for labelling `examples` with `teacher` in chunks of
/// `chunk_size`, or checks that the one there was made for the same inputs (another set of
/// examples, another chunk size or another teacher shape is an error rather than a silent mix).
/// Several processes may call this at once: they write the same bytes, atomically.
pub fn prepare_work_dir(
    teacher: &Teacher,
    examples: &[Example],
    work_dir: &Path,
    chunk_size: usize,
) -> Result<()> {
    let meta = LabelMeta {
        n_examples: examples.len(),
        chunk_size,
        num_labels: teacher.num_labels(),
        max_len: teacher.max_len(),
        examples_fingerprint: examples_fingerprint(examples),
    };
    let meta_path = work_dir.join(META_FILE);
    if meta_path.exists() {
        let old = read_meta(&meta_path)?;
        if old != meta {
            return Err(TeacherError::WorkDir {
                path: meta_path,
                msg: format!("made for different inputs ({old:?}); this run has {meta:?}"),
            });
        }
    } else {
        let bytes = serde_json::to_vec_pretty(&meta)
            .map_err(|e| TeacherError::InvalidArgument(format!("serialising meta: {e}")))?;
        kd_core::io::atomic_write_bytes(&meta_path, &bytes)?;
    }
    Ok(())
}

/// The examples of chunk `index`.
fn chunk_examples(examples: &[Example], chunk_size: usize, index: usize) -> Result<&[Example]> {
    examples.chunks(chunk_size).nth(index).ok_or_else(|| {
        TeacherError::InvalidArgument(format!(
            "chunk {index}: {} examples make {} chunks of {chunk_size}",
            examples.len(),
            chunk_count(examples.len(), chunk_size)
        ))
    })
}

/// Computes chunk `index` of `examples` (batches of `batch_size` inside) and writes it to
/// `work_dir` (prepared by [`prepare_work_dir`]); returns its row-major logits.
pub fn label_chunk(
    teacher: &Teacher,
    examples: &[Example],
    batch_size: usize,
    work_dir: &Path,
    chunk_size: usize,
    index: usize,
) -> Result<Vec<f32>> {
    check_sizes(batch_size, chunk_size)?;
    let chunk = chunk_examples(examples, chunk_size, index)?;
    let values = teacher.predict_logits(chunk, batch_size, false)?;
    write_f32(
        &chunk_path(work_dir, index),
        "logits",
        &[chunk.len(), teacher.num_labels()],
        &values,
    )?;
    Ok(values)
}

/// Reads chunk `index`, checking its shape.
fn read_chunk(work_dir: &Path, index: usize, rows: usize, num_labels: usize) -> Result<Vec<f32>> {
    let path = chunk_path(work_dir, index);
    let (shape, values) = read_f32(&path, "logits")?;
    if shape != [rows, num_labels] {
        return Err(TeacherError::WorkDir {
            path,
            msg: format!("logits have shape {shape:?}, expected [{rows}, {num_labels}]"),
        });
    }
    Ok(values)
}

/// The logits of every chunk of a finished work directory, row-major `[n, num_labels]` in input
/// order: the join of chunks that any number of processes labelled. Checks `meta.json` against
/// `examples`, `chunk_size` and `num_labels`, and each chunk's shape; a missing chunk is an error.
pub fn read_chunks(
    examples: &[Example],
    work_dir: &Path,
    chunk_size: usize,
    num_labels: usize,
) -> Result<Vec<f32>> {
    let meta_path = work_dir.join(META_FILE);
    let meta = read_meta(&meta_path)?;
    let want = (
        examples.len(),
        chunk_size,
        num_labels,
        examples_fingerprint(examples),
    );
    if (
        meta.n_examples,
        meta.chunk_size,
        meta.num_labels,
        meta.examples_fingerprint.clone(),
    ) != want
    {
        return Err(TeacherError::WorkDir {
            path: meta_path,
            msg: format!(
                "made for different inputs ({meta:?}); expected {} examples (fingerprint {}), \
                 chunks of {chunk_size}, {num_labels} labels",
                want.0, want.3
            ),
        });
    }
    let mut logits = Vec::with_capacity(examples.len() * num_labels);
    for (index, chunk) in examples.chunks(chunk_size.max(1)).enumerate() {
        logits.extend(read_chunk(work_dir, index, chunk.len(), num_labels)?);
    }
    Ok(logits)
}

/// Teacher logits for `examples`, row-major `[n, num_labels]` in input order, computed in
/// chunks of `chunk_size` examples (batches of `batch_size` inside) and cached in `work_dir`.
///
/// Finished chunks found in `work_dir` are reused; a work directory made for other examples,
/// another chunk size or another teacher shape is an error rather than a silent mix.
pub fn label_resumable(
    teacher: &Teacher,
    examples: &[Example],
    batch_size: usize,
    work_dir: &Path,
    chunk_size: usize,
) -> Result<Vec<f32>> {
    check_sizes(batch_size, chunk_size)?;
    prepare_work_dir(teacher, examples, work_dir, chunk_size)?;
    let num_labels = teacher.num_labels();
    let mut logits = Vec::with_capacity(examples.len() * num_labels);
    let bar = example_bar(examples.len() as u64, "label", true);
    for (index, chunk) in examples.chunks(chunk_size).enumerate() {
        let values = if chunk_path(work_dir, index).exists() {
            read_chunk(work_dir, index, chunk.len(), num_labels)?
        } else {
            label_chunk(teacher, examples, batch_size, work_dir, chunk_size, index)?
        };
        logits.extend_from_slice(&values);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(logits)
}
