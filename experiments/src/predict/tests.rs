//! Unit tests of the readers, the rows written, the class names and `detect`.

use super::output::{write_header, write_row};
use super::*;
use anyhow::Result;
use std::path::Path;

fn tsv(text: &str, pairing: Pairing) -> Result<Vec<Record>> {
    TsvReader::new(text.as_bytes(), Path::new("t.tsv"), pairing)?.collect()
}

fn err(r: Result<Vec<Record>>) -> String {
    one_line(&r.unwrap_err())
}

#[test]
fn tsv_columns_by_name_and_index() {
    let rows = tsv("index\tsentence\n7\ta b\n9\tc\n", Pairing::Single).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].index, rows[1].index), (7, 9));
    assert_eq!(rows[1].example.text_a, "c");
    // No index column: the 0-based data row; CRLF and a BOM are fine; a label is ignored.
    let rows = tsv(
        "\u{feff}sentence\tlabel\r\nx\t1\r\ny\t0\r\n",
        Pairing::Single,
    )
    .unwrap();
    assert_eq!((rows[0].index, rows[1].index), (0, 1));
    assert_eq!(rows[0].example.text_a, "x");
    let rows = tsv("id\tquestion1\tquestion2\n5\ta\tb\n", Pairing::Pair).unwrap();
    assert_eq!(rows[0].index, 5);
    assert_eq!(rows[0].example.text_b.as_deref(), Some("b"));
    let rows = tsv("index\tsentence1\tsentence2\n3\ta\tb\n", Pairing::Either).unwrap();
    assert_eq!(rows[0].example.text_b.as_deref(), Some("b"));
    let rows = tsv("sentence\nx\n", Pairing::Either).unwrap();
    assert_eq!(rows[0].example.text_b, None);
}

#[test]
fn tsv_errors_name_file_and_line() {
    let e = err(tsv("text\nx\n", Pairing::Single));
    assert!(e.starts_with("t.tsv:1: missing column `sentence`"), "{e}");
    let e = err(tsv("sentence\nx\n", Pairing::Pair));
    assert!(e.starts_with("t.tsv:1: no sentence-pair columns"), "{e}");
    let e = err(tsv("index\tsentence\n1\ta\n2\n", Pairing::Single));
    assert!(e.starts_with("t.tsv:3: 1 field(s)"), "{e}");
    let e = err(tsv("index\tsentence\nx\ta\n", Pairing::Single));
    assert!(e.starts_with("t.tsv:2: bad index"), "{e}");
    let e = err(tsv("sentence\na\n \n", Pairing::Single));
    assert!(e.starts_with("t.tsv:3: empty text"), "{e}");
    let e = err(tsv("sentence\na\x1bb\n", Pairing::Single));
    assert!(
        e.starts_with("t.tsv:2: column 1 (`sentence`): control"),
        "{e}"
    );
    let e = err(tsv("", Pairing::Single));
    assert!(e.starts_with("t.tsv:0: empty file"), "{e}");
    let r: Result<Vec<Record>> = TsvReader::new(
        &b"sentence\n\xff\n"[..],
        Path::new("t.tsv"),
        Pairing::Single,
    )
    .unwrap()
    .collect();
    assert_eq!(err(r), "t.tsv:2: invalid UTF-8");
}

#[test]
fn plain_lines_and_pairs() {
    let lines = |text: &str, p| -> Result<Vec<Record>> {
        LineReader::new(text.as_bytes(), "<stdin>", p).collect()
    };
    let rows = lines("a\nb\r\n", Pairing::Single).unwrap();
    assert_eq!((rows.len(), rows[1].index), (2, 1));
    assert_eq!(rows[1].example.text_a, "b");
    let rows = lines("a\tb\n", Pairing::Pair).unwrap();
    assert_eq!(rows[0].example.text_b.as_deref(), Some("b"));
    let e = err(lines("a\nb\tc\n", Pairing::Single));
    assert!(e.starts_with("<stdin>:2: a tab"), "{e}");
    let e = err(lines("a\tb\nc\n", Pairing::Pair));
    assert!(e.starts_with("<stdin>:2: no tab"), "{e}");
    let e = err(lines("a\tb\nc\n", Pairing::Either));
    assert!(e.starts_with("<stdin>:2: a single sentence where"), "{e}");
    let e = err(lines("a\n\nb\n", Pairing::Single));
    assert!(e.starts_with("<stdin>:2: empty line"), "{e}");
    let e = err(lines("a\tb\tc\n", Pairing::Either));
    assert!(e.starts_with("<stdin>:1: 3 tab-separated"), "{e}");
    let e = one_line(
        &TextReader::new(["ok".to_string(), "a\tb".to_string()], Pairing::Single)
            .collect::<Result<Vec<_>>>()
            .unwrap_err(),
    );
    assert!(e.starts_with("TEXT argument 2: a tab"), "{e}");
}

#[test]
fn output_rows() {
    let names = class_names(2);
    assert_eq!(names, ["0", "1"]);
    assert_eq!(class_names(3), ["contradiction", "entailment", "neutral"]);
    assert_eq!(class_names(5)[4], "4");
    let p = Prediction {
        label: 1,
        probs: vec![0.25, 0.75],
    };
    let mut out = Vec::new();
    write_header(&mut out, Format::Tsv, &names).unwrap();
    write_row(&mut out, Format::Tsv, &names, 4, &p).unwrap();
    write_header(&mut out, Format::Jsonl, &names).unwrap();
    write_row(&mut out, Format::Jsonl, &names, 4, &p).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "index\tlabel\tp_0\tp_1\n4\t1\t0.25\t0.75\n\
         {\"index\":4,\"label\":\"1\",\"p_0\":0.25,\"p_1\":0.75}\n"
    );
}

#[test]
fn counts_rows() {
    let dir = tempfile::tempdir().unwrap();
    for (text, n) in [("h\na\nb\n", 2), ("h\na\nb", 2), ("h\n", 0), ("", 0)] {
        let p = dir.path().join("f.tsv");
        std::fs::write(&p, text).unwrap();
        assert_eq!(count_rows(&p).unwrap(), n, "{text:?}");
    }
}

#[test]
fn bad_dirs_name_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let e = one_line(&detect(dir.path()).unwrap_err());
    assert!(e.contains("not a model dir"), "{e}");
    std::fs::write(dir.path().join("student_config.json"), "{}").unwrap();
    std::fs::write(dir.path().join("vocab.json"), "{}").unwrap();
    let e = one_line(&detect(dir.path()).unwrap_err());
    assert!(
        e.contains("incomplete student dir: best.safetensors missing"),
        "{e}"
    );
    let e = one_line(&detect(&dir.path().join("nope")).unwrap_err());
    assert!(e.ends_with("no such directory"), "{e}");
}
