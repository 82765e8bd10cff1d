//! The word2vec / GloVe text format: one `word v1 v2 ... vD` per line, optionally preceded by a
//! word2vec `count dim` header line. This is how a user points the student at the paper's 300-d
//! word2vec vectors (§4.2) after converting them to text.
//!
//! The reader is strict: every line is checked whether or not its word is wanted, and any of
//! these is an error naming `file:line` — invalid UTF-8, an empty line, a row with another number
//! of values than the first row (or the header's `dim`), a value that is not a number or not
//! finite (`nan`, `inf`, or one that overflows `f32`), and a header whose `count` differs from
//! the number of rows that follow (a truncated file). A leading UTF-8 byte-order mark and CRLF
//! line endings are accepted.

use kd_core::{KdError, Result};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;

/// A word2vec `count dim` header line.
struct Header {
    count: usize,
    dim: usize,
}

/// Reads the vectors of the words in `wanted` from a text-format file. Returns the dimension and
/// the vectors found (the first occurrence of a repeated word wins). Every line is checked, wanted
/// or not, so that a malformed file fails whatever the vocabulary (see the module docs).
pub fn read_text_vectors(
    path: &Path,
    wanted: &HashSet<&str>,
) -> Result<(usize, HashMap<String, Vec<f32>>)> {
    let file = std::fs::File::open(path).map_err(|e| KdError::io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut found = HashMap::new();
    let mut header: Option<Header> = None;
    let mut dim: Option<usize> = None;
    let mut num_vectors = 0usize;
    let mut bytes = Vec::new();
    let mut line_no = 0usize;
    loop {
        bytes.clear();
        let n = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| KdError::io(path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let err = |msg: String| KdError::parse(path, line_no, msg);
        let text = line_text(&bytes, line_no == 1).map_err(err)?;
        let mut fields = text.split([' ', '\t']).filter(|f| !f.is_empty());
        let Some(word) = fields.next() else {
            return Err(err("empty line: expected `word v1 ... vD`".into()));
        };
        let rest: Vec<&str> = fields.collect();
        if line_no == 1 && rest.len() == 1 && word.parse::<usize>().is_ok() {
            let h = parse_header(word, rest[0]).map_err(|msg| err(format!("{msg}: {text:?}")))?;
            dim = Some(h.dim);
            header = Some(h);
            continue;
        }
        if rest.is_empty() {
            return Err(err(format!("word {word:?} has no values")));
        }
        match dim {
            None => dim = Some(rest.len()),
            Some(d) if d != rest.len() => {
                let source = if header.is_some() && num_vectors == 0 {
                    "the header's dim"
                } else {
                    "the first row's"
                };
                return Err(err(format!(
                    "word {word:?} has {} values, expected {d} ({source})",
                    rest.len()
                )));
            }
            Some(_) => {}
        }
        num_vectors += 1;
        let want = wanted.contains(word) && !found.contains_key(word);
        if let Some(values) = parse_values(word, &rest, want).map_err(err)? {
            found.insert(word.to_string(), values);
        }
    }
    if let Some(h) = header.filter(|h| h.count != num_vectors) {
        return Err(KdError::parse(
            path,
            1,
            format!(
                "header says {} vectors, the file has {num_vectors} (truncated?)",
                h.count
            ),
        ));
    }
    let dim = dim.ok_or_else(|| KdError::parse(path, 0, "no vectors in file"))?;
    if num_vectors == 0 {
        return Err(KdError::parse(path, 0, "no vectors in file"));
    }
    Ok((dim, found))
}

/// A line's text without its line ending (LF or CRLF) and, on the first line, a UTF-8
/// byte-order mark.
fn line_text(bytes: &[u8], first: bool) -> std::result::Result<&str, String> {
    let line = std::str::from_utf8(bytes)
        .map_err(|e| format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1))?;
    let text = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(line);
    Ok(if first {
        text.strip_prefix('\u{feff}').unwrap_or(text)
    } else {
        text
    })
}

/// Checks that every value of `word`'s row is a finite `f32`; returns them when `want`.
fn parse_values(
    word: &str,
    rest: &[&str],
    want: bool,
) -> std::result::Result<Option<Vec<f32>>, String> {
    let mut values = Vec::with_capacity(if want { rest.len() } else { 0 });
    for (j, v) in rest.iter().enumerate() {
        let x = v
            .parse::<f32>()
            .map_err(|_| format!("word {word:?}: {v:?} is not a number"))?;
        if !x.is_finite() {
            return Err(format!(
                "word {word:?}: value {} is {v:?}, which is not a finite f32",
                j + 1
            ));
        }
        if want {
            values.push(x);
        }
    }
    Ok(want.then_some(values))
}

/// A word2vec header `count dim`; `dim` must be at least 1.
fn parse_header(count: &str, dim: &str) -> std::result::Result<Header, String> {
    let count = count
        .parse::<usize>()
        .map_err(|_| "bad word2vec header count".to_string())?;
    let dim = dim
        .parse::<usize>()
        .ok()
        .filter(|&d| d >= 1)
        .ok_or("bad word2vec header: dim must be an integer >= 1")?;
    Ok(Header { count, dim })
}
