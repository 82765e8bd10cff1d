//! The inputs `classify` reads, exactly as `predict` reads them (`experiments::predict`; the
//! same rules and error messages, so that the two binaries take the same files): records
//! ([`Record`]: an index and an [`Example`]) from a GLUE TSV file ([`TsvReader`], columns found
//! by name), from plain lines (one sentence, or a tab-separated pair: [`LineReader`]) or from
//! strings ([`TextReader`]), read lazily.
//!
//! Kept apart from `predict`'s readers because those live in a libtorch crate; the tests in
//! `experiments/tests/onnx.rs` run both binaries on the same inputs.

use crate::error::{OnnxError, Result};
use crate::runtime::Example;
use kd_schema::Task;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Which inputs a model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// Single sentences only.
    Single,
    /// Sentence pairs only.
    Pair,
}

/// One input: the row's index (the GLUE `index`/`id` column, else the 0-based line or argument
/// number) and the example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The index written in the output's `index` column.
    pub index: u64,
    /// The sentence or pair.
    pub example: Example,
}

/// A control character no input may hold (anything below U+0020 but tab, and DEL), with its
/// 1-based character position; `kd_core::data::tsv::find_control_char`'s rule.
pub fn find_control_char(text: &str) -> Option<(usize, char)> {
    if !text.bytes().any(|b| b < b' ' || b == 0x7f) {
        return None;
    }
    text.chars()
        .enumerate()
        .find(|&(_, c)| c < ' ' || c == '\u{7f}')
        .map(|(i, c)| (i + 1, c))
}

/// The GLUE columns of a task's files: `(text_a, text_b, index columns by preference)`.
fn columns(task: Task) -> (&'static str, Option<&'static str>, &'static [&'static str]) {
    match task {
        Task::Sst2 => ("sentence", None, &["index"]),
        Task::Qqp => ("question1", Some("question2"), &["id", "index"]),
        Task::Mnli => ("sentence1", Some("sentence2"), &["index"]),
    }
}

fn example(text_a: String, text_b: Option<String>) -> Example {
    Example { text_a, text_b }
}

/// Splits one plain input line (a sentence, or a pair separated by one tab) for a model that
/// reads `pairing`.
fn parse_plain(line: &str, pairing: Pairing) -> std::result::Result<Example, String> {
    if line.trim().is_empty() {
        return Err("empty line: expected a sentence".into());
    }
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() > 2 {
        return Err(format!(
            "{} tab-separated fields: expected a sentence, or two sentences separated by one tab",
            fields.len()
        ));
    }
    for (i, f) in fields.iter().enumerate() {
        if let Some((pos, c)) = find_control_char(f) {
            return Err(format!(
                "control character {c:?} (U+{:04X}) at character {pos} of sentence {}",
                c as u32,
                i + 1
            ));
        }
        if f.trim().is_empty() {
            return Err(format!("sentence {} of the pair is empty", i + 1));
        }
    }
    match (pairing, fields.len() == 2) {
        (Pairing::Single, true) => {
            return Err("a tab (a sentence pair), but the model reads single sentences".into())
        }
        (Pairing::Pair, false) => {
            return Err("no tab: the model reads sentence pairs (`sentence1<TAB>sentence2`)".into())
        }
        _ => {}
    }
    let mut it = fields.into_iter().map(str::to_owned);
    let a = it.next().unwrap_or_default();
    Ok(example(a, it.next()))
}

/// Records from strings (the `TEXT` arguments): index = 0-based position; errors name the
/// 1-based argument.
pub struct TextReader<I> {
    texts: I,
    pairing: Pairing,
    n: u64,
}

impl<I: Iterator<Item = String>> TextReader<I> {
    /// Records of `texts` for a model reading `pairing`.
    pub fn new(texts: impl IntoIterator<IntoIter = I>, pairing: Pairing) -> Self {
        TextReader {
            texts: texts.into_iter(),
            pairing,
            n: 0,
        }
    }
}

impl<I: Iterator<Item = String>> Iterator for TextReader<I> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        let text = self.texts.next()?;
        let index = self.n;
        self.n += 1;
        Some(
            parse_plain(&text, self.pairing)
                .map(|example| Record { index, example })
                .map_err(|msg| OnnxError::Invalid(format!("TEXT argument {}: {msg}", index + 1))),
        )
    }
}

