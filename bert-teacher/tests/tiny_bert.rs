//! The tch BERT against transformers' BertModel / BertForSequenceClassification on a tiny random
//! config (fixtures from tests/fixtures/make_fixtures.py), tolerance 1e-5; checkpoint errors.

mod common;

use bert_teacher::bert::{BertConfig, BertForSequenceClassification, BertInput, BertModel};
use bert_teacher::checkpoint::load_safetensors;
use bert_teacher::{Teacher, TeacherError};
use common::{examples, fixture, floats, json, max_abs_diff};
use kd_core::Classifier;
use tch::{nn::VarStore, Device, Kind, Tensor};

const TOL: f32 = 1e-5;

fn fixture_input(expected: &serde_json::Value) -> BertInput {
    let t = |key: &str| {
        let rows: Vec<Vec<i64>> = serde_json::from_value(expected[key].clone()).unwrap();
        let (n, s) = (rows.len() as i64, rows[0].len() as i64);
        Tensor::from_slice(&rows.concat()).view([n, s])
    };
    BertInput {
        input_ids: t("input_ids"),
        token_type_ids: t("token_type_ids"),
        attention_mask: t("attention_mask"),
    }
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()
}

#[test]
fn classifier_matches_pytorch() {
    let expected = json("tiny_bert_expected.json");
    let cfg = BertConfig::from_file(&fixture("tiny_bert/config.json")).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let model = BertForSequenceClassification::new(vs.root(), &cfg, 3);
    let report =
        load_safetensors(&mut vs, &fixture("tiny_bert/model.safetensors"), |_| false).unwrap();
    assert!(
        report.initialised.is_empty() && report.unused.is_empty(),
        "{report:?}"
    );
    let input = fixture_input(&expected);
    let out = tch::no_grad(|| model.bert().forward_t(&input, false)).unwrap();
    assert_eq!(
        out.last_hidden_state.size(),
        serde_json::from_value::<Vec<i64>>(expected["last_hidden_state_shape"].clone()).unwrap()
    );
    let d = max_abs_diff(
        &to_vec(&out.last_hidden_state),
        &floats(&expected["last_hidden_state"]),
    );
    assert!(d < TOL, "last_hidden_state differs by {d}");
    let pooled = out.pooler_output.unwrap();
    let d = max_abs_diff(&to_vec(&pooled), &floats(&expected["pooler_output"]));
    assert!(d < TOL, "pooler_output differs by {d}");
    let logits = tch::no_grad(|| model.forward_t(&input, false)).unwrap();
    let d = max_abs_diff(&to_vec(&logits), &floats(&expected["logits"]));
    assert!(d < TOL, "logits differ by {d}");
}

#[test]
fn bare_checkpoint_with_legacy_names_loads_into_bert_model() {
    let expected = json("tiny_bert_expected.json");
    let cfg = BertConfig::from_file(&fixture("tiny_bert/config.json")).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let model = BertModel::new(vs.root(), &cfg, true);
    let report =
        load_safetensors(&mut vs, &fixture("tiny_bert_bare.safetensors"), |_| false).unwrap();
    assert!(report.unused.is_empty(), "{report:?}");
    let out = tch::no_grad(|| model.forward_t(&fixture_input(&expected), false)).unwrap();
    let d = max_abs_diff(
        &to_vec(&out.last_hidden_state),
        &floats(&expected["last_hidden_state"]),
    );
    assert!(d < TOL, "last_hidden_state differs by {d}");
}

