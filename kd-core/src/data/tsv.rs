//! Strict reading of GLUE's tab-separated files (the data of §4.1: SST-2, QQP, MNLI).
//!
//! GLUE's TSVs are *not* CSV: fields are split on `'\t'` only and quotes are ordinary characters
//! (SST-2 has sentences with `"`, MNLI with unbalanced quotes), so a CSV reader that honours
//! quoting silently merges rows. This reader instead checks every row against the header's column
//! count and reports the 1-based file line of anything malformed: it never skips a row.
//!
//! A control character inside a field (any char below U+0020 but the tab, and DEL U+007F: a lone
//! `'\r'`, a NUL, an escape sequence) is an error naming the line and column, never cleaned up:
//! such bytes come from a broken export or a binary file, and silently stripping them would feed
//! the tokenizers text nobody looked at. The `'\r'` of a CRLF line ending is not part of a field.
//!
//! The whole file is read at once and validated as UTF-8 in one pass; rows borrow from it, so
//! loading SST-2's 67k training rows costs a few milliseconds.

use crate::{KdError, Result};
use std::path::{Path, PathBuf};

/// A TSV file read into memory: the header and the text of the data rows.
#[derive(Debug, Clone)]
pub struct TsvFile {
    path: PathBuf,
    text: String,
    header: Vec<String>,
    /// Byte offset in `text` where the first data row starts.
    body_start: usize,
}

/// One data row of a [`TsvFile`]: its fields and its 1-based line number in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsvRow<'a> {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    /// The fields, split on `'\t'`, verbatim.
    pub fields: Vec<&'a str>,
}

