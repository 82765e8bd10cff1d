//! GLUE loaders and submission files: layouts of each task, every malformed case with its line,
//! and (on the real data, which CI sets up) SST-2's row counts and the MNLI-1k sample.

use kd_core::data::{
    load_split, load_split_file, read_submission, submission_name, task_files, write_submission,
    Example, SplitFile, Task,
};
use kd_core::{FileError, KdError};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/glue")
        .join(name)
}

fn load(task: Task, name: &str) -> Vec<Example> {
    load_split(task, &fixture(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads a fixture that must fail; returns the error's line and message.
fn parse_error(task: Task, name: &str) -> (usize, String) {
    match load_split(task, &fixture(name)) {
        Err(e @ KdError::File(FileError::Parse { .. })) => {
            let msg = e.to_string();
            let KdError::File(FileError::Parse { line, path, .. }) = e else {
                unreachable!()
            };
            assert_eq!(path, fixture(name), "error names the file");
            (line, msg)
        }
        Err(other) => panic!("{name}: expected a parse error, got {other}"),
        Ok(rows) => panic!("{name}: expected a parse error, loaded {} rows", rows.len()),
    }
}

fn labels(examples: &[Example]) -> Vec<Option<usize>> {
    examples.iter().map(|e| e.label).collect()
}

#[test]
fn sst2_labelled_keeps_quotes_verbatim() {
    let rows = load(Task::Sst2, "sst2_train.tsv");
    assert_eq!(rows.len(), 5, "an unbalanced quote must not merge rows");
    assert_eq!(
        rows[2].text_a,
        "\" the emperor 's new clothes \" is a slow , dull affair"
    );
    assert_eq!(rows[3].text_a, "the title \" amazing \" is earned");
    assert_eq!(
        rows[1].text_a,
        "the plot is nothing but boilerplate clichés from start to finish ,"
    );
    assert_eq!(labels(&rows), [Some(1), Some(0), Some(0), Some(1), Some(1)]);
    assert!(rows.iter().all(|r| r.text_b.is_none() && r.index.is_none()));
}

#[test]
fn sst2_columns_found_by_name_in_any_order() {
    let rows = load(Task::Sst2, "sst2_reordered.tsv");
    let texts: Vec<&str> = rows.iter().map(|r| r.text_a.as_str()).collect();
    assert_eq!(
        texts,
        ["a dull , lifeless film .", "warm and funny .", "\""]
    );
    assert_eq!(labels(&rows), [Some(0), Some(1), Some(1)]);
}

#[test]
fn sst2_test_has_index_and_no_label() {
    let rows = load(Task::Sst2, "sst2_test.tsv");
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows.iter().map(|r| r.index).collect::<Vec<_>>(),
        [Some(0), Some(1), Some(2)]
    );
    assert_eq!(labels(&rows), [None, None, None]);
    assert_eq!(rows[1].text_a, "a \" film \" only in name .");
}

#[test]
fn qqp_labelled_and_test_layouts() {
    let dev = load(Task::Qqp, "qqp_dev.tsv");
    assert_eq!(dev.len(), 3);
    assert_eq!(dev[0].text_a, "how do i learn to cook rice ?");
    assert_eq!(
        dev[0].text_b.as_deref(),
        Some("what is the best way to cook rice ?")
    );
    assert_eq!(dev[2].text_a, "what is \" machine learning \" ?");
    assert_eq!(labels(&dev), [Some(1), Some(0), Some(1)]);
    // `id` is QQP's index column, kept on labelled files too.
    assert_eq!(
        dev.iter().map(|r| r.index).collect::<Vec<_>>(),
        [Some(17), Some(4), Some(99)]
    );

    let test = load(Task::Qqp, "qqp_test.tsv");
    assert_eq!(test.len(), 2);
    assert_eq!(
        test[1].text_b.as_deref(),
        Some("what time is it in tokyo ?")
    );
    assert_eq!(
        test.iter().map(|r| r.index).collect::<Vec<_>>(),
        [Some(0), Some(1)]
    );
    assert_eq!(labels(&test), [None, None]);
}

#[test]
fn mnli_glue_layout_with_extra_columns_and_crlf() {
    let rows = load(Task::Mnli, "mnli_dev_matched.tsv");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].text_a, "the cat sat on the mat .");
    assert_eq!(rows[2].text_b.as_deref(), Some("there is no cat ."));
    assert_eq!(rows[3].text_a, "he said \" hello .");
    // Task::label_names order: contradiction, entailment, neutral; gold_label wins over label1..5.
    assert_eq!(labels(&rows), [Some(1), Some(2), Some(0), Some(1)]);
    assert!(!rows[3].text_b.as_deref().unwrap().ends_with('\r'));

    let test = load(Task::Mnli, "mnli_test_matched.tsv");
    assert_eq!(labels(&test), [None, None]);
    assert_eq!(test[1].index, Some(1));
    assert_eq!(
        test[1].text_b.as_deref(),
        Some("tickets cost ten dollars .")
    );
}

