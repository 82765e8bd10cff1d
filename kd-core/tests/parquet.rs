//! The labelled transfer set as Parquet (`kd_core::augment::parquet_file`): a bit-exact round
//! trip, the same rows as the TSV, a stable file (`fixtures/parquet/transfer.parquet`), what
//! pyarrow, pandas and polars read from that file (`fixtures/parquet/readback.json`, made by
//! `fixtures/parquet/readback.py` from the fixtures venv), and one-line errors for bad files.

use kd_core::augment::{
    read_transfer_parquet, read_transfer_set, write_transfer_parquet, write_transfer_set, AugMode,
    TransferExample,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parquet")
}

/// Rows covering every column's cases: pairs and single sentences, a null label, non-ASCII text,
/// a text with a tab (Parquet needs no escaping), every augmentation mode.
fn rows() -> Vec<TransferExample> {
    let row = |orig_id, aug, mode, text_a: &str, text_b: Option<&str>, label| TransferExample {
        orig_id,
        aug,
        mode,
        text_a: text_a.into(),
        text_b: text_b.map(Into::into),
        label,
    };
    vec![
        row(0, 0, AugMode::Original, "a b", Some("c"), Some(2)),
        row(0, 1, AugMode::SecondOnly, "a b", Some("[MASK]"), None),
        row(0, 2, AugMode::FirstOnly, "[MASK] b", Some("c"), None),
        row(0, 3, AugMode::Both, "a", Some("c d"), None),
        row(1, 0, AugMode::Original, "héllo wörld", None, Some(0)),
        row(1, 1, AugMode::Single, "héllo", None, None),
        row(
            7_000_000_000,
            0,
            AugMode::Original,
            "tab\there",
            None,
            Some(1),
        ),
    ]
}

fn logits() -> Vec<f32> {
    vec![
        0.1,
        -2.5e-8,
        3.0,
        f32::MAX,
        -1.0 / 3.0,
        0.0,
        7.25,
        f32::MIN_POSITIVE,
        1e-3,
        -0.0,
        5.0,
        6.0,
        1.5,
        -1.5,
        1e30,
        -7.0,
        8.0,
        9.0,
        0.5,
        0.25,
        0.125,
    ]
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn round_trip_is_bit_exact_and_matches_the_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/transfer.parquet");
    write_transfer_parquet(&path, &rows(), &logits(), 3).unwrap();
    let (back, values, k) = read_transfer_parquet(&path).unwrap();
    assert_eq!(back, rows());
    assert_eq!(k, 3);
    assert_eq!(bits(&values), bits(&logits()));

    // The TSV of the same rows (it cannot hold the tab, so that row is left out) reads back equal.
    let tsv_rows: Vec<TransferExample> = rows().into_iter().take(6).collect();
    let tsv = dir.path().join("transfer.tsv");
    write_transfer_set(&tsv, &tsv_rows, Some((&logits()[..18], 3))).unwrap();
    let pq = dir.path().join("six.parquet");
    write_transfer_parquet(&pq, &tsv_rows, &logits()[..18], 3).unwrap();
    let (tsv_back, tsv_logits) = read_transfer_set(&tsv).unwrap();
    let (pq_back, pq_logits, _) = read_transfer_parquet(&pq).unwrap();
    assert_eq!(tsv_back, pq_back);
    assert_eq!(bits(&tsv_logits.unwrap().0), bits(&pq_logits));
}

#[test]
fn many_row_groups_and_an_empty_set_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let n = kd_core::augment::parquet_file::ROW_GROUP + 5;
    let many: Vec<TransferExample> = (0..n)
        .map(|i| TransferExample {
            orig_id: i,
            aug: 0,
            mode: AugMode::Original,
            text_a: format!("sentence {i}"),
            text_b: None,
            label: (i % 3 != 0).then_some(i % 2),
        })
        .collect();
    let values: Vec<f32> = (0..2 * n).map(|i| i as f32 * 0.5).collect();
    let path = dir.path().join("many.parquet");
    write_transfer_parquet(&path, &many, &values, 2).unwrap();
    let (back, back_values, k) = read_transfer_parquet(&path).unwrap();
    assert_eq!((back.len(), k), (n, 2));
    assert_eq!(back, many);
    assert_eq!(bits(&back_values), bits(&values));

    let empty = dir.path().join("empty.parquet");
    write_transfer_parquet(&empty, &[], &[], 2).unwrap();
    assert_eq!(read_transfer_parquet(&empty).unwrap(), (vec![], vec![], 2));
}

/// The committed file is what the writer makes today, byte for byte: the format is stable, and
/// it is the file `readback.py` read. `KD_WRITE_FIXTURES=1` rewrites it (then rerun readback.py).
#[test]
fn the_committed_fixture_is_what_the_writer_makes() {
    let path = fixtures().join("transfer.parquet");
    if std::env::var_os("KD_WRITE_FIXTURES").is_some() {
        write_transfer_parquet(&path, &rows(), &logits(), 3).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("t.parquet");
    write_transfer_parquet(&fresh, &rows(), &logits(), 3).unwrap();
    let committed = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with KD_WRITE_FIXTURES=1 cargo test -p kd-core --test parquet",
            path.display()
        )
    });
    assert!(
        committed == std::fs::read(&fresh).unwrap(),
        "the writer's output changed: if on purpose, rewrite the fixture (KD_WRITE_FIXTURES=1) and \
         rerun .venv-fixtures/bin/python kd-core/tests/fixtures/parquet/readback.py"
    );
}

