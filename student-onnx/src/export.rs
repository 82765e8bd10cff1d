//! `export`: a trained student directory → an ONNX bundle ([`crate::bundle`]).
//!
//! Provenance: dev accuracy, kept epoch and training revision from the student's `done.json`;
//! variant, seed, task, targets and teacher from the run that trained it: its out dir's
//! `stages.json` (which names the student's store dir) and `variants.csv`. The run is `--run DIR`
//! when given, else looked for beside the store (`<store>/../<task>/<config>/stages.json`, the
//! pipeline's default layout); fields stay `null` when no run names the student.

use crate::bundle::{self, Architecture, Manifest, Provenance, TokenizerSpec};
use crate::error::{OnnxError, Result};
use crate::graph;
use crate::student_dir::StudentDir;
use crate::tokenize::Tokenizer;
use kd_schema::Task;
use prost::Message;
use std::path::{Path, PathBuf};

/// Class names of a `k`-class model, in class-index order: those of the GLUE task with `k`
/// classes, as GLUE's submission files spell them (`predict`'s rule), else the indices.
pub fn class_names(k: usize) -> Vec<String> {
    match Task::ALL.into_iter().find(|t| t.num_classes() == k) {
        Some(task) => task.label_names().iter().map(|s| s.to_string()).collect(),
        None => (0..k).map(|i| i.to_string()).collect(),
    }
}

/// What a run says of the student it trained.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunInfo {
    /// The run's out dir.
    pub run_dir: Option<PathBuf>,
    /// Its task.
    pub task: Option<String>,
    /// The variant.
    pub variant: Option<String>,
    /// The seed.
    pub seed: Option<u64>,
    /// The variant's targets.
    pub targets: Option<String>,
    /// The run's teacher stage (`teacher-<key>`), when the variant learnt from it.
    pub teacher: Option<String>,
}

/// Finds the run that trained the student in `student` (see the module docs). `run`, when
/// given, must name it.
pub fn run_info(student: &Path, run: Option<&Path>) -> Result<RunInfo> {
    let Some(name) = student
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_owned()))
    else {
        return Ok(RunInfo::default());
    };
    let candidates: Vec<PathBuf> = match run {
        Some(r) => vec![r.join("stages.json")],
        None => {
            let runs = student
                .canonicalize()
                .ok()
                .and_then(|p| p.parent()?.parent().map(Path::to_path_buf));
            let mut found = Vec::new();
            if let Some(runs) = runs {
                for task in sorted_dirs(&runs) {
                    for cfg in sorted_dirs(&task) {
                        if cfg.join("stages.json").is_file() {
                            found.push(cfg.join("stages.json"));
                        }
                    }
                }
            }
            found
        }
    };
    for stages_path in &candidates {
        let bytes = std::fs::read(stages_path).map_err(|e| OnnxError::io(stages_path, e))?;
        let stages: Vec<serde_json::Value> = serde_json::from_slice(&bytes)
            .map_err(|e| OnnxError::parse(stages_path, e.line(), e.to_string()))?;
        let dir_name = |v: &serde_json::Value| {
            v["dir"]
                .as_str()
                .and_then(|d| Path::new(d).file_name().map(|n| n.to_owned()))
        };
        let Some(entry) = stages
            .iter()
            .find(|v| v["stage"] == "student" && dir_name(v).as_deref() == Some(name.as_os_str()))
        else {
            continue;
        };
        let run_dir = stages_path.parent().map(Path::to_path_buf);
        let variant = entry["model"].as_str().map(str::to_owned);
        let (task, targets) = match (&run_dir, &variant) {
            (Some(d), Some(v)) => variant_row(&d.join("variants.csv"), v)?,
            _ => (None, None),
        };
        let teacher = stages
            .iter()
            .find(|v| v["stage"] == "teacher")
            .and_then(dir_name)
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|_| targets.as_deref().is_some_and(|t| t.starts_with("teacher")));
        return Ok(RunInfo {
            run_dir,
            task,
            variant,
            seed: entry["seed"].as_u64(),
            targets,
            teacher,
        });
    }
    if let Some(r) = run {
        return Err(OnnxError::Invalid(format!(
            "{}: names no student dir {} (give the run that trained it, or no --run)",
            r.join("stages.json").display(),
            name.to_string_lossy()
        )));
    }
    Ok(RunInfo::default())
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `(task, targets)` of `variant` in a run's `variants.csv` (both `None` without the file).
fn variant_row(path: &Path, variant: &str) -> Result<(Option<String>, Option<String>)> {
    if !path.is_file() {
        return Ok((None, None));
    }
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| OnnxError::parse(path, 0, e.to_string()))?;
    let header = reader
        .headers()
        .map_err(|e| OnnxError::parse(path, 1, e.to_string()))?
        .clone();
    let col = |n: &str| header.iter().position(|h| h == n);
    let (Some(task), Some(model), Some(targets)) = (col("task"), col("model"), col("targets"))
    else {
        return Err(OnnxError::parse(
            path,
            1,
            "expected columns task, model, targets",
        ));
    };
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| OnnxError::parse(path, i + 2, e.to_string()))?;
        if rec.get(model) == Some(variant) {
            return Ok((
                rec.get(task).map(str::to_owned),
                rec.get(targets).map(str::to_owned),
            ));
        }
    }
    Ok((None, None))
}

