//! Figure 6: the augmentation dose — BiLSTM_SOFT's dev accuracy and its test agreement with the
//! teacher against the transfer set's size (log x), each level's mean with the bootstrap CI of
//! the mean as whiskers, labelled with its n_iter.

use super::{draw_mesh, draw_one, Chart, DrawResult, Figure, Frame, FONT};
use crate::ablation::dose::Dose;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One panel's points: (log10 examples, mean, CI low, CI high, n_iter).
type Points = Vec<(f64, f64, f64, f64, usize)>;

/// The dose figure of one run folder.
#[derive(Debug, Clone, PartialEq)]
pub struct DoseFigure {
    /// Caption.
    pub title: String,
    /// Per measure: its axis label and points.
    pub panels: Vec<(String, Points)>,
}

impl DoseFigure {
    /// The figure of `dose`.
    pub fn from_dose(dose: &Dose) -> DoseFigure {
        let panels = dose
            .measures
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let points = dose
                    .levels
                    .iter()
                    .filter_map(|l| {
                        let lm = &l.measures[i];
                        let (s, ci) = (lm.summary?, lm.ci.as_ref()?);
                        Some((
                            (l.transfer_size.max(1) as f64).log10(),
                            s.mean,
                            ci.low,
                            ci.high,
                            l.n_iter,
                        ))
                    })
                    .collect();
                (format!("{} (%)", m.label()), points)
            })
            .collect();
        DoseFigure {
            title: format!("{}: BiLSTM_SOFT over transfer-set sizes, 95% CI", dose.name),
            panels,
        }
    }
}

impl Figure for DoseFigure {
    const STEM: &'static str = "fig6_dose";

    fn size(&self) -> (u32, u32) {
        (700 * self.panels.len().max(1) as u32, 520)
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

fn ranges(points: &Points) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, _, lo, hi, _) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(lo);
        y1 = y1.max(hi);
    }
    if points.is_empty() {
        return (4.0..6.0, 0.0..100.0);
    }
    let (xp, yp) = (0.1 * (x1 - x0).max(0.5), 0.15 * (y1 - y0).max(1.0));
    (x0 - xp..x1 + xp, y0 - yp..y1 + yp)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    points: &Points,
) -> DrawResult {
    let (xr, yr) = ranges(points);
    let mut chart: Chart<'_, DB> = Frame {
        caption: (!caption.is_empty()).then_some((caption, 18)),
        margin: 15,
        x_label_area: 45,
        y_label_area: 60,
    }
    .build(area, xr, yr)?;
    draw_mesh(
        chart
            .configure_mesh()
            .x_label_formatter(&|x| {
                let n = 10f64.powf(*x);
                if n >= 1e6 {
                    format!("{:.1}M", n / 1e6)
                } else {
                    format!("{:.0}k", n / 1e3)
                }
            })
            .y_label_formatter(&|y| format!("{y:.1}"))
            .x_desc("examples per epoch (log scale)")
            .y_desc(y_desc),
        14,
        15,
    )?;
    let color = RGBColor(44, 160, 44);
    chart
        .draw_series(LineSeries::new(
            points.iter().map(|&(x, m, ..)| (x, m)),
            color.stroke_width(2),
        ))
        .map_err(super::msg)?;
    for &(x, m, lo, hi, n_iter) in points {
        draw_one(
            &mut chart,
            PathElement::new(vec![(x, lo), (x, hi)], BLACK.stroke_width(2)),
        )?;
        draw_one(&mut chart, Circle::new((x, m), 6, color.filled()))?;
        draw_one(
            &mut chart,
            Text::new(format!("n_iter {n_iter}"), (x, hi), (FONT, 13).into_font()),
        )?;
    }
    Ok(())
}
