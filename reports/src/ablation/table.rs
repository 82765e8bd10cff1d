//! The ablation table: per student variant its description, dev accuracy mean ± sd over seeds,
//! n, Δ of the means against the baseline, and the paired-bootstrap CI of (variant − baseline)
//! ([`super::bootstrap`]).

use super::bootstrap::{paired_bootstrap, BootstrapConfig, PairedCi};
use super::frame::dev_accuracy_by_variant;
use super::run::AblationRun;
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
    /// The paired bootstrap CI of (variant − baseline) over their common seeds; `None` for the
    /// baseline and for a variant without predictions.
    pub ci: Option<PairedCi>,
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
}

/// The paired bootstrap of `model` against `reference` in `run`; `Ok(None)` when either has no
/// predictions (not run yet).
pub fn bootstrap_between(
    run: &AblationRun,
    model: &crate::schema::ModelName,
    reference: &crate::schema::ModelName,
    cfg: &BootstrapConfig,
) -> Result<Option<PairedCi>> {
    let (Some(v), Some(b)) = (run.correct.get(model), run.correct.get(reference)) else {
        return Ok(None);
    };
    paired_bootstrap(v, b, cfg)
        .map(Some)
        .map_err(|msg| ReportError::Invalid {
            path: AblationRun::predictions_path(&run.dir),
            msg: format!("`{model}` vs `{reference}`: {msg}"),
        })
}

impl AblationTable {
    /// Builds the table of `run`.
    pub fn build(run: &AblationRun, cfg: &BootstrapConfig) -> Result<AblationTable> {
        let accuracy = dev_accuracy_by_variant(run)?;
        let baseline = run.baseline().clone();
        let base_mean = accuracy
            .iter()
            .find(|a| a.model == baseline.model.as_str())
            .and_then(|a| a.summary)
            .map(|s| s.mean);
        let mut rows = Vec::new();
        for variant in &run.variants {
            let summary = accuracy
                .iter()
                .find(|a| a.model == variant.model.as_str())
                .and_then(|a| a.summary);
            let (delta, ci) = if variant.baseline {
                (None, None)
            } else {
                (
                    summary.zip(base_mean).map(|(s, b)| s.mean - b),
                    bootstrap_between(run, &variant.model, &baseline.model, cfg)?,
                )
            };
            rows.push(AblationRow {
                variant: variant.clone(),
                summary,
                delta,
                ci,
            });
        }
        Ok(AblationTable {
            name: run.name.clone(),
            task: run.task,
            config: run.config.clone(),
            split: run.split,
            rows,
            bootstrap: *cfg,
        })
    }

    /// The baseline's row.
    pub fn baseline(&self) -> Option<&AblationRow> {
        self.rows.iter().find(|r| r.variant.baseline)
    }

    /// The markdown table (no title), with a note on the bootstrap.
    pub fn to_markdown(&self) -> String {
        let level = (self.bootstrap.level * 100.0).round();
        let accuracy = format!("{} dev acc (%), mean ± sd", self.task.display());
        let ci = format!("{level}% CI of Δ (paired bootstrap)");
        let mut s = markdown_head(&[
            ("Variant", Align::Left),
            ("Description", Align::Left),
            (accuracy.as_str(), Align::Right),
            ("n", Align::Right),
            ("Δ vs baseline", Align::Right),
            (ci.as_str(), Align::Right),
        ]);
        for r in &self.rows {
            s.push_str(&markdown_row(&markdown_cells(r)));
        }
        s.push_str(&format!(
            "\nΔ: difference of the mean dev accuracies (points). CI: paired bootstrap over the examples of \
             `{}` ({} resamples with replacement, ChaCha8 seed {}), each resample the \
             accuracy difference averaged over the seeds both models have; percentile interval.\n",
            self.split.id(),
            self.bootstrap.resamples,
            self.bootstrap.seed
        ));
        s
    }

    /// The tidy CSV, one row per variant.
    pub fn to_csv(&self) -> String {
        csv_string(&CSV_COLUMNS, self.rows.iter().map(|r| self.csv_record(r)))
    }

    /// One variant's CSV record, in [`CSV_COLUMNS`] order.
    fn csv_record(&self, r: &AblationRow) -> [String; 26] {
        let v = &r.variant;
        let ci = r.ci.as_ref();
        let seeds = |c: &PairedCi| {
            let seeds: Vec<String> = c.seeds.iter().map(u64::to_string).collect();
            seeds.join(" ")
        };
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
        ]
    }
}

/// One variant's markdown cells: name, description, accuracy, n, Δ and its CI.
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
        r.ci.as_ref().map_or("—".into(), PairedCi::format),
    ]
}

const CSV_COLUMNS: [&str; 26] = [
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
];
