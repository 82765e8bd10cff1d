//! Output: a [`Prediction`] and the row written for it, in either [`Format`].

use std::io::Write;

/// One prediction: the argmax class and the probabilities at the temperature asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Class index (into [`Predictor::class_names`](super::Predictor::class_names)), the argmax
    /// of the logits.
    pub label: usize,
    /// `softmax(z / T)`, one per class.
    pub probs: Vec<f32>,
}

/// Output format of [`Predictor::predict_stream`](super::Predictor::predict_stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Tab-separated, header `index<TAB>label<TAB>p_<class>...`.
    #[default]
    Tsv,
    /// One JSON object per line, `{"index":..,"label":..,"p_<class>":..,...}`: the TSV's
    /// columns as keys, in the same order (no header line).
    Jsonl,
}

pub(super) fn write_header(
    out: &mut dyn Write,
    format: Format,
    names: &[String],
) -> std::io::Result<()> {
    if format == Format::Tsv {
        write!(out, "index\tlabel")?;
        for n in names {
            write!(out, "\tp_{n}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

pub(super) fn write_row(
    out: &mut dyn Write,
    format: Format,
    names: &[String],
    index: u64,
    p: &Prediction,
) -> std::io::Result<()> {
    match format {
        Format::Tsv => {
            write!(out, "{index}\t{}", names[p.label])?;
            for x in &p.probs {
                write!(out, "\t{x}")?;
            }
            writeln!(out)
        }
        Format::Jsonl => {
            write!(
                out,
                "{{\"index\":{index},\"label\":{}",
                json_str(&names[p.label])
            )?;
            for (n, &x) in names.iter().zip(&p.probs) {
                write!(out, ",{}:{}", json_str(&format!("p_{n}")), json_f32(x))?;
            }
            writeln!(out, "}}")
        }
    }
}

/// `s` as a JSON string.
fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// `x` as a JSON number (shortest round-trip spelling, as in the TSV); `null` when not finite.
fn json_f32(x: f32) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| "null".into())
}
