//! The one training loop for every student (paper §3.1 and §4.2): single-sentence or pair
//! model, trained on gold labels (`Objective::Hard`, the BiLSTM baseline) or on teacher logits
//! (`Objective::Distill`, eq. 3), with Adadelta, dev evaluation each epoch, best-checkpoint
//! keeping, optional early stopping and epoch-level resume.
//!
//! Files in `out_dir`: `best.safetensors` + `vocab.json` + `student_config.json` (the best
//! epoch; [`StudentModel::load`] restores it), `last.safetensors` (model, optimiser and training
//! state after the last finished epoch, see `checkpoint`), `train_state.json` (readable copy)
//! and `train_config.json`.
//!
//! Determinism: epoch `e`'s shuffle uses a ChaCha8 generator seeded with `(seed, e)` and its
//! dropout masks come from `tch::manual_seed` of the same pair, so no generator state needs
//! saving: a run resumed after epoch `e` replays exactly what an uninterrupted run does.

use crate::batch::{plan_batches, sorted_batches, Batch, Encoded};
use crate::checkpoint::{self, TrainState};
use crate::model::{named_variables, StudentModel, WEIGHTS_FILE};
use indicatif::ProgressBar;
use kd_core::loss::{hard_ce, DistillLoss};
use kd_core::metrics::{accuracy, argmax_rows};
use kd_core::optim::{Adadelta, AdadeltaConfig};
use kd_core::{KdError, Result};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use tch::{nn, Kind, Tensor};

/// One training or evaluation example. `text_b` is the second sentence of a pair task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentExample {
    /// First (or only) sentence, whitespace-tokenised.
    pub text_a: String,
    /// Second sentence (pair model).
    pub text_b: Option<String>,
    /// Gold label (required by `Objective::Hard` and for dev examples).
    pub label: Option<usize>,
    /// Teacher logits `[num_classes]` (required by `Objective::Distill`).
    pub teacher_logits: Option<Vec<f32>>,
}

/// What the student is trained to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Objective {
    /// Cross-entropy with the gold labels (every training example needs a label).
    Hard,
    /// `alpha · CE + (1 - alpha) · soft` against the teacher's logits (eq. 3).
    Distill(DistillLoss),
}

/// The training loop's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Number of epochs.
    pub epochs: usize,
    /// Training batch size (paper: 50 for SST-2, 256 for the pair tasks).
    pub batch_size: usize,
    /// Adadelta settings (paper: lr 1.0, rho 0.95).
    pub optimizer: AdadeltaConfig,
    /// Loss.
    pub objective: Objective,
    /// Seed for initialisation-independent randomness: shuffles and dropout.
    pub seed: u64,
    /// Stop after this many epochs without a better dev accuracy.
    pub patience: Option<usize>,
    /// Batch size for dev evaluation.
    pub eval_batch_size: usize,
    /// Batches per length-sorting pool (1: plain shuffle, no length grouping).
    pub sort_pool_batches: usize,
    /// libtorch intra-op threads (`None`: libtorch's default).
    pub threads: Option<usize>,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            batch_size: 50,
            optimizer: AdadeltaConfig::default(),
            objective: Objective::Hard,
            seed: 0,
            patience: None,
            eval_batch_size: 512,
            sort_pool_batches: 50,
            threads: None,
            progress: true,
        }
    }
}

/// The result of [`train`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOutput {
    /// Epoch (1-based) with the best dev accuracy.
    pub best_epoch: usize,
    /// Its dev accuracy.
    pub best_dev_accuracy: f64,
    /// One record per epoch run (including epochs run before a resume).
    pub history: Vec<EpochRecord>,
    /// Epochs an earlier, interrupted call had finished when this one resumed (0: a fresh run;
    /// all of them: a finished run called again). A property of the call, not of the model, so
    /// it is not serialised; the caller needs it to tell this call's wall time from the epochs'.
    #[serde(skip)]
    pub resumed_epochs: usize,
}

pub use kd_core::record::EpochRecord;

