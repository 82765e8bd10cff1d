//! Figure 4: model size against inference time on log-log axes (Tang et al. 2019, Section 5.2,
//! Table 2), the paper's BERT-large / ELMo / BiLSTM_SOFT beside our teacher and student. Time is
//! per 1,000 sentences so runs over different sentence counts share an axis.

use super::{draw_mesh, draw_series_legend, msg, DrawResult, Figure, Frame, FONT};
use crate::schema::Model;
use crate::table2::{our_model_name, Table2, PAPER_SENTENCES};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One point: label, millions of parameters, seconds per 1,000 sentences.
pub type Point = (String, f64, f64);

/// The size-vs-speed figure.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeSpeed {
    /// The paper's models.
    pub paper: Vec<Point>,
    /// Ours.
    pub ours: Vec<Point>,
    /// Our device and threads, for the legend.
    pub our_setup: String,
}

impl SizeSpeed {
    /// From Table 2 (ours may be empty when `table2.csv` is absent).
    pub fn from_table2(t: &Table2) -> SizeSpeed {
        let per_k = 1000.0 / PAPER_SENTENCES as f64;
        let paper = t
            .paper
            .iter()
            .map(|p| {
                (
                    p.model.display().to_string(),
                    p.params_millions,
                    p.seconds * per_k,
                )
            })
            .collect();
        let rows = t.ours.as_deref().unwrap_or(&[]);
        let ours = rows
            .iter()
            .map(|r| {
                // Students are placed by their size without embeddings, as the paper counts them
                // (see `table2::Ratios`); the teacher with its embeddings, as BERT-large is.
                let (name, params) = match r.model {
                    Model::Teacher => (our_model_name(r.model).to_string(), r.params),
                    m => (
                        format!("{} w/o embeddings", our_model_name(m)),
                        r.params_without_embeddings,
                    ),
                };
                (
                    name,
                    params as f64 / 1e6,
                    r.seconds_median * 1000.0 / r.sentences as f64,
                )
            })
            .collect();
        let our_setup = rows
            .first()
            .map(|r| {
                format!(
                    "{}, {} threads, batch {}",
                    r.device, r.threads, r.batch_size
                )
            })
            .unwrap_or_default();
        SizeSpeed {
            paper,
            ours,
            our_setup,
        }
    }
}

fn log_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for v in values.filter(|v| *v > 0.0 && v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return 0.1..10.0;
    }
    (lo / 3.0)..(hi * 8.0)
}

impl Figure for SizeSpeed {
    const STEM: &'static str = "fig4_size_speed";

    fn size(&self) -> (u32, u32) {
        (1000, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let all = || self.paper.iter().chain(self.ours.iter());
        let xr = log_range(all().map(|p| p.1));
        let yr = log_range(all().map(|p| p.2));
        let mut chart = Frame {
            caption: Some(("Model size vs inference time (log-log)", 24)),
            margin: 20,
            x_label_area: 50,
            y_label_area: 80,
        }
        .build(root, xr.log_scale(), yr.log_scale())?;
        draw_mesh(
            chart
                .configure_mesh()
                .x_desc("Parameters (millions; BiLSTMs without embedding tables, as the paper counts)")
                .y_desc("Seconds per 1,000 sentences")
                .x_label_formatter(&|x| format!("{x}"))
                .y_label_formatter(&|y| format!("{y}")),
            15,
            17,
        )?;
        let paper_color = RGBColor(100, 100, 100);
        let ours_color = RGBColor(214, 39, 40);
        let label_font = (FONT, 15).into_font();
        chart
            .draw_series(
                self.paper
                    .iter()
                    .map(|p| Circle::new((p.1, p.2), 7, paper_color.filled())),
            )
            .map_err(msg)?
            .label("paper: one V100, batch 512")
            .legend(move |(x, y)| Circle::new((x + 8, y), 6, paper_color.filled()));
        if !self.ours.is_empty() {
            chart
                .draw_series(
                    self.ours
                        .iter()
                        .map(|p| TriangleMarker::new((p.1, p.2), 9, ours_color.filled())),
                )
                .map_err(msg)?
                .label(format!("ours: {}", self.our_setup))
                .legend(move |(x, y)| TriangleMarker::new((x + 8, y), 7, ours_color.filled()));
        }
        for (points, dy) in [(&self.paper, -22), (&self.ours, 8)] {
            chart
                .draw_series(points.iter().map(|p| {
                    EmptyElement::at((p.1, p.2))
                        + Text::new(
                            format!("{} ({})", p.0, millions(p.1)),
                            (10, dy),
                            label_font.clone(),
                        )
                }))
                .map_err(msg)?;
        }
        draw_series_legend(&mut chart, SeriesLabelPosition::UpperLeft, 0.9, 15)
    }
}

/// Three significant digits: `335M`, `22.7M`, `0.960M`.
fn millions(m: f64) -> String {
    let digits = (2 - m.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{m:.digits$}M")
}
