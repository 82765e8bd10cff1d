//! Figures for the report, each written as PNG and SVG from one drawing routine. Text is set in
//! the committed DejaVu Sans (assets/fonts, Bitstream Vera licence) through plotters' ab_glyph
//! backend, so PNGs look the same on any machine, with no system fonts or fontconfig needed.

pub mod ablation;
pub mod bars;
pub mod curves;
pub mod dose;
pub mod size_speed;
pub mod softmax_t;
pub mod teachers;

use crate::error::{ReportError, Result};
use crate::io::{atomic_write_bytes, commit_tmp, ensure_parent, tmp_path};
use crate::schema::Model;
use plotters::chart::{ChartContext, MeshStyle, SeriesLabelPosition};
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::element::{CoordMapper, Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The font family every figure uses.
pub const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Result of a drawing routine (by default nothing, else e.g. a chart): the backend's message on
/// failure.
pub type DrawResult<T = ()> = std::result::Result<T, String>;

/// Turns any backend error into its message.
pub(crate) fn msg<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A figure and the files it was drawn from, or why it was not drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum FigureStatus {
    /// Written: the PNG and SVG paths.
    Drawn(Vec<PathBuf>),
    /// Skipped: one line naming the missing input.
    Skipped(String),
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
    const STEM: &'static str;
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
    let png = out.join(format!("{}.png", F::STEM));
    let svg = out.join(format!("{}.svg", F::STEM));
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

/// A chart over the axis specifications `X` × `Y` (ranges, log scales).
pub(crate) type ChartOver<'a, DB, X, Y> = ChartContext<
    'a,
    DB,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

/// A chart on two linear f64 axes, as most figures draw.
pub(crate) type Chart<'a, DB> = ChartOver<'a, DB, Range<f64>, Range<f64>>;

/// The frame of a chart: its caption (text, font size), margin and label-area sizes (pixels).
pub(crate) struct Frame<'t> {
    /// The caption above the plot, if the chart has its own.
    pub caption: Option<(&'t str, u32)>,
    /// The margin around the chart.
    pub margin: u32,
    /// The height of the x axis's label area.
    pub x_label_area: u32,
    /// The width of the y axis's label area.
    pub y_label_area: u32,
}

impl Frame<'_> {
    /// Builds a chart on `area` over `x` × `y`.
    pub fn build<'a, DB, X, Y>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
        x: X,
        y: Y,
    ) -> DrawResult<ChartOver<'a, DB, X, Y>>
    where
        DB: DrawingBackend,
        X: AsRangedCoord,
        Y: AsRangedCoord,
    {
        let mut builder = ChartBuilder::on(area);
        if let Some((text, size)) = self.caption {
            builder.caption(text, (FONT, size));
        }
        builder
            .margin(self.margin)
            .x_label_area_size(self.x_label_area)
            .y_label_area_size(self.y_label_area)
            .build_cartesian_2d(x, y)
            .map_err(msg)
    }
}

/// Draws a configured mesh with its tick labels and axis descriptions in [`FONT`] at the given
/// sizes.
pub(crate) fn draw_mesh<X, Y, DB>(
    mesh: &mut MeshStyle<'_, '_, X, Y, DB>,
    label_size: u32,
    desc_size: u32,
) -> DrawResult
where
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
    DB: DrawingBackend,
{
    mesh.label_style((FONT, label_size))
        .axis_desc_style((FONT, desc_size))
        .draw()
        .map_err(msg)
}

/// Draws the legend of the labelled series at `position`: a black border, white at `opacity`
/// behind, labels in [`FONT`] at `font_size`.
pub(crate) fn draw_series_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    opacity: f64,
    font_size: u32,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(opacity))
        .border_style(BLACK)
        .label_font((FONT, font_size))
        .draw()
        .map_err(msg)
}

/// Draws one element (a bar, a whisker, a point, a label) on `chart`.
pub(crate) fn draw_one<DB, CT, B, E>(chart: &mut ChartContext<'_, DB, CT>, element: E) -> DrawResult
where
    DB: DrawingBackend,
    CT: CoordTranslate,
    B: CoordMapper,
    for<'b> &'b E: PointCollection<'b, CT::From, B>,
    E: Drawable<DB, B>,
{
    chart
        .draw_series(std::iter::once(element))
        .map(|_| ())
        .map_err(msg)
}

/// The axis range of `n` categories, which sit at 0, 1, …, n − 1.
pub(crate) fn category_range(n: usize) -> Range<f64> {
    -0.5f64..(n as f64 - 0.5)
}

/// The tick-label formatter of a [`category_range`] of `n`: `name(i)` at category i, nothing
/// between categories.
pub(crate) fn category_labels(
    n: usize,
    name: impl Fn(usize) -> String,
) -> impl Fn(&f64) -> String {
    move |&v| {
        let i = v.round();
        let at = (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n;
        if at {
            name(i as usize)
        } else {
            String::new()
        }
    }
}

/// Puts the `n` categories of a [`category_range`] on the x axis of `mesh`, one tick each, named
/// by `labels` (from [`category_labels`]), with no vertical grid lines between them.
pub(crate) fn x_categories<'m, 'a, 'b, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, DB>,
    n: usize,
    labels: &'b dyn Fn(&f64) -> String,
) -> &'m mut MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, DB> {
    mesh.disable_x_mesh().x_labels(n).x_label_formatter(labels)
}

/// `root` with `title` on top in [`FONT`] at `size`: the area below it.
pub(crate) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    size: u32,
) -> DrawResult<DrawingArea<DB, Shift>> {
    root.titled(title, (FONT, size)).map_err(msg)
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
