//! What `classify` writes: `predict`'s output formats, byte for byte (`experiments::predict`):
//! a TSV with the header `index<TAB>label<TAB>p_<class>...`, or JSON lines with the same keys;
//! and the streaming loop that reads records in blocks, predicts and writes, in constant memory.

use crate::error::{OnnxError, Result};
use crate::input::Record;
use crate::runtime::{check_temperature, Example, OnnxStudent, Prediction};
use std::io::Write;
use std::path::Path;

/// Default batch size (`predict`'s for a student).
pub const BATCH_SIZE: usize = 256;
/// Input is read in blocks of this many batches and sorted by length within a block
/// (`predict`'s `BLOCK_BATCHES`).
pub const BLOCK_BATCHES: usize = 128;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Tab-separated, header `index<TAB>label<TAB>p_<class>...`.
    #[default]
    Tsv,
    /// One JSON object per line, `{"index":..,"label":..,"p_<class>":..,...}` (no header).
    Jsonl,
}

/// Writes the header (TSV only).
pub fn write_header(out: &mut dyn Write, format: Format, names: &[String]) -> std::io::Result<()> {
    if format == Format::Tsv {
        write!(out, "index\tlabel")?;
        for n in names {
            write!(out, "\tp_{n}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Writes one prediction's row.
pub fn write_row(
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

fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn json_f32(x: f32) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| "null".into())
}

fn write_err(e: std::io::Error) -> OnnxError {
    OnnxError::io("<output>", e)
}

/// Reads `records` in blocks of [`BLOCK_BATCHES`] × `batch_size`, predicts each block and writes
/// its rows to `out` (the header with the first block's rows); returns the number of rows.
pub fn predict_stream(
    model: &OnnxStudent,
    records: impl Iterator<Item = Result<Record>>,
    batch_size: usize,
    temperature: f64,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64> {
    if batch_size == 0 {
        return Err(OnnxError::Invalid("the batch size must be >= 1".into()));
    }
    check_temperature(temperature)?;
    let names = model.class_names();
    let block = batch_size.saturating_mul(BLOCK_BATCHES);
    let mut records = records.peekable();
    let (mut indices, mut examples): (Vec<u64>, Vec<Example>) = (Vec::new(), Vec::new());
    let mut written = 0u64;
    while records.peek().is_some() {
        indices.clear();
        examples.clear();
        for r in records.by_ref().take(block) {
            let r = r?;
            indices.push(r.index);
            examples.push(r.example);
        }
        let preds = model.predict(&examples, batch_size, temperature)?;
        if written == 0 {
            write_header(out, format, names).map_err(write_err)?;
        }
        for (&index, p) in indices.iter().zip(&preds) {
            write_row(out, format, names, index, p).map_err(write_err)?;
        }
        written += indices.len() as u64;
    }
    if written == 0 {
        write_header(out, format, names).map_err(write_err)?;
    }
    out.flush().map_err(write_err)?;
    Ok(written)
}

/// [`predict_stream`] into `path`, atomically: on any error `path` keeps its previous content
/// (or stays absent).
pub fn predict_to_file(
    model: &OnnxStudent,
    records: impl Iterator<Item = Result<Record>>,
    batch_size: usize,
    temperature: f64,
    format: Format,
    path: &Path,
) -> Result<u64> {
    crate::atomic::write_streaming(path, |w| {
        predict_stream(model, records, batch_size, temperature, format, w)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_as_predict_writes_them() {
        let names = vec!["0".to_string(), "1".to_string()];
        let p = Prediction {
            label: 1,
            probs: vec![0.25, 0.75],
        };
        let mut out = Vec::new();
        write_header(&mut out, Format::Tsv, &names).unwrap();
        write_row(&mut out, Format::Tsv, &names, 4, &p).unwrap();
        write_header(&mut out, Format::Jsonl, &names).unwrap();
        write_row(&mut out, Format::Jsonl, &names, 4, &p).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "index\tlabel\tp_0\tp_1\n4\t1\t0.25\t0.75\n\
             {\"index\":4,\"label\":\"1\",\"p_0\":0.25,\"p_1\":0.75}\n"
        );
    }
}
