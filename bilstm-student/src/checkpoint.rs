//! Crash-safe checkpoints for epoch-level resume. After each epoch the trainer writes ONE file,
//! `last.safetensors`, holding the model variables, the optimiser state (`optimizer.<name>`)
//! and the training state (`train_state`, JSON bytes as a `uint8` tensor), so a run killed at
//! any point resumes from a consistent epoch boundary. `train_state.json` is written next to it
//! as a readable copy; resume reads the copy inside `last.safetensors`.

use kd_core::record::EpochRecord;
use kd_core::{KdError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::Tensor;

/// Name of the epoch checkpoint.
pub const LAST_FILE: &str = "last.safetensors";
/// Name of the readable training-state copy.
pub const STATE_FILE: &str = "train_state.json";
const OPTIM_PREFIX: &str = "optimizer.";
const STATE_KEY: &str = "train_state";

/// Where a training run stands after a finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainState {
    /// Epochs finished (1-based count).
    pub epochs_done: usize,
    /// Best epoch so far (1-based; 0 before any).
    pub best_epoch: usize,
    /// Dev accuracy of the best epoch.
    pub best_dev_accuracy: f64,
    /// One record per finished epoch.
    pub history: Vec<EpochRecord>,
    /// True when early stopping ended the run.
    pub stopped_early: bool,
    /// The seed that (with the epoch number) derives each epoch's shuffle and dropout seeds; the
    /// per-epoch derivation is what makes the RNG state recoverable from `epochs_done`.
    pub seed: u64,
    /// The training configuration (JSON) of the run, to refuse resuming a different one.
    pub config_fingerprint: String,
}

/// Writes named tensors to a `.safetensors` file atomically (temporary sibling, then rename).
pub fn save_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| KdError::io(dir, e))?;
    // The temporary keeps the .safetensors extension (tch picks the format from it) and follows
    // kd_core::io's naming, so a killed run's leftover is swept; it is removed on any failure
    // (and by a process stopping on a signal) through its guard.
    let tmp = kd_core::io::TempFile::with_extension(path, "safetensors");
    let contiguous: Vec<(&str, Tensor)> = tensors
        .iter()
        .map(|(n, t)| {
            (
                n.as_str(),
                t.detach().to_device(tch::Device::Cpu).contiguous(),
            )
        })
        .collect();
    if let Err(e) = Tensor::write_safetensors(&contiguous, tmp.path()) {
        return Err(KdError::parse(tmp.path(), 0, e.to_string()));
    }
    let sync = std::fs::File::open(tmp.path()).and_then(|f| f.sync_all());
    if let Err(e) = sync {
        return Err(KdError::io(tmp.path(), e));
    }
    tmp.commit(path).map_err(|e| KdError::io(path, e))
}

/// Writes the epoch checkpoint (model + optimiser + state) and the readable state copy.
pub fn save_last(
    dir: &Path,
    model_vars: Vec<(String, Tensor)>,
    optim: Vec<(String, Tensor)>,
    state: &TrainState,
) -> Result<()> {
    let json = serde_json::to_vec_pretty(state)
        .map_err(|e| KdError::InvalidArgument(format!("serialising train state: {e}")))?;
    let mut all = model_vars;
    all.extend(
        optim
            .into_iter()
            .map(|(n, t)| (format!("{OPTIM_PREFIX}{n}"), t)),
    );
    all.push((STATE_KEY.to_string(), Tensor::from_slice(&json)));
    save_tensors(&dir.join(LAST_FILE), &all)?;
    kd_core::io::atomic_write_bytes(&dir.join(STATE_FILE), &json)
}

/// What `last.safetensors` holds, split back into its parts.
pub struct LastCheckpoint {
    /// Model variables by name.
    pub model: Vec<(String, Tensor)>,
    /// Optimiser state, names without the prefix.
    pub optim: Vec<(String, Tensor)>,
    /// Training state.
    pub state: TrainState,
}

/// Reads `dir/last.safetensors`, or `None` when there is none.
pub fn load_last(dir: &Path) -> Result<Option<LastCheckpoint>> {
    let path = dir.join(LAST_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let tensors =
        Tensor::read_safetensors(&path).map_err(|e| KdError::parse(&path, 0, e.to_string()))?;
    let (mut model, mut optim, mut state) = (Vec::new(), Vec::new(), None);
    for (name, t) in tensors {
        if name == STATE_KEY {
            let bytes =
                Vec::<u8>::try_from(&t).map_err(|e| KdError::parse(&path, 0, e.to_string()))?;
            let s: TrainState = serde_json::from_slice(&bytes)
                .map_err(|e| KdError::parse(&path, 0, format!("train_state: {e}")))?;
            state = Some(s);
        } else if let Some(n) = name.strip_prefix(OPTIM_PREFIX) {
            optim.push((n.to_string(), t));
        } else {
            model.push((name, t));
        }
    }
    let state = state.ok_or_else(|| KdError::parse(&path, 0, "no train_state entry"))?;
    optim.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Some(LastCheckpoint {
        model,
        optim,
        state,
    }))
}
