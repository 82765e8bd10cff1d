//! The three verdicts a generated paragraph may give a difference, and nothing else (STYLE.md,
//! "Claims from results"):
//!
//! | verdict                    | when                                                        |
//! |----------------------------|-------------------------------------------------------------|
//! | **better** / **worse**     | the 95% CI of the difference excludes 0                     |
//! | **equivalent within ±δ**   | otherwise, the 90% CI lies inside [−δ, +δ] (two one-sided tests at 5% each, Schuirmann 1987) |
//! | **not shown either way**   | otherwise: the interval straddles 0 and is wider than the margin |
//!
//! "Not shown different" is never "equal": equivalence needs its own, stricter test. A
//! difference can exclude 0 and still lie inside ±δ; it is then *better* or *worse* (the rule
//! checks the 95% interval first), and the paragraph prints the interval so the reader sees its
//! size. δ is a report setting ([`VerdictConfig::margin`], 0.5 points by default).

use super::bootstrap::PairedCi;

/// The verdict rule's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerdictConfig {
    /// The equivalence margin δ, in points.
    pub margin: f64,
}

impl Default for VerdictConfig {
    fn default() -> Self {
        VerdictConfig { margin: 0.5 }
    }
}

/// What an interval says about a difference A − B.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// The 95% CI lies above 0.
    Better,
    /// The 95% CI lies below 0.
    Worse,
    /// Not better or worse, and the 90% CI lies inside ±`margin`.
    Equivalent {
        /// δ.
        margin: f64,
    },
    /// Neither.
    NotShown,
}

impl Verdict {
    /// The rule of the module header, from the 95% and the 90% interval of one difference.
    pub fn of(ci95: (f64, f64), ci90: (f64, f64), cfg: &VerdictConfig) -> Verdict {
        let (low, high) = ci95;
        if low > 0.0 {
            Verdict::Better
        } else if high < 0.0 {
            Verdict::Worse
        } else if -cfg.margin <= ci90.0 && ci90.1 <= cfg.margin {
            Verdict::Equivalent { margin: cfg.margin }
        } else {
            Verdict::NotShown
        }
    }

    /// [`Verdict::of`] the two intervals of one bootstrap.
    pub fn of_cis(ci95: &PairedCi, ci90: &PairedCi, cfg: &VerdictConfig) -> Verdict {
        Verdict::of((ci95.low, ci95.high), (ci90.low, ci90.high), cfg)
    }

    /// `better`, `worse`, `equivalent within ±0.5`, `not shown either way`.
    pub fn phrase(&self) -> String {
        match self {
            Verdict::Better => "better".into(),
            Verdict::Worse => "worse".into(),
            Verdict::Equivalent { margin } => format!("equivalent within ±{margin}"),
            Verdict::NotShown => "not shown either way".into(),
        }
    }

    /// Whether two verdicts say different things (the margins aside).
    pub fn differs_from(&self, other: &Verdict) -> bool {
        std::mem::discriminant(self) != std::mem::discriminant(other)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.phrase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: VerdictConfig = VerdictConfig { margin: 0.5 };

    #[test]
    fn each_verdict_on_a_hand_computed_case() {
        // 95% CI above 0: better, even though the 90% CI is inside ±0.5.
        assert_eq!(Verdict::of((0.1, 0.4), (0.15, 0.35), &CFG), Verdict::Better);
        // Below 0: worse.
        assert_eq!(Verdict::of((-3.9, -1.2), (-3.6, -1.4), &CFG), Verdict::Worse);
        // Straddles 0, the 90% CI inside [-0.5, 0.5]: equivalent.
        assert_eq!(
            Verdict::of((-0.6, 0.55), (-0.45, 0.5), &CFG),
            Verdict::Equivalent { margin: 0.5 }
        );
        // The grid's kd_no_aug vs bilstm_soft: +0.27 [-0.96, +1.53]: wider than the margin.
        assert_eq!(Verdict::of((-0.96, 1.53), (-0.75, 1.3), &CFG), Verdict::NotShown);
        // One end of the 90% CI just outside the margin: not shown.
        assert_eq!(Verdict::of((-0.3, 0.7), (-0.2, 0.51), &CFG), Verdict::NotShown);
        // A 0 end is not "excludes 0".
        assert_eq!(
            Verdict::of((0.0, 0.3), (0.05, 0.25), &CFG),
            Verdict::Equivalent { margin: 0.5 }
        );
        // A wider margin turns the same interval into equivalence.
        let wide = VerdictConfig { margin: 2.0 };
        assert_eq!(
            Verdict::of((-0.96, 1.53), (-0.75, 1.3), &wide),
            Verdict::Equivalent { margin: 2.0 }
        );
    }

    #[test]
    fn phrases_and_disagreement() {
        assert_eq!(Verdict::Better.phrase(), "better");
        assert_eq!(
            Verdict::Equivalent { margin: 0.5 }.phrase(),
            "equivalent within ±0.5"
        );
        assert_eq!(Verdict::NotShown.to_string(), "not shown either way");
        assert!(Verdict::Better.differs_from(&Verdict::NotShown));
        assert!(!Verdict::Equivalent { margin: 0.5 }.differs_from(&Verdict::Equivalent { margin: 1.0 }));
    }
}
