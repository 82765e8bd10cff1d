//! `bench`: throughput of the four hot loops on SST-2 training sentences, one JSON line each,
//! so that other implementations can be compared on the same machine:
//! `bench student-train|student-infer|teacher-train|teacher-infer --batch-size B --steps N --threads T`;
//! and `bench latency`: batch-1 latency percentiles of the teacher, the student and the exported
//! student (tract) over SST-2 dev sentences, and the two students' throughput at batch 512.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use experiments::cli::{parse_device, DeviceArg};
use experiments::models;
use kd_core::data::{load_split, Example, Task};
use std::path::PathBuf;
use std::time::Instant;

/// Throughput benchmarks (examples/s) on SST-2 training sentences.
#[derive(Debug, Parser)]
#[command(name = "bench", version = experiments::results::VERSION)]
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
    /// Per-sentence latency at batch 1 (p50/p95/p99 over SST-2 dev sentences, text in, logits
    /// out) of the teacher and the student on libtorch and the exported student on tract; the
    /// two students' throughput over the SST-2 training sentences at --batch-size. One JSON line
    /// per measurement.
    Latency(LatencyOpts),
}

#[derive(Debug, clap::Args)]
struct LatencyOpts {
    /// A trained student dir (runs/store/student-<key>); default: a fresh student of the default
    /// config (same size and speed).
    #[arg(long, value_name = "DIR")]
    student: Option<PathBuf>,
    /// The student exported by `export` (default: the student, exported into a temporary dir).
    #[arg(long, value_name = "DIR")]
    onnx: Option<PathBuf>,
    /// A fine-tuned teacher dir; default: MiniLM with a fresh 2-class head (same cost per
    /// sentence).
    #[arg(long, value_name = "DIR")]
    teacher: Option<PathBuf>,
    /// Leave the teacher out.
    #[arg(long)]
    no_teacher: bool,
    /// Time only the first N dev sentences (default: all 872).
    #[arg(long, value_name = "N")]
    sentences: Option<usize>,
    /// Batch size of the throughput measurement.
    #[arg(long, default_value_t = 512)]
    batch_size: usize,
    /// Use only the first N training sentences for the throughput (default: all; 0: skip it).
    #[arg(long, value_name = "N")]
    throughput_sentences: Option<usize>,
    /// libtorch threads (tract runs on one).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// GLUE data root (holding SST-2/) or the SST-2 folder.
    #[arg(long, default_value = "data/glue")]
    data_dir: PathBuf,
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

fn latency(o: &LatencyOpts) -> Result<()> {
    use experiments::latency::{latency, throughput_seconds, Subject};
    tch::set_num_threads(o.threads as i32);
    let dir = experiments::cli::task_dir(Task::Sst2, &o.data_dir)?;
    let mut dev = load_split(Task::Sst2, &dir.join("dev.tsv"))?;
    if let Some(n) = o.sentences {
        dev.truncate(n);
    }
    let mut train = load_split(Task::Sst2, &dir.join("train.tsv"))?;
    train.truncate(o.throughput_sentences.unwrap_or(train.len()));
    let cfg = models::default_sst2_config()?;
    let all_train = load_split(Task::Sst2, &dir.join("train.tsv"))?;
    let (student, vs) = models::student(
        o.student.as_deref(),
        &cfg.students.model,
        &all_train,
        tch::Device::Cpu,
    )?;
    let tmp = tempfile::tempdir()?;
    let onnx_dir = match &o.onnx {
        Some(d) => d.clone(),
        None => {
            let student_dir = match &o.student {
                Some(d) => d.clone(),
                None => {
                    let d = tmp.path().join("student");
                    student.save(&vs, &d)?;
                    d
                }
            };
            let out = tmp.path().join("onnx");
            student_onnx::export(&student_dir, &out, None)?;
            out
        }
    };
    let onnx = student_onnx::OnnxStudent::load(&onnx_dir)?;
    let emit = |model: &str, subject: &Subject, what: serde_json::Value| {
        let mut line = serde_json::json!({
            "model": model, "runtime": subject.runtime(),
            "threads": if subject.runtime() == "tract" { 1 } else { tch::get_num_threads() },
        });
        if let (Some(l), Some(w)) = (line.as_object_mut(), what.as_object()) {
            l.extend(w.clone());
        }
        println!("{line}");
    };
    let mut subjects = vec![
        ("bilstm_soft", Subject::Student(&student)),
        ("bilstm_soft", Subject::Onnx(&onnx)),
    ];
    let teacher = if o.no_teacher {
        None
    } else {
        Some(models::teacher(
            o.teacher.as_deref(),
            &cfg.paths.teacher_init,
            2,
            tch::Device::Cpu,
        )?)
    };
    if let Some(t) = &teacher {
        subjects.push(("teacher", Subject::Teacher(t)));
    }
    for (model, subject) in &subjects {
        let l = latency(subject, &dev, 20)?;
        emit(
            model,
            subject,
            serde_json::json!({"bench": "latency", "batch_size": 1, "latency": l}),
        );
    }
    if !train.is_empty() {
        for (model, subject) in subjects.iter().filter(|(m, _)| *m != "teacher") {
            let secs = throughput_seconds(subject, &train, o.batch_size)?;
            emit(
                model,
                subject,
                serde_json::json!({
                    "bench": "throughput", "batch_size": o.batch_size, "examples": train.len(),
                    "seconds": secs, "examples_per_sec": train.len() as f64 / secs,
                }),
            );
        }
    }
    Ok(())
}

fn run() -> Result<()> {
    let args = Args::parse();
    if let What::Latency(o) = &args.what {
        return latency(o);
    }
    let (kind, opts) = match &args.what {
        What::StudentTrain(o) => ("student-train", o),
        What::StudentInfer(o) => ("student-infer", o),
        What::TeacherTrain(o) => ("teacher-train", o),
        What::TeacherInfer(o) => ("teacher-infer", o),
        What::Latency(_) => unreachable!("handled above"),
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
        What::Latency(_) => unreachable!("handled above"),
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
