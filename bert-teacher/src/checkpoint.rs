//! Loading Hugging Face safetensors checkpoints into a `VarStore`, and saving one back in HF's
//! layout.
//!
//! Names are matched the way transformers' `from_pretrained` does for BERT: a checkpoint of a
//! bare `BertModel` (`embeddings.*`, as all-MiniLM-L6-v2) and one of a task model (`bert.*`, as
//! bert-base-uncased) both fit a model built under either prefix, and the legacy LayerNorm names
//! `gamma` / `beta` (old TF-converted checkpoints) are read as `weight` / `bias`. A tensor the
//! model needs that the checkpoint lacks is an error unless the caller allows it (a fresh pooler
//! or classifier); a shape mismatch is always an error naming the tensor and both shapes.
//!
//! Also the exact-dtype [`save_tensors`] / [`load_tensors`] for optimiser state. Every write goes
//! to a temporary sibling that is renamed into place, and is removed if anything fails.

use crate::error::{Result, TeacherError};
use safetensors::tensor::{Dtype, SafeTensors, TensorView, View};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use tch::{nn::VarStore, Device, Kind, Tensor};

/// What [`load_safetensors`] did besides copying tensors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Model tensors absent from the checkpoint that kept their fresh initialisation.
    pub initialised: Vec<String>,
    /// Checkpoint tensors the model has no place for (e.g. `cls.predictions.*`).
    pub unused: Vec<String>,
}

/// The checkpoint key a model variable may be stored under, in order of preference.
fn candidate_keys(var_name: &str) -> Vec<String> {
    let mut names = vec![var_name.to_string()];
    match var_name.strip_prefix("bert.") {
        Some(bare) => names.push(bare.to_string()),
        None => names.push(format!("bert.{var_name}")),
    }
    let legacy: Vec<String> = names
        .iter()
        .filter(|n| n.contains("LayerNorm."))
        .filter_map(|n| {
            n.strip_suffix(".weight")
                .map(|s| format!("{s}.gamma"))
                .or_else(|| n.strip_suffix(".bias").map(|s| format!("{s}.beta")))
        })
        .collect();
    names.extend(legacy);
    names
}

fn dtype_kind(dtype: Dtype) -> Option<Kind> {
    match dtype {
        Dtype::F32 => Some(Kind::Float),
        Dtype::F16 => Some(Kind::Half),
        Dtype::BF16 => Some(Kind::BFloat16),
        Dtype::F64 => Some(Kind::Double),
        _ => None,
    }
}

fn view_to_tensor(path: &Path, name: &str, view: &TensorView<'_>) -> Result<Tensor> {
    let kind = dtype_kind(view.dtype()).ok_or_else(|| {
        TeacherError::checkpoint(
            path,
            format!(
                "tensor {name} has dtype {:?}; only float tensors are supported",
                view.dtype()
            ),
        )
    })?;
    let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
    Ok(Tensor::f_from_data_size(view.data(), &shape, kind)?)
}

/// Copies the tensors of the safetensors file `path` into every variable of `vs`.
///
/// `may_be_missing(var_name)` says which variables may keep their initialisation when the
/// checkpoint lacks them. Errors (never panics) on an unreadable file, a missing tensor or a
/// shape mismatch, naming the tensor.
pub fn load_safetensors(
    vs: &mut VarStore,
    path: &Path,
    may_be_missing: impl Fn(&str) -> bool,
) -> Result<LoadReport> {
    let bytes = std::fs::read(path).map_err(|e| TeacherError::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| TeacherError::checkpoint(path, format!("not a safetensors file: {e}")))?;
    let available: HashMap<String, TensorView<'_>> = st.tensors().into_iter().collect();
    let mut used: HashSet<String> = HashSet::new();
    let mut report = LoadReport::default();
    let mut variables: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, mut var) in variables {
        let found = candidate_keys(&name)
            .into_iter()
            .find(|k| available.contains_key(k));
        let Some(key) = found else {
            if may_be_missing(&name) {
                report.initialised.push(name);
                continue;
            }
            return Err(TeacherError::checkpoint(
                path,
                format!("tensor {name} (shape {:?}) is missing", var.size()),
            ));
        };
        let view = &available[&key];
        let want = var.size();
        let got: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        if want != got {
            return Err(TeacherError::checkpoint(
                path,
                format!(
                    "tensor {key} has shape {got:?}, the model expects {want:?}{}",
                    if key == name {
                        String::new()
                    } else {
                        format!(" (model tensor {name})")
                    }
                ),
            ));
        }
        let src = view_to_tensor(path, &key, view)?;
        tch::no_grad(|| var.f_copy_(&src))?;
        used.insert(key);
    }
    report.unused = available
        .keys()
        .filter(|k| !used.contains(*k))
        .cloned()
        .collect();
    report.unused.sort();
    Ok(report)
}

