//! `export`: a trained student directory → an ONNX bundle that runs without libtorch (see
//! `--help`); the work is done by [`student_onnx::export`].

use clap::Parser;
use std::path::PathBuf;

/// Export a trained BiLSTM student (runs/store/student-<hash>/) to ONNX: writes OUT/model.onnx,
/// OUT/vocab.txt, OUT/student.json (class names, tokenisation rules, provenance) and
/// OUT/README.md. The bundle runs in onnxruntime (Python, C#, Java, JS, mobile), in tract, and in
/// this workspace's `classify` binary.
#[derive(Debug, Parser)]
#[command(after_help = AFTER_HELP)]
struct Args {
    /// The student's directory: student_config.json, vocab.json, best.safetensors (and, from the
    /// pipeline, done.json). runs/<task>/<config>/stages.json names the dir of each student.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// The output directory (created when missing; files already there are replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The run that trained the student (runs/<task>/<config>/, holding stages.json and
    /// variants.csv), for the provenance (variant, seed, teacher). Default: the runs beside the
    /// student's store (<store>/../*/*/stages.json) that name it, if any.
    #[arg(long, value_name = "DIR")]
    run: Option<PathBuf>,
}

const AFTER_HELP: &str = "\
Nothing is written unless everything is: a bad student dir, a teacher dir or an unwritable OUT
stops with one error line (exit code 1) and leaves OUT as it was.

Examples:
  export --model runs/store/student-551621ef5785 --out ship/sst2-bilstm-soft
  classify --model ship/sst2-bilstm-soft 'a gorgeous , witty film' 'a dull mess'";

fn main() {
    let args = Args::parse();
    match student_onnx::export(&args.model, &args.out, args.run.as_deref()) {
        Ok(m) => {
            let p = &m.provenance;
            eprintln!(
                "export: wrote {} ({} student, {} classes, {} words{}{})",
                args.out.display(),
                if m.pair { "pair" } else { "single-sentence" },
                m.num_classes,
                m.architecture.vocab_size,
                p.variant
                    .as_deref()
                    .map(|v| format!(", variant {v}"))
                    .unwrap_or_default(),
                p.dev_accuracy
                    .map(|a| format!(", dev accuracy {:.2}%", 100.0 * a))
                    .unwrap_or_default(),
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