/// pyarrow, pandas and polars, with no project code, read the committed file as these rows.
#[test]
fn pyarrow_pandas_and_polars_read_the_rows_we_wrote() {
    let text = std::fs::read_to_string(fixtures().join("readback.json")).unwrap();
    let readback: Value = serde_json::from_str(&text).unwrap();
    let (rows, logits) = (rows(), logits());
    for reader in ["pyarrow", "pandas", "polars"] {
        let got = &readback[reader];
        assert_eq!(
            got["columns"],
            serde_json::json!([
                "orig_id", "aug", "mode", "label", "text_a", "text_b", "logit_0", "logit_1",
                "logit_2"
            ]),
            "{reader}"
        );
        let col = |name: &str| got["data"][name].as_array().unwrap().clone();
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(
                col("orig_id")[i].as_u64(),
                Some(r.orig_id as u64),
                "{reader} row {i}"
            );
            assert_eq!(
                col("aug")[i].as_u64(),
                Some(u64::from(r.aug)),
                "{reader} row {i}"
            );
            assert_eq!(
                col("mode")[i].as_str(),
                Some(r.mode.as_str()),
                "{reader} row {i}"
            );
            // pandas holds a nullable integer column as float64 with NaN (null here).
            let label = col("label")[i].as_f64();
            assert_eq!(label, r.label.map(|l| l as f64), "{reader} row {i}");
            assert_eq!(
                col("text_a")[i].as_str(),
                Some(r.text_a.as_str()),
                "{reader} row {i}"
            );
            assert_eq!(
                col("text_b")[i].as_str(),
                r.text_b.as_deref(),
                "{reader} row {i}"
            );
            for k in 0..3 {
                let v = col(&format!("logit_{k}"))[i].as_f64().unwrap();
                assert_eq!(v as f32, logits[i * 3 + k], "{reader} row {i} logit_{k}");
            }
        }
    }
    // The types a user sees: integers, strings (nullable where a row may have none), float32.
    let dtypes = &readback["pyarrow"]["types"];
    assert_eq!(dtypes["orig_id"], "int64");
    assert_eq!(dtypes["label"], "int32");
    assert_eq!(dtypes["text_b"], "string");
    assert_eq!(dtypes["logit_0"], "float");
}

#[test]
fn bad_inputs_are_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let err = write_transfer_parquet(&path, &rows(), &logits()[..5], 3).unwrap_err();
    assert!(err.to_string().contains("got 5"), "{err}");
    let mut nan = logits();
    nan[4] = f32::NAN;
    let err = write_transfer_parquet(&path, &rows(), &nan, 3).unwrap_err();
    assert!(err.to_string().contains("[1, 1] is NaN"), "{err}");
    assert!(!path.exists(), "a rejected write must not create the file");

    let err = read_transfer_parquet(&dir.path().join("missing.parquet")).unwrap_err();
    assert!(err.to_string().contains("missing.parquet"), "{err}");
    // Not Parquet; a truncated file; a Parquet file of another schema (the TSV's bytes).
    let garbage = dir.path().join("garbage.parquet");
    std::fs::write(&garbage, b"orig_id\taug\n0\t0\n").unwrap();
    let whole = std::fs::read(fixtures().join("transfer.parquet")).unwrap();
    let truncated = dir.path().join("truncated.parquet");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let mut flipped = whole.clone();
    let mid = flipped.len() / 3;
    flipped[mid..mid + 16].fill(0xff);
    let corrupt = dir.path().join("corrupt.parquet");
    std::fs::write(&corrupt, &flipped).unwrap();
    for p in [&garbage, &truncated, &corrupt] {
        let err = read_transfer_parquet(p).unwrap_err().to_string();
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(err.contains(&format!("{name}:0:")), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

/// A Parquet file of another schema (a float64 logit, or the columns out of order) is refused
/// before any row is read, in one line.
#[test]
fn another_schema_is_refused_naming_what_differs() {
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "required int64 orig_id; required int32 aug; required binary mode (STRING); \
             optional int32 label; required binary text_a (STRING); \
             optional binary text_b (STRING); required double logit_0;",
            "column types",
        ),
        (
            "required int32 aug; required int64 orig_id; required binary mode (STRING); \
             optional int32 label; required binary text_a (STRING); \
             optional binary text_b (STRING); required float logit_0;",
            "columns must start with",
        ),
        (
            "required int64 orig_id; required int32 aug; required binary mode (STRING); \
             optional int32 label; required binary text_a (STRING); \
             optional binary text_b (STRING); required float logit_1;",
            "expected \"logit_0\"",
        ),
    ];
    for (i, (fields, want)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("other{i}.parquet"));
        let schema = Arc::new(parse_message_type(&format!("message m {{ {fields} }}")).unwrap());
        let file = std::fs::File::create(&path).unwrap();
        let props = Arc::new(WriterProperties::builder().build());
        SerializedFileWriter::new(file, schema, props)
            .unwrap()
            .close()
            .unwrap();
        let err = read_transfer_parquet(&path).unwrap_err().to_string();
        assert!(err.contains(want), "{fields}: {err}");
        assert!(err.contains(&format!("other{i}.parquet:0:")), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}