#[test]
fn mnli_hugging_face_integer_labels() {
    let rows = load(Task::Mnli, "mnli_hf_labels.tsv");
    let names: Vec<&str> = rows
        .iter()
        .map(|r| Task::Mnli.label_names()[r.label.unwrap()])
        .collect();
    assert_eq!(names, ["entailment", "neutral", "contradiction"]);
}

#[test]
fn malformed_files_name_their_line() {
    let cases: &[(Task, &str, usize, &str)] = &[
        (
            Task::Sst2,
            "bad_column_count.tsv",
            4,
            "3 field(s) where the header has 2",
        ),
        (
            Task::Qqp,
            "bad_column_count_short.tsv",
            3,
            "5 field(s) where the header has 6",
        ),
        (
            Task::Sst2,
            "bad_label.tsv",
            3,
            "unknown SST-2 label \"positive\"",
        ),
        (
            Task::Mnli,
            "bad_label_mnli.tsv",
            4,
            "unknown MNLI label \"-\"",
        ),
        (
            Task::Sst2,
            "empty_text.tsv",
            4,
            "empty text in column `sentence`",
        ),
        (
            Task::Qqp,
            "empty_text_pair.tsv",
            3,
            "empty text in column `question2`",
        ),
        (Task::Sst2, "blank_line.tsv", 3, "empty line"),
        (
            Task::Mnli,
            "missing_column.tsv",
            1,
            "missing column `sentence2`",
        ),
        (
            Task::Sst2,
            "missing_label_and_index.tsv",
            1,
            "missing column `label`",
        ),
        (Task::Sst2, "bad_index.tsv", 4, "bad index \"two\""),
        (Task::Sst2, "header_only.tsv", 0, "no data rows"),
        (Task::Qqp, "empty.tsv", 0, "empty file"),
        // An SST-2 file read as MNLI: the first missing column is named.
        (
            Task::Mnli,
            "sst2_train.tsv",
            1,
            "missing column `sentence1`",
        ),
    ];
    for &(task, name, line, msg) in cases {
        let (got_line, got_msg) = parse_error(task, name);
        assert_eq!(got_line, line, "{name}: {got_msg}");
        assert!(
            got_msg.contains(msg),
            "{name}: {got_msg:?} should contain {msg:?}"
        );
    }
}

