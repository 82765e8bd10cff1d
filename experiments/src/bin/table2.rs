//! `table2`: the paper's Table 2 measured on this machine — parameter counts, and inference time
//! of the teacher and the distilled student over all SST-2 training sentences at batch 512, with
//! warm-up and repetitions (median reported). Writes `reports/results/table2.csv`.

use anyhow::{Context, Result};
use clap::Parser;
use experiments::cli::{parse_device, DeviceArg};
use experiments::models;
use kd_core::data::{load_split, Example, Task};
use reports::rows::SpeedRow;
use reports::schema::Model;
use std::path::PathBuf;
use std::time::Instant;

/// Measure model size and inference time (the paper's Table 2 protocol: 67,349 SST-2 training
/// sentences, batch 512) for the teacher and the BiLSTM_SOFT student.
#[derive(Debug, Parser)]
struct Args {
    /// GLUE data root (holding SST-2/) or the SST-2 folder.
    #[arg(long, default_value = "data/glue")]
    data_dir: PathBuf,
    /// A fine-tuned teacher dir (runs/store/teacher-<key>, named in a run's stages.json); default:
    /// MiniLM with a fresh head (same size and speed).
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// A trained student dir (runs/store/student-<key>, named in a run's stages.json); default: a
    /// fresh student of the default config (same size and speed).
    #[arg(long)]
    student: Option<PathBuf>,
    /// Inference batch size.
    #[arg(long, default_value_t = 512)]
    batch_size: usize,
    /// Timed repetitions per model (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Timed repetitions for the teacher (a CPU pass over 67k sentences takes minutes).
    #[arg(long)]
    teacher_repeats: Option<usize>,
    /// Use only the first N training sentences (default: all).
    #[arg(long)]
    max_sentences: Option<usize>,
    /// libtorch threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Device of both models: auto (CUDA when libtorch sees one), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    device: DeviceArg,
    /// Output CSV.
    #[arg(long, default_value = "reports/results/table2.csv")]
    out: PathBuf,
}

/// Wall times of the timed repetitions.
struct Timing {
    median: f64,
    min: f64,
    max: f64,
    repeats: usize,
}

fn time_it(repeats: usize, label: &str, mut f: impl FnMut() -> Result<()>) -> Result<Timing> {
    let mut times = Vec::new();
    for r in 0..repeats {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
        eprintln!(
            "[table2] {label}: repetition {}/{repeats}: {:.2} s",
            r + 1,
            times[r]
        );
    }
    times.sort_by(f64::total_cmp);
    Ok(Timing {
        median: times[times.len() / 2],
        min: times[0],
        max: times[times.len() - 1],
        repeats,
    })
}

fn run() -> Result<()> {
    let args = Args::parse();
    if let Some(n) = args.threads {
        tch::set_num_threads(n as i32);
    }
    let threads = tch::get_num_threads();
    let dir = experiments::cli::task_dir(Task::Sst2, &args.data_dir)?;
    let mut sentences: Vec<Example> = load_split(Task::Sst2, &dir.join("train.tsv"))?;
    if let Some(n) = args.max_sentences {
        sentences.truncate(n);
    }
    let n = sentences.len();
    let cfg = models::default_sst2_config()?;
    let device = args.device.resolve()?;
    let device_name = if device.is_cuda() { "cuda" } else { "cpu" };
    let warm: Vec<Example> = sentences.iter().take(args.batch_size).cloned().collect();
    let row =
        |model: Model, params: usize, params_without_embeddings: usize, device: &str, t: Timing| {
            SpeedRow {
                model,
                params: params as u64,
                params_without_embeddings: params_without_embeddings as u64,
                device: device.into(),
                threads: threads.max(0) as usize,
                batch_size: args.batch_size,
                sentences: n,
                seconds_median: t.median,
                seconds_min: t.min,
                seconds_max: t.max,
                repeats: t.repeats,
            }
        };
    let mut rows = Vec::new();

    let (student, _vs) = models::student(
        args.student.as_deref(),
        &cfg.students.model,
        &sentences,
        device,
    )?;
    let student_examples = models::student_examples(&sentences);
    let _ = bilstm_student::predict(&student, &student_examples[..warm.len()], args.batch_size)?;
    let timing = time_it(args.repeats, "bilstm_soft", || {
        let _ = bilstm_student::predict(&student, &student_examples, args.batch_size)?;
        Ok(())
    })?;
    rows.push(row(
        Model::BilstmSoft,
        student.param_count_with_embeddings(),
        student.param_count_without_embeddings(),
        device_name,
        timing,
    ));

    let teacher = models::teacher(args.teacher.as_deref(), &cfg.paths.teacher_init, 2, device)?;
    teacher.predict_logits(&warm, args.batch_size, false)?;
    let teacher_repeats = args.teacher_repeats.unwrap_or(args.repeats);
    let timing = time_it(teacher_repeats, "teacher", || {
        teacher.predict_logits(&sentences, args.batch_size, false)?;
        Ok(())
    })?;
    rows.push(row(
        Model::Teacher,
        teacher.param_count(false),
        teacher.param_count(true),
        device_name,
        timing,
    ));
    experiments::results::write_csv(&args.out, &rows)?;
    for r in &rows {
        eprintln!(
            "[table2] {:<12} {:>11} params ({:>10} without embeddings)  {:>8.2} s median over {} on {} ({} threads)",
            r.model.id(), r.params, r.params_without_embeddings, r.seconds_median, r.repeats, r.device, r.threads
        );
    }
    eprintln!("[table2] wrote {}", args.out.display());
    Ok(())
}

fn main() {
    if let Err(e) = run().context("table2") {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
