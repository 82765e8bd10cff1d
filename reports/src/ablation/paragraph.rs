//! The paragraph of REPORT.md that says what an ablation grid shows, generated from its numbers:
//! which ingredient of BiLSTM_SOFT (distillation without augmentation, augmentation without a
//! teacher, augmentation with the teacher's argmax) reaches its gain, by the paired-bootstrap
//! CIs. Nothing here is a fixed conclusion: every verdict is a comparison of the intervals.

use super::bootstrap::{BootstrapConfig, PairedCi};
use super::run::AblationRun;
use super::table::{bootstrap_between, AblationRow, AblationTable};
use crate::error::Result;
use crate::load::VariantRow;
use crate::schema::{DataSource, Model, ModelName, Objective, SoftKind, Targets};

/// An ingredient of BiLSTM_SOFT, recognised by what a variant does (not by its name).
struct Ingredient {
    label: &'static str,
    matches: fn(&VariantRow) -> bool,
}

const INGREDIENTS: [Ingredient; 3] = [
    Ingredient {
        label: "KD without augmentation",
        matches: |v| v.data == DataSource::Train && v.targets == Targets::TeacherLogits,
    },
    Ingredient {
        label: "augmentation without a teacher",
        matches: |v| v.data == DataSource::Transfer && v.targets == Targets::Inherited,
    },
    Ingredient {
        label: "augmentation + teacher argmax",
        matches: |v| {
            v.data == DataSource::Transfer
                && v.targets == Targets::TeacherArgmax
                && v.objective == Objective::Hard
        },
    },
];

/// The paper's BiLSTM_SOFT in the grid: the variant named `bilstm_soft`, else the first one
/// distilling the teacher's logits with MSE and α = 0 on the transfer set.
fn is_full(v: &VariantRow) -> bool {
    v.data == DataSource::Transfer
        && v.targets == Targets::TeacherLogits
        && v.objective == Objective::Distill
        && v.soft == SoftKind::Mse
        && v.alpha == 0.0
}

fn verdict(ci: &PairedCi) -> &'static str {
    match (ci.low > 0.0, ci.high < 0.0) {
        (true, _) => "a gain beyond dev-sample noise",
        (_, true) => "a loss beyond dev-sample noise",
        _ => "within dev-sample noise",
    }
}

