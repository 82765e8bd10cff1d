//! Inputs: [`Record`]s (an index and an example) read lazily from a GLUE TSV file
//! ([`TsvReader`]), from plain lines ([`LineReader`]) or from strings ([`TextReader`]), for a
//! model reading single sentences, pairs or either ([`Pairing`]). A bad line stops its reader
//! with one error naming the file (or argument) and the line: `path:line: what`.

use anyhow::{anyhow, Result};
use kd_core::data::tsv::find_control_char;
use kd_core::data::{columns, Columns, Example, Task};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Which inputs a model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// Single sentences only (the SST-2 student).
    Single,
    /// Sentence pairs only (the Siamese QQP / MNLI students).
    Pair,
    /// Either (BERT reads `[CLS] a [SEP]` and `[CLS] a [SEP] b [SEP]` alike); one input must
    /// not mix the two.
    Either,
}

/// One input: the row's index (the GLUE `index`/`id` column, else the 0-based line or argument
/// number) and the example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The index written in the output's `index` column.
    pub index: u64,
    /// The sentence or pair (no label).
    pub example: Example,
}

fn example(text_a: String, text_b: Option<String>) -> Example {
    Example {
        text_a,
        text_b,
        label: None,
        index: None,
    }
}

/// Splits one plain input line (a sentence, or a pair separated by one tab) for a model that
/// reads `pairing`; `fixed` remembers, for [`Pairing::Either`], what the first line was.
fn parse_plain(
    line: &str,
    pairing: Pairing,
    fixed: &mut Option<bool>,
) -> std::result::Result<Example, String> {
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
    let is_pair = fields.len() == 2;
    match (pairing, is_pair) {
        (Pairing::Single, true) => {
            return Err("a tab (a sentence pair), but the model reads single sentences".to_string())
        }
        (Pairing::Pair, false) => {
            return Err(
                "no tab: the model reads sentence pairs (`sentence1<TAB>sentence2`)".to_string(),
            )
        }
        (Pairing::Either, _) => match *fixed {
            None => *fixed = Some(is_pair),
            Some(first) if first != is_pair => {
                return Err(format!(
                    "a {} where the first input was a {}: one input must not mix single \
                     sentences and pairs",
                    if is_pair {
                        "sentence pair"
                    } else {
                        "single sentence"
                    },
                    if first {
                        "sentence pair"
                    } else {
                        "single sentence"
                    },
                ))
            }
            Some(_) => {}
        },
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
    fixed: Option<bool>,
    n: u64,
}

impl<I: Iterator<Item = String>> TextReader<I> {
    /// Records of `texts` for a model reading `pairing`.
    pub fn new(texts: impl IntoIterator<IntoIter = I>, pairing: Pairing) -> Self {
        TextReader {
            texts: texts.into_iter(),
            pairing,
            fixed: None,
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
            parse_plain(&text, self.pairing, &mut self.fixed)
                .map(|example| Record { index, example })
                .map_err(|msg| anyhow!("TEXT argument {}: {msg}", index + 1)),
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

/// Records from plain lines (stdin): one sentence per line, or a tab-separated pair; index =
/// 0-based line number; errors name `name` and the 1-based line.
pub struct LineReader<R> {
    reader: R,
    name: String,
    pairing: Pairing,
    fixed: Option<bool>,
    line: u64,
    bytes: Vec<u8>,
    buf: String,
    done: bool,
}

impl<R: BufRead> LineReader<R> {
    /// Records of `reader`, named `name` in errors (e.g. `<stdin>`), for a model reading
    /// `pairing`.
    pub fn new(reader: R, name: impl Into<String>, pairing: Pairing) -> Self {
        LineReader {
            reader,
            name: name.into(),
            pairing,
            fixed: None,
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
        let at = format!("{}:{}", self.name, self.line);
        let result = match read_line(&mut self.reader, &mut self.bytes, &mut self.buf) {
            Err(e) => Err(anyhow!("{at}: {e}")),
            Ok(Err(())) => Err(anyhow!("{at}: invalid UTF-8")),
            Ok(Ok(false)) => {
                self.done = true;
                return None;
            }
            Ok(Ok(true)) => parse_plain(&self.buf, self.pairing, &mut self.fixed)
                .map(|example| Record {
                    index: self.line - 1,
                    example,
                })
                .map_err(|msg| anyhow!("{at}: {msg}")),
        };
        self.done = result.is_err();
        Some(result)
    }
}

/// The GLUE layouts a file may have: the single-sentence one (SST-2) first, then the pairs.
fn layouts() -> [(Task, Columns); 3] {
    [Task::Sst2, Task::Qqp, Task::Mnli].map(|t| (t, columns(t)))
}

/// Records of a GLUE TSV file, read line by line (constant memory): text columns found by name
/// (SST-2 `sentence`; QQP `question1`/`question2`; MNLI `sentence1`/`sentence2`), the index from
/// the `index` column (QQP: `id`, else `index`) when there is one, else the 0-based data row.
/// Rows are checked as [`kd_core::data::load_split`] checks them: the header's field count, no
/// control characters, no empty text, an integer index; errors name the file and line.
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
        let file = std::fs::File::open(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        Self::new(
            std::io::BufReader::with_capacity(1 << 16, file),
            path,
            pairing,
        )
    }
}

/// Data rows of the TSV at `path` (lines after the header), counted in one streaming pass, for
/// a progress bar's length.
pub fn count_rows(path: &Path) -> Result<u64> {
    let mut reader = std::io::BufReader::with_capacity(
        1 << 16,
        std::fs::File::open(path).map_err(|e| anyhow!("{}: {e}", path.display()))?,
    );
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let buf = reader
            .fill_buf()
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if buf.is_empty() {
            break;
        }
        lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[buf.len() - 1];
        let n = buf.len();
        reader.consume(n);
    }
    Ok((lines + u64::from(last != b'\n')).saturating_sub(1))
}

impl<R: BufRead> TsvReader<R> {
    /// Reads the header of `reader` (named `path` in errors) and finds the columns a model
    /// reading `pairing` needs: a pair model takes the first pair layout the header has, a
    /// single-sentence one `sentence`, the teacher a pair layout if there is one, else `sentence`.
    pub fn new(mut reader: R, path: &Path, pairing: Pairing) -> Result<Self> {
        let at = |line: usize, msg: String| anyhow!("{}:{line}: {msg}", path.display());
        let (mut bytes, mut buf) = (Vec::new(), String::new());
        match read_line(&mut reader, &mut bytes, &mut buf) {
            Err(e) => return Err(anyhow!("{}: {e}", path.display())),
            Ok(Err(())) => return Err(at(1, "invalid UTF-8".into())),
            Ok(Ok(false)) => return Err(at(0, "empty file: no header line".into())),
            Ok(Ok(true)) => {}
        }
        let header_line = buf.strip_prefix('\u{feff}').unwrap_or(&buf);
        let header: Vec<String> = header_line.split('\t').map(str::to_owned).collect();
        let col = |name: &str| header.iter().position(|h| h == name);
        let layouts = layouts();
        let pair_layout = layouts.iter().find(|(_, l)| {
            l.text_b.is_some() && col(l.text_a).is_some() && l.text_b.and_then(col).is_some()
        });
        let single_layout = &layouts[0];
        let layout = match pairing {
            Pairing::Pair => pair_layout.ok_or_else(|| {
                at(
                    1,
                    format!(
                        "no sentence-pair columns for the pair model: expected `question1` and \
                         `question2` (QQP) or `sentence1` and `sentence2` (MNLI); header has: {}",
                        header.join(", ")
                    ),
                )
            })?,
            Pairing::Single => single_layout,
            Pairing::Either => pair_layout.unwrap_or(single_layout),
        };
        let (task, layout) = layout;
        let text_a = col(layout.text_a).ok_or_else(|| {
            at(
                1,
                format!(
                    "missing column `{}` (the {} layout{}); header has: {}",
                    layout.text_a,
                    task.glue_name(),
                    if pairing == Pairing::Either {
                        ", or a pair layout: `question1`/`question2`, `sentence1`/`sentence2`"
                    } else {
                        ""
                    },
                    header.join(", ")
                ),
            )
        })?;
        let text_b = layout.text_b.and_then(col);
        let index = layout.index.iter().find_map(|n| col(n));
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
        let at = format!("{}:{}", self.path.display(), self.line);
        let result = match read_line(&mut self.reader, &mut self.bytes, &mut self.buf) {
            Err(e) => Err(anyhow!("{}: {e}", self.path.display())),
            Ok(Err(())) => Err(anyhow!("{at}: invalid UTF-8")),
            Ok(Ok(false)) => {
                self.done = true;
                return None;
            }
            Ok(Ok(true)) => self.parse_row().map_err(|msg| anyhow!("{at}: {msg}")),
        };
        self.done = result.is_err();
        Some(result)
    }
}
