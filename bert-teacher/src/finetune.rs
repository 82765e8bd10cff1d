//! Fine-tuning the teacher (Tang et al. 2019 §4.2: BERT fine-tuned on each task before it labels
//! the transfer set): AdamW with weight decay on weights only (not biases / LayerNorm), linear
//! warm-up then decay, gradient-norm clipping at 1 (HF Trainer's defaults), length-bucketed
//! batches, dev accuracy after every epoch, and the best epoch kept in `out_dir` as a teacher
//! directory ([`crate::Teacher::load`] reads it).
//!
//! The optimiser is [`kd_core::optim::AdamW`], which reproduces the `tch::nn::AdamW` this loop
//! used before bit for bit (`bert-teacher/tests/adamw_parity.rs`) and, unlike it, exposes its
//! moments, so that a resumed run is the run an uninterrupted one makes, bit for bit.
//!
//! Resume is epoch-level. After epoch N, everything is first written under names nothing points
//! at yet: the weights (`resume/epoch-N.safetensors`), the AdamW state
//! (`resume/optimizer-N.safetensors`) and, if the epoch is the best so far, a complete teacher
//! directory `resume/best-N/`. Then `resume/state.json` is replaced atomically: that rename
//! commits the epoch. Only then is `best-N/` moved into `out_dir` (a roll-forward that a rerun
//! finishes if it was killed part-way) and the previous epoch's files deleted. So a kill at any
//! point leaves either the old state with everything it names, or the new one. The weights of
//! every committed epoch stay in `resume/` ([`crate::epoch_weights`]): a teacher at each epoch. A non-finite
//! loss or gradient norm stops the run with [`TeacherError::NonFinite`] before the optimiser step,
//! leaving the last committed epoch in place.

use crate::bert::{Pooling, NO_DECAY_GROUP};
use crate::checkpoint::{load_safetensors, load_tensors, save_safetensors, save_tensors};
use crate::error::{Result, TeacherError};
use crate::fingerprint::examples_fingerprint;
use crate::teacher::Teacher;
use crate::tokenize::{collate, Encoded};
use kd_core::batching::plan_batches;
use kd_core::data::Example;
use kd_core::optim::{clip_grad_norm, linear_warmup_decay, AdamW, AdamWConfig};
use kd_core::progress::example_bar;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{nn::VarStore, Device, Tensor};

/// Gradient-norm clipping threshold (HF Trainer's `max_grad_norm` default).
pub const MAX_GRAD_NORM: f64 = 1.0;

/// Batches per length-sorting pool of a training epoch (see [`kd_core::batching::plan_batches`]).
pub const POOL_BATCHES: usize = 50;

/// Fine-tuning hyper-parameters. Defaults are the usual BERT recipe for GLUE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FineTuneConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// Peak learning rate (reached at the end of warm-up).
    pub lr: f64,
    /// Fraction of all steps spent warming up linearly from 0.
    pub warmup_ratio: f64,
    /// AdamW decoupled weight decay on weight matrices and embeddings.
    pub weight_decay: f64,
    /// Truncation length in tokens, special tokens included.
    pub max_len: usize,
    /// Batch size of dev evaluation.
    pub eval_batch_size: usize,
    /// Seeds the fresh pooler / classifier, dropout and batch order.
    pub seed: u64,
    /// Train on the first N examples only (smoke runs).
    pub max_train_examples: Option<usize>,
    /// The sentence representation the classifier reads (default: the pooled [CLS] state, as
    /// HF's recipe; `mean`: the masked mean of the last hidden states, as sentence-transformers
    /// pools). Left out of serialised configs (and so of stage keys) at its default.
    #[serde(skip_serializing_if = "Pooling::is_cls")]
    pub pooling: Pooling,
}

impl Default for FineTuneConfig {
    fn default() -> Self {
        FineTuneConfig {
            epochs: 3,
            batch_size: 32,
            lr: 2e-5,
            warmup_ratio: 0.1,
            weight_decay: 0.01,
            max_len: 128,
            eval_batch_size: 128,
            seed: 0,
            max_train_examples: None,
            pooling: Pooling::Cls,
        }
    }
}

