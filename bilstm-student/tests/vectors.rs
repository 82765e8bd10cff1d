//! Pre-trained vectors: text format, npy + parquet (the real GloVe 6B files), errors, and the
//! embedding tables built from them.

use bilstm_student::vectors::{read_npy_f32, read_text_vectors, read_word_index};
use bilstm_student::{
    EmbeddingConfig, EmbeddingMode, StudentConfig, StudentModel, Vocab, VocabConfig, WordVectors,
};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
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

/// A version-1 `.npy` file with `header` (padded as numpy pads it) followed by `data`.
fn npy_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(h.len()).unwrap().to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn c_header(shape: &str) -> String {
    format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}")
}

/// Writes `bytes` to `dir/name` and returns the error of reading it with `read`, as a string,
/// checking that it names the file.
fn error_of<T: std::fmt::Debug>(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    read: impl Fn(&Path) -> kd_core::Result<T>,
) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let e = read(&path).expect_err(name).to_string();
    assert!(
        e.contains(name),
        "{name}: the error should name the file: {e}"
    );
    assert!(!e.contains('\n'), "{name}: one line: {e:?}");
    e
}

#[test]
fn crafted_npy_files_are_errors_not_panics_or_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // 2^62 rows: rows * cols overflows usize.
        (
            "rows_2_62.npy",
            npy_bytes(
                &c_header("(4611686018427387904, 50)"),
                &f32_bytes(&[1.0; 4]),
            ),
            "overflows",
        ),
        // rows * cols fits, the byte count (x 4) does not.
        (
            "bytes_overflow.npy",
            npy_bytes(&c_header("(4611686018427387904, 1)"), &[]),
            "overflows",
        ),
        // Fits in usize, far more than the file holds: a size error, no allocation.
        (
            "rows_2_60.npy",
            npy_bytes(&c_header("(1152921504606846976, 2)"), &f32_bytes(&[1.0; 4])),
            "truncated",
        ),
        (
            "huge_dim.npy",
            npy_bytes(&c_header("(2, 99999999999999999999999)"), &[]),
            "bad shape",
        ),
        (
            "truncated.npy",
            npy_bytes(&c_header("(2, 3)"), &f32_bytes(&[1.0; 5])),
            "needs 24 data bytes, file has 20",
        ),
        (
            "trailing.npy",
            npy_bytes(&c_header("(2, 3)"), &f32_bytes(&[1.0; 7])),
            "trailing bytes",
        ),
        (
            "three_d.npy",
            npy_bytes(&c_header("(2, 3, 4)"), &f32_bytes(&[1.0; 24])),
            "2-D",
        ),
        (
            "no_cols.npy",
            npy_bytes(&c_header("(2, 0)"), &[]),
            "no columns",
        ),
        (
            "big_endian.npy",
            npy_bytes(
                "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1), }",
                &f32_bytes(&[1.0]),
            ),
            ">f4",
        ),
        (
            "not_a_dict.npy",
            npy_bytes("shape (1, 1)", &f32_bytes(&[1.0])),
            "dict",
        ),
        // A version-2 header length of 4 GiB in a 16-byte file.
        (
            "header_len.npy",
            [
                b"\x93NUMPY\x02\x00".as_slice(),
                &u32::MAX.to_le_bytes(),
                b"{}\n\n",
            ]
            .concat(),
            "truncated .npy header",
        ),
        (
            "v2_short.npy",
            b"\x93NUMPY\x02\x00\x10\x00".to_vec(),
            "truncated .npy header",
        ),
        (
            "version9.npy",
            b"\x93NUMPY\x09\x00\x10\x00".to_vec(),
            "version 9",
        ),
        (
            "nan.npy",
            npy_bytes(&c_header("(2, 2)"), &f32_bytes(&[1.0, 2.0, f32::NAN, 4.0])),
            "row 1, column 0 is NaN",
        ),
        // Fortran order: element (0, 1) is stored second.
        (
            "inf_fortran.npy",
            npy_bytes(
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                &f32_bytes(&[1.0, f32::INFINITY, 3.0, 4.0]),
            ),
            "row 1, column 0 is inf",
        ),
        ("empty.npy", Vec::new(), "magic"),
    ];
    for (name, bytes, want) in cases {
        let e = error_of(d, name, &bytes, read_npy_f32);
        assert!(e.contains(want), "{name}: {e:?} should contain {want:?}");
    }
    // The same writer makes a file that loads, so the cases above fail for the stated reason.
    let ok = d.join("ok.npy");
    std::fs::write(
        &ok,
        npy_bytes(&c_header("(2, 2)"), &f32_bytes(&[1.0, 2.0, 3.0, 4.0])),
    )
    .unwrap();
    assert_eq!(read_npy_f32(&ok).unwrap().row(1), &[3.0, 4.0]);
}

