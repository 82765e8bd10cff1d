//! Training and labelling throughput of the teacher (all-MiniLM-L6-v2) on SST-2 train
//! sentences; bench/torch_throughput.py measures PyTorch eager on the same sentences and
//! batch shapes. Not a test: run it by hand, in release mode, with nothing else heavy running:
//!
//! ```text
//! cargo run --release -p bert-teacher --example teacher_throughput -- [N_TRAIN] [N_LABEL] [REPEATS]
//! ```
//!
//! Prints one JSON line per measurement.

use bert_teacher::{fine_tune, FineTuneConfig, Teacher};
use kd_core::data::{load_split, Task};
use std::path::PathBuf;
use std::time::Instant;
use tch::Device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let n_train = args.first().copied().unwrap_or(512);
    let n_label = args.get(1).copied().unwrap_or(1024);
    let repeats = args.get(2).copied().unwrap_or(2);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let minilm = root.join(".cache/minilm");
    let train = load_split(Task::Sst2, &root.join("data/glue/SST-2/train.tsv"))?;
    let threads = tch::get_num_threads();

    let label_set = &train[..n_label.min(train.len())];
    let teacher = Teacher::from_pretrained(&minilm, 2, Device::Cpu)?;
    for rep in 0..repeats {
        let started = Instant::now();
        let logits = teacher.predict_logits(label_set, 128, false)?;
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(logits.len(), label_set.len() * 2);
        println!(
            "{{\"impl\":\"rust-tch\",\"what\":\"label\",\"rep\":{rep},\"threads\":{threads},\"n\":{},\"batch\":128,\"sentences_per_sec\":{:.1}}}",
            label_set.len(),
            label_set.len() as f64 / secs
        );
    }

    let dev = &train[train.len() - 64..];
    for rep in 0..repeats {
        let out = tempfile::tempdir()?;
        let cfg = FineTuneConfig {
            epochs: 1,
            batch_size: 32,
            max_train_examples: Some(n_train),
            ..FineTuneConfig::default()
        };
        let result = fine_tune(&minilm, &train, dev, 2, &cfg, out.path())?;
        println!(
            "{{\"impl\":\"rust-tch\",\"what\":\"train\",\"rep\":{rep},\"threads\":{threads},\"n\":{n_train},\"batch\":32,\"sentences_per_sec\":{:.1}}}",
            result.history[0].examples_per_sec
        );
    }
    Ok(())
}
