//! The command line shared by the `sst2`, `qqp` and `mnli` binaries: arguments → a checked
//! [`RunSpec`] → [`crate::pipeline::run`].

use crate::config::layered::{self, Source};
use crate::config::{ExperimentConfig, Overrides};
use crate::names::task_slug;
use crate::pipeline::RunSpec;
use anyhow::{bail, Result};
use clap::{CommandFactory, FromArgMatches, Parser};
use kd_core::data::Task;
use std::path::{Path, PathBuf};

/// Command-line arguments (the interface other tools rely on: keep it stable).
#[derive(Debug, Parser)]
#[command(
    version = crate::results::VERSION,
    about = "Distil a fine-tuned BERT teacher into BiLSTM students (Tang et al. 2019): fine-tune the \
             teacher, build and label the augmented transfer set, train every student variant of the \
             config, evaluate on dev, write GLUE submissions and the result CSVs."
)]
pub struct Args {
    /// Experiment config (YAML; may `extends:` another). Default: experiments/configs/<task>.yaml,
    /// or the copy compiled into the binary when that file is not there.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// GLUE data: either the folder holding <Task>/train.tsv (e.g. data/glue) or the task folder itself.
    #[arg(long, default_value = "data/glue")]
    pub data_dir: PathBuf,
    /// Output dir of this run's result files. Default: runs/<task>/<config name>.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// The stage store shared by runs (teacher, transfer sets, labels, students).
    #[arg(long, default_value = "runs/store")]
    pub store: PathBuf,
    /// Seed for every stage (overrides the config's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seed of every student variant (overrides the config's seeds): reruns just the students,
    /// reusing the cached teacher, transfer set and logits.
    #[arg(long, conflicts_with = "student_seeds")]
    pub student_seed: Option<u64>,
    /// Seeds of every student variant, comma-separated (e.g. 0,1,2).
    #[arg(long, value_delimiter = ',')]
    pub student_seeds: Option<Vec<u64>>,
    /// Train and evaluate only these student variants, comma-separated (e.g.
    /// mse_n_iter1,mse_n_iter20): a part of an experiment, whose rows merge-results then adds to
    /// the published folder of the rest. Needs --out-dir, so that the partial result folder does
    /// not replace the whole experiment's.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NAMES",
        requires = "out_dir"
    )]
    pub variants: Option<Vec<String>>,
    /// libtorch threads (overrides the config's; default all cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// Where the teacher runs: auto (CUDA when available), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    pub device: DeviceArg,
    /// Run every stage on a few dozen examples (well under a minute): the smoke overlay below.
    #[arg(long)]
    pub smoke: bool,
    /// Print the run's cells, its independent units of work for array jobs, one per line
    /// (index, kind, name, stage dir; numbered from 0, the evaluation last), and exit. Reads only
    /// the config and the inputs: the count is the same before and after anything ran.
    #[arg(long, conflicts_with = "cell")]
    pub list_cells: bool,
    /// Run cell K of --list-cells only (e.g. K = $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX),
    /// in the shared --store. It first checks that the cells it depends on are finished there.
    #[arg(long, value_name = "K")]
    pub cell: Option<usize>,
    /// With --cell: wait for the cells it depends on, polling the store, up to SECS seconds
    /// (default 86400) instead of failing at once. A failed cell's marker in the store
    /// (failed.json) ends the wait at once. For local workers and Kubernetes; on Slurm,
    /// deploy/slurm/submit.sh chains the phases with dependencies instead.
    #[arg(
        long,
        value_name = "SECS",
        num_args = 0..=1,
        default_missing_value = "86400",
        requires = "cell"
    )]
    pub wait: Option<u64>,
    /// With --cell: the number of cells the array was sized for (--list-cells' count). Any other
    /// count is an error before any work, so that an array sized for other arguments fails
    /// loudly instead of leaving cells unrun.
    #[arg(long, value_name = "N", requires = "cell")]
    pub expect_cells: Option<usize>,
    /// Labelling cells per transfer set (overrides teacher.label_shards; default 1): that many
    /// array tasks label one set at once, each claiming the chunks no other worker holds. Give
    /// every task of an array, and --list-cells, the same value.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub label_shards: Option<u32>,
}

/// A `--device` value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeviceArg {
    /// CUDA when available, else the CPU.
    Auto,
    /// A fixed device.
    Fixed(tch::Device),
}

impl DeviceArg {
    /// The device to use.
    pub fn resolve(self) -> Result<tch::Device> {
        match self {
            DeviceArg::Auto => Ok(tch::Device::cuda_if_available()),
            DeviceArg::Fixed(tch::Device::Cuda(n)) => {
                let count = tch::Cuda::device_count();
                if (n as i64) >= count {
                    bail!("--device cuda:{n}: this machine has {count} CUDA device(s)");
                }
                Ok(tch::Device::Cuda(n))
            }
            DeviceArg::Fixed(d) => Ok(d),
        }
    }
}

/// Parses `auto`, `cpu`, `cuda`, `cuda:N`.
pub fn parse_device(s: &str) -> std::result::Result<DeviceArg, String> {
    match s {
        "auto" => Ok(DeviceArg::Auto),
        "cpu" => Ok(DeviceArg::Fixed(tch::Device::Cpu)),
        "cuda" => Ok(DeviceArg::Fixed(tch::Device::Cuda(0))),
        _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => Ok(DeviceArg::Fixed(tch::Device::Cuda(n))),
            _ => Err(format!("expected auto, cpu, cuda or cuda:N, got {s:?}")),
        },
    }
}