/// Writes a one-column parquet word index (uncompressed, one row group).
fn write_parquet_index(path: &Path, words: &[&[u8]]) {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;
    let schema = parquet::schema::parser::parse_message_type(
        "message schema { REQUIRED BYTE_ARRAY word (UTF8); }",
    )
    .unwrap();
    let props = WriterProperties::builder().build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let values: Vec<ByteArray> = words.iter().map(|w| ByteArray::from(w.to_vec())).collect();
    let mut col = group.next_column().unwrap().unwrap();
    col.typed::<ByteArrayType>()
        .write_batch(&values, None, None)
        .unwrap();
    col.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn parquet_index_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = d.join("good.parquet");
    write_parquet_index(&good, &[b"the", b"film", b"rocks"]);
    let words = read_word_index(&good).unwrap();
    assert_eq!(
        words,
        [
            Some("the".into()),
            Some("film".into()),
            Some("rocks".into())
        ]
    );

    let bad_utf8 = d.join("bad_utf8.parquet");
    write_parquet_index(&bad_utf8, &[b"the", b"fi\xffm", b"rocks"]);
    let e = read_word_index(&bad_utf8).unwrap_err().to_string();
    assert!(
        e.contains("bad_utf8.parquet") && e.contains("row 1 is not UTF-8"),
        "{e}"
    );

    let bytes = std::fs::read(&good).unwrap();
    for (name, bytes) in [
        ("truncated.parquet", bytes[..bytes.len() - 10].to_vec()),
        ("head_cut.parquet", bytes[..bytes.len() / 2].to_vec()),
        (
            "garbage.parquet",
            b"PAR1 not really a parquet file PAR1".to_vec(),
        ),
        ("empty.parquet", Vec::new()),
    ] {
        error_of(d, name, &bytes, read_word_index);
    }
    // Flip every byte of the data pages in turn (the footer left intact): each read either
    // succeeds or fails with an error naming the file, never panics.
    let footer = bytes.len()
        - 8
        - u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap()) as usize;
    let flipped = d.join("flipped.parquet");
    for i in 4..footer {
        let mut b = bytes.clone();
        b[i] ^= 0xff;
        std::fs::write(&flipped, &b).unwrap();
        if let Err(e) = read_word_index(&flipped) {
            assert!(e.to_string().contains("flipped.parquet"), "byte {i}: {e}");
        }
    }
}

#[test]
fn npy_and_index_with_different_row_counts_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let vdir = dir.path().join("vecs");
    std::fs::create_dir(&vdir).unwrap();
    std::fs::write(
        vdir.join("m.npy"),
        npy_bytes(&c_header("(2, 2)"), &f32_bytes(&[1.0, 2.0, 3.0, 4.0])),
    )
    .unwrap();
    write_parquet_index(&vdir.join("words.parquet"), &[b"the", b"film", b"rocks"]);
    let vocab = Vocab::build(["the film"], &VocabConfig::default());
    let e = WordVectors::load(&vdir, &vocab).unwrap_err().to_string();
    assert!(
        e.contains("words.parquet") && e.contains("3 rows") && e.contains("has 2"),
        "{e}"
    );
    write_parquet_index(&vdir.join("words.parquet"), &[b"the", b"film"]);
    let v = WordVectors::load(&vdir, &vocab).unwrap();
    assert_eq!((v.dim, v.vectors["film"].clone()), (2, vec![3.0, 4.0]));
}

#[test]
fn bad_text_vector_files_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wanted: HashSet<&str> = ["a"].into_iter().collect();
    let read = |p: &Path| read_text_vectors(p, &wanted);
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "utf8.txt",
            b"a 1 2\nb 3 4\nc\xff 5 6\n",
            "utf8.txt:3: invalid UTF-8",
        ),
        (
            "nan.txt",
            b"a 1 2\nb nan 4\n",
            "nan.txt:2: word \"b\": value 1 is \"nan\"",
        ),
        (
            "inf.txt",
            b"a 1 2\nb 3 -inf\n",
            "inf.txt:2: word \"b\": value 2 is \"-inf\"",
        ),
        // Overflows f32: parses as infinity.
        (
            "big.txt",
            b"a 1 1e39\n",
            "big.txt:1: word \"a\": value 2 is \"1e39\"",
        ),
        (
            "ragged.txt",
            b"a 1 2\nb 3 4\nc 5\n",
            "ragged.txt:3: word \"c\" has 1 values, expected 2",
        ),
        (
            "header_dim.txt",
            b"2 3\na 1 2\nb 1 2\n",
            "header_dim.txt:2: word \"a\" has 2 values, expected 3 (the header's dim)",
        ),
        (
            "truncated.txt",
            b"3 2\na 1 2\nb 1 2\n",
            "truncated.txt:1: header says 3 vectors, the file has 2",
        ),
        (
            "claims_huge.txt",
            b"18446744073709551615 2\na 1 2\n",
            "claims_huge.txt:1: header says 18446744073709551615 vectors",
        ),
        ("dim0.txt", b"1 0\na\n", "dim0.txt:1: bad word2vec header"),
        ("blank.txt", b"a 1 2\n\nb 3 4\n", "blank.txt:2: empty line"),
        (
            "no_values.txt",
            b"a 1\nb\n",
            "no_values.txt:2: word \"b\" has no values",
        ),
        ("empty.txt", b"", "empty.txt:0: no vectors"),
        ("header_only.txt", b"0 5\n", "header_only.txt:0: no vectors"),
    ];
    for &(name, bytes, want) in cases {
        let e = error_of(d, name, bytes, read);
        assert!(e.contains(want), "{name}: {e:?} should contain {want:?}");
    }
    // CRLF endings and a byte-order mark load.
    let crlf = d.join("crlf.txt");
    std::fs::write(&crlf, "\u{feff}2 2\r\na 0.5 -1\r\nb 1 2\r\n").unwrap();
    let (dim, found) = read_text_vectors(&crlf, &wanted).unwrap();
    assert_eq!((dim, found["a"].clone()), (2, vec![0.5, -1.0]));
}
