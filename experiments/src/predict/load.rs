//! Loading a model: what a directory holds ([`detect`]), the class names of a `k`-class model
//! ([`class_names`]) and the [`Predictor`] with its accessors.

use super::input::Pairing;
use crate::stages::evaluate::load_student;
use anyhow::{bail, Context, Result};
use bilstm_student::StudentModel;
use kd_core::data::Task;
use kd_core::Classifier;
use std::path::{Path, PathBuf};

/// Default batch size of a student (a BiLSTM batch of 256 is cheap on a CPU).
pub const STUDENT_BATCH_SIZE: usize = 256;
/// Default batch size of the teacher.
pub const TEACHER_BATCH_SIZE: usize = 32;

/// Files of a student dir, in the order they are reported missing.
const STUDENT_FILES: [&str; 3] = [
    bilstm_student::model::CONFIG_FILE,
    bilstm_student::model::VOCAB_FILE,
    bilstm_student::model::WEIGHTS_FILE,
];
/// Files of a teacher dir, in the order they are reported missing.
const TEACHER_FILES: [&str; 3] = [
    bert_teacher::teacher::CONFIG_FILE,
    bert_teacher::teacher::WEIGHTS_FILE,
    bert_teacher::teacher::TOKENIZER_FILE,
];

/// What kind of model a directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A trained BiLSTM student (`runs/store/student-<hash>/`).
    Student,
    /// A fine-tuned BERT teacher (`runs/store/teacher-<hash>/`).
    Teacher,
}

impl ModelKind {
    /// `student` or `teacher`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Student => "student",
            ModelKind::Teacher => "teacher",
        }
    }
}

/// The kind of model in `dir`, from its files: a one-line error naming the missing file when the
/// dir is incomplete, or the files it looked for when it is no model dir at all.
pub fn detect(dir: &Path) -> Result<ModelKind> {
    if !dir.exists() {
        bail!("{}: no such directory", dir.display());
    }
    if !dir.is_dir() {
        bail!(
            "{}: not a directory (give the model's directory)",
            dir.display()
        );
    }
    let has = |name: &str| dir.join(name).is_file();
    let check = |kind: ModelKind, files: &[&str]| -> Result<ModelKind> {
        let missing: Vec<&str> = files.iter().copied().filter(|f| !has(f)).collect();
        if missing.is_empty() {
            return Ok(kind);
        }
        let unfinished = if has("done.json") {
            ""
        } else {
            " (no done.json either: is its training finished?)"
        };
        bail!(
            "{}: incomplete {} dir: {} missing{unfinished}",
            dir.display(),
            kind.name(),
            missing.join(", "),
        )
    };
    if STUDENT_FILES.iter().any(|f| has(f)) {
        return check(ModelKind::Student, &STUDENT_FILES);
    }
    if TEACHER_FILES.iter().any(|f| has(f)) {
        return check(ModelKind::Teacher, &TEACHER_FILES);
    }
    bail!(
        "{}: not a model dir: no {} (a student, e.g. runs/store/student-<hash>/) nor {} (a \
         teacher, e.g. runs/store/teacher-<hash>/)",
        dir.display(),
        STUDENT_FILES[0],
        TEACHER_FILES[0],
    )
}

/// The class names of a `k`-class model of this project, in class-index order: those of the
/// GLUE task with `k` classes (`0`, `1` for SST-2 and QQP; MNLI's `contradiction`, `entailment`,
/// `neutral`), else the class indices.
pub fn class_names(k: usize) -> Vec<String> {
    match [Task::Sst2, Task::Qqp, Task::Mnli]
        .into_iter()
        .find(|t| t.num_classes() == k)
    {
        Some(task) => task.label_names().iter().map(|s| s.to_string()).collect(),
        None => (0..k).map(|i| i.to_string()).collect(),
    }
}

/// A loaded model.
enum Model {
    /// The student, with the `VarStore` its weights live in (kept alive with it).
    Student {
        model: Box<StudentModel>,
        _vs: tch::nn::VarStore,
    },
    Teacher(Box<bert_teacher::Teacher>),
}

/// A trained model ready to predict: a [`Classifier`] with its kind, class names and the inputs
/// it reads.
pub struct Predictor {
    model: Model,
    kind: ModelKind,
    dir: PathBuf,
    class_names: Vec<String>,
}

impl Predictor {
    /// Loads the model in `dir` ([`detect`] says which kind) onto `device`; `None` is CUDA when
    /// available, else the CPU.
    pub fn load(dir: &Path, device: Option<tch::Device>) -> Result<Self> {
        let kind = detect(dir)?;
        let device = device.unwrap_or_else(tch::Device::cuda_if_available);
        let model = match kind {
            ModelKind::Student => {
                let (model, _vs) = load_student(dir, device)?;
                Model::Student {
                    model: Box::new(model),
                    _vs,
                }
            }
            ModelKind::Teacher => {
                let config_path = dir.join(bert_teacher::teacher::CONFIG_FILE);
                let config = bert_teacher::bert::BertConfig::from_file(&config_path)?;
                if config.num_labels().is_none() {
                    bail!(
                        "{}: a pre-trained BERT without a classifier head (no id2label or \
                         num_labels): it cannot classify; fine-tune it first (`sst2` writes \
                         the fine-tuned teacher to runs/store/teacher-<hash>/)",
                        config_path.display()
                    );
                }
                let teacher = bert_teacher::Teacher::load(dir, device)
                    .with_context(|| format!("loading the teacher from {}", dir.display()))?;
                Model::Teacher(Box::new(teacher))
            }
        };
        let mut p = Predictor {
            model,
            kind,
            dir: dir.to_path_buf(),
            class_names: Vec::new(),
        };
        p.class_names = class_names(p.classifier().num_classes());
        Ok(p)
    }

    /// The model, as the pipeline's evaluation uses it.
    pub fn classifier(&self) -> &dyn Classifier {
        match &self.model {
            Model::Student { model, .. } => model.as_ref(),
            Model::Teacher(t) => t.as_ref(),
        }
    }

    /// Student or teacher.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// The directory it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Class names in class-index order ([`class_names`]).
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Which inputs the model reads.
    pub fn pairing(&self) -> Pairing {
        match (self.kind, self.classifier().is_pair()) {
            (ModelKind::Teacher, _) => Pairing::Either,
            (ModelKind::Student, true) => Pairing::Pair,
            (ModelKind::Student, false) => Pairing::Single,
        }
    }

    /// The default batch size of this kind ([`STUDENT_BATCH_SIZE`], [`TEACHER_BATCH_SIZE`]).
    pub fn default_batch_size(&self) -> usize {
        match self.kind {
            ModelKind::Student => STUDENT_BATCH_SIZE,
            ModelKind::Teacher => TEACHER_BATCH_SIZE,
        }
    }
}