impl TsvFile {
    /// Reads `path`: checks that it is UTF-8 (naming the first bad line), that it has a header
    /// line, and that the header has no empty or repeated column names.
    ///
    /// A leading UTF-8 byte-order mark and a `'\r'` before each `'\n'` are tolerated; a control
    /// character in a header name ([`find_control_char`]) is an error at line 1.
    /// A file with no bytes is an error at line 0 (the whole file).
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| KdError::io(path, e))?;
        Self::from_bytes(path, bytes)
    }

    /// As [`TsvFile::open`], on bytes already in memory; `path` is used in error messages only.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        let mut text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..valid]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            KdError::parse(path, line, "invalid UTF-8")
        })?;
        if let Some(stripped) = text.strip_prefix('\u{feff}') {
            text = stripped.to_owned();
        }
        if text.is_empty() {
            return Err(KdError::parse(path, 0, "empty file: no header line"));
        }
        let (header_line, body_start) = match text.find('\n') {
            Some(end) => (&text[..end], end + 1),
            None => (text.as_str(), text.len()),
        };
        let header_line = header_line.strip_suffix('\r').unwrap_or(header_line);
        let header: Vec<String> = header_line.split('\t').map(str::to_owned).collect();
        for (i, name) in header.iter().enumerate() {
            if let Some((pos, c)) = find_control_char(name) {
                return Err(KdError::parse(
                    path,
                    1,
                    format!("header column {}: {}", i + 1, control_char_message(c, pos)),
                ));
            }
            if name.trim().is_empty() {
                return Err(KdError::parse(
                    path,
                    1,
                    format!("header column {} has no name", i + 1),
                ));
            }
            if header[..i].contains(name) {
                return Err(KdError::parse(
                    path,
                    1,
                    format!("header repeats column `{name}`"),
                ));
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            text,
            header,
            body_start,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header's column names, in file order.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The position of column `name` in the header, if present.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The position of column `name`, or a parse error at line 1 naming the missing column and
    /// the columns the header does have.
    pub fn require_column(&self, name: &str) -> Result<usize> {
        self.column(name).ok_or_else(|| {
            KdError::parse(
                &self.path,
                1,
                format!(
                    "missing column `{name}` (header has: {})",
                    self.header.join(", ")
                ),
            )
        })
    }

    /// Number of data lines (every line after the header; a final `'\n'` ends the last line
    /// rather than starting an empty one).
    pub fn num_rows(&self) -> usize {
        let body = &self.text[self.body_start..];
        body.bytes().filter(|&b| b == b'\n').count() + usize::from(!body.ends_with('\n'))
            - usize::from(body.is_empty())
    }

    /// The data rows in file order. Each item is an error, naming its line, when the row's
    /// number of fields differs from the header's (an empty line included), or naming its line
    /// and column when a field holds a control character ([`find_control_char`]).
    pub fn rows(&self) -> impl Iterator<Item = Result<TsvRow<'_>>> + '_ {
        let body = &self.text[self.body_start..];
        // One final '\n' ends the last line; anything after the header, even a lone '\n', is a row.
        let lines = (!body.is_empty())
            .then(|| body.strip_suffix('\n').unwrap_or(body).split('\n'))
            .into_iter()
            .flatten();
        let num_columns = self.header.len();
        lines.enumerate().map(move |(i, line)| {
            let line_no = i + 2;
            let line = line.strip_suffix('\r').unwrap_or(line);
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != num_columns {
                let what = if line.is_empty() {
                    "empty line: ".to_owned()
                } else {
                    String::new()
                };
                return Err(KdError::parse(
                    &self.path,
                    line_no,
                    format!(
                        "{what}{} field(s) where the header has {num_columns} column(s)",
                        fields.len()
                    ),
                ));
            }
            for (col, field) in fields.iter().enumerate() {
                if let Some((pos, c)) = find_control_char(field) {
                    return Err(KdError::parse(
                        &self.path,
                        line_no,
                        format!(
                            "column {} (`{}`): {}",
                            col + 1,
                            self.header[col],
                            control_char_message(c, pos)
                        ),
                    ));
                }
            }
            Ok(TsvRow {
                line: line_no,
                fields,
            })
        })
    }
}

/// Whether `c` is a control character that no TSV field may hold: below U+0020 (tab included:
/// it cannot be inside a field, it separates them) or DEL (U+007F).
pub fn is_forbidden_control(c: char) -> bool {
    c < ' ' || c == '\u{7f}'
}

/// The first control character of `text` that no TSV field may hold ([`is_forbidden_control`]),
/// with its 1-based character position.
pub fn find_control_char(text: &str) -> Option<(usize, char)> {
    // Fast path: every forbidden char is ASCII, so a byte scan finds whether there is one.
    if !text.bytes().any(|b| b < b' ' || b == 0x7f) {
        return None;
    }
    text.chars()
        .enumerate()
        .find(|&(_, c)| is_forbidden_control(c))
        .map(|(i, c)| (i + 1, c))
}

/// How a control character found by [`find_control_char`] is reported.
fn control_char_message(c: char, pos: usize) -> String {
    format!(
        "control character {c:?} (U+{:04X}) at character {pos}; control characters inside \
         fields are rejected, not cleaned (only a CRLF line ending's '\\r' is allowed)",
        c as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FileError;

    fn tsv(text: &str) -> Result<TsvFile> {
        TsvFile::from_bytes(Path::new("t.tsv"), text.as_bytes().to_vec())
    }

    fn line_of(err: KdError) -> usize {
        match err {
            KdError::File(FileError::Parse { line, .. }) => line,
            other => panic!("expected a parse error, got {other}"),
        }
    }

    #[test]
    fn counts_rows_with_and_without_final_newline() {
        assert_eq!(tsv("a\tb\n1\t2\n3\t4\n").unwrap().num_rows(), 2);
        assert_eq!(tsv("a\tb\n1\t2\n3\t4").unwrap().num_rows(), 2);
        assert_eq!(tsv("a\tb\n").unwrap().num_rows(), 0);
        assert_eq!(tsv("a\tb").unwrap().num_rows(), 0);
        assert_eq!(tsv("a\tb\n\n").unwrap().num_rows(), 1);
        assert_eq!(tsv("a\tb\n\n").unwrap().rows().count(), 1);
        assert_eq!(tsv("a\tb\n").unwrap().rows().count(), 0);
    }

    #[test]
    fn crlf_and_bom_are_tolerated() {
        let file = tsv("\u{feff}a\tb\r\n1\t2\r\n").unwrap();
        assert_eq!(file.header(), ["a", "b"]);
        let rows: Vec<_> = file.rows().collect::<Result<_>>().unwrap();
        assert_eq!(
            rows,
            vec![TsvRow {
                line: 2,
                fields: vec!["1", "2"]
            }]
        );
    }

    #[test]
    fn blank_line_is_an_error_not_a_skip() {
        let file = tsv("a\tb\n1\t2\n\n3\t4\n").unwrap();
        let err = file.rows().find_map(|r| r.err()).unwrap();
        assert!(err.to_string().contains("empty line"), "{err}");
        assert_eq!(line_of(err), 3);
    }

    #[test]
    fn bad_header_names() {
        assert_eq!(line_of(tsv("a\t\tb\n").unwrap_err()), 1);
        assert_eq!(line_of(tsv("a\tb\ta\n").unwrap_err()), 1);
        assert_eq!(line_of(tsv("").unwrap_err()), 0);
    }

    /// The first row error of `text`, whose header must be fine.
    fn row_err(text: &str) -> KdError {
        let file = tsv(text).unwrap();
        let err = file.rows().find_map(|r| r.err());
        err.expect("expected a row error")
    }

    #[test]
    fn control_chars_name_line_and_column() {
        let err = row_err("a\tb\n1\t2\n3\tx\ry\n");
        let msg = err.to_string();
        assert_eq!(line_of(err), 3);
        assert!(
            msg.contains("column 2 (`b`)") && msg.contains("U+000D"),
            "{msg}"
        );
        assert!(msg.contains("at character 2"), "{msg}");
        for c in ['\0', '\u{1b}', '\u{7f}', '\u{1f}', '\u{b}'] {
            assert_eq!(line_of(row_err(&format!("a\tb\n{c}1\t2\n"))), 2, "{c:?}");
        }
        // "\r\r\n": only the last '\r' belongs to the line ending.
        assert_eq!(line_of(row_err("a\tb\n1\t2\r\r\n")), 2);
        assert_eq!(line_of(tsv("a\tb\x1b[0m\n").unwrap_err()), 1);
        // Old Mac line endings: the whole file is one header line with '\r' in it.
        assert_eq!(line_of(tsv("a\tb\r1\t2\r").unwrap_err()), 1);
        assert_eq!(
            find_control_char("caf\u{e9} \u{85} ok"),
            None,
            "C1 controls pass"
        );
        assert_eq!(find_control_char("\u{e9}\u{7f}"), Some((2, '\u{7f}')));
    }

    #[test]
    fn bad_utf8_names_its_line() {
        let mut bytes = b"a\tb\n1\t2\n3\t".to_vec();
        bytes.extend_from_slice(&[0xff, b'\n']);
        let err = TsvFile::from_bytes(Path::new("t.tsv"), bytes).unwrap_err();
        assert_eq!(line_of(err), 3);
    }
}
