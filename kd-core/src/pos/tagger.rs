//! NLTK's averaged-perceptron POS tagger (`nltk.tag.perceptron.PerceptronTagger`), run from its
//! JSON model. Used by the POS-guided replacement of §3.2, which the paper drove with
//! `nltk.pos_tag`.
//!
//! Decoding follows NLTK exactly (greedy, left to right; see `data/README.md`): a token found
//! verbatim in the tag dictionary takes that tag; otherwise the 14 feature strings NLTK builds are
//! looked up and their weights summed per tag, *in NLTK's feature order* so that the f64 sums, and
//! hence near-ties, come out bit for bit as in Python; the best score wins, ties going to the
//! greater tag string. Feature strings are built in one reused buffer and looked up in a
//! Fx-hashed table of interned features, so tagging allocates only the sentence's context.

use super::FxBuildHasher;
use crate::{KdError, Result};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const START: [&str; 2] = ["-START-", "-START2-"];
const END: [&str; 2] = ["-END-", "-END2-"];

/// NLTK's averaged-perceptron POS tagger.
///
/// Tags are returned as indices into [`PosTagger::classes`]. The first classes are the model's
/// own (the only ones the perceptron can predict); [`PosTagger::from_parts`] appends any
/// tag-dictionary tag that the class list lacks.
#[derive(Debug, Clone)]
pub struct PosTagger {
    classes: Vec<String>,
    /// `classes[..num_scored]` are scored by the perceptron.
    num_scored: usize,
    /// Rank of each scored class in string order: ties go to the greater rank.
    rank: Vec<u32>,
    /// Feature string -> feature id.
    features: HashMap<Box<str>, u32, FxBuildHasher>,
    /// CSR layout: the weights of feature `f` are `entries[offsets[f]..offsets[f + 1]]`.
    offsets: Vec<u32>,
    entries: Vec<(u32, f64)>,
    tagdict: HashMap<Box<str>, u32, FxBuildHasher>,
}

impl PosTagger {
    /// Loads the model from a directory holding exactly one each of `*.weights.json`,
    /// `*.tagdict.json` and `*.classes.json` (NLTK's `averaged_perceptron_tagger_eng` layout).
    ///
    /// Unlike [`PosTagger::from_parts`], this checks the files against each other: every tag in
    /// the weights and the tag dictionary must be one of the classes.
    pub fn load(dir: &Path) -> Result<Self> {
        let weights_path = find_one(dir, ".weights.json")?;
        let tagdict_path = find_one(dir, ".tagdict.json")?;
        let classes_path = find_one(dir, ".classes.json")?;
        // The model's weights have at most five significant digits, which serde_json's default
        // float parser converts exactly (correct rounding), as Python's json does.
        let weights: HashMap<String, HashMap<String, f64>> = read_json(&weights_path)?;
        let tagdict: HashMap<String, String> = read_json(&tagdict_path)?;
        let classes: Vec<String> = read_json(&classes_path)?;
        if classes.is_empty() {
            return Err(KdError::parse(&classes_path, 0, "the class list is empty"));
        }
        let known: std::collections::HashSet<&str> = classes.iter().map(String::as_str).collect();
        if let Some((word, tag)) = tagdict.iter().find(|(_, t)| !known.contains(t.as_str())) {
            return Err(KdError::parse(
                &tagdict_path,
                0,
                format!(
                    "word {word:?} has tag {tag:?}, which is not in {}",
                    classes_path.display()
                ),
            ));
        }
        for (feature, tag_weights) in &weights {
            if let Some(tag) = tag_weights.keys().find(|t| !known.contains(t.as_str())) {
                return Err(KdError::parse(
                    &weights_path,
                    0,
                    format!(
                        "feature {feature:?} has a weight for tag {tag:?}, which is not in {}",
                        classes_path.display()
                    ),
                ));
            }
        }
        Ok(Self::from_parts(weights, tagdict, classes))
    }

