//! Epoch-level resume: 2 epochs straight == 1 epoch, a fresh process state, then 1 more.

mod common;

use bilstm_student::{train, StudentModel, TrainConfig};
use tch::{nn, Device, Tensor};

fn setup() -> (StudentModel, nn::VarStore) {
    // The task draws from `rand`, not libtorch: seeding after it changes nothing.
    common::tiny_model(false, 2, &common::two_epoch_run().0, 11)
}

fn tensors(path: &std::path::Path) -> Vec<(String, Tensor)> {
    let mut t = Tensor::read_safetensors(path).unwrap();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

#[test]
fn interrupted_run_ends_like_an_uninterrupted_one() {
    let (data, cfg) = common::two_epoch_run();
    let (train_set, dev) = data.split_at(90);

    let straight = tempfile::tempdir().unwrap();
    let (model, mut vs) = setup();
    let full = train(&model, &mut vs, train_set, dev, &cfg, straight.path()).unwrap();

    let resumed = tempfile::tempdir().unwrap();
    let (model, mut vs) = setup();
    let one = TrainConfig {
        epochs: 1,
        ..cfg.clone()
    };
    train(&model, &mut vs, train_set, dev, &one, resumed.path()).unwrap();
    // "Restart": a new model and store with different initial weights, and a disturbed torch RNG.
    tch::manual_seed(999);
    let (model, mut vs) = setup();
    let _ = Tensor::randn([5], (tch::Kind::Float, Device::Cpu));
    let rest = train(&model, &mut vs, train_set, dev, &cfg, resumed.path()).unwrap();

    assert_eq!(rest.history.len(), 2);
    for (a, b) in full.history.iter().zip(&rest.history) {
        assert_eq!(
            (a.epoch, a.train_loss, a.dev_accuracy),
            (b.epoch, b.train_loss, b.dev_accuracy)
        );
    }
    assert_eq!(
        (full.best_epoch, full.best_dev_accuracy),
        (rest.best_epoch, rest.best_dev_accuracy)
    );
    for file in ["last.safetensors", "best.safetensors"] {
        let (a, b) = (
            tensors(&straight.path().join(file)),
            tensors(&resumed.path().join(file)),
        );
        assert_eq!(a.len(), b.len());
        for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
            assert_eq!(na, nb);
            if na == "train_state" {
                continue; // JSON with wall-clock seconds; its figures are compared above.
            }
            assert!(ta.equal(tb), "{file}: {na} differs after resume");
        }
    }
    // Which call ran what: the caller's wall time of a resumed run adds the earlier epochs'.
    assert_eq!((full.resumed_epochs, rest.resumed_epochs), (0, 1));
    // A finished run called again does no more work and reports the same result.
    let again = train(&model, &mut vs, train_set, dev, &cfg, resumed.path()).unwrap();
    assert_eq!(again.resumed_epochs, 2);
    assert_eq!(
        (again.best_epoch, again.best_dev_accuracy, &again.history),
        (rest.best_epoch, rest.best_dev_accuracy, &rest.history)
    );
    // Loading the directory restores the best model.
    let (loaded, _lvs) = StudentModel::load(resumed.path()).unwrap();
    let a = bilstm_student::predict(&loaded, dev, 32).unwrap();
    let b = bilstm_student::predict(&model, dev, 32).unwrap();
    assert!(a.allclose(&b, 1e-6, 1e-6, false));
    // A different configuration in the same directory is refused.
    let other = TrainConfig { seed: 10, ..cfg };
    assert!(train(&model, &mut vs, train_set, dev, &other, resumed.path()).is_err());
}
