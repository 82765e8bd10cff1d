//! The paired bootstrap of a variant's dev-accuracy difference to the baseline, pooled over
//! seeds (Efron & Tibshirani 1993, ch. 13, percentile interval; paired over dev examples as in
//! Koehn 2004's paired bootstrap resampling for MT).
//!
//! The procedure, exactly:
//! 1. Take each model's seeds, V for the variant and B for the baseline (a folder grown by
//!    `merge-results` may hold more seeds of one variant than of another).
//! 2. For each dev example i, d_i = (1/|V|) Σ_{s∈V} `correct_variant[s][i]` −
//!    (1/|B|) Σ_{s∈B} `correct_baseline[s][i]`, so the observed difference, in accuracy points,
//!    is 100 · mean_i d_i: the difference of the two models' accuracies, each averaged over its
//!    own seeds (with V = B, the per-seed differences averaged over the seeds).
//! 3. Draw B resamples (10,000 by default); each draws n example indices uniformly with
//!    replacement (`rand` 0.8 `gen_range(0..n)` on a `ChaCha8Rng` seeded with
//!    [`BootstrapConfig::seed`]) and computes 100 · mean of d over the drawn indices. The same
//!    drawn indices serve every seed, so a resample is the seed-averaged accuracy difference on a
//!    resampled dev set (the average over seeds of the per-seed differences equals the difference
//!    of the mean d, exactly).
//! 4. Sort the B values; the CI at level 1 − a is [v_(⌈B·a/2⌉), v_(⌈B·(1 − a/2)⌉)] (1-based order
//!    statistics: with B = 10,000 and a = 0.05, the 250th and the 9,750th smallest).
//!
//! Sums are kept in integers (|V| · Σ d over draws when V = B, |V| · |B| · Σ d otherwise), so
//! identical predictions give exactly 0.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Settings of the paired bootstrap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapConfig {
    /// Number of resamples B.
    pub resamples: usize,
    /// Seed of the ChaCha8 generator (fixed, so the report is the same on every machine).
    pub seed: u64,
    /// Coverage of the interval (0.95 for a 95% CI).
    pub level: f64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            resamples: 10_000,
            seed: 0,
            level: 0.95,
        }
    }
}

/// A model's correctness on the dev examples, per seed: `correct[seed][i]`.
pub type Correctness = BTreeMap<u64, Vec<bool>>;

/// The bootstrap's result, in accuracy points (percent).
#[derive(Debug, Clone, PartialEq)]
pub struct PairedCi {
    /// The observed difference: the variant's dev accuracy minus the baseline's, each averaged
    /// over its own seeds.
    pub diff: f64,
    /// Lower end of the CI.
    pub low: f64,
    /// Upper end of the CI.
    pub high: f64,
    /// The seeds of either model.
    pub seeds: Vec<u64>,
    /// Number of dev examples.
    pub examples: usize,
    /// Number of resamples.
    pub resamples: usize,
    /// The interval's coverage.
    pub level: f64,
}

impl PairedCi {
    /// Whether the interval excludes 0 (the difference is not explained by the dev sample).
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }

    /// `[-0.35, +1.20]`.
    pub fn format(&self) -> String {
        format!("[{:+.2}, {:+.2}]", self.low, self.high)
    }
}

/// The paired bootstrap CI of (variant − baseline) dev accuracy, each model's accuracy averaged
/// over its own seeds (see the module header for the exact procedure). Errors (as a message) when
/// a model has no seed, when there are no examples, or when a seed's vector has another length
/// than the rest.
pub fn paired_bootstrap(
    variant: &Correctness,
    baseline: &Correctness,
    cfg: &BootstrapConfig,
) -> std::result::Result<PairedCi, String> {
    if variant.is_empty() || baseline.is_empty() {
        return Err(format!(
            "the {} has no seed",
            if variant.is_empty() { "variant" } else { "baseline" }
        ));
    }
    if cfg.resamples == 0 || !(cfg.level > 0.0 && cfg.level < 1.0) {
        return Err(format!(
            "bootstrap needs resamples > 0 and 0 < level < 1, got {} and {}",
            cfg.resamples, cfg.level
        ));
    }
    let n = variant.values().next().map_or(0, Vec::len);
    if n == 0 {
        return Err("no dev examples".into());
    }
    // k_i = |V| · d_i when V = B, an integer in [−|V|, |V|]; else |V| · |B| · d_i.
    let (wv, wb, denom) = if variant.keys().eq(baseline.keys()) {
        (1, 1, variant.len())
    } else {
        let (nv, nb) = (variant.len(), baseline.len());
        (nb as i64, nv as i64, nv * nb)
    };
    let mut k = vec![0i64; n];
    for (model, w) in [(variant, wv), (baseline, -wb)] {
        for (s, c) in model {
            if c.len() != n {
                return Err(format!("seed {s}: {} predictions, expected {n}", c.len()));
            }
            for (ki, &ok) in k.iter_mut().zip(c) {
                *ki += w * i64::from(ok);
            }
        }
    }
    let seeds: Vec<u64> = variant
        .keys()
        .chain(baseline.keys())
        .copied()
        .collect::<std::collections::BTreeSet<u64>>()
        .into_iter()
        .collect();
    let scale = 100.0 / (denom as f64 * n as f64);
    let diff = k.iter().sum::<i64>() as f64 * scale;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut sums: Vec<i64> = (0..cfg.resamples)
        .map(|_| (0..n).map(|_| k[rng.gen_range(0..n)]).sum())
        .collect();
    sums.sort_unstable();
    let (low, high) = percentile_positions(cfg);
    Ok(PairedCi {
        diff,
        low: sums[low] as f64 * scale,
        high: sums[high] as f64 * scale,
        seeds,
        examples: n,
        resamples: cfg.resamples,
        level: cfg.level,
    })
}

