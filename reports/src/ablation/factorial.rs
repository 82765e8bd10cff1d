//! The ablation as a 2×2 factorial: *targets* {gold labels, the teacher's logits} × *data* {the
//! training set, the transfer set}. The four cells are recognised by what each variant does:
//!
//! |                 | training set              | transfer set                                  |
//! |-----------------|---------------------------|-----------------------------------------------|
//! | gold labels     | `bilstm` (hard CE)        | `aug_inherited` (copies inherit the gold label) |
//! | teacher logits  | `kd_no_aug` (MSE, α = 0)  | `bilstm_soft` (MSE, α = 0)                     |
//!
//! The effects, in points, each with its bootstrap CIs ([`contrast_bootstrap`]: test or dev
//! examples resampled, each model's score averaged over its own seeds) and a verdict
//! ([`super::verdict`]), on dev accuracy and on test agreement with the teacher:
//! - the teacher's main effect: ½[(kd_no_aug − bilstm) + (bilstm_soft − aug_inherited)];
//! - augmentation's main effect: ½[(aug_inherited − bilstm) + (bilstm_soft − kd_no_aug)];
//! - the interaction: (bilstm_soft − aug_inherited) − (kd_no_aug − bilstm), how much more the
//!   teacher's logits add on the transfer set than on the training set.

use super::bootstrap::{contrast_bootstrap, BootstrapConfig, Correctness, PairedCi};
use super::run::AblationRun;
use super::table::{AblationTable, Measure};
use super::verdict::{Verdict, VerdictConfig};
use crate::error::{ReportError, Result};
use crate::load::VariantRow;
use crate::schema::{DataSource, ModelName, Objective, SoftKind, Targets};
use crate::stats::Summary;
use crate::tabular::{csv_string, fixed, markdown_head, markdown_row, Align};

/// The cells, `[targets][data]`: targets 0 = gold, 1 = teacher logits; data 0 = training set,
/// 1 = transfer set.
pub type Cells<T> = [[T; 2]; 2];

/// Which factorial cell a variant is, if any.
fn cell_of(v: &VariantRow) -> Option<(usize, usize)> {
    let mse0 = v.objective == Objective::Distill && v.soft == SoftKind::Mse && v.alpha == 0.0;
    match (v.data, v.targets) {
        (DataSource::Train, Targets::Gold) if v.objective == Objective::Hard => Some((0, 0)),
        (DataSource::Transfer, Targets::Inherited) if v.objective == Objective::Hard => {
            Some((0, 1))
        }
        (DataSource::Train, Targets::TeacherLogits) if mse0 => Some((1, 0)),
        (DataSource::Transfer, Targets::TeacherLogits) if mse0 => Some((1, 1)),
        _ => None,
    }
}

/// The names the report gives the cells (and prefers among several candidates).
const CELL_NAMES: Cells<&str> = [["bilstm", "aug_inherited"], ["kd_no_aug", "bilstm_soft"]];

/// One effect on one measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// The 95% interval and the observed value.
    pub ci: PairedCi,
    /// The 90% interval.
    pub ci90: PairedCi,
    /// The verdict against 0.
    pub verdict: Verdict,
}

/// The factorial of one run on one measure.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureEffects {
    /// Which measure.
    pub measure: Measure,
    /// Cell means over seeds.
    pub means: Cells<Option<Summary>>,
    /// The teacher's main effect, augmentation's main effect, the interaction.
    pub effects: [Effect; 3],
}

/// The factorial of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Factorial {
    /// The variant in each cell.
    pub models: Cells<ModelName>,
    /// Each cell's n_iter on the transfer side (the two transfer cells share it).
    pub n_iter: usize,
    /// Per measure the run has.
    pub measures: Vec<MeasureEffects>,
    /// The verdicts' margin, for the caption.
    pub verdicts: VerdictConfig,
    /// The bootstrap's settings.
    pub bootstrap: BootstrapConfig,
}

/// The effects' names, in [`MeasureEffects::effects`] order.
pub const EFFECTS: [&str; 3] = ["teacher (main effect)", "augmentation (main effect)", "interaction"];

/// Weights of the three contrasts over the cells `[targets][data]`.
const WEIGHTS: [Cells<f64>; 3] = [
    [[-0.5, -0.5], [0.5, 0.5]],
    [[-0.5, 0.5], [-0.5, 0.5]],
    [[1.0, -1.0], [-1.0, 1.0]],
];

