//! Reads the GloVe word index (`glove_6B_index.parquet`): one UTF-8 string column, row `i` naming
//! row `i` of the `.npy` matrix. Only the low-level column reader of the `parquet` crate is used
//! (no arrow, snappy codec only), which keeps the build light.

use kd_core::{KdError, Result};
use parquet::column::reader::ColumnReader;
use parquet::data_type::ByteArray;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::path::Path;

/// The words of the file's first column in row order; a null row is `None` (it keeps its place so
/// that rows stay aligned with the matrix).
pub fn read_word_index(path: &Path) -> Result<Vec<Option<String>>> {
    let pe = |e: parquet::errors::ParquetError| KdError::parse(path, 0, e.to_string());
    let file = std::fs::File::open(path).map_err(|e| KdError::io(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(pe)?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    if schema.num_columns() == 0 {
        return Err(KdError::parse(path, 0, "parquet file has no columns"));
    }
    let max_def = schema.column(0).max_def_level();
    let mut words = Vec::with_capacity(meta.file_metadata().num_rows().max(0) as usize);
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).map_err(pe)?;
        let ColumnReader::ByteArrayColumnReader(mut col) =
            group.get_column_reader(0).map_err(pe)?
        else {
            return Err(KdError::parse(
                path,
                0,
                "first column is not a string (BYTE_ARRAY) column",
            ));
        };
        let rows = group.metadata().num_rows().max(0) as usize;
        let mut def_levels: Vec<i16> = Vec::new();
        let mut values: Vec<ByteArray> = Vec::new();
        let mut read = 0;
        while read < rows {
            def_levels.clear();
            values.clear();
            let (records, _, _) = col
                .read_records(rows - read, Some(&mut def_levels), None, &mut values)
                .map_err(pe)?;
            if records == 0 {
                return Err(KdError::parse(
                    path,
                    0,
                    format!("row group {g} ended early"),
                ));
            }
            let mut vals = values.iter();
            for r in 0..records {
                let present = max_def == 0 || def_levels.get(r).copied() == Some(max_def);
                if present {
                    let v = vals
                        .next()
                        .ok_or_else(|| KdError::parse(path, 0, "missing value"))?;
                    let s = std::str::from_utf8(v.data()).map_err(|_| {
                        KdError::parse(path, 0, format!("row {} is not UTF-8", words.len()))
                    })?;
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
