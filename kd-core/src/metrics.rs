//! Evaluation metrics of Tang et al. 2019, §4.1: accuracy (SST-2, MNLI) and F1 of the positive
//! class (QQP, via [`Confusion::f1`]), as fractions in `[0, 1]` (the paper's tables multiply by 100).
//!
//! Degenerate cases follow scikit-learn with `zero_division=0`: an empty evaluation has accuracy
//! 0, and F1 is 0 when there are no true positives (in particular with no positive predictions
//! or no positive labels).

use tch::Tensor;

/// Fraction of positions where `preds[i] == labels[i]`; 0 for empty input.
///
/// # Panics
/// If the lengths differ: a caller bug that would otherwise silently score a prefix.
pub fn accuracy(preds: &[usize], labels: &[usize]) -> f64 {
    check_lengths(preds, labels);
    if preds.is_empty() {
        return 0.0;
    }
    let correct = preds.iter().zip(labels).filter(|(p, y)| p == y).count();
    correct as f64 / preds.len() as f64
}

fn f1_from_counts(tp: u64, fp: u64, fn_: u64) -> f64 {
    if tp == 0 {
        return 0.0;
    }
    2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
}

fn check_lengths(preds: &[usize], labels: &[usize]) {
    assert_eq!(
        preds.len(),
        labels.len(),
        "metrics: {} predictions but {} labels",
        preds.len(),
        labels.len()
    );
}

/// Confusion counts `count(pred, label)` over `num_classes` classes, accumulated one example at a
/// time (useful when evaluating batch by batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    num_classes: usize,
    /// Row-major `[pred][label]`.
    counts: Vec<u64>,
}

impl Confusion {
    /// An all-zero table for `num_classes` classes.
    pub fn new(num_classes: usize) -> Self {
        Confusion {
            num_classes,
            counts: vec![0; num_classes * num_classes],
        }
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Records one example.
    ///
    /// # Panics
    /// If `pred` or `label` is not below `num_classes`.
    pub fn add(&mut self, pred: usize, label: usize) {
        let k = self.index(pred, label);
        self.counts[k] += 1;
    }

    /// Examples predicted `pred` whose label is `label`.
    ///
    /// # Panics
    /// If `pred` or `label` is not below `num_classes`.
    pub fn count(&self, pred: usize, label: usize) -> u64 {
        self.counts[self.index(pred, label)]
    }

    /// Number of examples recorded.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Fraction on the diagonal; 0 when empty.
    pub fn accuracy(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        let diag: u64 = (0..self.num_classes).map(|c| self.count(c, c)).sum();
        diag as f64 / total as f64
    }

    /// One-vs-rest F1 of class `positive` (0 when it has no true positives).
    ///
    /// # Panics
    /// If `positive` is not below `num_classes`.
    pub fn f1(&self, positive: usize) -> f64 {
        let tp = self.count(positive, positive);
        let predicted: u64 = (0..self.num_classes).map(|y| self.count(positive, y)).sum();
        let actual: u64 = (0..self.num_classes).map(|p| self.count(p, positive)).sum();
        f1_from_counts(tp, predicted - tp, actual - tp)
    }

    fn index(&self, pred: usize, label: usize) -> usize {
        assert!(
            pred < self.num_classes && label < self.num_classes,
            "Confusion: pred {pred} / label {label} out of range for {} classes",
            self.num_classes
        );
        pred * self.num_classes + label
    }
}

/// Row-wise argmax of row-major logits `[n, classes]` (first index on ties, as `torch.argmax`;
/// a NaN never wins). An empty slice gives no rows.
///
/// # Panics
/// If `classes` is 0.
pub fn argmax(logits: &[f32], classes: usize) -> Vec<usize> {
    assert!(classes > 0, "argmax: classes must be > 0");
    logits
        .chunks(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(0, |best, (i, &v)| if v > row[best] { i } else { best })
        })
        .collect()
}

