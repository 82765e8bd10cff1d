//! `kd_core::optim::AdamW` against `torch.optim.AdamW` step by step (`fixtures/gen_adamw.py`),
//! against `tch::nn::AdamW` (libtorch's C++ optimiser) bit for bit, and its state round trip.

use kd_core::optim::{clip_grad_norm, AdamW, AdamWConfig};
mod common;
mod optim_fixture;

use common::fixture;
use optim_fixture::{check_moment, check_params, flat, max_dev, state, to_vec, Problem, TOL};
use serde_json::Value;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};

struct Run<'a> {
    name: &'a str,
    cfg: AdamWConfig,
    decay: Vec<bool>,
    lrs: Vec<f64>,
    clip: Option<f64>,
    history: &'a [Value],
}

fn run_of(run: &Value) -> Run<'_> {
    let c = &run["config"];
    let betas = flat(&c["betas"]);
    let lrs = flat(&c["lrs"]);
    Run {
        name: c["name"].as_str().unwrap(),
        cfg: AdamWConfig {
            lr: lrs[0],
            beta1: betas[0],
            beta2: betas[1],
            eps: c["eps"].as_f64().unwrap(),
            weight_decay: c["weight_decay"].as_f64().unwrap(),
        },
        decay: vec![true, c["bias_decay"].as_bool().unwrap(), true],
        lrs,
        clip: c["clip"].as_f64(),
        history: run["params_after_step"].as_array().unwrap(),
    }
}

impl Run<'_> {
    fn optimiser(&self, params: &[Tensor]) -> AdamW {
        AdamW::with_decay_mask(
            params.iter().map(Tensor::shallow_clone).collect(),
            self.decay.clone(),
            self.cfg,
        )
        .unwrap()
    }

    /// One training step as the torch script takes it; returns the gradient norm when clipping.
    fn step(&self, opt: &mut AdamW, problem: &Problem, params: &[Tensor], step: usize) -> f64 {
        opt.set_lr(self.lrs[step]);
        opt.zero_grad();
        problem.backward(params);
        let norm = match self.clip {
            Some(max) => clip_grad_norm(&params[..2], max).unwrap(),
            None => f64::NAN,
        };
        opt.step().unwrap();
        norm
    }
}

#[test]
fn adamw_matches_torch_step_by_step() {
    let fx = fixture("adamw.json");
    let problem = Problem::new(&fx);
    let runs = fx["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    let mut worst = 0.0f64;
    for json in runs {
        let run = run_of(json);
        let name = run.name;
        let params = problem.params();
        let mut opt = run.optimiser(&params);
        assert!(run.history.len() >= 6);
        for step in 0..run.history.len() {
            let norm = run.step(&mut opt, &problem, &params, step);
            if let Some(norms) = json.get("grad_norms") {
                let want = norms[step].as_f64().unwrap();
                assert!(
                    (norm - want).abs() <= TOL * want,
                    "{name}: norm {norm} vs {want}"
                );
            }
            worst = worst.max(check_params(
                &params,
                &run.history[step],
                &problem.names,
                &format!("{name} step {}", step + 1),
            ));
        }
        // The parameter without a gradient is skipped: not moved, not decayed, no state.
        assert_eq!(
            to_vec(&params[2]),
            flat(&fx["init"]["unused"]),
            "{name}: unused parameter moved"
        );
        let named = opt.state_tensors();
        let steps = Vec::<i64>::try_from(state(&named, "step")).unwrap();
        for (i, st) in json["final_state"].as_array().unwrap().iter().enumerate() {
            assert_eq!(
                steps[i],
                st["step"].as_i64().unwrap(),
                "{name}: step of {i}"
            );
            assert_eq!(opt.steps(i), Some(steps[i]));
            for key in ["exp_avg", "exp_avg_sq"] {
                let what = format!("{key}.{i}");
                check_moment(state(&named, &what), &st[key], &format!("{name}: {what}"));
            }
        }
    }
    eprintln!("largest relative deviation from torch.optim.AdamW: {worst:e}");
}

/// Four steps, checkpoint the state, rebuild optimiser and parameters, four more steps: the
/// trajectory must equal the uninterrupted one (the lr changes after step 4).
#[test]
fn state_round_trip_resumes_exactly() {
    let fx = fixture("adamw.json");
    let problem = Problem::new(&fx);
    for json in [&fx["runs"][1], &fx["runs"][2]] {
        let run = run_of(json);
        let params = problem.params();
        let mut opt = run.optimiser(&params);
        for step in 0..4 {
            run.step(&mut opt, &problem, &params, step);
        }
        let saved = opt.state_tensors();
        let names: Vec<&str> = saved.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "exp_avg.0",
                "exp_avg_sq.0",
                "exp_avg.1",
                "exp_avg_sq.1",
                "exp_avg.2",
                "exp_avg_sq.2",
                "step"
            ]
        );
        drop(opt);

        let copy = || -> Vec<Tensor> {
            params
                .iter()
                .map(|p| p.detach().copy().set_requires_grad(true))
                .collect()
        };
        let resumed = copy();
        let mut opt = run.optimiser(&resumed);
        let mut shuffled = saved;
        shuffled.reverse();
        opt.load_state_tensors(&shuffled).unwrap();
        assert_eq!((opt.steps(0), opt.steps(2)), (Some(4), Some(0)));
        for step in 4..run.history.len() {
            run.step(&mut opt, &problem, &resumed, step);
            check_params(
                &resumed,
                &run.history[step],
                &problem.names,
                &format!("{} resumed step {}", run.name, step + 1),
            );
        }

        // A fresh optimiser that does not load the state diverges from torch: the test can fail.
        let fresh = copy();
        let mut opt = run.optimiser(&fresh);
        run.step(&mut opt, &problem, &fresh, 4);
        let dev = max_dev(&to_vec(&fresh[0]), &flat(&run.history[4]["weight"]));
        assert!(
            dev > 1e-4,
            "{}: state made no difference ({dev:e})",
            run.name
        );
    }
}

