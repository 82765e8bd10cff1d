//! The fine-tuning optimiser ([`bert_teacher::finetune::build_optimizer`] +
//! [`bert_teacher::finetune::optimizer_step`], i.e. `kd_core::optim::AdamW`) against the
//! `tch::nn::AdamW` it replaced (libtorch's C++ AdamW via `backward_step_clip_norm`, biases and
//! LayerNorm in a zero-decay group), on the tiny fixture BERT: the weights must stay
//! bit-identical step after step, so the default teacher's numbers do not change.

mod common;

use bert_teacher::bert::{BertConfig, BertForSequenceClassification, BertInput, NO_DECAY_GROUP};
use bert_teacher::checkpoint::load_safetensors;
use bert_teacher::finetune::{build_optimizer, optimizer_step, MAX_GRAD_NORM};
use bert_teacher::FineTuneConfig;
use common::fixture;
use kd_core::optim::linear_warmup_decay;
use tch::nn::{OptimizerConfig, VarStore};
use tch::{nn, Device, Kind, Tensor};

const STEPS: usize = 12;
/// Scales the loss of every third step so that the tiny model's gradients exceed
/// [`MAX_GRAD_NORM`] there (unscaled, they stay below it): clipping is exercised both ways.
fn loss_scale(step: usize) -> f64 {
    if step.is_multiple_of(3) {
        20.0
    } else {
        1.0
    }
}

/// The tiny pre-trained encoder with a fresh classifier seeded identically for both runs.
fn tiny_model() -> (VarStore, BertForSequenceClassification) {
    let cfg = BertConfig::from_file(&fixture("tiny_bert/config.json")).unwrap();
    tch::manual_seed(5);
    let mut vs = VarStore::new(Device::Cpu);
    let model = BertForSequenceClassification::new(vs.root(), &cfg, 2);
    load_safetensors(&mut vs, &fixture("tiny_bert_bare.safetensors"), |n| {
        n.starts_with("classifier.")
    })
    .unwrap();
    (vs, model)
}

/// A seeded batch with padding: ids below the vocabulary size, a mask with trailing zeros.
fn batch(step: usize, vocab_size: i64) -> (BertInput, Tensor) {
    tch::manual_seed(1000 + step as i64);
    let (batch_size, seq_len) = (8, 12);
    let input_ids = Tensor::randint(
        vocab_size,
        [batch_size, seq_len],
        (Kind::Int64, Device::Cpu),
    );
    let lengths = Tensor::randint_low(3, seq_len + 1, [batch_size, 1], (Kind::Int64, Device::Cpu));
    let positions = Tensor::arange(seq_len, (Kind::Int64, Device::Cpu)).unsqueeze(0);
    let attention_mask = positions.lt_tensor(&lengths).to_kind(Kind::Int64);
    let labels = Tensor::randint(2, [batch_size], (Kind::Int64, Device::Cpu));
    let input = BertInput {
        input_ids: input_ids * &attention_mask,
        token_type_ids: Tensor::zeros([batch_size, seq_len], (Kind::Int64, Device::Cpu)),
        attention_mask,
    };
    (input, labels)
}

/// Every variable's bits, by name.
fn weights(vs: &VarStore) -> Vec<(String, Vec<u32>)> {
    let mut named: Vec<(String, Vec<u32>)> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| {
            let bits = Vec::<f32>::try_from(t.detach().flatten(0, -1))
                .unwrap()
                .into_iter()
                .map(f32::to_bits)
                .collect();
            (k, bits)
        })
        .collect();
    named.sort();
    named
}

#[test]
fn fine_tune_optimiser_is_bit_identical_to_tch_adamw() {
    let cfg = FineTuneConfig {
        lr: 3e-3,
        weight_decay: 0.01,
        ..FineTuneConfig::default()
    };
    let vocab_size = BertConfig::from_file(&fixture("tiny_bert/config.json"))
        .unwrap()
        .vocab_size as i64;
    let lr_at = |step| cfg.lr * linear_warmup_decay(step, 3, STEPS);

    let (tch_vs, tch_model) = tiny_model();
    let (our_vs, our_model) = tiny_model();
    let initial = weights(&tch_vs);
    assert_eq!(initial, weights(&our_vs), "the two models start apart");
    let no_decay = tch_vs
        .variables_
        .lock()
        .unwrap()
        .trainable_variables
        .iter()
        .filter(|v| v.group == NO_DECAY_GROUP)
        .count();
    assert!(
        no_decay > 0,
        "no zero-decay variables: the group is not exercised"
    );

    let mut tch_opt = nn::AdamW {
        wd: cfg.weight_decay,
        ..Default::default()
    }
    .build(&tch_vs, cfg.lr)
    .unwrap();
    tch_opt.set_weight_decay_group(NO_DECAY_GROUP, 0.0);
    let mut opt = build_optimizer(&our_vs, &cfg).unwrap();

    let mut clipped = 0;
    for step in 0..STEPS {
        let (input, labels) = batch(step, vocab_size);
        // Same dropout masks on both sides.
        tch::manual_seed(step as i64);
        let loss = tch_model
            .forward_t(&input, true)
            .unwrap()
            .cross_entropy_for_logits(&labels)
            * loss_scale(step);
        tch_opt.set_lr(lr_at(step));
        tch_opt.backward_step_clip_norm(&loss, MAX_GRAD_NORM);

        tch::manual_seed(step as i64);
        let loss = our_model
            .forward_t(&input, true)
            .unwrap()
            .cross_entropy_for_logits(&labels)
            * loss_scale(step);
        opt.set_lr(lr_at(step));
        let norm = optimizer_step(&mut opt, &loss).unwrap();
        clipped += usize::from(norm > MAX_GRAD_NORM);

        let (theirs, ours) = (weights(&tch_vs), weights(&our_vs));
        for ((name, a), (_, b)) in theirs.iter().zip(&ours) {
            let differ = a.iter().zip(b).filter(|(x, y)| x != y).count();
            assert_eq!(
                differ,
                0,
                "step {}: {name}: {differ} of {} differ",
                step + 1,
                a.len()
            );
        }
    }
    assert!(
        clipped > 0 && clipped < STEPS,
        "{clipped} of {STEPS} steps clipped: clipping is not exercised both ways"
    );
    assert_ne!(
        weights(&our_vs),
        initial,
        "training did not move the weights"
    );
}
