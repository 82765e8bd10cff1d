//! Loading the teacher and the student for measurements (`table2`, `bench`): a trained checkpoint
//! when one is given, else the untrained model of the default configuration — size and speed do
//! not depend on the weights.

use crate::config::ExperimentConfig;
use anyhow::{Context, Result};
use bilstm_student::{EmbeddingMode, StudentConfig, StudentModel, Vocab, WordVectors};
use kd_core::data::Example;
use std::path::Path;

/// The default SST-2 configuration (from `experiments/configs/sst2.yaml`, compiled in).
pub fn default_sst2_config() -> Result<ExperimentConfig> {
    ExperimentConfig::load(
        &crate::config::layered::Source::Embedded("sst2.yaml"),
        &crate::config::Overrides::default(),
    )
    .context("the built-in sst2 config")
}

/// The teacher from a fine-tuned dir, else MiniLM from `init_dir` with a fresh head.
pub fn teacher(
    dir: Option<&Path>,
    init_dir: &Path,
    num_labels: usize,
    device: tch::Device,
) -> Result<bert_teacher::Teacher> {
    Ok(match dir {
        Some(d) => bert_teacher::Teacher::load(d, device)
            .with_context(|| format!("loading the teacher from {}", d.display()))?,
        None => bert_teacher::Teacher::from_pretrained(init_dir, num_labels, device)
            .with_context(|| format!("loading {}", init_dir.display()))?,
    })
}

/// A fresh student of `cfg` with a vocabulary built from `texts`, its vectors loaded as the config
/// says. Initialisation draws from libtorch's global generator, which is seeded with `seed` first:
/// a model built after cached stages (a resumed run) starts from the same weights as in an
/// uninterrupted run.
pub fn fresh_student<'a>(
    cfg: &StudentConfig,
    texts: impl IntoIterator<Item = &'a str>,
    seed: u64,
    device: tch::Device,
) -> Result<(StudentModel, tch::nn::VarStore)> {
    let vocab = Vocab::build(texts, &cfg.vocab);
    let vectors = match (&cfg.embedding.mode, &cfg.embedding.vectors) {
        (EmbeddingMode::Rand, _) => None,
        (_, Some(path)) => Some(
            WordVectors::load(path, &vocab)
                .with_context(|| format!("loading word vectors from {}", path.display()))?,
        ),
        (mode, None) => {
            anyhow::bail!("student.model.embedding.mode {mode:?} needs embedding.vectors")
        }
    };
    tch::manual_seed(seed as i64);
    let vs = tch::nn::VarStore::new(device);
    let model = StudentModel::with_vectors(vs.root(), cfg, vocab, vectors.as_ref())?;
    Ok((model, vs))
}

/// Examples as the student reads them: gold labels kept, no teacher logits (evaluation, timing,
/// hard-label training).
pub fn student_examples(examples: &[Example]) -> Vec<bilstm_student::StudentExample> {
    examples
        .iter()
        .map(|e| bilstm_student::StudentExample {
            text_a: e.text_a.clone(),
            text_b: e.text_b.clone(),
            label: e.label,
            teacher_logits: None,
        })
        .collect()
}

/// Both sentences' texts of `examples`.
pub fn texts(examples: &[Example]) -> impl Iterator<Item = &str> {
    examples
        .iter()
        .flat_map(|e| std::iter::once(e.text_a.as_str()).chain(e.text_b.as_deref()))
}

/// The student from a trained dir, else a fresh one.
pub fn student(
    dir: Option<&Path>,
    cfg: &StudentConfig,
    train: &[Example],
    device: tch::Device,
) -> Result<(StudentModel, tch::nn::VarStore)> {
    match dir {
        Some(d) => StudentModel::load_on(d, device)
            .with_context(|| format!("loading the student from {}", d.display())),
        None => fresh_student(cfg, texts(train), 0, device),
    }
}