impl FineTuneConfig {
    /// Checks ranges; the message names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(TeacherError::InvalidArgument(msg));
        if self.epochs == 0 || self.batch_size == 0 || self.eval_batch_size == 0 {
            return bad("epochs, batch_size and eval_batch_size must be >= 1".into());
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad(format!("lr must be positive, got {}", self.lr));
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return bad(format!(
                "warmup_ratio must lie in [0, 1], got {}",
                self.warmup_ratio
            ));
        }
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return bad(format!(
                "weight_decay must be >= 0, got {}",
                self.weight_decay
            ));
        }
        if self.max_train_examples == Some(0) {
            return bad("max_train_examples must be >= 1 when set".into());
        }
        Ok(())
    }
}

pub use kd_core::record::EpochRecord;

/// What [`fine_tune`] returns (also written to `out_dir/fine_tune.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FineTuneOutput {
    /// 1-based epoch whose weights are in `out_dir`.
    pub best_epoch: usize,
    /// Its dev accuracy.
    pub best_dev_accuracy: f64,
    /// Every finished epoch, including those of earlier (killed) runs.
    pub history: Vec<EpochRecord>,
    /// Epochs an earlier, killed call had finished when this one resumed (0: a fresh run; all
    /// of them: a finished run called again). A property of the call, not of the teacher, so it
    /// is in neither `fine_tune.json` nor the resume state.
    #[serde(skip)]
    pub resumed_epochs: usize,
}

/// `out_dir/resume/state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResumeState {
    config: FineTuneConfig,
    num_labels: usize,
    train_fingerprint: String,
    dev_fingerprint: String,
    completed_epochs: usize,
    /// Weights after `completed_epochs`, in the resume dir.
    weights_file: String,
    /// AdamW moments and step counts after `completed_epochs`, in the resume dir.
    optimizer_file: String,
    /// Optimiser steps taken so far (the largest per-variable count in `optimizer_file`).
    optimizer_steps: i64,
    /// A best-epoch teacher directory in the resume dir still to be moved into `out_dir`
    /// (gone once moved; the move is finished by whichever call reads this state next).
    best_staged: Option<String>,
    output: FineTuneOutput,
}

/// The optimiser [`fine_tune`] uses for the variables of `vs`: AdamW with `cfg.lr` and decoupled
/// weight decay `cfg.weight_decay` on every trainable variable except those in
/// [`NO_DECAY_GROUP`] (biases, LayerNorm), libtorch's default betas (0.9, 0.999) and eps 1e-8 —
/// exactly the `tch::nn::AdamW` with `set_weight_decay_group(NO_DECAY_GROUP, 0.0)` used before.
pub fn build_optimizer(vs: &VarStore, cfg: &FineTuneConfig) -> Result<AdamW> {
    let (vars, decay): (Vec<Tensor>, Vec<bool>) = {
        let variables = vs
            .variables_
            .lock()
            .map_err(|_| TeacherError::InvalidArgument("var store lock poisoned".into()))?;
        variables
            .trainable_variables
            .iter()
            .map(|v| (v.tensor.shallow_clone(), v.group != NO_DECAY_GROUP))
            .unzip()
    };
    let adamw = AdamWConfig {
        lr: cfg.lr,
        weight_decay: cfg.weight_decay,
        ..AdamWConfig::default()
    };
    Ok(AdamW::with_decay_mask(vars, decay, adamw)?)
}

/// One optimiser step on `loss` as `tch`'s `backward_step_clip_norm(loss, MAX_GRAD_NORM)` takes
/// it: zero the gradients, backward, clip the total gradient norm at [`MAX_GRAD_NORM`], step.
/// Returns the gradient norm before clipping. When that norm is not finite the step is skipped
/// (weights and optimiser state untouched) and the caller should stop.
pub fn optimizer_step(opt: &mut AdamW, loss: &Tensor) -> Result<f64> {
    opt.zero_grad();
    loss.f_backward()?;
    let norm = clip_grad_norm(opt.vars(), MAX_GRAD_NORM)?;
    if norm.is_finite() {
        opt.step()?;
    }
    Ok(norm)
}