/// Trains `model` (whose weights live in `vs`) on `train`, evaluating on `dev` after each epoch.
///
/// If `out_dir` holds a `last.safetensors` from an earlier call with the same configuration
/// (epochs aside), training resumes after its last finished epoch. On return `vs` holds the best
/// epoch's weights (also in `out_dir/best.safetensors`).
pub fn train(
    model: &StudentModel,
    vs: &mut nn::VarStore,
    train: &[StudentExample],
    dev: &[StudentExample],
    cfg: &TrainConfig,
    out_dir: &Path,
) -> Result<TrainOutput> {
    check_inputs(train, dev, cfg)?;
    if let Some(n) = cfg.threads {
        tch::set_num_threads(n as i32);
    }
    let num_classes = model.config().num_classes;
    let targets = Targets::new(train, cfg.objective, num_classes)?;
    let dev_labels = labels_of(dev, "dev", num_classes)?;
    let encoded = encode_all(model, train)?;
    let dev_encoded = encode_all(model, dev)?;
    let lengths: Vec<usize> = encoded.iter().map(Encoded::len).collect();

    std::fs::create_dir_all(out_dir).map_err(|e| KdError::io(out_dir, e))?;
    let mut opt = Adadelta::try_new(vs.trainable_variables(), cfg.optimizer)?;
    let mut state = resume_or_start(model, vs, &mut opt, cfg, out_dir)?;
    let resumed_epochs = state.epochs_done;
    while state.epochs_done < cfg.epochs && !state.stopped_early {
        let epoch = state.epochs_done + 1;
        let start = Instant::now();
        let epoch_seed = kd_core::seed::epoch_seed(cfg.seed, epoch);
        tch::manual_seed(epoch_seed as i64);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(epoch_seed);
        let batches = plan_batches(&lengths, cfg.batch_size, cfg.sort_pool_batches, &mut rng);
        let bar = progress_bar(cfg.progress, train.len() as u64, epoch, cfg.epochs);
        let loss_sum = train_epoch(model, &mut opt, &encoded, &batches, &targets, epoch, &bar)?;
        bar.finish_and_clear();
        let train_secs = start.elapsed().as_secs_f64();
        // Dev encodings do not change between epochs (the vocabulary is fixed): encode once.
        let dev_logits = predict_encoded(model, &dev_encoded, cfg.eval_batch_size)?;
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / train.len() as f64,
            dev_accuracy: accuracy(&argmax_rows(&dev_logits), &dev_labels),
            seconds: start.elapsed().as_secs_f64(),
            examples_per_sec: train.len() as f64 / train_secs.max(1e-9),
        };
        if cfg.progress {
            eprintln!("student {record}");
        }
        finish_epoch(model, vs, &opt, &mut state, record, cfg, out_dir)?;
    }
    let best = out_dir.join(WEIGHTS_FILE);
    vs.load(&best)
        .map_err(|e| KdError::parse(&best, 0, e.to_string()))?;
    Ok(TrainOutput {
        best_epoch: state.best_epoch,
        best_dev_accuracy: state.best_dev_accuracy,
        history: state.history,
        resumed_epochs,
    })
}

/// The checks [`train`] makes before it touches `out_dir`.
fn check_inputs(train: &[StudentExample], dev: &[StudentExample], cfg: &TrainConfig) -> Result<()> {
    if cfg.epochs == 0 || cfg.batch_size == 0 || cfg.eval_batch_size == 0 {
        return Err(KdError::InvalidArgument(
            "epochs, batch_size and eval_batch_size must be > 0".into(),
        ));
    }
    if train.is_empty() || dev.is_empty() {
        return Err(KdError::InvalidArgument(
            "train and dev sets must be non-empty".into(),
        ));
    }
    cfg.optimizer.validate()
}

/// The state of an earlier call's `last.safetensors` (weights and Adadelta moments restored
/// into `vs` and `opt`), or a fresh state after writing the model's metadata and config.
fn resume_or_start(
    model: &StudentModel,
    vs: &mut nn::VarStore,
    opt: &mut Adadelta,
    cfg: &TrainConfig,
    out_dir: &Path,
) -> Result<TrainState> {
    let fingerprint = fingerprint(cfg)?;
    if let Some(last) = checkpoint::load_last(out_dir)? {
        if last.state.config_fingerprint != fingerprint {
            return Err(KdError::InvalidArgument(format!(
                "{} was written by a different training configuration; use a new out_dir",
                out_dir.join(checkpoint::LAST_FILE).display()
            )));
        }
        copy_into(vs, &last.model, &out_dir.join(checkpoint::LAST_FILE))?;
        opt.load_state_tensors(&last.optim)?;
        return Ok(last.state);
    }
    model.save_meta(out_dir)?;
    let json = serde_json::to_vec_pretty(cfg)
        .map_err(|e| KdError::InvalidArgument(format!("serialising train config: {e}")))?;
    kd_core::io::atomic_write_bytes(&out_dir.join("train_config.json"), &json)?;
    Ok(TrainState {
        epochs_done: 0,
        best_epoch: 0,
        best_dev_accuracy: -1.0,
        history: Vec::new(),
        stopped_early: false,
        seed: cfg.seed,
        config_fingerprint: fingerprint,
    })
}

