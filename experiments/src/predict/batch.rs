//! Predicting: [`Predictor::predict`] on examples in memory, [`Predictor::predict_stream`] and
//! [`Predictor::predict_to_file`] on records read block by block ([`BLOCK_BATCHES`]).

use super::input::{Record, TextReader};
use super::load::Predictor;
use super::output::{write_header, write_row, Format, Prediction};
use anyhow::{bail, Context, Result};
use kd_core::data::Example;
use kd_core::loss::softmax_rows;
use kd_core::metrics::argmax;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Input is read in blocks of this many batches: the model sorts a block by length before
/// batching it, so the batches are padded little, while memory stays bounded by the block
/// (32,768 sentences at the student's batch size: tens of MB). Measured on a 1M-line file, 8
/// batches per block padded enough to cost a third of the rate: 13,969 against 20,457
/// sentences/s (README, "Speed").
pub const BLOCK_BATCHES: usize = 128;

impl Predictor {
    /// Predictions for `examples`, in order, at temperature `temperature` (> 0; the label is the
    /// argmax of the logits, whatever the temperature).
    pub fn predict(
        &self,
        examples: &[Example],
        batch_size: usize,
        temperature: f64,
    ) -> Result<Vec<Prediction>> {
        if batch_size == 0 {
            bail!("the batch size must be >= 1");
        }
        let clf = self.classifier();
        let k = clf.num_classes();
        let logits = clf
            .predict_logits(examples, batch_size)
            .with_context(|| format!("{} {}", self.kind().name(), self.dir().display()))?;
        let probs = softmax_rows(&logits, k, temperature)?;
        Ok(argmax(&logits, k)
            .into_iter()
            .zip(probs.chunks(k))
            .map(|(label, p)| Prediction {
                label,
                probs: p.to_vec(),
            })
            .collect())
    }

    /// Predictions for sentences given as strings: a tab separates the two sentences of a pair.
    pub fn predict_texts<S: AsRef<str>>(
        &self,
        texts: &[S],
        temperature: f64,
    ) -> Result<Vec<Prediction>> {
        let examples = TextReader::new(texts.iter().map(|s| s.as_ref().to_owned()), self.pairing())
            .map(|r| r.map(|r| r.example))
            .collect::<Result<Vec<_>>>()?;
        self.predict(&examples, self.default_batch_size(), temperature)
    }

    /// Reads `records` in blocks of [`BLOCK_BATCHES`] × `opts.batch_size`, predicts each block
    /// and writes its rows to `out` (the header with the first block's rows, so an error in the
    /// first block writes nothing); returns the number of rows. `total`, when known, sizes the
    /// progress bar. An error in the input stops it at the block that holds the bad record: rows
    /// of earlier blocks have been written to `out` by then.
    pub fn predict_stream(
        &self,
        records: impl Iterator<Item = Result<Record>>,
        total: Option<u64>,
        opts: &StreamOptions,
        out: &mut dyn Write,
    ) -> Result<u64> {
        if opts.batch_size == 0 {
            bail!("the batch size must be >= 1");
        }
        // The temperature is checked before anything is read.
        softmax_rows(&[], 1, opts.temperature)?;
        let bar = kd_core::progress::example_bar(total.unwrap_or(0), "predict", opts.progress);
        if total.is_none() {
            bar.unset_length();
        }
        let start = Instant::now();
        let block_size = opts.batch_size.saturating_mul(BLOCK_BATCHES);
        let mut records = records.peekable();
        let mut indices: Vec<u64> = Vec::with_capacity(block_size);
        let mut examples: Vec<Example> = Vec::with_capacity(block_size);
        let mut written = 0u64;
        while records.peek().is_some() {
            indices.clear();
            examples.clear();
            for r in records.by_ref().take(block_size) {
                let r = r?;
                indices.push(r.index);
                examples.push(r.example);
            }
            let preds = self.predict(&examples, opts.batch_size, opts.temperature)?;
            if written == 0 {
                write_header(out, opts.format, self.class_names()).context("writing the output")?;
            }
            for (&index, p) in indices.iter().zip(&preds) {
                write_row(out, opts.format, self.class_names(), index, p)
                    .context("writing the output")?;
            }
            written += indices.len() as u64;
            bar.inc(indices.len() as u64);
        }
        if written == 0 {
            write_header(out, opts.format, self.class_names()).context("writing the output")?;
        }
        out.flush().context("writing the output")?;
        bar.finish_and_clear();
        if opts.progress {
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "predict: {written} examples in {secs:.1} s ({})",
                kd_core::progress::format_rate(written as f64 / secs.max(1e-9))
            );
        }
        Ok(written)
    }

    /// [`Predictor::predict_stream`] into `path`, written atomically
    /// ([`kd_core::io::atomic_write`]): on any error, or when the process is killed, `path` keeps
    /// its previous content (or stays absent); never a half-written file.
    pub fn predict_to_file(
        &self,
        records: impl Iterator<Item = Result<Record>>,
        total: Option<u64>,
        opts: &StreamOptions,
        path: &Path,
    ) -> Result<u64> {
        let mut failure = None;
        let mut written = 0;
        let res = kd_core::io::atomic_write(path, |w| {
            match self.predict_stream(records, total, opts, w) {
                Ok(n) => {
                    written = n;
                    Ok(())
                }
                Err(e) => {
                    failure = Some(e);
                    Err(std::io::Error::other("prediction failed"))
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        res?;
        Ok(written)
    }
}

/// How [`Predictor::predict_stream`] runs.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Examples per forward pass.
    pub batch_size: usize,
    /// Softmax temperature (> 0).
    pub temperature: f64,
    /// Output format.
    pub format: Format,
    /// Show a progress bar with the rate on stderr (and a closing summary line).
    pub progress: bool,
}
