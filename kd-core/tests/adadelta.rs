//! `kd_core::optim::Adadelta` against `torch.optim.Adadelta`, step by step, and the LR schedule
//! against `transformers.get_linear_schedule_with_warmup` (`fixtures/gen_fixtures.py`).

use kd_core::loss::hard_ce;
use kd_core::optim::{linear_warmup_decay, Adadelta, AdadeltaConfig};
mod common;
mod optim_fixture;

use common::fixture;
use optim_fixture::{check_moment, check_params, flat, max_dev, state, to_vec, Problem};
use serde_json::Value;
use tch::{nn, Device, Kind, Tensor};

fn config(v: &Value) -> AdadeltaConfig {
    AdadeltaConfig {
        lr: v["lr"].as_f64().unwrap(),
        rho: v["rho"].as_f64().unwrap(),
        eps: v["eps"].as_f64().unwrap(),
        weight_decay: v["weight_decay"].as_f64().unwrap(),
    }
}

#[test]
fn adadelta_matches_torch_step_by_step() {
    let fx = fixture("adadelta.json");
    let problem = Problem::new(&fx);
    let runs = fx["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    let mut worst = 0.0f64;
    for run in runs {
        let cfg_json = &run["config"];
        let name = cfg_json["name"].as_str().unwrap();
        let params = problem.params();
        let mut opt = Adadelta::new(
            params.iter().map(Tensor::shallow_clone).collect(),
            config(cfg_json),
        );
        let lrs = flat(&cfg_json["lrs"]);
        let history = run["params_after_step"].as_array().unwrap();
        assert!(history.len() >= 6);
        for (step, want) in history.iter().enumerate() {
            opt.set_lr(lrs[step]);
            opt.zero_grad();
            problem.backward(&params);
            opt.step();
            worst = worst.max(check_params(
                &params,
                want,
                &problem.names,
                &format!("{name} step {}", step + 1),
            ));
        }
        assert_eq!(opt.steps(), history.len() as i64);
        // The parameter without a gradient is skipped (torch keeps no state for it).
        assert_eq!(
            to_vec(&params[2]),
            flat(&fx["init"]["unused"]),
            "{name}: unused parameter moved"
        );
        let named = opt.state_tensors();
        for (i, st) in run["final_state"].as_array().unwrap().iter().enumerate() {
            for key in ["square_avg", "acc_delta"] {
                let what = format!("{key}.{i}");
                check_moment(state(&named, &what), &st[key], &format!("{name}: {what}"));
            }
        }
    }
    eprintln!("largest relative deviation from torch.optim.Adadelta: {worst:e}");
}

/// Four steps, checkpoint the state, rebuild optimiser and parameters, four more steps: the
/// trajectory must equal the uninterrupted one.
#[test]
fn state_round_trip_resumes_exactly() {
    let fx = fixture("adadelta.json");
    let problem = Problem::new(&fx);
    let run = &fx["runs"][1];
    let cfg = config(&run["config"]);
    let history = run["params_after_step"].as_array().unwrap();
    let params = problem.params();
    let mut opt = Adadelta::new(params.iter().map(Tensor::shallow_clone).collect(), cfg);
    for _ in 0..4 {
        opt.zero_grad();
        problem.backward(&params);
        opt.step();
    }
    let saved = opt.state_tensors();
    let names: Vec<&str> = saved.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "square_avg.0",
            "acc_delta.0",
            "square_avg.1",
            "acc_delta.1",
            "square_avg.2",
            "acc_delta.2",
            "step"
        ]
    );
    drop(opt);

    let resumed: Vec<Tensor> = params
        .iter()
        .map(|p| p.detach().copy().set_requires_grad(true))
        .collect();
    let mut opt = Adadelta::new(resumed.iter().map(Tensor::shallow_clone).collect(), cfg);
    let mut shuffled = saved;
    shuffled.reverse();
    opt.load_state_tensors(&shuffled).unwrap();
    assert_eq!(opt.steps(), 4);
    for (step, want) in history.iter().enumerate().skip(4) {
        opt.zero_grad();
        problem.backward(&resumed);
        opt.step();
        check_params(
            &resumed,
            want,
            &problem.names,
            &format!("resumed step {}", step + 1),
        );
    }

    // A fresh optimiser that does not load the state diverges from torch: the test can fail.
    let fresh: Vec<Tensor> = params
        .iter()
        .map(|p| p.detach().copy().set_requires_grad(true))
        .collect();
    let mut opt = Adadelta::new(fresh.iter().map(Tensor::shallow_clone).collect(), cfg);
    opt.zero_grad();
    problem.backward(&fresh);
    opt.step();
    let dev = max_dev(&to_vec(&fresh[0]), &flat(&history[4]["weight"]));
    assert!(dev > 1e-4, "state made no difference ({dev:e})");
}

