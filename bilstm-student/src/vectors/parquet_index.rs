//! Reads the GloVe word index (`glove_6B_index.parquet`): one UTF-8 string column, row `i` naming
//! row `i` of the `.npy` matrix. Only the low-level column reader of the `parquet` crate is used
//! (no arrow, snappy codec only), which keeps the build light.
//!
//! The file's metadata is checked before any row is decoded (row counts non-negative and
//! consistent, a flat string column, the expected number of rows when the caller knows it), rows
//! are decoded in bounded batches (so a footer claiming 2^62 rows cannot make us reserve memory
//! for them), and a panic inside the `parquet` crate on a crafted file is turned into an error
//! naming the file: an input file must never abort the program.

use kd_core::{KdError, Result};
use parquet::column::reader::ColumnReader;
use parquet::data_type::ByteArray;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::path::Path;

/// Records decoded per call into the column reader: bounds the level and value buffers.
const BATCH_RECORDS: usize = 64 * 1024;

/// The words of the file's first column in row order; a null row is `None` (it keeps its place so
/// that rows stay aligned with the matrix). Errors name the file (line 0: the whole file), and the
/// row of a word that is not UTF-8.
pub fn read_word_index(path: &Path) -> Result<Vec<Option<String>>> {
    read_word_index_checked(path, None)
}

/// As [`read_word_index`]; when `expected_rows` is given, a file whose metadata claims another
/// number of rows is an error before anything is decoded.
pub(crate) fn read_word_index_checked(
    path: &Path,
    expected_rows: Option<usize>,
) -> Result<Vec<Option<String>>> {
    let file = std::fs::File::open(path).map_err(|e| KdError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| KdError::io(path, e))?.len();
    kd_core::io::read_without_panics(path, "parquet", || {
        read_words(path, file, file_len, expected_rows)
    })
}

fn read_words(
    path: &Path,
    file: std::fs::File,
    file_len: u64,
    expected_rows: Option<usize>,
) -> Result<Vec<Option<String>>> {
    let err = |msg: String| KdError::parse(path, 0, msg);
    let pe = |e: parquet::errors::ParquetError| err(e.to_string());
    let reader = SerializedFileReader::new(file).map_err(pe)?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    if schema.num_columns() == 0 {
        return Err(err("parquet file has no columns".into()));
    }
    let column = schema.column(0);
    if column.max_rep_level() != 0 {
        return Err(err(format!(
            "first column `{}` is a repeated (list) column, expected one word per row",
            column.name()
        )));
    }
    let max_def = column.max_def_level();

    let (num_rows, group_rows) = row_counts(meta, expected_rows).map_err(err)?;

    // Never reserve more than the file could plausibly hold: the count is the file's claim.
    let capacity = num_rows.min(usize::try_from(file_len).unwrap_or(usize::MAX));
    let mut words = Vec::with_capacity(capacity);
    let mut def_levels: Vec<i16> = Vec::new();
    let mut values: Vec<ByteArray> = Vec::new();
    for (g, &rows) in group_rows.iter().enumerate() {
        let group = reader.get_row_group(g).map_err(pe)?;
        let ColumnReader::ByteArrayColumnReader(mut col) =
            group.get_column_reader(0).map_err(pe)?
        else {
            return Err(err(
                "first column is not a string (BYTE_ARRAY) column".into()
            ));
        };
        let mut read = 0;
        while read < rows {
            def_levels.clear();
            values.clear();
            let batch = (rows - read).min(BATCH_RECORDS);
            let (records, _, _) = col
                .read_records(batch, Some(&mut def_levels), None, &mut values)
                .map_err(pe)?;
            if records == 0 || records > batch {
                return Err(err(format!(
                    "row group {g} ended after {read} of its {rows} rows"
                )));
            }
            let mut vals = values.iter();
            for r in 0..records {
                let present = max_def == 0 || def_levels.get(r).copied() == Some(max_def);
                if present {
                    let row = words.len();
                    let v = vals
                        .next()
                        .ok_or_else(|| err(format!("row {row}: missing value")))?;
                    let s = std::str::from_utf8(v.data())
                        .map_err(|_| err(format!("row {row} is not UTF-8")))?;
                    words.push(Some(s.to_string()));
                } else {
                    words.push(None);
                }
            }
            read += records;
        }
    }
    Ok(words)
}

/// The file's row count and its row groups' sizes, checked: non-negative, summing to the total,
/// and equal to `expected_rows` when the caller knows it.
fn row_counts(
    meta: &parquet::file::metadata::ParquetMetaData,
    expected_rows: Option<usize>,
) -> std::result::Result<(usize, Vec<usize>), String> {
    let claimed = meta.file_metadata().num_rows();
    let num_rows =
        usize::try_from(claimed).map_err(|_| format!("metadata claims {claimed} rows"))?;
    let mut group_rows = Vec::with_capacity(meta.num_row_groups());
    for g in 0..meta.num_row_groups() {
        let rows = meta.row_group(g).num_rows();
        group_rows
            .push(usize::try_from(rows).map_err(|_| format!("row group {g} claims {rows} rows"))?);
    }
    let sum = group_rows
        .iter()
        .try_fold(0usize, |acc, &r| acc.checked_add(r))
        .ok_or_else(|| "row group sizes overflow".to_string())?;
    if sum != num_rows {
        return Err(format!(
            "metadata claims {num_rows} rows but its row groups hold {sum}"
        ));
    }
    if let Some(expected) = expected_rows.filter(|&e| e != num_rows) {
        return Err(format!(
            "index has {num_rows} rows but the matrix has {expected}"
        ));
    }
    Ok((num_rows, group_rows))
}
