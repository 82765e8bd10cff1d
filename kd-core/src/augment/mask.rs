//! Masking (§3.2): with probability `p_mask` a word becomes [`MASK_TOKEN`], BERT's mask token,
//! as in the paper. The per-word draw that decides it is shared with the same-tag replacement
//! ([`super::word_action`]): masking takes the first `p_mask` of `U[0,1)`.

use super::AugmentConfig;

/// The token that replaces a masked word (BERT's mask token, as in the paper).
pub const MASK_TOKEN: &str = "[MASK]";

/// Whether a word whose draw is `x ~ U[0,1)` is masked: `x < p_mask`.
pub fn is_masked(x: f64, cfg: &AugmentConfig) -> bool {
    x < cfg.p_mask
}
