//! The paragraph of REPORT.md that says what an ablation grid shows, generated from its numbers:
//! which ingredient of BiLSTM_SOFT (distillation without augmentation, augmentation without a
//! teacher, augmentation with the teacher's argmax) reaches its gain, on two measures — dev
//! accuracy and agreement with the teacher on the unlabelled test split. Every sentence is a
//! verdict of [`super::verdict`]'s rule table (better, worse, equivalent within ±δ, not shown
//! either way); "alone carries" and shares of the gain appear only where the verdicts allow them,
//! and comparisons on which the two measures disagree are named.

use super::bootstrap::{BootstrapConfig, PairedCi};
use super::run::AblationRun;
use super::table::{compare, AblationRow, AblationTable, Comparison, Measure};
use super::verdict::{Verdict, VerdictConfig};
use crate::error::Result;
use crate::load::VariantRow;
use crate::schema::{DataSource, Model, ModelName, Objective, SoftKind, Targets};

/// An ingredient of BiLSTM_SOFT, recognised by what a variant does (not by its name).
struct Ingredient {
    label: &'static str,
    matches: fn(&VariantRow) -> bool,
}

/// The labels of the two single ingredients whose absence of effect would leave the combination.
const KD_ALONE: &str = "KD without augmentation";
const AUG_ALONE: &str = "augmentation without a teacher";

