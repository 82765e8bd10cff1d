//! "It learns": a seeded fine-tune of the tiny BERT on a separable toy task (CPU, seconds), its
//! epoch-level resume (bit-identical to an uninterrupted run, AdamW state included; the staged
//! best checkpoint rolled forward after a kill), the divergence guard, and resumable labelling
//! against a single pass.

mod common;

use bert_teacher::bert::Pooling;
use bert_teacher::checkpoint::write_f32;
use bert_teacher::label::chunk_path;
use bert_teacher::{
    fine_tune, fine_tune_epochs, label_resumable, FineTuneConfig, Teacher, TeacherError,
};
use common::{entries, fixture, max_abs_diff};
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
        pooling: Pooling::Cls,
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
    assert_eq!((first.history.len(), first.resumed_epochs), (1, 0));
    assert!(!split.path().join("fine_tune.json").exists());
    let resumed = fine_tune(init.path(), &train, &dev, 2, &cfg, split.path()).unwrap();
    assert_eq!((resumed.history.len(), resumed.resumed_epochs), (4, 1));
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
        (again.best_epoch, again.history.len(), again.resumed_epochs),
        (resumed.best_epoch, 4, 4)
    );
    for (a, r) in again.history.iter().zip(&resumed.history) {
        assert!((a.train_loss - r.train_loss).abs() < 1e-12 && a.dev_accuracy == r.dev_accuracy);
    }

    // Resuming with another config is refused, not silently restarted.
    let other = FineTuneConfig { lr: 5e-4, ..cfg };
    let err = fine_tune(init.path(), &train, &dev, 2, &other, split.path()).unwrap_err();
    assert!(matches!(err, TeacherError::WorkDir { .. }), "{err}");
}

/// A mean-pooled teacher learns the toy task too, records `kd_pooling` in its `config.json`, and
/// loads back mean-pooled with the logits it had (a [CLS] teacher's file has no such key). Its
/// per-epoch weights with the directory's config are the teacher of that epoch.
#[test]
fn mean_pooled_fine_tune_learns_and_loads_back_mean_pooled() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let init = tempfile::tempdir().unwrap();
    init_dir(init.path());
    let (train, dev) = (toy_task(160, 1), toy_task(48, 2));
    let cfg = FineTuneConfig {
        pooling: Pooling::Mean,
        ..config()
    };
    let out_dir = tempfile::tempdir().unwrap();
    let out = fine_tune(init.path(), &train, &dev, 2, &cfg, out_dir.path()).unwrap();
    let last = out.history.last().unwrap();
    assert!(
        last.train_loss < LOSS_THRESHOLD,
        "history {:?}",
        out.history
    );
    assert!(out.best_dev_accuracy >= 0.9, "history {:?}", out.history);

    let config_json = std::fs::read_to_string(out_dir.path().join("config.json")).unwrap();
    assert!(
        config_json.contains("\"kd_pooling\": \"mean\""),
        "{config_json}"
    );
    let teacher = Teacher::load(out_dir.path(), Device::Cpu).unwrap();
    assert_eq!(teacher.pooling(), Pooling::Mean);
    let mean_logits = teacher.predict_logits(&dev, 7, false).unwrap();
    // The same weights read through the pooler give other logits: the setting is used.
    let mut as_cls = Teacher::load(out_dir.path(), Device::Cpu).unwrap();
    as_cls.set_pooling(Pooling::Cls);
    let cls_logits = as_cls.predict_logits(&dev, 7, false).unwrap();
    assert!(max_abs_diff(&mean_logits, &cls_logits) > 1e-3);
    // Saved as [CLS], the key is gone.
    let resaved = tempfile::tempdir().unwrap();
    as_cls.save(resaved.path()).unwrap();
    let text = std::fs::read_to_string(resaved.path().join("config.json")).unwrap();
    assert!(!text.contains("kd_pooling"), "{text}");

    // Every epoch's weights are kept; the best epoch's equal the directory's model.
    for epoch in 1..=cfg.epochs {
        assert!(
            bert_teacher::epoch_weights(out_dir.path(), epoch).is_file(),
            "epoch {epoch}"
        );
    }
    assert_eq!(
        bytes(&bert_teacher::epoch_weights(out_dir.path(), out.best_epoch)),
        bytes(&out_dir.path().join("model.safetensors"))
    );
    let at_best = Teacher::load_at_epoch(out_dir.path(), out.best_epoch, Device::Cpu).unwrap();
    assert_eq!(at_best.predict_logits(&dev, 7, false).unwrap(), mean_logits);
    let err = Teacher::load_at_epoch(out_dir.path(), cfg.epochs + 1, Device::Cpu).unwrap_err();
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

