//! Criterion benches of the student's hot paths on synthetic SST-2-shaped data (vocab 15k,
//! 50-d multichannel, hidden 150): one training step at batch 50 (forward, backward, Adadelta)
//! and one inference batch of 512. `cargo bench -p bilstm-student --bench student_step`.

use bilstm_student::{
    Batch, EmbeddingConfig, EmbeddingMode, Encoded, StudentConfig, StudentModel, Vocab, VocabConfig,
};
use criterion::{criterion_main, Criterion};
use kd_core::loss::hard_ce;
use kd_core::optim::{Adadelta, AdadeltaConfig};
use rand::{Rng, SeedableRng};
use tch::{nn, Device, Tensor};

fn setup() -> (StudentModel, nn::VarStore, Vec<Encoded>) {
    tch::set_num_threads(2);
    tch::manual_seed(0);
    let words: Vec<String> = (0..15_000).map(|i| format!("w{i}")).collect();
    let vocab = Vocab::build(words.iter().map(String::as_str), &VocabConfig::default());
    let cfg = StudentConfig {
        // Random tables of the GloVe shape: speed does not depend on the values.
        embedding: EmbeddingConfig {
            mode: EmbeddingMode::Multichannel,
            vectors: None,
            dim: 50,
            init_range: 0.25,
        },
        ..Default::default()
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let model = StudentModel::with_vectors(vs.root(), &cfg, vocab, None).expect("model");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    // SST-2-like lengths: 17..24 tokens, one bucket (24).
    let data = (0..512)
        .map(|_| {
            Encoded::new(
                (0..rng.gen_range(17..=24))
                    .map(|_| rng.gen_range(2..15_000))
                    .collect(),
                None,
            )
        })
        .collect();
    (model, vs, data)
}

fn bench(c: &mut Criterion) {
    let (model, vs, data) = setup();
    let mut opt = Adadelta::new(vs.trainable_variables(), AdadeltaConfig::default());
    let refs: Vec<&Encoded> = data.iter().take(50).collect();
    let batch = Batch::new(&refs).expect("batch");
    let labels = Tensor::from_slice(&[0i64, 1].repeat(25));
    let mut group = c.benchmark_group("student");
    group.sample_size(20);
    group.bench_function("train_step_batch50_len24", |b| {
        b.iter(|| {
            let loss =
                hard_ce(&model.forward_t(&batch, true).expect("forward"), &labels).expect("loss");
            opt.zero_grad();
            loss.backward();
            opt.step();
        })
    });
    let all: Vec<&Encoded> = data.iter().collect();
    let big = Batch::new(&all).expect("batch");
    group.bench_function("inference_batch512_len24", |b| {
        b.iter(|| tch::no_grad(|| model.forward_t(&big, false).expect("forward")))
    });
    group.finish();
}

// criterion_group! expands to an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