/// `git rev-parse --short HEAD` of the current directory (`-dirty` with uncommitted changes to
/// tracked files), `unknown` outside a git checkout: the same spelling as the pipeline's
/// provenance.
pub fn git_rev() -> String {
    git_rev_or("unknown")
}

/// [`git_rev`], with `outside` in place of `unknown` outside a git checkout (the pipeline's
/// provenance passes the revision its build was given).
pub fn git_rev_or(outside: &str) -> String {
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) if !rev.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev}-dirty")
            } else {
                rev
            }
        }
        _ => outside.to_string(),
    }
}

/// `git` with `args` in the current directory: its trimmed stdout, or `None` when it cannot run
/// or fails (outside a checkout).
pub fn git(args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// The files of a bundle, in memory.
pub struct Exported {
    /// `student.json`.
    pub manifest: Manifest,
    /// `model.onnx`.
    pub model: Vec<u8>,
    /// `vocab.txt`.
    pub vocab: String,
    /// `README.md`.
    pub readme: String,
}

/// Builds the bundle of the student in `student_dir` (run provenance from `run`, see
/// [`run_info`]) without writing anything.
pub fn build(student_dir: &Path, run: Option<&Path>) -> Result<Exported> {
    let s = StudentDir::load(student_dir)?;
    let tok = Tokenizer::new(
        s.words.clone(),
        s.lowercase,
        &student_dir.join(crate::student_dir::VOCAB_FILE),
    )?;
    let info = run_info(student_dir, run)?;
    let provenance = Provenance {
        student_dir: student_dir.display().to_string(),
        run_dir: info.run_dir.map(|p| p.display().to_string()),
        task: info.task,
        variant: info.variant,
        seed: info.seed,
        targets: info.targets,
        teacher: info.teacher,
        dev_accuracy: s.trained.as_ref().map(|t| t.dev_accuracy),
        best_epoch: s.trained.as_ref().map(|t| t.best_epoch),
        trained_git_rev: s.trained.as_ref().map(|t| t.git_rev.clone()),
        exported_git_rev: git_rev(),
    };
    let metadata = metadata(&provenance);
    let model = graph::build(&s, &metadata).encode_to_vec();
    let vocab = tok.to_vocab_txt();
    let manifest = Manifest {
        format: bundle::FORMAT.into(),
        format_version: bundle::FORMAT_VERSION,
        model_sha256: bundle::sha256_hex(&model),
        vocab_sha256: bundle::sha256_hex(vocab.as_bytes()),
        pair: s.pair,
        inputs: graph::input_names(s.pair)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        output: graph::OUTPUT.into(),
        num_classes: s.num_classes,
        class_names: class_names(s.num_classes),
        tokenizer: TokenizerSpec::student(s.lowercase),
        architecture: Architecture {
            embedding_mode: s.mode.name().into(),
            embedding_dim: s.embedding_dim,
            vocab_size: s.words.len(),
            hidden_dim: s.hidden_dim,
            fc_dim: s.fc_dim,
            params: s.params(),
            params_without_embeddings: s.params_without_embeddings(),
            opset: graph::OPSET,
        },
        provenance,
    };
    let readme = crate::readme::render(&manifest);
    Ok(Exported {
        manifest,
        model,
        vocab,
        readme,
    })
}

/// The provenance as the model's metadata properties (onnxruntime:
/// `session.get_modelmeta().custom_metadata_map`); unknown fields are left out.
fn metadata(p: &Provenance) -> Vec<(String, String)> {
    let mut v = vec![("exported_git_rev".to_string(), p.exported_git_rev.clone())];
    let opt = [
        ("task", p.task.clone()),
        ("variant", p.variant.clone()),
        ("seed", p.seed.map(|s| s.to_string())),
        ("targets", p.targets.clone()),
        ("teacher", p.teacher.clone()),
        ("dev_accuracy", p.dev_accuracy.map(|a| a.to_string())),
        ("trained_git_rev", p.trained_git_rev.clone()),
    ];
    v.extend(
        opt.into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v))),
    );
    v
}

/// Exports the student in `student_dir` into `out` (created when missing): `vocab.txt`,
/// `README.md`, `model.onnx`, then `student.json`, all or none ([`crate::atomic::write_all`]).
pub fn export(student_dir: &Path, out: &Path, run: Option<&Path>) -> Result<Manifest> {
    let e = build(student_dir, run)?;
    if out.exists() && !out.is_dir() {
        return Err(OnnxError::Invalid(format!(
            "{}: exists and is not a directory",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|err| OnnxError::io(out, err))?;
    let manifest_json = serde_json::to_vec_pretty(&e.manifest)
        .map_err(|err| OnnxError::Invalid(format!("serialising the manifest: {err}")))?;
    crate::atomic::write_all(&[
        (out.join(bundle::VOCAB_FILE), e.vocab.into_bytes()),
        (out.join(bundle::README_FILE), e.readme.into_bytes()),
        (out.join(bundle::MODEL_FILE), e.model),
        (out.join(bundle::MANIFEST_FILE), manifest_json),
    ])?;
    Ok(e.manifest)
}
