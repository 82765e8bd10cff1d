//! # experiments
//!
//! The pipeline that regenerates the paper's Table 1 rows (Tang et al. 2019, §4) for one task with
//! one command, and the measurements behind Table 2. The binaries `sst2`, `qqp` and `mnli` are thin
//! entry points over [`cli::main`]; `table2` and `bench` measure speed and size.

pub mod cli;
pub mod compare;
pub mod config;
pub mod log;
pub mod models;
pub mod pipeline;
pub mod results;
pub mod stage;
pub mod stages;
