//! The comparison with the paper printed at the end of a run: our dev numbers beside the paper's
//! GLUE test numbers (Table 1). SST-2's test labels are not public, so ours are dev numbers.

use crate::names::task_slug;
use crate::results::{published, MetricRow};
use kd_core::data::Task;

/// Lines of the comparison table for `task`.
pub fn comparison_lines(task: Task, ours: &[MetricRow]) -> Vec<String> {
    let paper = published().unwrap_or_default();
    let slug = task_slug(task);
    let mut lines = vec![format!(
        "{:<12} {:<16} {:<9} {:>9} {:>11}",
        "model", "split", "metric", "ours", "paper(test)"
    )];
    for row in ours {
        let split_key = match row.split.as_str() {
            "dev_matched" => "test_matched",
            "dev_mismatched" => "test_mismatched",
            _ => "test",
        };
        let theirs = paper
            .iter()
            .find(|p| {
                p.table == "table1"
                    && p.task == slug
                    && p.model == row.model
                    && p.metric == row.metric
                    && p.split == split_key
            })
            .map(|p| format!("{:.1}", p.value))
            .unwrap_or_else(|| "-".into());
        lines.push(format!(
            "{:<12} {:<16} {:<9} {:>9.2} {:>11}",
            row.model, row.split, row.metric, row.value, theirs
        ));
    }
    lines
}
