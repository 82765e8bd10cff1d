//! Helpers shared by the integration tests.
#![allow(dead_code)]

use bilstm_student::{
    EmbeddingConfig, EmbeddingMode, StudentConfig, StudentExample, StudentModel, TrainConfig,
    Vocab, VocabConfig,
};
use rand::{Rng, SeedableRng};

/// A small `rand`-embedding student that trains in seconds in a debug build.
pub fn tiny_config(pair: bool, num_classes: usize) -> StudentConfig {
    StudentConfig {
        embedding: EmbeddingConfig {
            mode: EmbeddingMode::Rand,
            vectors: None,
            dim: 8,
            init_range: 0.25,
        },
        hidden_dim: 12,
        fc_dim: 16,
        dropout: 0.1,
        num_classes,
        pair,
        ..Default::default()
    }
}

/// A fresh [`tiny_config`] student on the CPU, its vocabulary built from both sentences of
/// `data`, its initialisation drawn after `tch::manual_seed(seed)`.
pub fn tiny_model(
    pair: bool,
    num_classes: usize,
    data: &[StudentExample],
    seed: i64,
) -> (StudentModel, tch::nn::VarStore) {
    tch::manual_seed(seed);
    let texts = data
        .iter()
        .flat_map(|e| std::iter::once(e.text_a.as_str()).chain(e.text_b.as_deref()));
    let vocab = Vocab::build(texts, &VocabConfig::default());
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let model = StudentModel::with_vectors(vs.root(), &tiny_config(pair, num_classes), vocab, None)
        .unwrap();
    (model, vs)
}

/// The two-epoch run the resume and stop tests interrupt: the keyword task (120 sentences; train
/// on the first 90, dev on the rest) and its training config.
pub fn two_epoch_run() -> (Vec<StudentExample>, TrainConfig) {
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 16,
        seed: 9,
        progress: false,
        threads: Some(1),
        ..Default::default()
    };
    (keyword_task(120, 5), cfg)
}

/// Sentence task: label 1 iff the sentence contains "good". Teacher logits are a confident,
/// correct teacher's.
pub fn keyword_task(n: usize, seed: u64) -> Vec<StudentExample> {
    let filler = [
        "the", "a", "movie", "film", "plot", "was", "is", "very", "quite", "actor", "scene",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let len = rng.gen_range(2..12);
            let mut words: Vec<&str> = (0..len)
                .map(|_| filler[rng.gen_range(0..filler.len())])
                .collect();
            let label = rng.gen_range(0..2);
            let key = if label == 1 { "good" } else { "bad" };
            let pos = rng.gen_range(0..=words.len());
            words.insert(pos, key);
            StudentExample {
                text_a: words.join(" "),
                text_b: None,
                label: Some(label),
                teacher_logits: Some(if label == 1 {
                    vec![-2.0, 2.0]
                } else {
                    vec![2.0, -2.0]
                }),
            }
        })
        .collect()
}

/// Pair task: label 1 iff both sentences name the same colour.
pub fn pair_task(n: usize, seed: u64) -> Vec<StudentExample> {
    let colours = ["red", "blue", "green"];
    let filler = [
        "the", "a", "car", "house", "is", "was", "very", "old", "new",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let sentence = |rng: &mut rand_chacha::ChaCha8Rng, colour: &str| {
        let len = rng.gen_range(1..7);
        let mut words: Vec<String> = (0..len)
            .map(|_| filler[rng.gen_range(0..filler.len())].to_string())
            .collect();
        let pos = rng.gen_range(0..=words.len());
        words.insert(pos, colour.to_string());
        words.join(" ")
    };
    (0..n)
        .map(|_| {
            let ca = colours[rng.gen_range(0..3)];
            let label = rng.gen_range(0..2);
            let cb = if label == 1 {
                ca
            } else {
                colours.iter().copied().find(|c| *c != ca).unwrap()
            };
            StudentExample {
                text_a: sentence(&mut rng, ca),
                text_b: Some(sentence(&mut rng, cb)),
                label: Some(label),
                teacher_logits: None,
            }
        })
        .collect()
}
