//! Transfer-set augmentation (§3.2 of Tang et al. 2019), one file per step of the recipe.
//!
//! For each word of a training sentence draw `X ~ U[0,1]` ([`word_action`]): if `X < p_mask` the
//! word becomes [`MASK_TOKEN`] ([`mask`]); else if `X < p_mask + p_pos` it is replaced by a word
//! with the same POS tag ([`same_tag`]), drawn from the training set's unigram distribution of
//! words with that tag ([`tag_unigrams`]; the tags come from [`crate::pos`]). Then, with
//! probability `p_ng`, only one random n-gram of the result is kept, `n` uniform in
//! `1..=max_ngram` ([`ngram`]). [`augment_tokens`] is this recipe for one sentence. It is
//! repeated `n_iter` times per sentence; duplicates and copies of the original are dropped
//! ([`transfer`]). Sentence pairs cycle through augmenting the first sentence only, the second
//! only and both ([`pair`]). The set is stored as TSV ([`io`]), later with the teacher's logits
//! beside each row.
//!
//! Every sentence gets its own ChaCha RNG seeded from `(seed, orig_id)`, so the set depends only on
//! the seed, never on the number of threads.

pub mod config;
pub mod io;
pub mod mask;
pub mod ngram;
pub mod pair;
pub mod parquet_file;
pub mod same_tag;
pub mod tag_unigrams;
pub mod transfer;

pub use config::AugmentConfig;
pub use io::{read_transfer_set, write_transfer_set};
pub use mask::MASK_TOKEN;
pub use pair::AugMode;
pub use parquet_file::{read_transfer_parquet, write_transfer_parquet};
pub use tag_unigrams::TagUnigrams;
pub use transfer::{build_transfer_set, TransferExample, TransferSet, TransferStats};

use rand::Rng;

/// What the per-word draw decided for one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordAction {
    /// Keep the word.
    Keep,
    /// Replace it by [`MASK_TOKEN`] ([`mask`]).
    Mask,
    /// Replace it by a word with the same POS tag ([`same_tag`]).
    SameTag,
}

/// Maps a word's draw `x ~ U[0,1)` to an action: `x < p_mask` masks, else `x < p_mask + p_pos`
/// replaces, else the word is kept.
pub fn word_action(x: f64, cfg: &AugmentConfig) -> WordAction {
    if mask::is_masked(x, cfg) {
        WordAction::Mask
    } else if same_tag::is_replaced(x, cfg) {
        WordAction::SameTag
    } else {
        WordAction::Keep
    }
}

/// One augmented copy of a sentence: per-word masking / same-tag replacement, then, with
/// probability `cfg.p_ng`, one random n-gram.
///
/// `tags[i]` is the POS tag of `tokens[i]` (an index into the tagger's classes, as in
/// `unigrams`). The random draws are, in order: one `U[0,1)` per word (plus one draw for each
/// replaced word whose tag has words in `unigrams`), one `U[0,1)` for the n-gram decision, then
/// `n` and the start when it is taken.
///
/// # Panics
/// If `tags.len() != tokens.len()` (a caller bug: tags come from tagging these tokens).
pub fn augment_tokens(
    tokens: &[String],
    tags: &[usize],
    unigrams: &TagUnigrams,
    cfg: &AugmentConfig,
    rng: &mut impl Rng,
) -> Vec<String> {
    assert_eq!(
        tokens.len(),
        tags.len(),
        "augment_tokens: {} tokens but {} tags",
        tokens.len(),
        tags.len()
    );
    let mut words: Vec<String> = tokens
        .iter()
        .zip(tags)
        .map(|(token, &tag)| match word_action(rng.gen::<f64>(), cfg) {
            WordAction::Keep => token.clone(),
            WordAction::Mask => MASK_TOKEN.to_string(),
            WordAction::SameTag => same_tag::same_tag_word(token, tag, unigrams, rng),
        })
        .collect();
    if let Some(range) = ngram::maybe_sample_ngram(words.len(), cfg, rng) {
        words.truncate(range.end);
        words.drain(..range.start);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_action_thresholds() {
        let cfg = AugmentConfig::default();
        assert_eq!(word_action(0.0, &cfg), WordAction::Mask);
        assert_eq!(word_action(0.0999, &cfg), WordAction::Mask);
        assert_eq!(word_action(0.1, &cfg), WordAction::SameTag);
        assert_eq!(word_action(0.1999, &cfg), WordAction::SameTag);
        assert_eq!(word_action(0.2, &cfg), WordAction::Keep);
        assert_eq!(word_action(0.99, &cfg), WordAction::Keep);
    }
}
