//! The student's tokenisation, reimplemented without libtorch: what `bilstm_student::Vocab`
//! does to a sentence before the model sees it (tested to give the same ids on SST-2's
//! sentences: `experiments/tests/onnx.rs`). The rules, precisely enough to reimplement in any
//! language (the exported `README.md` repeats them, with a Python version):
//!
//! 1. Split the sentence on Unicode whitespace (Rust's `str::split_whitespace`, Python's
//!    `str.split()`; they differ only on the control characters U+001C..U+001F, which the input
//!    readers reject), dropping empty pieces. No other splitting: SST-2 comes tokenised
//!    (`it 's a charming , funny film .`), and `don't` is one token.
//! 2. Lower-case each token with Unicode's default full case mapping (Rust's
//!    `str::to_lowercase`, Python's `str.lower()`: `Straße` → `straße`, a word-final `Σ` → `ς`)
//!    when the vocabulary says `lowercase` (the default) — except a token that starts with `[`
//!    and ends with `]`, which keeps its case (so `[MASK]` stays recognisable).
//! 3. Look the token up: its line number in `vocab.txt` (0-based). `[MASK]` (the augmentation's
//!    mask token, which the student has no vector for) and every token not in the vocabulary
//!    map to `[UNK]` = 1.
//! 4. A sentence with no token becomes one `[PAD]` (id 0) of length 1, so every sentence has a
//!    final LSTM state.

use crate::error::{OnnxError, Result};
use std::collections::HashMap;
use std::path::Path;

/// Padding token, id 0.
pub const PAD: &str = "[PAD]";
/// Unknown-word token, id 1.
pub const UNK: &str = "[UNK]";
/// The augmentation's mask token, read as [`UNK`].
pub const MASK: &str = "[MASK]";
/// Id of [`PAD`].
pub const PAD_ID: i64 = 0;
/// Id of [`UNK`].
pub const UNK_ID: i64 = 1;

/// A word-level tokeniser: whitespace splitting, optional lower-casing, a word → id map.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokenizer {
    words: Vec<String>,
    index: HashMap<String, i64>,
    lowercase: bool,
}

impl Tokenizer {
    /// A tokeniser over `words` in id order (`[PAD]`, `[UNK]`, then the corpus words); `path`
    /// names the source in errors. Fails when the first two words are not `[PAD]`, `[UNK]`, when
    /// a word is empty or holds whitespace (it could never be produced by the split), or when a
    /// word appears twice.
    pub fn new(words: Vec<String>, lowercase: bool, path: &Path) -> Result<Self> {
        if words.len() < 2 || words[0] != PAD || words[1] != UNK {
            return Err(OnnxError::parse(
                path,
                0,
                "the vocabulary must start with [PAD], [UNK]",
            ));
        }
        let mut index = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if w.is_empty() || w.chars().any(char::is_whitespace) {
                return Err(OnnxError::parse(
                    path,
                    i + 1,
                    format!("word {i} ({w:?}) is empty or holds whitespace"),
                ));
            }
            if index.insert(w.clone(), i as i64).is_some() {
                return Err(OnnxError::parse(
                    path,
                    i + 1,
                    format!("word {i} ({w:?}) appears twice"),
                ));
            }
        }
        Ok(Tokenizer {
            words,
            index,
            lowercase,
        })
    }

    /// Reads `vocab.txt`: one word per line, the line's 0-based number its id (a final newline
    /// is optional).
    pub fn from_vocab_txt(path: &Path, lowercase: bool) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| OnnxError::io(path, e))?;
        let body = text.strip_suffix('\n').unwrap_or(&text);
        let words = body.split('\n').map(str::to_owned).collect();
        Self::new(words, lowercase, path)
    }

    /// The `vocab.txt` form: one word per line, in id order.
    pub fn to_vocab_txt(&self) -> String {
        let mut s = self.words.join("\n");
        s.push('\n');
        s
    }

    /// Number of ids, `[PAD]` and `[UNK]` included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when the vocabulary holds only `[PAD]` and `[UNK]`.
    pub fn is_empty(&self) -> bool {
        self.words.len() <= 2
    }

    /// Whether tokens are lower-cased before lookup.
    pub fn lowercase(&self) -> bool {
        self.lowercase
    }

    /// The words in id order.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The id of one token (rules 2 and 3 of the module docs).
    pub fn id(&self, token: &str) -> i64 {
        let keep_case = token.starts_with('[') && token.ends_with(']');
        let lowered;
        let tok = if self.lowercase && !keep_case {
            lowered = token.to_lowercase();
            lowered.as_str()
        } else {
            token
        };
        if tok == MASK {
            return UNK_ID;
        }
        self.index.get(tok).copied().unwrap_or(UNK_ID)
    }

    /// The ids of a sentence as the model reads it: never empty (rule 4).
    pub fn encode(&self, text: &str) -> Vec<i64> {
        let ids: Vec<i64> = text.split_whitespace().map(|t| self.id(t)).collect();
        if ids.is_empty() {
            vec![PAD_ID]
        } else {
            ids
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(words: &[&str]) -> Tokenizer {
        let words = [PAD, UNK]
            .iter()
            .chain(words)
            .map(|w| w.to_string())
            .collect();
        Tokenizer::new(words, true, Path::new("v.txt")).unwrap()
    }

    #[test]
    fn the_four_rules() {
        let t = tok(&["a", "film", "straße", "οδος", "[x]"]);
        // Whitespace of every kind splits; case folds; unknown words and [MASK] are [UNK].
        assert_eq!(
            t.encode("A\u{a0}FILM\tzzz [MASK]\u{3000}a"),
            [2, 3, 1, 1, 2]
        );
        // Full Unicode lower-casing, final sigma included.
        assert_eq!(t.encode("STRAßE ΟΔΟΣ"), [4, 5]);
        // Bracketed tokens keep their case: [X] is not [x].
        assert_eq!(t.encode("[x] [X] [PAD] [UNK]"), [6, 1, 0, 1]);
        // An empty sentence is one [PAD].
        assert_eq!(t.encode(" \t "), [PAD_ID]);
    }

    #[test]
    fn bad_vocabularies_name_the_line() {
        let bad = |words: &[&str]| {
            let w = words.iter().map(|w| w.to_string()).collect();
            Tokenizer::new(w, true, Path::new("v.txt"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            bad(&["[UNK]", "[PAD]"]),
            "v.txt:0: the vocabulary must start with [PAD], [UNK]"
        );
        assert!(bad(&[PAD, UNK, "a b"]).starts_with("v.txt:3: word 2"));
        assert!(bad(&[PAD, UNK, "a", "a"]).contains("appears twice"));
    }

    #[test]
    fn vocab_txt_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let t = tok(&["x", "y"]);
        let path = dir.path().join("vocab.txt");
        std::fs::write(&path, t.to_vocab_txt()).unwrap();
        assert_eq!(Tokenizer::from_vocab_txt(&path, true).unwrap(), t);
    }
}