/// One pass over `batches`: forward, loss, Adadelta step. Returns the example-weighted loss sum.
fn train_epoch(
    model: &StudentModel,
    opt: &mut Adadelta,
    encoded: &[Encoded],
    batches: &[Vec<usize>],
    targets: &Targets,
    epoch: usize,
    bar: &ProgressBar,
) -> Result<f64> {
    let mut loss_sum = 0.0;
    for idx in batches {
        kd_core::stop::check()?;
        let refs: Vec<&Encoded> = idx.iter().map(|&i| &encoded[i]).collect();
        let batch = Batch::new(&refs)?;
        let logits = model.forward_t(&batch, true)?;
        let loss = targets.loss(&logits, idx)?;
        opt.zero_grad();
        loss.backward();
        opt.step();
        let value = loss.double_value(&[]);
        if !value.is_finite() {
            return Err(KdError::InvalidArgument(format!(
                "training loss became {value} in epoch {epoch}"
            )));
        }
        loss_sum += value * idx.len() as f64;
        bar.inc(idx.len() as u64);
    }
    Ok(loss_sum)
}

/// Records a finished epoch: keeps the weights when dev accuracy improved, applies patience,
/// and saves `last.safetensors` (the resume point) — in that order, so that a kill between the
/// two saves replays the epoch.
fn finish_epoch(
    model: &StudentModel,
    vs: &nn::VarStore,
    opt: &Adadelta,
    state: &mut TrainState,
    record: EpochRecord,
    cfg: &TrainConfig,
    out_dir: &Path,
) -> Result<()> {
    let epoch = record.epoch;
    if record.dev_accuracy > state.best_dev_accuracy {
        state.best_dev_accuracy = record.dev_accuracy;
        state.best_epoch = epoch;
        model.save(vs, out_dir)?;
    }
    state.history.push(record);
    state.epochs_done = epoch;
    if let Some(p) = cfg.patience {
        state.stopped_early = epoch - state.best_epoch >= p && epoch < cfg.epochs;
    }
    checkpoint::save_last(out_dir, named_variables(vs), opt.state_tensors(), state)
}

/// Logits `[n, num_classes]` for `examples`, in input order (eval mode, no gradients).
pub fn predict(
    model: &StudentModel,
    examples: &[StudentExample],
    batch_size: usize,
) -> Result<Tensor> {
    predict_encoded(model, &encode_all(model, examples)?, batch_size)
}

/// [`predict`] on already-encoded examples.
pub fn predict_encoded(
    model: &StudentModel,
    encoded: &[Encoded],
    batch_size: usize,
) -> Result<Tensor> {
    if batch_size == 0 {
        return Err(KdError::InvalidArgument("batch_size must be > 0".into()));
    }
    let num_classes = model.config().num_classes as i64;
    if encoded.is_empty() {
        return Ok(Tensor::zeros(
            [0, num_classes],
            (Kind::Float, tch::Device::Cpu),
        ));
    }
    let lengths: Vec<usize> = encoded.iter().map(Encoded::len).collect();
    let batches = sorted_batches(&lengths, batch_size);
    tch::no_grad(|| {
        let mut parts = Vec::with_capacity(batches.len());
        for idx in &batches {
            let refs: Vec<&Encoded> = idx.iter().map(|&i| &encoded[i]).collect();
            parts.push(model.forward_t(&Batch::new(&refs)?, false)?);
        }
        let sorted = Tensor::cat(&parts, 0).to_device(tch::Device::Cpu);
        // Row k of `sorted` is example order[k]; scatter back to input order.
        let order: Vec<i64> = batches.iter().flatten().map(|&i| i as i64).collect();
        let out = Tensor::zeros(
            [encoded.len() as i64, num_classes],
            (Kind::Float, tch::Device::Cpu),
        );
        Ok(out.index_copy(0, &Tensor::from_slice(&order), &sorted))
    })
}

fn encode_all(model: &StudentModel, examples: &[StudentExample]) -> Result<Vec<Encoded>> {
    examples
        .iter()
        .map(|e| model.encode(&e.text_a, e.text_b.as_deref()))
        .collect()
}

fn labels_of(examples: &[StudentExample], set: &str, num_classes: usize) -> Result<Vec<usize>> {
    kd_core::labels::checked_labels(examples.iter().map(|e| e.label), num_classes, set)
}

