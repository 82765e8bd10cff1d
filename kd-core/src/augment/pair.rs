//! Which sentence(s) of an example an augmented copy changes (§3.2: for sentence pairs the paper
//! cycles through augmenting the first sentence only, the second only, and both).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a transfer-set row was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AugMode {
    /// The training example itself.
    Original,
    /// An augmented single sentence.
    Single,
    /// A pair with only the first sentence augmented.
    FirstOnly,
    /// A pair with only the second sentence augmented.
    SecondOnly,
    /// A pair with both sentences augmented.
    Both,
}

impl AugMode {
    /// The mode of the `iteration`-th (0-based) augmented copy of a pair: first only, second
    /// only, both, first only, ...
    pub fn for_pair_iteration(iteration: usize) -> Self {
        match iteration % 3 {
            0 => AugMode::FirstOnly,
            1 => AugMode::SecondOnly,
            _ => AugMode::Both,
        }
    }

    /// Whether the first sentence is augmented.
    pub fn augments_first(self) -> bool {
        matches!(self, AugMode::Single | AugMode::FirstOnly | AugMode::Both)
    }

    /// Whether the second sentence is augmented.
    pub fn augments_second(self) -> bool {
        matches!(self, AugMode::SecondOnly | AugMode::Both)
    }

    /// The name used in transfer-set files.
    pub fn as_str(self) -> &'static str {
        match self {
            AugMode::Original => "original",
            AugMode::Single => "single",
            AugMode::FirstOnly => "first_only",
            AugMode::SecondOnly => "second_only",
            AugMode::Both => "both",
        }
    }
}

impl fmt::Display for AugMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AugMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            AugMode::Original,
            AugMode::Single,
            AugMode::FirstOnly,
            AugMode::SecondOnly,
            AugMode::Both,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| {
            format!(
                "unknown mode {s:?} (expected original, single, first_only, second_only or both)"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in [
            AugMode::Original,
            AugMode::Single,
            AugMode::FirstOnly,
            AugMode::SecondOnly,
            AugMode::Both,
        ] {
            assert_eq!(m.as_str().parse::<AugMode>().unwrap(), m);
        }
        assert!("First_Only".parse::<AugMode>().is_err());
    }
}
