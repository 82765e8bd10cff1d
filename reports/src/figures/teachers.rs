//! Figure 7: does a better teacher make a better student? Each student variant's dev accuracy
//! (left) and its agreement with its own teacher on the unlabelled test split (right) against its
//! teacher's dev accuracy, with the bootstrap CI of the student's mean as whiskers.

use super::{draw_mesh, draw_one, Chart, DrawResult, Figure, Frame, FONT};
use crate::ablation::teachers::TeacherSweep;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One panel: its y label and points (teacher dev, student mean, CI low, CI high, label).
type Panel = (String, Vec<(f64, f64, f64, f64, String)>);

/// The teacher → student figure of one run folder.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherStudentFigure {
    /// Caption.
    pub title: String,
    /// One panel per measure.
    pub panels: Vec<Panel>,
}

impl TeacherStudentFigure {
    /// The figure of `sweep`; `None` when no student has both a teacher accuracy and a CI.
    pub fn from_sweep(sweep: &TeacherSweep) -> Option<TeacherStudentFigure> {
        let first = sweep.students.first()?;
        let panels: Vec<Panel> = (0..first.measures.len())
            .map(|i| {
                let label = format!("student {} (%)", first.measures[i].0.label());
                let points = sweep
                    .students
                    .iter()
                    .filter_map(|s| {
                        let (_, summary, ci) = &s.measures[i];
                        let (m, c) = (summary.as_ref()?, ci.as_ref()?);
                        Some((s.teacher_dev?, m.mean, c.low, c.high, s.teacher.to_string()))
                    })
                    .collect();
                (label, points)
            })
            .collect();
        panels.iter().any(|(_, p)| !p.is_empty()).then(|| TeacherStudentFigure {
            title: format!("{}: student vs its teacher's dev accuracy, 95% CI", sweep.name),
            panels,
        })
    }
}

impl Figure for TeacherStudentFigure {
    const STEM: &'static str = "fig7_teacher_student";

    fn size(&self) -> (u32, u32) {
        (700 * self.panels.len().max(1) as u32, 540)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let areas = root.split_evenly((1, self.panels.len().max(1)));
        for (i, ((label, points), area)) in self.panels.iter().zip(&areas).enumerate() {
            let caption = if i == 0 { self.title.as_str() } else { "" };
            draw_panel(area, caption, label, points)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    points: &[(f64, f64, f64, f64, String)],
) -> DrawResult {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, _, lo, hi, _) in points {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*lo);
        y1 = y1.max(*hi);
    }
    if points.is_empty() {
        (x0, x1, y0, y1) = (80.0, 95.0, 80.0, 95.0);
    }
    let (xp, yp) = (0.15 * (x1 - x0).max(1.0), 0.15 * (y1 - y0).max(1.0));
    let mut chart: Chart<'_, DB> = Frame {
        caption: (!caption.is_empty()).then_some((caption, 18)),
        margin: 15,
        x_label_area: 45,
        y_label_area: 60,
    }
    .build(area, x0 - xp..x1 + xp, y0 - yp..y1 + yp)?;
    draw_mesh(
        chart
            .configure_mesh()
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .x_desc("its teacher's dev accuracy (%)")
            .y_desc(y_desc),
        14,
        15,
    )?;
    let color = RGBColor(44, 160, 44);
    for (x, m, lo, hi, label) in points {
        draw_one(
            &mut chart,
            PathElement::new(vec![(*x, *lo), (*x, *hi)], BLACK.stroke_width(2)),
        )?;
        draw_one(&mut chart, Circle::new((*x, *m), 6, color.filled()))?;
        draw_one(
            &mut chart,
            Text::new(label.clone(), (*x, *hi), (FONT, 12).into_font()),
        )?;
    }
    Ok(())
}
