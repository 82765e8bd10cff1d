//! Building the transfer set of §3.2: the training examples, then `n_iter` augmented copies of
//! each, with duplicates and copies of the original dropped.
//!
//! Sentences are tagged and augmented in parallel (rayon); each example's copies come from its own
//! ChaCha8 RNG (key from `seed`, stream `orig_id`), and de-duplication runs sequentially in input
//! order, so the set is a function of the inputs and the seed alone, whatever the thread count.

use super::{augment_tokens, AugMode, AugmentConfig, TagUnigrams};
use crate::data::Example;
use crate::pos::PosTagger;
use crate::Result;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Examples augmented per parallel chunk (and per progress report).
const CHUNK: usize = 2048;

/// One row of the transfer set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TransferExample {
    /// Index of the training example this row comes from.
    pub orig_id: usize,
    /// 0 for the original, `k` for its `k`-th kept augmented copy.
    pub aug: u32,
    /// How the row was made.
    pub mode: AugMode,
    /// The sentence, or the first of a pair (tokens joined by single spaces for copies).
    pub text_a: String,
    /// The second sentence of a pair.
    pub text_b: Option<String>,
    /// The gold label, for originals only (augmented rows are labelled by the teacher).
    pub label: Option<usize>,
}

/// Counts from [`build_transfer_set`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferStats {
    /// Training examples (all kept, in input order).
    pub originals: usize,
    /// Augmented candidates drawn (`n_iter` per example).
    pub generated: usize,
    /// Candidates dropped because an earlier row (another example, or an earlier copy) already
    /// had the same text.
    pub dropped_duplicates: usize,
    /// Candidates dropped because they equal their own original.
    pub dropped_copies: usize,
}

impl TransferStats {
    /// Augmented rows kept.
    pub fn kept(&self) -> usize {
        self.generated - self.dropped_duplicates - self.dropped_copies
    }
}

/// A transfer set: originals first (input order), then the kept augmented copies (by `orig_id`,
/// then `aug`).
#[derive(Debug, Clone, PartialEq)]
pub struct TransferSet {
    /// The rows.
    pub examples: Vec<TransferExample>,
    /// What was generated and dropped.
    pub stats: TransferStats,
}

/// A whitespace-tokenised, tagged sentence.
struct Tagged {
    tokens: Vec<String>,
    tags: Vec<usize>,
}

impl Tagged {
    fn new(text: &str, tagger: &PosTagger) -> Self {
        let words: Vec<&str> = text.split_whitespace().collect();
        let tags = tagger.tag(&words);
        Tagged {
            tokens: words.into_iter().map(str::to_string).collect(),
            tags,
        }
    }
    fn text(&self) -> String {
        self.tokens.join(" ")
    }
}

/// Builds the transfer set from training `examples` (§3.2).
///
/// Sentences are split on whitespace and tagged with `tagger`; the same-tag replacement draws
/// from the unigram distribution of all `examples` (both sentences of pairs). An example with
/// `text_b` is a pair: its `i`-th copy augments the sentence(s) given by
/// [`AugMode::for_pair_iteration`]. A candidate equal (after whitespace normalisation) to its
/// original is dropped as a copy; one equal to any earlier row as a duplicate. Originals are all
/// kept, with their gold labels. `progress`, if given, is called with the number of examples
/// augmented so far.
pub fn build_transfer_set(
    examples: &[Example],
    tagger: &PosTagger,
    cfg: &AugmentConfig,
    progress: Option<&dyn Fn(usize)>,
) -> Result<TransferSet> {
    cfg.validate()?;
    let tagged: Vec<(Tagged, Option<Tagged>)> = examples
        .par_iter()
        .map(|ex| {
            (
                Tagged::new(&ex.text_a, tagger),
                ex.text_b.as_deref().map(|b| Tagged::new(b, tagger)),
            )
        })
        .collect();
    let unigrams = TagUnigrams::from_pairs(
        tagged.iter().flat_map(|(a, b)| {
            std::iter::once(a).chain(b).flat_map(|t| {
                t.tokens
                    .iter()
                    .map(String::as_str)
                    .zip(t.tags.iter().copied())
            })
        }),
        tagger.classes().len(),
    );
    let mut set = Dedup::with_originals(examples, &tagged, cfg.n_iter);
    let mut done = 0;
    for (chunk_index, chunk) in tagged.chunks(CHUNK).enumerate() {
        let first_id = chunk_index * CHUNK;
        let candidates: Vec<Vec<Candidate>> = chunk
            .par_iter()
            .enumerate()
            .map(|(k, (a, b))| augment_example(first_id + k, a, b.as_ref(), &unigrams, cfg))
            .collect();
        for (k, copies) in candidates.into_iter().enumerate() {
            set.add_copies(first_id + k, &tagged[first_id + k], copies);
        }
        done += chunk.len();
        if let Some(report) = progress {
            report(done);
        }
    }
    Ok(TransferSet {
        examples: set.rows,
        stats: set.stats,
    })
}