#[test]
fn bad_utf8_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.tsv");
    let mut bytes = b"sentence\tlabel\nfine .\t1\nalso fine .\t0\nbad \xff byte .\t1\n".to_vec();
    bytes.extend_from_slice(b"fine .\t1\n");
    std::fs::write(&path, bytes).unwrap();
    match load_split(Task::Sst2, &path) {
        Err(KdError::File(FileError::Parse { line, msg, .. })) => {
            assert_eq!(line, 4);
            assert!(msg.contains("UTF-8"), "{msg}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let path = fixture("no_such_file.tsv");
    match load_split(Task::Sst2, &path) {
        Err(KdError::File(FileError::Io { path: p, .. })) => assert_eq!(p, path),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn task_files_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let sst2 = task_files(Task::Sst2, d);
    assert_eq!(sst2.train, d.join("train.tsv"));
    assert_eq!(
        sst2.dev,
        [SplitFile {
            name: "dev".into(),
            path: d.join("dev.tsv"),
            labelled: true
        }]
    );
    assert!(sst2.test.is_empty(), "absent test files are left out");

    std::fs::write(d.join("test.tsv"), "").unwrap();
    let qqp = task_files(Task::Qqp, d);
    assert_eq!(
        qqp.test,
        [SplitFile {
            name: "test".into(),
            path: d.join("test.tsv"),
            labelled: false
        }]
    );

    let mnli = task_files(Task::Mnli, d);
    let dev_names: Vec<&str> = mnli.dev.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(dev_names, ["dev_matched", "dev_mismatched"]);
    assert_eq!(mnli.dev[1].path, d.join("dev_mismatched.tsv"));
    assert!(mnli.test.is_empty(), "test.tsv is not an MNLI file");
    std::fs::write(d.join("test_mismatched.tsv"), "").unwrap();
    std::fs::write(d.join("test_matched.tsv"), "").unwrap();
    let mnli = task_files(Task::Mnli, d);
    let test_names: Vec<&str> = mnli.test.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(test_names, ["test_matched", "test_mismatched"]);
    assert!(mnli.test.iter().all(|f| !f.labelled));
}

#[test]
fn load_split_file_checks_labelledness() {
    let as_dev = SplitFile {
        name: "dev".into(),
        path: fixture("sst2_test.tsv"),
        labelled: true,
    };
    let err = load_split_file(Task::Sst2, &as_dev)
        .unwrap_err()
        .to_string();
    assert!(err.contains("should be labelled"), "{err}");
    let as_test = SplitFile {
        name: "test".into(),
        path: fixture("sst2_test.tsv"),
        labelled: false,
    };
    assert_eq!(load_split_file(Task::Sst2, &as_test).unwrap().len(), 3);
    let dev_as_test = SplitFile {
        name: "test".into(),
        path: fixture("qqp_dev.tsv"),
        labelled: false,
    };
    assert!(load_split_file(Task::Qqp, &dev_as_test).is_err());
}

#[test]
fn submission_names_are_glue_names() {
    assert_eq!(submission_name(Task::Sst2, "test"), "SST-2");
    assert_eq!(submission_name(Task::Qqp, "test"), "QQP");
    assert_eq!(submission_name(Task::Mnli, "test_matched"), "MNLI-m");
    assert_eq!(submission_name(Task::Mnli, "test_mismatched"), "MNLI-mm");
}

#[test]
fn submission_round_trip_and_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/MNLI-m.tsv");
    let indices = [0u64, 1, 2, 7];
    let preds = [1usize, 2, 0, 1];
    write_submission(Task::Mnli, &path, &indices, &preds).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "index\tprediction\n0\tentailment\n1\tneutral\n2\tcontradiction\n7\tentailment\n"
    );
    let back = read_submission(Task::Mnli, &path).unwrap();
    assert_eq!(back, indices.into_iter().zip(preds).collect::<Vec<_>>());

    let sst2 = dir.path().join("SST-2.tsv");
    write_submission(Task::Sst2, &sst2, &[3, 4], &[1, 0]).unwrap();
    assert_eq!(
        std::fs::read_to_string(&sst2).unwrap(),
        "index\tprediction\n3\t1\n4\t0\n"
    );
    assert_eq!(
        read_submission(Task::Sst2, &sst2).unwrap(),
        [(3, 1), (4, 0)]
    );
}

#[test]
fn submission_rejects_bad_input_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("QQP.tsv");
    let err = write_submission(Task::Qqp, &path, &[0, 1], &[1]).unwrap_err();
    assert!(matches!(err, KdError::InvalidArgument(_)), "{err}");
    let err = write_submission(Task::Qqp, &path, &[0, 1], &[1, 2]).unwrap_err();
    assert!(
        err.to_string().contains("prediction 2 at position 1"),
        "{err}"
    );
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary left behind"
    );

    std::fs::write(&path, "index\tprediction\n0\t1\n1\tyes\n").unwrap();
    match read_submission(Task::Qqp, &path) {
        Err(KdError::File(FileError::Parse { line, .. })) => assert_eq!(line, 3),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

/// The shared data folder, or a failure saying how to get it (CI runs scripts/setup.sh first).
fn shared_data(rel: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data")
        .join(rel);
    assert!(
        dir.is_dir(),
        "{} is missing: run scripts/setup.sh to link the shared data folder as data/",
        dir.display()
    );
    dir
}

#[test]
fn real_sst2_counts_and_balance() {
    let files = task_files(Task::Sst2, &shared_data("glue/SST-2"));
    let train = load_split(Task::Sst2, &files.train).unwrap();
    let dev = load_split_file(Task::Sst2, &files.dev[0]).unwrap();
    assert_eq!(files.test.len(), 1);
    let test = load_split_file(Task::Sst2, &files.test[0]).unwrap();
    assert_eq!((train.len(), dev.len(), test.len()), (67_349, 872, 1_821));
    let count = |rows: &[Example], c: usize| rows.iter().filter(|r| r.label == Some(c)).count();
    assert_eq!((count(&train, 0), count(&train, 1)), (29_780, 37_569));
    assert_eq!((count(&dev, 0), count(&dev, 1)), (428, 444));
    let indices: Vec<u64> = test.iter().map(|r| r.index.unwrap()).collect();
    assert_eq!(indices, (0..1_821).collect::<Vec<u64>>());
}

#[test]
fn real_mnli_sample_loads_every_file() {
    let dir = shared_data("samples/MNLI-1k");
    let files = task_files(Task::Mnli, &dir);
    assert!(files.test.is_empty(), "the sample has no test files");
    let train = load_split(Task::Mnli, &files.train).unwrap();
    assert_eq!(train.len(), 1_000);
    for split in &files.dev {
        let rows = load_split_file(Task::Mnli, split).unwrap();
        assert_eq!(rows.len(), 1_000, "{}", split.name);
    }
    // The sample's train.tsv is dev_mismatched with Hugging Face integer labels: same classes.
    let dev_mm = load_split(Task::Mnli, &files.dev[1].path).unwrap();
    assert_eq!(train, dev_mm);
}

/// The QQP smoke-test fixture of the experiments crate loads, in GLUE's layout, ~40% duplicates.
#[test]
fn qqp_tiny_fixture_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/tests/data/QQP-tiny");
    let files = task_files(Task::Qqp, &dir);
    let train = load_split(Task::Qqp, &files.train).unwrap();
    let dev = load_split_file(Task::Qqp, &files.dev[0]).unwrap();
    assert_eq!(files.test.len(), 1);
    let test = load_split_file(Task::Qqp, &files.test[0]).unwrap();
    assert_eq!((train.len(), dev.len(), test.len()), (120, 40, 20));
    let dups = |rows: &[Example]| rows.iter().filter(|r| r.label == Some(1)).count();
    assert_eq!((dups(&train), dups(&dev)), (48, 16));
    assert!(test.iter().all(|r| r.index.is_some() && r.text_b.is_some()));
}

