//! The BiLSTM forward (both directions, padded batches) and the pair features against PyTorch
//! (`fixtures/gen_student.py`, which packs its batches), and padding invariance.

use bilstm_student::{
    Batch, EmbeddingConfig, EmbeddingMode, Encoded, StudentConfig, StudentModel, Vocab, VocabConfig,
};
use serde_json::Value;
use tch::{nn, Device, Tensor};

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/student_forward.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("missing fixture {path} ({e}); run tests/fixtures/gen_student.py")
    });
    serde_json::from_str(&text).unwrap()
}

fn ids(v: &Value) -> Vec<Vec<i64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect()
        })
        .collect()
}

fn build(fx: &Value, pair: bool) -> (StudentModel, nn::VarStore) {
    let dim = |k: &str| fx[k].as_u64().unwrap() as usize;
    let cfg = StudentConfig {
        embedding: EmbeddingConfig {
            mode: EmbeddingMode::Multichannel,
            vectors: None,
            dim: dim("dim"),
            init_range: 0.25,
        },
        hidden_dim: dim("hidden_dim"),
        fc_dim: dim("fc_dim"),
        num_classes: dim("num_classes"),
        dropout: 0.5,
        pair,
        ..Default::default()
    };
    let words: Vec<String> = (2..dim("vocab_size")).map(|i| format!("w{i:02}")).collect();
    let vocab = Vocab::build(words.iter().map(String::as_str), &VocabConfig::default());
    assert_eq!(vocab.len(), dim("vocab_size"));
    let vs = nn::VarStore::new(Device::Cpu);
    let model = StudentModel::with_vectors(vs.root(), &cfg, vocab, None).unwrap();
    let case = &fx[if pair { "pair" } else { "single" }];
    let weights = case["weights"].as_object().unwrap();
    let vars = vs.variables();
    assert_eq!(
        vars.len(),
        weights.len(),
        "parameter sets differ: {:?}",
        vars.keys()
    );
    for (name, w) in weights {
        let shape: Vec<i64> = w["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        let data: Vec<f32> = w["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let mut var = vars
            .get(name)
            .unwrap_or_else(|| panic!("no variable {name}"))
            .shallow_clone();
        assert_eq!(var.size(), shape, "{name}");
        tch::no_grad(|| var.copy_(&Tensor::from_slice(&data).view(shape.as_slice())));
    }
    (model, vs)
}

fn expected(case: &Value) -> Vec<Vec<f64>> {
    case["expected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

fn assert_close(got: &Tensor, want: &[Vec<f64>]) {
    let got: Vec<Vec<f32>> = Vec::try_from(got).unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        for (a, b) in g.iter().zip(w) {
            assert!((*a as f64 - b).abs() < 1e-5, "got {g:?}, want {w:?}");
        }
    }
}

#[test]
fn single_sentence_logits_match_pytorch_packed_lstm() {
    let fx = fixture();
    let (model, _vs) = build(&fx, false);
    let enc: Vec<Encoded> = ids(&fx["single"]["a"])
        .into_iter()
        .map(|a| Encoded::new(a, None))
        .collect();
    let refs: Vec<&Encoded> = enc.iter().collect();
    let logits = model.forward_t(&Batch::new(&refs).unwrap(), false).unwrap();
    assert_close(&logits, &expected(&fx["single"]));
}

#[test]
fn pair_logits_match_pytorch() {
    let fx = fixture();
    let (model, _vs) = build(&fx, true);
    let enc: Vec<Encoded> = ids(&fx["pair"]["a"])
        .into_iter()
        .zip(ids(&fx["pair"]["b"]))
        .map(|(a, b)| Encoded::new(a, Some(b)))
        .collect();
    let refs: Vec<&Encoded> = enc.iter().collect();
    let logits = model.forward_t(&Batch::new(&refs).unwrap(), false).unwrap();
    assert_close(&logits, &expected(&fx["pair"]));
}

#[test]
fn logits_do_not_depend_on_batch_or_bucket_length() {
    let fx = fixture();
    let (model, _vs) = build(&fx, false);
    let sentences = ids(&fx["single"]["a"]);
    let want = expected(&fx["single"]);
    // A 30-token neighbour pushes the bucket from 8 to 32.
    let long = Encoded::new((0..30).map(|i| 2 + i % 9).collect(), None);
    for (s, w) in sentences.into_iter().zip(&want) {
        let e = Encoded::new(s, None);
        let alone = model.forward_t(&Batch::new(&[&e]).unwrap(), false).unwrap();
        let mixed = model
            .forward_t(&Batch::new(&[&long, &e]).unwrap(), false)
            .unwrap();
        assert_eq!(Batch::new(&[&long, &e]).unwrap().ids_a.size()[1], 32);
        assert_close(&alone, std::slice::from_ref(w));
        assert_close(&mixed.get(1).unsqueeze(0), std::slice::from_ref(w));
    }
}

#[test]
fn bad_batches_are_errors_not_panics() {
    let fx = fixture();
    let (model, _vs) = build(&fx, false);
    let too_long = Batch {
        ids_a: Tensor::from_slice(&[1i64, 2]).view([1, 2]),
        lengths_a: Tensor::from_slice(&[3i64]),
        ids_b: None,
        lengths_b: None,
    };
    assert!(model
        .forward_t(&too_long, false)
        .unwrap_err()
        .to_string()
        .contains("seq_len"));
    let oov = Batch {
        ids_a: Tensor::from_slice(&[99i64]).view([1, 1]),
        lengths_a: Tensor::from_slice(&[1i64]),
        ids_b: None,
        lengths_b: None,
    };
    assert!(model
        .forward_t(&oov, false)
        .unwrap_err()
        .to_string()
        .contains("vocab_size"));
    assert!(model.encode("a", Some("b")).is_err());
}
