//! The augmentation dose: the paper's student (the teacher's logits, MSE, α = 0) over transfer
//! sets of growing n_iter — n_iter 0 being the training set alone (`kd_no_aug`) — on dev accuracy
//! and on test agreement with the teacher, each level with the bootstrap CI of its own mean
//! (examples resampled, seeds averaged) and each step up with the paired CI and verdict of its
//! difference to the level below. A run folder has a dose when such variants span at least three
//! n_iter values.

use super::bootstrap::{contrast_bootstrap, BootstrapConfig, Correctness, PairedCi};
use super::run::AblationRun;
use super::table::{compare, AblationTable, Comparison, Measure};
use crate::error::{ReportError, Result};
use crate::load::VariantRow;
use crate::schema::{DataSource, ModelName, Objective, SoftKind, Split, Targets, Task};
use crate::stats::Summary;
use crate::tabular::{csv_string, fixed, markdown_head, markdown_row, Align};
use std::collections::BTreeSet;

/// One level of the dose on one measure.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelMeasure {
    /// Mean ± sd over seeds (percent).
    pub summary: Option<Summary>,
    /// The bootstrap CI of the seed-averaged mean.
    pub ci: Option<PairedCi>,
    /// Against the level below (`None` for the first).
    pub step: Option<Comparison>,
}

/// One level of the dose.
#[derive(Debug, Clone, PartialEq)]
pub struct DoseLevel {
    /// The variant.
    pub model: ModelName,
    /// Its n_iter (0: the training set).
    pub n_iter: usize,
    /// Examples per epoch.
    pub transfer_size: usize,
    /// Dev accuracy, then test agreement (when the run has it).
    pub measures: Vec<LevelMeasure>,
    /// The (config, git revision) pairs behind its rows of `metrics.csv`, each once, sorted.
    pub runs: Vec<(String, String)>,
}

/// The dose of one run folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Dose {
    /// The folder's name.
    pub name: String,
    /// The run's task.
    pub task: Task,
    /// The split dev accuracy is measured on.
    pub split: Split,
    /// The measures, in [`DoseLevel::measures`] order.
    pub measures: Vec<Measure>,
    /// The levels by transfer-set size.
    pub levels: Vec<DoseLevel>,
    /// The bootstrap's settings.
    pub bootstrap: BootstrapConfig,
}

fn is_dose(v: &VariantRow) -> bool {
    v.targets == Targets::TeacherLogits
        && v.objective == Objective::Distill
        && v.soft == SoftKind::Mse
        && v.alpha == 0.0
}

fn summary(scores: &Correctness) -> Option<Summary> {
    let values: Vec<f64> = scores
        .values()
        .map(|v| 100.0 * v.iter().filter(|&&b| b).count() as f64 / v.len().max(1) as f64)
        .collect();
    Summary::of(&values)
}

impl Dose {
    /// The dose of `run`: one variant per n_iter (the first in `variants.csv`, preferring
    /// `bilstm_soft` at its own n_iter), when there are at least three.
    pub fn of(run: &AblationRun, table: &AblationTable, cfg: &BootstrapConfig) -> Result<Option<Dose>> {
        let level_n = |v: &VariantRow| if v.data == DataSource::Train { 0 } else { v.n_iter };
        let mut chosen: Vec<&VariantRow> = Vec::new();
        for v in run.variants.iter().filter(|v| is_dose(v)) {
            match chosen.iter().position(|c| level_n(c) == level_n(v)) {
                Some(i) if v.model.as_str() == "bilstm_soft" => chosen[i] = v,
                Some(_) => {}
                None => chosen.push(v),
            }
        }
        chosen.sort_by_key(|v| (v.transfer_size, level_n(v)));
        if chosen.len() < 3 {
            return Ok(None);
        }
        let measures: Vec<Measure> = Measure::BOTH
            .into_iter()
            .filter(|m| *m == Measure::DevAccuracy || table.has_agreement)
            .collect();
        let mut levels: Vec<DoseLevel> = Vec::new();
        for v in &chosen {
            let mut per = Vec::new();
            for &m in &measures {
                let scores = m.scores(run).get(&v.model);
                let ci = match scores {
                    Some(s) => Some(contrast_bootstrap(&[(s, 1.0)], cfg).map_err(|msg| {
                        ReportError::Invalid {
                            path: run.dir.clone(),
                            msg: format!("dose level `{}`: {msg}", v.model),
                        }
                    })?),
                    None => None,
                };
                let step = match levels.last() {
                    Some(prev) => compare(run, m, &v.model, &prev.model, cfg, &table.verdicts)?,
                    None => None,
                };
                per.push(LevelMeasure {
                    summary: scores.and_then(summary),
                    ci,
                    step,
                });
            }
            let runs: BTreeSet<(String, String)> = run
                .metrics
                .iter()
                .filter(|r| r.model == v.model)
                .map(|r| (r.config.clone(), r.git_rev.clone()))
                .collect();
            levels.push(DoseLevel {
                model: v.model.clone(),
                n_iter: level_n(v),
                transfer_size: v.transfer_size,
                measures: per,
                runs: runs.into_iter().collect(),
            });
        }
        Ok(Some(Dose {
            name: run.name.clone(),
            task: run.task,
            split: run.split,
            measures,
            levels,
            bootstrap: *cfg,
        }))
    }

