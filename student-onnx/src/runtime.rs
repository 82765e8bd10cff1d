//! The exported student run by tract (pure Rust, no libtorch): [`OnnxStudent`] loads a bundle
//! ([`crate::bundle`]), tokenises with [`Tokenizer`] and returns logits or predictions, as
//! `experiments::predict::Predictor` does with libtorch.
//!
//! Batches are sorted by length and padded to their longest sentence only (the graph is exact
//! for any padding; sentence lengths stay symbolic in tract's plan), so a batch of one is never
//! padded. tract's `LSTM` needs a concrete batch size when it optimises the graph
//! (`tract-onnx/src/ops/rec/common.rs` turns it into a number), so the graph is optimised once
//! per batch size met and the plans are kept: in a stream of batches of 256 that is one plan for
//! the full batches and one per block's last batch.

use crate::bundle::{Manifest, VOCAB_FILE};
use crate::error::{OnnxError, Result};
use crate::tokenize::Tokenizer;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tract_onnx::prelude::*;

/// The runnable graph.
type Plan = TypedSimplePlan<TypedModel>;

/// One input: a sentence, or a sentence pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The sentence (or a pair's first).
    pub text_a: String,
    /// A pair's second sentence.
    pub text_b: Option<String>,
}

/// One example's token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// First sentence (never empty).
    pub a: Vec<i64>,
    /// Second sentence of a pair.
    pub b: Option<Vec<i64>>,
}

impl Encoded {
    fn len(&self) -> usize {
        self.a.len().max(self.b.as_ref().map_or(0, Vec::len))
    }
}

/// One prediction: the argmax class and the probabilities at the temperature asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Class index (into [`Manifest::class_names`]), the argmax of the logits.
    pub label: usize,
    /// `softmax(z / T)`, one per class.
    pub probs: Vec<f32>,
}

/// An exported student, ready to classify.
pub struct OnnxStudent {
    manifest: Manifest,
    tokenizer: Tokenizer,
    /// The parsed graph, batch size still symbolic.
    model: InferenceModel,
    /// Optimised plans by batch size.
    plans: Mutex<HashMap<usize, Arc<Plan>>>,
    dir: PathBuf,
}

impl OnnxStudent {
    /// Loads the bundle in `dir` (checking its files against `student.json`) and optimises the
    /// graph for tract.
    pub fn load(dir: &Path) -> Result<Self> {
        let (manifest, model_bytes) = Manifest::load(dir)?;
        let tokenizer =
            Tokenizer::from_vocab_txt(&dir.join(VOCAB_FILE), manifest.tokenizer.lowercase)?;
        let model_path = dir.join(crate::bundle::MODEL_FILE);
        let model = tract_onnx::onnx()
            .model_for_read(&mut model_bytes.as_slice())
            .map_err(|e| {
                OnnxError::Invalid(format!(
                    "{}: tract cannot read it: {}",
                    model_path.display(),
                    format!("{e:#}").replace('\n', " ")
                ))
            })?;
        let student = OnnxStudent {
            manifest,
            tokenizer,
            model,
            plans: Mutex::new(HashMap::new()),
            dir: dir.to_path_buf(),
        };
        // Optimise for one sentence now: a graph tract cannot run fails here, at load.
        student.plan(1).map_err(|e| {
            OnnxError::Invalid(format!(
                "{}: tract cannot run it: {e}",
                model_path.display()
            ))
        })?;
        Ok(student)
    }

    /// The plan for batches of `batch` sentences (optimised on first use).
    fn plan(&self, batch: usize) -> Result<Arc<Plan>> {
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = plans.get(&batch) {
            return Ok(p.clone());
        }
        let mut model = self.model.clone();
        for (i, name) in self.manifest.inputs.iter().enumerate() {
            let fact = if let Some(input) = name.strip_prefix("ids_") {
                let seq = model.symbols.sym(&format!("seq_len_{input}"));
                InferenceFact::dt_shape(i64::datum_type(), tvec![batch.to_dim(), seq.to_dim()])
            } else {
                InferenceFact::dt_shape(i64::datum_type(), tvec![batch.to_dim()])
            };
            model.set_input_fact(i, fact).map_err(OnnxError::tract)?;
        }
        let plan = Arc::new(
            model
                .into_optimized()
                .and_then(|m| m.into_runnable())
                .map_err(OnnxError::tract)?,
        );
        plans.insert(batch, plan.clone());
        Ok(plan)
    }

    /// `student.json`.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The tokeniser.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The bundle's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Class names in class-index order.
    pub fn class_names(&self) -> &[String] {
        &self.manifest.class_names
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.manifest.num_classes
    }

    /// Whether the model reads sentence pairs.
    pub fn is_pair(&self) -> bool {
        self.manifest.pair
    }

    /// Tokenises one example (`text_b` exactly when the model is a pair model).
    pub fn encode(&self, e: &Example) -> Result<Encoded> {
        if e.text_b.is_some() != self.is_pair() {
            return Err(OnnxError::Invalid(format!(
                "the {} model got {} sentence(s)",
                if self.is_pair() {
                    "pair"
                } else {
                    "single-sentence"
                },
                if e.text_b.is_some() { 2 } else { 1 }
            )));
        }
        Ok(Encoded {
            a: self.tokenizer.encode(&e.text_a),
            b: e.text_b.as_deref().map(|t| self.tokenizer.encode(t)),
        })
    }