    /// Builds a tagger from NLTK's three parts: feature -> {tag -> weight}, the tag dictionary
    /// (word -> tag) and the class list.
    ///
    /// Duplicate classes are dropped. As in NLTK, weights for tags outside `classes` never win
    /// (NLTK takes the arg-max over its classes only); tag-dictionary tags outside `classes` are
    /// appended to [`PosTagger::classes`] so that they can be returned.
    pub fn from_parts(
        weights: HashMap<String, HashMap<String, f64>>,
        tagdict: HashMap<String, String>,
        classes: Vec<String>,
    ) -> Self {
        let mut class_list: Vec<String> = Vec::with_capacity(classes.len());
        let mut index: HashMap<String, u32> = HashMap::new();
        for class in classes {
            if !index.contains_key(&class) {
                index.insert(class.clone(), class_list.len() as u32);
                class_list.push(class);
            }
        }
        let num_scored = class_list.len();
        let mut order: Vec<usize> = (0..num_scored).collect();
        order.sort_by(|&a, &b| class_list[a].cmp(&class_list[b]));
        let mut rank = vec![0u32; num_scored];
        for (r, &c) in order.iter().enumerate() {
            rank[c] = r as u32;
        }

        // Sorted so that the table layout (and so any float summation order) does not depend on
        // HashMap iteration order.
        let mut weights: Vec<(String, HashMap<String, f64>)> = weights.into_iter().collect();
        weights.sort_by(|a, b| a.0.cmp(&b.0));
        let mut features =
            HashMap::with_capacity_and_hasher(weights.len(), FxBuildHasher::default());
        let mut offsets = Vec::with_capacity(weights.len() + 1);
        let mut entries = Vec::new();
        offsets.push(0u32);
        for (feature, tag_weights) in weights {
            let mut row: Vec<(u32, f64)> = tag_weights
                .into_iter()
                .filter_map(|(tag, w)| index.get(&tag).map(|&c| (c, w)))
                .collect();
            if row.is_empty() {
                continue;
            }
            row.sort_by_key(|&(c, _)| c);
            entries.extend(row);
            features.insert(feature.into_boxed_str(), (offsets.len() - 1) as u32);
            offsets.push(entries.len() as u32);
        }

        let mut tagdict_ids =
            HashMap::with_capacity_and_hasher(tagdict.len(), FxBuildHasher::default());
        let mut tagdict: Vec<(String, String)> = tagdict.into_iter().collect();
        tagdict.sort();
        for (word, tag) in tagdict {
            let id = match index.get(&tag) {
                Some(&id) => id,
                None => {
                    let id = class_list.len() as u32;
                    index.insert(tag.clone(), id);
                    class_list.push(tag);
                    id
                }
            };
            tagdict_ids.insert(word.into_boxed_str(), id);
        }

        PosTagger {
            classes: class_list,
            num_scored,
            rank,
            features,
            offsets,
            entries,
            tagdict: tagdict_ids,
        }
    }

    /// The tag names; [`PosTagger::tag`] returns indices into this list.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The index of a tag name, if it is one of [`PosTagger::classes`].
    pub fn class_index(&self, tag: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == tag)
    }

    /// Number of features with at least one weight on a known class.
    pub fn num_features(&self) -> usize {
        self.features.len()
    }

    /// Tags one sentence of tokens (as `nltk.pos_tag(tokens)`), returning indices into
    /// [`PosTagger::classes`], one per token. An empty sentence gives an empty result.
    pub fn tag(&self, tokens: &[&str]) -> Vec<usize> {
        let mut context: Vec<Cow<'_, str>> = Vec::with_capacity(tokens.len() + 4);
        context.extend(START.iter().map(|s| Cow::Borrowed(*s)));
        context.extend(tokens.iter().map(|t| normalise(t)));
        context.extend(END.iter().map(|s| Cow::Borrowed(*s)));

        let mut out = Vec::with_capacity(tokens.len());
        let mut scores = vec![0.0f64; self.num_scored];
        let mut buf = String::with_capacity(64);
        let (mut prev, mut prev2) = (START[0], START[1]);
        for (i, word) in tokens.iter().enumerate() {
            let tag = match self.tagdict.get(*word) {
                Some(&id) => id as usize,
                None => {
                    scores.fill(0.0);
                    let c = i + 2;
                    let mut add = |parts: &[&str]| {
                        buf.clear();
                        for (k, part) in parts.iter().enumerate() {
                            if k > 0 {
                                buf.push(' ');
                            }
                            buf.push_str(part);
                        }
                        if let Some(&f) = self.features.get(buf.as_str()) {
                            let row = self.offsets[f as usize] as usize
                                ..self.offsets[f as usize + 1] as usize;
                            for &(class, w) in &self.entries[row] {
                                scores[class as usize] += w;
                            }
                        }
                    };
                    // NLTK's `_get_features`, in its order.
                    add(&["bias"]);
                    add(&["i suffix", last_chars(word, 3)]);
                    add(&["i pref1", last_chars_first(word)]);
                    add(&["i-1 tag", prev]);
                    add(&["i-2 tag", prev2]);
                    add(&["i tag+i-2 tag", prev, prev2]);
                    add(&["i word", &context[c]]);
                    add(&["i-1 tag+i word", prev, &context[c]]);
                    add(&["i-1 word", &context[c - 1]]);
                    add(&["i-1 suffix", last_chars(&context[c - 1], 3)]);
                    add(&["i-2 word", &context[c - 2]]);
                    add(&["i+1 word", &context[c + 1]]);
                    add(&["i+1 suffix", last_chars(&context[c + 1], 3)]);
                    add(&["i+2 word", &context[c + 2]]);
                    self.best(&scores)
                }
            };
            out.push(tag);
            prev2 = prev;
            prev = &self.classes[tag];
        }
        out
    }

    /// Tags one sentence and returns the tag names.
    pub fn tag_names(&self, tokens: &[&str]) -> Vec<&str> {
        self.tag(tokens)
            .into_iter()
            .map(|t| self.classes[t].as_str())
            .collect()
    }

    /// NLTK's `max(classes, key=lambda c: (scores[c], c))`.
    fn best(&self, scores: &[f64]) -> usize {
        let mut best = 0;
        for c in 1..self.num_scored {
            let (s, b) = (scores[c], scores[best]);
            if s > b || (s == b && self.rank[c] > self.rank[best]) {
                best = c;
            }
        }
        best
    }
}

