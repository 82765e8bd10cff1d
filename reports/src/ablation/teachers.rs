//! Teachers of different quality and the students they make (the "capacity gap" question: does
//! a better teacher make a better student? Cho & Hariharan 2019; Mirzadeh et al. 2020). For a run
//! folder with more than one teacher (`teachers.csv`): the teacher table (how each was made, its
//! dev accuracy per epoch and at its kept epoch, its fine-tuning time), and, for the teachers
//! that students learnt from, each student's dev accuracy and its agreement with its own teacher
//! on the unlabelled test split, with CIs (Figure 7). Each student of another teacher is compared
//! with `teacher`'s (the config's default) student of the same recipe by [`super::verdict`]'s
//! rule; the verdict is that of the best such teacher's student.

use super::bootstrap::{contrast_bootstrap, BootstrapConfig, PairedCi};
use super::run::AblationRun;
use super::table::{compare, AblationTable, Comparison, Measure};
use crate::error::{ReportError, Result};
use crate::load::{TeacherRow, VariantRow};
use crate::schema::{Metric, ModelName, Split, Targets};
use crate::stats::Summary;
use crate::tabular::{csv_string, fixed, markdown_head, markdown_row, Align};

/// One teacher: how it was made and how good it is.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherLine {
    /// `teachers.csv`'s row.
    pub row: TeacherRow,
    /// Its dev accuracy (the kept epoch's; an ensemble's logits' mean).
    pub dev: Option<f64>,
    /// Dev accuracy after each epoch of its fine-tune (`history.csv`).
    pub epochs: Vec<f64>,
}

/// The students of one variant, learning from one teacher.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentLine {
    /// The variant.
    pub model: ModelName,
    /// Its row of `variants.csv` (its recipe).
    pub variant: VariantRow,
    /// Its teacher.
    pub teacher: ModelName,
    /// The teacher's dev accuracy.
    pub teacher_dev: Option<f64>,
    /// Per measure (dev accuracy, test agreement with its own teacher): mean ± sd over seeds and
    /// the bootstrap CI of the mean.
    pub measures: Vec<(Measure, Option<Summary>, Option<PairedCi>)>,
}

/// A student of another teacher, `teacher`'s student of the same recipe, and their comparison per
/// measure.
pub type VsDefault = (ModelName, ModelName, Vec<(Measure, Option<Comparison>)>);

/// The teacher section of one run folder.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherSweep {
    /// The folder.
    pub name: String,
    /// Every teacher, in `teachers.csv` order.
    pub teachers: Vec<TeacherLine>,
    /// Every student variant that learnt from a teacher's outputs, in `variants.csv` order.
    pub students: Vec<StudentLine>,
    /// Each student of a teacher other than `teacher` against `teacher`'s student of the same
    /// recipe, per measure, in the order of their teachers' dev accuracy: the best teacher's last.
    pub vs_default: Vec<VsDefault>,
}

fn dev_accuracy(run: &AblationRun, model: &ModelName) -> Option<f64> {
    run.metrics
        .iter()
        .find(|r| &r.model == model && r.split == run.split && r.metric == Metric::Accuracy)
        .map(|r| r.value)
}

