//! Per-epoch seeds. Every training loop seeds epoch `e`'s shuffle (a ChaCha8 generator) and its
//! dropout masks (`tch::manual_seed`) from `(seed, e)` alone, so no generator state needs saving:
//! a run resumed after epoch `e` replays exactly what an uninterrupted run does.

/// The seed of 1-based epoch `epoch` of a run seeded with `seed`.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_by_epoch_and_run() {
        assert_eq!(epoch_seed(0, 1), 1);
        assert_eq!(epoch_seed(2, 3), 2_000_009);
        assert_ne!(epoch_seed(1, 1), epoch_seed(1, 2));
        assert_ne!(epoch_seed(1, 1), epoch_seed(2, 1));
        // Wraps instead of overflowing.
        assert_eq!(
            epoch_seed(u64::MAX, 1),
            u64::MAX.wrapping_mul(1_000_003).wrapping_add(1)
        );
    }
}