    /// Logits `[batch * num_classes]` (row-major) of ONE batch, padded to its longest sentence.
    pub fn logits_batch(&self, batch: &[&Encoded]) -> Result<Vec<f32>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut inputs: TVec<TValue> = tvec![];
        let sides: Vec<Vec<&[i64]>> = if self.is_pair() {
            let b: Option<Vec<&[i64]>> = batch.iter().map(|e| e.b.as_deref()).collect();
            let b =
                b.ok_or_else(|| OnnxError::Invalid("a pair model got a single sentence".into()))?;
            vec![batch.iter().map(|e| e.a.as_slice()).collect(), b]
        } else {
            vec![batch.iter().map(|e| e.a.as_slice()).collect()]
        };
        for side in &sides {
            let (ids, lengths) = pad(side)?;
            inputs.push(ids.into());
            inputs.push(lengths.into());
        }
        let out = self
            .plan(batch.len())?
            .run(inputs)
            .map_err(OnnxError::tract)?;
        let view = out[0].to_array_view::<f32>().map_err(OnnxError::tract)?;
        let want = [batch.len(), self.num_classes()];
        if view.shape() != want {
            return Err(OnnxError::Runtime(format!(
                "the model returned logits of shape {:?}, expected {want:?}",
                view.shape()
            )));
        }
        Ok(view.iter().copied().collect())
    }

    /// Logits of `examples` in input order, `[n * num_classes]` row-major, in batches of
    /// `batch_size` sentences of similar length.
    pub fn predict_logits(&self, examples: &[Example], batch_size: usize) -> Result<Vec<f32>> {
        if batch_size == 0 {
            return Err(OnnxError::Invalid("the batch size must be >= 1".into()));
        }
        let encoded = examples
            .iter()
            .map(|e| self.encode(e))
            .collect::<Result<Vec<_>>>()?;
        let k = self.num_classes();
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        // Longest first, stable: the same batches whatever the platform's sort.
        order.sort_by_key(|&i| std::cmp::Reverse(encoded[i].len()));
        let mut logits = vec![0f32; encoded.len() * k];
        for chunk in order.chunks(batch_size) {
            let batch: Vec<&Encoded> = chunk.iter().map(|&i| &encoded[i]).collect();
            let z = self.logits_batch(&batch)?;
            for (row, &i) in z.chunks(k).zip(chunk) {
                logits[i * k..(i + 1) * k].copy_from_slice(row);
            }
        }
        Ok(logits)
    }

    /// Predictions for `examples`, in order, at temperature `temperature` (> 0).
    pub fn predict(
        &self,
        examples: &[Example],
        batch_size: usize,
        temperature: f64,
    ) -> Result<Vec<Prediction>> {
        check_temperature(temperature)?;
        let k = self.num_classes();
        let logits = self.predict_logits(examples, batch_size)?;
        Ok(logits
            .chunks(k)
            .map(|z| Prediction {
                label: argmax(z),
                probs: softmax(z, temperature),
            })
            .collect())
    }
}

/// Right-pads `seqs` with `[PAD]` to the longest: ids `[n, max_len]`, lengths `[n]`.
fn pad(seqs: &[&[i64]]) -> Result<(Tensor, Tensor)> {
    let width = seqs.iter().map(|s| s.len()).max().unwrap_or(1).max(1);
    let mut ids = Vec::with_capacity(seqs.len() * width);
    for s in seqs {
        if s.is_empty() {
            return Err(OnnxError::Invalid(
                "an empty sentence reached the model".into(),
            ));
        }
        ids.extend_from_slice(s);
        ids.resize(ids.len() + width - s.len(), crate::tokenize::PAD_ID);
    }
    let lengths: Vec<i64> = seqs.iter().map(|s| s.len() as i64).collect();
    let ids = Tensor::from_shape(&[seqs.len(), width], &ids).map_err(OnnxError::tract)?;
    let lengths = Tensor::from_shape(&[seqs.len()], &lengths).map_err(OnnxError::tract)?;
    Ok((ids, lengths))
}

/// A temperature must be finite and > 0.
pub fn check_temperature(t: f64) -> Result<()> {
    if t.is_finite() && t > 0.0 {
        Ok(())
    } else {
        Err(OnnxError::Invalid(format!(
            "temperature must be > 0, got {t}"
        )))
    }
}

/// Index of the largest value (the first on ties), as `kd_core::metrics::argmax`.
pub fn argmax(z: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in z.iter().enumerate() {
        if v > z[best] {
            best = i;
        }
    }
    best
}

/// `softmax(z / T)` in float64, rounded to float32 (as `kd_core::loss::softmax_rows`).
pub fn softmax(z: &[f32], t: f64) -> Vec<f32> {
    let max = z
        .iter()
        .map(|&v| v as f64 / t)
        .fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|&v| (v as f64 / t - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| (v / sum) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_and_argmax() {
        let p = softmax(&[0.0, 2f32.ln()], 1.0);
        assert!((p[0] - 1.0 / 3.0).abs() < 1e-7 && (p[1] - 2.0 / 3.0).abs() < 1e-7);
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        let flat = softmax(&[0.0, 10.0], 1e9);
        assert!((flat[0] - 0.5).abs() < 1e-6);
        assert!(check_temperature(0.0).is_err() && check_temperature(f64::NAN).is_err());
    }

    #[test]
    fn padding_to_the_longest() {
        let (ids, lens) = pad(&[&[5, 6, 7], &[8]]).unwrap();
        assert_eq!(ids.shape(), [2, 3]);
        assert_eq!(ids.as_slice::<i64>().unwrap(), [5, 6, 7, 8, 0, 0]);
        assert_eq!(lens.as_slice::<i64>().unwrap(), [3, 1]);
    }
}
