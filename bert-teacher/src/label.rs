//! Resumable transfer-set labelling (Tang et al. 2019 §3.2: the fine-tuned teacher's logits
//! `z^B` on every augmented example). Logits are computed chunk by chunk and each chunk is
//! written atomically to the work directory, so a killed run skips the chunks it finished.

use crate::checkpoint::{read_f32, write_f32};
use crate::error::{Result, TeacherError};
use crate::fingerprint::examples_fingerprint;
use crate::teacher::Teacher;
use kd_core::data::Example;
use kd_core::progress::example_bar;
use serde::{Deserialize, Serialize};
use std::path::Path;

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

/// File of chunk `index` in a work directory.
pub fn chunk_path(work_dir: &Path, index: usize) -> std::path::PathBuf {
    work_dir.join(format!("chunk-{index:06}.safetensors"))
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
    if batch_size == 0 || chunk_size == 0 {
        return Err(TeacherError::InvalidArgument(format!(
            "batch_size ({batch_size}) and chunk_size ({chunk_size}) must be >= 1"
        )));
    }
    let num_labels = teacher.num_labels();
    let meta = LabelMeta {
        n_examples: examples.len(),
        chunk_size,
        num_labels,
        max_len: teacher.max_len(),
        examples_fingerprint: examples_fingerprint(examples),
    };
    let meta_path = work_dir.join("meta.json");
    if meta_path.exists() {
        let text =
            std::fs::read_to_string(&meta_path).map_err(|e| TeacherError::io(&meta_path, e))?;
        let old: LabelMeta = serde_json::from_str(&text).map_err(|e| TeacherError::WorkDir {
            path: meta_path.clone(),
            msg: format!("unreadable: {e}"),
        })?;
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

    let mut logits = Vec::with_capacity(examples.len() * num_labels);
    let bar = example_bar(examples.len() as u64, "label", true);
    for (index, chunk) in examples.chunks(chunk_size).enumerate() {
        let path = chunk_path(work_dir, index);
        let values = if path.exists() {
            let (shape, values) = read_f32(&path, "logits")?;
            if shape != [chunk.len(), num_labels] {
                return Err(TeacherError::WorkDir {
                    path,
                    msg: format!(
                        "logits have shape {shape:?}, expected [{}, {num_labels}]",
                        chunk.len()
                    ),
                });
            }
            values
        } else {
            let values = teacher.predict_logits(chunk, batch_size, false)?;
            write_f32(&path, "logits", &[chunk.len(), num_labels], &values)?;
            values
        };
        logits.extend_from_slice(&values);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(logits)
}
