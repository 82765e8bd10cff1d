//! Losses of `kd_core::loss` against PyTorch golden values (`fixtures/gen_fixtures.py`), plus
//! property checks that catch a wrong convention (sign, reduction, temperature scaling).

use kd_core::loss::{
    hard_ce, kl_div, mse_logits, mse_logits_elementwise, soft_ce, softmax_t, DistillLoss, SoftLoss,
};
mod common;

use common::fixture;
use serde_json::Value;
use tch::{Kind, Tensor};

/// Relative-or-absolute tolerance: |a - b| <= tol * max(1, |b|).
const TOL_F64: f64 = 1e-10;
const TOL_F32: f64 = 1e-5;
const TEMPS: [f64; 5] = [0.5, 1.0, 2.0, 5.0, 10.0];

fn matrix(v: &Value, kind: Kind) -> Tensor {
    let rows = v.as_array().expect("matrix rows");
    let cols = rows[0].as_array().expect("matrix row").len();
    let flat: Vec<f64> = rows
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
        .collect();
    Tensor::from_slice(&flat)
        .view([rows.len() as i64, cols as i64])
        .to_kind(kind)
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(&t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(xs) => xs.iter().flat_map(flat).collect(),
        x => vec![x.as_f64().expect("number")],
    }
}

/// Largest `|a - b| / max(1, |b|)`.
fn max_dev(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "length mismatch");
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0.0, f64::max)
}

fn scalar(t: &Tensor) -> f64 {
    t.to_kind(Kind::Double).double_value(&[])
}

fn soft_from_json(v: &Value) -> SoftLoss {
    serde_json::from_value(v.clone()).expect("soft loss spec")
}

struct Input {
    kind: Kind,
    student: Tensor,
    teacher: Tensor,
    labels: Tensor,
    weights: Tensor,
}

fn inputs(fx: &Value) -> Vec<Input> {
    fx["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let kind = match i["dtype"].as_str().unwrap() {
                "float64" => Kind::Double,
                "float32" => Kind::Float,
                other => panic!("unexpected dtype {other}"),
            };
            let labels: Vec<i64> = i["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect();
            Input {
                kind,
                student: matrix(&i["student"], kind),
                teacher: matrix(&i["teacher"], kind),
                labels: Tensor::from_slice(&labels),
                weights: matrix(&i["weights"], kind),
            }
        })
        .collect()
}

/// Every fixture case: forward value and d loss / d student logits.
#[test]
fn losses_match_pytorch() {
    let fx = fixture("losses.json");
    let inputs = inputs(&fx);
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 300, "fixture has only {} cases", cases.len());
    let (mut worst_f64, mut worst_f32) = (0.0f64, 0.0f64);
    let mut seen = std::collections::BTreeSet::new();
    for case in cases {
        let inp = &inputs[case["input"].as_u64().unwrap() as usize];
        let name = case["loss"].as_str().unwrap();
        seen.insert(name.to_string());
        let t = case["t"].as_f64();
        let student = inp.student.copy().set_requires_grad(true);
        let teacher = &inp.teacher;
        let value = match name {
            "softmax_t" => {
                let probs = softmax_t(&student, t.unwrap()).unwrap();
                let dev = max_dev(&to_vec(&probs), &flat(&case["probs"]));
                let tol = if inp.kind == Kind::Double {
                    TOL_F64
                } else {
                    TOL_F32
                };
                assert!(dev <= tol, "softmax_t probs T={t:?}: deviation {dev:e}");
                (probs * &inp.weights).sum(None)
            }
            "hard_ce" => hard_ce(&student, &inp.labels).unwrap(),
            "mse_logits" => mse_logits(&student, teacher).unwrap(),
            "mse_logits_elementwise" => mse_logits_elementwise(&student, teacher).unwrap(),
            "soft_ce" => soft_ce(&student, teacher, t.unwrap()).unwrap(),
            "kl_div" => kl_div(&student, teacher, t.unwrap()).unwrap(),
            "distill" => {
                let loss = DistillLoss {
                    alpha: case["alpha"].as_f64().unwrap(),
                    soft: soft_from_json(&case["soft"]),
                };
                let labels = case["with_labels"]
                    .as_bool()
                    .unwrap()
                    .then_some(&inp.labels);
                loss.forward(&student, teacher, labels).unwrap()
            }
            other => panic!("unknown loss {other} in fixture"),
        };
        assert_eq!(
            value.size(),
            Vec::<i64>::new(),
            "{name}: loss must be a scalar"
        );
        assert_eq!(
            value.kind(),
            inp.kind,
            "{name}: loss kind follows the student"
        );
        value.backward();
        let dev = max_dev(&[scalar(&value)], &[case["value"].as_f64().unwrap()])
            .max(max_dev(&to_vec(&student.grad()), &flat(&case["grad"])));
        let tol = if inp.kind == Kind::Double {
            TOL_F64
        } else {
            TOL_F32
        };
        assert!(
            dev <= tol,
            "{name} T={t:?} alpha={:?} soft={:?}: deviation {dev:e} > {tol:e}",
            case["alpha"],
            case["soft"]
        );
        if inp.kind == Kind::Double {
            worst_f64 = worst_f64.max(dev);
        } else {
            worst_f32 = worst_f32.max(dev);
        }
    }
    for name in [
        "softmax_t",
        "hard_ce",
        "mse_logits",
        "mse_logits_elementwise",
        "soft_ce",
        "kl_div",
        "distill",
    ] {
        assert!(seen.contains(name), "fixture lacks {name}");
    }
    eprintln!("largest relative deviation from PyTorch: f64 {worst_f64:e}, f32 {worst_f32:e}");
}

