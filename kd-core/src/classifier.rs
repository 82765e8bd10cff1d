//! [`Classifier`]: what every trained model of this workspace offers its users — the fine-tuned
//! teacher (`bert_teacher::Teacher`) and a trained student (`bilstm_student::StudentModel`) alike:
//! logits for GLUE examples. The pipeline's evaluation, the `predict` binary and library users
//! all go through it.

use crate::data::Example;
use crate::loss::softmax_rows;
use crate::Result;

/// A trained sentence (or sentence-pair) classifier.
///
/// `bert_teacher::Teacher` and `bilstm_student::StudentModel` implement it directly; any other
/// model needs only the three required methods (`no_run`: rustdoc's test binaries get no rpath
/// to libtorch; with `LD_LIBRARY_PATH=.venv/libtorch/lib` it runs and passes):
///
/// ```no_run
/// use kd_core::data::Example;
/// use kd_core::{Classifier, Result};
///
/// /// Positive iff the sentence says "good".
/// struct Keyword;
///
/// impl Classifier for Keyword {
///     fn num_classes(&self) -> usize {
///         2
///     }
///     fn is_pair(&self) -> bool {
///         false
///     }
///     fn predict_logits(&self, examples: &[Example], _batch_size: usize) -> Result<Vec<f32>> {
///         Ok(examples
///             .iter()
///             .flat_map(|e| {
///                 if e.text_a.split(' ').any(|w| w == "good") {
///                     [0.0, 2.0]
///                 } else {
///                     [2.0, 0.0]
///                 }
///             })
///             .collect())
///     }
/// }
///
/// let examples = ["a good film", "a dull film"].map(|text| Example {
///     text_a: text.into(),
///     text_b: None,
///     label: None,
///     index: None,
/// });
/// let clf: &dyn Classifier = &Keyword;
/// assert_eq!(clf.predict_logits(&examples, 32)?, [0.0, 2.0, 2.0, 0.0]);
/// let proba = clf.predict_proba(&examples, 32, 1.0)?;
/// assert!(proba[1] > 0.88 && proba[2] > 0.88); // sigmoid(2) = 0.881
/// # Ok::<(), kd_core::KdError>(())
/// ```
pub trait Classifier {
    /// Number of classes (the width of a logit row).
    fn num_classes(&self) -> usize;

    /// Whether the model reads sentence pairs (`text_b` required) or single sentences.
    fn is_pair(&self) -> bool;

    /// Logits of every example, row-major `[examples.len(), num_classes]`, in input order; the
    /// model runs in eval mode without gradients over batches of at most `batch_size` examples.
    fn predict_logits(&self, examples: &[Example], batch_size: usize) -> Result<Vec<f32>>;

    /// `softmax(z / temperature)` of each row of [`Classifier::predict_logits`] (T > 1 flattens).
    fn predict_proba(
        &self,
        examples: &[Example],
        batch_size: usize,
        temperature: f64,
    ) -> Result<Vec<f32>> {
        let logits = self.predict_logits(examples, batch_size)?;
        softmax_rows(&logits, self.num_classes(), temperature)
    }
}
