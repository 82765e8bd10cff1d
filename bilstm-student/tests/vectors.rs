//! Pre-trained vectors: text format, npy + parquet (the real GloVe 6B files), errors, and the
//! embedding tables built from them.

use bilstm_student::vectors::{read_npy_f32, read_text_vectors, read_word_index};
use bilstm_student::{
    EmbeddingConfig, EmbeddingMode, StudentConfig, StudentModel, Vocab, VocabConfig, WordVectors,
};
use std::collections::HashSet;
use std::path::PathBuf;
use tch::{nn, Device};

fn glove_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.cache/glove"));
    assert!(
        dir.join("glove_6B_50d_emb.npy").exists() && dir.join("glove_6B_index.parquet").exists(),
        "GloVe files missing in {} (scripts/setup.sh installs them)",
        dir.display()
    );
    dir
}

#[test]
fn text_vectors_keep_only_vocab_words_and_skip_word2vec_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vec.txt");
    std::fs::write(&path, "3 2\nfilm 0.5 -1\nthe 1 2\nzebra 3 4\n").unwrap();
    let vocab = Vocab::build(["the film rocks"], &VocabConfig::default());
    let v = WordVectors::load(&path, &vocab).unwrap();
    assert_eq!(v.dim, 2);
    assert_eq!(v.vectors.len(), 2);
    assert_eq!(v.vectors["film"], vec![0.5, -1.0]);
}

#[test]
fn bad_vector_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wanted: HashSet<&str> = ["a"].into_iter().collect();
    let ragged = dir.path().join("ragged.txt");
    std::fs::write(&ragged, "a 1 2 3\nb 1 2\n").unwrap();
    let e = read_text_vectors(&ragged, &wanted).unwrap_err().to_string();
    assert!(
        e.contains("ragged.txt:2") && e.contains("expected 3"),
        "{e}"
    );
    let nan = dir.path().join("nan.txt");
    std::fs::write(&nan, "a 1 x\n").unwrap();
    let e = read_text_vectors(&nan, &wanted).unwrap_err().to_string();
    assert!(e.contains("nan.txt:1") && e.contains("\"x\""), "{e}");
    let npy = dir.path().join("bad.npy");
    std::fs::write(&npy, b"not numpy").unwrap();
    assert!(read_npy_f32(&npy)
        .unwrap_err()
        .to_string()
        .contains("bad.npy"));
    let missing = dir.path().join("nope.txt");
    assert!(read_text_vectors(&missing, &wanted)
        .unwrap_err()
        .to_string()
        .contains("nope.txt"));
    // A vectors directory without its parquet index.
    let vdir = dir.path().join("vecs");
    std::fs::create_dir(&vdir).unwrap();
    std::fs::copy(&npy, vdir.join("m.npy")).unwrap();
    let vocab = Vocab::build(["a"], &VocabConfig::default());
    let e = WordVectors::load(&vdir, &vocab).unwrap_err().to_string();
    assert!(e.contains("*.parquet"), "{e}");
}

#[test]
fn glove_npy_and_parquet_index_line_up() {
    let dir = glove_dir();
    let words = read_word_index(&dir.join("glove_6B_index.parquet")).unwrap();
    assert_eq!(words.len(), 400_000);
    assert_eq!(words[0].as_deref(), Some("the"));
    assert_eq!(words[1].as_deref(), Some(","));
    assert_eq!(words[3].as_deref(), Some("of"));
    let m = read_npy_f32(&dir.join("glove_6B_50d_emb.npy")).unwrap();
    assert_eq!((m.rows, m.cols), (400_000, 50));
    // GloVe 6B 50d, first values of "the": 0.418 0.24968 -0.41242 (glove.6B.50d.txt, line 1).
    assert!(
        (m.row(0)[0] - 0.418).abs() < 1e-6 && (m.row(0)[1] - 0.24968).abs() < 1e-6,
        "{:?}",
        &m.row(0)[..3]
    );
}

#[test]
fn multichannel_glove_model_copies_vectors_and_freezes_one_channel() {
    let vocab = Vocab::build(["the movie was qwxzvbnm [MASK]"], &VocabConfig::default());
    let cfg = StudentConfig {
        embedding: EmbeddingConfig {
            mode: EmbeddingMode::Multichannel,
            vectors: Some(glove_dir()),
            ..Default::default()
        },
        ..Default::default()
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let model = StudentModel::new(vs.root(), &cfg, vocab.clone()).unwrap();
    assert_eq!(model.config().embedding.dim, 50);
    assert_eq!(model.param_count_without_embeddings(), 363_002);
    assert_eq!(
        model.param_count_with_embeddings(),
        363_002 + vocab.len() * 100
    );
    let vars = vs.variables();
    let frozen = &vars["encoder.embedding.static.weight"];
    let trained = &vars["encoder.embedding.non_static.weight"];
    assert!(!frozen.requires_grad() && trained.requires_grad());
    assert_eq!(vs.trainable_variables().len(), vars.len() - 1);
    let the = vocab.id("the");
    assert!((frozen.double_value(&[the, 0]) - 0.418).abs() < 1e-6);
    assert!(frozen.equal(&trained.detach()));
    assert_eq!(
        frozen.get(0).abs().sum(tch::Kind::Float).double_value(&[]),
        0.0,
        "[PAD] row must be zero"
    );
    let unk = frozen.get(vocab.id("qwxzvbnm"));
    assert!(
        unk.abs().max().double_value(&[]) <= 0.25,
        "unknown words are U(-0.25, 0.25)"
    );
}