/// `--help`'s closing text, with the smoke overlay shown from its file.
fn after_help() -> String {
    format!(
        "Stages live in the store (--store, default runs/store/) keyed by the contents of their inputs \
         and the settings they depend on: re-running the same command resumes where a killed run \
         stopped, and another config that shares a stage (an ablation) reuses it.\n\n\
         Cells (array jobs: Slurm --array, Kubernetes Indexed Jobs, scripts/local-array.sh; see \
         deploy/README.md): --list-cells prints the run's units of work in order: the teacher; each \
         transfer set; teacher.label_shards (--label-shards) labelling cells per transfer set; each \
         student variant x seed; the evaluation, last. A labelling cell is not one chunk (their \
         number is only known once the transfer set exists): each labels whichever chunks of \
         teacher.label_chunk_size examples no other live worker holds, until none is left, and the \
         last to finish joins them. --cell K runs one cell in the shared --store once the cells it \
         depends on are finished there (else it fails naming the missing stage; --wait [SECS] \
         polls instead, and a failed cell's marker ends the wait at once); every cell depends only \
         on cells before it, and each kind of cell only on earlier kinds (the phases that \
         deploy/slurm/submit.sh chains). Running every cell (with --wait, in any order, in any \
         number of processes) gives the store and the results of one serial run; the evaluation \
         cell writes the result files into --out-dir, each cell its log into \
         --out-dir/logs/cell-K.log. SIGTERM (or SIGINT) stops a cell cleanly at its next batch \
         (forced after 5 s, or at a second signal): no temporary file left, a failed marker for the \
         cells waiting on it, exit status 143 (130). Exit status: 0 \
         done, 1 failed, 2 bad arguments, 3 a cell this one depends on failed (its marker).\n\n\
         Hosts: stages are claimed by host name, pid and start time; KD_HOST overrides the host \
         name (where two machines share one).\n\n\
         --smoke applies experiments/configs/smoke.yaml over the config (its students.train and \
         augment keys also over every variant's own), and appends -smoke to the run's name:\n{}",
        layered::overlay_help(layered::SMOKE_OVERLAY)
    )
}

/// Loads the config the arguments ask for, applies the overrides and checks it all.
pub fn resolve_config(task: Task, args: &Args) -> Result<ExperimentConfig> {
    let name = format!("{}.yaml", task_slug(task));
    let default_path = PathBuf::from("experiments/configs").join(&name);
    let source = match &args.config {
        Some(path) => Source::File(path.clone()),
        None if default_path.exists() => Source::File(default_path),
        None => Source::Embedded(
            layered::EMBEDDED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, _)| *n)
                .unwrap_or("sst2.yaml"),
        ),
    };
    let overrides = Overrides {
        seed: args.seed,
        student_seeds: args
            .student_seeds
            .clone()
            .or(args.student_seed.map(|s| vec![s])),
        threads: args.threads.map(|t| t as usize),
        smoke: args.smoke,
        variants: args.variants.clone(),
    };
    let label = match &source {
        Source::File(p) => p.display().to_string(),
        Source::Embedded(n) => format!("built-in {n}"),
    };
    let mut cfg = ExperimentConfig::load(&source, &overrides)
        .map_err(|e| anyhow::anyhow!("{label}: {e:#}"))?;
    if let Some(n) = args.label_shards {
        cfg.teacher.label_shards = n as usize;
    }
    if cfg.task != task {
        bail!(
            "{label}: the config is for task {:?}, but this binary runs {:?}",
            cfg.task,
            task
        );
    }
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

/// The run the arguments describe.
pub fn run_spec(task: Task, args: &Args) -> Result<RunSpec> {
    let cfg = resolve_config(task, args)?;
    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(task_slug(task)).join(&cfg.name));
    Ok(RunSpec {
        data_dir: task_dir(task, &args.data_dir)?,
        out_dir,
        store: args.store.clone(),
        device: args.device.resolve()?,
        cfg,
    })
}

/// Makes a panic print one line, `error: internal error: MESSAGE (file:line)`, instead of a
/// backtrace: tch reports some errors by panicking, and every binary's failures are one line.
pub fn one_line_panics() {
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
}

/// Entry point of the task binaries: parses arguments, runs the pipeline, prints one error line
/// (with its cause chain) and exits 1 on failure.
pub fn main(task: Task) {
    one_line_panics();
    if let Err(e) = crate::terminate::install() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    let command = Args::command()
        .name(task_slug(task))
        .after_help(after_help());
    let matches = command.get_matches();
    let args = match Args::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    let result = std::panic::catch_unwind(|| {
        let spec = run_spec(task, &args)?;
        if args.list_cells {
            let cells = crate::pipeline::list_cells(&spec)?;
            for (k, cell) in cells.iter().enumerate() {
                println!("{}", cell.line(k));
            }
            eprintln!(
                "{} cells: array indices 0-{} (the evaluation, {}, last)",
                cells.len(),
                cells.len() - 1,
                cells.len() - 1
            );
            return Ok(());
        }
        match args.cell {
            Some(k) => crate::pipeline::run_cell(
                &spec,
                k,
                args.wait.map(std::time::Duration::from_secs),
                args.expect_cells,
            ),
            None => crate::pipeline::run(&spec),
        }
    });
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            // Several config problems come as several lines, each naming its key.
            for line in format!("{e:#}").lines() {
                eprintln!("error: {line}");
            }
            // Stopped by a signal at a batch boundary: 128 + its number, as a scheduler expects.
            crate::terminate::exit_if_stopped();
            let upstream = e
                .downcast_ref::<crate::pipeline::cells::UpstreamFailed>()
                .is_some();
            std::process::exit(if upstream { 3 } else { 1 });
        }
        Err(_) => std::process::exit(101),
    }
}
