//! # experiments
//!
//! The pipeline that regenerates the paper's Table 1 rows (Tang et al. 2019, §4) for one task with
//! one command, the ablation grid that explains them, and the measurements behind Table 2. The
//! binaries `sst2`, `qqp` and `mnli` are thin entry points over [`cli::main`]; `table2` and `bench`
//! measure speed and size; `predict` runs any trained student or teacher on new text through
//! [`predict`].
//!
//! Modules form a one-way stack — each uses only those listed after it:
//! [`cli`] → [`pipeline`] → [`terminate`] → [`stages`] → [`store`], [`data`], [`config`],
//! [`models`], [`results`], [`compare`], [`names`], [`log`]; [`latency`] (timing for `bench` and
//! `table2`) uses [`models`]' types only. [`predict`] (the `predict` binary's library)
//! sits beside [`pipeline`]: it loads models through [`stages`] and uses nothing above it.
//! [`merge`] (the `merge-results` binary) adds student seeds trained elsewhere to a result folder,
//! through [`results`] alone.

pub mod cli;
pub mod compare;
pub mod config;
pub mod data;
pub mod latency;
pub mod log;
pub mod merge;
pub mod models;
pub mod names;
pub mod pipeline;
pub mod predict;
pub mod results;
pub mod stages;
pub mod store;
pub mod terminate;
