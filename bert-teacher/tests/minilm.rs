//! The real teacher checkpoint, all-MiniLM-L6-v2 (.cache/minilm, installed by
//! scripts/setup.sh): tokenisation equals HF's tokenizer ids and the [CLS] last hidden state of
//! two sentences equals PyTorch's (first 8 dims and L2 norm, 1e-4).

mod common;

use bert_teacher::bert::{BertConfig, BertModel};
use bert_teacher::checkpoint::load_safetensors;
use bert_teacher::tokenize::{collate, TeacherTokenizer};
use common::{floats, json};
use kd_core::data::Example;
use std::path::PathBuf;
use tch::{nn::VarStore, Device};

fn minilm_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/minilm");
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(
            dir.join(file).is_file(),
            "all-MiniLM-L6-v2 is missing ({} not found): run scripts/setup.sh",
            dir.join(file).display()
        );
    }
    dir
}

fn example(a: &str, b: Option<&str>) -> Example {
    Example {
        text_a: a.into(),
        text_b: b.map(Into::into),
        label: None,
        index: None,
    }
}

#[test]
fn tokenisation_matches_hf() {
    let tokenizer = TeacherTokenizer::from_file(&minilm_dir().join("tokenizer.json")).unwrap();
    let expected = json("minilm_expected.json");
    let cases = expected["tokenization"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let ex = example(case["text_a"].as_str().unwrap(), case["text_b"].as_str());
        let max_len = case["max_len"].as_u64().unwrap() as usize;
        let enc = tokenizer
            .encode_all(std::slice::from_ref(&ex), max_len)
            .unwrap()
            .remove(0);
        let ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        let type_ids: Vec<u32> = serde_json::from_value(case["type_ids"].clone()).unwrap();
        assert_eq!(enc.ids, ids, "ids of {ex:?}");
        assert_eq!(enc.type_ids, type_ids, "type ids of {ex:?}");
    }
}

#[test]
fn cls_hidden_state_matches_pytorch() {
    let dir = minilm_dir();
    let cfg = BertConfig::from_file(&dir.join("config.json")).unwrap();
    assert_eq!(
        (
            cfg.num_hidden_layers,
            cfg.hidden_size,
            cfg.num_attention_heads
        ),
        (6, 384, 12)
    );
    let mut vs = VarStore::new(Device::Cpu);
    let model = BertModel::new(vs.root(), &cfg, false);
    let report = load_safetensors(&mut vs, &dir.join("model.safetensors"), |_| false).unwrap();
    assert!(report.initialised.is_empty());
    let tokenizer = TeacherTokenizer::from_file(&dir.join("tokenizer.json")).unwrap();
    let expected = json("minilm_expected.json");
    let sentences: Vec<Example> = expected["cls_sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| example(s.as_str().unwrap(), None))
        .collect();
    let encoded = tokenizer.encode_all(&sentences, 128).unwrap();
    let input = collate(&encoded.iter().collect::<Vec<_>>(), tokenizer.pad_id());
    let out = tch::no_grad(|| model.forward_t(&input, false)).unwrap();
    let cls = out.last_hidden_state.select(1, 0);
    for (i, (first8, norm)) in expected["cls_first8"]
        .as_array()
        .unwrap()
        .iter()
        .zip(floats(&expected["cls_norm"]))
        .enumerate()
    {
        let row = cls.get(i as i64);
        let got = Vec::<f32>::try_from(row.narrow(0, 0, 8)).unwrap();
        let d = common::max_abs_diff(&got, &floats(first8));
        assert!(
            d < 1e-4,
            "sentence {i}: first 8 dims differ by {d}: {got:?}"
        );
        let got_norm = row.norm().double_value(&[]) as f32;
        assert!(
            (got_norm - norm).abs() < 1e-4,
            "sentence {i}: norm {got_norm} vs {norm}"
        );
    }
}