/// Writes `bytes` as `name` in `dir` and returns the path.
fn write_tsv(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The line and message of a parse error, checking that it names `path`.
fn parse_error_at(result: Result<impl std::fmt::Debug, KdError>, path: &Path) -> (usize, String) {
    match result {
        Err(e @ KdError::File(FileError::Parse { .. })) => {
            let msg = e.to_string();
            let KdError::File(FileError::Parse { line, path: p, .. }) = e else {
                unreachable!()
            };
            assert_eq!(p, path, "error names the file");
            assert!(
                !msg.contains('\n') && !msg.contains('\r'),
                "one line: {msg:?}"
            );
            (line, msg)
        }
        other => panic!("{}: expected a parse error, got {other:?}", path.display()),
    }
}

#[test]
fn control_characters_in_fields_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    // (task, file bytes, line, column as the message names it, the character's code point)
    let cases: &[(Task, &[u8], usize, &str, &str)] = &[
        // A lone carriage return inside a sentence (not a line ending).
        (
            Task::Sst2,
            b"sentence\tlabel\nfine .\t1\nbad \r here .\t0\nfine .\t1\n",
            3,
            "column 1 (`sentence`)",
            "U+000D",
        ),
        (
            Task::Sst2,
            b"sentence\tlabel\nfine .\t1\nok .\t0\nok .\t1\0\n",
            4,
            "column 2 (`label`)",
            "U+0000",
        ),
        (
            Task::Qqp,
            b"id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n\
              7\t1\t2\twhy ?\tred \x1b[31m text ?\t0\n",
            2,
            "column 5 (`question2`)",
            "U+001B",
        ),
        (
            Task::Mnli,
            b"index\tsentence1\tsentence2\tgold_label\n\
              0\ta cat .\tan animal .\tentailment\n\
              1\tdel\x7f here .\ta thing .\tneutral\n",
            3,
            "column 2 (`sentence1`)",
            "U+007F",
        ),
        (
            Task::Sst2,
            b"sentence\tlabel\nform \x0c feed .\t1\n",
            2,
            "column 1 (`sentence`)",
            "U+000C",
        ),
        // "\r\r\n": one '\r' is the CRLF ending, the other is inside the last field.
        (
            Task::Sst2,
            b"sentence\tlabel\r\nfine .\t1\r\nfine .\t0\r\r\n",
            3,
            "column 2 (`label`)",
            "U+000D",
        ),
        // A CRLF file counts lines as an LF file does.
        (
            Task::Sst2,
            b"sentence\tlabel\r\nfine .\t1\r\nfine .\t0\r\nbell \x07 .\t1\r\nfine .\t1\r\n",
            4,
            "column 1 (`sentence`)",
            "U+0007",
        ),
        (
            Task::Sst2,
            b"sentence\tlabel\x1f\nfine .\t1\n",
            1,
            "header column 2",
            "U+001F",
        ),
        // Old Mac line endings: everything is one header line full of '\r'.
        (
            Task::Sst2,
            b"sentence\tlabel\rfine .\t1\r",
            1,
            "header column 2",
            "U+000D",
        ),
    ];
    for (i, &(task, bytes, line, column, code)) in cases.iter().enumerate() {
        let path = write_tsv(dir.path(), &format!("case{i}.tsv"), bytes);
        let (got_line, msg) = parse_error_at(load_split(task, &path), &path);
        assert_eq!(got_line, line, "case {i}: {msg}");
        assert!(
            msg.contains(column) && msg.contains(code) && msg.contains("control character"),
            "case {i}: {msg:?} should name {column} and {code}"
        );
    }
}

