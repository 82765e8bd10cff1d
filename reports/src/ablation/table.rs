//! The ablation table: per student variant its description, dev accuracy mean ± sd over seeds,
//! n, Δ of the means against the baseline, and the paired-bootstrap CI of (variant − baseline)
//! ([`super::bootstrap`]).

use super::bootstrap::{paired_bootstrap, BootstrapConfig, PairedCi};
use super::frame::dev_accuracy_by_variant;
use super::run::AblationRun;
use super::verdict::{Verdict, VerdictConfig};
use crate::error::{ReportError, Result};
use crate::load::VariantRow;
use crate::stats::{format_diff, Summary};
use crate::tabular::{csv_string, fixed, markdown_head, markdown_row, Align};

/// One variant's row.
#[derive(Debug, Clone, PartialEq)]
pub struct AblationRow {
    /// The variant as `variants.csv` describes it.
    pub variant: VariantRow,
    /// Dev accuracy over seeds; `None` when not run yet.
    pub summary: Option<Summary>,
    /// Mean(variant) − mean(baseline), each over all its seeds; `None` for the baseline itself.
    pub delta: Option<f64>,
    /// The paired bootstrap CI of (variant − baseline), each averaged over its seeds; `None` for the
    /// baseline and for a variant without predictions.
    pub ci: Option<PairedCi>,
    /// Its verdict against the baseline on dev accuracy ([`Verdict`]).
    pub verdict: Option<Verdict>,
    /// The second measure: agreement with its teacher on the test split, over seeds.
    pub agreement: Option<Summary>,
    /// Mean agreement of the variant minus the baseline's.
    pub agreement_delta: Option<f64>,
    /// The paired bootstrap CI of that difference, over test sentences.
    pub agreement_ci: Option<PairedCi>,
    /// Its verdict against the baseline on test agreement.
    pub agreement_verdict: Option<Verdict>,
}

/// The ablation table of one run folder.
#[derive(Debug, Clone, PartialEq)]
pub struct AblationTable {
    /// The run folder's name (`sst2-ablations`).
    pub name: String,
    /// The run's task and config, for the caption.
    pub task: crate::schema::Task,
    /// The config name.
    pub config: String,
    /// The dev split compared.
    pub split: crate::schema::Split,
    /// One row per variant, in `variants.csv` order.
    pub rows: Vec<AblationRow>,
    /// The bootstrap's settings.
    pub bootstrap: BootstrapConfig,
    /// The verdict rule's settings.
    pub verdicts: VerdictConfig,
    /// Whether any variant has a test-agreement measure (the columns are printed then).
    pub has_agreement: bool,
}

/// The two measures a comparison is made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Accuracy on the dev split (labels).
    DevAccuracy,
    /// Agreement with the teacher on the test split (no labels).
    TestAgreement,
}

impl Measure {
    /// Both, in the order the report prints them.
    pub const BOTH: [Measure; 2] = [Measure::DevAccuracy, Measure::TestAgreement];

    /// `dev accuracy`, `test agreement`.
    pub fn label(self) -> &'static str {
        match self {
            Measure::DevAccuracy => "dev accuracy",
            Measure::TestAgreement => "test agreement",
        }
    }

    /// The per-model, per-seed 0/1 scores of this measure in `run`.
    pub fn scores(self, run: &AblationRun) -> &std::collections::BTreeMap<crate::schema::ModelName, super::bootstrap::Correctness> {
        match self {
            Measure::DevAccuracy => &run.correct,
            Measure::TestAgreement => &run.agreement,
        }
    }
}

/// A difference on one measure with its 95% CI, its 90% CI and the verdict they give.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The 95% interval (and the observed difference).
    pub ci: PairedCi,
    /// The 90% interval (the equivalence test's).
    pub ci90: PairedCi,
    /// What they say.
    pub verdict: Verdict,
}

impl Comparison {
    /// `+0.27 [-0.96, +1.53], not shown either way`.
    pub fn format(&self) -> String {
        format!("{:+.2} {}, {}", self.ci.diff, self.ci.format(), self.verdict)
    }
}

/// `model` − `reference` on `measure` in `run`: both intervals and the verdict; `Ok(None)` when
/// either has no scores on that measure.
pub fn compare(
    run: &AblationRun,
    measure: Measure,
    model: &crate::schema::ModelName,
    reference: &crate::schema::ModelName,
    cfg: &BootstrapConfig,
    verdicts: &VerdictConfig,
) -> Result<Option<Comparison>> {
    let scores = measure.scores(run);
    let (Some(v), Some(b)) = (scores.get(model), scores.get(reference)) else {
        return Ok(None);
    };
    let err = |msg: String| ReportError::Invalid {
        path: run.dir.clone(),
        msg: format!("{}: `{model}` vs `{reference}`: {msg}", measure.label()),
    };
    let ci = paired_bootstrap(v, b, cfg).map_err(err)?;
    let cfg90 = BootstrapConfig {
        level: 0.90,
        ..*cfg
    };
    let ci90 = paired_bootstrap(v, b, &cfg90).map_err(err)?;
    let verdict = Verdict::of_cis(&ci, &ci90, verdicts);
    Ok(Some(Comparison { ci, ci90, verdict }))
}