/// Bits of every element of `ts`.
fn bits(ts: &[Tensor]) -> Vec<u32> {
    ts.iter()
        .flat_map(|t| Vec::<f32>::try_from(&t.detach()).unwrap())
        .map(f32::to_bits)
        .collect()
}

/// The same float32 problem through `tch::nn::AdamW` (`backward_step_clip_norm`, a no-decay
/// group) and through ours (`zero_grad`, `backward`, [`clip_grad_norm`], `step`): identical bits
/// after every step. Sizes are odd so that libtorch's vectorised loops have scalar tails, and
/// gradient scales vary so that some steps clip and some do not.
#[test]
fn bit_identical_to_tch_adamw() {
    tch::manual_seed(11);
    let sizes = [1000i64, 37, 3, 1, 4099, 16, 33];
    let lrs = [1e-2, 2e-2, 5e-3, 1e-2, 3e-2, 1e-3, 2e-2, 1e-2];
    let decay: Vec<bool> = (0..sizes.len()).map(|i| i.is_multiple_of(2)).collect();
    let opts = (Kind::Float, Device::Cpu);
    let init: Vec<Tensor> = sizes.iter().map(|&n| Tensor::randn([n], opts)).collect();
    let grads: Vec<Vec<Tensor>> = (0..lrs.len())
        .map(|k| {
            let scale = 10f64.powi(-(k as i32 % 3));
            sizes
                .iter()
                .map(|&n| Tensor::randn([n], opts) * scale)
                .collect()
        })
        .collect();
    let loss_of = |ps: &[Tensor], k: usize| {
        ps.iter()
            .zip(&grads[k])
            .map(|(p, g)| (p * g).sum(Kind::Float))
            .fold(Tensor::from(0f32), |a, b| a + b)
    };

    let vs = nn::VarStore::new(Device::Cpu);
    let theirs: Vec<Tensor> = init
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let group = if decay[i] { 0 } else { 1 };
            vs.root().set_group(group).var_copy(&format!("p{i}"), t)
        })
        .collect();
    let mut tch_opt = nn::AdamW {
        wd: 0.01,
        ..Default::default()
    }
    .build(&vs, lrs[0])
    .unwrap();
    tch_opt.set_weight_decay_group(1, 0.0);

    let ours: Vec<Tensor> = init
        .iter()
        .map(|t| t.copy().set_requires_grad(true))
        .collect();
    let cfg = AdamWConfig {
        weight_decay: 0.01,
        ..Default::default()
    };
    let mut opt =
        AdamW::with_decay_mask(ours.iter().map(Tensor::shallow_clone).collect(), decay, cfg)
            .unwrap();
    let (mut clipped, mut unclipped) = (0, 0);
    for (k, &lr) in lrs.iter().enumerate() {
        tch_opt.set_lr(lr);
        tch_opt.backward_step_clip_norm(&loss_of(&theirs, k), 1.0);
        opt.set_lr(lr);
        opt.zero_grad();
        loss_of(&ours, k).backward();
        let norm = clip_grad_norm(&ours, 1.0).unwrap();
        if norm > 1.0 {
            clipped += 1;
        } else {
            unclipped += 1;
        }
        opt.step().unwrap();
        let (a, b) = (bits(&theirs), bits(&ours));
        let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert_eq!(
            differ,
            0,
            "step {}: {differ} of {} elements differ",
            k + 1,
            a.len()
        );
    }
    assert!(
        clipped > 0 && unclipped > 0,
        "{clipped} clipped, {unclipped} not"
    );
}