/// A tensor copied to host memory, ready for safetensors serialisation.
struct HostTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &HostTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// `t` in the model-weight dtype `kind`: float32 (what training writes), or float16 / bfloat16
/// (a half-size copy to carry or publish; loading casts it back to the model's float32).
fn to_host(t: &Tensor, kind: Kind) -> Result<HostTensor> {
    if !matches!(kind, Kind::Float | Kind::Half | Kind::BFloat16) {
        return Err(TeacherError::InvalidArgument(format!(
            "model weights are saved as float32, float16 or bfloat16, not {kind:?}"
        )));
    }
    host_tensor(&t.to_kind(kind))
}

/// `t` in its own dtype (float32, float64 or int64), so that optimiser state round-trips exactly.
fn to_host_exact(path: &Path, name: &str, t: &Tensor) -> Result<HostTensor> {
    if !matches!(t.kind(), Kind::Float | Kind::Double | Kind::Int64) {
        return Err(TeacherError::checkpoint(
            path,
            format!(
                "tensor {name} has dtype {:?}; only f32, f64 and i64 can be saved",
                t.kind()
            ),
        ));
    }
    host_tensor(t)
}

/// `t`'s values as little-endian bytes on the host, in its dtype (f32, f64, i64, f16 or bf16;
/// the 16-bit ones bit for bit). The bytes are the tensor's memory, copied once (not converted
/// value by value, which an unoptimised test build does at a few MB/s): little-endian on every
/// target libtorch ships for, as [`view_to_tensor`] assumes when it reads them back.
fn host_tensor(t: &Tensor) -> Result<HostTensor> {
    const _: () = assert!(
        cfg!(target_endian = "little"),
        "safetensors files are little-endian; this target is not"
    );
    let t = t.to_device(Device::Cpu).contiguous();
    let shape = t.size().iter().map(|&d| d as usize).collect();
    let dtype = match t.kind() {
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        Kind::Int64 => Dtype::I64,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::BF16,
        kind => {
            return Err(TeacherError::InvalidArgument(format!(
                "no safetensors layout for dtype {kind:?}"
            )))
        }
    };
    let bytes = t.flatten(0, -1).f_view_dtype(Kind::Uint8)?;
    let data = Vec::<u8>::try_from(&bytes)?;
    Ok(HostTensor { dtype, shape, data })
}

/// Writes `bytes` to `path` through a temporary sibling renamed into place; on any failure the
/// temporary file is removed (kd-core's writer leaves it behind when the final rename fails).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    kd_core::io::atomic_write_bytes(path, bytes).map_err(|e| {
        let _ = std::fs::remove_file(kd_core::io::tmp_path(path));
        TeacherError::from(e)
    })
}

fn serialize_to(
    path: &Path,
    host: &BTreeMap<String, HostTensor>,
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let bytes =
        safetensors::tensor::serialize(host.iter().map(|(k, v)| (k.as_str(), v)), &metadata)
            .map_err(|e| TeacherError::checkpoint(path, format!("serialising: {e}")))?;
    write_atomically(path, &bytes)
}

/// Writes every variable of `vs` (float32, sorted names, `{"format": "pt"}` metadata as
/// transformers expects) to `path` atomically; a failed write leaves no temporary file.
pub fn save_safetensors(vs: &VarStore, path: &Path) -> Result<()> {
    save_safetensors_as(vs, path, Kind::Float)
}

/// [`save_safetensors`] with every weight cast to `kind` (`Kind::Float`, `Kind::Half` or
/// `Kind::BFloat16`).
pub fn save_safetensors_as(vs: &VarStore, path: &Path, kind: Kind) -> Result<()> {
    let mut host: BTreeMap<String, HostTensor> = BTreeMap::new();
    for (name, t) in vs.variables() {
        host.insert(name, to_host(&t, kind)?);
    }
    let metadata = Some(HashMap::from([("format".to_string(), "pt".to_string())]));
    serialize_to(path, &host, metadata)
}

