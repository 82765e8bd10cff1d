//! The paragraph of REPORT.md that says what an ablation grid shows, generated from its numbers:
//! which ingredient of BiLSTM_SOFT (distillation without augmentation, augmentation without a
//! teacher, augmentation with the teacher's argmax) reaches its gain, by the paired-bootstrap
//! CIs. Nothing here is a fixed conclusion: every verdict is a comparison of the intervals.

use super::bootstrap::{BootstrapConfig, PairedCi};
use super::run::AblationRun;
use super::table::{bootstrap_between, AblationRow, AblationTable};
use crate::error::Result;
use crate::load::VariantRow;
use crate::schema::{DataSource, Model, Objective, SoftKind, Targets};

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
    let base_name = &base.variant.model;
    let full: Option<&AblationRow> = table
        .rows
        .iter()
        .find(|r| r.variant.model.role() == Some(Model::BilstmSoft))
        .or_else(|| table.rows.iter().find(|r| is_full(&r.variant)))
        .filter(|r| !r.variant.baseline);
    let seeds = table
        .rows
        .iter()
        .filter_map(|r| r.summary.map(|s| s.n))
        .max()
        .unwrap_or(0);
    let mut s = format!(
        "**What the grid shows** (`{}`, {} `{}`, up to {seeds} seeds per variant; Δ is the \
         paired difference to the baseline `{base_name}` over the seeds both have, with its {} \
         bootstrap CI). ",
        table.name,
        table.task.display(),
        table.split.id(),
        pct(cfg.level)
    );
    let Some((full, full_ci)) = full.and_then(|r| r.ci.as_ref().map(|ci| (r, ci))) else {
        s.push_str(
            "The grid has no BiLSTM_SOFT (transfer set, teacher logits, MSE, α = 0) with \
             predictions, so it cannot say which ingredient carries its gain.",
        );
        return Ok(s);
    };
    let full_name = &full.variant.model;
    s.push_str(&format!(
        "BiLSTM_SOFT (`{full_name}`) scores {:+.2} points {} ({}).",
        full_ci.diff,
        full_ci.format(),
        verdict(full_ci)
    ));
    let full_gain = full_ci.low > 0.0;
    let mut carriers = Vec::new();
    let mut partial = Vec::new();
    let mut absent = Vec::new();
    for ing in &INGREDIENTS {
        let Some(row) = table
            .rows
            .iter()
            .find(|r| !r.variant.baseline && (ing.matches)(&r.variant))
        else {
            absent.push(ing.label.to_string());
            continue;
        };
        let Some(ci) = &row.ci else {
            absent.push(format!("{} (`{}`, not run)", ing.label, row.variant.model));
            continue;
        };
        let name = &row.variant.model;
        let share = if full_gain {
            format!(", {:.0}% of BiLSTM_SOFT's", 100.0 * ci.diff / full_ci.diff)
        } else {
            String::new()
        };
        let vs_full = bootstrap_between(run, name, full_name, cfg)?;
        let against = vs_full
            .as_ref()
            .map(|c| format!("; against BiLSTM_SOFT {:+.2} {}", c.diff, c.format()))
            .unwrap_or_default();
        s.push_str(&format!(
            " {} (`{name}`): {:+.2} {} ({}{share}{against}).",
            capitalise(ing.label),
            ci.diff,
            ci.format(),
            verdict(ci)
        ));
        let gains = ci.low > 0.0;
        let reaches_full = vs_full.as_ref().is_some_and(|c| c.high >= 0.0);
        if gains && reaches_full {
            carriers.push(ing.label.to_string());
        } else if gains {
            partial.push(ing.label.to_string());
        }
    }
    if !full_gain {
        s.push_str(
            " Since BiLSTM_SOFT's own difference is not a gain beyond noise, the grid attributes \
             no gain to any ingredient.",
        );
    } else if !carriers.is_empty() {
        let verb = if carriers.len() == 1 {
            "carries"
        } else {
            "each carry"
        };
        s.push_str(&format!(
            " {} alone {verb} the gain: not distinguishable from BiLSTM_SOFT within the CI.",
            capitalise(&join_labels(&carriers))
        ));
    } else if !partial.is_empty() {
        s.push_str(&format!(
            " {} recover part of the gain but stay below BiLSTM_SOFT beyond noise: the gain \
             needs augmentation and the teacher's logits together.",
            capitalise(&join_labels(&partial))
        ));
    } else {
        s.push_str(
            " No ingredient alone improves on the baseline beyond noise: the gain comes from \
             combining augmentation with the teacher's logits.",
        );
    }
    if !absent.is_empty() {
        s.push_str(&format!(" Not in this grid: {}.", join_labels(&absent)));
    }
    let others: Vec<(&AblationRow, &PairedCi)> = table
        .rows
        .iter()
        .filter_map(|r| r.ci.as_ref().map(|ci| (r, ci)))
        .collect();
    let beyond = others.iter().filter(|(_, ci)| ci.excludes_zero()).count();
    let best = others.iter().max_by(|a, b| a.1.diff.total_cmp(&b.1.diff));
    let worst = others.iter().min_by(|a, b| a.1.diff.total_cmp(&b.1.diff));
    if let (Some(best), Some(worst)) = (best, worst) {
        s.push_str(&format!(
            " Over all {} variants, {beyond} differ from the baseline beyond noise; the best is \
             `{}` ({:+.2}), the worst `{}` ({:+.2}).",
            others.len(),
            best.0.variant.model,
            best.1.diff,
            worst.0.variant.model,
            worst.1.diff
        ));
    }
    Ok(s)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
