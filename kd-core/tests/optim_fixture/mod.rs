//! The optimiser fixtures' common ground (`fixtures/gen_fixtures.py`, `fixtures/gen_adamw.py`):
//! the same linear-classifier problem, its parameters in the torch script's order, and the
//! comparison of parameters with torch's after each step. Used by `adadelta.rs` and `adamw.rs`.

use kd_core::loss::hard_ce;
use serde_json::Value;
use tch::{Kind, Tensor};

/// |a - b| <= TOL * max(1, |b|), f64 throughout. torch.optim.AdamW's `lerp_` and libtorch's
/// `mul_` + fused `add_` round differently, so the comparison is not bitwise.
pub const TOL: f64 = 1e-10;

pub fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(xs) => xs.iter().flat_map(flat).collect(),
        x => vec![x.as_f64().expect("number")],
    }
}

pub fn shape(v: &Value) -> Vec<i64> {
    match v {
        Value::Array(xs) => std::iter::once(xs.len() as i64)
            .chain(shape(&xs[0]))
            .collect(),
        _ => vec![],
    }
}

pub fn tensor(v: &Value) -> Tensor {
    Tensor::from_slice(&flat(v)).view(shape(v).as_slice())
}

pub fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(&t.flatten(0, -1).to_kind(Kind::Double)).unwrap()
}

pub fn max_dev(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// The torch scripts' problem: inputs, labels, parameter names and initial values.
pub struct Problem {
    pub xs: Tensor,
    pub ys: Tensor,
    pub names: Vec<String>,
    pub init: Value,
}

impl Problem {
    pub fn new(fx: &Value) -> Self {
        let ys: Vec<i64> = fx["ys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|y| y.as_i64().unwrap())
            .collect();
        let names = fx["param_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        Problem {
            xs: tensor(&fx["xs"]),
            ys: Tensor::from_slice(&ys),
            names,
            init: fx["init"].clone(),
        }
    }

    /// Fresh copies of the initial parameters, requiring gradients.
    pub fn params(&self) -> Vec<Tensor> {
        self.names
            .iter()
            .map(|n| tensor(&self.init[n.as_str()]).set_requires_grad(true))
            .collect()
    }

    /// The torch script's loss: cross-entropy of a linear classifier; `params[2]` is unused.
    pub fn backward(&self, params: &[Tensor]) {
        let logits = self.xs.matmul(&params[0].tr()) + &params[1];
        hard_ce(&logits, &self.ys).unwrap().backward();
    }
}

/// Checks every parameter against the torch script's values `want`; returns the worst deviation.
pub fn check_params(params: &[Tensor], want: &Value, names: &[String], what: &str) -> f64 {
    let mut worst = 0.0f64;
    for (p, name) in params.iter().zip(names) {
        let dev = max_dev(&to_vec(p), &flat(&want[name.as_str()]));
        assert!(dev <= TOL, "{what}, {name}: deviation {dev:e}");
        worst = worst.max(dev);
    }
    worst
}

/// Checks one optimiser moment tensor (`what`, e.g. `exp_avg.0`) against the torch script's final
/// state `want`: null there means torch kept no state, so ours must still be all zeros.
pub fn check_moment(got: &Tensor, want: &Value, what: &str) {
    if want.is_null() {
        assert!(
            to_vec(got).iter().all(|&x| x == 0.0),
            "{what} should be untouched"
        );
    } else {
        let dev = max_dev(&to_vec(got), &flat(want));
        assert!(dev <= TOL, "final {what}: deviation {dev:e}");
    }
}

/// The named state tensor `name` of an optimiser's `state_tensors()`.
pub fn state<'a, K: AsRef<str>>(named: &'a [(K, Tensor)], name: &str) -> &'a Tensor {
    &named
        .iter()
        .find(|(k, _)| k.as_ref() == name)
        .unwrap_or_else(|| panic!("no state tensor {name}"))
        .1
}