/// Rewrites the safetensors file `src` as `dst` with every float tensor cast to `kind`
/// (`Kind::Float`, `Kind::Half` or `Kind::BFloat16`; integer tensors are copied), names and
/// shapes unchanged, atomically: a half-size copy of a checkpoint to carry to another machine
/// (the models load any float dtype).
pub fn convert_safetensors(src: &Path, dst: &Path, kind: Kind) -> Result<()> {
    let bytes = std::fs::read(src).map_err(|e| TeacherError::io(src, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| TeacherError::checkpoint(src, format!("not a safetensors file: {e}")))?;
    let mut host: BTreeMap<String, HostTensor> = BTreeMap::new();
    for (name, view) in st.tensors() {
        let converted = if dtype_kind(view.dtype()).is_some() {
            to_host(&view_to_tensor(src, &name, &view)?, kind)?
        } else {
            // Integer buffers (BERT's `position_ids`) are kept as they are.
            HostTensor {
                dtype: view.dtype(),
                shape: view.shape().to_vec(),
                data: view.data().to_vec(),
            }
        };
        host.insert(name, converted);
    }
    let metadata = Some(HashMap::from([("format".to_string(), "pt".to_string())]));
    serialize_to(dst, &host, metadata)
}

/// Writes named tensors (e.g. [`kd_core::optim::AdamW::state_tensors`]) to `path` atomically,
/// each in its own dtype (f32, f64 or i64: nothing is rounded); names must be unique.
pub fn save_tensors(path: &Path, named: &[(String, Tensor)]) -> Result<()> {
    let mut host: BTreeMap<String, HostTensor> = BTreeMap::new();
    for (name, t) in named {
        let h = to_host_exact(path, name, t)?;
        if host.insert(name.clone(), h).is_some() {
            return Err(TeacherError::InvalidArgument(format!(
                "{}: tensor name {name} given twice",
                path.display()
            )));
        }
    }
    serialize_to(path, &host, None)
}

/// Reads every tensor of a safetensors file written by [`save_tensors`], in its stored dtype
/// (f32, f64, f16, bf16 or i64), sorted by name, on the CPU.
pub fn load_tensors(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let bytes = std::fs::read(path).map_err(|e| TeacherError::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| TeacherError::checkpoint(path, format!("not a safetensors file: {e}")))?;
    let mut named = Vec::new();
    for (name, view) in st.tensors() {
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let t = if view.dtype() == Dtype::I64 {
            Tensor::f_from_data_size(view.data(), &shape, Kind::Int64)?
        } else {
            view_to_tensor(path, &name, &view)?
        };
        named.push((name, t));
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(named)
}

/// Writes one float32 tensor `name` of `shape` (row-major `values`) as a safetensors file,
/// atomically.
pub fn write_f32(path: &Path, name: &str, shape: &[usize], values: &[f32]) -> Result<()> {
    if shape.iter().product::<usize>() != values.len() {
        return Err(TeacherError::InvalidArgument(format!(
            "{name}: shape {shape:?} does not hold {} values",
            values.len()
        )));
    }
    let host = HostTensor {
        dtype: Dtype::F32,
        shape: shape.to_vec(),
        data: bytemuck::cast_slice::<f32, u8>(values).to_vec(),
    };
    let bytes = safetensors::tensor::serialize([(name, &host)], &None)
        .map_err(|e| TeacherError::checkpoint(path, format!("serialising: {e}")))?;
    write_atomically(path, &bytes)
}

/// Reads the float32 tensor `name` from a safetensors file: `(shape, row-major values)`.
pub fn read_f32(path: &Path, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).map_err(|e| TeacherError::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| TeacherError::checkpoint(path, format!("not a safetensors file: {e}")))?;
    let view = st
        .tensor(name)
        .map_err(|e| TeacherError::checkpoint(path, format!("tensor {name}: {e}")))?;
    if view.dtype() != Dtype::F32 {
        return Err(TeacherError::checkpoint(
            path,
            format!("tensor {name} has dtype {:?}, expected F32", view.dtype()),
        ));
    }
    let mut values = vec![0f32; view.data().len() / 4];
    bytemuck::cast_slice_mut::<f32, u8>(&mut values).copy_from_slice(view.data());
    Ok((view.shape().to_vec(), values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_keys_cover_prefix_and_legacy_names() {
        let keys = candidate_keys("bert.embeddings.LayerNorm.weight");
        assert_eq!(
            keys,
            [
                "bert.embeddings.LayerNorm.weight",
                "embeddings.LayerNorm.weight",
                "bert.embeddings.LayerNorm.gamma",
                "embeddings.LayerNorm.gamma"
            ]
        );
        assert_eq!(
            candidate_keys("classifier.bias"),
            ["classifier.bias", "bert.classifier.bias"]
        );
    }
}
