//! Batching for speed: sentences are grouped by length and padded to a few fixed bucket lengths,
//! so that libtorch's fused LSTM kernel sees a small, recurring set of shapes (oneDNN caches one
//! primitive per shape; a new shape per batch costs a re-plan every step). Padding never changes
//! a sentence's result (see `encoder`), so bucketing is a pure speed choice.

use crate::vocab::PAD_ID;
use kd_core::{KdError, Result};
use tch::Tensor;

/// Bucket lengths; longer sentences are padded to the next multiple of the last step (64).
const BUCKETS: [usize; 14] = [8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 128];

/// The padded length used for a batch whose longest sentence has `len` tokens.
pub fn bucket_len(len: usize) -> usize {
    match BUCKETS.iter().find(|&&b| b >= len) {
        Some(&b) => b,
        None => len.div_ceil(64) * 64,
    }
}

/// One example as token ids (`b` for the second sentence of a pair). Empty sentences are stored
/// as a single `[PAD]` token so that every sentence has a final state.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// First sentence.
    pub a: Vec<i64>,
    /// Second sentence (pair model only).
    pub b: Option<Vec<i64>>,
}

impl Encoded {
    /// Creates an example, replacing an empty sentence by one `[PAD]` token.
    pub fn new(a: Vec<i64>, b: Option<Vec<i64>>) -> Self {
        let fix = |v: Vec<i64>| if v.is_empty() { vec![PAD_ID] } else { v };
        Encoded {
            a: fix(a),
            b: b.map(fix),
        }
    }

    /// The sorting key: the longer of the two sentences.
    pub fn len(&self) -> usize {
        self.a.len().max(self.b.as_ref().map_or(0, Vec::len))
    }

    /// Always false (an example has at least one token); present for clippy's `len` rule.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// A model input: right-padded ids and true lengths for one or two sentences per example.
#[derive(Debug)]
pub struct Batch {
    /// `[batch, seq_len_a]` int64.
    pub ids_a: Tensor,
    /// `[batch]` int64, each in `1..=seq_len_a`.
    pub lengths_a: Tensor,
    /// `[batch, seq_len_b]` int64 (pair model).
    pub ids_b: Option<Tensor>,
    /// `[batch]` int64 (pair model).
    pub lengths_b: Option<Tensor>,
}

impl Batch {
    /// Pads `examples` to the bucket length of their longest sentence (per side).
    pub fn new(examples: &[&Encoded]) -> Result<Self> {
        if examples.is_empty() {
            return Err(KdError::InvalidArgument("empty batch".into()));
        }
        let (ids_a, lengths_a) = pad(examples.iter().map(|e| e.a.as_slice()));
        let pair = examples[0].b.is_some();
        if examples.iter().any(|e| e.b.is_some() != pair) {
            return Err(KdError::InvalidArgument(
                "a batch mixes single sentences and sentence pairs".into(),
            ));
        }
        let (ids_b, lengths_b) = if pair {
            let (i, l) = pad(examples.iter().map(|e| e.b.as_deref().unwrap_or(&[])));
            (Some(i), Some(l))
        } else {
            (None, None)
        };
        Ok(Batch {
            ids_a,
            lengths_a,
            ids_b,
            lengths_b,
        })
    }

    /// Number of examples.
    pub fn size(&self) -> i64 {
        self.lengths_a.size()[0]
    }
}

fn pad<'a>(seqs: impl Iterator<Item = &'a [i64]> + Clone) -> (Tensor, Tensor) {
    let max = seqs.clone().map(<[i64]>::len).max().unwrap_or(1);
    let seq_len = bucket_len(max);
    let mut ids = Vec::new();
    let mut lens = Vec::new();
    for s in seqs {
        ids.extend_from_slice(s);
        ids.resize(ids.len() + seq_len - s.len(), PAD_ID);
        lens.push(s.len() as i64);
    }
    let n = lens.len() as i64;
    (
        Tensor::from_slice(&ids).view([n, seq_len as i64]),
        Tensor::from_slice(&lens),
    )
}

pub use kd_core::batching::{plan_batches, sorted_batches};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_length() {
        assert_eq!(bucket_len(1), 8);
        assert_eq!(bucket_len(9), 12);
        assert_eq!(bucket_len(128), 128);
        assert_eq!(bucket_len(129), 192);
    }

    #[test]
    fn batch_pads_to_bucket_and_keeps_lengths() {
        let (x, y) = (
            Encoded::new(vec![5, 6, 7], None),
            Encoded::new(vec![], None),
        );
        let b = Batch::new(&[&x, &y]).unwrap();
        assert_eq!(b.ids_a.size(), vec![2, 8]);
        assert_eq!(Vec::<i64>::try_from(&b.lengths_a).unwrap(), vec![3, 1]);
    }
}