#[test]
fn teacher_tokenises_and_predicts_like_pytorch() {
    let expected = json("tiny_bert_expected.json");
    let mut teacher = Teacher::load(&fixture("tiny_bert"), Device::Cpu).unwrap();
    assert_eq!(teacher.num_labels(), 3);
    teacher
        .set_max_len(expected["max_len"].as_u64().unwrap() as usize)
        .unwrap();
    let exs = examples(&expected["examples"]);
    let encoded = teacher.encode(&exs).unwrap();
    let ids: Vec<Vec<u32>> = serde_json::from_value(expected["ids"].clone()).unwrap();
    let type_ids: Vec<Vec<u32>> = serde_json::from_value(expected["type_ids"].clone()).unwrap();
    assert_eq!(
        encoded.iter().map(|e| e.ids.clone()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(
        encoded
            .iter()
            .map(|e| e.type_ids.clone())
            .collect::<Vec<_>>(),
        type_ids
    );
    // Batch size 2 puts examples of different lengths in other batches than PyTorch's.
    let logits = teacher.predict_logits(&exs, 2, false).unwrap();
    let d = max_abs_diff(&logits, &floats(&expected["logits"]));
    assert!(d < TOL, "logits differ by {d}");
}

#[test]
fn saved_teacher_reloads_with_identical_logits() {
    let expected = json("tiny_bert_expected.json");
    let exs = examples(&expected["examples"]);
    let teacher = Teacher::load(&fixture("tiny_bert"), Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    teacher.save(dir.path()).unwrap();
    let reloaded = Teacher::load(dir.path(), Device::Cpu).unwrap();
    assert_eq!(reloaded.param_count(false), teacher.param_count(false));
    assert_eq!(
        reloaded.predict_logits(&exs, 4, false).unwrap(),
        teacher.predict_logits(&exs, 4, false).unwrap()
    );
}

#[test]
fn wrong_shape_is_an_error_naming_tensor_and_shapes() {
    // The fixture's classifier has 3 labels.
    let err = Teacher::from_pretrained(&fixture("tiny_bert"), 2, Device::Cpu).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TeacherError::Checkpoint { .. }), "{msg}");
    assert!(
        msg.contains("tensor classifier.bias has shape [3], the model expects [2]"),
        "{msg}"
    );
}

#[test]
fn missing_tensor_is_an_error_unless_it_may_be_fresh() {
    let cfg = BertConfig::from_file(&fixture("tiny_bert/config.json")).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let _model = BertForSequenceClassification::new(vs.root(), &cfg, 2);
    let bare = fixture("tiny_bert_bare.safetensors");
    let msg = load_safetensors(&mut vs, &bare, |_| false)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("classifier.bias") && msg.contains("missing"),
        "{msg}"
    );
    let report = load_safetensors(&mut vs, &bare, |n| n.starts_with("classifier.")).unwrap();
    assert_eq!(report.initialised, ["classifier.bias", "classifier.weight"]);
}

#[test]
fn bad_input_ids_are_an_error_not_a_panic() {
    let cfg = BertConfig::from_file(&fixture("tiny_bert/config.json")).unwrap();
    let vs = VarStore::new(Device::Cpu);
    let model = BertModel::new(vs.root(), &cfg, false);
    let ids = Tensor::from_slice(&[2i64, 64, 3]).view([1, 3]);
    let input = BertInput {
        token_type_ids: ids.zeros_like(),
        attention_mask: ids.ones_like(),
        input_ids: ids,
    };
    let msg = model.forward_t(&input, false).unwrap_err().to_string();
    assert!(
        msg.contains("input_ids") && msg.contains("[0, 64)"),
        "{msg}"
    );
}

#[test]
fn param_count_matches_a_hand_count_of_the_tiny_config() {
    // config.json: hidden 32, vocab 64, 40 positions, 2 token types, intermediate 37, 2 layers;
    // 3 labels.
    let (h, vocab, positions, types, inter, layers, labels) = (32, 64, 40, 2, 37, 2, 3);
    let tables = (vocab + positions + types) * h; // 3,392
    let layer_norm = 2 * h;
    let dense = |i: usize, o: usize| i * o + o;
    let layer = 4 * dense(h, h) + layer_norm + dense(h, inter) + dense(inter, h) + layer_norm;
    let rest = layer_norm + layers * layer + dense(h, h) + dense(h, labels);
    assert_eq!((tables, rest), (3_392, 14_797));
    let teacher = Teacher::load(&fixture("tiny_bert"), Device::Cpu).unwrap();
    assert_eq!(teacher.param_count(false), tables + rest);
    assert_eq!(teacher.param_count(true), rest);
}

#[test]
fn teacher_is_a_classifier() {
    let expected = json("tiny_bert_expected.json");
    let exs = examples(&expected["examples"]);
    let teacher = Teacher::load(&fixture("tiny_bert"), Device::Cpu).unwrap();
    let clf: &dyn Classifier = &teacher;
    assert_eq!((clf.num_classes(), clf.is_pair()), (3, false));
    let logits = clf.predict_logits(&exs, 3).unwrap();
    assert_eq!(logits, teacher.predict_logits(&exs, 3, false).unwrap());
    let proba = clf.predict_proba(&exs, 3, 1.0).unwrap();
    assert_eq!(proba.len(), exs.len() * 3);
    for row in proba.chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
    }
    let msg = clf.predict_logits(&exs, 0).unwrap_err().to_string();
    assert!(msg.contains("batch_size"), "{msg}");
}

