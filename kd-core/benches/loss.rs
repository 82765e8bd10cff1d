//! Criterion bench of the distillation losses (Tang et al. 2019 §3.1) and one Adadelta step, at
//! the paper's student batch size (50) for binary (SST-2) and 3-way (MNLI) tasks.

use criterion::{BenchmarkId, Criterion};
use kd_core::loss::{DistillLoss, SoftLoss};
use kd_core::optim::{Adadelta, AdadeltaConfig};
use std::hint::black_box;
use tch::{Device, Kind, Tensor};

fn losses(c: &mut Criterion) {
    tch::manual_seed(0);
    let mut group = c.benchmark_group("distill_forward_backward");
    for classes in [2i64, 3] {
        let teacher = Tensor::randn([50, classes], (Kind::Float, Device::Cpu));
        let student =
            Tensor::randn([50, classes], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let labels = teacher.argmax(1, false);
        for (name, loss) in [
            (
                "mse",
                DistillLoss {
                    alpha: 0.0,
                    soft: SoftLoss::Mse,
                },
            ),
            (
                "kl_t2_alpha0.5",
                DistillLoss {
                    alpha: 0.5,
                    soft: SoftLoss::Kl { t: 2.0 },
                },
            ),
            (
                "soft_ce_t2",
                DistillLoss {
                    alpha: 0.0,
                    soft: SoftLoss::SoftCe { t: 2.0 },
                },
            ),
        ] {
            group.bench_with_input(BenchmarkId::new(name, classes), &loss, |b, loss| {
                b.iter(|| {
                    let value = loss.forward(&student, &teacher, Some(&labels)).unwrap();
                    let grad = Tensor::run_backward(&[&value], &[&student], false, false);
                    black_box(grad);
                })
            });
        }
    }
    group.finish();
}

fn adadelta(c: &mut Criterion) {
    tch::manual_seed(0);
    // About the size of the paper's SST-2 BiLSTM without embeddings (150 hidden, 300-d input).
    let vars: Vec<Tensor> = [[1200i64, 300], [1200, 150], [1200, 300], [1200, 150]]
        .iter()
        .map(|s| Tensor::randn(s.as_slice(), (Kind::Float, Device::Cpu)).set_requires_grad(true))
        .collect();
    let loss: Tensor = vars.iter().map(|v| v.square().sum(None)).sum();
    loss.backward();
    let mut opt = Adadelta::new(vars, AdadeltaConfig::default());
    c.bench_function("adadelta_step_1M_params", |b| b.iter(|| opt.step()));
}

/// 64 Adadelta steps on the SST-2 student's trainable embedding (14,819 x 50) whose state is 12%
/// subnormal, as measured in a hard-label student's checkpoint at epoch 19; each batch touches 50
/// rows. With the flush (every `Adadelta::FLUSH_EVERY` steps, the first at step 1 here) and
/// without it.
fn adadelta_subnormal_state(c: &mut Criterion) {
    tch::manual_seed(0);
    let opts = (Kind::Float, Device::Cpu);
    let var = Tensor::randn([14819, 50], opts).set_requires_grad(true);
    let state = |scale: f64| {
        let sub = Tensor::rand([14819, 50], opts)
            .lt(0.12)
            .to_kind(Kind::Float);
        &sub * Tensor::rand([14819, 50], opts) * 1e-39
            + (1.0 - &sub) * Tensor::rand([14819, 50], opts) * scale
    };
    let saved = vec![
        ("square_avg.0".to_string(), state(1e-8)),
        ("acc_delta.0".to_string(), state(1e-8)),
        ("step".to_string(), Tensor::from(Adadelta::FLUSH_EVERY - 1)),
    ];
    let grads: Vec<Tensor> = (0..64)
        .map(|_| {
            let rows = Tensor::randperm(14819, (Kind::Int64, Device::Cpu)).narrow(0, 0, 50);
            let mut w = Tensor::zeros([14819, 50], opts);
            let _ = w.index_copy_(0, &rows, &(Tensor::randn([50, 50], opts) * 1e-3));
            w
        })
        .collect();
    let mut group = c.benchmark_group("adadelta_64_steps_embedding_12pct_subnormal_state");
    group.sample_size(10);
    for flush in [true, false] {
        let name = if flush { "flush" } else { "no_flush" };
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut opt =
                        Adadelta::new(vec![var.shallow_clone()], AdadeltaConfig::default());
                    opt.set_flush_subnormals(flush);
                    opt.load_state_tensors(&saved).unwrap();
                    opt
                },
                |mut opt| {
                    for g in &grads {
                        let mut grad = var.grad();
                        if grad.defined() {
                            grad.copy_(g);
                        } else {
                            (&var * g).sum(Kind::Float).backward();
                        }
                        opt.step();
                    }
                    black_box(opt.steps())
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

// Written out rather than `criterion_group!`, whose generated `pub fn` trips `missing_docs`.
fn main() {
    // One intra-op thread: these tensors are tiny, and the build machine is shared.
    tch::set_num_threads(1);
    let mut c = Criterion::default().configure_from_args();
    losses(&mut c);
    adadelta(&mut c);
    adadelta_subnormal_state(&mut c);
    c.final_summary();
}
