//! The paired bootstrap against cases computed by hand.

use reports::ablation::bootstrap::{paired_bootstrap, BootstrapConfig, Correctness};

fn one_seed(v: &[bool]) -> Correctness {
    [(0u64, v.to_vec())].into_iter().collect()
}

#[test]
fn identical_predictions_give_exactly_zero() {
    let c: Correctness = [
        (0, vec![true, false, true, true, false]),
        (1, vec![false, false, true, true, true]),
    ]
    .into_iter()
    .collect();
    let ci = paired_bootstrap(&c, &c, &BootstrapConfig::default()).unwrap();
    assert_eq!((ci.diff, ci.low, ci.high), (0.0, 0.0, 0.0));
    assert_eq!(ci.seeds, vec![0, 1]);
    assert_eq!(ci.resamples, 10_000);
    assert!(!ci.excludes_zero());
}

/// Four examples; the variant is right where the baseline is wrong on example 0 only, so
/// d = (1, 0, 0, 0) and a resample's difference is 25·K points, K ~ Binomial(4, 1/4):
/// P(K = 0, 1, 2, 3, 4) = (81, 108, 54, 12, 1) / 256. The 2.5% quantile is K = 0 (P(K = 0) =
/// 0.316 > 0.025); P(K ≤ 2) = 243/256 = 0.949 < 0.975 ≤ P(K ≤ 3) = 255/256, so the 97.5%
/// quantile is K = 3. With 10,000 resamples the empirical CDF at K ≤ 2 has sd ~0.002, far from
/// 0.975: the CI is [0, 75] for any seed of the generator.
#[test]
fn four_examples_match_the_binomial_by_hand() {
    let variant = one_seed(&[true, true, false, true]);
    let baseline = one_seed(&[false, true, false, true]);
    for seed in [0, 1, 2, 12345] {
        let cfg = BootstrapConfig {
            seed,
            ..BootstrapConfig::default()
        };
        let ci = paired_bootstrap(&variant, &baseline, &cfg).unwrap();
        assert_eq!(ci.diff, 25.0);
        assert_eq!((ci.low, ci.high), (0.0, 75.0), "seed {seed}");
        assert_eq!(ci.examples, 4);
    }
    // The 68% interval: P(K = 0) = 0.316 > 0.16, and P(K ≤ 1) = 0.738 < 0.84 ≤ P(K ≤ 2) =
    // 0.949, so it is [0, 50].
    let ci = paired_bootstrap(
        &variant,
        &baseline,
        &BootstrapConfig {
            level: 0.68,
            ..BootstrapConfig::default()
        },
    )
    .unwrap();
    assert_eq!((ci.low, ci.high), (0.0, 50.0));
}

/// The same resampled examples serve every seed: with seed 0 giving d = +1 on example 0 and
/// seed 1 giving d = −1 on the same example, the seed-averaged difference is 0 on every
/// resample, so the CI is [0, 0] though each seed alone differs.
#[test]
fn seeds_are_paired_on_the_same_resampled_examples() {
    let variant: Correctness = [(0, vec![true, false, true]), (1, vec![false, false, true])]
        .into_iter()
        .collect();
    let baseline: Correctness = [(0, vec![false, false, true]), (1, vec![true, false, true])]
        .into_iter()
        .collect();
    let ci = paired_bootstrap(&variant, &baseline, &BootstrapConfig::default()).unwrap();
    assert_eq!((ci.diff, ci.low, ci.high), (0.0, 0.0, 0.0));
}

#[test]
fn every_seed_of_each_model_counts() {
    // A folder grown by merge-results: the baseline has a seed the variant lacks. Each model's
    // accuracy is averaged over its own seeds: variant scores (1, 1), baseline (1/2, 1).
    let variant = one_seed(&[true, true]);
    let baseline: Correctness = [(0, vec![false, true]), (1, vec![true, true])]
        .into_iter()
        .collect();
    let ci = paired_bootstrap(&variant, &baseline, &BootstrapConfig::default()).unwrap();
    assert_eq!(ci.seeds, vec![0, 1]);
    // The difference of the means over each model's seeds: 100 - 75.
    assert_eq!(ci.diff, 25.0);
    // d = (1/2, 0): a resample's difference is 25·K, K ~ Binomial(2, 1/2); P(K = 0) = 0.25 >
    // 0.025 and P(K ≤ 1) = 0.75 < 0.975.
    assert_eq!((ci.low, ci.high), (0.0, 50.0));
    // Seeds need not overlap at all.
    let other: Correctness = [(7, vec![false, true])].into_iter().collect();
    let ci = paired_bootstrap(&variant, &other, &BootstrapConfig::default()).unwrap();
    assert_eq!((ci.diff, ci.seeds.clone()), (50.0, vec![0, 7]));
}

#[test]
fn the_generator_is_seeded() {
    let variant = one_seed(&[
        true, false, true, true, false, true, false, true, true, false,
    ]);
    let baseline = one_seed(&[
        false, false, true, false, true, true, false, false, true, true,
    ]);
    let cfg = BootstrapConfig::default();
    let a = paired_bootstrap(&variant, &baseline, &cfg).unwrap();
    let b = paired_bootstrap(&variant, &baseline, &cfg).unwrap();
    assert_eq!(a, b);
    assert!(a.low < a.diff && a.diff < a.high, "{a:?}");
}

#[test]
fn a_model_without_seeds_or_unequal_lengths_is_an_error() {
    let a = one_seed(&[true]);
    let b = Correctness::new();
    let err = paired_bootstrap(&a, &b, &BootstrapConfig::default()).unwrap_err();
    assert_eq!(err, "the baseline has no seed");
    let c = one_seed(&[true, false]);
    let err = paired_bootstrap(&a, &c, &BootstrapConfig::default()).unwrap_err();
    assert!(err.contains("expected 1"), "{err}");
}
