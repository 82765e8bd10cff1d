//! The command line shared by the `sst2`, `qqp` and `mnli` binaries.

use crate::config::ExperimentConfig;
use anyhow::{bail, Context, Result};
use clap::Parser;
use kd_core::data::Task;
use std::path::{Path, PathBuf};

/// Command-line arguments (the interface other tools rely on: keep it stable).
#[derive(Debug, Parser)]
#[command(
    about = "Distil a fine-tuned BERT teacher into a BiLSTM student (Tang et al. 2019): fine-tune the \
             teacher, build and label the augmented transfer set, train the hard-label and distilled \
             students, evaluate on dev, write GLUE submissions and metrics.csv.",
    after_help = "Stages are cached under <out-dir>/stages/ keyed by the settings they depend on: re-running \
                  the same command resumes where a killed run stopped, and changing only student settings \
                  reuses the teacher, transfer set and logits.\n\n--smoke keeps 48 training, 24 dev and 16 test \
                  examples per split, 1 teacher epoch, n_iter 2 and 2 student epochs."
)]
pub struct Args {
    /// Experiment config (YAML). Default: experiments/configs/<task>.yaml, or the copy compiled
    /// into the binary when that file is not there.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// GLUE data: either the folder holding <Task>/train.tsv (e.g. data/glue) or the task folder itself.
    #[arg(long, default_value = "data/glue")]
    pub data_dir: PathBuf,
    /// Output dir. Default: runs/<task>/<config name>.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Seed for every stage (overrides the config's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seed of the two students only (overrides student.seed): reruns just the students, reusing
    /// the cached teacher, transfer set and logits.
    #[arg(long)]
    pub student_seed: Option<u64>,
    /// libtorch threads (overrides the config's; default all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run every stage on a few dozen examples (well under a minute).
    #[arg(long)]
    pub smoke: bool,
}

/// The config shipped for each task, compiled in.
pub fn embedded_config(task: Task) -> &'static str {
    match task {
        Task::Sst2 => include_str!("../configs/sst2.yaml"),
        Task::Qqp => include_str!("../configs/qqp.yaml"),
        Task::Mnli => include_str!("../configs/mnli.yaml"),
    }
}

/// Short task name used in paths and result rows.
pub fn task_slug(task: Task) -> &'static str {
    match task {
        Task::Sst2 => "sst2",
        Task::Qqp => "qqp",
        Task::Mnli => "mnli",
    }
}

/// Loads the config the arguments ask for and applies the overrides.
pub fn resolve_config(task: Task, args: &Args) -> Result<ExperimentConfig> {
    let default_path = PathBuf::from(format!("experiments/configs/{}.yaml", task_slug(task)));
    let mut cfg = match &args.config {
        Some(path) => ExperimentConfig::from_yaml_file(path)?,
        None if default_path.exists() => ExperimentConfig::from_yaml_file(&default_path)?,
        None => {
            ExperimentConfig::from_yaml_str(embedded_config(task)).context("the built-in config")?
        }
    };
    if cfg.task != task {
        bail!(
            "the config is for task {:?}, but this binary runs {:?}",
            cfg.task,
            task
        );
    }
    if let Some(seed) = args.seed {
        cfg.seed = seed;
    }
    if let Some(seed) = args.student_seed {
        cfg.student.seed = Some(seed);
    }
    if let Some(threads) = args.threads {
        cfg.threads = Some(threads);
    }
    if args.smoke {
        cfg.apply_smoke();
    }
    cfg.resolve_seeds();
    Ok(cfg)
}

/// The task folder: `dir` itself when it holds `train.tsv`, else `dir/<GLUE name>`.
pub fn task_dir(task: Task, dir: &Path) -> Result<PathBuf> {
    if dir.join("train.tsv").is_file() {
        return Ok(dir.to_path_buf());
    }
    let sub = dir.join(task.glue_name());
    if sub.join("train.tsv").is_file() {
        return Ok(sub);
    }
    bail!(
        "{}: no train.tsv there nor in {} (run scripts/setup.sh, which links data -> ../shared/data, \
         or unzip GLUE's {}.zip into {})",
        dir.display(),
        sub.display(),
        task.glue_name(),
        dir.display()
    )
}

/// Entry point of the task binaries: parses arguments, runs the pipeline, prints one error line
/// (with its cause chain) and exits 1 on failure.
pub fn main(task: Task) {
    // tch reports some errors by panicking: keep them to one line too.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        let first = msg.lines().next().unwrap_or(msg);
        let at = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error: {first}{at}");
    }));
    let args = Args::parse();
    match std::panic::catch_unwind(|| crate::pipeline::run(task, &args)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
        Err(_) => std::process::exit(101),
    }
}
