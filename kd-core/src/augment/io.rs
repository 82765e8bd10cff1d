//! Transfer-set files: one TSV row per [`TransferExample`], optionally with the teacher's logits
//! (§3.1: the student is trained on the teacher's logits over the augmented set; they are computed
//! once and cached beside the text).
//!
//! Header: `orig_id aug mode label text_a text_b [logit_0 .. logit_{k-1}]` (tab-separated). An
//! empty `label` is `None`; an empty `text_b` is `None` (so a pair's second sentence may not be
//! empty). Logits are written with Rust's shortest round-trip formatting, so they read back bit for
//! bit.

use super::{AugMode, TransferExample};
use crate::data::tsv::{find_control_char, TsvFile};
use crate::{KdError, Result};
use std::io::Write;
use std::path::Path;

const COLUMNS: [&str; 6] = ["orig_id", "aug", "mode", "label", "text_a", "text_b"];

/// Writes `examples` (and, when given, `logits`: row-major, `num_classes` per example) to `path`
/// atomically ([`crate::io::atomic_write`]).
///
/// Fails, writing nothing, if a text contains a control character (a tab, a line break, anything
/// [`crate::data::tsv::find_control_char`] finds: the reader would reject it), a pair's `text_b` is empty,
/// or the logits are not `examples.len() x num_classes` finite numbers.
pub fn write_transfer_set(
    path: &Path,
    examples: &[TransferExample],
    logits: Option<(&[f32], usize)>,
) -> Result<()> {
    for ex in examples {
        let id = |field: &str| {
            format!(
                "transfer example (orig_id {}, aug {}): {field}",
                ex.orig_id, ex.aug
            )
        };
        for (field, text) in [("text_a", Some(&ex.text_a)), ("text_b", ex.text_b.as_ref())] {
            if let Some(text) = text {
                if let Some((pos, c)) = find_control_char(text) {
                    return Err(KdError::InvalidArgument(id(&format!(
                        "{field} contains the control character {c:?} at character {pos} \
                         (a tab or line break, or another char the reader rejects): {text:?}"
                    ))));
                }
            }
        }
        if ex.text_b.as_deref() == Some("") {
            return Err(KdError::InvalidArgument(id(
                "text_b is empty, which the file format reads back as a single sentence",
            )));
        }
    }
    let num_classes = match logits {
        None => 0,
        Some((values, num_classes)) => {
            check_logits(examples.len(), values, num_classes)?;
            num_classes
        }
    };
    crate::io::atomic_write(path, |w| {
        w.write_all(COLUMNS.join("\t").as_bytes())?;
        for k in 0..num_classes {
            write!(w, "\tlogit_{k}")?;
        }
        w.write_all(b"\n")?;
        for (i, ex) in examples.iter().enumerate() {
            write!(w, "{}\t{}\t{}\t", ex.orig_id, ex.aug, ex.mode)?;
            if let Some(label) = ex.label {
                write!(w, "{label}")?;
            }
            write!(w, "\t{}\t{}", ex.text_a, ex.text_b.as_deref().unwrap_or(""))?;
            if let Some((values, _)) = logits {
                for v in &values[i * num_classes..(i + 1) * num_classes] {
                    write!(w, "\t{v}")?;
                }
            }
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// Checks that `logits` are `num_examples x num_classes` finite numbers with `num_classes >= 1`
/// (what both transfer-set writers require).
pub(super) fn check_logits(num_examples: usize, logits: &[f32], num_classes: usize) -> Result<()> {
    if num_classes == 0 || logits.len() != num_examples * num_classes {
        return Err(KdError::Shape(format!(
            "transfer-set logits: expected [num_examples={num_examples}, num_classes={num_classes}] = {} values \
             with num_classes >= 1, got {}",
            num_examples * num_classes,
            logits.len()
        )));
    }
    if let Some(i) = logits.iter().position(|v| !v.is_finite()) {
        return Err(KdError::InvalidArgument(format!(
            "transfer-set logit [{}, {}] is {}",
            i / num_classes,
            i % num_classes,
            logits[i]
        )));
    }
    Ok(())
}

/// Reads a file written by [`write_transfer_set`]: the rows and, if the file has logit columns,
/// the logits (row-major) with their class count.
///
/// The file is read as strict TSV ([`crate::data::tsv::TsvFile`]): invalid UTF-8, a row with the
/// wrong number of fields, an empty line or a control character inside a field (CRLF line endings
/// aside) is an error, as is any field that does not parse. Errors name `file:line` (and the
/// column where it matters).
#[allow(clippy::type_complexity)]
pub fn read_transfer_set(path: &Path) -> Result<(Vec<TransferExample>, Option<(Vec<f32>, usize)>)> {
    let bytes = std::fs::read(path).map_err(|e| KdError::io(path, e))?;
    if bytes.is_empty() {
        // The header line is missing, so the error points at line 1 (where it belongs).
        return Err(KdError::parse(
            path,
            1,
            "empty file: expected a header line",
        ));
    }
    let file = TsvFile::from_bytes(path, bytes)?;
    let num_classes = logit_columns(path, file.header())?;
    let mut examples = Vec::with_capacity(file.num_rows());
    let mut logits = Vec::with_capacity(file.num_rows() * num_classes);
    for row in file.rows() {
        let row = row?;
        let (example, values) =
            parse_row(&row.fields).map_err(|msg| KdError::parse(path, row.line, msg))?;
        examples.push(example);
        logits.extend(values);
    }
    let logits = (num_classes > 0).then_some((logits, num_classes));
    Ok((examples, logits))
}

/// Checks the header (the fixed columns, then `logit_0..logit_{k-1}`); returns `k`.
fn logit_columns(path: &Path, columns: &[String]) -> Result<usize> {
    if columns.len() < COLUMNS.len() || columns[..COLUMNS.len()] != COLUMNS {
        return Err(KdError::parse(
            path,
            1,
            format!(
                "header must start with {:?}, got {:?}",
                COLUMNS.join("\t"),
                columns.join("\t")
            ),
        ));
    }
    for (k, name) in columns[COLUMNS.len()..].iter().enumerate() {
        if *name != format!("logit_{k}") {
            return Err(KdError::parse(
                path,
                1,
                format!(
                    "column {} is {name:?}, expected \"logit_{k}\"",
                    COLUMNS.len() + k + 1
                ),
            ));
        }
    }
    Ok(columns.len() - COLUMNS.len())
}

/// One data row of a transfer-set file: the example and its logits (none in an unlabelled file).
fn parse_row(fields: &[&str]) -> std::result::Result<(TransferExample, Vec<f32>), String> {
    let field = |i: usize| fields[i];
    let orig_id: usize = field(0)
        .parse()
        .map_err(|_| format!("orig_id {:?} is not a non-negative integer", field(0)))?;
    let aug: u32 = field(1)
        .parse()
        .map_err(|_| format!("aug {:?} is not a non-negative integer", field(1)))?;
    let mode: AugMode = field(2).parse()?;
    if (aug == 0) != (mode == AugMode::Original) {
        return Err(format!(
            "aug {aug} with mode {mode}: aug is 0 exactly for originals"
        ));
    }
    let label = match field(3) {
        "" => None,
        s => Some(
            s.parse()
                .map_err(|_| format!("label {s:?} is not a class index"))?,
        ),
    };
    let mut logits = Vec::with_capacity(fields.len() - COLUMNS.len());
    for (k, s) in fields[COLUMNS.len()..].iter().enumerate() {
        let v: f32 = s
            .parse()
            .map_err(|_| format!("logit_{k} {s:?} is not a number"))?;
        if !v.is_finite() {
            return Err(format!("logit_{k} is {v}"));
        }
        logits.push(v);
    }
    let example = TransferExample {
        orig_id,
        aug,
        mode,
        label,
        text_a: field(4).to_string(),
        text_b: (!field(5).is_empty()).then(|| field(5).to_string()),
    };
    Ok((example, logits))
}