#[test]
fn load_state_rejects_mismatches() {
    let vars = vec![Tensor::zeros([2, 3], (Kind::Double, Device::Cpu)).set_requires_grad(true)];
    let mut opt = Adadelta::new(vars, AdadeltaConfig::default());
    let good = opt.state_tensors();
    let msg = opt.load_state_tensors(&good[..2]).unwrap_err().to_string();
    assert!(msg.contains("expected 3") && msg.contains("got 2"), "{msg}");
    let mut bad_shape = opt.state_tensors();
    bad_shape[0].1 = Tensor::zeros([3, 2], (Kind::Double, Device::Cpu));
    let msg = opt.load_state_tensors(&bad_shape).unwrap_err().to_string();
    assert!(
        msg.contains("square_avg.0") && msg.contains("[3, 2]") && msg.contains("[2, 3]"),
        "{msg}"
    );
    let mut renamed = opt.state_tensors();
    renamed[1].0 = "acc_delta.7".to_string();
    let msg = opt.load_state_tensors(&renamed).unwrap_err().to_string();
    assert!(msg.contains("acc_delta.0"), "{msg}");
    opt.load_state_tensors(&good).unwrap();
}

/// The optimiser updates a `VarStore`'s variables in place (they share storage).
#[test]
fn updates_var_store_in_place() {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let linear = nn::linear(vs.root() / "classifier", 4, 2, Default::default());
    let before = linear.ws.detach().copy();
    let mut opt = Adadelta::new(vs.trainable_variables(), AdadeltaConfig::default());
    let xs = Tensor::randn([5, 4], (Kind::Float, Device::Cpu));
    let ys = Tensor::from_slice(&[0i64, 1, 0, 1, 1]);
    opt.zero_grad();
    hard_ce(&xs.apply(&linear), &ys).unwrap().backward();
    opt.step();
    let moved = (&linear.ws - &before).abs().max().double_value(&[]);
    assert!(moved > 1e-5, "weights did not move ({moved})");
    // (Outside no_grad, libtorch would refuse the in-place update of a leaf that requires grad.)
    assert!(
        linear.ws.requires_grad(),
        "the variable must stay trainable"
    );
}