impl Factorial {
    /// The factorial of `run`, when its variants fill the four cells (with one n_iter on the
    /// transfer side) and each has scores; else `None`.
    pub fn of(
        run: &AblationRun,
        table: &AblationTable,
        cfg: &BootstrapConfig,
    ) -> Result<Option<Factorial>> {
        let Some(models) = pick_cells(&run.variants) else {
            return Ok(None);
        };
        let n_iter = run
            .variants
            .iter()
            .find(|v| v.model == models[0][1])
            .map_or(0, |v| v.n_iter);
        let mut measures = Vec::new();
        for m in Measure::BOTH {
            let scores = m.scores(run);
            let cells: Option<Vec<&Correctness>> = models
                .iter()
                .flatten()
                .map(|name| scores.get(name))
                .collect();
            let Some(cells) = cells else { continue };
            let means = models.clone().map(|row| {
                row.map(|name| {
                    let per_seed = &scores[&name];
                    let values: Vec<f64> = per_seed
                        .values()
                        .map(|v| 100.0 * v.iter().filter(|&&b| b).count() as f64 / v.len().max(1) as f64)
                        .collect();
                    Summary::of(&values)
                })
            });
            let mut effects = Vec::new();
            for w in &WEIGHTS {
                let terms: Vec<(&Correctness, f64)> = cells
                    .iter()
                    .zip(w.iter().flatten())
                    .map(|(c, &w)| (*c, w))
                    .collect();
                let err = |msg: String| ReportError::Invalid {
                    path: run.dir.clone(),
                    msg: format!("factorial on {}: {msg}", m.label()),
                };
                let ci = contrast_bootstrap(&terms, cfg).map_err(err)?;
                let ci90 = contrast_bootstrap(
                    &terms,
                    &BootstrapConfig {
                        level: 0.90,
                        ..*cfg
                    },
                )
                .map_err(err)?;
                let verdict = Verdict::of_cis(&ci, &ci90, &table.verdicts);
                effects.push(Effect { ci, ci90, verdict });
            }
            let effects: [Effect; 3] = effects.try_into().expect("three contrasts");
            measures.push(MeasureEffects {
                measure: m,
                means,
                effects,
            });
        }
        if measures.is_empty() {
            return Ok(None);
        }
        Ok(Some(Factorial {
            models,
            n_iter,
            measures,
            verdicts: table.verdicts,
            bootstrap: *cfg,
        }))
    }

    /// The markdown: the 2×2 cell means per measure, then the effects with CIs and verdicts.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        for me in &self.measures {
            s.push_str(&format!(
                "{} (%), mean ± sd over seeds:\n\n",
                capital(me.measure.label())
            ));
            s.push_str(&markdown_head(&[
                ("targets \\ data", Align::Left),
                ("training set", Align::Right),
                (&format!("transfer set (n_iter {})", self.n_iter), Align::Right),
            ]));
            for (t, label) in ["gold labels", "teacher logits"].iter().enumerate() {
                let cell = |d: usize| {
                    let m = &self.models[t][d];
                    match me.means[t][d] {
                        Some(Summary { mean, sd: Some(sd), n }) => {
                            format!("`{m}` {mean:.2} ± {sd:.2} (n={n})")
                        }
                        Some(Summary { mean, n, .. }) => format!("`{m}` {mean:.2} (n={n})"),
                        None => format!("`{m}` —"),
                    }
                };
                s.push_str(&markdown_row(&[label.to_string(), cell(0), cell(1)]));
            }
            s.push('\n');
        }
        let level = (self.bootstrap.level * 100.0).round();
        let mut head = vec![("effect (points)", Align::Left)];
        let labels: Vec<String> = self
            .measures
            .iter()
            .map(|m| format!("{}: value [{level}% CI], verdict", m.measure.label()))
            .collect();
        for l in &labels {
            head.push((l.as_str(), Align::Right));
        }
        s.push_str(&markdown_head(&head));
        for (i, name) in EFFECTS.iter().enumerate() {
            let mut row = vec![name.to_string()];
            for me in &self.measures {
                let e = &me.effects[i];
                row.push(format!("{:+.2} {}, {}", e.ci.diff, e.ci.format(), e.verdict));
            }
            s.push_str(&markdown_row(&row));
        }
        s.push_str(&format!(
            "\nMain effects: the mean over the other factor's two levels of the difference the \
             factor makes; interaction: (`{}` − `{}`) − (`{}` − `{}`). CIs: bootstrap over the \
             split's examples ({} resamples, ChaCha8 seed {}), each model's score averaged over \
             its own seeds; verdicts as in the table above (margin ±{}).\n",
            self.models[1][1],
            self.models[0][1],
            self.models[1][0],
            self.models[0][0],
            self.bootstrap.resamples,
            self.bootstrap.seed,
            self.verdicts.margin
        ));
        s
    }

    /// Tidy CSV: one row per measure × effect, and one per measure × cell.
    pub fn to_csv(&self) -> String {
        let mut rows = Vec::new();
        for me in &self.measures {
            for t in 0..2 {
                for d in 0..2 {
                    let m = me.means[t][d];
                    rows.push([
                        me.measure.label().to_string(),
                        format!("cell:{}", self.models[t][d]),
                        fixed(m.map(|s| s.mean), 4),
                        fixed(m.and_then(|s| s.sd), 4),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ]);
                }
            }
            for (i, name) in EFFECTS.iter().enumerate() {
                let e = &me.effects[i];
                rows.push([
                    me.measure.label().to_string(),
                    name.to_string(),
                    fixed(Some(e.ci.diff), 4),
                    String::new(),
                    fixed(Some(e.ci.low), 4),
                    fixed(Some(e.ci.high), 4),
                    fixed(Some(e.ci90.low), 4),
                    fixed(Some(e.ci90.high), 4),
                    e.verdict.phrase(),
                ]);
            }
        }
        csv_string(
            &[
                "measure", "what", "value", "sd", "ci95_low", "ci95_high", "ci90_low",
                "ci90_high", "verdict",
            ],
            rows,
        )
    }

    /// The paragraph: each effect's verdict on each measure, what the interaction means, and
    /// where the measures disagree.
    pub fn paragraph(&self) -> String {
        let mut s = format!(
            "**The 2×2 factorial** (targets × data: `{}`, `{}`, `{}`, `{}`).",
            self.models[0][0], self.models[0][1], self.models[1][0], self.models[1][1]
        );
        for (i, name) in EFFECTS.iter().enumerate() {
            let parts: Vec<String> = self
                .measures
                .iter()
                .map(|me| {
                    let e = &me.effects[i];
                    format!(
                        "{} {:+.2} {}, {}",
                        me.measure.label(),
                        e.ci.diff,
                        e.ci.format(),
                        e.verdict
                    )
                })
                .collect();
            s.push_str(&format!(" {}: {}.", capital(name), parts.join("; ")));
        }
        for me in &self.measures {
            let reading = match me.effects[2].verdict {
                Verdict::Better => "the teacher's logits add more on the transfer set than on \
                                    the training set (a positive interaction)"
                    .to_string(),
                Verdict::Worse => "the teacher's logits add less on the transfer set than on the \
                                   training set (a negative interaction)"
                    .to_string(),
                Verdict::Equivalent { margin } => format!(
                    "the two effects add up: no interaction beyond ±{margin}"
                ),
                Verdict::NotShown => {
                    "whether the two factors interact is not shown either way".to_string()
                }
            };
            s.push_str(&format!(" On {}, {reading}.", me.measure.label()));
        }
        if let [a, b] = self.measures.as_slice() {
            let differ: Vec<&str> = EFFECTS
                .iter()
                .enumerate()
                .filter(|(i, _)| a.effects[*i].verdict.differs_from(&b.effects[*i].verdict))
                .map(|(_, n)| *n)
                .collect();
            if !differ.is_empty() {
                s.push_str(&format!(
                    " Dev accuracy and test agreement give different verdicts on the {}.",
                    differ.join(" and the ")
                ));
            }
        }
        s
    }
}