/// Optimiser steps taken so far (the largest per-variable count).
fn steps_taken(opt: &AdamW) -> i64 {
    (0..opt.vars().len())
        .filter_map(|i| opt.steps(i))
        .max()
        .unwrap_or(0)
}

fn gold_labels(examples: &[Example], num_labels: usize, split: &str) -> Result<Vec<i64>> {
    let labels =
        kd_core::labels::checked_labels(examples.iter().map(|e| e.label), num_labels, split)
            .map_err(|e| TeacherError::InvalidArgument(e.to_string()))?;
    Ok(labels.into_iter().map(|l| l as i64).collect())
}

fn accuracy(logits: &[f32], gold: &[i64], num_labels: usize) -> f64 {
    let preds =
        kd_core::metrics::argmax_rows(&Tensor::from_slice(logits).view([-1, num_labels as i64]));
    let gold: Vec<usize> = gold.iter().map(|&g| g as usize).collect();
    kd_core::metrics::accuracy(&preds, &gold)
}

fn read_state(path: &Path) -> Result<Option<ResumeState>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| TeacherError::io(path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| TeacherError::WorkDir {
            path: path.to_path_buf(),
            msg: format!("unreadable resume state: {e}"),
        })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| {
        TeacherError::InvalidArgument(format!("serialising {}: {e}", path.display()))
    })?;
    kd_core::io::atomic_write_bytes(path, &bytes)?;
    Ok(())
}

/// The files of a teacher directory, in the order they are moved into `out_dir` (config last:
/// its presence marks a complete directory).
const TEACHER_FILES: [&str; 3] = [
    crate::teacher::WEIGHTS_FILE,
    crate::teacher::TOKENIZER_FILE,
    crate::teacher::CONFIG_FILE,
];

