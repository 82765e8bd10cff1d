//! Figure 5: the ablation grid, one row per student variant: its paired Δ dev accuracy against
//! the baseline (points) with the paired-bootstrap CI as whiskers, the baseline at 0; beside it,
//! when the run has it, the same for the second measure, agreement with the teacher on the
//! unlabelled test split.

use super::{
    category_labels, category_range, draw_mesh, draw_one, Chart, DrawResult, Figure, Frame, FONT,
};
use crate::ablation::table::AblationTable;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One variant's point.
#[derive(Debug, Clone, PartialEq)]
pub struct AblationPoint {
    /// Label on the y axis (the variant's name).
    pub label: String,
    /// Paired Δ and CI (low, high); `None` for the baseline or a variant not run.
    pub ci: Option<(f64, f64, f64)>,
    /// The same for test agreement with the teacher.
    pub agree_ci: Option<(f64, f64, f64)>,
    /// Whether this is the baseline.
    pub baseline: bool,
}

/// The ablation figure of one run folder.
#[derive(Debug, Clone, PartialEq)]
pub struct AblationFigure {
    /// Caption.
    pub title: String,
    /// Points, top to bottom in `variants.csv` order.
    pub points: Vec<AblationPoint>,
    /// Whether the right panel (test agreement) is drawn.
    pub agreement: bool,
}

impl AblationFigure {
    /// The figure of `table`.
    pub fn from_table(table: &AblationTable) -> AblationFigure {
        let level = (table.bootstrap.level * 100.0).round();
        AblationFigure {
            title: format!(
                "{}: Δ vs baseline, {level}% paired-bootstrap CI",
                table.name
            ),
            points: table
                .rows
                .iter()
                .map(|r| AblationPoint {
                    label: r.variant.model.to_string(),
                    ci: r.ci.as_ref().map(|c| (c.diff, c.low, c.high)),
                    agree_ci: r.agreement_ci.as_ref().map(|c| (c.diff, c.low, c.high)),
                    baseline: r.variant.baseline,
                })
                .collect(),
            agreement: table.has_agreement,
        }
    }

    fn x_range(&self, panel: Panel) -> (f64, f64) {
        let (mut lo, mut hi) = (-1.0f64, 1.0f64);
        for (_, l, h) in self.points.iter().filter_map(|p| panel.ci(p)) {
            lo = lo.min(l);
            hi = hi.max(h);
        }
        let pad = 0.08 * (hi - lo);
        (lo - pad, hi + pad)
    }
}

/// One of the figure's two panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    Dev,
    Agreement,
}

impl Panel {
    fn ci(self, p: &AblationPoint) -> Option<(f64, f64, f64)> {
        match self {
            Panel::Dev => p.ci,
            Panel::Agreement => p.agree_ci,
        }
    }

    fn x_desc(self) -> &'static str {
        match self {
            Panel::Dev => "Δ dev accuracy vs baseline (points)",
            Panel::Agreement => "Δ test agreement with the teacher vs baseline (points)",
        }
    }
}

impl Figure for AblationFigure {
    const STEM: &'static str = "fig5_ablation";

    fn size(&self) -> (u32, u32) {
        let width = if self.agreement { 1800 } else { 1000 };
        (width, 160 + 36 * self.points.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        if !self.agreement {
            return self.draw_panel(root, Panel::Dev, &self.title);
        }
        let (w, _) = root.dim_in_pixel();
        let (left, right) = root.split_horizontally(w / 2);
        self.draw_panel(&left, Panel::Dev, &format!("{} — dev accuracy", self.title))?;
        self.draw_panel(&right, Panel::Agreement, "test agreement with the teacher (no labels)")
    }
}

impl AblationFigure {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        panel: Panel,
        title: &str,
    ) -> DrawResult {
        let n = self.points.len().max(1);
        let (x0, x1) = self.x_range(panel);
        let mut chart = self.axes(root, x0..x1, panel, title)?;
        draw_one(
            &mut chart,
            PathElement::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                BLACK.mix(0.6).stroke_width(1),
            ),
        )?;
        // Row i is drawn at y = n − 1 − i so the table's first row is on top.
        for (i, p) in self.points.iter().enumerate() {
            draw_point(&mut chart, panel.ci(p), p.baseline, (n - 1 - i) as f64, x0)?;
        }
        Ok(())
    }

    /// The chart: Δ along x, one row per variant (the first on top), named on the y axis.
    fn axes<'a, DB: DrawingBackend>(
        &self,
        root: &'a DrawingArea<DB, Shift>,
        x: std::ops::Range<f64>,
        panel: Panel,
        title: &str,
    ) -> DrawResult<Chart<'a, DB>> {
        let n = self.points.len().max(1);
        let mut chart = Frame {
            caption: Some((title, 20)),
            margin: 15,
            x_label_area: 45,
            y_label_area: 190,
        }
        .build(root, x, category_range(n))?;
        // Row i is drawn at y = n − 1 − i so the table's first row is on top.
        let labels = category_labels(n, |y| match self.points.get(n - 1 - y) {
            Some(p) if p.baseline => format!("{} (baseline)", p.label),
            Some(p) => p.label.clone(),
            None => String::new(),
        });
        draw_mesh(
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n)
                .y_label_formatter(&labels)
                .x_label_formatter(&|x| format!("{x:+.1}"))
                .x_desc(panel.x_desc()),
            15,
            16,
        )?;
        Ok(chart)
    }
}

/// One variant's row at `y`: its Δ with the CI as a whisker, the baseline's black point at 0, or
/// "not run" at the left edge `x0`.
fn draw_point<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    ci: Option<(f64, f64, f64)>,
    baseline: bool,
    y: f64,
    x0: f64,
) -> DrawResult {
    let color = RGBColor(44, 160, 44);
    match ci {
        Some((d, lo, hi)) => {
            draw_one(
                chart,
                PathElement::new(vec![(lo, y), (hi, y)], BLACK.stroke_width(2)),
            )?;
            for x in [lo, hi] {
                draw_one(
                    chart,
                    PathElement::new(vec![(x, y - 0.15), (x, y + 0.15)], BLACK.stroke_width(2)),
                )?;
            }
            draw_one(chart, Circle::new((d, y), 6, color.filled()))
        }
        None if baseline => draw_one(chart, Circle::new((0.0, y), 6, BLACK.filled())),
        None => draw_one(chart, Text::new("not run", (x0, y), (FONT, 13).into_font())),
    }
}