/// Row-wise argmax of `[batch, classes]` logits (first index on ties, as `torch.argmax`).
///
/// # Panics
/// If `logits` is not a 2-D tensor with at least one class.
pub fn argmax_rows(logits: &Tensor) -> Vec<usize> {
    let size = logits.size();
    assert!(
        size.len() == 2 && size[1] > 0,
        "argmax_rows: expected logits [batch, classes>=1], got {size:?}"
    );
    let idx = logits
        .argmax(1, false)
        .to_kind(tch::Kind::Int64)
        .to_device(tch::Device::Cpu);
    let idx = Vec::<i64>::try_from(&idx).expect("argmax_rows: i64 tensor to Vec");
    idx.into_iter().map(|i| i as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[0.1, 0.9, 0.5, 0.5, 2.0, -1.0], 2), vec![1, 0, 0]);
        assert_eq!(argmax(&[1.0, 3.0, 3.0], 3), vec![1]);
        assert!(argmax(&[], 2).is_empty());
        let t = Tensor::from_slice(&[0.1f32, 0.9, 0.5, 0.5, 2.0, -1.0]).view([3, 2]);
        assert_eq!(argmax_rows(&t), vec![1, 0, 0]);
    }

    #[test]
    fn accuracy_counts_matches() {
        assert_eq!(accuracy(&[0, 1, 1, 0], &[0, 1, 0, 0]), 0.75);
        assert_eq!(accuracy(&[2, 2], &[2, 2]), 1.0);
        assert_eq!(accuracy(&[], &[]), 0.0);
    }

    #[test]
    #[should_panic(expected = "3 predictions but 2 labels")]
    fn accuracy_rejects_length_mismatch() {
        accuracy(&[0, 1, 1], &[0, 1]);
    }

    fn confusion_of(preds: &[usize], labels: &[usize], k: usize) -> Confusion {
        let mut c = Confusion::new(k);
        preds.iter().zip(labels).for_each(|(&p, &y)| c.add(p, y));
        c
    }

    #[test]
    fn f1_values_and_edge_cases() {
        // TP = 2, FP = 1, FN = 1: precision = recall = 2/3.
        let c = confusion_of(&[1, 1, 1, 0, 0], &[1, 1, 0, 1, 0], 2);
        assert!((c.f1(1) - 2.0 / 3.0).abs() < 1e-15);
        // Class 0 as positive: TP = 1, FP = 1, FN = 1.
        assert!((c.f1(0) - 0.5).abs() < 1e-15);
        // No positive predictions -> 0 (not NaN).
        assert_eq!(confusion_of(&[0, 0, 0], &[1, 0, 1], 2).f1(1), 0.0);
        // No positive labels and no positive predictions -> 0.
        assert_eq!(confusion_of(&[0, 0], &[0, 0], 2).f1(1), 0.0);
        // Only false positives -> 0.
        assert_eq!(confusion_of(&[1, 1], &[0, 0], 2).f1(1), 0.0);
        assert_eq!(confusion_of(&[1, 0, 1], &[1, 0, 1], 2).f1(1), 1.0);
    }

    #[test]
    fn confusion_agrees_with_slice_metrics() {
        let preds = [0, 1, 2, 2, 1, 0, 1, 2];
        let labels = [0, 1, 1, 2, 0, 0, 2, 2];
        let mut confusion = Confusion::new(3);
        for (&p, &y) in preds.iter().zip(&labels) {
            confusion.add(p, y);
        }
        assert_eq!(confusion.total(), 8);
        assert_eq!(confusion.count(2, 1), 1);
        assert_eq!(confusion.count(1, 2), 1);
        assert_eq!(confusion.count(0, 0), 2);
        assert_eq!(confusion.accuracy(), accuracy(&preds, &labels));
        // Class 2: TP 2, FP 1 (pred 2, label 1), FN 1 (pred 1, label 2).
        assert!((confusion.f1(2) - 4.0 / 6.0).abs() < 1e-15);
        let empty = Confusion::new(2);
        assert_eq!(
            (empty.accuracy(), empty.f1(1), empty.total()),
            (0.0, 0.0, 0)
        );
    }

    #[test]
    #[should_panic(expected = "out of range for 2 classes")]
    fn confusion_rejects_out_of_range() {
        Confusion::new(2).add(0, 2);
    }

    #[test]
    fn argmax_rows_takes_first_maximum() {
        let logits = Tensor::from_slice(&[0.1f32, 0.9, 0.5, 0.5, -1.0, -2.0]).view([3, 2]);
        assert_eq!(argmax_rows(&logits), vec![1, 0, 0]);
        let empty = Tensor::zeros([0, 3], (tch::Kind::Float, tch::Device::Cpu));
        assert!(argmax_rows(&empty).is_empty());
    }
}
