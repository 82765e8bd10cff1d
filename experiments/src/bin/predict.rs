//! `predict`: labels and class probabilities of any trained student or teacher on new text (see
//! `--help`); the work is done by [`experiments::predict`].

use anyhow::Result;
use clap::Parser;
use experiments::cli::{parse_device, DeviceArg};
use experiments::predict::{
    count_rows, is_broken_pipe, one_line, Format, LineReader, Predictor, Record, StreamOptions,
    TextReader, TsvReader,
};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Predict with a trained model: a student (runs/store/student-<hash>/) or the fine-tuned
/// teacher (runs/store/teacher-<hash>/). Writes one row per input: its index, the predicted
/// label and the softmax probability of every class.
#[derive(Debug, Parser)]
#[command(name = "predict", version = experiments::results::VERSION, after_help = AFTER_HELP)]
struct Args {
    /// The model's directory. A student dir holds student_config.json, vocab.json and
    /// best.safetensors; a teacher dir config.json (with id2label), model.safetensors and
    /// tokenizer.json. The kind is found from the files; runs/<task>/<config>/stages.json names
    /// the dir of each model of a run.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// Sentences to classify (a tab inside one separates the two sentences of a pair). Without
    /// TEXT and --input, sentences are read from stdin, one per line.
    #[arg(value_name = "TEXT", conflicts_with = "input")]
    texts: Vec<String>,
    /// A GLUE TSV file (header line, tab-separated; columns found by name: SST-2 `sentence`,
    /// QQP `question1`/`question2`, MNLI `sentence1`/`sentence2`; other columns are ignored). The
    /// output's index is its `index` (QQP: `id`) column when it has one, else the 0-based row.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Write the predictions to FILE (atomically: complete or not at all) instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Tsv)]
    format: Format,
    /// Examples per forward pass [default: 256 for a student, 32 for the teacher]. Input is read
    /// in blocks of 128 batches, so memory stays constant however long it is.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch_size: Option<u64>,
    /// Softmax temperature of the probabilities (T > 1 flattens them); the label is the argmax
    /// whatever T.
    #[arg(long, value_name = "T", default_value_t = 1.0, value_parser = parse_temperature)]
    temperature: f64,
    /// Where the model runs: auto (CUDA when available), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    device: DeviceArg,
    /// Show progress with the rate on stderr even when stderr is not a terminal (on a terminal
    /// it is always shown).
    #[arg(long)]
    progress: bool,
}

const AFTER_HELP: &str = "\
Output (TSV): a header `index<TAB>label<TAB>p_<class>...`, then one row per input in input order.
Classes are named as in GLUE submission files: 0/1 for SST-2 and QQP; contradiction, entailment,
neutral for MNLI. With --format jsonl: one object per line with the same keys, e.g.
{\"index\":0,\"label\":\"1\",\"p_0\":0.02,\"p_1\":0.98}.

Input lines (stdin, TEXT): one sentence, or two separated by a tab for a pair model (the teacher
reads either, but not both in one input). A bad line or row stops with one error line naming the
file and line (exit code 1).

Examples:
  predict --model runs/store/student-551621ef5785 'a gorgeous , witty film' 'a dull mess'
  predict --model runs/store/teacher-ac8ab0a58a32 --input data/glue/SST-2/test.tsv --output test.pred.tsv
  cut -f1 data/glue/SST-2/dev.tsv | tail -n +2 | predict --model DIR --format jsonl";

fn parse_temperature(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t.is_finite() && t > 0.0 => Ok(t),
        _ => Err(format!("expected a number > 0, got {s:?}")),
    }
}

fn run(args: Args) -> Result<()> {
    let device = match args.device {
        DeviceArg::Auto => None,
        fixed => Some(fixed.resolve()?),
    };
    let predictor = Predictor::load(&args.model, device)?;
    let progress = args.progress || std::io::stderr().is_terminal();
    let pairing = predictor.pairing();
    let (records, total): (Box<dyn Iterator<Item = Result<Record>>>, Option<u64>) =
        match (&args.input, args.texts.is_empty()) {
            (Some(path), _) => {
                let total = if progress {
                    Some(count_rows(path)?)
                } else {
                    None
                };
                (Box::new(TsvReader::open(path, pairing)?), total)
            }
            (None, false) => {
                let n = args.texts.len() as u64;
                (Box::new(TextReader::new(args.texts, pairing)), Some(n))
            }
            (None, true) => {
                let stdin = std::io::stdin();
                if stdin.is_terminal() {
                    eprintln!("predict: reading sentences from stdin, one per line (Ctrl-D ends)");
                }
                (
                    Box::new(LineReader::new(stdin.lock(), "<stdin>", pairing)),
                    None,
                )
            }
        };
    let opts = StreamOptions {
        batch_size: args
            .batch_size
            .map_or(predictor.default_batch_size(), |n| n as usize),
        temperature: args.temperature,
        format: args.format,
        progress,
    };
    match &args.output {
        Some(path) => predictor.predict_to_file(records, total, &opts, path)?,
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            predictor.predict_stream(records, total, &opts, &mut out)?
        }
    };
    Ok(())
}

fn main() {
    experiments::cli::one_line_panics();
    let args = Args::parse();
    match std::panic::catch_unwind(|| run(args)) {
        Ok(Ok(())) => {}
        // `predict ... | head`: the reader has all it wanted.
        Ok(Err(e)) if is_broken_pipe(&e) => {}
        Ok(Err(e)) => {
            eprintln!("error: {}", one_line(&e));
            std::process::exit(1);
        }
        Err(_) => std::process::exit(101),
    }
}
