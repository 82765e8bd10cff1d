//! Training and inference throughput of the default student (50-d GloVe multichannel, hidden
//! 150) on SST-2, to compare with `bench/torch_baseline.py`.
//!
//! `cargo run --release -p bilstm-student --example throughput -- [TRAIN_EXAMPLES] [THREADS]`
//! (defaults 15000 = 300 batches of 50, and 2 threads). Run from the workspace root.

use bilstm_student::{
    predict, train, StudentConfig, StudentExample, StudentModel, TrainConfig, Vocab,
};
use std::time::Instant;
use tch::{nn, Device};

fn read_sst2(path: &str) -> anyhow::Result<Vec<StudentExample>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .skip(1)
        .enumerate()
        .map(|(i, line)| {
            let (s, y) = line
                .rsplit_once('\t')
                .ok_or_else(|| anyhow::anyhow!("{path}:{}: no tab", i + 2))?;
            Ok(StudentExample {
                text_a: s.to_string(),
                text_b: None,
                label: Some(y.trim().parse()?),
                teacher_logits: None,
            })
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n_train: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(15_000);
    let threads: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2);
    tch::set_num_threads(threads as i32);
    let all = read_sst2("data/glue/SST-2/train.tsv")?;
    let dev = read_sst2("data/glue/SST-2/dev.tsv")?;
    let cfg = StudentConfig::default();
    let vocab = Vocab::build(all.iter().map(|e| e.text_a.as_str()), &cfg.vocab);
    tch::manual_seed(0);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let t = Instant::now();
    let model = StudentModel::new(vs.root(), &cfg, vocab)?;
    println!(
        "model: vocab {}, {} parameters without embeddings, {} with; built in {:.2} s",
        model.vocab().len(),
        model.param_count_without_embeddings(),
        model.param_count_with_embeddings(),
        t.elapsed().as_secs_f64()
    );
    let tcfg = TrainConfig {
        epochs: 1,
        threads: Some(threads),
        ..Default::default()
    };
    let out_dir = tempfile::tempdir()?;
    let out = train(
        &model,
        &mut vs,
        &all[..n_train.min(all.len())],
        &dev,
        &tcfg,
        out_dir.path(),
    )?;
    let rec = &out.history[0];
    println!(
        "rust train: {} examples at batch 50: {:.0} examples/s (epoch {:.2} s incl. dev eval, dev acc {:.3})",
        n_train, rec.examples_per_sec, rec.seconds, rec.dev_accuracy
    );
    let t = Instant::now();
    let logits = predict(&model, &all, 512)?;
    let s = t.elapsed().as_secs_f64();
    println!(
        "rust inference: {} sentences at batch 512 in {s:.2} s = {:.0} sentences/s",
        logits.size()[0],
        all.len() as f64 / s
    );
    Ok(())
}
