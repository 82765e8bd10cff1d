//! `classify`: `predict` without libtorch — an exported student (see `export`) run by tract,
//! with `predict`'s inputs and output formats (see `--help`).

use clap::Parser;
use std::io::IsTerminal;
use std::path::PathBuf;
use student_onnx::input::{LineReader, Pairing, Record, TextReader, TsvReader};
use student_onnx::output::{predict_stream, predict_to_file, Format, BATCH_SIZE};
use student_onnx::{OnnxError, OnnxStudent};

/// Classify with an exported student (a directory written by `export`), in pure Rust (tract): no
/// libtorch. Takes the inputs of `predict` and writes the same output: one row per input with
/// its index, the predicted label and the softmax probability of every class.
#[derive(Debug, Parser)]
#[command(after_help = AFTER_HELP)]
struct Args {
    /// The exported student's directory (model.onnx, vocab.txt, student.json).
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// Sentences to classify (a tab inside one separates the two sentences of a pair). Without
    /// TEXT and --input, sentences are read from stdin, one per line.
    #[arg(value_name = "TEXT", conflicts_with = "input")]
    texts: Vec<String>,
    /// A GLUE TSV file (header line; columns found by name: SST-2 `sentence`, QQP
    /// `question1`/`question2`, MNLI `sentence1`/`sentence2`; other columns are ignored). The
    /// output's index is its `index` (QQP: `id`) column when it has one, else the 0-based row.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Write the predictions to FILE (atomically: complete or not at all) instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Tsv)]
    format: Format,
    /// Sentences per forward pass.
    #[arg(long, value_name = "N", default_value_t = BATCH_SIZE as u64,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch_size: u64,
    /// Softmax temperature of the probabilities (T > 1 flattens them); the label is the argmax
    /// whatever T.
    #[arg(long, value_name = "T", default_value_t = 1.0, value_parser = parse_temperature)]
    temperature: f64,
}

const AFTER_HELP: &str = "\
Output (TSV): a header `index<TAB>label<TAB>p_<class>...`, then one row per input in input order,
as `predict` writes it. With --format jsonl: one object per line with the same keys.

Input lines (stdin, TEXT): one sentence, or two separated by a tab for a pair model. A bad line or
row stops with one error line naming the file and line (exit code 1).

Examples:
  classify --model ship/sst2-bilstm-soft 'a gorgeous , witty film' 'a dull mess'
  classify --model ship/sst2-bilstm-soft --input data/glue/SST-2/test.tsv --output test.pred.tsv
  cut -f1 data/glue/SST-2/dev.tsv | tail -n +2 | classify --model ship/sst2-bilstm-soft --format jsonl";

fn parse_temperature(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t.is_finite() && t > 0.0 => Ok(t),
        _ => Err(format!("expected a number > 0, got {s:?}")),
    }
}

fn run(args: Args) -> Result<(), OnnxError> {
    let model = OnnxStudent::load(&args.model)?;
    let pairing = if model.is_pair() {
        Pairing::Pair
    } else {
        Pairing::Single
    };
    let records: Box<dyn Iterator<Item = Result<Record, OnnxError>>> =
        match (&args.input, args.texts.is_empty()) {
            (Some(path), _) => Box::new(TsvReader::open(path, pairing)?),
            (None, false) => Box::new(TextReader::new(args.texts, pairing)),
            (None, true) => {
                let stdin = std::io::stdin();
                if stdin.is_terminal() {
                    eprintln!("classify: reading sentences from stdin, one per line (Ctrl-D ends)");
                }
                Box::new(LineReader::new(stdin.lock(), "<stdin>", pairing))
            }
        };
    let batch = args.batch_size as usize;
    match &args.output {
        Some(path) => predict_to_file(&model, records, batch, args.temperature, args.format, path)?,
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            predict_stream(
                &model,
                records,
                batch,
                args.temperature,
                args.format,
                &mut out,
            )?
        }
    };
    Ok(())
}

fn main() {
    let args = Args::parse();
    match run(args) {
        Ok(()) => {}
        // `classify ... | head`: the reader has all it wanted.
        Err(OnnxError::File(student_onnx::error::FileError::Io { source, .. }))
            if source.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
