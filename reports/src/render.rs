//! [`run`]: Tables 1–2, Figures 1–4, the ablation folders and REPORT.md, from one results
//! directory into one output directory.

use crate::ablation::verdict::VerdictConfig;
use crate::ablation::{self, bootstrap::BootstrapConfig};
use crate::error::Result;
use crate::figures::bars::AccuracyBars;
use crate::figures::curves::TrainingCurves;
use crate::figures::size_speed::SizeSpeed;
use crate::figures::softmax_t::SoftmaxTFigure;
use crate::figures::{self, Figure, FigureStatus};
use crate::io::atomic_write_bytes;
use crate::load::{HistoryRow, Results};
use crate::published::Published;
use crate::report::{self, ReportContext};
use crate::schema::Task;
use crate::table1::{self, Table1};
use crate::table2::{self, Table2};
use std::path::{Path, PathBuf};

/// What to read and where to write.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// The experiments' results directory.
    pub results: PathBuf,
    /// The output directory (created if needed).
    pub out: PathBuf,
    /// A published-numbers CSV replacing the embedded `reports/data/published.csv`.
    pub published: Option<PathBuf>,
    /// The verdicts' equivalence margin δ, in points ([`VerdictConfig`]).
    pub verdicts: VerdictConfig,
}

/// What [`run`] wrote.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Every file written.
    pub written: Vec<PathBuf>,
    /// One line per skipped figure, naming the missing file(s).
    pub skipped: Vec<String>,
}

/// Regenerates every table, figure and the report.
pub fn run(args: &RunArgs) -> Result<RunOutput> {
    let published = match &args.published {
        Some(p) => Published::load(p)?,
        None => Published::embedded()?,
    };
    let results = Results::load(&args.results)?;
    let out = &args.out;
    let mut written = Vec::new();
    // The ablation folders first: a dose that reached the paper's n_iter joins Table 1.
    let (ablations, ablation_files) =
        ablation::render_all(&results.dir, out, &BootstrapConfig::default(), &args.verdicts)?;
    let mut t1 = table1::build(&results, &published);
    t1.add_paper_settings(ablations.iter().filter_map(|a| a.dose.as_ref().map(|(d, _)| d)), &published);
    write_table(out, "table1", &t1.to_markdown(), &t1.to_csv(), &mut written)?;
    let t2 = table2::build(&results, &published)?;
    write_table(out, "table2", &t2.to_markdown(), &t2.to_csv(), &mut written)?;
    written.extend(ablation_files);

    let softmax = results.softmax_t.as_deref().map(SoftmaxTFigure::new);
    let figs = draw_figures(&results, &t1, &t2, softmax.as_ref(), out)?;
    let skipped = record_figures(&figs, &mut written);

    let ctx = ReportContext {
        out,
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

/// Writes `<out>/<stem>.md` and `<out>/<stem>.csv`, adding both to `written`.
fn write_table(
    out: &Path,
    stem: &str,
    markdown: &str,
    csv: &str,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    for (ext, text) in [("md", markdown), ("csv", csv)] {
        let path = out.join(format!("{stem}.{ext}"));
        atomic_write_bytes(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(())
}

/// Figures 1–4 in order, each drawn from its inputs or skipped with the files it lacks.
fn draw_figures(
    results: &Results,
    t1: &Table1,
    t2: &Table2,
    softmax: Option<&SoftmaxTFigure>,
    out: &Path,
) -> Result<Vec<FigureStatus>> {
    let dir = &results.dir;
    let per_task = |path: fn(&Path, Task) -> PathBuf| Task::ALL.map(|t| path(dir, t));
    let any_metrics = Task::ALL.iter().any(|t| results.metrics_of(*t).is_some());
    let bars = any_metrics.then(|| AccuracyBars::from_table1(t1));
    let histories: Vec<(Task, &[HistoryRow])> = Task::ALL
        .iter()
        .filter_map(|t| results.history_of(*t).map(|h| (*t, h)))
        .collect();
    let curves = (!histories.is_empty()).then(|| TrainingCurves::new(&histories));
    let size_speed = results
        .table2
        .is_some()
        .then(|| SizeSpeed::from_table2(t2));
    Ok(vec![
        draw_or_skip(bars.as_ref(), &per_task(Results::metrics_path), out)?,
        draw_or_skip(curves.as_ref(), &per_task(Results::history_path), out)?,
        draw_or_skip(softmax, &[Results::softmax_t_path(dir)], out)?,
        draw_or_skip(size_speed.as_ref(), &[Results::table2_path(dir)], out)?,
    ])
}

/// Draws `fig` under `out`, or, when its input is absent (`None`), says which files are missing.
fn draw_or_skip<F: Figure>(fig: Option<&F>, missing: &[PathBuf], out: &Path) -> Result<FigureStatus> {
    match fig {
        Some(f) => Ok(FigureStatus::Drawn(figures::render(f, out)?)),
        None => {
            let missing: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
            Ok(FigureStatus::Skipped(format!(
                "skipping {}: missing {}",
                F::STEM,
                missing.join(", ")
            )))
        }
    }
}

/// Adds the drawn figures' files to `written`; returns the skipped figures' lines.
fn record_figures(figs: &[FigureStatus], written: &mut Vec<PathBuf>) -> Vec<String> {
    let mut skipped = Vec::new();
    for f in figs {
        match f {
            FigureStatus::Drawn(paths) => written.extend(paths.iter().cloned()),
            FigureStatus::Skipped(line) => skipped.push(line.clone()),
        }
    }
    skipped
}
