//! Exact-dtype tensor files for optimiser state (`checkpoint::save_tensors` / `load_tensors`),
//! and that a failed safetensors write leaves no temporary file behind.

mod common;

use bert_teacher::checkpoint::{load_tensors, save_safetensors, save_tensors};
use common::entries;
use tch::{nn::VarStore, Device, Kind, Tensor};

#[test]
fn tensors_round_trip_bit_for_bit_in_their_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.safetensors");
    // Values a float32 round trip would change (f64) or lose (i64 above 2^53).
    let named = vec![
        (
            "step".to_string(),
            Tensor::from_slice(&[3i64, (1 << 60) + 1]),
        ),
        (
            "exp_avg.0".to_string(),
            Tensor::from_slice(&[0.1f32, -1e-30, 3.0, f32::MIN_POSITIVE]).view([2, 2]),
        ),
        (
            "exp_avg.1".to_string(),
            Tensor::from_slice(&[0.1f64, 1e-300]),
        ),
    ];
    save_tensors(&path, &named).unwrap();
    let loaded = load_tensors(&path).unwrap();
    let names: Vec<&str> = loaded.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["exp_avg.0", "exp_avg.1", "step"]);
    for (name, t) in &named {
        let (_, got) = loaded.iter().find(|(k, _)| k == name).unwrap();
        assert_eq!(got.kind(), t.kind(), "{name}");
        assert_eq!(got.size(), t.size(), "{name}");
        assert!(got.equal(t), "{name}: values changed");
    }
}

#[test]
fn bad_tensors_are_refused_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.safetensors");
    let twice = vec![
        ("a".to_string(), Tensor::from_slice(&[1f32])),
        ("a".to_string(), Tensor::from_slice(&[2f32])),
    ];
    let msg = save_tensors(&path, &twice).unwrap_err().to_string();
    assert!(msg.contains("a given twice"), "{msg}");
    let int32 = vec![("mask".to_string(), Tensor::from_slice(&[1i32]))];
    let msg = save_tensors(&path, &int32).unwrap_err().to_string();
    assert!(msg.contains("mask") && msg.contains("Int"), "{msg}");
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));

    std::fs::write(&path, b"not safetensors").unwrap();
    let msg = load_tensors(&path).unwrap_err().to_string();
    assert!(
        msg.contains("x.safetensors") && msg.contains("not a safetensors"),
        "{msg}"
    );
}

/// The final rename fails (the target is a non-empty directory): an error naming the file, and
/// the temporary sibling is gone.
#[test]
fn failed_write_removes_its_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.safetensors");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("occupied"), b"x").unwrap();

    let vs = VarStore::new(Device::Cpu);
    let _w = vs.root().var("w", &[2, 2], tch::nn::Init::Const(1.0));
    let err = save_safetensors(&vs, &target).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    assert_eq!(entries(dir.path()), ["model.safetensors"]);

    let state = vec![(
        "step".to_string(),
        Tensor::zeros([1], (Kind::Int64, Device::Cpu)),
    )];
    assert!(save_tensors(&target, &state).is_err());
    assert_eq!(entries(dir.path()), ["model.safetensors"]);
}