    /// The markdown table: per level, each measure's mean ± sd, its CI, and the step from the
    /// level below with its verdict.
    pub fn to_markdown(&self) -> String {
        let mut head: Vec<(String, Align)> = vec![
            ("n_iter".into(), Align::Right),
            ("variant".into(), Align::Left),
            ("examples".into(), Align::Right),
        ];
        for m in &self.measures {
            head.push((format!("{} (%), mean ± sd", m.label()), Align::Right));
            head.push(("95% CI of the mean".into(), Align::Right));
            head.push(("vs the level below: Δ [95% CI], verdict".into(), Align::Right));
        }
        let head_ref: Vec<(&str, Align)> = head.iter().map(|(s, a)| (s.as_str(), *a)).collect();
        let mut s = markdown_head(&head_ref);
        for l in &self.levels {
            let mut row = vec![
                l.n_iter.to_string(),
                format!("`{}`", l.model),
                l.transfer_size.to_string(),
            ];
            for lm in &l.measures {
                row.push(match lm.summary {
                    Some(Summary { mean, sd: Some(sd), n }) => format!("{mean:.2} ± {sd:.2} (n={n})"),
                    Some(Summary { mean, n, .. }) => format!("{mean:.2} (n={n})"),
                    None => "not run".into(),
                });
                row.push(lm.ci.as_ref().map_or("—".into(), |c| format!("[{:.2}, {:.2}]", c.low, c.high)));
                row.push(lm.step.as_ref().map_or("—".into(), Comparison::format));
            }
            s.push_str(&markdown_row(&row));
        }
        s.push_str(&format!(
            "\nn_iter 0 is the training set alone. CI of the mean: bootstrap over the split's \
             examples ({} resamples, ChaCha8 seed {}), each resample the accuracy (or agreement) \
             averaged over the level's seeds; steps: the paired bootstrap of the table above.\n",
            self.bootstrap.resamples, self.bootstrap.seed
        ));
        s
    }

    /// Tidy CSV, one row per level × measure.
    pub fn to_csv(&self) -> String {
        let mut rows = Vec::new();
        for l in &self.levels {
            for (m, lm) in self.measures.iter().zip(&l.measures) {
                let step = lm.step.as_ref();
                rows.push([
                    m.label().to_string(),
                    l.model.to_string(),
                    l.n_iter.to_string(),
                    l.transfer_size.to_string(),
                    fixed(lm.summary.map(|s| s.mean), 4),
                    fixed(lm.summary.and_then(|s| s.sd), 4),
                    lm.summary.map_or(0, |s| s.n).to_string(),
                    fixed(lm.ci.as_ref().map(|c| c.low), 4),
                    fixed(lm.ci.as_ref().map(|c| c.high), 4),
                    fixed(step.map(|c| c.ci.diff), 4),
                    fixed(step.map(|c| c.ci.low), 4),
                    fixed(step.map(|c| c.ci.high), 4),
                    step.map(|c| c.verdict.phrase()).unwrap_or_default(),
                ]);
            }
        }
        csv_string(
            &[
                "measure", "model", "n_iter", "examples", "mean", "sd", "n", "ci_low", "ci_high",
                "step_diff", "step_ci_low", "step_ci_high", "step_verdict",
            ],
            rows,
        )
    }

    /// The paragraph: each step's verdict per measure, and the largest set's numbers.
    pub fn paragraph(&self) -> String {
        let mut s = format!(
            "**The augmentation dose** (`{}`: BiLSTM_SOFT's recipe over {} transfer-set sizes, \
             each level trained as the run's `config.yaml` says: to the same example budget in an \
             equal-compute grid, each to its best dev epoch in a converged one).",
            self.name,
            self.levels.len()
        );
        for (i, m) in self.measures.iter().enumerate() {
            let steps: Vec<String> = self
                .levels
                .windows(2)
                .filter_map(|w| {
                    w[1].measures[i].step.as_ref().map(|c| {
                        format!("n_iter {} → {}: {}", w[0].n_iter, w[1].n_iter, c.format())
                    })
                })
                .collect();
            if !steps.is_empty() {
                s.push_str(&format!(" On {}: {}.", m.label(), steps.join("; ")));
            }
        }
        if let Some(top) = self.levels.last() {
            let parts: Vec<String> = self
                .measures
                .iter()
                .zip(&top.measures)
                .filter_map(|(m, lm)| lm.summary.map(|s| format!("{} {}", m.label(), s.format())))
                .collect();
            if !parts.is_empty() {
                s.push_str(&format!(
                    " The largest set (n_iter {}, {} examples): {}.",
                    top.n_iter,
                    top.transfer_size,
                    parts.join(", ")
                ));
            }
        }
        s
    }
}
