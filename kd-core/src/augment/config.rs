//! The augmentation hyper-parameters of §3.2.

use crate::data::Task;
use crate::{KdError, Result};
use serde::{Deserialize, Serialize};

/// Augmentation settings. The defaults are the paper's single-sentence (SST-2) settings;
/// [`AugmentConfig::for_task`] gives `n_iter = 10` for sentence pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Probability that a word becomes `[MASK]` (paper: 0.1).
    pub p_mask: f64,
    /// Probability that a word is replaced by a same-POS word (paper: 0.1).
    pub p_pos: f64,
    /// Probability that only one random n-gram of the sentence is kept (paper: 0.25).
    pub p_ng: f64,
    /// Largest n-gram length; `n` is uniform in `1..=max_ngram`, capped at the sentence length
    /// (paper: 5).
    pub max_ngram: usize,
    /// Augmented samples drawn per sentence, before de-duplication (paper: 20 for SST-2, 10 for
    /// the pair tasks).
    pub n_iter: usize,
    /// Seed; each sentence's RNG is seeded from `(seed, orig_id)`.
    pub seed: u64,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        AugmentConfig {
            p_mask: 0.1,
            p_pos: 0.1,
            p_ng: 0.25,
            max_ngram: 5,
            n_iter: 20,
            seed: 0,
        }
    }
}

impl AugmentConfig {
    /// The paper's settings for `task`: `n_iter` 20 for SST-2, 10 for QQP and MNLI.
    pub fn for_task(task: Task) -> Self {
        AugmentConfig {
            n_iter: if task.is_pair() { 10 } else { 20 },
            ..Self::default()
        }
    }

    /// Checks that the probabilities lie in `[0, 1]`, `p_mask + p_pos <= 1` and `max_ngram >= 1`.
    pub fn validate(&self) -> Result<()> {
        for (name, p) in [
            ("p_mask", self.p_mask),
            ("p_pos", self.p_pos),
            ("p_ng", self.p_ng),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(KdError::InvalidArgument(format!(
                    "augment.{name} = {p} is not a probability in [0, 1]"
                )));
            }
        }
        if self.p_mask + self.p_pos > 1.0 {
            return Err(KdError::InvalidArgument(format!(
                "augment.p_mask + augment.p_pos = {} + {} exceeds 1",
                self.p_mask, self.p_pos
            )));
        }
        if self.max_ngram == 0 {
            return Err(KdError::InvalidArgument(
                "augment.max_ngram must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_bad_values() {
        assert!(AugmentConfig::default().validate().is_ok());
        let bad = [
            AugmentConfig {
                p_mask: -0.1,
                ..Default::default()
            },
            AugmentConfig {
                p_pos: 1.5,
                ..Default::default()
            },
            AugmentConfig {
                p_ng: f64::NAN,
                ..Default::default()
            },
            AugmentConfig {
                p_mask: 0.6,
                p_pos: 0.5,
                ..Default::default()
            },
            AugmentConfig {
                max_ngram: 0,
                ..Default::default()
            },
        ];
        for cfg in bad {
            assert!(cfg.validate().is_err(), "{cfg:?} should be rejected");
        }
    }

    #[test]
    fn pair_tasks_use_ten_iterations() {
        assert_eq!(AugmentConfig::for_task(Task::Sst2).n_iter, 20);
        assert_eq!(AugmentConfig::for_task(Task::Mnli).n_iter, 10);
        let yaml_like: AugmentConfig = serde_json::from_str(r#"{"p_ng": 0.5}"#).unwrap();
        assert_eq!(yaml_like.p_ng, 0.5);
        assert_eq!(yaml_like.n_iter, 20);
        assert!(serde_json::from_str::<AugmentConfig>(r#"{"p_ngram": 0.5}"#).is_err());
    }
}
