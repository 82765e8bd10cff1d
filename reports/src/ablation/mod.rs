//! The ablation grid the paper never ran (which ingredient of BiLSTM_SOFT carries the gain over
//! the BiLSTM: distillation, augmentation, the teacher's hard or soft targets, the loss). For
//! every folder of the results directory holding a `variants.csv`, [`render`] writes the table
//! (markdown + CSV), Figure 5 (PNG + SVG) under `<out>/<folder>/` and returns the paragraph for
//! REPORT.md.

pub mod bootstrap;
pub mod frame;
pub mod paragraph;
pub mod run;
pub mod table;

use crate::error::Result;
use crate::figures::ablation::AblationFigure;
use crate::figures::render;
use crate::io::atomic_write_bytes;
use bootstrap::BootstrapConfig;
use run::{find_runs, AblationRun};
use std::path::{Path, PathBuf};
use table::AblationTable;

/// One rendered ablation folder.
#[derive(Debug, Clone)]
pub struct AblationSection {
    /// The table.
    pub table: AblationTable,
    /// What the grid shows, generated from the numbers.
    pub paragraph: String,
    /// Output paths relative to `<out>`: table markdown, table CSV, figure PNG, figure SVG.
    pub files: Vec<PathBuf>,
}

/// The folder to look in and the command that fills it, for the "not run" line.
pub const EXAMPLE_FOLDER: &str = "sst2-ablations";

/// Renders every ablation folder under `results` into `<out>/<folder>/`; returns the sections
/// and every file written.
pub fn render_all(
    results: &Path,
    out: &Path,
    cfg: &BootstrapConfig,
) -> Result<(Vec<AblationSection>, Vec<PathBuf>)> {
    let mut sections = Vec::new();
    let mut written = Vec::new();
    for dir in find_runs(results)? {
        let run = AblationRun::load(&dir)?;
        let table = AblationTable::build(&run, cfg)?;
        let paragraph = paragraph::paragraph(&run, &table, cfg)?;
        let sub = out.join(&run.name);
        let md = sub.join("ablation.md");
        atomic_write_bytes(&md, table.to_markdown().as_bytes())?;
        let csv = sub.join("ablation.csv");
        atomic_write_bytes(&csv, table.to_csv().as_bytes())?;
        let mut paths = vec![md, csv];
        paths.extend(render(&AblationFigure::from_table(&table), &sub)?);
        let files = paths
            .iter()
            .map(|p| p.strip_prefix(out).unwrap_or(p).to_path_buf())
            .collect();
        written.extend(paths);
        sections.push(AblationSection {
            table,
            paragraph,
            files,
        });
    }
    Ok((sections, written))
}