#[test]
fn config_defaults_serde_and_validation() {
    let cfg = AdadeltaConfig::default();
    assert_eq!(
        cfg,
        AdadeltaConfig {
            lr: 1.0,
            rho: 0.95,
            eps: 1e-6,
            weight_decay: 0.0
        }
    );
    let partial: AdadeltaConfig = serde_json::from_str(r#"{"rho":0.9}"#).unwrap();
    assert_eq!(partial, AdadeltaConfig { rho: 0.9, ..cfg });
    assert!(serde_json::from_str::<AdadeltaConfig>(r#"{"momentum":0.9}"#).is_err());
    for bad in [
        AdadeltaConfig { rho: 1.5, ..cfg },
        AdadeltaConfig { lr: -1.0, ..cfg },
        AdadeltaConfig { eps: -1e-6, ..cfg },
        AdadeltaConfig {
            weight_decay: -0.1,
            ..cfg
        },
    ] {
        let msg = Adadelta::try_new(vec![], bad).unwrap_err().to_string();
        assert!(msg.contains("rho in [0, 1]"), "{msg}");
    }
}

#[test]
fn schedule_matches_transformers() {
    let fx = fixture("schedule.json");
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let (warmup, total) = (
            case["warmup"].as_u64().unwrap() as usize,
            case["total"].as_u64().unwrap() as usize,
        );
        let steps = case["steps"].as_array().unwrap();
        let want = flat(&case["multipliers"]);
        for (step, want) in steps.iter().zip(want) {
            let step = step.as_u64().unwrap() as usize;
            let got = linear_warmup_decay(step, warmup, total);
            assert!(
                (got - want).abs() < 1e-15,
                "warmup {warmup} total {total} step {step}: {got} vs {want}"
            );
        }
    }
    // Shape of the curve, independent of the fixture.
    assert_eq!(linear_warmup_decay(0, 10, 100), 0.0);
    assert_eq!(linear_warmup_decay(5, 10, 100), 0.5);
    assert_eq!(linear_warmup_decay(10, 10, 100), 1.0);
    assert_eq!(linear_warmup_decay(55, 10, 100), 0.5);
    assert_eq!(linear_warmup_decay(200, 10, 100), 0.0);
}

/// Counts the subnormal values of a float tensor.
fn subnormals(t: &Tensor) -> i64 {
    let tiny = f64::from(f32::MIN_POSITIVE);
    (t.abs().lt(tiny) * t.ne(0.0))
        .sum(Kind::Int64)
        .int64_value(&[])
}

/// The flush of subnormal state (every `Adadelta::FLUSH_EVERY` steps) changes no parameter: an embedding-like
/// variable whose untouched rows' averages decay into the subnormal range, trained with and without
/// the flush, ends bitwise equal; only the flushed optimiser's state is free of subnormals.
#[test]
fn flushing_subnormal_state_leaves_the_parameters_unchanged() {
    tch::manual_seed(0);
    let opts = (Kind::Float, Device::Cpu);
    let init = Tensor::randn([64, 8], opts);
    let (a, b) = (
        init.copy().set_requires_grad(true),
        init.copy().set_requires_grad(true),
    );
    let cfg = AdadeltaConfig::default();
    let mut flushed = Adadelta::new(vec![a.shallow_clone()], cfg);
    let mut plain = Adadelta::new(vec![b.shallow_clone()], cfg);
    plain.set_flush_subnormals(false);
    // Start from state where half the rows sit just above the subnormal range and the rest hold
    // subnormal values already, as after a long run.
    let state = |scale: f64| {
        let rows = Tensor::rand([64, 1], opts).lt(0.5).to_kind(Kind::Float);
        let normal = Tensor::rand([64, 8], opts) * 1e-36;
        let sub = Tensor::rand([64, 8], opts) * scale;
        &rows * normal + (1.0 - &rows) * sub
    };
    let saved = vec![
        ("square_avg.0".to_string(), state(1e-39)),
        ("acc_delta.0".to_string(), state(1e-40)),
        ("step".to_string(), Tensor::from(0i64)),
    ];
    flushed.load_state_tensors(&saved).unwrap();
    plain.load_state_tensors(&saved).unwrap();
    assert!(subnormals(&saved[0].1) > 0);
    for step in 0..(3 * Adadelta::FLUSH_EVERY) {
        // A batch touches 4 of the 64 rows; the others get a zero gradient. Some gradients are
        // tiny enough that (1 - rho) g² is itself subnormal.
        let rows = Tensor::randperm(64, (Kind::Int64, Device::Cpu)).narrow(0, 0, 4);
        let mut w = Tensor::zeros([64, 8], opts);
        let scale = if step % 3 == 0 { 1e-21 } else { 1.0 };
        let _ = w.index_copy_(0, &rows, &(Tensor::randn([4, 8], opts) * scale));
        for (opt, var) in [(&mut flushed, &a), (&mut plain, &b)] {
            opt.zero_grad();
            (var * &w).sum(Kind::Float).backward();
            opt.step();
        }
        assert!(a.equal(&b), "parameters differ after step {}", step + 1);
    }
    let state_of = |opt: &Adadelta| -> i64 {
        opt.state_tensors()
            .iter()
            .filter(|(k, _)| k != "step")
            .map(|(_, t)| subnormals(t))
            .sum()
    };
    assert_eq!(state_of(&flushed), 0, "flushed state keeps subnormals");
    assert!(
        state_of(&plain) > 0,
        "the test never produced subnormal state"
    );
    // The two optimisers did differ: their state tensors are not equal.
    assert!(!flushed.state_tensors()[0]
        .1
        .equal(&plain.state_tensors()[0].1));
}
