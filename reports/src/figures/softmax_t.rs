//! Figure 3: what the temperature does (Hinton et al. 2015, as used by Tang et al. 2019,
//! Section 3): the teacher's class probabilities softmax(z/T) for one real SST-2 dev sentence at
//! T = 0.5, 1, 2, 5, 10. T > 1 flattens the distribution, exposing the "dark knowledge" in the
//! non-argmax logits; the paper's L_soft works on the logits directly, which is the T → ∞ limit.

use super::{
    category_labels, category_range, draw_mesh, draw_series_legend, lighten, msg, titled, truncate, Chart,
    x_categories, DrawResult, Figure, Frame, FONT,
};
use crate::rows::LogitRow;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The temperatures shown.
pub const TEMPERATURES: [f64; 5] = [0.5, 1.0, 2.0, 5.0, 10.0];

/// softmax(z / T) in f64, shifted by the maximum so no exponent overflows. `t` must be > 0.
pub fn softmax_t(logits: &[f64], t: f64) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|&z| ((z - max) / t).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// The temperature figure.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxTFigure {
    /// The sentence.
    pub sentence: String,
    /// Class names by class index.
    pub labels: Vec<String>,
    /// Logits by class index.
    pub logits: Vec<f64>,
}

impl SoftmaxTFigure {
    /// From checked rows (see [`crate::load::check_logit_rows`]), ordered by class.
    pub fn new(rows: &[LogitRow]) -> SoftmaxTFigure {
        let mut rows: Vec<&LogitRow> = rows.iter().collect();
        rows.sort_by_key(|r| r.class);
        SoftmaxTFigure {
            sentence: rows.first().map(|r| r.sentence.clone()).unwrap_or_default(),
            labels: rows.iter().map(|r| r.label_name.clone()).collect(),
            logits: rows.iter().map(|r| r.logit).collect(),
        }
    }

    /// Probabilities per temperature, in [`TEMPERATURES`] order.
    pub fn probabilities(&self) -> Vec<(f64, Vec<f64>)> {
        TEMPERATURES
            .iter()
            .map(|&t| (t, softmax_t(&self.logits, t)))
            .collect()
    }

    /// A markdown table of the probabilities.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "| T | {} |\n|---:|{}\n",
            self.labels.join(" | "),
            "---:|".repeat(self.labels.len())
        );
        for (t, p) in self.probabilities() {
            let cells: Vec<String> = p.iter().map(|v| format!("{v:.4}")).collect();
            s.push_str(&format!("| {t} | {} |\n", cells.join(" | ")));
        }
        s
    }
}

/// Colours of the classes (negative red-ish, positive blue-ish for SST-2; more cycle).
fn class_color(i: usize) -> RGBColor {
    const C: [RGBColor; 4] = [
        RGBColor(214, 39, 40),
        RGBColor(31, 119, 180),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    C[i % C.len()]
}

const TITLE: &str = "Teacher probabilities softmax(z/T) for one SST-2 dev sentence";

impl Figure for SoftmaxTFigure {
    const STEM: &'static str = "fig3_softmax_t";

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = titled(root, TITLE, 22)?;
        self.draw_sentence(&root)?;
        let (_, plot) = root.split_vertically(25);
        let mut chart = axes(&plot)?;
        let width = 0.8 / self.labels.len().max(1) as f64;
        for (k, label) in self.labels.iter().enumerate() {
            self.draw_class_bars(&mut chart, k, label, width)?;
        }
        draw_series_legend(&mut chart, SeriesLabelPosition::UpperRight, 0.9, 15)
    }
}

impl SoftmaxTFigure {
    /// The sentence (cut to 80 characters) and its logits, under the title.
    fn draw_sentence<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let logits: Vec<String> = self
            .labels
            .iter()
            .zip(&self.logits)
            .map(|(l, z)| format!("z_{l} = {z:.2}"))
            .collect();
        root.draw(&Text::new(
            format!(
                "\u{201c}{}\u{201d}   ({})",
                truncate(&self.sentence, 80),
                logits.join(", ")
            ),
            (20, 5),
            (FONT, 15).into_font(),
        ))
        .map_err(msg)
    }

    /// Class `k`'s bar at every temperature (labelled for the legend), each with its value.
    fn draw_class_bars<DB: DrawingBackend>(
        &self,
        chart: &mut Chart<'_, DB>,
        k: usize,
        label: &str,
        width: f64,
    ) -> DrawResult {
        let color = class_color(k);
        let bars: Vec<(f64, f64)> = self
            .probabilities()
            .iter()
            .enumerate()
            .map(|(i, (_, p))| (i as f64, p[k]))
            .collect();
        chart
            .draw_series(bars.iter().map(|&(x, p)| {
                let x0 = x - 0.4 + k as f64 * width;
                Rectangle::new(
                    [(x0, 0.0), (x0 + width * 0.92, p)],
                    lighten(color, 0.15).filled(),
                )
            }))
            .map_err(msg)?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
        chart
            .draw_series(bars.iter().map(|&(x, p)| {
                let x0 = x - 0.4 + k as f64 * width;
                Text::new(format!("{p:.3}"), (x0, p + 0.035), (FONT, 13).into_font())
            }))
            .map_err(msg)?;
        Ok(())
    }
}

/// The chart: one category per temperature, probability from 0 to just above 1.
fn axes<'a, DB: DrawingBackend>(plot: &'a DrawingArea<DB, Shift>) -> DrawResult<Chart<'a, DB>> {
    let n = TEMPERATURES.len();
    let mut chart = Frame {
        caption: None,
        margin: 15,
        x_label_area: 45,
        y_label_area: 60,
    }
    .build(plot, category_range(n), 0f64..1.08f64)?;
    let labels = category_labels(n, |i| format!("T = {}", TEMPERATURES[i]));
    draw_mesh(
        x_categories(&mut chart.configure_mesh(), n, &labels)
            .y_desc("Probability")
            .x_desc("Temperature (T > 1 flattens the distribution)"),
        15,
        16,
    )?;
    Ok(chart)
}
