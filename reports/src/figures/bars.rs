//! Figure 1: accuracy of the teacher, BiLSTM and BiLSTM_SOFT per task, the paper's (GLUE test,
//! Tang et al. 2019 Table 1) beside ours (dev, mean over seeds with ± sd whiskers).

use super::{draw_legend, lighten, model_color, msg, DrawResult, Figure, FONT};
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
    fn stem(&self) -> &'static str {
        "fig1_accuracy"
    }

    fn size(&self) -> (u32, u32) {
        (1200, 620)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (plot, legend) = root.split_horizontally(900);
        let n = self.groups.len().max(1);
        let mut chart = ChartBuilder::on(&plot)
            .caption("Accuracy: paper (GLUE test) vs ours (dev)", (FONT, 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..100f64)
            .map_err(msg)?;
        let labels: Vec<String> = self.groups.iter().map(|g| g.label.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_desc("Accuracy (%)")
            .x_desc("Task (MNLI-m / -mm: matched / mismatched)")
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 17))
            .draw()
            .map_err(msg)?;
        let slots = Model::ALL.len() * 2;
        let slot = GROUP_WIDTH / slots as f64;
        let value_font = (FONT, 12).into_font();
        for (gi, g) in self.groups.iter().enumerate() {
            for ModelBars { model, paper, ours } in &g.bars {
                let m = Model::ALL.iter().position(|x| x == model).unwrap_or(0);
                let color = model_color(*model);
                for (k, value, fill, sd) in [
                    (2 * m, *paper, lighten(color, 0.55), None),
                    (2 * m + 1, ours.map(|o| o.0), color, ours.and_then(|o| o.1)),
                ] {
                    let x0 = gi as f64 - GROUP_WIDTH / 2.0 + k as f64 * slot;
                    let x1 = x0 + slot * 0.92;
                    let Some(v) = value else {
                        chart
                            .draw_series(std::iter::once(Text::new(
                                "n/r",
                                (x0, 1.5),
                                value_font.clone(),
                            )))
                            .map_err(msg)?;
                        continue;
                    };
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(x0, 0.0), (x1, v)],
                            fill.filled(),
                        )))
                        .map_err(msg)?;
                    let xm = (x0 + x1) / 2.0;
                    let top = v + sd.unwrap_or(0.0);
                    if let Some(sd) = sd {
                        chart
                            .draw_series(std::iter::once(PathElement::new(
                                vec![(xm, v - sd), (xm, (v + sd).min(100.0))],
                                BLACK.stroke_width(2),
                            )))
                            .map_err(msg)?;
                    }
                    chart
                        .draw_series(std::iter::once(Text::new(
                            format!("{v:.1}"),
                            (x0, (top + 3.5).min(99.0)),
                            value_font.clone(),
                        )))
                        .map_err(msg)?;
                }
            }
        }
        let mut entries = Vec::new();
        for model in Model::ALL {
            let c = model_color(model);
            let paper = crate::schema::PaperModel::of(model).display();
            entries.push((format!("{paper} (paper)"), lighten(c, 0.55)));
            entries.push((format!("{} (ours)", our_name(model)), c));
        }
        draw_legend(&legend, "Model (source)", &entries)?;
        legend
            .draw(&Text::new(
                "n/r: not run here; whiskers: ± sd over seeds",
                (10, 90 + 26 * entries.len() as i32 + 10),
                (FONT, 13).into_font(),
            ))
            .map_err(msg)
    }
}

fn our_name(model: Model) -> &'static str {
    match model {
        Model::Teacher => "MiniLM-L6",
        Model::Bilstm => "BiLSTM",
        Model::BilstmSoft => "BiLSTM_SOFT",
    }
}