const INGREDIENTS: [Ingredient; 3] = [
    Ingredient {
        label: KD_ALONE,
        matches: |v| v.data == DataSource::Train && v.targets == Targets::TeacherLogits,
    },
    Ingredient {
        label: AUG_ALONE,
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

/// The paragraph for `table` (built from `run`): every sentence a verdict of the rule table in
/// [`super::verdict`], on each measure the run has (dev accuracy; test agreement).
pub fn paragraph(
    run: &AblationRun,
    table: &AblationTable,
    cfg: &BootstrapConfig,
) -> Result<String> {
    let Some(base) = table.baseline() else {
        return Ok(String::new());
    };
    let measures: Vec<Measure> = Measure::BOTH
        .into_iter()
        .filter(|m| *m == Measure::DevAccuracy || table.has_agreement)
        .collect();
    let mut s = intro(table, &base.variant.model, cfg, &measures);
    let Some(full) = full_soft(table) else {
        s.push_str(
            "The grid has no BiLSTM_SOFT (transfer set, teacher logits, MSE, α = 0) with \
             predictions, so it cannot say which ingredient carries its gain.",
        );
        return Ok(s);
    };
    let v = &table.verdicts;
    let base_name = &base.variant.model;
    let full_name = &full.variant.model;
    let mut full_vs_base = Vec::new();
    for &m in &measures {
        full_vs_base.push(compare(run, m, full_name, base_name, cfg, v)?);
    }
    s.push_str(&format!(
        "BiLSTM_SOFT (`{full_name}`) against the baseline: {}.",
        on_measures(&measures, &full_vs_base)
    ));
    let mut findings = Vec::new();
    for ing in &INGREDIENTS {
        let Some(row) = table
            .rows
            .iter()
            .find(|r| !r.variant.baseline && (ing.matches)(&r.variant))
        else {
            continue;
        };
        let name = &row.variant.model;
        let mut vs_base = Vec::new();
        let mut vs_full = Vec::new();
        for &m in &measures {
            vs_base.push(compare(run, m, name, base_name, cfg, v)?);
            vs_full.push(compare(run, m, name, full_name, cfg, v)?);
        }
        if vs_base.iter().all(Option::is_none) {
            continue;
        }
        s.push_str(&format!(
            " {} (`{name}`) against the baseline: {}; against BiLSTM_SOFT: {}.",
            capitalise(ing.label),
            on_measures(&measures, &vs_base),
            on_measures(&measures, &vs_full)
        ));
        findings.push(Finding {
            label: ing.label,
            name: name.clone(),
            vs_base,
            vs_full,
        });
    }
    if findings.is_empty() {
        // Nothing to attribute to: the grid is a baseline and BiLSTM_SOFT (the default run).
        s.push_str(
            " The grid runs no ingredient on its own, so it cannot say where the gain comes from.",
        );
    } else {
        for (i, &m) in measures.iter().enumerate() {
            s.push_str(&conclusion(m, i, full_vs_base[i].as_ref(), &findings, v));
        }
    }
    s.push_str(&disagreements(&measures, &full_vs_base, &findings));
    let absent: Vec<String> = INGREDIENTS
        .iter()
        .filter(|ing| !findings.iter().any(|f| f.label == ing.label))
        .map(|ing| ing.label.to_string())
        .collect();
    if !absent.is_empty() {
        s.push_str(&format!(" Not in this grid (or not run): {}.", join_labels(&absent)));
    }
    s.push_str(&overview(table));
    Ok(s)
}

/// One ingredient's comparisons, per measure (in the paragraph's measure order).
struct Finding {
    label: &'static str,
    name: ModelName,
    vs_base: Vec<Option<Comparison>>,
    vs_full: Vec<Option<Comparison>>,
}

/// `dev accuracy +2.18 [+0.46, +3.90], better; test agreement ...`.
fn on_measures(measures: &[Measure], cmps: &[Option<Comparison>]) -> String {
    measures
        .iter()
        .zip(cmps)
        .map(|(m, c)| match c {
            Some(c) => format!("{} {}", m.label(), c.format()),
            None => format!("{} not measured", m.label()),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn is(c: Option<&Comparison>, f: fn(&Verdict) -> bool) -> bool {
    c.is_some_and(|c| f(&c.verdict))
}

/// The sentence that attributes (or declines to attribute) BiLSTM_SOFT's gain on measure `m`
/// (index `i` into the findings' comparisons), by the rule table: "alone carries" needs *better*
/// than the baseline and *equivalent* to BiLSTM_SOFT; "part of the gain" (with its share) needs
/// *better* than the baseline and *worse* than BiLSTM_SOFT.
fn conclusion(
    m: Measure,
    i: usize,
    full: Option<&Comparison>,
    findings: &[Finding],
    v: &VerdictConfig,
) -> String {
    let Some(full) = full else {
        return String::new();
    };
    let on = capitalise(&format!("on {}", m.label()));
    if full.verdict != Verdict::Better {
        return format!(
            " {on}, BiLSTM_SOFT is not shown better than the baseline ({}), so no gain is \
             attributed to an ingredient.",
            full.verdict
        );
    }
    let better = |f: &Finding| is(f.vs_base[i].as_ref(), |v| *v == Verdict::Better);
    let carriers: Vec<String> = findings
        .iter()
        .filter(|f| better(f) && is(f.vs_full[i].as_ref(), |v| matches!(v, Verdict::Equivalent { .. })))
        .map(|f| format!("{} (`{}`)", f.label, f.name))
        .collect();
    if !carriers.is_empty() {
        return format!(
            " {on}, {} alone {} the gain: better than the baseline and equivalent to \
             BiLSTM_SOFT within ±{}.",
            join_labels(&carriers),
            if carriers.len() == 1 { "carries" } else { "each carry" },
            v.margin
        );
    }
    let partial: Vec<String> = findings
        .iter()
        .filter(|f| better(f) && is(f.vs_full[i].as_ref(), |v| *v == Verdict::Worse))
        .map(|f| {
            let share = f.vs_base[i].as_ref().map_or(0.0, |c| c.ci.diff) / full.ci.diff;
            format!("{} (`{}`, {:.0}% of BiLSTM_SOFT's gain)", f.label, f.name, 100.0 * share)
        })
        .collect();
    let undecided: Vec<String> = findings
        .iter()
        .filter(|f| better(f) && is(f.vs_full[i].as_ref(), |v| *v == Verdict::NotShown))
        .map(|f| format!("{} (`{}`)", f.label, f.name))
        .collect();
    let mut s = String::new();
    if !partial.is_empty() {
        s.push_str(&format!(
            " {on}, {} recover{} part of the gain but {} worse than BiLSTM_SOFT: the gain needs \
             more than that ingredient.",
            join_labels(&partial),
            if partial.len() == 1 { "s" } else { "" },
            if partial.len() == 1 { "is" } else { "are" }
        ));
    }
    if !undecided.is_empty() {
        s.push_str(&format!(
            " {on}, {} {} better than the baseline, but whether {} BiLSTM_SOFT is not shown \
             either way: the data cannot attribute the gain to {}.",
            join_labels(&undecided),
            if undecided.len() == 1 { "is" } else { "are" },
            if undecided.len() == 1 { "it matches" } else { "they match" },
            if undecided.len() == 1 { "it" } else { "them" }
        ));
    }
    if s.is_empty() {
        // "Comes from combining" only where both single ingredients were tried.
        let tried = |label: &str| findings.iter().any(|f| f.label == label);
        s = if tried(KD_ALONE) && tried(AUG_ALONE) {
            format!(
                " {on}, no ingredient alone is shown better than the baseline: the gain comes \
                 from combining augmentation with the teacher's logits."
            )
        } else {
            format!(" {on}, no ingredient in this grid alone is shown better than the baseline.")
        };
    }
    s
}

/// The two measures' verdicts on one comparison, each named.
fn verdict_pair(dev: &Verdict, agreement: &Verdict) -> String {
    format!("dev accuracy {dev}, test agreement {agreement}")
}

/// How many seeds the grid's variants have, as the intro says it.
fn seeds_phrase(max_seeds: usize) -> String {
    if max_seeds == 1 {
        "1 seed per variant".into()
    } else {
        format!("up to {max_seeds} seeds per variant")
    }
}

/// One sentence naming every comparison on which the two measures give different verdicts.
fn disagreements(
    measures: &[Measure],
    full_vs_base: &[Option<Comparison>],
    findings: &[Finding],
) -> String {
    if measures.len() < 2 {
        return String::new();
    }
    let differ = |cmps: &[Option<Comparison>]| match (&cmps[0], &cmps[1]) {
        (Some(a), Some(b)) if a.verdict.differs_from(&b.verdict) => {
            Some(verdict_pair(&a.verdict, &b.verdict))
        }
        _ => None,
    };
    let mut items = Vec::new();
    if let Some(d) = differ(full_vs_base) {
        items.push(format!("BiLSTM_SOFT vs the baseline ({d})"));
    }
    for f in findings {
        if let Some(d) = differ(&f.vs_base) {
            items.push(format!("`{}` vs the baseline ({d})", f.name));
        }
        if let Some(d) = differ(&f.vs_full) {
            items.push(format!("`{}` vs BiLSTM_SOFT ({d})", f.name));
        }
    }
    if items.is_empty() {
        return String::new();
    }
    format!(
        " Dev accuracy and test agreement give different verdicts on {}.",
        join_labels(&items)
    )
}

/// What the grid is, what Δ means and at which level its CIs are.
fn intro(
    table: &AblationTable,
    base_name: &ModelName,
    cfg: &BootstrapConfig,
    measures: &[Measure],
) -> String {
    let seeds = table
        .rows
        .iter()
        .filter_map(|r| r.summary.map(|s| s.n))
        .max()
        .unwrap_or(0);
    let on = if measures.len() == 2 {
        format!(
            "{} `{}` accuracy and agreement with the teacher on the unlabelled test split",
            table.task.display(),
            table.split.id()
        )
    } else {
        format!("{} `{}` accuracy", table.task.display(), table.split.id())
    };
    let seeds = seeds_phrase(seeds);
    format!(
        "**What the grid shows** (`{}`, {on}, {seeds}; each difference is \
         paired over examples, each model averaged over its seeds, with its {} bootstrap CI and a \
         verdict: better or worse when that CI excludes 0, equivalent within ±{} when the 90% CI \
         lies inside ±{} points, not shown either way otherwise; the baseline is \
         `{base_name}`). ",
        table.name,
        pct(cfg.level),
        table.verdicts.margin,
        table.verdicts.margin
    )
}

/// BiLSTM_SOFT's row, if the grid has it and it was run.
fn full_soft(table: &AblationTable) -> Option<&AblationRow> {
    table
        .rows
        .iter()
        .find(|r| r.variant.model.role() == Some(Model::BilstmSoft))
        .or_else(|| table.rows.iter().find(|r| is_full(&r.variant)))
        .filter(|r| !r.variant.baseline && r.ci.is_some())
}

/// How many variants differ from the baseline on dev accuracy by the rule, and the best and
/// worst of them.
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
    if others.len() < 2 {
        // One variant: its comparison has been given; there is nothing to rank.
        return String::new();
    }
    format!(
        " Over all {} variants, {beyond} {} better or worse than the baseline on dev accuracy; \
         the highest is `{}` ({:+.2}), the lowest `{}` ({:+.2}).",
        others.len(),
        if beyond == 1 { "is" } else { "are" },
        best.0.variant.model,
        best.1.diff,
        worst.0.variant.model,
        worst.1.diff
    )
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_measure_s_verdict_is_named_and_one_seed_is_singular() {
        assert_eq!(
            verdict_pair(&Verdict::NotShown, &Verdict::Better),
            "dev accuracy not shown either way, test agreement better"
        );
        assert_eq!(seeds_phrase(1), "1 seed per variant");
        assert_eq!(seeds_phrase(3), "up to 3 seeds per variant");
    }
}
