//! `table2`: the paper's Table 2 measured on this machine — parameter counts, and inference time
//! of the teacher and the distilled student over all SST-2 training sentences at batch 512, with
//! warm-up and repetitions (median reported); the student exported to ONNX and run by tract beside
//! it; and each model's per-sentence latency at batch 1 on one thread over SST-2's dev sentences.
//! Writes `reports/results/table2.csv`, and beside it `table2.provenance.json` (the command,
//! the git revision, the CPU, the libtorch version and threads).

use anyhow::{Context, Result};
use clap::Parser;
use experiments::cli::{parse_device, DeviceArg};
use experiments::latency::{latency, Latency, Subject};
use experiments::models;
use kd_core::data::{load_split, Example, Task};
use reports::rows::{Runtime, SpeedRow};
use reports::schema::Model;
use std::path::PathBuf;
use std::time::Instant;

/// Measure model size and inference time (the paper's Table 2 protocol: 67,349 SST-2 training
/// sentences, batch 512) for the teacher and the BiLSTM_SOFT student.
#[derive(Debug, Parser)]
#[command(name = "table2", version = experiments::results::VERSION)]
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
    /// The student exported by `export` (default: --student, exported into a temporary dir).
    #[arg(long, value_name = "DIR")]
    onnx: Option<PathBuf>,
    /// Sentences of SST-2 dev timed one by one for the latency columns (default: all 872; 0:
    /// no latency).
    #[arg(long, value_name = "N")]
    latency_sentences: Option<usize>,
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
    let mut dev: Vec<Example> = load_split(Task::Sst2, &dir.join("dev.tsv"))?;
    dev.truncate(args.latency_sentences.unwrap_or(dev.len()));
    // Latency is a one-thread, CPU measurement whatever the throughput's settings.
    let time_latency = |subject: &Subject, on_cpu: bool| -> Result<Option<Latency>> {
        if dev.is_empty() || !on_cpu {
            return Ok(None);
        }
        tch::set_num_threads(1);
        let l = latency(subject, &dev, 20);
        tch::set_num_threads(threads);
        let l = l?;
        eprintln!(
            "[table2] {} latency: p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms over {} sentences",
            subject.runtime(),
            l.p50_ms,
            l.p95_ms,
            l.p99_ms,
            l.sentences
        );
        Ok(Some(l))
    };
    let row = |model: Model,
               runtime: Runtime,
               params: usize,
               params_without_embeddings: usize,
               device: &str,
               t: Timing,
               l: Option<Latency>| {
        SpeedRow {
            model,
            params: params as u64,
            params_without_embeddings: params_without_embeddings as u64,
            device: device.into(),
            threads: if runtime == Runtime::Tract {
                1
            } else {
                threads.max(0) as usize
            },
            batch_size: args.batch_size,
            sentences: n,
            seconds_median: t.median,
            seconds_min: t.min,
            seconds_max: t.max,
            repeats: t.repeats,
            runtime: Some(runtime),
            latency_threads: l.as_ref().map(|_| 1),
            latency_sentences: l.as_ref().map(|l| l.sentences),
            latency_p50_ms: l.as_ref().map(|l| l.p50_ms),
            latency_p95_ms: l.as_ref().map(|l| l.p95_ms),
            latency_p99_ms: l.as_ref().map(|l| l.p99_ms),
        }
    };
    let mut rows = Vec::new();

    let (student, vs) = models::student(
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
    let l = time_latency(&Subject::Student(&student), !device.is_cuda())?;
    rows.push(row(
        Model::BilstmSoft,
        Runtime::Libtorch,
        student.param_count_with_embeddings(),
        student.param_count_without_embeddings(),
        device_name,
        timing,
        l,
    ));

    // The same student exported to ONNX, on tract (CPU, one thread).
    let tmp = tempfile::tempdir()?;
    let onnx_dir = match (&args.onnx, &args.student) {
        (Some(d), _) => d.clone(),
        (None, student_dir) => {
            let student_dir = match student_dir {
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
    let subject = Subject::Onnx(&onnx);
    subject.run(&sentences[..warm.len()], args.batch_size)?;
    let timing = time_it(args.repeats, "bilstm_soft (tract)", || {
        subject.run(&sentences, args.batch_size)?;
        Ok(())
    })?;
    let l = time_latency(&subject, true)?;
    rows.push(row(
        Model::BilstmSoft,
        Runtime::Tract,
        onnx.manifest().architecture.params,
        onnx.manifest().architecture.params_without_embeddings,
        "cpu",
        timing,
        l,
    ));

    let teacher = models::teacher(args.teacher.as_deref(), &cfg.paths.teacher_init, 2, device)?;
    teacher.predict_logits(&warm, args.batch_size, false)?;
    let teacher_repeats = args.teacher_repeats.unwrap_or(args.repeats);
    let timing = time_it(teacher_repeats, "teacher", || {
        teacher.predict_logits(&sentences, args.batch_size, false)?;
        Ok(())
    })?;
    let l = time_latency(&Subject::Teacher(&teacher), !device.is_cuda())?;
    rows.push(row(
        Model::Teacher,
        Runtime::Libtorch,
        teacher.param_count(false),
        teacher.param_count(true),
        device_name,
        timing,
        l,
    ));
    experiments::results::write_csv(&args.out, &rows)?;
    // What made these numbers: the command, the revision, the CPU (the student's speed moves
    // with its SIMD extensions) and the libtorch threads of the throughput.
    let provenance_path = args.out.with_extension("provenance.json");
    let provenance = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>(),
        "provenance": experiments::store::Provenance::here(device),
    });
    kd_core::io::atomic_write_bytes(
        &provenance_path,
        format!("{}\n", serde_json::to_string_pretty(&provenance)?).as_bytes(),
    )
    .with_context(|| format!("writing {}", provenance_path.display()))?;
    for r in &rows {
        eprintln!(
            "[table2] {:<12} {:<8} {:>11} params ({:>10} without embeddings)  {:>8.2} s median over {} on {} ({} threads)",
            r.model.id(), r.runtime().id(), r.params, r.params_without_embeddings, r.seconds_median, r.repeats, r.device, r.threads
        );
    }
    eprintln!(
        "[table2] wrote {} and {}",
        args.out.display(),
        provenance_path.display()
    );
    Ok(())
}

fn main() {
    if let Err(e) = run().context("table2") {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
