//! [`Classifier`]: what every trained model of this workspace offers its users — the fine-tuned
//! teacher (`bert_teacher::Teacher`) and a trained student (`bilstm_student::StudentModel`) alike:
//! logits for GLUE examples. The pipeline's evaluation, the `predict` binary and library users
//! all go through it.

use crate::data::Example;
use crate::loss::softmax_rows;
use crate::Result;

/// A trained sentence (or sentence-pair) classifier.
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
