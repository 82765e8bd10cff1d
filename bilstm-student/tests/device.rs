//! Students on a device: built, trained and loaded on whatever device their `VarStore` is on,
//! with the same padding semantics (the forward state at the true length, the backward direction
//! within each sentence's length). The CPU test runs everywhere; the CUDA tests need a device and
//! are ignored otherwise — `scripts/gpu-check.sh` runs them on a GPU machine:
//! `cargo test --release -p bilstm-student --test device -- --include-ignored`.

mod common;

use bilstm_student::{predict, train, Objective, StudentExample, StudentModel, TrainConfig};
use std::path::Path;
use tch::Device;

/// A fresh seeded model of the tiny config, saved to `dir`.
fn saved_model(pair: bool, data: &[StudentExample], dir: &Path) {
    let (model, vs) = common::tiny_model(pair, 3, data, 11);
    model.save(&vs, dir).unwrap();
}

fn logits(model: &StudentModel, data: &[StudentExample]) -> Vec<f32> {
    Vec::<f32>::try_from(predict(model, data, 5).unwrap().flatten(0, -1)).unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn tasks() -> [(bool, Vec<StudentExample>); 2] {
    [
        (false, common::keyword_task(37, 1)),
        (true, common::pair_task(37, 2)),
    ]
}

#[test]
fn load_on_the_cpu_is_load() {
    for (pair, data) in tasks() {
        let dir = tempfile::tempdir().unwrap();
        saved_model(pair, &data, dir.path());
        let (a, _va) = StudentModel::load(dir.path()).unwrap();
        let (b, _vb) = StudentModel::load_on(dir.path(), Device::Cpu).unwrap();
        assert_eq!((a.device(), b.device()), (Device::Cpu, Device::Cpu));
        assert_eq!(logits(&a, &data), logits(&b, &data));
    }
}

fn cuda() -> Device {
    assert!(
        tch::Cuda::is_available(),
        "no CUDA device: libtorch sees none (a CUDA build and LD_LIBRARY_PATH at a CUDA libtorch?)"
    );
    Device::Cuda(0)
}

/// The same weights give the same logits on CUDA (cuDNN's LSTM) as on the CPU, within 1e-4,
/// for single sentences and pairs of every length in the tiny tasks. Ignored without a CUDA
/// device; run it with `cargo test --release -p bilstm-student --test device -- --include-ignored`.
#[test]
#[ignore = "needs a CUDA device (scripts/gpu-check.sh runs it)"]
fn cuda_logits_match_the_cpu() {
    let device = cuda();
    for (pair, data) in tasks() {
        let dir = tempfile::tempdir().unwrap();
        saved_model(pair, &data, dir.path());
        let (cpu, _vc) = StudentModel::load(dir.path()).unwrap();
        let (gpu, _vg) = StudentModel::load_on(dir.path(), device).unwrap();
        assert_eq!(gpu.device(), device);
        let diff = max_diff(&logits(&cpu, &data), &logits(&gpu, &data));
        assert!(
            diff <= 1e-4,
            "pair {pair}: CPU and CUDA logits differ by {diff}"
        );
    }
}

/// Training runs on CUDA (hard and distillation targets), its checkpoint loads on the CPU, and
/// the CPU model predicts what the CUDA one does. Ignored without a CUDA device; run it with
/// `cargo test --release -p bilstm-student --test device -- --include-ignored`.
#[test]
#[ignore = "needs a CUDA device (scripts/gpu-check.sh runs it)"]
fn cuda_training_checkpoints_load_on_the_cpu() {
    let device = cuda();
    let data = common::keyword_task(64, 3);
    let dir = tempfile::tempdir().unwrap();
    saved_model(false, &data, dir.path());
    let (model, mut vs) = StudentModel::load_on(dir.path(), device).unwrap();
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 16,
        objective: Objective::Hard,
        seed: 3,
        progress: false,
        ..Default::default()
    };
    let out_dir = tempfile::tempdir().unwrap();
    let out = train(&model, &mut vs, &data, &data, &cfg, out_dir.path()).unwrap();
    assert!(out.best_dev_accuracy > 0.0);
    let (cpu, _vc) = StudentModel::load(out_dir.path()).unwrap();
    let diff = max_diff(&logits(&cpu, &data), &logits(&model, &data));
    assert!(
        diff <= 1e-4,
        "CUDA-trained weights on the CPU differ by {diff}"
    );
}
