//! Word-piece tokenisation for the teacher, from a Hugging Face `tokenizer.json`.
//!
//! The file's own fixed padding and truncation (all-MiniLM-L6-v2 ships both at 128) are turned
//! off: batches are padded only to their longest member ([`collate`]) and truncation is done here,
//! with the same longest-first rule as `tokenizers` (so ids equal HF's with
//! `truncation="longest_first", max_length=max_len`). Inputs are `[CLS] a [SEP]` or
//! `[CLS] a [SEP] b [SEP]` with token-type ids 0 / 1, as BERT was pre-trained (Tang et al. §4.2
//! fine-tune BERT on sentence pairs this way).

use crate::bert::BertInput;
use crate::error::{Result, TeacherError};
use kd_core::data::Example;
use std::path::{Path, PathBuf};
use tch::Tensor;
use tokenizers::Tokenizer;

/// One encoded example, special tokens included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Word-piece ids.
    pub ids: Vec<u32>,
    /// Segment ids: 0 up to and including the first `[SEP]`, then 1.
    pub type_ids: Vec<u32>,
}

/// A `tokenizers` tokenizer plus the ids of BERT's special tokens.
pub struct TeacherTokenizer {
    tokenizer: Tokenizer,
    path: PathBuf,
    cls_id: u32,
    sep_id: u32,
    pad_id: u32,
}

impl std::fmt::Debug for TeacherTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeacherTokenizer")
            .field("path", &self.path)
            .finish()
    }
}

/// Lengths `(n_a, n_b)` kept by `tokenizers`' longest-first truncation to `budget` tokens.
pub fn longest_first(n_a: usize, n_b: usize, budget: usize) -> (usize, usize) {
    if n_a + n_b <= budget {
        return (n_a, n_b);
    }
    let (mut short, mut long) = (n_a.min(n_b), n_a.max(n_b));
    long = if short > budget {
        short
    } else {
        long.min(short.max(budget - short))
    };
    if short + long > budget {
        short = budget / 2;
        long = short + budget % 2;
    }
    if n_a > n_b {
        (long, short)
    } else {
        (short, long)
    }
}

impl TeacherTokenizer {
    /// Loads `tokenizer.json` and switches off its fixed padding and truncation.
    pub fn from_file(path: &Path) -> Result<Self> {
        let err = |msg: String| TeacherError::Tokenizer {
            path: path.to_path_buf(),
            msg,
        };
        if !path.is_file() {
            return Err(err("file not found".into()));
        }
        let mut tokenizer = Tokenizer::from_file(path).map_err(|e| err(e.to_string()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| err(e.to_string()))?;
        let id = |tok: &str| {
            tokenizer
                .token_to_id(tok)
                .ok_or_else(|| err(format!("vocabulary has no {tok} token")))
        };
        let (cls_id, sep_id, pad_id) = (id("[CLS]")?, id("[SEP]")?, id("[PAD]")?);
        Ok(TeacherTokenizer {
            tokenizer,
            path: path.to_path_buf(),
            cls_id,
            sep_id,
            pad_id,
        })
    }

    /// The file this tokenizer came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Id of `[PAD]`.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    fn word_pieces(&self, texts: Vec<&str>) -> Result<Vec<Vec<u32>>> {
        let encodings =
            self.tokenizer
                .encode_batch(texts, false)
                .map_err(|e| TeacherError::Tokenizer {
                    path: self.path.clone(),
                    msg: e.to_string(),
                })?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    /// Encodes `examples` (in order), truncating each to at most `max_len` tokens including
    /// the special tokens.
    pub fn encode_all(&self, examples: &[Example], max_len: usize) -> Result<Vec<Encoded>> {
        let has_pair = examples.iter().any(|e| e.text_b.is_some());
        let min_len = if has_pair { 5 } else { 3 };
        if max_len < min_len {
            return Err(TeacherError::InvalidArgument(format!(
                "max_len {max_len} leaves no room for text (need at least {min_len})"
            )));
        }
        let a = self.word_pieces(examples.iter().map(|e| e.text_a.as_str()).collect())?;
        let b_texts: Vec<&str> = examples
            .iter()
            .filter_map(|e| e.text_b.as_deref())
            .collect();
        let mut b = self.word_pieces(b_texts)?.into_iter();
        let mut out = Vec::with_capacity(examples.len());
        for (ex, a_ids) in examples.iter().zip(a) {
            let b_ids = if ex.text_b.is_some() { b.next() } else { None };
            out.push(self.assemble(a_ids, b_ids, max_len));
        }
        Ok(out)
    }

    fn assemble(&self, mut a: Vec<u32>, b: Option<Vec<u32>>, max_len: usize) -> Encoded {
        let mut ids = vec![self.cls_id];
        match b {
            None => {
                a.truncate(max_len - 2);
                ids.extend(a);
                ids.push(self.sep_id);
                let type_ids = vec![0; ids.len()];
                Encoded { ids, type_ids }
            }
            Some(mut b) => {
                let (n_a, n_b) = longest_first(a.len(), b.len(), max_len - 3);
                a.truncate(n_a);
                b.truncate(n_b);
                ids.extend(a);
                ids.push(self.sep_id);
                let first = ids.len();
                ids.extend(b);
                ids.push(self.sep_id);
                let mut type_ids = vec![0; first];
                type_ids.resize(ids.len(), 1);
                Encoded { ids, type_ids }
            }
        }
    }
}

/// Pads `batch` to its longest member with `pad_id` (mask 0) into CPU int64 tensors.
pub fn collate(batch: &[&Encoded], pad_id: u32) -> BertInput {
    let seq_len = batch.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    let n = batch.len() * seq_len;
    let (mut ids, mut types, mut mask) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for enc in batch {
        let pad = seq_len - enc.ids.len();
        ids.extend(
            enc.ids
                .iter()
                .map(|&i| i as i64)
                .chain(std::iter::repeat_n(pad_id as i64, pad)),
        );
        types.extend(
            enc.type_ids
                .iter()
                .map(|&i| i as i64)
                .chain(std::iter::repeat_n(0, pad)),
        );
        mask.extend(std::iter::repeat_n(1i64, enc.ids.len()).chain(std::iter::repeat_n(0, pad)));
    }
    let shape = [batch.len() as i64, seq_len as i64];
    BertInput {
        input_ids: Tensor::from_slice(&ids).view(shape),
        token_type_ids: Tensor::from_slice(&types).view(shape),
        attention_mask: Tensor::from_slice(&mask).view(shape),
    }
}

#[cfg(test)]
mod tests {
    use super::longest_first;

    #[test]
    fn longest_first_matches_tokenizers_rule() {
        assert_eq!(longest_first(3, 4, 10), (3, 4));
        assert_eq!(longest_first(3, 20, 10), (3, 7));
        assert_eq!(longest_first(20, 3, 10), (7, 3));
        assert_eq!(longest_first(8, 9, 11), (5, 6));
        assert_eq!(longest_first(9, 8, 11), (6, 5));
        assert_eq!(longest_first(12, 12, 10), (5, 5));
    }
}
