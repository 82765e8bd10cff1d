//! Same-tag replacement (§3.2): a word that is not masked is, with probability `p_pos`, replaced
//! by a word with the same POS tag, drawn from the training set's unigram distribution of words
//! with that tag ([`TagUnigrams`]).

use super::{AugmentConfig, TagUnigrams};
use rand::Rng;

/// Whether a word whose draw is `x ~ U[0,1)` is replaced by a same-tag word, given that it was
/// not masked ([`super::mask::is_masked`]): `x < p_mask + p_pos`.
pub fn is_replaced(x: f64, cfg: &AugmentConfig) -> bool {
    x < cfg.p_mask + cfg.p_pos
}

/// A word with tag `tag` drawn from `unigrams` in proportion to its count (one RNG draw); a tag
/// that no training word carried keeps `token` (and makes no draw).
pub fn same_tag_word(
    token: &str,
    tag: usize,
    unigrams: &TagUnigrams,
    rng: &mut impl Rng,
) -> String {
    unigrams.sample(tag, rng).unwrap_or(token).to_string()
}
