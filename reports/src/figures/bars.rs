//! Figure 1: accuracy of the teacher, BiLSTM and BiLSTM_SOFT per task, the paper's (GLUE test,
//! Tang et al. 2019 Table 1) beside ours (dev, mean over seeds with ± sd whiskers).

use super::{
    category_labels, category_range, draw_legend, draw_mesh, draw_one, lighten, model_color, msg, Chart,
    x_categories, DrawResult, Figure, Frame, FONT,
};
use crate::schema::{Metric, Model};
use crate::table1::Table1;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One model's bars in a group: the paper's value and our mean with its sd.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelBars {
    /// The model.
    pub model: Model,
    /// The paper's value (test).
    pub paper: Option<f64>,
    /// Our dev mean and sample sd (`None` for one seed).
    pub ours: Option<(f64, Option<f64>)>,
}

/// One bar group: a task's accuracy column.
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// Label under the group (`MNLI-m`).
    pub label: String,
    /// Per model, in [`Model::ALL`] order.
    pub bars: Vec<ModelBars>,
}

/// The grouped-bar accuracy figure.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracyBars {
    /// One group per accuracy column of Table 1.
    pub groups: Vec<BarGroup>,
}

impl AccuracyBars {
    /// The accuracy columns of Table 1 (F1 is left to the table).
    pub fn from_table1(table: &Table1) -> AccuracyBars {
        let mut groups: Vec<BarGroup> = Vec::new();
        for row in table
            .rows
            .iter()
            .filter(|r| r.column.metric == Metric::Accuracy)
        {
            let label = row.column.label.trim_end_matches(" acc").to_string();
            let bar = ModelBars {
                model: row.model,
                paper: row.paper.as_ref().map(|p| p.0),
                ours: row.dev.summary().map(|s| (s.mean, s.sd)),
            };
            match groups.iter_mut().find(|g| g.label == label) {
                Some(g) => g.bars.push(bar),
                None => groups.push(BarGroup {
                    label,
                    bars: vec![bar],
                }),
            }
        }
        AccuracyBars { groups }
    }
}

const GROUP_WIDTH: f64 = 0.84;

impl Figure for AccuracyBars {
    const STEM: &'static str = "fig1_accuracy";

    fn size(&self) -> (u32, u32) {
        (1200, 620)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (plot, legend) = root.split_horizontally(900);
        let mut chart = self.axes(&plot)?;
        let value_font = (FONT, 12).into_font();
        for (gi, g) in self.groups.iter().enumerate() {
            for bars in &g.bars {
                draw_model_bars(&mut chart, gi, bars, &value_font)?;
            }
        }
        draw_model_legend(&legend)
    }
}

impl AccuracyBars {
    /// The chart: one category per task column, accuracy from 0 to 100 %.
    fn axes<'a, DB: DrawingBackend>(
        &self,
        plot: &'a DrawingArea<DB, Shift>,
    ) -> DrawResult<Chart<'a, DB>> {
        let n = self.groups.len().max(1);
        let mut chart = Frame {
            caption: Some(("Accuracy: paper (GLUE test) vs ours (dev)", 24)),
            margin: 15,
            x_label_area: 45,
            y_label_area: 60,
        }
        .build(plot, category_range(n), 0f64..100f64)?;
        let labels = category_labels(n, |i| {
            self.groups
                .get(i)
                .map(|g| g.label.clone())
                .unwrap_or_default()
        });
        draw_mesh(
            x_categories(&mut chart.configure_mesh(), n, &labels)
                .y_label_formatter(&|y| format!("{y:.0}"))
                .y_desc("Accuracy (%)")
                .x_desc("Task (MNLI-m / -mm: matched / mismatched)"),
            16,
            17,
        )?;
        Ok(chart)
    }
}

/// One model's two bars in group `gi`: the paper's (light) and ours (with its ± sd whisker), or
/// `n/r` where a value is missing.
fn draw_model_bars<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    gi: usize,
    bars: &ModelBars,
    font: &FontDesc<'_>,
) -> DrawResult {
    let ModelBars { model, paper, ours } = bars;
    let m = Model::ALL.iter().position(|x| x == model).unwrap_or(0);
    let color = model_color(*model);
    let slot = GROUP_WIDTH / (Model::ALL.len() * 2) as f64;
    for (k, value, fill, sd) in [
        (2 * m, *paper, lighten(color, 0.55), None),
        (2 * m + 1, ours.map(|o| o.0), color, ours.and_then(|o| o.1)),
    ] {
        let x0 = gi as f64 - GROUP_WIDTH / 2.0 + k as f64 * slot;
        match value {
            Some(v) => draw_bar(chart, (x0, x0 + slot * 0.92), v, fill, sd, font)?,
            None => draw_one(chart, Text::new("n/r", (x0, 1.5), font.clone()))?,
        }
    }
    Ok(())
}

/// A bar from 0 to `v` over `x0..x1`, its whisker of ± `sd` and its value above.
fn draw_bar<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    (x0, x1): (f64, f64),
    v: f64,
    fill: RGBColor,
    sd: Option<f64>,
    font: &FontDesc<'_>,
) -> DrawResult {
    draw_one(chart, Rectangle::new([(x0, 0.0), (x1, v)], fill.filled()))?;
    let xm = (x0 + x1) / 2.0;
    if let Some(sd) = sd {
        draw_one(
            chart,
            PathElement::new(
                vec![(xm, v - sd), (xm, (v + sd).min(100.0))],
                BLACK.stroke_width(2),
            ),
        )?;
    }
    let top = v + sd.unwrap_or(0.0);
    draw_one(
        chart,
        Text::new(format!("{v:.1}"), (x0, (top + 3.5).min(99.0)), font.clone()),
    )
}

/// The legend beside the chart: each model's paper and our colour, and what n/r and the
/// whiskers mean.
fn draw_model_legend<DB: DrawingBackend>(legend: &DrawingArea<DB, Shift>) -> DrawResult {
    let mut entries = Vec::new();
    for model in Model::ALL {
        let c = model_color(model);
        let paper = crate::schema::PaperModel::of(model).display();
        entries.push((format!("{paper} (paper)"), lighten(c, 0.55)));
        entries.push((format!("{} (ours)", our_name(model)), c));
    }
    draw_legend(legend, "Model (source)", &entries)?;
    legend
        .draw(&Text::new(
            "n/r: not run here; whiskers: ± sd over seeds",
            (10, 90 + 26 * entries.len() as i32 + 10),
            (FONT, 13).into_font(),
        ))
        .map_err(msg)
}

fn our_name(model: Model) -> &'static str {
    match model {
        Model::Teacher => "MiniLM-L6",
        Model::Bilstm => "BiLSTM",
        Model::BilstmSoft => "BiLSTM_SOFT",
    }
}
