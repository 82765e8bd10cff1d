//! Part-of-speech tagging for the same-tag replacement of §3.2 ([`crate::augment::same_tag`]).
//!
//! The paper used `nltk.pos_tag`; [`PosTagger`] runs the same averaged-perceptron model (NLTK's
//! `averaged_perceptron_tagger_eng`, JSON files) with the same greedy left-to-right decoding, so its
//! tags match NLTK's tag for tag.

mod fxhash;
mod tagger;

pub(crate) use fxhash::FxBuildHasher;
pub use tagger::PosTagger;
