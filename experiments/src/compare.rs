//! The comparison with the paper printed at the end of a run: our dev numbers beside the paper's
//! GLUE test numbers (Table 1). SST-2's test labels are not public, so ours are dev numbers.

use crate::names::task_slug;
use crate::results::{published, MetricRow};
use kd_core::data::Task;
use reports::schema::Metric;

/// Lines of the comparison table for `task`.
pub fn comparison_lines(task: Task, ours: &[MetricRow]) -> anyhow::Result<Vec<String>> {
    let paper = published()?;
    let slug = task_slug(task);
    let mut lines = vec![format!(
        "{:<12} {:<16} {:<9} {:>9} {:>11}",
        "model", "split", "metric", "ours", "paper(test)"
    )];
    // The paper's measures only: accuracy and F1 (fidelity to the teacher is ours).
    for row in ours
        .iter()
        .filter(|r| matches!(r.metric, Metric::Accuracy | Metric::F1))
    {
        let split_key = match row.split.id() {
            "dev_matched" => "test_matched",
            "dev_mismatched" => "test_mismatched",
            _ => "test",
        };
        let theirs = paper
            .iter()
            .find(|p| {
                p.table == "table1"
                    && p.task == slug
                    && p.model == row.model.as_str()
                    && p.metric == row.metric.id()
                    && p.split == split_key
            })
            .map(|p| format!("{:.1}", p.value))
            .unwrap_or_else(|| "-".into());
        lines.push(format!(
            "{:<12} {:<16} {:<9} {:>9.2} {:>11}",
            row.model.as_str(),
            row.split.id(),
            row.metric.id(),
            row.value,
            theirs
        ));
    }
    Ok(lines)
}
