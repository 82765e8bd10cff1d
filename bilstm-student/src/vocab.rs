//! The student's word-level vocabulary (paper §3: the BiLSTM reads whitespace tokens, not
//! wordpieces). Built from the training text (and, for distillation, the transfer set), saved as
//! JSON beside the model.
//!
//! Ids: `[PAD]` = 0, `[UNK]` = 1, then words by descending frequency (ties alphabetical, so the
//! order is deterministic). The masking augmentation of §3.2 writes `[MASK]`; the student has no
//! embedding for it and reads it as `[UNK]`, which is what the paper's student does.

use kd_core::{KdError, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Padding token, id 0.
pub const PAD: &str = "[PAD]";
/// Unknown-word token, id 1.
pub const UNK: &str = "[UNK]";
/// The augmentation's mask token; the student maps it to [`UNK_ID`].
pub const MASK: &str = "[MASK]";
/// Id of [`PAD`].
pub const PAD_ID: i64 = 0;
/// Id of [`UNK`].
pub const UNK_ID: i64 = 1;

/// How a [`Vocab`] is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VocabConfig {
    /// Words seen fewer times than this in the building text become `[UNK]`.
    pub min_freq: usize,
    /// Lower-case tokens before lookup (GloVe 6B is lower-cased; SST-2 already is).
    pub lowercase: bool,
}

impl Default for VocabConfig {
    fn default() -> Self {
        VocabConfig {
            min_freq: 1,
            lowercase: true,
        }
    }
}

/// A word-level vocabulary: whitespace tokenisation plus a word → id map.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocab {
    words: Vec<String>,
    index: HashMap<String, i64>,
    lowercase: bool,
}

/// On-disk form of a [`Vocab`] (`vocab.json`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabFile {
    lowercase: bool,
    words: Vec<String>,
}

impl Vocab {
    /// Builds a vocabulary from `texts` (each a whitespace-tokenised sentence).
    pub fn build<'a>(texts: impl IntoIterator<Item = &'a str>, cfg: &VocabConfig) -> Self {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for text in texts {
            for tok in text.split_whitespace() {
                let tok = normalise(tok, cfg.lowercase);
                if tok == PAD || tok == UNK || tok == MASK {
                    continue;
                }
                *counts.entry(tok).or_insert(0) += 1;
            }
        }
        let mut entries: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, c)| *c >= cfg.min_freq.max(1))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let words = [PAD.to_string(), UNK.to_string()]
            .into_iter()
            .chain(entries.into_iter().map(|(w, _)| w))
            .collect();
        Self::from_words(words, cfg.lowercase)
    }

    fn from_words(words: Vec<String>, lowercase: bool) -> Self {
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as i64))
            .collect();
        Vocab {
            words,
            index,
            lowercase,
        }
    }

    /// Number of ids, `[PAD]` and `[UNK]` included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when the vocabulary holds only `[PAD]` and `[UNK]`.
    pub fn is_empty(&self) -> bool {
        self.words.len() <= 2
    }

    /// The words in id order (`[PAD]`, `[UNK]`, then the corpus words).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The id of one token; unknown words and `[MASK]` give [`UNK_ID`].
    pub fn id(&self, token: &str) -> i64 {
        let tok = normalise(token, self.lowercase);
        if tok == MASK {
            return UNK_ID;
        }
        self.index.get(&tok).copied().unwrap_or(UNK_ID)
    }

    /// Whitespace-tokenises `text` and maps each token to its id.
    pub fn encode(&self, text: &str) -> Vec<i64> {
        text.split_whitespace().map(|t| self.id(t)).collect()
    }

    /// Writes `vocab.json` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let file = VocabFile {
            lowercase: self.lowercase,
            words: self.words.clone(),
        };
        let bytes = serde_json::to_vec(&file)
            .map_err(|e| KdError::InvalidArgument(format!("serialising vocab: {e}")))?;
        kd_core::io::atomic_write_bytes(path, &bytes)
    }

    /// Reads a vocabulary written by [`Vocab::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| KdError::io(path, e))?;
        let file: VocabFile = serde_json::from_slice(&bytes)
            .map_err(|e| KdError::parse(path, e.line(), e.to_string()))?;
        if file.words.len() < 2 || file.words[0] != PAD || file.words[1] != UNK {
            return Err(KdError::parse(
                path,
                0,
                "vocabulary must start with [PAD], [UNK]",
            ));
        }
        Ok(Self::from_words(file.words, file.lowercase))
    }
}

fn normalise(tok: &str, lowercase: bool) -> String {
    // The special tokens keep their case so that "[MASK]" is still recognised.
    if lowercase && !(tok.starts_with('[') && tok.ends_with(']')) {
        tok.to_lowercase()
    } else {
        tok.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_frequency_order_and_mask_is_unk() {
        let v = Vocab::build(["b a a", "c a b [MASK]"], &VocabConfig::default());
        assert_eq!(v.words(), &["[PAD]", "[UNK]", "a", "b", "c"]);
        assert_eq!(v.encode("a B zzz [MASK]"), vec![2, 3, UNK_ID, UNK_ID]);
    }

    #[test]
    fn min_freq_drops_rare_words_and_json_round_trips() {
        let cfg = VocabConfig {
            min_freq: 2,
            lowercase: true,
        };
        let v = Vocab::build(["x y y", "y z x"], &cfg);
        assert_eq!(v.words(), &["[PAD]", "[UNK]", "y", "x"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.json");
        v.save(&path).unwrap();
        assert_eq!(Vocab::load(&path).unwrap(), v);
        std::fs::write(&path, "{\"lowercase\":true,\"words\":[\"a\"]}").unwrap();
        assert!(Vocab::load(&path).is_err());
    }
}
