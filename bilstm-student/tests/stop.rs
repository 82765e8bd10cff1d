//! A stop asked of the process (`kd_core::stop`, what SIGTERM sets) ends training at the next
//! batch with `KdError::Stopped`, on the training thread: the finished epoch stays as it was, no
//! temporary is left, and a later run resumes from it. In its own test binary, because the stop
//! cannot be taken back within a process.

mod common;

use bilstm_student::{train, TrainConfig};
use kd_core::KdError;

#[test]
fn a_requested_stop_ends_training_at_the_next_batch_and_keeps_the_finished_epoch() {
    let (data, cfg) = common::two_epoch_run();
    let (train_set, dev) = data.split_at(90);
    let dir = tempfile::tempdir().unwrap();
    let one = TrainConfig {
        epochs: 1,
        ..cfg.clone()
    };
    let (model, mut vs) = common::tiny_model(false, 2, &data, 11);
    train(&model, &mut vs, train_set, dev, &one, dir.path()).unwrap();
    let listing = || {
        let mut names: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        names.sort();
        names
    };
    let after_one = listing();

    assert!(kd_core::stop::check().is_ok());
    kd_core::stop::request(15);
    kd_core::stop::request(2); // the first request is the one reported
    let err = train(&model, &mut vs, train_set, dev, &cfg, dir.path()).unwrap_err();
    assert!(matches!(err, KdError::Stopped("SIGTERM")), "{err:?}");
    assert_eq!(err.to_string(), "stopped by SIGTERM");
    assert_eq!(kd_core::stop::requested(), Some(15));
    // Epoch 1's files, byte for byte, and nothing else (no temporary of epoch 2).
    assert_eq!(listing(), after_one);
}