fn seeded(seed: i64, batch: i64, classes: i64, scale: f64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn([batch, classes], (Kind::Double, tch::Device::Cpu)) * scale
}

#[test]
fn zero_loss_when_student_equals_teacher() {
    let z = seeded(7, 6, 3, 3.0);
    assert_eq!(scalar(&mse_logits(&z, &z).unwrap()), 0.0);
    assert_eq!(scalar(&mse_logits_elementwise(&z, &z).unwrap()), 0.0);
    for t in TEMPS {
        assert!(
            scalar(&kl_div(&z, &z, t).unwrap()).abs() < 1e-12,
            "KL(p||p) != 0 at T={t}"
        );
        // soft CE at a match is T² times the teacher entropy, not 0: it is a different convention.
        let p = softmax_t(&z, t).unwrap();
        let entropy = scalar(&(-(&p * p.log()).sum_dim_intlist(1, false, None).mean(None)));
        let ce = scalar(&soft_ce(&z, &z, t).unwrap());
        assert!(
            (ce - t * t * entropy).abs() < 1e-9,
            "soft CE at a match {ce} vs T² H {}",
            t * t * entropy
        );
    }
}

#[test]
fn kl_is_nonnegative_and_soft_ce_shares_its_gradient() {
    for seed in 0..20 {
        let s = seeded(seed, 5, 3, 4.0).set_requires_grad(true);
        let t = seeded(seed + 100, 5, 3, 4.0);
        for temp in TEMPS {
            let kl = kl_div(&s, &t, temp).unwrap();
            assert!(
                scalar(&kl) >= -1e-12,
                "KL < 0: {} (seed {seed}, T {temp})",
                scalar(&kl)
            );
            let g_kl = Tensor::run_backward(&[&kl], &[&s], false, false).remove(0);
            let ce = soft_ce(&s, &t, temp).unwrap();
            let g_ce = Tensor::run_backward(&[&ce], &[&s], false, false).remove(0);
            assert!(max_dev(&to_vec(&g_kl), &to_vec(&g_ce)) < 1e-12);
        }
    }
}

fn mean_entropy(p: &Tensor) -> f64 {
    scalar(&(-(p * p.log()).sum_dim_intlist(1, false, None).mean(None)))
}

#[test]
fn temperature_flattens_above_one_and_sharpens_below() {
    let z = seeded(3, 8, 3, 2.0);
    let h: Vec<f64> = TEMPS
        .iter()
        .map(|&t| mean_entropy(&softmax_t(&z, t).unwrap()))
        .collect();
    for w in h.windows(2) {
        assert!(w[0] < w[1], "entropy must rise with T: {h:?}");
    }
    let max_entropy = 3f64.ln();
    assert!(
        h[4] < max_entropy && h[4] > 0.98 * max_entropy,
        "T=10 should be near uniform: {h:?}"
    );
    assert!(
        h[0] < h[1] * 0.8,
        "T=0.5 should be clearly sharper than T=1: {h:?}"
    );
    let rows = softmax_t(&z, 2.0).unwrap().sum_dim_intlist(1, false, None);
    assert!(
        max_dev(&to_vec(&rows), &[1.0; 8]) < 1e-12,
        "rows must sum to 1"
    );
}