/// The bootstrap of a contrast Σ_m w_m · acc_m between several models (a factorial's main
/// effect or interaction; one model with weight 1 gives the CI of its own accuracy). Each
/// model's score on example i is its correctness averaged over *its own* seeds, so models with
/// different seed sets combine; the contrast on example i is Σ_m w_m · score_m(i), and the
/// resampling is [`paired_bootstrap`]'s (n draws per resample from a ChaCha8 seeded with
/// [`BootstrapConfig::seed`], percentile interval). For two models with the same seeds and
/// weights +1, −1 it is [`paired_bootstrap`]'s difference. `seeds` in the result is the union of
/// the models' seeds.
pub fn contrast_bootstrap(
    terms: &[(&Correctness, f64)],
    cfg: &BootstrapConfig,
) -> std::result::Result<PairedCi, String> {
    if cfg.resamples == 0 || !(cfg.level > 0.0 && cfg.level < 1.0) {
        return Err(format!(
            "bootstrap needs resamples > 0 and 0 < level < 1, got {} and {}",
            cfg.resamples, cfg.level
        ));
    }
    let Some(n) = terms
        .iter()
        .find_map(|(c, _)| c.values().next().map(Vec::len))
    else {
        return Err("no model of the contrast has predictions".into());
    };
    if n == 0 {
        return Err("no examples".into());
    }
    let mut c = vec![0f64; n];
    let mut seeds = std::collections::BTreeSet::new();
    for (model, w) in terms {
        if model.is_empty() {
            return Err("a model of the contrast has no seed".into());
        }
        let per = w / model.len() as f64;
        for (s, v) in model.iter() {
            if v.len() != n {
                return Err(format!("seed {s}: {} predictions, expected {n}", v.len()));
            }
            seeds.insert(*s);
            for (ci, &ok) in c.iter_mut().zip(v) {
                if ok {
                    *ci += per;
                }
            }
        }
    }
    let scale = 100.0 / n as f64;
    let diff = c.iter().sum::<f64>() * scale;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut sums: Vec<f64> = (0..cfg.resamples)
        .map(|_| (0..n).map(|_| c[rng.gen_range(0..n)]).sum::<f64>() * scale)
        .collect();
    sums.sort_unstable_by(f64::total_cmp);
    let (low, high) = percentile_positions(cfg);
    Ok(PairedCi {
        diff,
        low: sums[low],
        high: sums[high],
        seeds: seeds.into_iter().collect(),
        examples: n,
        resamples: cfg.resamples,
        level: cfg.level,
    })
}

/// 0-based positions of the percentile interval's ends among the sorted resamples: the
/// ⌈B·a/2⌉-th and ⌈B·(1 − a/2)⌉-th smallest (1-based), a = 1 − level.
fn percentile_positions(cfg: &BootstrapConfig) -> (usize, usize) {
    let alpha = 1.0 - cfg.level;
    let b = cfg.resamples as f64;
    // 1 − 0.95 is 0.05000000000000004 in f64: without the slack, ⌈B·a/2⌉ would be 251, not 250.
    let order = |q: f64| (((b * q) - 1e-9).ceil() as usize).clamp(1, cfg.resamples) - 1;
    (order(alpha / 2.0), order(1.0 - alpha / 2.0))
}
