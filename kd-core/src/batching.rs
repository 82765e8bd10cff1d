//! Length-bucketed batch planning, shared by the teacher's and the students' training loops and
//! by every inference pass. Grouping sentences of similar length keeps per-batch padding small
//! (and, for the student's fused LSTM, the set of padded shapes small).

use rand::seq::SliceRandom;
use rand::Rng;

/// The training batches of one epoch, as example indices: the examples are shuffled, cut into
/// pools of `pool_batches * batch_size`, each pool is sorted by length (stable: ties keep the
/// shuffled order) and cut into batches, and the batch order is shuffled (torchtext's
/// `BucketIterator`). Each batch is near-uniform in length while the epoch stays random; the
/// result depends only on `lengths`, the sizes and `rng`'s state. Only the epoch's last batch can
/// be short. `pool_batches = 1` is a plain shuffle.
pub fn plan_batches<R: Rng>(
    lengths: &[usize],
    batch_size: usize,
    pool_batches: usize,
    rng: &mut R,
) -> Vec<Vec<usize>> {
    let batch_size = batch_size.max(1);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(rng);
    let pool = batch_size * pool_batches.max(1);
    let mut batches = Vec::with_capacity(lengths.len().div_ceil(batch_size));
    for chunk in order.chunks_mut(pool) {
        chunk.sort_by_key(|&i| lengths[i]);
        batches.extend(chunk.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(rng);
    batches
}

/// Inference batches: all indices sorted by length (ties in input order), cut into `batch_size`
/// runs. Callers scatter the results back to input order.
pub fn sorted_batches(lengths: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn plan_covers_each_example_once_with_full_batches() {
        let lengths: Vec<usize> = (0..103).map(|i| (i * 7) % 31 + 1).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let batches = plan_batches(&lengths, 10, 4, &mut rng);
        let mut seen: Vec<usize> = batches.concat();
        seen.sort();
        assert_eq!(seen, (0..103).collect::<Vec<_>>());
        assert_eq!(batches.iter().filter(|b| b.len() != 10).count(), 1);
    }

    #[test]
    fn batches_within_a_pool_are_near_uniform_in_length() {
        let lengths: Vec<usize> = (0..1000).map(|i| (i * 37) % 101).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let batches = plan_batches(&lengths, 10, 50, &mut rng);
        // Within a pool of 500 over ~100 distinct lengths, a batch of 10 spans few lengths.
        let spread: usize = batches
            .iter()
            .map(|b| {
                let ls = b.iter().map(|&i| lengths[i]);
                ls.clone().max().unwrap() - ls.min().unwrap()
            })
            .sum();
        assert!(
            spread / batches.len() <= 5,
            "mean spread {}",
            spread / batches.len()
        );
    }

    #[test]
    fn same_rng_state_same_plan() {
        let lengths: Vec<usize> = (0..57).map(|i| i % 9).collect();
        let plan = |seed| {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            plan_batches(&lengths, 8, 3, &mut rng)
        };
        assert_eq!(plan(1), plan(1));
        assert_ne!(plan(1), plan(2));
    }

    #[test]
    fn inference_batches_are_sorted_by_length_ties_in_input_order() {
        assert_eq!(
            sorted_batches(&[5, 1, 3, 1], 2),
            vec![vec![1, 3], vec![2, 0]]
        );
    }
}