/// Moves what remains of the staged best teacher `resume_dir/staged` into `out_dir` (each file
/// by an atomic rename), then removes the staged directory. Idempotent: a rerun after a kill
/// part-way moves the rest. Errors if nothing is staged and `out_dir` has no weights either (the
/// state would point at a checkpoint that does not exist).
fn install_best(resume_dir: &Path, staged: &str, out_dir: &Path) -> Result<()> {
    let staged_dir = resume_dir.join(staged);
    if staged_dir.is_dir() {
        for name in TEACHER_FILES {
            let src = staged_dir.join(name);
            if src.exists() {
                let dst = out_dir.join(name);
                std::fs::rename(&src, &dst).map_err(|e| TeacherError::io(&dst, e))?;
            }
        }
        std::fs::remove_dir(&staged_dir).map_err(|e| TeacherError::io(&staged_dir, e))?;
    }
    for name in TEACHER_FILES {
        let path = out_dir.join(name);
        if !path.exists() {
            return Err(TeacherError::WorkDir {
                path: resume_dir.join("state.json"),
                msg: format!(
                    "the state records a best checkpoint, but neither {} nor {} exists",
                    staged_dir.display(),
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

/// `K` of a weights file `epoch-K.safetensors`.
fn committed_epoch(name: &str) -> Option<usize> {
    name.strip_prefix("epoch-")?
        .strip_suffix(".safetensors")?
        .parse()
        .ok()
}

/// Deletes what a killed or earlier epoch left in the resume dir that `state` does not name:
/// older `optimizer-*` files, `best-*` directories, temporary files, the weights of an epoch
/// that was never committed. The weights of every committed epoch stay.
fn remove_unreferenced(resume_dir: &Path, state: &ResumeState) -> Result<()> {
    let keep: Vec<&str> = [
        Some(state.weights_file.as_str()),
        Some(state.optimizer_file.as_str()),
        state.best_staged.as_deref(),
        Some("state.json"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let entries = std::fs::read_dir(resume_dir).map_err(|e| TeacherError::io(resume_dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| TeacherError::io(resume_dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Every committed epoch's weights stay (`epoch-K.safetensors`, K <= completed): the
        // per-epoch checkpoints a study of teacher quality loads; a killed epoch's go.
        if committed_epoch(&name).is_some_and(|k| k <= state.completed_epochs) {
            continue;
        }
        let ours = name.starts_with("epoch-")
            || name.starts_with("optimizer-")
            || name.starts_with("best-")
            || name.contains(".tmp");
        if !ours || keep.contains(&name.as_str()) {
            continue;
        }
        let path: PathBuf = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| TeacherError::io(&path, e))?;
    }
    Ok(())
}

/// Fine-tunes the pre-trained BERT in `init_dir` on `train` as a `num_labels`-way classifier,
/// evaluating on `dev` after each epoch; the best epoch's teacher is written to `out_dir`. A
/// run killed part-way resumes from its last finished epoch when called again with the same
/// arguments (different config or data is an error, never a silent restart).
///
/// Reproducible for a given `cfg.seed` on one device, provided nothing else in the process draws
/// from libtorch's global RNG meanwhile (building another model does).
pub fn fine_tune(
    init_dir: &Path,
    train: &[Example],
    dev: &[Example],
    num_labels: usize,
    cfg: &FineTuneConfig,
    out_dir: &Path,
) -> Result<FineTuneOutput> {
    fine_tune_on(
        Device::cuda_if_available(),
        init_dir,
        train,
        dev,
        num_labels,
        cfg,
        out_dir,
    )
}

/// [`fine_tune`] on `device` (the pipeline's `--device`; [`fine_tune`] takes CUDA when
/// libtorch sees one). A run resumed on another device continues from the same files.
pub fn fine_tune_on(
    device: Device,
    init_dir: &Path,
    train: &[Example],
    dev: &[Example],
    num_labels: usize,
    cfg: &FineTuneConfig,
    out_dir: &Path,
) -> Result<FineTuneOutput> {
    let inputs = Inputs {
        init_dir,
        train,
        dev,
        num_labels,
        out_dir,
    };
    run_fine_tune(device, &inputs, cfg, usize::MAX)
}

/// [`fine_tune`] that stops after at most `max_new_epochs` epochs in this call, leaving
/// `out_dir` exactly as a run killed at that point would (the next call resumes). Splits a long
/// fine-tune over several sessions, and lets tests exercise resume. `fine_tune.json` is written
/// only once every epoch is done.
pub fn fine_tune_epochs(
    init_dir: &Path,
    train: &[Example],
    dev: &[Example],
    num_labels: usize,
    cfg: &FineTuneConfig,
    out_dir: &Path,
    max_new_epochs: usize,
) -> Result<FineTuneOutput> {
    let inputs = Inputs {
        init_dir,
        train,
        dev,
        num_labels,
        out_dir,
    };
    run_fine_tune(Device::cuda_if_available(), &inputs, cfg, max_new_epochs)
}

/// What a fine-tune reads and where it writes.
struct Inputs<'a> {
    init_dir: &'a Path,
    train: &'a [Example],
    dev: &'a [Example],
    num_labels: usize,
    out_dir: &'a Path,
}

fn run_fine_tune(
    device: Device,
    inputs: &Inputs,
    cfg: &FineTuneConfig,
    max_new_epochs: usize,
) -> Result<FineTuneOutput> {
    let Inputs {
        init_dir,
        train,
        dev,
        num_labels,
        out_dir,
    } = *inputs;
    let train = checked_inputs(train, dev, num_labels, cfg)?;
    let train_gold = gold_labels(train, num_labels, "train")?;
    let dev_gold = gold_labels(dev, num_labels, "dev")?;

    tch::manual_seed(cfg.seed as i64);
    let mut teacher = Teacher::from_pretrained(init_dir, num_labels, device)?;
    teacher.set_max_len(cfg.max_len)?;
    teacher.set_pooling(cfg.pooling);

    let resume_dir = out_dir.join("resume");
    let fingerprints = (examples_fingerprint(train), examples_fingerprint(dev));
    let resumed = resume(&mut teacher, cfg, num_labels, &fingerprints, out_dir)?;
    let (start_epoch, mut output) = match &resumed {
        Some(state) => (state.completed_epochs, state.output.clone()),
        None => (0, FineTuneOutput::default()),
    };
    output.resumed_epochs = start_epoch;
    if start_epoch >= cfg.epochs {
        // A run killed after its last state but before fine_tune.json is finished here.
        write_json(&out_dir.join("fine_tune.json"), &output)?;
        return Ok(output);
    }
    write_json(&out_dir.join("fine_tune_config.json"), cfg)?;

    let train_enc = teacher.encode(train)?;
    let dev_enc = teacher.encode(dev)?;
    let lengths: Vec<usize> = train_enc.iter().map(|e| e.ids.len()).collect();
    let schedule = Schedule::new(train.len(), cfg);
    let mut opt = build_optimizer(&teacher.vs, cfg)?;
    if let Some(state) = &resumed {
        restore_optimizer(&mut opt, &resume_dir, state)?;
    }

    let end_epoch = cfg.epochs.min(start_epoch.saturating_add(max_new_epochs));
    let data = Encodings {
        train: &train_enc,
        train_gold: &train_gold,
        lengths: &lengths,
        dev: &dev_enc,
        dev_gold: &dev_gold,
    };
    for epoch in start_epoch..end_epoch {
        let record = run_epoch(&teacher, &mut opt, cfg, &schedule, &data, epoch)?;
        eprintln!("teacher {record}");
        let state = ResumeState {
            config: cfg.clone(),
            num_labels,
            train_fingerprint: fingerprints.0.clone(),
            dev_fingerprint: fingerprints.1.clone(),
            completed_epochs: epoch + 1,
            weights_file: format!("epoch-{}.safetensors", epoch + 1),
            optimizer_file: format!("optimizer-{}.safetensors", epoch + 1),
            optimizer_steps: steps_taken(&opt),
            best_staged: None,
            output: output.clone(),
        };
        output = commit_epoch(&teacher, &opt, state, record, out_dir)?;
    }
    if end_epoch == cfg.epochs {
        write_json(&out_dir.join("fine_tune.json"), &output)?;
    }
    Ok(output)
}

/// The encoded training and dev sets of one fine-tune, with their gold labels.
struct Encodings<'a> {
    train: &'a [Encoded],
    train_gold: &'a [i64],
    /// Token counts of `train`, for length-bucketed batches.
    lengths: &'a [usize],
    dev: &'a [Encoded],
    dev_gold: &'a [i64],
}

/// One epoch (0-based `epoch`): its batches, the training steps, then the dev evaluation.
fn run_epoch(
    teacher: &Teacher,
    opt: &mut AdamW,
    cfg: &FineTuneConfig,
    schedule: &Schedule,
    data: &Encodings,
    epoch: usize,
) -> Result<EpochRecord> {
    let started = Instant::now();
    // Seeds depend on (seed, epoch) only, so a resumed epoch replays the same batches/dropout.
    let epoch_seed = kd_core::seed::epoch_seed(cfg.seed, epoch + 1);
    tch::manual_seed(epoch_seed as i64);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(epoch_seed);
    let batches = plan_batches(data.lengths, cfg.batch_size, POOL_BATCHES, &mut rng);
    let epoch_data = EpochData {
        encoded: data.train,
        gold: data.train_gold,
        batches: &batches,
        epoch,
    };
    let loss_sum = train_epoch(teacher, opt, cfg, schedule, &epoch_data)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let dev_logits = teacher.predict_encoded(data.dev, cfg.eval_batch_size, false)?;
    let n = data.train.len();
    Ok(EpochRecord {
        epoch: epoch + 1,
        train_loss: loss_sum / n as f64,
        dev_accuracy: accuracy(&dev_logits, data.dev_gold, teacher.num_labels()),
        seconds: started.elapsed().as_secs_f64(),
        examples_per_sec: n as f64 / train_seconds.max(1e-9),
    })
}

/// Checks the arguments of [`fine_tune_epochs`]; returns the training examples it uses (the
/// first `cfg.max_train_examples`).
fn checked_inputs<'a>(
    train: &'a [Example],
    dev: &[Example],
    num_labels: usize,
    cfg: &FineTuneConfig,
) -> Result<&'a [Example]> {
    cfg.validate()?;
    if num_labels < 2 {
        return Err(TeacherError::InvalidArgument(format!(
            "num_labels must be >= 2, got {num_labels}"
        )));
    }
    let train = &train[..train
        .len()
        .min(cfg.max_train_examples.unwrap_or(usize::MAX))];
    if train.is_empty() || dev.is_empty() {
        return Err(TeacherError::InvalidArgument(format!(
            "need training and dev examples, got {} and {}",
            train.len(),
            dev.len()
        )));
    }
    Ok(train)
}

/// The learning-rate schedule's step counts.
struct Schedule {
    steps_per_epoch: usize,
    warmup_steps: usize,
    total_steps: usize,
}

impl Schedule {
    fn new(train_len: usize, cfg: &FineTuneConfig) -> Self {
        let steps_per_epoch = train_len.div_ceil(cfg.batch_size);
        let total_steps = steps_per_epoch * cfg.epochs;
        Schedule {
            steps_per_epoch,
            warmup_steps: (cfg.warmup_ratio * total_steps as f64).round() as usize,
            total_steps,
        }
    }
}

/// What one training epoch reads: the encoded examples, their labels, the epoch's batches.
struct EpochData<'a> {
    encoded: &'a [Encoded],
    gold: &'a [i64],
    batches: &'a [Vec<usize>],
    /// 0-based.
    epoch: usize,
}

/// The resume state in `out_dir`, checked against this call's inputs, with its best teacher
/// installed and its weights loaded into `teacher`; `None` when there is none.
fn resume(
    teacher: &mut Teacher,
    cfg: &FineTuneConfig,
    num_labels: usize,
    fingerprints: &(String, String),
    out_dir: &Path,
) -> Result<Option<ResumeState>> {
    let resume_dir = out_dir.join("resume");
    let state_path = resume_dir.join("state.json");
    let Some(state) = read_state(&state_path)? else {
        return Ok(None);
    };
    let mismatch = if state.config != *cfg {
        Some(format!(
            "it was started with a different config: {:?}",
            state.config
        ))
    } else if state.num_labels != num_labels {
        Some(format!(
            "it was started with num_labels {}",
            state.num_labels
        ))
    } else if (&state.train_fingerprint, &state.dev_fingerprint)
        != (&fingerprints.0, &fingerprints.1)
    {
        Some("it was started on different train/dev examples".into())
    } else {
        None
    };
    if let Some(msg) = mismatch {
        return Err(TeacherError::WorkDir {
            path: state_path,
            msg: format!("cannot resume: {msg}"),
        });
    }
    if let Some(staged) = &state.best_staged {
        install_best(&resume_dir, staged, out_dir)?;
    }
    load_safetensors(
        &mut teacher.vs,
        &resume_dir.join(&state.weights_file),
        |_| false,
    )?;
    Ok(Some(state))
}

/// Loads the AdamW moments `state` names, checking their step count against the state's.
fn restore_optimizer(opt: &mut AdamW, resume_dir: &Path, state: &ResumeState) -> Result<()> {
    let path = resume_dir.join(&state.optimizer_file);
    let named = load_tensors(&path)?;
    opt.load_state_tensors(&named)
        .map_err(|e| TeacherError::checkpoint(&path, e.to_string()))?;
    let loaded = steps_taken(opt);
    if loaded != state.optimizer_steps {
        return Err(TeacherError::checkpoint(
            &path,
            format!(
                "holds {loaded} optimiser steps, the resume state records {}",
                state.optimizer_steps
            ),
        ));
    }
    Ok(())
}

/// One pass over the epoch's batches (learning rate per step from `schedule`, clipped AdamW
/// steps); returns the example-weighted loss sum. A non-finite loss or gradient norm stops it
/// before the optimiser step.
fn train_epoch(
    teacher: &Teacher,
    opt: &mut AdamW,
    cfg: &FineTuneConfig,
    schedule: &Schedule,
    data: &EpochData,
) -> Result<f64> {
    let (epoch, device) = (data.epoch, teacher.device());
    let bar = example_bar(
        data.gold.len() as u64,
        &format!("epoch {}/{}", epoch + 1, cfg.epochs),
        true,
    );
    let mut loss_sum = 0.0;
    for (i, batch) in data.batches.iter().enumerate() {
        kd_core::stop::check()?;
        let step = epoch * schedule.steps_per_epoch + i;
        opt.set_lr(cfg.lr * linear_warmup_decay(step, schedule.warmup_steps, schedule.total_steps));
        let refs: Vec<&Encoded> = batch.iter().map(|&j| &data.encoded[j]).collect();
        let input = collate(&refs, teacher.tokenizer.pad_id()).to_device(device);
        let gold: Vec<i64> = batch.iter().map(|&j| data.gold[j]).collect();
        let targets = Tensor::from_slice(&gold).to_device(device);
        let logits = teacher.model.forward_t(&input, true)?;
        let loss_t = logits.cross_entropy_for_logits(&targets);
        let loss = loss_t.f_double_value(&[])?;
        let diverged = |what, value| TeacherError::NonFinite {
            what,
            value,
            epoch: epoch + 1,
            step: i + 1,
            steps_per_epoch: schedule.steps_per_epoch,
        };
        if !loss.is_finite() {
            return Err(diverged("training loss", loss));
        }
        let norm = optimizer_step(opt, &loss_t)?;
        if !norm.is_finite() {
            return Err(diverged("gradient norm", norm));
        }
        loss_sum += loss * batch.len() as f64;
        bar.inc(batch.len() as u64);
        bar.set_message(format!("loss {loss:.4}"));
    }
    bar.finish_and_clear();
    Ok(loss_sum)
}

/// Commits a finished epoch as the module docs describe: (1) this epoch's weights, moments and,
/// when it is the best so far, a staged teacher, under names the current state does not name;
/// (2) `state.json` replaced atomically; (3) the staged teacher rolled into `out_dir` and what
/// nothing names deleted. `state` arrives with everything but `best_staged` and the epoch's
/// record filled in; returns the updated output.
fn commit_epoch(
    teacher: &Teacher,
    opt: &AdamW,
    mut state: ResumeState,
    record: EpochRecord,
    out_dir: &Path,
) -> Result<FineTuneOutput> {
    let resume_dir = out_dir.join("resume");
    save_safetensors(&teacher.vs, &resume_dir.join(&state.weights_file))?;
    save_tensors(
        &resume_dir.join(&state.optimizer_file),
        &opt.state_tensors(),
    )?;
    let output = &mut state.output;
    let improved = output.best_epoch == 0 || record.dev_accuracy > output.best_dev_accuracy;
    if improved {
        let staged = format!("best-{}", record.epoch);
        teacher.save(&resume_dir.join(&staged))?;
        output.best_epoch = record.epoch;
        output.best_dev_accuracy = record.dev_accuracy;
        state.best_staged = Some(staged);
    }
    state.output.history.push(record);

    write_json(&resume_dir.join("state.json"), &state)?;

    if let Some(staged) = &state.best_staged {
        install_best(&resume_dir, staged, out_dir)?;
    }
    remove_unreferenced(&resume_dir, &state)?;
    Ok(state.output)
}