/// The training targets, gathered per batch.
struct Targets {
    objective: Objective,
    labels: Option<Vec<i64>>,
    teacher: Option<Vec<f32>>,
    num_classes: usize,
}

impl Targets {
    fn new(train: &[StudentExample], objective: Objective, num_classes: usize) -> Result<Self> {
        let labelled = train.iter().filter(|e| e.label.is_some()).count();
        let labels = match (objective, labelled) {
            (Objective::Hard, _) | (Objective::Distill(_), _) if labelled == train.len() => Some(
                labels_of(train, "train", num_classes)?
                    .into_iter()
                    .map(|l| l as i64)
                    .collect(),
            ),
            (Objective::Distill(_), 0) => None,
            _ => {
                return Err(KdError::InvalidArgument(format!(
                    "{labelled} of {} training examples have labels; {} needs all of them{}",
                    train.len(),
                    if matches!(objective, Objective::Hard) {
                        "the hard objective"
                    } else {
                        "distillation"
                    },
                    if matches!(objective, Objective::Hard) {
                        ""
                    } else {
                        " or none"
                    }
                )))
            }
        };
        let teacher = match objective {
            Objective::Hard => None,
            Objective::Distill(loss) => {
                loss.validate()?;
                let mut flat = Vec::with_capacity(train.len() * num_classes);
                for (i, e) in train.iter().enumerate() {
                    match &e.teacher_logits {
                        Some(z) if z.len() == num_classes => flat.extend_from_slice(z),
                        Some(z) => {
                            return Err(KdError::Shape(format!(
                                "train example {i}: teacher_logits has {} values, num_classes is {num_classes}",
                                z.len()
                            )))
                        }
                        None => {
                            return Err(KdError::InvalidArgument(format!(
                                "train example {i} has no teacher_logits (needed by distillation)"
                            )))
                        }
                    }
                }
                Some(flat)
            }
        };
        Ok(Targets {
            objective,
            labels,
            teacher,
            num_classes,
        })
    }

    fn loss(&self, logits: &Tensor, idx: &[usize]) -> Result<Tensor> {
        let device = logits.device();
        let labels = self.labels.as_ref().map(|l| {
            let v: Vec<i64> = idx.iter().map(|&i| l[i]).collect();
            Tensor::from_slice(&v).to_device(device)
        });
        match self.objective {
            Objective::Hard => hard_ce(logits, labels.as_ref().unwrap_or_else(|| unreachable!())),
            Objective::Distill(loss) => {
                let all = self.teacher.as_ref().unwrap_or_else(|| unreachable!());
                let c = self.num_classes;
                let mut z = Vec::with_capacity(idx.len() * c);
                for &i in idx {
                    z.extend_from_slice(&all[i * c..(i + 1) * c]);
                }
                let teacher = Tensor::from_slice(&z)
                    .view([idx.len() as i64, c as i64])
                    .to_device(device);
                loss.forward(logits, &teacher, labels.as_ref())
            }
        }
    }
}

/// Copies checkpoint tensors into the store's variables, requiring every variable.
fn copy_into(vs: &nn::VarStore, tensors: &[(String, Tensor)], path: &Path) -> Result<()> {
    let vars = vs.variables();
    let by_name: std::collections::HashMap<&str, &Tensor> =
        tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    for (name, var) in vars {
        let src = by_name
            .get(name.as_str())
            .ok_or_else(|| KdError::parse(path, 0, format!("checkpoint lacks variable {name}")))?;
        if src.size() != var.size() {
            return Err(KdError::Shape(format!(
                "{}: {name} is {:?} in the checkpoint but {:?} in the model",
                path.display(),
                src.size(),
                var.size()
            )));
        }
        let mut var = var;
        tch::no_grad(|| var.copy_(src));
    }
    Ok(())
}

/// The configuration fields that must match for a resume (epochs may grow, threads and the
/// progress bar do not change results).
fn fingerprint(cfg: &TrainConfig) -> Result<String> {
    let mut c = cfg.clone();
    c.epochs = 0;
    c.threads = None;
    c.progress = false;
    c.patience = None;
    serde_json::to_string(&c)
        .map_err(|e| KdError::InvalidArgument(format!("serialising train config: {e}")))
}

fn progress_bar(show: bool, len: u64, epoch: usize, epochs: usize) -> ProgressBar {
    kd_core::progress::example_bar(len, &format!("epoch {epoch}/{epochs}"), show)
}