fn grad_norm(f: impl Fn(&Tensor) -> Tensor, s: &Tensor) -> f64 {
    let s = s.copy().set_requires_grad(true);
    let loss = f(&s);
    let g = Tensor::run_backward(&[&loss], &[&s], false, false).remove(0);
    scalar(&g.norm())
}

/// Without the T² factor the soft-loss gradient shrinks like 1/T²; with it, T = 1 and T = 10
/// give gradients of the same order.
#[test]
fn t_squared_keeps_gradient_scale() {
    let s = seeded(11, 8, 3, 1.0);
    let t = seeded(12, 8, 3, 1.0);
    for (name, loss) in [
        (
            "soft_ce",
            soft_ce as fn(&Tensor, &Tensor, f64) -> kd_core::Result<Tensor>,
        ),
        ("kl_div", kl_div),
    ] {
        let g1 = grad_norm(|x| loss(x, &t, 1.0).unwrap(), &s);
        let g10 = grad_norm(|x| loss(x, &t, 10.0).unwrap(), &s);
        let ratio = g10 / g1;
        assert!(
            (0.2..5.0).contains(&ratio),
            "{name}: |grad| at T=10 / T=1 = {ratio}, expected O(1)"
        );
        // The same ratio without T² (divide the T=10 loss by 100) would be far outside that band.
        assert!(
            ratio / 100.0 < 0.2,
            "{name}: test inputs do not discriminate the T² factor"
        );
    }
}

#[test]
fn distill_without_labels_uses_teacher_argmax() {
    let s = seeded(21, 7, 3, 2.0);
    let t = seeded(22, 7, 3, 2.0);
    let argmax = t.argmax(1, false);
    for alpha in [0.3, 1.0] {
        for soft in [SoftLoss::Mse, SoftLoss::Kl { t: 2.0 }] {
            let loss = DistillLoss { alpha, soft };
            let none = scalar(&loss.forward(&s, &t, None).unwrap());
            let with_argmax = scalar(&loss.forward(&s, &t, Some(&argmax)).unwrap());
            let manual = alpha * scalar(&hard_ce(&s, &argmax).unwrap())
                + (1.0 - alpha) * scalar(&soft.forward(&s, &t).unwrap());
            assert!(
                (none - with_argmax).abs() < 1e-12 && (none - manual).abs() < 1e-12,
                "{none} {with_argmax} {manual}"
            );
            // And the gold labels really are used when given.
            let other = (&argmax + 1).remainder(3);
            let gold = scalar(&loss.forward(&s, &t, Some(&other)).unwrap());
            assert!(
                (gold - none).abs() > 1e-3,
                "labels ignored: {gold} vs {none}"
            );
        }
    }
    let paper = DistillLoss::default();
    assert_eq!(
        paper,
        DistillLoss {
            alpha: 0.0,
            soft: SoftLoss::Mse
        }
    );
    assert_eq!(
        scalar(&paper.forward(&s, &t, None).unwrap()),
        scalar(&mse_logits(&s, &t).unwrap())
    );
}

