//! The per-word step of §3.2: masking and same-POS replacement, driven by one `U[0,1]` draw per
//! word.

use super::{AugmentConfig, TagUnigrams, MASK_TOKEN};
use rand::Rng;

/// What the per-word draw decided for one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordAction {
    /// Keep the word.
    Keep,
    /// Replace it by [`MASK_TOKEN`].
    Mask,
    /// Replace it by a word with the same POS tag.
    SameTag,
}

/// Maps a draw `x ~ U[0,1)` to an action: `x < p_mask` masks, `x < p_mask + p_pos` replaces.
pub fn word_action(x: f64, cfg: &AugmentConfig) -> WordAction {
    if x < cfg.p_mask {
        WordAction::Mask
    } else if x < cfg.p_mask + cfg.p_pos {
        WordAction::SameTag
    } else {
        WordAction::Keep
    }
}

/// Applies the per-word step to every token. A same-tag replacement draws from `unigrams`; a tag
/// with no words there (none in the training set) keeps the original word.
pub fn noise_words(
    tokens: &[String],
    tags: &[usize],
    unigrams: &TagUnigrams,
    cfg: &AugmentConfig,
    rng: &mut impl Rng,
) -> Vec<String> {
    tokens
        .iter()
        .zip(tags)
        .map(|(token, &tag)| match word_action(rng.gen::<f64>(), cfg) {
            WordAction::Keep => token.clone(),
            WordAction::Mask => MASK_TOKEN.to_string(),
            WordAction::SameTag => unigrams
                .sample(tag, rng)
                .map_or_else(|| token.clone(), str::to_string),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let cfg = AugmentConfig::default();
        assert_eq!(word_action(0.0, &cfg), WordAction::Mask);
        assert_eq!(word_action(0.0999, &cfg), WordAction::Mask);
        assert_eq!(word_action(0.1, &cfg), WordAction::SameTag);
        assert_eq!(word_action(0.1999, &cfg), WordAction::SameTag);
        assert_eq!(word_action(0.2, &cfg), WordAction::Keep);
        assert_eq!(word_action(0.99, &cfg), WordAction::Keep);
    }
}