#[test]
fn crlf_files_load_like_lf_files() {
    let dir = tempfile::tempdir().unwrap();
    let lf = "sentence\tlabel\nit 's \" good \" .\t1\nbad .\t0\nfine\t1";
    let crlf = lf.replace('\n', "\r\n");
    let lf_rows = load_split(Task::Sst2, &write_tsv(dir.path(), "lf.tsv", lf.as_bytes())).unwrap();
    let crlf_path = write_tsv(dir.path(), "crlf.tsv", crlf.as_bytes());
    let crlf_rows = load_split(Task::Sst2, &crlf_path).unwrap();
    assert_eq!(lf_rows.len(), 3);
    assert_eq!(crlf_rows, lf_rows);
    assert_eq!(crlf_rows[2].text_a, "fine");

    let qqp = "id\tquestion1\tquestion2\r\n3\twhy ?\twhy not ?\r\n4\thow ?\twho ?\r\n";
    let rows = load_split(Task::Qqp, &write_tsv(dir.path(), "q.tsv", qqp.as_bytes())).unwrap();
    assert_eq!(rows[1].text_b.as_deref(), Some("who ?"));
    assert_eq!(rows[1].index, Some(4));
}

#[test]
fn submission_reader_rejects_control_characters_and_reads_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tsv(
        dir.path(),
        "SST-2.tsv",
        b"index\tprediction\r\n0\t1\r\n1\t0\r\n",
    );
    assert_eq!(
        read_submission(Task::Sst2, &path).unwrap(),
        [(0, 1), (1, 0)]
    );
    let path = write_tsv(
        dir.path(),
        "MNLI-m.tsv",
        b"index\tprediction\n0\tneutral\n1\tneutral\n2\tentail\0ment\n",
    );
    let (line, msg) = parse_error_at(read_submission(Task::Mnli, &path), &path);
    assert_eq!(line, 4, "{msg}");
    assert!(
        msg.contains("column 2 (`prediction`)") && msg.contains("U+0000"),
        "{msg}"
    );
}

#[test]
fn transfer_set_reader_rejects_control_characters_and_reads_crlf() {
    use kd_core::augment::{read_transfer_set, AugMode};
    let dir = tempfile::tempdir().unwrap();
    let header = "orig_id\taug\tmode\tlabel\ttext_a\ttext_b\tlogit_0\tlogit_1";
    let good = "0\t0\toriginal\t1\ta fine film\t\t0.5\t-0.5";
    let crlf = format!("{header}\r\n{good}\r\n0\t1\tsingle\t\t[MASK] film\t\t1\t2\r\n");
    let path = write_tsv(dir.path(), "crlf.tsv", crlf.as_bytes());
    let (rows, logits) = read_transfer_set(&path).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].mode, AugMode::Single);
    assert_eq!(rows[1].text_a, "[MASK] film");
    assert_eq!(logits, Some((vec![0.5, -0.5, 1.0, 2.0], 2)));

    for (bad_row, line, column, code) in [
        (
            "0\t1\tsingle\t\ta \r film\t\t1\t2",
            3,
            "column 5 (`text_a`)",
            "U+000D",
        ),
        (
            "0\t1\tsingle\t\ta film\t\t1\t2\x1b",
            3,
            "column 8 (`logit_1`)",
            "U+001B",
        ),
    ] {
        let text = format!("{header}\n{good}\n{bad_row}\n{good}\n");
        let path = write_tsv(dir.path(), "bad.tsv", text.as_bytes());
        let (got_line, msg) = parse_error_at(read_transfer_set(&path), &path);
        assert_eq!(got_line, line, "{msg}");
        assert!(msg.contains(column) && msg.contains(code), "{msg}");
    }
    // Bad UTF-8 in a transfer file names its line (it used to be a bare I/O error).
    let mut bytes = format!("{header}\n{good}\n{good}\n").into_bytes();
    bytes.extend_from_slice(b"0\t1\tsingle\t\t\xff\t\t1\t2\n");
    let path = write_tsv(dir.path(), "utf8.tsv", &bytes);
    let (line, msg) = parse_error_at(read_transfer_set(&path), &path);
    assert_eq!(line, 4, "{msg}");
    assert!(msg.contains("UTF-8"), "{msg}");
}
