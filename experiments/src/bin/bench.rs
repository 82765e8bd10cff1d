//! `bench`: throughput of the four hot loops on SST-2 training sentences, one JSON line each,
//! so that other implementations can be compared on the same machine:
//! `bench student-train|student-infer|teacher-train|teacher-infer --batch-size B --steps N --threads T`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use experiments::cli::{parse_device, DeviceArg};
use experiments::models;
use kd_core::data::{load_split, Example, Task};
use std::path::PathBuf;
use std::time::Instant;

/// Throughput benchmarks (examples/s) on SST-2 training sentences.
#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Student training steps (Adadelta, hard labels).
    StudentTrain(Opts),
    /// Student inference.
    StudentInfer(Opts),
    /// Teacher fine-tuning steps (AdamW).
    TeacherTrain(Opts),
    /// Teacher inference (labelling).
    TeacherInfer(Opts),
}

#[derive(Debug, clap::Args)]
struct Opts {
    /// Batch size.
    #[arg(long, default_value_t = 50)]
    batch_size: usize,
    /// Batches timed (after one warm-up batch).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// libtorch threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Device: auto (CUDA when libtorch sees one), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    device: DeviceArg,
    /// GLUE data root (holding SST-2/) or the SST-2 folder.
    #[arg(long, default_value = "data/glue")]
    data_dir: PathBuf,
}

fn run() -> Result<()> {
    let args = Args::parse();
    let (kind, opts) = match &args.what {
        What::StudentTrain(o) => ("student-train", o),
        What::StudentInfer(o) => ("student-infer", o),
        What::TeacherTrain(o) => ("teacher-train", o),
        What::TeacherInfer(o) => ("teacher-infer", o),
    };
    if let Some(n) = opts.threads {
        tch::set_num_threads(n as i32);
    }
    let dir = experiments::cli::task_dir(Task::Sst2, &opts.data_dir)?;
    let all = load_split(Task::Sst2, &dir.join("train.tsv"))?;
    let n = (opts.steps * opts.batch_size).min(all.len());
    // A fixed-stride sample, so the lengths are representative of the whole set.
    let stride = (all.len() / n.max(1)).max(1);
    let sample: Vec<Example> = all.iter().step_by(stride).take(n).cloned().collect();
    let warm: Vec<Example> = sample.iter().take(opts.batch_size).cloned().collect();
    let cfg = models::default_sst2_config()?;
    let to_student = models::student_examples;
    let device = opts.device.resolve()?;
    let secs = match &args.what {
        What::StudentTrain(_) => {
            let (model, mut vs) =
                models::fresh_student(&cfg.students.model, models::texts(&all), 0, device)?;
            let tmp = tempfile::tempdir()?;
            let mut tc = cfg.students.train.clone();
            tc.epochs = 1;
            tc.batch_size = opts.batch_size;
            tc.progress = false;
            let train = to_student(&sample);
            let dev = to_student(&warm);
            let out = bilstm_student::train(&model, &mut vs, &train, &dev, &tc, tmp.path())?;
            n as f64 / out.history[0].examples_per_sec
        }
        What::StudentInfer(_) => {
            let (model, _vs) =
                models::fresh_student(&cfg.students.model, models::texts(&all), 0, device)?;
            let _ = bilstm_student::predict(&model, &to_student(&warm), opts.batch_size)?;
            let ex = to_student(&sample);
            let t = Instant::now();
            let _ = bilstm_student::predict(&model, &ex, opts.batch_size)?;
            t.elapsed().as_secs_f64()
        }
        What::TeacherTrain(_) => {
            let tmp = tempfile::tempdir()?;
            let mut fc = cfg.teacher.fine_tune.clone();
            fc.epochs = 1;
            fc.batch_size = opts.batch_size;
            let out = bert_teacher::fine_tune_on(
                device,
                &cfg.paths.teacher_init,
                &sample,
                &warm,
                2,
                &fc,
                tmp.path(),
            )?;
            n as f64 / out.history[0].examples_per_sec
        }
        What::TeacherInfer(_) => {
            let teacher = models::teacher(None, &cfg.paths.teacher_init, 2, device)?;
            teacher.predict_logits(&warm, opts.batch_size, false)?;
            let t = Instant::now();
            teacher.predict_logits(&sample, opts.batch_size, false)?;
            t.elapsed().as_secs_f64()
        }
    };
    let name = kind;
    println!(
        "{}",
        serde_json::json!({
            "bench": name, "examples": n, "batch_size": opts.batch_size, "threads": tch::get_num_threads(),
            "device": format!("{device:?}"), "seconds": secs, "examples_per_sec": n as f64 / secs,
        })
    );
    Ok(())
}

fn main() {
    if let Err(e) = run().context("bench") {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
