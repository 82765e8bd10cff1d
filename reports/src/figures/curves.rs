//! Figure 2: the students' training curves (Tang et al. 2019, Section 4: BiLSTM trained on hard
//! labels vs distilled on the teacher's logits): dev accuracy after each epoch, one panel per
//! task, the mean over seeds as a thick line and each seed as a thin one.

use super::{
    draw_mesh, draw_series_legend, model_color, titled, msg, Chart, DrawResult, Figure, Frame, FONT,
};
use crate::load::HistoryRow;
use crate::schema::{Model, Task};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// One model's curve: per seed, (epoch, dev accuracy) sorted by epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The student.
    pub model: Model,
    /// Per-seed points.
    pub seeds: Vec<(u64, Vec<(usize, f64)>)>,
}

impl Curve {
    /// Mean dev accuracy per epoch over the seeds that reached it.
    pub fn mean(&self) -> Vec<(usize, f64)> {
        let mut by_epoch: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
        for (_, points) in &self.seeds {
            for &(e, v) in points {
                let s = by_epoch.entry(e).or_insert((0.0, 0));
                s.0 += v;
                s.1 += 1;
            }
        }
        by_epoch
            .into_iter()
            .map(|(e, (sum, n))| (e, sum / n as f64))
            .collect()
    }
}

/// The training-curve figure: one panel per task with a history file.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingCurves {
    /// Per task, the student curves (teacher rows are left out: it is fine-tuned, not distilled).
    pub panels: Vec<(Task, Vec<Curve>)>,
}

impl TrainingCurves {
    /// Groups history rows by task, student and seed.
    pub fn new(histories: &[(Task, &[HistoryRow])]) -> TrainingCurves {
        let mut panels = Vec::new();
        for (task, rows) in histories {
            let mut curves = Vec::new();
            for model in [Model::Bilstm, Model::BilstmSoft] {
                let mut seeds: BTreeMap<u64, Vec<(usize, f64)>> = BTreeMap::new();
                for r in rows.iter().filter(|r| r.model == model) {
                    seeds
                        .entry(r.seed)
                        .or_default()
                        .push((r.epoch, r.dev_accuracy));
                }
                if seeds.is_empty() {
                    continue;
                }
                let seeds = seeds
                    .into_iter()
                    .map(|(s, mut p)| {
                        p.sort_by_key(|&(e, _)| e);
                        (s, p)
                    })
                    .collect();
                curves.push(Curve { model, seeds });
            }
            panels.push((*task, curves));
        }
        TrainingCurves { panels }
    }
}

const TITLE: &str = "Student dev accuracy per epoch: hard labels vs distilled";

impl Figure for TrainingCurves {
    const STEM: &'static str = "fig2_training_curves";

    fn size(&self) -> (u32, u32) {
        (520 * self.panels.len().max(1) as u32 + 200, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = titled(root, TITLE, 24)?;
        let areas = root.split_evenly((1, self.panels.len().max(1)));
        for ((task, curves), area) in self.panels.iter().zip(areas.iter()) {
            draw_panel(area, *task, curves)?;
        }
        Ok(())
    }
}

/// One task's panel: its curves on epoch × dev accuracy, with a legend.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    task: Task,
    curves: &[Curve],
) -> DrawResult {
    let ((e_min, e_max), y) = extent(curves);
    let mut chart = Frame {
        caption: Some((task.display(), 20)),
        margin: 12,
        x_label_area: 45,
        y_label_area: 60,
    }
    .build(area, e_min as f64..e_max as f64, y)?;
    draw_mesh(
        chart
            .configure_mesh()
            .x_desc("Epoch")
            .y_desc("Dev accuracy (%)")
            .x_labels((e_max - e_min + 1).min(12))
            .x_label_formatter(&|x| format!("{x:.0}")),
        14,
        16,
    )?;
    if curves.is_empty() {
        return area
            .draw(&Text::new(
                "no BiLSTM rows in history.csv",
                (60, 200),
                (FONT, 16).into_font(),
            ))
            .map_err(msg);
    }
    for curve in curves {
        draw_curve(&mut chart, curve)?;
    }
    draw_series_legend(&mut chart, SeriesLabelPosition::LowerRight, 0.85, 14)
}

/// The epochs (at least two apart) and dev-accuracy range (padded, within 0–100) the curves
/// span; 0–1 × 0–100 without curves.
fn extent(curves: &[Curve]) -> ((usize, usize), std::ops::Range<f64>) {
    let points = curves
        .iter()
        .flat_map(|c| c.seeds.iter().flat_map(|(_, p)| p.iter()));
    let (mut e_min, mut e_max, mut v_min, mut v_max) = (usize::MAX, 0usize, f64::MAX, f64::MIN);
    for &(e, v) in points {
        e_min = e_min.min(e);
        e_max = e_max.max(e);
        v_min = v_min.min(v);
        v_max = v_max.max(v);
    }
    if curves.is_empty() {
        (e_min, e_max, v_min, v_max) = (0, 1, 0.0, 100.0);
    }
    let e_max = e_max.max(e_min + 1);
    let pad = ((v_max - v_min) * 0.1).max(1.0);
    ((e_min, e_max), (v_min - pad).max(0.0)..(v_max + pad).min(100.0))
}

/// One model's curve: each seed thin (when there are several), the mean thick with points.
fn draw_curve<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, curve: &Curve) -> DrawResult {
    let color = model_color(curve.model);
    if curve.seeds.len() > 1 {
        for (_, p) in &curve.seeds {
            chart
                .draw_series(LineSeries::new(
                    p.iter().map(|&(e, v)| (e as f64, v)),
                    color.mix(0.35).stroke_width(1),
                ))
                .map_err(msg)?;
        }
    }
    let mean: Vec<(f64, f64)> = curve
        .mean()
        .into_iter()
        .map(|(e, v)| (e as f64, v))
        .collect();
    let label = match curve.model {
        Model::BilstmSoft => "BiLSTM_SOFT (distilled)".to_string(),
        m => format!("{} (hard labels)", m.display()),
    };
    let label = format!("{label}, n={}", curve.seeds.len());
    chart
        .draw_series(LineSeries::new(mean.clone(), color.stroke_width(3)))
        .map_err(msg)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3)));
    chart
        .draw_series(mean.iter().map(|&p| Circle::new(p, 4, color.filled())))
        .map_err(msg)?;
    Ok(())
}
