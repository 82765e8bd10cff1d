//! Figure 5: the ablation grid, one row per student variant: its paired Δ dev accuracy against
//! the baseline (points) with the paired-bootstrap CI as whiskers; the baseline sits at 0.

use super::{msg, DrawResult, Figure, FONT};
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
}

impl AblationFigure {
    /// The figure of `table`.
    pub fn from_table(table: &AblationTable) -> AblationFigure {
        let level = (table.bootstrap.level * 100.0).round();
        AblationFigure {
            title: format!(
                "{}: Δ {} accuracy vs baseline, {level}% paired-bootstrap CI",
                table.name,
                table.split.id()
            ),
            points: table
                .rows
                .iter()
                .map(|r| AblationPoint {
                    label: r.variant.model.to_string(),
                    ci: r.ci.as_ref().map(|c| (c.diff, c.low, c.high)),
                    baseline: r.variant.baseline,
                })
                .collect(),
        }
    }

    fn x_range(&self) -> (f64, f64) {
        let (mut lo, mut hi) = (-1.0f64, 1.0f64);
        for (_, l, h) in self.points.iter().filter_map(|p| p.ci) {
            lo = lo.min(l);
            hi = hi.max(h);
        }
        let pad = 0.08 * (hi - lo);
        (lo - pad, hi + pad)
    }
}

impl Figure for AblationFigure {
    fn stem(&self) -> &'static str {
        "fig5_ablation"
    }

    fn size(&self) -> (u32, u32) {
        (1000, 160 + 36 * self.points.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let n = self.points.len().max(1);
        let (x0, x1) = self.x_range();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(190)
            .build_cartesian_2d(x0..x1, -0.5f64..(n as f64 - 0.5))
            .map_err(msg)?;
        // Row i is drawn at y = n − 1 − i so the table's first row is on top.
        let labels: Vec<String> = self
            .points
            .iter()
            .map(|p| {
                if p.baseline {
                    format!("{} (baseline)", p.label)
                } else {
                    p.label.clone()
                }
            })
            .collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|y| {
                let i = y.round();
                if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                    labels.get(n - 1 - i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|x| format!("{x:+.1}"))
            .x_desc("Δ dev accuracy vs baseline (points)")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(msg)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                BLACK.mix(0.6).stroke_width(1),
            )))
            .map_err(msg)?;
        let color = RGBColor(44, 160, 44);
        for (i, p) in self.points.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            match p.ci {
                Some((d, lo, hi)) => {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(lo, y), (hi, y)],
                            BLACK.stroke_width(2),
                        )))
                        .map_err(msg)?;
                    for x in [lo, hi] {
                        chart
                            .draw_series(std::iter::once(PathElement::new(
                                vec![(x, y - 0.15), (x, y + 0.15)],
                                BLACK.stroke_width(2),
                            )))
                            .map_err(msg)?;
                    }
                    chart
                        .draw_series(std::iter::once(Circle::new((d, y), 6, color.filled())))
                        .map_err(msg)?;
                }
                None if p.baseline => {
                    chart
                        .draw_series(std::iter::once(Circle::new((0.0, y), 6, BLACK.filled())))
                        .map_err(msg)?;
                }
                None => {
                    chart
                        .draw_series(std::iter::once(Text::new(
                            "not run",
                            (x0, y),
                            (FONT, 13).into_font(),
                        )))
                        .map_err(msg)?;
                }
            }
        }
        Ok(())
    }
}
