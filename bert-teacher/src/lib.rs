//! # bert-teacher
//!
//! The teacher of Tang et al. 2019, "Distilling Task-Specific Knowledge from BERT into Simple
//! Neural Networks" (arXiv 1903.12136), §3 and §4.2: a BERT sequence classifier fine-tuned on
//! the task, whose logits `z^B` label the augmented transfer set.
//!
//! - [`bert`]: BERT in tch, block by block after transformers' `modeling_bert.py`, with HF
//!   state-dict names; [`checkpoint`] loads any HF BERT safetensors file (with or without the
//!   `bert.` prefix).
//! - [`tokenize`]: `tokenizer.json` via the `tokenizers` crate, per-batch padding.
//! - [`Teacher`]: model + tokenizer + config + device, a [`kd_core::Classifier`];
//!   [`fine_tune`]: AdamW fine-tuning with epoch-level resume; [`label_resumable`]: chunked,
//!   resumable labelling.
//!
//! The teacher used here is all-MiniLM-L6-v2 (6 layers, hidden 384, no classifier). A fresh
//! classifier, and a fresh pooler for checkpoints without one, is added as HF's
//! `BertForSequenceClassification` would (see [`bert::pooler`] for why).

pub mod bert;
pub mod checkpoint;
pub mod error;
pub mod finetune;
mod fingerprint;
pub mod label;
pub mod teacher;
pub mod tokenize;

pub use error::{Result, TeacherError};
pub use finetune::{
    fine_tune, fine_tune_epochs, fine_tune_on, EpochRecord, FineTuneConfig, FineTuneOutput,
};
pub use label::label_resumable;
pub use teacher::{epoch_weights, Teacher};
