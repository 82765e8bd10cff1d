//! A `StudentModel` is a `kd_core::Classifier`: the same logits as `predict`, and the
//! single/pair contract enforced.

mod common;

use bilstm_student::{predict, StudentExample, StudentModel};
use kd_core::data::Example;
use kd_core::Classifier;
use tch::nn;

fn model(pair: bool, data: &[StudentExample]) -> (StudentModel, nn::VarStore) {
    common::tiny_model(pair, 3, data, 5)
}

fn examples(data: &[StudentExample]) -> Vec<Example> {
    data.iter()
        .map(|e| Example {
            text_a: e.text_a.clone(),
            text_b: e.text_b.clone(),
            label: e.label,
            index: None,
        })
        .collect()
}

#[test]
fn classifier_logits_are_predicts() {
    for (pair, data) in [
        (false, common::keyword_task(23, 1)),
        (true, common::pair_task(23, 2)),
    ] {
        let (student, _vs) = model(pair, &data);
        let clf: &dyn Classifier = &student;
        assert_eq!((clf.num_classes(), clf.is_pair()), (3, pair));
        let logits = clf.predict_logits(&examples(&data), 4).unwrap();
        let expected =
            Vec::<f32>::try_from(predict(&student, &data, 4).unwrap().flatten(0, -1)).unwrap();
        assert_eq!(logits.len(), data.len() * 3);
        assert_eq!(logits, expected);
        let proba = clf.predict_proba(&examples(&data), 4, 2.0).unwrap();
        for row in proba.chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
        }
        assert!(clf.predict_logits(&[], 4).unwrap().is_empty());
    }
}

#[test]
fn single_sentence_model_rejects_pairs() {
    let data = common::keyword_task(5, 1);
    let (student, _vs) = model(false, &data);
    let mut exs = examples(&data);
    exs[2].text_b = Some("a second sentence".into());
    let msg = Classifier::predict_logits(&student, &exs, 4)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("single-sentence model got 2"), "{msg}");
}