/// A generated copy: its mode and its sentence(s).
type Candidate = (AugMode, String, Option<String>);

/// The rows kept so far and every (text_a, text_b) they hold, for dropping duplicates.
struct Dedup {
    seen: HashSet<(String, Option<String>)>,
    rows: Vec<TransferExample>,
    stats: TransferStats,
}

impl Dedup {
    /// Every original, with its gold label, in order.
    fn with_originals(
        examples: &[Example],
        tagged: &[(Tagged, Option<Tagged>)],
        n_iter: usize,
    ) -> Self {
        let mut set = Dedup {
            seen: HashSet::with_capacity(examples.len() * (n_iter + 1)),
            rows: Vec::with_capacity(examples.len() * (n_iter / 2 + 1)),
            stats: TransferStats {
                originals: examples.len(),
                ..TransferStats::default()
            },
        };
        for (orig_id, (ex, (a, b))) in examples.iter().zip(tagged).enumerate() {
            set.seen.insert((a.text(), b.as_ref().map(Tagged::text)));
            set.rows.push(TransferExample {
                orig_id,
                aug: 0,
                mode: AugMode::Original,
                text_a: ex.text_a.clone(),
                text_b: ex.text_b.clone(),
                label: ex.label,
            });
        }
        set
    }

    /// Keeps each of `orig_id`'s copies that differs from its original and from every row so
    /// far, numbering the kept ones 1, 2, ...
    fn add_copies(
        &mut self,
        orig_id: usize,
        (a, b): &(Tagged, Option<Tagged>),
        copies: Vec<Candidate>,
    ) {
        let original = (a.text(), b.as_ref().map(Tagged::text));
        let mut aug = 0;
        for (mode, text_a, text_b) in copies {
            self.stats.generated += 1;
            let key = (text_a, text_b);
            if key == original {
                self.stats.dropped_copies += 1;
            } else if self.seen.contains(&key) {
                self.stats.dropped_duplicates += 1;
            } else {
                aug += 1;
                self.seen.insert(key.clone());
                self.rows.push(TransferExample {
                    orig_id,
                    aug,
                    mode,
                    text_a: key.0,
                    text_b: key.1,
                    label: None,
                });
            }
        }
    }
}

/// The `n_iter` candidates of one example, from its own RNG.
fn augment_example(
    orig_id: usize,
    a: &Tagged,
    b: Option<&Tagged>,
    unigrams: &TagUnigrams,
    cfg: &AugmentConfig,
) -> Vec<Candidate> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(orig_id as u64);
    let mut augment =
        |t: &Tagged| augment_tokens(&t.tokens, &t.tags, unigrams, cfg, &mut rng).join(" ");
    (0..cfg.n_iter)
        .map(|i| match b {
            None => (AugMode::Single, augment(a), None),
            Some(b) => {
                let mode = AugMode::for_pair_iteration(i);
                let text_a = if mode.augments_first() {
                    augment(a)
                } else {
                    a.text()
                };
                let text_b = if mode.augments_second() {
                    augment(b)
                } else {
                    b.text()
                };
                (mode, text_a, Some(text_b))
            }
        })
        .collect()
}
