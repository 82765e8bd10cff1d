//! The n-gram step of §3.2: with probability `p_ng`, keep only one random n-gram.
//!
//! `n` is uniform in `1..=max_ngram`, capped at the sentence length, and the start is uniform over
//! every position where an n-gram of that length fits, the last one included. (The paper's own
//! single-sentence script could crash on short sentences here.)

use super::AugmentConfig;
use rand::Rng;
use std::ops::Range;

/// Draws an n-gram of a `len`-token sentence: `n` uniform in `1..=max_ngram` capped at `len`,
/// start uniform in `0..=len - n`. Returns the token range; `None` for an empty sentence (no
/// draws are made then) or `max_ngram == 0`.
pub fn sample_ngram(len: usize, max_ngram: usize, rng: &mut impl Rng) -> Option<Range<usize>> {
    if len == 0 || max_ngram == 0 {
        return None;
    }
    let n = rng.gen_range(1..=max_ngram).min(len);
    let start = rng.gen_range(0..=len - n);
    Some(start..start + n)
}

/// With probability `cfg.p_ng` (one `U[0,1)` draw, always made), an n-gram of a `len`-token
/// sentence from [`sample_ngram`]; otherwise `None`.
pub fn maybe_sample_ngram(
    len: usize,
    cfg: &AugmentConfig,
    rng: &mut impl Rng,
) -> Option<Range<usize>> {
    if rng.gen::<f64>() < cfg.p_ng {
        sample_ngram(len, cfg.max_ngram, rng)
    } else {
        None
    }
}