fn join_labels(labels: &[String]) -> String {
    match labels {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn pct(level: f64) -> String {
    format!("{:.0}%", level * 100.0)
}

/// The paragraph for `table` (built from `run`).
pub fn paragraph(
    run: &AblationRun,
    table: &AblationTable,
    cfg: &BootstrapConfig,
) -> Result<String> {
    let Some(base) = table.baseline() else {
        return Ok(String::new());
    };
    let mut s = intro(table, &base.variant.model, cfg);
    let Some((full, full_ci)) = full_soft(table) else {
        s.push_str(
            "The grid has no BiLSTM_SOFT (transfer set, teacher logits, MSE, α = 0) with \
             predictions, so it cannot say which ingredient carries its gain.",
        );
        return Ok(s);
    };
    s.push_str(&format!(
        "BiLSTM_SOFT (`{}`) scores {:+.2} points {} ({}).",
        full.variant.model,
        full_ci.diff,
        full_ci.format(),
        verdict(full_ci)
    ));
    let findings = Findings::of(run, table, (full, full_ci), cfg)?;
    s.push_str(&findings.text);
    s.push_str(&findings.conclusion(full_ci.low > 0.0));
    s.push_str(&overview(table));
    Ok(s)
}

/// What the grid is, what Δ means and at which level its CIs are.
fn intro(table: &AblationTable, base_name: &ModelName, cfg: &BootstrapConfig) -> String {
    let seeds = table
        .rows
        .iter()
        .filter_map(|r| r.summary.map(|s| s.n))
        .max()
        .unwrap_or(0);
    format!(
        "**What the grid shows** (`{}`, {} `{}`, up to {seeds} seeds per variant; Δ is the \
         paired difference to the baseline `{base_name}` over the seeds both have, with its {} \
         bootstrap CI). ",
        table.name,
        table.task.display(),
        table.split.id(),
        pct(cfg.level)
    )
}

/// BiLSTM_SOFT's row and its CI against the baseline, if the grid has it and it was run.
fn full_soft(table: &AblationTable) -> Option<(&AblationRow, &PairedCi)> {
    table
        .rows
        .iter()
        .find(|r| r.variant.model.role() == Some(Model::BilstmSoft))
        .or_else(|| table.rows.iter().find(|r| is_full(&r.variant)))
        .filter(|r| !r.variant.baseline)
        .and_then(|r| r.ci.as_ref().map(|ci| (r, ci)))
}

/// What the grid says about each ingredient of BiLSTM_SOFT.
#[derive(Default)]
struct Findings {
    /// One sentence per ingredient that was run.
    text: String,
    /// Ingredients that gain on the baseline and reach BiLSTM_SOFT within the CI.
    carriers: Vec<String>,
    /// Ingredients that gain on the baseline but stay below BiLSTM_SOFT.
    partial: Vec<String>,
    /// Ingredients without a variant, or whose variant was not run.
    absent: Vec<String>,
}

impl Findings {
    /// Compares each ingredient's variant with the baseline and with BiLSTM_SOFT (`full`).
    fn of(
        run: &AblationRun,
        table: &AblationTable,
        full: (&AblationRow, &PairedCi),
        cfg: &BootstrapConfig,
    ) -> Result<Findings> {
        let mut f = Findings::default();
        for ing in &INGREDIENTS {
            let Some(row) = table
                .rows
                .iter()
                .find(|r| !r.variant.baseline && (ing.matches)(&r.variant))
            else {
                f.absent.push(ing.label.to_string());
                continue;
            };
            let Some(ci) = &row.ci else {
                f.absent
                    .push(format!("{} (`{}`, not run)", ing.label, row.variant.model));
                continue;
            };
            let vs_full = bootstrap_between(run, &row.variant.model, &full.0.variant.model, cfg)?;
            f.text.push_str(&ingredient_sentence(
                ing.label,
                &row.variant.model,
                ci,
                full.1,
                vs_full.as_ref(),
            ));
            let gains = ci.low > 0.0;
            let reaches_full = vs_full.as_ref().is_some_and(|c| c.high >= 0.0);
            if gains && reaches_full {
                f.carriers.push(ing.label.to_string());
            } else if gains {
                f.partial.push(ing.label.to_string());
            }
        }
        Ok(f)
    }

    /// Which ingredient carries the gain (if BiLSTM_SOFT has one), then what the grid lacks.
    fn conclusion(&self, full_gain: bool) -> String {
        let mut s = if !full_gain {
            " Since BiLSTM_SOFT's own difference is not a gain beyond noise, the grid attributes \
             no gain to any ingredient."
                .to_string()
        } else if !self.carriers.is_empty() {
            let verb = if self.carriers.len() == 1 {
                "carries"
            } else {
                "each carry"
            };
            format!(
                " {} alone {verb} the gain: not distinguishable from BiLSTM_SOFT within the CI.",
                capitalise(&join_labels(&self.carriers))
            )
        } else if !self.partial.is_empty() {
            format!(
                " {} recover part of the gain but stay below BiLSTM_SOFT beyond noise: the gain \
                 needs augmentation and the teacher's logits together.",
                capitalise(&join_labels(&self.partial))
            )
        } else {
            " No ingredient alone improves on the baseline beyond noise: the gain comes from \
             combining augmentation with the teacher's logits."
                .to_string()
        };
        if !self.absent.is_empty() {
            s.push_str(&format!(" Not in this grid: {}.", join_labels(&self.absent)));
        }
        s
    }
}

/// One ingredient's difference to the baseline, its share of BiLSTM_SOFT's gain (when there is
/// one) and its difference to BiLSTM_SOFT (`vs_full`, when both were run).
fn ingredient_sentence(
    label: &str,
    name: &ModelName,
    ci: &PairedCi,
    full_ci: &PairedCi,
    vs_full: Option<&PairedCi>,
) -> String {
    let share = if full_ci.low > 0.0 {
        format!(", {:.0}% of BiLSTM_SOFT's", 100.0 * ci.diff / full_ci.diff)
    } else {
        String::new()
    };
    let against = vs_full
        .map(|c| format!("; against BiLSTM_SOFT {:+.2} {}", c.diff, c.format()))
        .unwrap_or_default();
    format!(
        " {} (`{name}`): {:+.2} {} ({}{share}{against}).",
        capitalise(label),
        ci.diff,
        ci.format(),
        verdict(ci)
    )
}

/// How many variants differ from the baseline beyond noise, and the best and worst of them.
fn overview(table: &AblationTable) -> String {
    let others: Vec<(&AblationRow, &PairedCi)> = table
        .rows
        .iter()
        .filter_map(|r| r.ci.as_ref().map(|ci| (r, ci)))
        .collect();
    let beyond = others.iter().filter(|(_, ci)| ci.excludes_zero()).count();
    let best = others.iter().max_by(|a, b| a.1.diff.total_cmp(&b.1.diff));
    let worst = others.iter().min_by(|a, b| a.1.diff.total_cmp(&b.1.diff));
    let (Some(best), Some(worst)) = (best, worst) else {
        return String::new();
    };
    format!(
        " Over all {} variants, {beyond} differ from the baseline beyond noise; the best is \
         `{}` ({:+.2}), the worst `{}` ({:+.2}).",
        others.len(),
        best.0.variant.model,
        best.1.diff,
        worst.0.variant.model,
        worst.1.diff
    )
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