#[test]
fn chunks_labelled_in_any_order_by_separate_workers_join_to_the_one_process_logits() {
    use bert_teacher::label::{
        chunk_count, label_chunk, missing_chunks, prepare_work_dir, read_chunks,
    };
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let teacher = Teacher::load(&fixture("tiny_bert"), Device::Cpu).unwrap();
    let examples = toy_task(50, 9);
    let one = tempfile::tempdir().unwrap();
    let serial = label_resumable(&teacher, &examples, 8, one.path(), 16).unwrap();

    // Two "workers" share a work dir, each labelling the chunks it claims, last chunk first.
    let work = tempfile::tempdir().unwrap();
    assert_eq!(chunk_count(50, 16), 4);
    assert_eq!(chunk_count(48, 16), 3);
    assert_eq!(missing_chunks(work.path(), 50, 16), [0, 1, 2, 3]);
    for worker in [1, 0] {
        prepare_work_dir(&teacher, &examples, work.path(), 16).unwrap();
        for i in (0..4).rev().filter(|i| i % 2 == worker) {
            label_chunk(&teacher, &examples, 8, work.path(), 16, i).unwrap();
        }
    }
    assert!(missing_chunks(work.path(), 50, 16).is_empty());
    let joined = read_chunks(&examples, work.path(), 16, 3).unwrap();
    assert_eq!(joined, serial, "the join differs from one process's logits");
    for i in 0..4 {
        assert_eq!(
            bytes(&chunk_path(work.path(), i)),
            bytes(&chunk_path(one.path(), i)),
            "chunk {i}"
        );
    }
    // A missing chunk, other examples or another chunk size are errors, not a silent mix.
    std::fs::remove_file(chunk_path(work.path(), 1)).unwrap();
    assert_eq!(missing_chunks(work.path(), 50, 16), [1]);
    assert!(read_chunks(&examples, work.path(), 16, 3).is_err());
    label_chunk(&teacher, &examples, 8, work.path(), 16, 1).unwrap();
    let err = read_chunks(&examples[1..], work.path(), 16, 3).unwrap_err();
    assert!(matches!(err, TeacherError::WorkDir { .. }), "{err}");
    let err = read_chunks(&examples, work.path(), 10, 3).unwrap_err();
    assert!(matches!(err, TeacherError::WorkDir { .. }), "{err}");
    let err = prepare_work_dir(&teacher, &examples, work.path(), 10).unwrap_err();
    assert!(matches!(err, TeacherError::WorkDir { .. }), "{err}");
    assert!(label_chunk(&teacher, &examples, 8, work.path(), 16, 4).is_err());
}