impl TeacherSweep {
    /// The section of `run`, when it has more than one teacher.
    pub fn of(
        run: &AblationRun,
        table: &AblationTable,
        cfg: &BootstrapConfig,
    ) -> Result<Option<TeacherSweep>> {
        if run.teachers.len() < 2 {
            return Ok(None);
        }
        let teachers: Vec<TeacherLine> = run
            .teachers
            .iter()
            .map(|t| {
                let mut epochs: Vec<(usize, f64)> = run
                    .history
                    .iter()
                    .filter(|h| h.model == t.model)
                    .map(|h| (h.epoch, h.dev_accuracy))
                    .collect();
                epochs.sort_by_key(|e| e.0);
                TeacherLine {
                    row: t.clone(),
                    dev: dev_accuracy(run, &t.model),
                    epochs: epochs.into_iter().map(|e| e.1).collect(),
                }
            })
            .collect();
        let teacher_dev = |name: &ModelName| {
            teachers
                .iter()
                .find(|t| &t.row.model == name)
                .and_then(|t| t.dev)
        };
        let measures: Vec<Measure> = Measure::BOTH
            .into_iter()
            .filter(|m| *m == Measure::DevAccuracy || table.has_agreement)
            .collect();
        let mut students = Vec::new();
        for v in run
            .variants
            .iter()
            .filter(|v| matches!(v.targets, Targets::TeacherLogits | Targets::TeacherArgmax))
        {
            let mut per = Vec::new();
            for &m in &measures {
                let scores = m.scores(run).get(&v.model);
                let summary = scores.and_then(|s| {
                    let values: Vec<f64> = s
                        .values()
                        .map(|v| {
                            100.0 * v.iter().filter(|&&b| b).count() as f64 / v.len().max(1) as f64
                        })
                        .collect();
                    Summary::of(&values)
                });
                let ci = match scores {
                    Some(s) => Some(contrast_bootstrap(&[(s, 1.0)], cfg).map_err(|msg| {
                        ReportError::Invalid {
                            path: run.dir.clone(),
                            msg: format!("student `{}`: {msg}", v.model),
                        }
                    })?),
                    None => None,
                };
                per.push((m, summary, ci));
            }
            students.push(StudentLine {
                model: v.model.clone(),
                variant: v.clone(),
                teacher: v.teacher.clone(),
                teacher_dev: teacher_dev(&v.teacher),
                measures: per,
            });
        }
        // Every student of a teacher other than `teacher` against `teacher`'s student of the
        // same recipe, in the order of their teachers' dev accuracy (best last).
        let same_recipe = |a: &VariantRow, b: &VariantRow| {
            (a.data, a.targets, a.objective, a.soft, a.n_iter)
                == (b.data, b.targets, b.objective, b.soft, b.n_iter)
                && a.alpha == b.alpha
                && a.temperature == b.temperature
        };
        let mut others: Vec<&StudentLine> = students
            .iter()
            .filter(|s| s.teacher.as_str() != "teacher" && s.teacher_dev.is_some())
            .collect();
        others.sort_by(|a, b| {
            a.teacher_dev
                .partial_cmp(&b.teacher_dev)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut vs_default = Vec::new();
        for b in others {
            let Some(d) = students
                .iter()
                .find(|d| d.teacher.as_str() == "teacher" && same_recipe(&d.variant, &b.variant))
            else {
                continue;
            };
            let mut cmps = Vec::new();
            for &m in &measures {
                cmps.push((m, compare(run, m, &b.model, &d.model, cfg, &table.verdicts)?));
            }
            vs_default.push((b.model.clone(), d.model.clone(), cmps));
        }
        Ok(Some(TeacherSweep {
            name: run.name.clone(),
            teachers,
            students,
            vs_default,
        }))
    }

    /// The teacher table, then the teacher → student table, as markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = markdown_head(&[
            ("teacher", Align::Left),
            ("kind", Align::Left),
            ("lr", Align::Right),
            ("epochs", Align::Right),
            ("pooling", Align::Left),
            ("seed", Align::Right),
            ("from", Align::Left),
            ("dev acc per epoch (%)", Align::Right),
            ("kept epoch", Align::Right),
            ("dev acc (%)", Align::Right),
            ("fine-tune time (s)", Align::Right),
            ("examples/s", Align::Right),
        ]);
        for t in &self.teachers {
            let r = &t.row;
            let epochs: Vec<String> = t.epochs.iter().map(|a| format!("{a:.2}")).collect();
            s.push_str(&markdown_row(&[
                format!("`{}`", r.model),
                r.kind.clone(),
                r.lr.map_or("—".into(), |v| format!("{v:e}")),
                r.epochs.map_or("—".into(), |v| v.to_string()),
                r.pooling.clone().unwrap_or_else(|| "—".into()),
                r.seed.map_or("—".into(), |v| v.to_string()),
                if r.source.is_empty() { "—".into() } else { r.source.replace('+', ", ") },
                if epochs.is_empty() { "—".into() } else { epochs.join(" / ") },
                r.best_epoch.map_or("—".into(), |v| v.to_string()),
                t.dev.map_or("—".into(), |v| format!("{v:.2}")),
                r.seconds.map_or("—".into(), |v| format!("{v:.0}")),
                r.examples_per_sec.map_or("—".into(), |v| format!("{v:.1}")),
            ]));
        }
        s.push('\n');
        if self.students.is_empty() {
            return s;
        }
        let mut head: Vec<(String, Align)> = vec![
            ("student".into(), Align::Left),
            ("its teacher".into(), Align::Left),
            ("teacher dev acc (%)".into(), Align::Right),
        ];
        for (m, ..) in &self.students[0].measures {
            head.push((format!("student {} (%), mean ± sd [95% CI of the mean]", m.label()), Align::Right));
        }
        let head_ref: Vec<(&str, Align)> = head.iter().map(|(h, a)| (h.as_str(), *a)).collect();
        s.push_str(&markdown_head(&head_ref));
        for st in &self.students {
            let mut row = vec![
                format!("`{}`", st.model),
                format!("`{}`", st.teacher),
                st.teacher_dev.map_or("—".into(), |v| format!("{v:.2}")),
            ];
            for (_, summary, ci) in &st.measures {
                row.push(match (summary, ci) {
                    (Some(s), Some(c)) => format!("{} [{:.2}, {:.2}]", s.format(), c.low, c.high),
                    (Some(s), None) => s.format(),
                    _ => "not run".into(),
                });
            }
            s.push_str(&markdown_row(&row));
        }
        s.push_str(
            "\nTest agreement: with the student's own teacher. CIs: bootstrap over the split's \
             examples, each resample the measure averaged over the variant's seeds.\n",
        );
        s
    }

    /// Tidy CSV of the teachers.
    pub fn to_csv(&self) -> String {
        csv_string(
            &[
                "model", "kind", "lr", "epochs", "pooling", "seed", "source", "epoch_dev",
                "best_epoch", "dev", "seconds", "examples_per_sec",
            ],
            self.teachers.iter().map(|t| {
                let r = &t.row;
                let epochs: Vec<String> = t.epochs.iter().map(|a| format!("{a:.4}")).collect();
                [
                    r.model.to_string(),
                    r.kind.clone(),
                    r.lr.map(|v| v.to_string()).unwrap_or_default(),
                    r.epochs.map(|v| v.to_string()).unwrap_or_default(),
                    r.pooling.clone().unwrap_or_default(),
                    r.seed.map(|v| v.to_string()).unwrap_or_default(),
                    r.source.clone(),
                    epochs.join(" "),
                    r.best_epoch.map(|v| v.to_string()).unwrap_or_default(),
                    fixed(t.dev, 4),
                    fixed(r.seconds, 1),
                    fixed(r.examples_per_sec, 2),
                ]
            }),
        )
    }

    /// The paragraph: the best teacher, and whether its student beats the default teacher's.
    pub fn paragraph(&self) -> String {
        let best = self
            .teachers
            .iter()
            .filter(|t| t.dev.is_some())
            .max_by(|a, b| a.dev.partial_cmp(&b.dev).unwrap_or(std::cmp::Ordering::Equal));
        let default = self.teachers.iter().find(|t| t.row.model.as_str() == "teacher");
        let mut s = format!("**Teachers** (`{}`, {} teachers).", self.name, self.teachers.len());
        if let (Some(b), Some(d)) = (best, default) {
            s.push_str(&format!(
                " The best on {} is `{}` at {:.2} dev accuracy; the default `teacher` reaches {}.",
                Split::Dev.id(),
                b.row.model,
                b.dev.unwrap_or(0.0),
                d.dev.map_or("—".into(), |v| format!("{v:.2}"))
            ));
        }
        let teacher_of = |student: &ModelName| {
            self.students
                .iter()
                .find(|s| &s.model == student)
                .map(|s| {
                    let dev = s.teacher_dev.map_or("—".into(), |v| format!("{v:.2}"));
                    format!("`{}`, {dev}", s.teacher)
                })
                .unwrap_or_default()
        };
        if self.vs_default.is_empty() {
            s.push_str(
                " No pair of students of one recipe (another teacher's and `teacher`'s) to \
                 compare.",
            );
            return s;
        }
        s.push_str(" Each student of another teacher against `teacher`'s student of the same recipe:");
        for (b, d, cmps) in &self.vs_default {
            let parts: Vec<String> = cmps
                .iter()
                .map(|(m, c)| match c {
                    Some(c) => format!("{} {}", m.label(), c.format()),
                    None => format!("{} not measured", m.label()),
                })
                .collect();
            s.push_str(&format!(
                " `{b}` (from {}) against `{d}` (from {}): {}.",
                teacher_of(b),
                teacher_of(d),
                parts.join("; ")
            ));
        }
        let (b, _, cmps) = self.vs_default.last().expect("not empty");
        let dev = cmps.iter().find(|(m, _)| *m == Measure::DevAccuracy);
        let reading = match dev.and_then(|(_, c)| c.as_ref()).map(|c| c.verdict) {
            Some(super::verdict::Verdict::Better) => "gains",
            Some(super::verdict::Verdict::Worse) => "loses",
            Some(super::verdict::Verdict::Equivalent { .. }) => "does not gain",
            _ => "the data cannot tell whether it gains",
        };
        let better = match (
            self.students.iter().find(|s| &s.model == b).and_then(|s| s.teacher_dev),
            default.and_then(|t| t.dev),
        ) {
            (Some(x), Some(y)) if x > y => "better",
            (Some(x), Some(y)) if x < y => "worse",
            _ => "other",
        };
        s.push_str(&format!(
            " On dev accuracy, the student of the best of these teachers (`{b}`, from a {better} \
             teacher than `teacher`): {}.",
            if reading.starts_with("the data") {
                reading.to_string()
            } else {
                format!("it {reading}")
            }
        ));
        s
    }
}