/// Per-seed agreement (percent) of `model` in `run`, summarised over seeds.
fn agreement_summary(run: &AblationRun, model: &crate::schema::ModelName) -> Option<Summary> {
    let per_seed = run.agreement.get(model)?;
    let values: Vec<f64> = per_seed
        .values()
        .filter(|v| !v.is_empty())
        .map(|v| 100.0 * v.iter().filter(|&&a| a).count() as f64 / v.len() as f64)
        .collect();
    Summary::of(&values)
}

impl AblationTable {
    /// Builds the table of `run`.
    pub fn build(
        run: &AblationRun,
        cfg: &BootstrapConfig,
        verdicts: &VerdictConfig,
    ) -> Result<AblationTable> {
        let accuracy = dev_accuracy_by_variant(run)?;
        let baseline = run.baseline().clone();
        let base_mean = accuracy
            .iter()
            .find(|a| a.model == baseline.model.as_str())
            .and_then(|a| a.summary)
            .map(|s| s.mean);
        let base_agreement = agreement_summary(run, &baseline.model).map(|s| s.mean);
        let mut rows = Vec::new();
        for variant in &run.variants {
            let summary = accuracy
                .iter()
                .find(|a| a.model == variant.model.as_str())
                .and_then(|a| a.summary);
            let agreement = agreement_summary(run, &variant.model);
            let mut row = AblationRow {
                variant: variant.clone(),
                summary,
                delta: None,
                ci: None,
                verdict: None,
                agreement,
                agreement_delta: None,
                agreement_ci: None,
                agreement_verdict: None,
            };
            if !variant.baseline {
                row.delta = summary.zip(base_mean).map(|(s, b)| s.mean - b);
                row.agreement_delta = agreement.zip(base_agreement).map(|(s, b)| s.mean - b);
                let (m, b) = (&variant.model, &baseline.model);
                if let Some(c) = compare(run, Measure::DevAccuracy, m, b, cfg, verdicts)? {
                    row.verdict = Some(c.verdict);
                    row.ci = Some(c.ci);
                }
                if let Some(c) = compare(run, Measure::TestAgreement, m, b, cfg, verdicts)? {
                    row.agreement_verdict = Some(c.verdict);
                    row.agreement_ci = Some(c.ci);
                }
            }
            rows.push(row);
        }
        Ok(AblationTable {
            name: run.name.clone(),
            task: run.task,
            config: run.config.clone(),
            split: run.split,
            has_agreement: rows.iter().any(|r| r.agreement.is_some()),
            rows,
            bootstrap: *cfg,
            verdicts: *verdicts,
        })
    }

    /// The baseline's row.
    pub fn baseline(&self) -> Option<&AblationRow> {
        self.rows.iter().find(|r| r.variant.baseline)
    }

    /// The markdown table (no title), with a note on the bootstrap and the verdicts.
    pub fn to_markdown(&self) -> String {
        let level = (self.bootstrap.level * 100.0).round();
        let accuracy = format!("{} dev acc (%), mean ± sd", self.task.display());
        let ci = format!("{level}% CI of Δ (paired bootstrap), verdict");
        let mut head = vec![
            ("Variant", Align::Left),
            ("Description", Align::Left),
            (accuracy.as_str(), Align::Right),
            ("n", Align::Right),
            ("Δ vs baseline", Align::Right),
            (ci.as_str(), Align::Right),
        ];
        if self.has_agreement {
            head.extend([
                ("test agreement with its teacher (%)", Align::Right),
                ("Δ", Align::Right),
                ("CI, verdict", Align::Right),
            ]);
        }
        let mut s = markdown_head(&head);
        for r in &self.rows {
            let mut cells = markdown_cells(r).to_vec();
            if self.has_agreement {
                cells.extend(agreement_cells(r));
            }
            s.push_str(&markdown_row(&cells));
        }
        s.push_str(&format!(
            "\nΔ: difference of the mean dev accuracies (points). CI: paired bootstrap over the examples of \
             `{}` ({} resamples with replacement, ChaCha8 seed {}), each resample the \
             difference of the two models' accuracies, each averaged over its own seeds; \
             percentile interval.",
            self.split.id(),
            self.bootstrap.resamples,
            self.bootstrap.seed
        ));
        if self.has_agreement {
            s.push_str(
                " Test agreement: the share of the test split's sentences (no labels needed) on \
                 which a model's prediction equals its teacher's, from the submission files; its \
                 CI is the same bootstrap over test sentences.",
            );
        }
        s.push_str(&format!(
            " Verdicts: better / worse when the {level}% CI excludes 0; equivalent within ±{} \
             when the 90% CI lies inside ±{} points (two one-sided tests); not shown either way \
             otherwise.\n",
            self.verdicts.margin, self.verdicts.margin
        ));
        s
    }

