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

pub mod error;
pub mod io;
pub mod rows;
pub mod schema;

pub use error::{FileError, ReportError, Result};

/// Puts `#[cfg(feature = "render")]` on every item it is given, so that the render half of the
/// crate is one list under one condition (and no `mod` has to move under a new folder).
macro_rules! render_only {
    ($($item:item)*) => {
        $(#[cfg(feature = "render")] $item)*
    };
}

render_only! {
    pub mod ablation;
    pub mod figures;
    pub mod load;
    pub mod published;
    pub mod report;
    pub mod stats;
    pub mod table1;
    pub mod table2;
    mod render;
    mod tabular;
    pub use figures::FigureStatus;
    pub use render::{run, RunArgs, RunOutput};
}