/// NLTK's `PerceptronTagger.normalize`.
pub(crate) fn normalise(word: &str) -> Cow<'_, str> {
    if word.contains('-') && !word.starts_with('-') {
        return Cow::Borrowed("!HYPHEN");
    }
    if !word.is_empty() && word.chars().all(is_py_digit) && word.chars().count() == 4 {
        return Cow::Borrowed("!YEAR");
    }
    if word.chars().next().is_some_and(is_py_digit) {
        return Cow::Borrowed("!DIGITS");
    }
    if word.chars().any(char::is_uppercase) {
        Cow::Owned(word.to_lowercase())
    } else {
        Cow::Borrowed(word)
    }
}

/// Python's `str.isdigit` for one character: decimal digits of any script plus the
/// superscript / subscript / circled digits (Unicode Numeric_Type Digit); not vulgar fractions,
/// Roman numerals or other numbers (Numeric_Type Numeric), which `char::is_numeric` includes.
fn is_py_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    c.is_numeric()
        && !matches!(c,
            '\u{00BC}'..='\u{00BE}'       // ¼ ½ ¾
            | '\u{2150}'..='\u{2182}'     // fractions, Roman numerals
            | '\u{2185}'..='\u{2189}'
            | '\u{2469}'..='\u{2473}'     // circled 10-20
            | '\u{247D}'..='\u{2487}'     // parenthesised 10-20
            | '\u{2491}'..='\u{249B}'     // 10.-20.
            | '\u{24EB}'..='\u{24F4}'     // negative circled 11-20
            | '\u{3007}'                  // ideographic zero (Nl)
            | '\u{3021}'..='\u{3029}'     // Hangzhou numerals
            | '\u{3038}'..='\u{303A}')
}

/// Python's `s[-n:]`: the last `n` characters (all of `s` when shorter).
fn last_chars(s: &str, n: usize) -> &str {
    match s.char_indices().rev().nth(n - 1) {
        Some((i, _)) => &s[i..],
        None => s,
    }
}

/// Python's `s[0] if s else ""`.
fn last_chars_first(s: &str) -> &str {
    match s.chars().next() {
        Some(c) => &s[..c.len_utf8()],
        None => "",
    }
}

fn find_one(dir: &Path, suffix: &str) -> Result<PathBuf> {
    let entries = std::fs::read_dir(dir).map_err(|e| KdError::io(dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| KdError::io(dir, e))?;
        if entry.file_name().to_string_lossy().ends_with(suffix) {
            found.push(entry.path());
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(KdError::parse(
            dir,
            0,
            format!("no *{suffix} file in the POS model directory"),
        )),
        n => Err(KdError::parse(
            dir,
            0,
            format!("{n} *{suffix} files in the POS model directory; expected one"),
        )),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let file = std::fs::File::open(path).map_err(|e| KdError::io(path, e))?;
    serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| KdError::parse(path, e.line(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_rules() {
        assert_eq!(normalise("well-made"), "!HYPHEN");
        assert_eq!(normalise("-LRB-"), "-lrb-");
        assert_eq!(normalise("1999"), "!YEAR");
        assert_eq!(normalise("199"), "!DIGITS");
        assert_eq!(normalise("3.50"), "!DIGITS");
        assert_eq!(normalise("19a9"), "!DIGITS");
        assert_eq!(normalise("²"), "!DIGITS");
        assert_eq!(normalise("½"), "½");
        assert_eq!(normalise("The"), "the");
        assert_eq!(normalise(""), "");
    }

    #[test]
    fn python_slices() {
        assert_eq!(last_chars("clichés", 3), "hés");
        assert_eq!(last_chars("ab", 3), "ab");
        assert_eq!(last_chars_first("émile"), "é");
        assert_eq!(last_chars_first(""), "");
    }
}