/// Reads one line (without its `\n` and a CRLF's `\r`) into `buf`; `Ok(false)` at the end.
fn read_line(
    reader: &mut dyn BufRead,
    bytes: &mut Vec<u8>,
    buf: &mut String,
) -> std::io::Result<std::result::Result<bool, ()>> {
    bytes.clear();
    buf.clear();
    if reader.read_until(b'\n', bytes)? == 0 {
        return Ok(Ok(false));
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            buf.push_str(s);
            Ok(Ok(true))
        }
        Err(_) => Ok(Err(())),
    }
}

/// Records from plain lines (stdin): index = 0-based line number; errors name `name` and the
/// 1-based line.
pub struct LineReader<R> {
    reader: R,
    name: PathBuf,
    pairing: Pairing,
    line: usize,
    bytes: Vec<u8>,
    buf: String,
    done: bool,
}

impl<R: BufRead> LineReader<R> {
    /// Records of `reader`, named `name` in errors (e.g. `<stdin>`).
    pub fn new(reader: R, name: impl Into<PathBuf>, pairing: Pairing) -> Self {
        LineReader {
            reader,
            name: name.into(),
            pairing,
            line: 0,
            bytes: Vec::new(),
            buf: String::new(),
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for LineReader<R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.line += 1;
        let result = match read_line(&mut self.reader, &mut self.bytes, &mut self.buf) {
            Err(e) => Err(OnnxError::io(&self.name, e)),
            Ok(Err(())) => Err(OnnxError::parse(&self.name, self.line, "invalid UTF-8")),
            Ok(Ok(false)) => {
                self.done = true;
                return None;
            }
            Ok(Ok(true)) => parse_plain(&self.buf, self.pairing)
                .map(|example| Record {
                    index: (self.line - 1) as u64,
                    example,
                })
                .map_err(|msg| OnnxError::parse(&self.name, self.line, msg)),
        };
        self.done = result.is_err();
        Some(result)
    }
}

/// Records of a GLUE TSV file, line by line: text columns found by name (SST-2 `sentence`; QQP
/// `question1`/`question2`; MNLI `sentence1`/`sentence2`), the index from the `index` column
/// (QQP: `id`) when there is one, else the 0-based data row. Rows are checked as the pipeline's
/// loader checks them: the header's field count, no control characters, no empty text, an
/// integer index; errors name the file and line.
pub struct TsvReader<R> {
    reader: R,
    path: PathBuf,
    text_a: usize,
    text_b: Option<usize>,
    index: Option<usize>,
    header: Vec<String>,
    line: usize,
    bytes: Vec<u8>,
    buf: String,
    done: bool,
}

impl TsvReader<std::io::BufReader<std::fs::File>> {
    /// Opens `path` for a model reading `pairing`.
    pub fn open(path: &Path, pairing: Pairing) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| OnnxError::io(path, e))?;
        Self::new(
            std::io::BufReader::with_capacity(1 << 16, file),
            path,
            pairing,
        )
    }
}

impl<R: BufRead> TsvReader<R> {
    /// Reads the header of `reader` (named `path` in errors) and finds the columns a model
    /// reading `pairing` needs.
    pub fn new(mut reader: R, path: &Path, pairing: Pairing) -> Result<Self> {
        let at = |line: usize, msg: String| OnnxError::parse(path, line, msg);
        let (mut bytes, mut buf) = (Vec::new(), String::new());
        match read_line(&mut reader, &mut bytes, &mut buf) {
            Err(e) => return Err(OnnxError::io(path, e)),
            Ok(Err(())) => return Err(at(1, "invalid UTF-8".into())),
            Ok(Ok(false)) => return Err(at(0, "empty file: no header line".into())),
            Ok(Ok(true)) => {}
        }
        let header_line = buf.strip_prefix('\u{feff}').unwrap_or(&buf);
        let header: Vec<String> = header_line.split('\t').map(str::to_owned).collect();
        let col = |name: &str| header.iter().position(|h| h == name);
        let layout = match pairing {
            Pairing::Pair => [Task::Qqp, Task::Mnli]
                .into_iter()
                .find(|&t| {
                    let (a, b, _) = columns(t);
                    col(a).is_some() && b.and_then(col).is_some()
                })
                .ok_or_else(|| {
                    at(
                        1,
                        format!(
                            "no sentence-pair columns for the pair model: expected `question1` and \
                             `question2` (QQP) or `sentence1` and `sentence2` (MNLI); header has: {}",
                            header.join(", ")
                        ),
                    )
                })?,
            Pairing::Single => Task::Sst2,
        };
        let (a, b, index_cols) = columns(layout);
        let text_a = col(a).ok_or_else(|| {
            at(
                1,
                format!(
                    "missing column `{a}` (the {} layout); header has: {}",
                    layout.glue_name(),
                    header.join(", ")
                ),
            )
        })?;
        let text_b = b.and_then(col);
        let index = index_cols.iter().find_map(|n| col(n));
        Ok(TsvReader {
            reader,
            path: path.to_path_buf(),
            text_a,
            text_b,
            index,
            header,
            line: 1,
            bytes,
            buf,
            done: false,
        })
    }

