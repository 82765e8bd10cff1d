//! "It learns": seeded tiny tasks that each objective and both models must fit.

mod common;

use bilstm_student::{predict, train, Objective, TrainConfig};
use kd_core::loss::{DistillLoss, SoftLoss};
use kd_core::metrics::{accuracy, argmax_rows};

fn run(
    pair: bool,
    objective: Objective,
    data: Vec<bilstm_student::StudentExample>,
    epochs: usize,
) -> (f64, f64) {
    let (train_set, dev) = data.split_at(data.len() * 4 / 5);
    let (model, mut vs) = common::tiny_model(pair, 2, train_set, 7);
    let cfg = TrainConfig {
        epochs,
        batch_size: 16,
        objective,
        seed: 3,
        progress: false,
        threads: Some(1),
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let out = train(&model, &mut vs, train_set, dev, &cfg, dir.path()).unwrap();
    let last = out.history.last().unwrap();
    // `train` leaves the best epoch's weights in `vs`; they must score what it reported.
    let logits = predict(&model, dev, 7).unwrap();
    let labels: Vec<usize> = dev.iter().map(|e| e.label.unwrap()).collect();
    assert_eq!(
        accuracy(&argmax_rows(&logits), &labels),
        out.best_dev_accuracy
    );
    (last.train_loss, out.best_dev_accuracy)
}

#[test]
fn hard_objective_learns_keyword_task() {
    let (loss, acc) = run(false, Objective::Hard, common::keyword_task(300, 1), 12);
    assert!(loss < 0.1, "final train loss {loss} not below 0.1");
    assert!(acc >= 0.95, "dev accuracy {acc}");
}

#[test]
fn distillation_mse_learns_teacher_logits() {
    let obj = Objective::Distill(DistillLoss {
        alpha: 0.0,
        soft: SoftLoss::Mse,
    });
    let mut data = common::keyword_task(300, 2);
    // The transfer set has no gold labels: only the teacher speaks (dev keeps its labels).
    let n_train = data.len() * 4 / 5;
    data[..n_train].iter_mut().for_each(|e| e.label = None);
    let (loss, acc) = run(false, obj, data, 12);
    assert!(
        loss < 0.5,
        "final MSE (summed over 2 classes, teacher logits +-2) {loss} not below 0.5"
    );
    assert!(acc >= 0.95, "dev accuracy {acc}");
}

#[test]
fn pair_model_learns_colour_match() {
    let (loss, acc) = run(true, Objective::Hard, common::pair_task(400, 3), 15);
    assert!(loss < 0.2, "final train loss {loss} not below 0.2");
    assert!(acc >= 0.9, "dev accuracy {acc}");
}
