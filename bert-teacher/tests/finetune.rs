//! "It learns": a seeded fine-tune of the tiny BERT on a separable toy task (CPU, seconds), its
//! epoch-level resume, and resumable labelling against a single pass.

mod common;

use bert_teacher::checkpoint::write_f32;
use bert_teacher::label::chunk_path;
use bert_teacher::{
    fine_tune, fine_tune_epochs, label_resumable, FineTuneConfig, Teacher, TeacherError,
};
use common::{fixture, max_abs_diff};
use kd_core::data::Example;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::Mutex;
use tch::Device;

/// libtorch's RNG is process-global: building any model draws from it, so the seeded fine-tune
/// must not overlap with another test of this binary.
static TORCH_RNG: Mutex<()> = Mutex::new(());

const POSITIVE: [&str; 4] = ["good", "great", "nice", "superb"];
const NEGATIVE: [&str; 4] = ["bad", "awful", "poor", "boring"];
const FILLER: [&str; 8] = [
    "the", "movie", "film", "plot", "was", "very", "really", "story",
];

/// Sentences of filler words with one sentiment word; label 1 for positive.
fn toy_task(n: usize, seed: u64) -> Vec<Example> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let label = rng.gen_range(0..2usize);
            let lexicon = if label == 1 { &POSITIVE } else { &NEGATIVE };
            let len = rng.gen_range(2..7);
            let mut words: Vec<&str> = (0..len)
                .map(|_| FILLER[rng.gen_range(0..FILLER.len())])
                .collect();
            words.insert(rng.gen_range(0..=len), lexicon[rng.gen_range(0..4)]);
            Example {
                text_a: words.join(" "),
                text_b: None,
                label: Some(label),
                index: None,
            }
        })
        .collect()
}

/// A "pre-trained" directory: the tiny encoder (bare BertModel checkpoint, with pooler) without
/// a classifier, as all-MiniLM-L6-v2 is shipped.
fn init_dir(dir: &Path) {
    std::fs::copy(fixture("tiny_bert/config.json"), dir.join("config.json")).unwrap();
    std::fs::copy(
        fixture("tiny_bert/tokenizer.json"),
        dir.join("tokenizer.json"),
    )
    .unwrap();
    std::fs::copy(
        fixture("tiny_bert_bare.safetensors"),
        dir.join("model.safetensors"),
    )
    .unwrap();
}

fn config() -> FineTuneConfig {
    FineTuneConfig {
        epochs: 4,
        batch_size: 8,
        lr: 3e-3,
        warmup_ratio: 0.1,
        weight_decay: 0.01,
        max_len: 16,
        eval_batch_size: 16,
        seed: 3,
        max_train_examples: None,
    }
}

/// Mean training cross-entropy of the last epoch must fall below this (ln 2 = 0.69 at chance).
const LOSS_THRESHOLD: f64 = 0.1;

#[test]
fn tiny_fine_tune_learns_and_resumes() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let init = tempfile::tempdir().unwrap();
    init_dir(init.path());
    let (train, dev) = (toy_task(160, 1), toy_task(48, 2));
    let cfg = config();

    let full = tempfile::tempdir().unwrap();
    let out = fine_tune(init.path(), &train, &dev, 2, &cfg, full.path()).unwrap();
    assert_eq!(out.history.len(), 4);
    let last = out.history.last().unwrap();
    assert!(
        last.train_loss < LOSS_THRESHOLD,
        "history {:?}",
        out.history
    );
    assert!(
        out.history[0].train_loss > last.train_loss,
        "history {:?}",
        out.history
    );
    assert!(out.best_dev_accuracy >= 0.9, "history {:?}", out.history);

    // The best checkpoint loads as a teacher and reproduces the recorded dev accuracy.
    let teacher = Teacher::load(full.path(), Device::Cpu).unwrap();
    assert_eq!(teacher.max_len(), 16);
    let logits = teacher.predict_logits(&dev, 7, false).unwrap();
    let correct = dev
        .iter()
        .enumerate()
        .filter(|(i, ex)| {
            let row = &logits[i * 2..i * 2 + 2];
            usize::from(row[1] > row[0]) == ex.label.unwrap()
        })
        .count();
    assert_eq!(correct as f64 / dev.len() as f64, out.best_dev_accuracy);

    // Killed after epoch 1, then resumed: epoch 1 is identical, the run completes from there.
    let split = tempfile::tempdir().unwrap();
    let first = fine_tune_epochs(init.path(), &train, &dev, 2, &cfg, split.path(), 1).unwrap();
    assert_eq!(first.history.len(), 1);
    assert!(!split.path().join("fine_tune.json").exists());
    let resumed = fine_tune(init.path(), &train, &dev, 2, &cfg, split.path()).unwrap();
    assert_eq!(resumed.history.len(), 4);
    assert_eq!(resumed.history[0].train_loss, out.history[0].train_loss);
    assert_eq!(resumed.history[0].dev_accuracy, out.history[0].dev_accuracy);
    assert!(
        resumed.history[3].train_loss < LOSS_THRESHOLD,
        "history {:?}",
        resumed.history
    );
    // A finished run is not re-run.
    let again = fine_tune(init.path(), &train, &dev, 2, &cfg, split.path()).unwrap();
    assert_eq!(
        (again.best_epoch, again.history.len()),
        (resumed.best_epoch, 4)
    );
    for (a, r) in again.history.iter().zip(&resumed.history) {
        assert!((a.train_loss - r.train_loss).abs() < 1e-12 && a.dev_accuracy == r.dev_accuracy);
    }

    // Resuming with another config is refused, not silently restarted.
    let other = FineTuneConfig { lr: 5e-4, ..cfg };
    let err = fine_tune(init.path(), &train, &dev, 2, &other, split.path()).unwrap_err();
    assert!(matches!(err, TeacherError::WorkDir { .. }), "{err}");
}

#[test]
fn resumable_labelling_matches_one_pass_and_skips_finished_chunks() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let teacher = Teacher::load(&fixture("tiny_bert"), Device::Cpu).unwrap();
    let examples = toy_task(50, 9);
    let one_pass = teacher.predict_logits(&examples, 8, false).unwrap();
    assert_eq!(one_pass.len(), 50 * 3);

    let work = tempfile::tempdir().unwrap();
    let chunked = label_resumable(&teacher, &examples, 8, work.path(), 16).unwrap();
    let d = max_abs_diff(&chunked, &one_pass);
    assert!(d < 1e-5, "chunked logits differ by {d}");

    // Simulate a killed run: chunk 2 never written, chunk 0 finished (marked with sentinels).
    std::fs::remove_file(chunk_path(work.path(), 2)).unwrap();
    write_f32(&chunk_path(work.path(), 0), "logits", &[16, 3], &[7.0; 48]).unwrap();
    let resumed = label_resumable(&teacher, &examples, 8, work.path(), 16).unwrap();
    assert!(
        resumed[..48].iter().all(|&v| v == 7.0),
        "finished chunk 0 was recomputed"
    );
    assert_eq!(resumed[48..], chunked[48..]);
    assert!(chunk_path(work.path(), 2).exists());

    // A work dir made with another chunk size is refused.
    let err = label_resumable(&teacher, &examples, 8, work.path(), 10).unwrap_err();
    assert!(matches!(err, TeacherError::WorkDir { .. }), "{err}");
}