/// A teacher saved in float16 or bfloat16 (half the file; how many Hugging Face checkpoints ship)
/// loads back as a float32 model whose logits are within the half type's rounding of the original.
#[test]
fn half_precision_checkpoints_load_as_float32() {
    let exs = examples(&json("tiny_bert_expected.json")["examples"]);
    let teacher = Teacher::load(&fixture("tiny_bert"), Device::Cpu).unwrap();
    let want = teacher.predict_logits(&exs, 4, false).unwrap();
    let full = std::fs::metadata(fixture("tiny_bert").join("model.safetensors"))
        .unwrap()
        .len();
    for (kind, dtype, tol) in [(Kind::Half, "F16", 2e-2), (Kind::BFloat16, "BF16", 1e-1)] {
        let dir = tempfile::tempdir().unwrap();
        teacher.save_as(dir.path(), kind).unwrap();
        let weights = dir.path().join("model.safetensors");
        let bytes = std::fs::read(&weights).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
        assert!(
            header.contains(&format!("\"dtype\":\"{dtype}\"")),
            "{header}"
        );
        assert!(!header.contains("\"F32\""), "every weight is {dtype}");
        assert!(
            (bytes.len() as u64) < full * 6 / 10,
            "{dtype}: {} bytes vs {full}",
            bytes.len()
        );
        let half = Teacher::load(dir.path(), Device::Cpu).unwrap();
        let got = half.predict_logits(&exs, 4, false).unwrap();
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= tol, "{dtype}: logits differ by up to {worst}");
        assert!(worst > 0.0, "{dtype}: the weights were not rounded");
    }
}

/// The tiny teacher's logits on CUDA equal the CPU's within 1e-4 (from the float32 and the
/// float16 checkpoint). Needs a device: `scripts/gpu-check.sh` runs it
/// (`cargo test --release -p bert-teacher --test tiny_bert -- --include-ignored`).
#[test]
#[ignore = "needs a CUDA device (scripts/gpu-check.sh runs it)"]
fn cuda_logits_match_the_cpu() {
    assert!(
        tch::Cuda::is_available(),
        "no CUDA device: libtorch sees none (a CUDA build and LD_LIBRARY_PATH at a CUDA libtorch?)"
    );
    let exs = examples(&json("tiny_bert_expected.json")["examples"]);
    let cpu = Teacher::load(&fixture("tiny_bert"), Device::Cpu).unwrap();
    let gpu = Teacher::load(&fixture("tiny_bert"), Device::Cuda(0)).unwrap();
    let diff = max_abs_diff(
        &gpu.predict_logits(&exs, 4, false).unwrap(),
        &cpu.predict_logits(&exs, 4, false).unwrap(),
    );
    assert!(diff <= 1e-4, "CPU and CUDA logits differ by {diff}");
}

/// `convert_safetensors` casts a checkpoint's float tensors and copies its integer ones (BERT's
/// `position_ids` buffer in all-MiniLM-L6-v2): the float16 copy of a checkpoint dir loads.
#[test]
fn converted_checkpoints_keep_integer_tensors_and_load() {
    use bert_teacher::checkpoint::convert_safetensors;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("with_ids.safetensors");
    let mut named =
        Tensor::read_safetensors(fixture("tiny_bert").join("model.safetensors")).unwrap();
    named.push((
        "bert.embeddings.position_ids".into(),
        Tensor::arange(8, (Kind::Int64, Device::Cpu)).unsqueeze(0),
    ));
    Tensor::write_safetensors(&named, &src).unwrap();
    let out = dir.path().join("half");
    std::fs::create_dir_all(&out).unwrap();
    convert_safetensors(&src, &out.join("model.safetensors"), Kind::Half).unwrap();
    let back = Tensor::read_safetensors(out.join("model.safetensors")).unwrap();
    assert_eq!(back.len(), named.len());
    for (name, t) in &back {
        let want = if name.ends_with("position_ids") {
            Kind::Int64
        } else {
            Kind::Half
        };
        assert_eq!(t.kind(), want, "{name}");
    }
    let ids = &back
        .iter()
        .find(|(n, _)| n.ends_with("position_ids"))
        .unwrap()
        .1;
    assert_eq!(
        Vec::<i64>::try_from(ids.flatten(0, -1)).unwrap(),
        (0..8).collect::<Vec<_>>()
    );
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(fixture("tiny_bert").join(f), out.join(f)).unwrap();
    }
    let exs = examples(&json("tiny_bert_expected.json")["examples"]);
    let full = Teacher::load(&fixture("tiny_bert"), Device::Cpu).unwrap();
    let half = Teacher::load(&out, Device::Cpu).unwrap();
    let diff = max_abs_diff(
        &half.predict_logits(&exs, 4, false).unwrap(),
        &full.predict_logits(&exs, 4, false).unwrap(),
    );
    assert!(diff <= 2e-2, "float16 copy: logits differ by {diff}");
}