    /// The tidy CSV, one row per variant.
    pub fn to_csv(&self) -> String {
        csv_string(&CSV_COLUMNS, self.rows.iter().map(|r| self.csv_record(r)))
    }

    /// One variant's CSV record, in [`CSV_COLUMNS`] order.
    fn csv_record(&self, r: &AblationRow) -> [String; 35] {
        let v = &r.variant;
        let ci = r.ci.as_ref();
        let aci = r.agreement_ci.as_ref();
        let seeds = |c: &PairedCi| {
            let seeds: Vec<String> = c.seeds.iter().map(u64::to_string).collect();
            seeds.join(" ")
        };
        let verdict = |v: Option<Verdict>| v.map(|v| v.phrase()).unwrap_or_default();
        [
            self.task.id().to_string(),
            self.config.clone(),
            v.model.to_string(),
            v.description.clone(),
            v.baseline.to_string(),
            v.data.id().to_string(),
            v.targets.id().to_string(),
            v.objective.id().to_string(),
            v.soft.id().to_string(),
            v.alpha.to_string(),
            v.temperature.to_string(),
            v.n_iter.to_string(),
            v.transfer_size.to_string(),
            self.split.id().to_string(),
            fixed(r.summary.map(|s| s.mean), 4),
            fixed(r.summary.and_then(|s| s.sd), 4),
            r.summary.map_or(0, |s| s.n).to_string(),
            fixed(r.delta, 4),
            fixed(ci.map(|c| c.diff), 4),
            fixed(ci.map(|c| c.low), 4),
            fixed(ci.map(|c| c.high), 4),
            ci.map(|c| c.level.to_string()).unwrap_or_default(),
            ci.map(seeds).unwrap_or_default(),
            ci.map(|c| c.examples.to_string()).unwrap_or_default(),
            self.bootstrap.resamples.to_string(),
            self.bootstrap.seed.to_string(),
            verdict(r.verdict),
            v.teacher.to_string(),
            fixed(r.agreement.map(|s| s.mean), 4),
            fixed(r.agreement.and_then(|s| s.sd), 4),
            fixed(r.agreement_delta, 4),
            fixed(aci.map(|c| c.low), 4),
            fixed(aci.map(|c| c.high), 4),
            verdict(r.agreement_verdict),
            self.verdicts.margin.to_string(),
        ]
    }
}

/// One variant's markdown cells: name, description, accuracy, n, Δ and its CI with the verdict.
fn markdown_cells(r: &AblationRow) -> [String; 6] {
    let name = if r.variant.baseline {
        format!("`{}` (baseline)", r.variant.model)
    } else {
        format!("`{}`", r.variant.model)
    };
    let acc = match r.summary {
        Some(Summary {
            mean, sd: Some(sd), ..
        }) => format!("{mean:.2} ± {sd:.2}"),
        Some(Summary { mean, sd: None, .. }) => format!("{mean:.2}"),
        None => "not run".into(),
    };
    [
        name,
        r.variant.description.replace('|', "\\|"),
        acc,
        r.summary.map_or(0, |s| s.n).to_string(),
        r.delta.map_or("—".into(), format_diff),
        ci_cell(r.ci.as_ref(), r.verdict),
    ]
}

/// The test-agreement cells: mean ± sd, Δ, CI with the verdict.
fn agreement_cells(r: &AblationRow) -> [String; 3] {
    let agree = match r.agreement {
        Some(Summary {
            mean, sd: Some(sd), ..
        }) => format!("{mean:.2} ± {sd:.2}"),
        Some(Summary { mean, sd: None, .. }) => format!("{mean:.2}"),
        None => "—".into(),
    };
    [
        agree,
        r.agreement_delta.map_or("—".into(), format_diff),
        ci_cell(r.agreement_ci.as_ref(), r.agreement_verdict),
    ]
}

fn ci_cell(ci: Option<&PairedCi>, verdict: Option<Verdict>) -> String {
    match (ci, verdict) {
        (Some(c), Some(v)) => format!("{} {v}", c.format()),
        (Some(c), None) => c.format(),
        _ => "—".into(),
    }
}

const CSV_COLUMNS: [&str; 35] = [
    "task",
    "config",
    "model",
    "description",
    "baseline",
    "data",
    "targets",
    "objective",
    "soft",
    "alpha",
    "temperature",
    "n_iter",
    "transfer_size",
    "dev_split",
    "dev_mean",
    "dev_sd",
    "n",
    "delta",
    "ci_diff",
    "ci_low",
    "ci_high",
    "ci_level",
    "ci_seeds",
    "ci_examples",
    "resamples",
    "bootstrap_seed",
    "verdict",
    "teacher",
    "agree_mean",
    "agree_sd",
    "agree_delta",
    "agree_ci_low",
    "agree_ci_high",
    "agree_verdict",
    "equivalence_margin",
];
