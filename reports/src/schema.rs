//! The result CSVs' vocabulary — tasks, models, splits, metrics, student-variant fields — is the
//! `kd-schema` crate, shared with `kd-core` and `experiments` (one definition of each name).

pub use kd_schema::*;
