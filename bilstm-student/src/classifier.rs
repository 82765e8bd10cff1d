//! A trained [`StudentModel`] is a [`kd_core::Classifier`]: logits for GLUE examples, with no
//! wrapper (the evaluation, the `predict` binary and library users call it directly).

use crate::model::StudentModel;
use crate::train::predict_encoded;
use kd_core::data::Example;
use kd_core::{Classifier, Result};
use tch::Kind;

impl Classifier for StudentModel {
    fn num_classes(&self) -> usize {
        self.config().num_classes
    }

    /// The Siamese model (`pair: true`) needs `text_b` on every example; the single-sentence
    /// model rejects it.
    fn is_pair(&self) -> bool {
        self.config().pair
    }

    fn predict_logits(&self, examples: &[Example], batch_size: usize) -> Result<Vec<f32>> {
        let encoded = examples
            .iter()
            .map(|e| self.encode(&e.text_a, e.text_b.as_deref()))
            .collect::<Result<Vec<_>>>()?;
        let logits = predict_encoded(self, &encoded, batch_size)?;
        Ok(Vec::<f32>::try_from(
            logits.flatten(0, -1).to_kind(Kind::Float),
        )?)
    }
}
