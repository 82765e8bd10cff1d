//! The tidy table of an ablation run (polars): every `metrics.csv` row, one per model × seed ×
//! split × metric, left-joined with its variant's `variants.csv` row, and the per-variant summary
//! of dev accuracy over seeds drawn from it. Rows reach polars already parsed and checked by
//! serde ([`crate::rows`]), so a malformed file fails with its file and line before this runs.

use super::run::AblationRun;
use crate::error::{ReportError, Result};
use crate::stats::Summary;
use polars::prelude::*;

fn frame_err(run: &AblationRun) -> impl Fn(PolarsError) -> ReportError + '_ {
    move |e| ReportError::Frame {
        path: run.dir.clone(),
        msg: e.to_string(),
    }
}

/// `variants.csv` as a frame, with its row order in `order`.
pub fn variants_frame(run: &AblationRun) -> Result<DataFrame> {
    let v = &run.variants;
    polars::df!(
        "order" => (0..v.len() as u32).collect::<Vec<u32>>(),
        "model" => v.iter().map(|r| r.model.as_str()).collect::<Vec<_>>(),
        "description" => v.iter().map(|r| r.description.as_str()).collect::<Vec<_>>(),
        "baseline" => v.iter().map(|r| r.baseline).collect::<Vec<_>>(),
        "alpha" => v.iter().map(|r| r.alpha).collect::<Vec<_>>(),
        "temperature" => v.iter().map(|r| r.temperature).collect::<Vec<_>>(),
        "n_iter" => v.iter().map(|r| r.n_iter as u64).collect::<Vec<_>>(),
        "transfer_size" => v.iter().map(|r| r.transfer_size as u64).collect::<Vec<_>>(),
    )
    .map_err(frame_err(run))
}

/// The tidy table: `task, config, model, split, metric, seed, value` from `metrics.csv`, joined
/// with the variant's columns (null for the teacher, which is no variant).
pub fn tidy(run: &AblationRun) -> Result<DataFrame> {
    let m = &run.metrics;
    let metrics = polars::df!(
        "task" => m.iter().map(|r| r.task.as_str()).collect::<Vec<_>>(),
        "config" => m.iter().map(|r| r.config.as_str()).collect::<Vec<_>>(),
        "model" => m.iter().map(|r| r.model.as_str()).collect::<Vec<_>>(),
        "split" => m.iter().map(|r| r.split.id()).collect::<Vec<_>>(),
        "metric" => m.iter().map(|r| r.metric.id()).collect::<Vec<_>>(),
        "seed" => m.iter().map(|r| r.seed).collect::<Vec<_>>(),
        "value" => m.iter().map(|r| r.value).collect::<Vec<_>>(),
    )
    .map_err(frame_err(run))?;
    metrics
        .lazy()
        .left_join(variants_frame(run)?.lazy(), col("model"), col("model"))
        .collect()
        .map_err(frame_err(run))
}

/// A variant's dev accuracy over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantAccuracy {
    /// The variant's name.
    pub model: String,
    /// Mean ± sd over seeds; `None` when no seed has a dev accuracy yet.
    pub summary: Option<Summary>,
}

/// Per variant, in `variants.csv` order: mean, sample sd (n − 1) and count of its dev accuracy
/// on the run's split ([`AblationRun::split`]) over seeds.
pub fn dev_accuracy_by_variant(run: &AblationRun) -> Result<Vec<VariantAccuracy>> {
    let per_variant = tidy(run)?
        .lazy()
        .filter(
            col("split")
                .eq(lit(run.split.id()))
                .and(col("metric").eq(lit("accuracy")))
                .and(col("order").is_not_null()),
        )
        .group_by([col("model")])
        .agg([
            col("value").mean().alias("mean"),
            col("value").std(1).alias("sd"),
            col("value").count().cast(DataType::UInt64).alias("n"),
        ]);
    let table = variants_frame(run)?
        .lazy()
        .left_join(per_variant, col("model"), col("model"))
        .sort(["order"], SortMultipleOptions::default())
        .collect()
        .map_err(frame_err(run))?;
    let err = frame_err(run);
    let models = table.column("model").and_then(|c| c.str()).map_err(&err)?;
    let means = table.column("mean").and_then(|c| c.f64()).map_err(&err)?;
    let sds = table.column("sd").and_then(|c| c.f64()).map_err(&err)?;
    let ns = table.column("n").and_then(|c| c.u64()).map_err(&err)?;
    let mut out = Vec::with_capacity(table.height());
    for i in 0..table.height() {
        let n = ns.get(i).unwrap_or(0) as usize;
        let summary = means.get(i).filter(|_| n > 0).map(|mean| Summary {
            mean,
            sd: sds.get(i).filter(|sd| n > 1 && sd.is_finite()),
            n,
        });
        out.push(VariantAccuracy {
            model: models.get(i).unwrap_or_default().to_string(),
            summary,
        });
    }
    Ok(out)
}
