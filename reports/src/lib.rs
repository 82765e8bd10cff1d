//! Tables and figures for the reproduction of Tang et al. 2019, "Distilling Task-Specific
//! Knowledge from BERT into Simple Neural Networks" (arXiv 1903.12136), rendered from the tidy
//! result CSVs the experiments write. Reads only CSVs: no libtorch, so it builds anywhere.
//!
//! [`run`] loads `<results>/` ([`load::Results`]) and the paper's numbers
//! ([`published::Published`]), then writes Table 1 and 2 (markdown + CSV), four figures (PNG +
//! SVG) and `REPORT.md` under `<out>/`; every folder of `<results>/` holding a `variants.csv` gets
//! an ablation table, Figure 5 and a paragraph ([`ablation`]).
//!
//! Without the default `render` feature only [`rows`], [`schema`], [`io`] and [`error`] are built:
//! the result-row schema that the experiments write through, with no polars or plotters.

#[cfg(feature = "render")]
pub mod ablation;
pub mod error;
#[cfg(feature = "render")]
pub mod figures;
pub mod io;
#[cfg(feature = "render")]
pub mod load;
#[cfg(feature = "render")]
pub mod published;
#[cfg(feature = "render")]
pub mod report;
pub mod rows;
pub mod schema;
#[cfg(feature = "render")]
pub mod stats;
#[cfg(feature = "render")]
pub mod table1;
#[cfg(feature = "render")]
pub mod table2;

pub use error::{ReportError, Result};

#[cfg(feature = "render")]
use figures::bars::AccuracyBars;
#[cfg(feature = "render")]
use figures::curves::TrainingCurves;
#[cfg(feature = "render")]
use figures::size_speed::SizeSpeed;
#[cfg(feature = "render")]
use figures::softmax_t::SoftmaxTFigure;
#[cfg(feature = "render")]
use figures::{render, Figure};
#[cfg(feature = "render")]
use io::atomic_write_bytes;
#[cfg(feature = "render")]
use load::Results;
#[cfg(feature = "render")]
use published::Published;
#[cfg(feature = "render")]
use schema::Task;
#[cfg(feature = "render")]
use std::path::{Path, PathBuf};

/// What to read and where to write.
#[cfg(feature = "render")]
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// The experiments' results directory.
    pub results: PathBuf,
    /// The output directory (created if needed).
    pub out: PathBuf,
    /// A published-numbers CSV replacing the embedded `reports/data/published.csv`.
    pub published: Option<PathBuf>,
}

/// A figure and the files it was drawn from, or why it was not drawn.
#[cfg(feature = "render")]
#[derive(Debug, Clone, PartialEq)]
pub enum FigureStatus {
    /// Written: the PNG and SVG paths.
    Drawn(Vec<PathBuf>),
    /// Skipped: one line naming the missing input.
    Skipped(String),
}

/// What [`run`] wrote.
#[cfg(feature = "render")]
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Every file written.
    pub written: Vec<PathBuf>,
    /// One line per skipped figure, naming the missing file(s).
    pub skipped: Vec<String>,
}

#[cfg(feature = "render")]
fn draw_or_skip<F: Figure>(fig: Option<F>, missing: String, out: &Path) -> Result<FigureStatus> {
    match fig {
        Some(f) => Ok(FigureStatus::Drawn(render(&f, out)?)),
        None => Ok(FigureStatus::Skipped(missing)),
    }
}

#[cfg(feature = "render")]
fn missing_list(paths: Vec<PathBuf>) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Regenerates every table, figure and the report.
#[cfg(feature = "render")]
pub fn run(args: &RunArgs) -> Result<RunOutput> {
    let published = match &args.published {
        Some(p) => Published::load(p)?,
        None => Published::embedded()?,
    };
    let results = Results::load(&args.results)?;
    let out = &args.out;
    let mut written = Vec::new();
    let mut write = |name: &str, text: &str| -> Result<()> {
        let path = out.join(name);
        atomic_write_bytes(&path, text.as_bytes())?;
        written.push(path);
        Ok(())
    };

    let t1 = table1::build(&results, &published);
    write("table1.md", &t1.to_markdown())?;
    write("table1.csv", &t1.to_csv())?;
    let t2 = table2::build(&results, &published)?;
    write("table2.md", &t2.to_markdown())?;
    write("table2.csv", &t2.to_csv())?;

    let dir = &results.dir;
    let any_metrics = Task::ALL.iter().any(|t| results.metrics_of(*t).is_some());
    let fig1 = draw_or_skip(
        any_metrics.then(|| AccuracyBars::from_table1(&t1)),
        format!(
            "skipping fig1_accuracy: missing {}",
            missing_list(
                Task::ALL
                    .iter()
                    .map(|t| Results::metrics_path(dir, *t))
                    .collect()
            )
        ),
        out,
    )?;
    let histories: Vec<(Task, &[load::HistoryRow])> = Task::ALL
        .iter()
        .filter_map(|t| results.history_of(*t).map(|h| (*t, h)))
        .collect();
    let fig2 = draw_or_skip(
        (!histories.is_empty()).then(|| TrainingCurves::new(&histories)),
        format!(
            "skipping fig2_training_curves: missing {}",
            missing_list(
                Task::ALL
                    .iter()
                    .map(|t| Results::history_path(dir, *t))
                    .collect()
            )
        ),
        out,
    )?;
    let softmax = results.softmax_t.as_deref().map(SoftmaxTFigure::new);
    let fig3 = draw_or_skip(
        softmax.clone(),
        format!(
            "skipping fig3_softmax_t: missing {}",
            Results::softmax_t_path(dir).display()
        ),
        out,
    )?;
    let fig4 = draw_or_skip(
        results
            .table2
            .is_some()
            .then(|| SizeSpeed::from_table2(&t2)),
        format!(
            "skipping fig4_size_speed: missing {}",
            Results::table2_path(dir).display()
        ),
        out,
    )?;

    let (ablations, ablation_files) =
        ablation::render_all(dir, out, &ablation::bootstrap::BootstrapConfig::default())?;
    written.extend(ablation_files);

    let figs = [fig1, fig2, fig3, fig4];
    let mut skipped = Vec::new();
    for f in &figs {
        match f {
            FigureStatus::Drawn(paths) => written.extend(paths.iter().cloned()),
            FigureStatus::Skipped(line) => skipped.push(line.clone()),
        }
    }
    let ctx = report::ReportContext {
        args,
        results: &results,
        table1: &t1,
        table2: &t2,
        softmax: softmax.as_ref(),
        figures: &figs,
        ablations: &ablations,
    };
    let path = out.join("REPORT.md");
    atomic_write_bytes(&path, report::render(&ctx).as_bytes())?;
    written.push(path);
    Ok(RunOutput { written, skipped })
}