#[test]
fn load_state_rejects_mismatches() {
    let vars = vec![Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true)];
    let mut opt = AdamW::new(vars, AdamWConfig::default());
    let good = opt.state_tensors();
    let msg = opt.load_state_tensors(&good[..2]).unwrap_err().to_string();
    assert!(msg.contains("expected 3") && msg.contains("got 2"), "{msg}");

    let mut bad_shape = opt.state_tensors();
    bad_shape[0].1 = Tensor::zeros([3, 2], (Kind::Float, Device::Cpu));
    let msg = opt.load_state_tensors(&bad_shape).unwrap_err().to_string();
    assert!(
        msg.contains("exp_avg.0") && msg.contains("[3, 2]") && msg.contains("[2, 3]"),
        "{msg}"
    );

    let mut bad_kind = opt.state_tensors();
    bad_kind[1].1 = Tensor::zeros([2, 3], (Kind::Double, Device::Cpu));
    let msg = opt.load_state_tensors(&bad_kind).unwrap_err().to_string();
    assert!(
        msg.contains("exp_avg_sq.0") && msg.contains("Double"),
        "{msg}"
    );

    let mut renamed = opt.state_tensors();
    renamed[1].0 = "exp_avg_sq.7".to_string();
    let msg = opt.load_state_tensors(&renamed).unwrap_err().to_string();
    assert!(msg.contains("exp_avg_sq.0"), "{msg}");

    let mut negative = opt.state_tensors();
    negative[2].1 = Tensor::from_slice(&[-1i64]);
    let msg = opt.load_state_tensors(&negative).unwrap_err().to_string();
    assert!(msg.contains("step of variable 0"), "{msg}");

    let mut scalar_step = opt.state_tensors();
    scalar_step[2].1 = Tensor::from(3i64);
    let msg = opt
        .load_state_tensors(&scalar_step)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("shape [1]"), "{msg}");

    // Nothing above changed the state; a good one loads.
    assert_eq!(opt.steps(0), Some(0));
    opt.load_state_tensors(&good).unwrap();
}

#[test]
fn clip_grad_norm_scales_only_above_the_threshold() {
    let a = Tensor::zeros([2], (Kind::Double, Device::Cpu)).set_requires_grad(true);
    let b = Tensor::zeros([1], (Kind::Double, Device::Cpu)).set_requires_grad(true);
    let never = Tensor::zeros([1], (Kind::Double, Device::Cpu)).set_requires_grad(true);
    assert_eq!(clip_grad_norm(&[never.shallow_clone()], 1.0).unwrap(), 0.0);
    let vars = [a.shallow_clone(), b.shallow_clone(), never];
    let loss = (&a * Tensor::from_slice(&[3.0, 0.0])).sum(Kind::Double)
        + (&b * Tensor::from_slice(&[4.0])).sum(Kind::Double);
    loss.backward();
    // Gradients (3, 0) and (4): total norm 5.
    let norm = clip_grad_norm(&vars, 10.0).unwrap();
    assert!((norm - 5.0).abs() < 1e-12, "{norm}");
    assert_eq!(
        to_vec(&a.grad()),
        [3.0, 0.0],
        "below the threshold: untouched"
    );
    let norm = clip_grad_norm(&vars, 1.0).unwrap();
    assert!((norm - 5.0).abs() < 1e-12, "{norm}");
    let coef = 1.0 / (5.0 + 1e-6);
    assert!((to_vec(&a.grad())[0] - 3.0 * coef).abs() < 1e-15);
    assert!((to_vec(&b.grad())[0] - 4.0 * coef).abs() < 1e-15);
}

#[test]
fn config_defaults_serde_and_validation() {
    let cfg = AdamWConfig::default();
    assert_eq!(
        cfg,
        AdamWConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01
        }
    );
    let partial: AdamWConfig = serde_json::from_str(r#"{"beta2":0.98}"#).unwrap();
    assert_eq!(partial, AdamWConfig { beta2: 0.98, ..cfg });
    assert!(serde_json::from_str::<AdamWConfig>(r#"{"amsgrad":true}"#).is_err());
    for bad in [
        AdamWConfig { beta1: 1.0, ..cfg },
        AdamWConfig { beta2: -0.1, ..cfg },
        AdamWConfig { lr: -1.0, ..cfg },
        AdamWConfig {
            lr: f64::INFINITY,
            ..cfg
        },
        AdamWConfig { eps: -1e-8, ..cfg },
        AdamWConfig {
            weight_decay: f64::NAN,
            ..cfg
        },
    ] {
        let msg = AdamW::try_new(vec![], bad).unwrap_err().to_string();
        assert!(msg.contains("beta1 and beta2 in [0, 1)"), "{msg}");
    }
    let vars = vec![Tensor::zeros([2], (Kind::Float, Device::Cpu))];
    let msg = AdamW::with_decay_mask(vars, vec![true, false], cfg)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("2 decay flags for 1 variables"), "{msg}");
}
