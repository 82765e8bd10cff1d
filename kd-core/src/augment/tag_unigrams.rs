//! The tag-unigram table behind §3.2's same-tag replacement ([`super::same_tag`]): for each POS
//! tag, the training set's words that carry it and their counts; a replaced word is drawn in
//! proportion to them.

use crate::pos::FxBuildHasher;
use rand::Rng;
use std::collections::HashMap;

/// For each POS tag, the training-set words with that tag and their counts, with `O(log n)`
/// sampling by binary search over cumulative counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagUnigrams {
    tags: Vec<TagWords>,
}

/// Words of one tag, sorted, with cumulative counts (`cumulative[i]` = count of words `..=i`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TagWords {
    words: Vec<String>,
    cumulative: Vec<u64>,
}

impl TagUnigrams {
    /// Counts every `(token, tag)` of the tagged sentences. `num_tags` is the size of the tag set
    /// (the tagger's class count); a larger tag index in the data widens the table.
    ///
    /// # Panics
    /// If a sentence has a different number of tokens and tags.
    pub fn build(tagged: &[(Vec<String>, Vec<usize>)], num_tags: usize) -> Self {
        Self::from_pairs(
            tagged.iter().flat_map(|(tokens, tags)| {
                assert_eq!(
                    tokens.len(),
                    tags.len(),
                    "TagUnigrams::build: a sentence has {} tokens but {} tags",
                    tokens.len(),
                    tags.len()
                );
                tokens.iter().map(String::as_str).zip(tags.iter().copied())
            }),
            num_tags,
        )
    }

    /// Counts `(word, tag)` pairs.
    pub(crate) fn from_pairs<'a>(
        pairs: impl Iterator<Item = (&'a str, usize)>,
        num_tags: usize,
    ) -> Self {
        let mut counts: Vec<HashMap<&'a str, u64, FxBuildHasher>> = Vec::new();
        counts.resize_with(num_tags, HashMap::default);
        for (word, tag) in pairs {
            if tag >= counts.len() {
                counts.resize_with(tag + 1, HashMap::default);
            }
            *counts[tag].entry(word).or_insert(0) += 1;
        }
        let tags = counts
            .into_iter()
            .map(|words| {
                // Sorted, so that sampling does not depend on hash-map iteration order.
                let mut words: Vec<(&str, u64)> = words.into_iter().collect();
                words.sort_unstable();
                let mut total = 0;
                let cumulative = words
                    .iter()
                    .map(|&(_, c)| {
                        total += c;
                        total
                    })
                    .collect();
                TagWords {
                    words: words.into_iter().map(|(w, _)| w.to_string()).collect(),
                    cumulative,
                }
            })
            .collect();
        TagUnigrams { tags }
    }

    /// Size of the tag table.
    pub fn num_tags(&self) -> usize {
        self.tags.len()
    }

    /// The distinct words seen with `tag`, sorted (empty for an unknown tag).
    pub fn words(&self, tag: usize) -> &[String] {
        self.tags.get(tag).map_or(&[], |t| &t.words)
    }

    /// How often `word` carried `tag`.
    pub fn count(&self, tag: usize, word: &str) -> u64 {
        let Some(t) = self.tags.get(tag) else {
            return 0;
        };
        match t.words.binary_search_by(|w| w.as_str().cmp(word)) {
            Ok(i) => t.cumulative[i] - if i == 0 { 0 } else { t.cumulative[i - 1] },
            Err(_) => 0,
        }
    }

    /// Number of tokens that carried `tag`.
    pub fn total(&self, tag: usize) -> u64 {
        self.tags
            .get(tag)
            .and_then(|t| t.cumulative.last().copied())
            .unwrap_or(0)
    }

    /// Draws a word with tag `tag` in proportion to its count (one RNG draw); `None` when no word
    /// carried that tag (no draw is made then).
    pub fn sample(&self, tag: usize, rng: &mut impl Rng) -> Option<&str> {
        let t = self.tags.get(tag)?;
        let total = *t.cumulative.last()?;
        let u = rng.gen_range(0..total);
        let i = t.cumulative.partition_point(|&c| c <= u);
        Some(&t.words[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn s(words: &str) -> Vec<String> {
        words.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn counts_and_sampling_frequencies() {
        let tagged = vec![
            (s("a b a c a"), vec![0, 0, 0, 1, 0]),
            (s("b d"), vec![0, 3]),
        ];
        let u = TagUnigrams::build(&tagged, 2);
        assert_eq!(u.num_tags(), 4);
        assert_eq!(u.words(0), ["a", "b"]);
        assert_eq!(
            (
                u.count(0, "a"),
                u.count(0, "b"),
                u.count(0, "c"),
                u.count(1, "c")
            ),
            (3, 2, 0, 1)
        );
        assert_eq!((u.total(0), u.total(2), u.total(9)), (5, 0, 0));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert_eq!(u.sample(2, &mut rng), None);
        let n = 20_000;
        let a = (0..n)
            .filter(|_| u.sample(0, &mut rng) == Some("a"))
            .count();
        let freq = a as f64 / n as f64;
        assert!(
            (freq - 0.6).abs() < 0.02,
            "P(a | tag 0) = {freq}, expected 0.6"
        );
    }
}
