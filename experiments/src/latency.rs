//! What a service needs to know of a model: per-sentence latency at batch 1 (p50, p95, p99 over
//! a set of sentences, text in, logits out: tokenisation included) and throughput at a large
//! batch, for each way this project runs a model — the teacher and the student on libtorch, and
//! the exported student on tract ([`student_onnx`]). Used by `bench latency` and `table2`.

use anyhow::{Context, Result};
use bilstm_student::StudentModel;
use kd_core::data::Example;
use kd_core::Classifier;
use std::time::Instant;

/// A model and the runtime it runs on.
pub enum Subject<'a> {
    /// The MiniLM teacher on libtorch.
    Teacher(&'a bert_teacher::Teacher),
    /// The BiLSTM student on libtorch.
    Student(&'a StudentModel),
    /// The exported student on tract.
    Onnx(&'a student_onnx::OnnxStudent),
}

impl Subject<'_> {
    /// `teacher` or `bilstm_soft`... the model; see [`Subject::runtime`] for the runtime.
    pub fn runtime(&self) -> &'static str {
        match self {
            Subject::Teacher(_) | Subject::Student(_) => "libtorch",
            Subject::Onnx(_) => "tract",
        }
    }

    /// The logits of `examples` in batches of `batch_size` (discarded: only the time counts).
    pub fn run(&self, examples: &[Example], batch_size: usize) -> Result<usize> {
        let n = match self {
            Subject::Teacher(t) => t.predict_logits(examples, batch_size, false)?.len(),
            Subject::Student(s) => s.predict_logits(examples, batch_size)?.len(),
            Subject::Onnx(o) => {
                let ex: Vec<student_onnx::Example> = examples
                    .iter()
                    .map(|e| student_onnx::Example {
                        text_a: e.text_a.clone(),
                        text_b: e.text_b.clone(),
                    })
                    .collect();
                o.predict_logits(&ex, batch_size)?.len()
            }
        };
        Ok(n)
    }
}

/// Batch-1 latency over a set of sentences, in milliseconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Latency {
    /// Sentences timed (one call each).
    pub sentences: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// The `p`-th percentile (0 < p ≤ 100) of `sorted` by the nearest-rank rule: the smallest value
/// with at least p% of the values at or below it.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Times `subject` on each of `sentences` alone (batch 1), after running the first `warmup` of
/// them once untimed.
pub fn latency(subject: &Subject, sentences: &[Example], warmup: usize) -> Result<Latency> {
    anyhow::ensure!(!sentences.is_empty(), "no sentences to time");
    for e in sentences.iter().take(warmup) {
        subject.run(std::slice::from_ref(e), 1)?;
    }
    let mut ms = Vec::with_capacity(sentences.len());
    for e in sentences {
        let t = Instant::now();
        subject
            .run(std::slice::from_ref(e), 1)
            .with_context(|| format!("sentence {:?}", e.text_a))?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mean_ms = ms.iter().sum::<f64>() / ms.len() as f64;
    ms.sort_by(f64::total_cmp);
    Ok(Latency {
        sentences: ms.len(),
        p50_ms: percentile(&ms, 50.0),
        p95_ms: percentile(&ms, 95.0),
        p99_ms: percentile(&ms, 99.0),
        mean_ms,
        max_ms: ms[ms.len() - 1],
    })
}

/// Seconds `subject` takes over all of `sentences` at `batch_size` (after one untimed batch).
pub fn throughput_seconds(
    subject: &Subject,
    sentences: &[Example],
    batch_size: usize,
) -> Result<f64> {
    let warm = &sentences[..batch_size.min(sentences.len())];
    subject.run(warm, batch_size)?;
    let t = Instant::now();
    subject.run(sentences, batch_size)?;
    Ok(t.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        let w = [1.0, 2.0, 3.0];
        assert_eq!(percentile(&w, 50.0), 2.0);
        assert_eq!(percentile(&w, 99.0), 3.0);
    }
}
