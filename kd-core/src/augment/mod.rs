//! Transfer-set augmentation (§3.2 of Tang et al. 2019).
//!
//! For each word of a training sentence draw `X ~ U[0,1]`: if `X < p_mask` the word becomes
//! [`MASK_TOKEN`] ([`mask`]); else if `X < p_mask + p_pos` it is replaced by a word with the same
//! POS tag, drawn from the training set's unigram distribution of words with that tag ([`pos`]).
//! Then, with probability `p_ng`, only one random n-gram of the result is kept, `n` uniform in
//! `1..=max_ngram` ([`ngram`]). This is repeated `n_iter` times per sentence; duplicates and copies
//! of the original are dropped ([`transfer`]). Sentence pairs cycle through augmenting the first
//! sentence only, the second only and both ([`pair`]). The set is stored as TSV ([`io`]), later
//! with the teacher's logits beside each row.
//!
//! Every sentence gets its own ChaCha RNG seeded from `(seed, orig_id)`, so the set depends only on
//! the seed, never on the number of threads.

pub mod config;
pub mod io;
pub mod mask;
pub mod ngram;
pub mod pair;
pub mod pos;
pub mod transfer;

pub use config::AugmentConfig;
pub use io::{read_transfer_set, write_transfer_set};
pub use pair::AugMode;
pub use pos::TagUnigrams;
pub use transfer::{build_transfer_set, TransferExample, TransferSet, TransferStats};

use rand::Rng;

/// The token that replaces a masked word (BERT's mask token, as in the paper).
pub const MASK_TOKEN: &str = "[MASK]";

/// One augmented copy of a sentence: per-word masking / same-tag replacement, then, with
/// probability `cfg.p_ng`, one random n-gram.
///
/// `tags[i]` is the POS tag of `tokens[i]` (an index into the tagger's classes, as in
/// `unigrams`). The random draws are, in order: one `U[0,1)` per word (plus one draw for each
/// replaced word), one `U[0,1)` for the n-gram decision, then `n` and the start when it is taken.
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
    let mut words = mask::noise_words(tokens, tags, unigrams, cfg, rng);
    if let Some(range) = ngram::maybe_sample_ngram(words.len(), cfg, rng) {
        words.truncate(range.end);
        words.drain(..range.start);
    }
    words
}
