//! Length bucketing: batches of similar-length sequences, so that per-batch padding stays small.

use rand::seq::SliceRandom;
use rand::Rng;

/// Batches for inference: indices sorted by length (ties in input order), cut into
/// `batch_size` runs. Callers scatter the results back to input order.
pub fn inference_batches(lengths: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    order
        .chunks(batch_size.max(1))
        .map(|c| c.to_vec())
        .collect()
}

/// Number of batches that form one sorting pool in [`training_batches`].
pub const POOL_BATCHES: usize = 50;

/// Batches for one training epoch: shuffle, sort pools of [`POOL_BATCHES`] batches by length,
/// cut into batches, shuffle the batch order. Each batch is near-uniform in length while the
/// epoch stays random; the result depends only on `rng`'s state.
pub fn training_batches<R: Rng>(
    lengths: &[usize],
    batch_size: usize,
    rng: &mut R,
) -> Vec<Vec<usize>> {
    let batch_size = batch_size.max(1);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(rng);
    let mut batches: Vec<Vec<usize>> = Vec::with_capacity(lengths.len().div_ceil(batch_size));
    for pool in order.chunks(batch_size * POOL_BATCHES) {
        let mut pool = pool.to_vec();
        pool.sort_by_key(|&i| lengths[i]);
        batches.extend(pool.chunks(batch_size).map(|c| c.to_vec()));
    }
    batches.shuffle(rng);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn training_batches_cover_every_index_once_and_bucket() {
        let lengths: Vec<usize> = (0..1000).map(|i| (i * 37) % 101).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let batches = training_batches(&lengths, 10, &mut rng);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        // Within a pool of 500 over ~100 distinct lengths, a batch of 10 spans few lengths.
        let spread: usize = batches
            .iter()
            .map(|b| {
                b.iter().map(|&i| lengths[i]).max().unwrap()
                    - b.iter().map(|&i| lengths[i]).min().unwrap()
            })
            .sum();
        assert!(
            spread / batches.len() <= 5,
            "mean within-batch length spread {}",
            spread / batches.len()
        );
    }

    #[test]
    fn inference_batches_are_sorted_by_length() {
        let batches = inference_batches(&[5, 1, 3, 1], 2);
        assert_eq!(batches, vec![vec![1, 3], vec![2, 0]]);
    }
}