    fn parse_row(&self) -> std::result::Result<Record, String> {
        let fields: Vec<&str> = self.buf.split('\t').collect();
        if fields.len() != self.header.len() {
            return Err(format!(
                "{}{} field(s) where the header has {} column(s)",
                if self.buf.is_empty() {
                    "empty line: "
                } else {
                    ""
                },
                fields.len(),
                self.header.len()
            ));
        }
        for (col, field) in fields.iter().enumerate() {
            if let Some((pos, c)) = find_control_char(field) {
                return Err(format!(
                    "column {} (`{}`): control character {c:?} (U+{:04X}) at character {pos}",
                    col + 1,
                    self.header[col],
                    c as u32
                ));
            }
        }
        let text = |col: usize| -> std::result::Result<String, String> {
            let t = fields[col];
            if t.trim().is_empty() {
                return Err(format!("empty text in column `{}`", self.header[col]));
            }
            Ok(t.to_owned())
        };
        let index = match self.index {
            Some(col) => fields[col].parse::<u64>().map_err(|_| {
                format!(
                    "bad index {:?} in column `{}`: expected an integer >= 0",
                    fields[col], self.header[col]
                )
            })?,
            None => (self.line - 2) as u64,
        };
        Ok(Record {
            index,
            example: example(text(self.text_a)?, self.text_b.map(text).transpose()?),
        })
    }
}

impl<R: BufRead> Iterator for TsvReader<R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.line += 1;
        let result = match read_line(&mut self.reader, &mut self.bytes, &mut self.buf) {
            Err(e) => Err(OnnxError::io(&self.path, e)),
            Ok(Err(())) => Err(OnnxError::parse(&self.path, self.line, "invalid UTF-8")),
            Ok(Ok(false)) => {
                self.done = true;
                return None;
            }
            Ok(Ok(true)) => self
                .parse_row()
                .map_err(|msg| OnnxError::parse(&self.path, self.line, msg)),
        };
        self.done = result.is_err();
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tsv(text: &str, pairing: Pairing) -> Result<Vec<Record>> {
        TsvReader::new(text.as_bytes(), Path::new("t.tsv"), pairing)?.collect()
    }

    fn err(r: Result<Vec<Record>>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn tsv_columns_by_name_and_index() {
        let rows = tsv("index\tsentence\n7\ta b\n9\tc\n", Pairing::Single).unwrap();
        assert_eq!((rows[0].index, rows[1].index), (7, 9));
        assert_eq!(rows[1].example.text_a, "c");
        let rows = tsv(
            "\u{feff}sentence\tlabel\r\nx\t1\r\ny\t0\r\n",
            Pairing::Single,
        )
        .unwrap();
        assert_eq!((rows[0].index, rows[1].index), (0, 1));
        let rows = tsv("id\tquestion1\tquestion2\n5\ta\tb\n", Pairing::Pair).unwrap();
        assert_eq!(rows[0].index, 5);
        assert_eq!(rows[0].example.text_b.as_deref(), Some("b"));
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
    }

    #[test]
    fn plain_lines_and_pairs() {
        let lines = |text: &str, p| -> Result<Vec<Record>> {
            LineReader::new(text.as_bytes(), "<stdin>", p).collect()
        };
        let rows = lines("a\nb\r\n", Pairing::Single).unwrap();
        assert_eq!((rows.len(), rows[1].index), (2, 1));
        let rows = lines("a\tb\n", Pairing::Pair).unwrap();
        assert_eq!(rows[0].example.text_b.as_deref(), Some("b"));
        let e = err(lines("a\nb\tc\n", Pairing::Single));
        assert!(e.starts_with("<stdin>:2: a tab"), "{e}");
        let e = err(lines("a\tb\nc\n", Pairing::Pair));
        assert!(e.starts_with("<stdin>:2: no tab"), "{e}");
        let e = err(lines("a\n\nb\n", Pairing::Single));
        assert!(e.starts_with("<stdin>:2: empty line"), "{e}");
        let e = TextReader::new(["ok".to_string(), "a\tb".to_string()], Pairing::Single)
            .collect::<Result<Vec<_>>>()
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("TEXT argument 2: a tab"), "{e}");
    }
}