/// Bytes of a file.
fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// 2 epochs straight and 1 epoch + stop + resume 1 epoch give the same bits: final weights,
/// best checkpoint, recorded losses and accuracies. Without the AdamW state the second epoch
/// would start from zero moments and differ. On the way, a kill between the state write and
/// the move of the best checkpoint into out_dir is simulated and rolled forward.
#[test]
fn resume_is_bit_identical_to_an_uninterrupted_run() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let init = tempfile::tempdir().unwrap();
    init_dir(init.path());
    let (train, dev) = (toy_task(96, 4), toy_task(32, 5));
    let cfg = FineTuneConfig {
        epochs: 2,
        ..config()
    };

    let straight = tempfile::tempdir().unwrap();
    let a = fine_tune(init.path(), &train, &dev, 2, &cfg, straight.path()).unwrap();
    assert_eq!(a.history.len(), 2);

    let split = tempfile::tempdir().unwrap();
    let first = fine_tune_epochs(init.path(), &train, &dev, 2, &cfg, split.path(), 1).unwrap();
    assert_eq!((first.history.len(), first.best_epoch), (1, 1));
    let resume = split.path().join("resume");
    assert_eq!(
        entries(&resume),
        [
            "epoch-1.safetensors",
            "optimizer-1.safetensors",
            "state.json"
        ]
    );

    // Killed after state.json recorded best-1 but before its files moved into out_dir.
    let model = split.path().join("model.safetensors");
    let best_bytes = bytes(&model);
    std::fs::create_dir(resume.join("best-1")).unwrap();
    std::fs::rename(&model, resume.join("best-1/model.safetensors")).unwrap();
    fine_tune_epochs(init.path(), &train, &dev, 2, &cfg, split.path(), 0).unwrap();
    assert_eq!(
        bytes(&model),
        best_bytes,
        "the staged best was not moved in"
    );
    assert!(!resume.join("best-1").exists());
    // A state whose best checkpoint is gone is an error naming the state file, not a restart.
    std::fs::remove_file(&model).unwrap();
    let err = fine_tune_epochs(init.path(), &train, &dev, 2, &cfg, split.path(), 0).unwrap_err();
    assert!(
        matches!(err, TeacherError::WorkDir { .. }) && err.to_string().contains("neither"),
        "{err}"
    );
    std::fs::write(&model, &best_bytes).unwrap();

    let b = fine_tune(init.path(), &train, &dev, 2, &cfg, split.path()).unwrap();
    assert_eq!(b.best_epoch, a.best_epoch);
    assert_eq!(b.best_dev_accuracy, a.best_dev_accuracy);
    for (ra, rb) in a.history.iter().zip(&b.history) {
        assert_eq!(
            (ra.epoch, ra.train_loss.to_bits(), ra.dev_accuracy.to_bits()),
            (rb.epoch, rb.train_loss.to_bits(), rb.dev_accuracy.to_bits()),
            "history {:?} vs {:?}",
            a.history,
            b.history
        );
    }
    let last = |dir: &Path| bytes(&dir.join("resume/epoch-2.safetensors"));
    assert!(
        last(straight.path()) == last(split.path()),
        "final weights differ after resume"
    );
    assert!(bytes(&straight.path().join("model.safetensors")) == bytes(&model));
    assert_eq!(
        bytes(&straight.path().join("resume/optimizer-2.safetensors")),
        bytes(&resume.join("optimizer-2.safetensors"))
    );
    assert_eq!(
        entries(&resume),
        [
            "epoch-1.safetensors",
            "epoch-2.safetensors",
            "optimizer-2.safetensors",
            "state.json"
        ]
    );
    assert_eq!(
        bert_teacher::epoch_weights(split.path(), 1),
        resume.join("epoch-1.safetensors")
    );
    assert!(split.path().join("fine_tune.json").exists());
}

/// An absurd learning rate blows the weights up; the run stops with an error naming the epoch
/// and step, and leaves no resume state or best checkpoint behind.
#[test]
fn non_finite_loss_stops_with_an_error() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let init = tempfile::tempdir().unwrap();
    init_dir(init.path());
    let (train, dev) = (toy_task(64, 6), toy_task(16, 7));
    let cfg = FineTuneConfig {
        epochs: 1,
        lr: 1e30,
        warmup_ratio: 0.0,
        ..config()
    };
    let out = tempfile::tempdir().unwrap();
    let err = fine_tune(init.path(), &train, &dev, 2, &cfg, out.path()).unwrap_err();
    let TeacherError::NonFinite {
        epoch,
        step,
        steps_per_epoch,
        value,
        ..
    } = &err
    else {
        panic!("expected NonFinite, got {err}");
    };
    assert_eq!((*epoch, *steps_per_epoch), (1, 8));
    assert!((2..=8).contains(step), "step {step}");
    assert!(!value.is_finite());
    let msg = err.to_string();
    assert!(msg.contains("epoch 1, step"), "{msg}");
    assert!(!out.path().join("resume/state.json").exists());
    assert!(!out.path().join("model.safetensors").exists());
}