fn err_text<T: std::fmt::Debug>(r: kd_core::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn shape_errors_name_the_dims() {
    let s = seeded(1, 4, 3, 1.0);
    let t2 = seeded(2, 4, 2, 1.0);
    let msg = err_text(mse_logits(&s, &t2));
    assert!(
        msg.contains("classes=3") && msg.contains("classes=2"),
        "{msg}"
    );
    let msg = err_text(kl_div(&s, &seeded(2, 5, 3, 1.0), 1.0));
    assert!(msg.contains("batch=4") && msg.contains("batch=5"), "{msg}");
    let cube = Tensor::zeros([2, 3, 4], (Kind::Float, tch::Device::Cpu));
    let msg = err_text(softmax_t(&cube, 1.0));
    assert!(
        msg.contains("[2, 3, 4]") && msg.contains("[batch, classes]"),
        "{msg}"
    );
    let msg = err_text(hard_ce(&s, &Tensor::from_slice(&[0i64, 1, 2])));
    assert!(msg.contains("batch=4") && msg.contains("[3]"), "{msg}");
    let msg = err_text(hard_ce(&s, &Tensor::from_slice(&[0i64, 1, 2, 3])));
    assert!(msg.contains("0..3") && msg.contains("max 3"), "{msg}");
    let msg = err_text(hard_ce(&s, &Tensor::from_slice(&[0i32, 1, 2, 0])));
    assert!(msg.contains("i64"), "{msg}");
    let empty = Tensor::zeros([0, 3], (Kind::Double, tch::Device::Cpu));
    assert!(err_text(mse_logits(&empty, &empty)).contains("batch=0"));
    let msg = err_text(DistillLoss::default().forward(&s, &s, Some(&Tensor::from_slice(&[0i64]))));
    assert!(msg.contains("batch=4"), "{msg}");
    let ints = Tensor::zeros([4, 3], (Kind::Int64, tch::Device::Cpu));
    assert!(err_text(mse_logits(&ints, &ints)).contains("floating"));
}

#[test]
fn bad_hyperparameters_are_errors() {
    let s = seeded(1, 4, 3, 1.0);
    for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(err_text(softmax_t(&s, t)).contains("temperature"));
        assert!(err_text(soft_ce(&s, &s, t)).contains("temperature"));
        assert!(err_text(kl_div(&s, &s, t)).contains("temperature"));
    }
    for alpha in [-0.1, 1.5, f64::NAN] {
        let msg = err_text(
            DistillLoss {
                alpha,
                soft: SoftLoss::Mse,
            }
            .forward(&s, &s, None),
        );
        assert!(msg.contains("alpha"), "{msg}");
    }
    assert!(err_text(
        DistillLoss {
            alpha: 0.5,
            soft: SoftLoss::SoftCe { t: 0.0 }
        }
        .validate()
    )
    .contains("temperature"));
}

#[test]
fn mixed_precision_teacher_is_cast_to_student_kind() {
    let s = seeded(5, 4, 3, 1.0);
    let t = seeded(6, 4, 3, 1.0);
    let loss = kl_div(&s.to_kind(Kind::Float), &t, 2.0).unwrap();
    assert_eq!(loss.kind(), Kind::Float);
    let reference = scalar(&kl_div(&s, &t, 2.0).unwrap());
    assert!((scalar(&loss) - reference).abs() < 1e-5 * reference.abs().max(1.0));
}

#[test]
fn config_serde_is_tagged_and_strict() {
    let loss: DistillLoss =
        serde_json::from_str(r#"{"alpha":0.5,"soft":{"kind":"soft_ce","t":2.0}}"#).unwrap();
    assert_eq!(
        loss,
        DistillLoss {
            alpha: 0.5,
            soft: SoftLoss::SoftCe { t: 2.0 }
        }
    );
    let loss: DistillLoss = serde_json::from_str(r#"{"soft":{"kind":"mse_elementwise"}}"#).unwrap();
    assert_eq!(
        loss,
        DistillLoss {
            alpha: 0.0,
            soft: SoftLoss::MseElementwise
        }
    );
    assert_eq!(
        serde_json::from_str::<DistillLoss>("{}").unwrap(),
        DistillLoss::default()
    );
    assert!(serde_json::from_str::<DistillLoss>(r#"{"alpha":0.5,"beta":1}"#).is_err());
    assert!(serde_json::from_str::<SoftLoss>(r#"{"kind":"kl","t":1.0,"x":2}"#).is_err());
    assert!(
        serde_json::from_str::<SoftLoss>(r#"{"kind":"kl"}"#).is_err(),
        "kl needs t"
    );
    assert!(serde_json::from_str::<SoftLoss>(r#"{"kind":"hinton"}"#).is_err());
    let round: SoftLoss =
        serde_json::from_str(&serde_json::to_string(&SoftLoss::Kl { t: 5.0 }).unwrap()).unwrap();
    assert_eq!(round, SoftLoss::Kl { t: 5.0 });
    assert_eq!(
        serde_json::to_string(&SoftLoss::Mse).unwrap(),
        r#"{"kind":"mse"}"#
    );
}
