//! The ablation grid the paper never ran (which ingredient of BiLSTM_SOFT carries the gain over
//! the BiLSTM: distillation, augmentation, the teacher's hard or soft targets, the loss). For
//! every folder of the results directory holding a `variants.csv`, [`render_all`] writes the
//! table (markdown + CSV) with both measures — dev accuracy, and agreement with the teacher on the
//! unlabelled test split — Figure 5 (PNG + SVG), and, where the folder's variants make one, the
//! 2×2 factorial ([`factorial`]) and the augmentation dose ([`dose`], Figure 6) under
//! `<out>/<folder>/`, and returns the paragraphs for REPORT.md.

pub mod agreement;
pub mod bootstrap;
pub mod dose;
pub mod factorial;
pub mod frame;
pub mod paragraph;
pub mod run;
pub mod table;
pub mod teachers;
pub mod verdict;

use crate::error::Result;
use crate::figures::ablation::AblationFigure;
use crate::figures::dose::DoseFigure;
use crate::figures::teachers::TeacherStudentFigure;
use teachers::TeacherSweep;
use dose::Dose;
use factorial::Factorial;
use crate::figures::render;
use crate::io::atomic_write_bytes;
use bootstrap::BootstrapConfig;
use verdict::VerdictConfig;
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
    /// The 2×2 factorial, when the folder's variants fill its four cells.
    pub factorial: Option<Factorial>,
    /// The augmentation dose, when the folder has one; with its figure's PNG and SVG (relative
    /// to `<out>`).
    pub dose: Option<(Dose, Vec<PathBuf>)>,
    /// The teachers and their students, when the folder has more than one teacher; with the
    /// teacher → student figure's PNG and SVG (relative to `<out>`).
    pub teachers: Option<(TeacherSweep, Vec<PathBuf>)>,
}

/// The folder to look in and the command that fills it, for the "not run" line.
pub const EXAMPLE_FOLDER: &str = "sst2-ablations";

/// Renders every ablation folder under `results` into `<out>/<folder>/`; returns the sections
/// and every file written.
pub fn render_all(
    results: &Path,
    out: &Path,
    cfg: &BootstrapConfig,
    verdicts: &VerdictConfig,
) -> Result<(Vec<AblationSection>, Vec<PathBuf>)> {
    let mut sections = Vec::new();
    let mut written = Vec::new();
    for dir in find_runs(results)? {
        let run = AblationRun::load(&dir)?;
        let table = AblationTable::build(&run, cfg, verdicts)?;
        let paragraph = paragraph::paragraph(&run, &table, cfg)?;
        let sub = out.join(&run.name);
        let md = sub.join("ablation.md");
        atomic_write_bytes(&md, table.to_markdown().as_bytes())?;
        let csv = sub.join("ablation.csv");
        atomic_write_bytes(&csv, table.to_csv().as_bytes())?;
        let mut paths = vec![md, csv];
        paths.extend(render(&AblationFigure::from_table(&table), &sub)?);
        let relative = |ps: &[PathBuf]| -> Vec<PathBuf> {
            ps.iter()
                .map(|p| p.strip_prefix(out).unwrap_or(p).to_path_buf())
                .collect()
        };
        let files = relative(&paths);
        written.extend(paths);
        let factorial = Factorial::of(&run, &table, cfg)?;
        if let Some(f) = &factorial {
            for (name, text) in [("factorial.md", f.to_markdown()), ("factorial.csv", f.to_csv())] {
                let path = sub.join(name);
                atomic_write_bytes(&path, text.as_bytes())?;
                written.push(path);
            }
        }
        let dose = match Dose::of(&run, &table, cfg)? {
            Some(d) => {
                for (name, text) in [("dose.md", d.to_markdown()), ("dose.csv", d.to_csv())] {
                    let path = sub.join(name);
                    atomic_write_bytes(&path, text.as_bytes())?;
                    written.push(path);
                }
                let figure = render(&DoseFigure::from_dose(&d), &sub)?;
                let rel = relative(&figure);
                written.extend(figure);
                Some((d, rel))
            }
            None => None,
        };
        let teachers = match TeacherSweep::of(&run, &table, cfg)? {
            Some(t) => {
                for (name, text) in [("teachers.md", t.to_markdown()), ("teachers.csv", t.to_csv())] {
                    let path = sub.join(name);
                    atomic_write_bytes(&path, text.as_bytes())?;
                    written.push(path);
                }
                let figure = match TeacherStudentFigure::from_sweep(&t) {
                    Some(f) => render(&f, &sub)?,
                    None => Vec::new(),
                };
                let rel = relative(&figure);
                written.extend(figure);
                Some((t, rel))
            }
            None => None,
        };
        sections.push(AblationSection {
            table,
            paragraph,
            files,
            factorial,
            dose,
            teachers,
        });
    }
    Ok((sections, written))
}
