//! Pre-trained word vectors for the student's embeddings (paper §4.2: "we use the 300-dimensional
//! word2vec vectors"; this workspace ships GloVe 6B 50-d). Two sources:
//!
//! - a directory holding one `*.npy` matrix (rows × dim `f32`) and one `*.parquet` word index
//!   whose row `i` names matrix row `i` (the GloVe 6B layout in `.cache/glove`);
//! - a text file in the word2vec / GloVe text format (`word v1 ... vD`).
//!
//! Only the vectors of vocabulary words are kept; the dimension follows the file.

mod npy;
mod parquet_index;
mod text;

pub use npy::{parse_npy_f32, read_npy_f32, NpyMatrix};
pub use parquet_index::read_word_index;
pub use text::read_text_vectors;

use crate::vocab::Vocab;
use kd_core::{KdError, Result};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Pre-trained vectors for the words of one vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct WordVectors {
    /// Vector dimension.
    pub dim: usize,
    /// Vectors of the vocabulary words that the source had.
    pub vectors: HashMap<String, Vec<f32>>,
}

impl WordVectors {
    /// Loads the vectors of `vocab`'s words from `path`: a directory (`*.npy` + `*.parquet`) or a
    /// text-format file.
    pub fn load(path: &Path, vocab: &Vocab) -> Result<Self> {
        let wanted: HashSet<&str> = vocab.words().iter().map(String::as_str).collect();
        if path.is_dir() {
            let npy = single_with_ext(path, "npy")?;
            let index = single_with_ext(path, "parquet")?;
            Self::from_npy(&npy, &index, &wanted)
        } else {
            let (dim, vectors) = read_text_vectors(path, &wanted)?;
            Ok(WordVectors { dim, vectors })
        }
    }

    /// Loads from a `.npy` matrix and its parquet word index, which must have as many rows as
    /// the matrix (checked on the index's metadata, before its rows are decoded).
    pub fn from_npy(npy: &Path, index: &Path, wanted: &HashSet<&str>) -> Result<Self> {
        let matrix = read_npy_f32(npy)?;
        let words = parquet_index::read_word_index_checked(index, Some(matrix.rows))?;
        if words.len() != matrix.rows {
            return Err(KdError::parse(
                index,
                0,
                format!(
                    "{} words but {} has {} rows",
                    words.len(),
                    npy.display(),
                    matrix.rows
                ),
            ));
        }
        let mut vectors = HashMap::new();
        for (i, w) in words.iter().enumerate() {
            if let Some(w) = w {
                if wanted.contains(w.as_str()) && !vectors.contains_key(w) {
                    vectors.insert(w.clone(), matrix.row(i).to_vec());
                }
            }
        }
        Ok(WordVectors {
            dim: matrix.cols,
            vectors,
        })
    }
}

/// The one file with extension `ext` in `dir`; none or several is an error naming the directory.
fn single_with_ext(dir: &Path, ext: &str) -> Result<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| KdError::io(dir, e))? {
        let p = entry.map_err(|e| KdError::io(dir, e))?.path();
        if p.extension().and_then(|e| e.to_str()) == Some(ext) {
            found.push(p);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(KdError::parse(
            dir,
            0,
            format!("expected exactly one *.{ext} file in the vectors directory, found {n}"),
        )),
    }
}