/// The variant filling each cell: the one named as in [`CELL_NAMES`] if it fits, else the first
/// that fits; both transfer cells must share one n_iter. `None` when a cell is empty.
fn pick_cells(variants: &[VariantRow]) -> Option<Cells<ModelName>> {
    let pick = |t: usize, d: usize, n_iter: Option<usize>| -> Option<&VariantRow> {
        let fits = |v: &&VariantRow| {
            cell_of(v) == Some((t, d)) && n_iter.is_none_or(|n| v.n_iter == n)
        };
        variants
            .iter()
            .filter(fits)
            .find(|v| v.model.as_str() == CELL_NAMES[t][d])
            .or_else(|| variants.iter().find(fits))
    };
    let soft = pick(1, 1, None)?;
    let inherited = pick(0, 1, Some(soft.n_iter))?;
    Some([
        [pick(0, 0, None)?.model.clone(), inherited.model.clone()],
        [pick(1, 0, None)?.model.clone(), soft.model.clone()],
    ])
}

fn capital(s: &str) -> String {
    super::paragraph::capitalise(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contrast_weights_are_the_main_effects_and_the_interaction() {
        // Cell accuracies (points) [targets][data]: bilstm 80, aug_inherited 78, kd_no_aug 85,
        // bilstm_soft 88. Teacher: ((85-80) + (88-78))/2 = 7.5; augmentation: ((78-80) +
        // (88-85))/2 = 0.5; interaction: (88-78) - (85-80) = 5.
        let acc = [[80.0, 78.0], [85.0, 88.0]];
        let apply = |w: &Cells<f64>| -> f64 {
            (0..2).flat_map(|t| (0..2).map(move |d| (t, d))).map(|(t, d)| w[t][d] * acc[t][d]).sum()
        };
        assert_eq!(apply(&WEIGHTS[0]), 7.5);
        assert_eq!(apply(&WEIGHTS[1]), 0.5);
        assert_eq!(apply(&WEIGHTS[2]), 5.0);
    }
}
