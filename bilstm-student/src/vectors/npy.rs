//! A small reader for NumPy `.npy` files holding a 2-D `float32` matrix (the GloVe 6B 50-d table
//! ships as `glove_6B_50d_emb.npy`, 400000×50, stored in Fortran order). Format: magic
//! `\x93NUMPY`, version, header length, a Python-dict header with `descr`, `fortran_order` and
//! `shape`, then the raw data.

use kd_core::{KdError, Result};
use std::path::Path;
use tch::{Kind, Tensor};

/// A row-major (C-order) `f32` matrix read from a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyMatrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows * cols` values, row-major whatever the file's order was.
    pub data: Vec<f32>,
}

impl NpyMatrix {
    /// Row `i` as a slice.
    ///
    /// # Panics
    /// If `i >= self.rows` (a caller bug: row numbers come from the matching word index).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// Reads a 2-D little-endian `f32` (`<f4`) `.npy` file, C or Fortran order. Every error
/// ([`parse_npy_f32`]'s) names the file.
pub fn read_npy_f32(path: &Path) -> Result<NpyMatrix> {
    let bytes = std::fs::read(path).map_err(|e| KdError::io(path, e))?;
    parse_npy_f32(&bytes).map_err(|msg| KdError::parse(path, 0, msg))
}

/// Parses the bytes of a `.npy` file; the error says what was wrong.
///
/// Checked before anything is allocated: the magic, the version (1.0, 2.0, 3.0), that the header
/// fits in the file and is a `{...}` dict, the dtype, the order, a 2-D shape with at least one
/// column whose byte size does not overflow and equals the data that follows the header exactly
/// (so a truncated file, trailing bytes, or a header claiming 2^62 rows are errors). Then every
/// value must be finite: a NaN or infinity is reported with its row and column.
pub fn parse_npy_f32(bytes: &[u8]) -> std::result::Result<NpyMatrix, String> {
    let (header, data_start) = split_header(bytes)?;
    let (fortran, rows, cols) = parse_header(header)?;
    let n = rows
        .checked_mul(cols)
        .filter(|n| n.checked_mul(4).is_some())
        .ok_or(format!(
            "shape ({rows}, {cols}) overflows: no file can hold it"
        ))?;
    let raw = &bytes[data_start..];
    if raw.len() != n * 4 {
        let what = if raw.len() < n * 4 {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(format!(
            "{what}: shape ({rows}, {cols}) needs {} data bytes, file has {}",
            n * 4,
            raw.len()
        ));
    }
    // The data is copied once, into a tensor, and the finiteness check and the Fortran -> C
    // transposition run in libtorch, vectorised: per-value loops over the GloVe matrix's 20M
    // values take seconds in an unoptimised (test) build. The bytes are taken as they are: `<f4`
    // is little-endian, and so is every target libtorch ships for.
    const _: () = assert!(
        cfg!(target_endian = "little"),
        "npy `<f4` needs a little-endian host"
    );
    let to_vec = |t: &Tensor| Vec::<f32>::try_from(t).map_err(|e| format!("reading the data: {e}"));
    // n * 4 fits in usize (checked above), so n and its factors fit in i64.
    let file_order = Tensor::f_from_data_size(raw, &[n as i64], Kind::Float)
        .map_err(|e| format!("reading the data: {e}"))?;
    if file_order.isfinite().all().int64_value(&[]) == 0 {
        let values = to_vec(&file_order)?;
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            let (i, j) = if fortran {
                (k % rows, k / rows)
            } else {
                (k / cols, k % cols)
            };
            return Err(format!(
                "value at row {i}, column {j} is {}: vectors must be finite",
                values[k]
            ));
        }
    }
    let data = if fortran && n > 0 {
        // Column-major: element (i, j) at j * rows + i, i.e. a (cols, rows) matrix, transposed.
        to_vec(
            &file_order
                .view([-1, rows as i64])
                .tr()
                .contiguous()
                .view([-1]),
        )?
    } else {
        to_vec(&file_order)?
    };
    Ok(NpyMatrix { rows, cols, data })
}

/// The header text of a `.npy` file (magic, version 1/2/3 and header length checked) and the
/// offset where its data starts.
fn split_header(bytes: &[u8]) -> std::result::Result<(&str, usize), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (missing \\x93NUMPY magic)".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            let len = bytes.get(8..12).ok_or(format!(
                "truncated .npy header: file has {} bytes",
                bytes.len()
            ))?;
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
            let len = usize::try_from(len).map_err(|_| format!("header length {len} overflows"))?;
            (len, 12)
        }
        v => return Err(format!("unsupported .npy version {v}.{minor}")),
    };
    let data_start = header_start
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or(format!(
            "truncated .npy header: it claims {header_len} bytes, the file has {} after the \
             preamble",
            bytes.len() - header_start.min(bytes.len())
        ))?;
    // Versions 1 and 2 are latin-1, 3 is UTF-8; every header numpy writes is ASCII.
    let header = std::str::from_utf8(&bytes[header_start..data_start])
        .map_err(|_| "header is not ASCII/UTF-8")?;
    Ok((header, data_start))
}

/// `(fortran_order, rows, cols)` from the header dict: a little-endian `f4` dtype and a 2-D
/// shape with at least one column.
fn parse_header(header: &str) -> std::result::Result<(bool, usize, usize), String> {
    let trimmed = header.trim_end_matches(['\n', ' ', '\0']);
    if !(trimmed.starts_with('{') && trimmed.ends_with('}')) {
        return Err(format!("header is not a {{...}} dict: {:?}", clip(header)));
    }
    let descr = dict_value(header, "descr").ok_or("header has no 'descr'")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    if descr != "<f4" && descr != "=f4" && descr != "|f4" {
        return Err(format!("dtype {descr} is not little-endian float32 (<f4)"));
    }
    let fortran =
        match dict_value(header, "fortran_order").ok_or("header has no 'fortran_order'")? {
            "True" => true,
            "False" => false,
            other => return Err(format!("bad fortran_order {other}")),
        };
    let shape = dict_value(header, "shape").ok_or("header has no 'shape'")?;
    let dims: Vec<usize> = shape
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad shape {shape}: {s:?} is not a size that fits in usize"))
        })
        .collect::<std::result::Result<_, _>>()?;
    let [rows, cols] = dims[..] else {
        return Err(format!("expected a 2-D matrix, got shape {shape}"));
    };
    if cols == 0 {
        return Err(format!(
            "shape {shape} has no columns: vectors need a dimension >= 1"
        ));
    }
    Ok((fortran, rows, cols))
}

/// At most the first 80 characters of `s`, for error messages about headers.
fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The raw text of `key`'s value in the header dict (`'key': value,`); tuples are kept whole.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, values: &[f32]) -> Vec<u8> {
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    #[test]
    fn c_and_fortran_order_give_the_same_rows() {
        let c = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            &[1., 2., 3., 4., 5., 6.],
        );
        let f = npy(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
            &[1., 4., 2., 5., 3., 6.],
        );
        let (c, f) = (parse_npy_f32(&c).unwrap(), parse_npy_f32(&f).unwrap());
        assert_eq!(c, f);
        assert_eq!(c.row(1), &[4., 5., 6.]);
    }

    #[test]
    fn wrong_dtype_and_truncation_are_errors() {
        let d = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }",
            &[1., 2.],
        );
        assert!(parse_npy_f32(&d).unwrap_err().contains("<f8"));
        let t = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
            &[1., 2.],
        );
        assert!(parse_npy_f32(&t).unwrap_err().contains("needs 16"));
        assert!(parse_npy_f32(b"hello world").is_err());
    }
}
