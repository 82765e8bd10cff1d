//! Figures for the report, each written as PNG and SVG from one drawing routine. Text is set in
//! the committed DejaVu Sans (assets/fonts, Bitstream Vera licence) through plotters' ab_glyph
//! backend, so PNGs look the same on any machine, with no system fonts or fontconfig needed.

pub mod ablation;
pub mod bars;
pub mod curves;
pub mod size_speed;
pub mod softmax_t;

use crate::error::{ReportError, Result};
use crate::io::{atomic_write_bytes, commit_tmp, ensure_parent, tmp_path};
use crate::schema::Model;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The font family every figure uses.
pub const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Result of a drawing routine: the backend's message on failure.
pub type DrawResult = std::result::Result<(), String>;

/// Turns any backend error into its message.
pub(crate) fn msg<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Registers the embedded font under [`FONT`] (normal and, by fallback, bold). Idempotent.
pub fn register_fonts() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FONT, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the embedded DejaVu Sans is not a valid font".to_string())
        })
        .clone()
        .map_err(|msg| ReportError::Plot {
            path: PathBuf::from("assets/fonts/DejaVuSans.ttf"),
            msg,
        })
}

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// File stem of the outputs (`fig1_accuracy` → `fig1_accuracy.{png,svg}`).
    fn stem(&self) -> &'static str;
    /// Canvas size in pixels.
    fn size(&self) -> (u32, u32) {
        (1000, 600)
    }
    /// Draws onto a white canvas.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// Writes `fig` as `<out>/<stem>.png` and `<out>/<stem>.svg` (atomically); returns both paths.
pub fn render<F: Figure>(fig: &F, out: &Path) -> Result<Vec<PathBuf>> {
    register_fonts()?;
    let png = out.join(format!("{}.png", fig.stem()));
    let svg = out.join(format!("{}.svg", fig.stem()));
    ensure_parent(&png)?;
    let tmp = tmp_path(&png);
    let drawn = (|| {
        let root = BitMapBackend::new(&tmp, fig.size()).into_drawing_area();
        root.fill(&WHITE).map_err(msg)?;
        fig.draw(&root)?;
        root.present().map_err(msg)
    })();
    if let Err(m) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(ReportError::Plot { path: png, msg: m });
    }
    commit_tmp(&tmp, &png)?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, fig.size()).into_drawing_area();
        let drawn = (|| {
            root.fill(&WHITE).map_err(msg)?;
            fig.draw(&root)?;
            root.present().map_err(msg)
        })();
        drawn.map_err(|m| ReportError::Plot {
            path: svg.clone(),
            msg: m,
        })?;
    }
    atomic_write_bytes(&svg, text.as_bytes())?;
    Ok(vec![png, svg])
}

/// The colour of a model in every figure (matplotlib's tab10, colour-blind friendlier than pure
/// primaries).
pub fn model_color(model: Model) -> RGBColor {
    match model {
        Model::Teacher => RGBColor(31, 119, 180),
        Model::Bilstm => RGBColor(255, 127, 14),
        Model::BilstmSoft => RGBColor(44, 160, 44),
    }
}

/// A colour mixed with white (`amount` = 0 keeps it, 1 gives white); the paper's bars.
pub fn lighten(c: RGBColor, amount: f64) -> RGBColor {
    let mix = |v: u8| (v as f64 + (255.0 - v as f64) * amount).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// Draws a legend of filled swatches in its own area (beside the chart, so it never covers data).
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    entries: &[(String, RGBColor)],
) -> DrawResult {
    let font = (FONT, 15).into_font();
    area.draw(&Text::new(title.to_string(), (10, 60), font.clone()))
        .map_err(msg)?;
    for (i, (label, color)) in entries.iter().enumerate() {
        let y = 90 + 26 * i as i32;
        area.draw(&Rectangle::new([(10, y), (28, y + 16)], color.filled()))
            .map_err(msg)?;
        area.draw(&Rectangle::new(
            [(10, y), (28, y + 16)],
            BLACK.stroke_width(1),
        ))
        .map_err(msg)?;
        area.draw(&Text::new(label.clone(), (36, y + 1), font.clone()))
            .map_err(msg)?;
    }
    Ok(())
}

/// Cuts `s` to at most `max` characters, marking the cut with an ellipsis.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
