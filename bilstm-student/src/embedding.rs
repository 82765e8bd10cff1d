//! The student's word embeddings (paper §3 and §4.2, after Kim 2014): `rand`, `static`,
//! `non_static`, or `multichannel` (a frozen and a trained copy of the pre-trained vectors,
//! concatenated per word).
//!
//! Parameter names: `embedding.static.weight` (frozen, present for `static` and
//! `multichannel`) and `embedding.non_static.weight` (trained, present for `rand`,
//! `non_static` and `multichannel`). Both are `[vocab_size, dim]`; row 0 (`[PAD]`) is zero.

use crate::config::{EmbeddingConfig, EmbeddingMode};
use crate::vectors::WordVectors;
use crate::vocab::Vocab;
use kd_core::{KdError, Result};
use tch::{nn, Kind, Tensor};

/// The embedding tables of one student.
#[derive(Debug)]
pub struct Embeddings {
    tables: Vec<Tensor>,
    dim: usize,
}

impl Embeddings {
    /// Creates the tables under `p` (usually `encoder / "embedding"`).
    ///
    /// `vectors` initialises the known words (required for every mode but `rand`); unknown words
    /// get U(-init_range, init_range); `[PAD]` is zero. With `vectors = None` and a pre-trained
    /// mode the tables are created at `dim` with random values, to be overwritten by a checkpoint.
    pub fn new(
        p: nn::Path,
        cfg: &EmbeddingConfig,
        vocab: &Vocab,
        dim: usize,
        vectors: Option<&WordVectors>,
    ) -> Result<Self> {
        if let Some(v) = vectors {
            if v.dim != dim {
                return Err(KdError::Shape(format!(
                    "word vectors have dim {} but the embedding expects dim {dim}",
                    v.dim
                )));
            }
        }
        if dim == 0 {
            return Err(KdError::InvalidArgument("embedding dim must be > 0".into()));
        }
        let vocab_size = vocab.len() as i64;
        let init = no_grad_table(vocab, dim, cfg.init_range, vectors, cfg.mode);
        let mut tables = Vec::new();
        let (frozen, trained) = match cfg.mode {
            EmbeddingMode::Rand | EmbeddingMode::NonStatic => (false, true),
            EmbeddingMode::Static => (true, false),
            EmbeddingMode::Multichannel => (true, true),
        };
        if frozen {
            // On the path's device; the noise is drawn on the CPU whatever the device, so a seed
            // gives the same initial table everywhere.
            let t = p
                .sub("static")
                .add("weight", init.copy().to_device(p.device()), false);
            tables.push(t);
        }
        if trained {
            let t = p
                .sub("non_static")
                .add("weight", init.copy().to_device(p.device()), true);
            tables.push(t);
        }
        debug_assert_eq!(tables[0].size(), vec![vocab_size, dim as i64]);
        Ok(Embeddings { tables, dim })
    }

    /// Width of one embedded word (`dim`, or `2 * dim` for multichannel).
    pub fn output_dim(&self) -> usize {
        self.dim * self.tables.len()
    }

    /// Embeds `ids` `[batch, seq_len]` into `[batch, seq_len, output_dim]`.
    pub fn forward(&self, ids: &Tensor) -> Tensor {
        let parts: Vec<Tensor> = self
            .tables
            .iter()
            .map(|w| Tensor::embedding(w, ids, -1, false, false))
            .collect();
        if parts.len() == 1 {
            parts.into_iter().next().unwrap_or_else(|| unreachable!())
        } else {
            Tensor::cat(&parts, -1)
        }
    }
}

/// The initial `[vocab_size, dim]` table: pre-trained rows where known, uniform noise elsewhere
/// (drawn from torch's generator so that `tch::manual_seed` makes it reproducible), zero `[PAD]`.
fn no_grad_table(
    vocab: &Vocab,
    dim: usize,
    range: f64,
    vectors: Option<&WordVectors>,
    mode: EmbeddingMode,
) -> Tensor {
    let n = vocab.len();
    let noise = Tensor::empty([n as i64, dim as i64], (Kind::Float, tch::Device::Cpu))
        .uniform_(-range, range);
    let mut data: Vec<f32> = Vec::<f32>::try_from(noise.flatten(0, -1)).unwrap_or_default();
    data[..dim].iter_mut().for_each(|x| *x = 0.0);
    if let (Some(v), false) = (vectors, mode == EmbeddingMode::Rand) {
        for (i, w) in vocab.words().iter().enumerate().skip(2) {
            if let Some(vec) = v.vectors.get(w) {
                data[i * dim..(i + 1) * dim].copy_from_slice(vec);
            }
        }
    }
    Tensor::from_slice(&data).view([n as i64, dim as i64])
}
