//! The labelled transfer set as Parquet (`transfer.parquet` in a labelling stage's dir): the same
//! rows as the TSV of [`super::io`], typed, zstd-compressed, readable by pandas, polars or pyarrow
//! with no project code:
//!
//! ```python
//! import pandas as pd
//! df = pd.read_parquet("runs/store/labels-4efcf8410856/transfer.parquet")
//! df[df["mode"] != "original"].head()
//! ```
//!
//! Columns, in order: `orig_id` int64, `aug` int32, `mode` string, `label` int32 (null on
//! augmented rows), `text_a` string, `text_b` string (null for single sentences), then
//! `logit_0..logit_{k-1}` float32. Written with the low-level column writer of the `parquet` crate
//! (no arrow, one codec), in row groups of [`ROW_GROUP`] rows.
//!
//! Reading checks what the TSV reader checks (the schema, aug 0 exactly for originals, finite
//! logits) and names the file and the 0-based row; a panic inside the `parquet` crate on a
//! crafted file is an error naming the file, never an abort.

use super::{AugMode, TransferExample};
use crate::{KdError, Result};
use parquet::basic::{Compression, ZstdLevel};
use parquet::column::reader::{get_typed_column_reader, ColumnReader};
use parquet::column::writer::ColumnWriter;
use parquet::data_type::{ByteArray, ByteArrayType, DataType, FloatType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::path::Path;
use std::sync::Arc;

/// Rows per row group: bounds the writer's and the reader's buffers.
pub const ROW_GROUP: usize = 128 * 1024;

/// The fixed columns, before the logits.
const COLUMNS: [&str; 6] = ["orig_id", "aug", "mode", "label", "text_a", "text_b"];

/// zstd level 3, zstd's default: SST-2's n_iter-1 labelled set (111,894 rows) is 3.7 MB against the
/// TSV's 10.6 MB.
const ZSTD_LEVEL: i32 = 3;

/// The Parquet schema of a set with `num_classes` logit columns.
fn schema(num_classes: usize) -> String {
    let mut s = String::from(
        "message transfer_set {\n  required int64 orig_id;\n  required int32 aug;\n  \
         required binary mode (STRING);\n  optional int32 label;\n  \
         required binary text_a (STRING);\n  optional binary text_b (STRING);\n",
    );
    for k in 0..num_classes {
        s.push_str(&format!("  required float logit_{k};\n"));
    }
    s.push('}');
    s
}

/// Writes `examples` with their `logits` (row-major, `num_classes` per example) to `path`
/// atomically ([`crate::io::atomic_write_bytes`]). Fails, writing nothing, when the logits are not
/// `examples.len() x num_classes` finite numbers or an id does not fit the column's type.
pub fn write_transfer_parquet(
    path: &Path,
    examples: &[TransferExample],
    logits: &[f32],
    num_classes: usize,
) -> Result<()> {
    super::io::check_logits(examples.len(), logits, num_classes)?;
    let bytes = encode(examples, logits, num_classes)
        .map_err(|e| KdError::InvalidArgument(format!("{}: {e}", path.display())))?;
    crate::io::atomic_write_bytes(path, &bytes)
}

/// The whole file in memory (the set is in memory already, and the file is a third of its TSV).
fn encode(
    examples: &[TransferExample],
    logits: &[f32],
    num_classes: usize,
) -> std::result::Result<Vec<u8>, String> {
    let pe = |e: parquet::errors::ParquetError| e.to_string();
    let schema = Arc::new(parse_message_type(&schema(num_classes)).map_err(pe)?);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).map_err(pe)?,
        ))
        .set_created_by("kd-core (Tang et al. 2019 transfer set)".into())
        .build();
    let mut writer = SerializedFileWriter::new(Vec::new(), schema, Arc::new(props)).map_err(pe)?;
    for (g, rows) in examples.chunks(ROW_GROUP).enumerate() {
        let start = g * ROW_GROUP;
        let group_logits = &logits[start * num_classes..(start + rows.len()) * num_classes];
        let mut group = writer.next_row_group().map_err(pe)?;
        let mut c = 0;
        while let Some(mut col) = group.next_column().map_err(pe)? {
            write_column(col.untyped(), c, rows, group_logits, num_classes)?;
            col.close().map_err(pe)?;
            c += 1;
        }
        group.close().map_err(pe)?;
    }
    writer.into_inner().map_err(pe)
}

/// Writes column `c` of one row group.
fn write_column(
    col: &mut ColumnWriter<'_>,
    c: usize,
    rows: &[TransferExample],
    logits: &[f32],
    num_classes: usize,
) -> std::result::Result<(), String> {
    let pe = |e: parquet::errors::ParquetError| e.to_string();
    let text = |s: &str| ByteArray::from(s.as_bytes().to_vec());
    let written = match (c, col) {
        (0, ColumnWriter::Int64ColumnWriter(w)) => {
            let ids = rows
                .iter()
                .map(|r| i64::try_from(r.orig_id).map_err(|_| format!("orig_id {}", r.orig_id)))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            w.write_batch(&ids, None, None)
        }
        (1, ColumnWriter::Int32ColumnWriter(w)) => {
            let augs = rows
                .iter()
                .map(|r| i32::try_from(r.aug).map_err(|_| format!("aug {}", r.aug)))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            w.write_batch(&augs, None, None)
        }
        (2, ColumnWriter::ByteArrayColumnWriter(w)) => {
            let modes: Vec<ByteArray> = rows.iter().map(|r| text(r.mode.as_str())).collect();
            w.write_batch(&modes, None, None)
        }
        (3, ColumnWriter::Int32ColumnWriter(w)) => {
            let mut values = Vec::new();
            let mut defs = Vec::with_capacity(rows.len());
            for r in rows {
                defs.push(i16::from(r.label.is_some()));
                if let Some(l) = r.label {
                    values.push(i32::try_from(l).map_err(|_| format!("label {l}"))?);
                }
            }
            w.write_batch(&values, Some(&defs), None)
        }
        (4, ColumnWriter::ByteArrayColumnWriter(w)) => {
            let texts: Vec<ByteArray> = rows.iter().map(|r| text(&r.text_a)).collect();
            w.write_batch(&texts, None, None)
        }
        (5, ColumnWriter::ByteArrayColumnWriter(w)) => {
            let texts: Vec<ByteArray> = rows
                .iter()
                .filter_map(|r| r.text_b.as_deref())
                .map(text)
                .collect();
            let defs: Vec<i16> = rows.iter().map(|r| i16::from(r.text_b.is_some())).collect();
            w.write_batch(&texts, Some(&defs), None)
        }
        (c, ColumnWriter::FloatColumnWriter(w)) if c >= COLUMNS.len() => {
            let k = c - COLUMNS.len();
            let values: Vec<f32> = (0..rows.len())
                .map(|i| logits[i * num_classes + k])
                .collect();
            w.write_batch(&values, None, None)
        }
        (c, _) => return Err(format!("column {c} has an unexpected type")),
    };
    written.map(|_| ()).map_err(pe)
}

/// Reads a file written by [`write_transfer_parquet`]: the rows, the logits (row-major) and the
/// class count. Errors name the file (line 0: the whole file) and the 0-based row.
#[allow(clippy::type_complexity)]
pub fn read_transfer_parquet(path: &Path) -> Result<(Vec<TransferExample>, Vec<f32>, usize)> {
    let file = std::fs::File::open(path).map_err(|e| KdError::io(path, e))?;
    crate::io::read_without_panics(path, "parquet", || {
        decode(file).map_err(|msg| KdError::parse(path, 0, msg))
    })
}

/// One column of a row group, with `None` for nulls.
fn read_column<T: DataType>(
    reader: &SerializedFileReader<std::fs::File>,
    group: usize,
    column: usize,
    rows: usize,
) -> std::result::Result<Vec<Option<T::T>>, String> {
    let pe = |e: parquet::errors::ParquetError| e.to_string();
    let col: ColumnReader = reader
        .get_row_group(group)
        .map_err(pe)?
        .get_column_reader(column)
        .map_err(pe)?;
    let mut typed = get_typed_column_reader::<T>(col);
    let optional = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .column(column)
        .max_def_level()
        > 0;
    let mut out = Vec::with_capacity(rows);
    let (mut defs, mut values) = (Vec::new(), Vec::new());
    while out.len() < rows {
        defs.clear();
        values.clear();
        let want = (rows - out.len()).min(ROW_GROUP);
        let (records, _, _) = typed
            .read_records(want, optional.then_some(&mut defs), None, &mut values)
            .map_err(pe)?;
        if records == 0 {
            return Err(format!(
                "row group {group}, column {column} ended after {} of its {rows} rows",
                out.len()
            ));
        }
        let mut vals = values.drain(..);
        for r in 0..records {
            if optional && defs.get(r) != Some(&1) {
                out.push(None);
            } else {
                out.push(Some(vals.next().ok_or("missing value")?));
            }
        }
    }
    Ok(out)
}

fn decode(
    file: std::fs::File,
) -> std::result::Result<(Vec<TransferExample>, Vec<f32>, usize), String> {
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    let meta = reader.metadata();
    let num_classes = check_schema(meta.file_metadata().schema_descr())?;
    let mut examples = Vec::new();
    let mut logits = Vec::new();
    for g in 0..meta.num_row_groups() {
        let rows = usize::try_from(meta.row_group(g).num_rows())
            .map_err(|_| format!("row group {g} claims a negative row count"))?;
        if rows > ROW_GROUP * 64 {
            return Err(format!("row group {g} claims {rows} rows"));
        }
        let group = Group {
            ids: read_column::<Int64Type>(&reader, g, 0, rows)?,
            augs: read_column::<Int32Type>(&reader, g, 1, rows)?,
            modes: read_column::<ByteArrayType>(&reader, g, 2, rows)?,
            labels: read_column::<Int32Type>(&reader, g, 3, rows)?,
            texts_a: read_column::<ByteArrayType>(&reader, g, 4, rows)?,
            texts_b: read_column::<ByteArrayType>(&reader, g, 5, rows)?,
            logits: (0..num_classes)
                .map(|k| read_column::<FloatType>(&reader, g, COLUMNS.len() + k, rows))
                .collect::<std::result::Result<_, _>>()?,
        };
        for i in 0..rows {
            let row = examples.len();
            let example = group
                .row(i, &mut logits)
                .map_err(|msg| format!("row {row}: {msg}"))?;
            examples.push(example);
        }
    }
    Ok((examples, logits, num_classes))
}

/// Checks the column names and physical types against [`schema`]; returns the class count.
fn check_schema(
    descr: &parquet::schema::types::SchemaDescriptor,
) -> std::result::Result<usize, String> {
    let names: Vec<String> = (0..descr.num_columns())
        .map(|i| descr.column(i).name().to_string())
        .collect();
    if names.len() <= COLUMNS.len() || names[..COLUMNS.len()] != COLUMNS {
        return Err(format!(
            "columns must start with {COLUMNS:?} then logit_0.., got {names:?}"
        ));
    }
    let num_classes = names.len() - COLUMNS.len();
    for (k, name) in names[COLUMNS.len()..].iter().enumerate() {
        if *name != format!("logit_{k}") {
            return Err(format!(
                "column {} is {name:?}, expected \"logit_{k}\"",
                COLUMNS.len() + k
            ));
        }
    }
    let expected = parse_message_type(&schema(num_classes)).map_err(|e| e.to_string())?;
    let types = |fields: &[parquet::schema::types::TypePtr]| -> Vec<String> {
        fields
            .iter()
            .map(|f| format!("{:?}", f.get_physical_type()))
            .collect()
    };
    let (got, want) = (
        types(descr.root_schema().get_fields()),
        types(expected.get_fields()),
    );
    if got != want {
        return Err(format!(
            "column types {got:?} differ from the transfer set's {want:?}"
        ));
    }
    Ok(num_classes)
}

/// One row group's columns, decoded.
struct Group {
    ids: Vec<Option<i64>>,
    augs: Vec<Option<i32>>,
    modes: Vec<Option<ByteArray>>,
    labels: Vec<Option<i32>>,
    texts_a: Vec<Option<ByteArray>>,
    texts_b: Vec<Option<ByteArray>>,
    logits: Vec<Vec<Option<f32>>>,
}

impl Group {
    /// Row `i`, checked as the TSV reader checks it; its logits are appended to `logits`.
    fn row(&self, i: usize, logits: &mut Vec<f32>) -> std::result::Result<TransferExample, String> {
        let string = |v: &Option<ByteArray>, what: &str| {
            v.as_ref()
                .map(|b| {
                    std::str::from_utf8(b.data())
                        .map(str::to_string)
                        .map_err(|_| format!("{what} is not UTF-8"))
                })
                .transpose()
        };
        let orig_id = self.ids[i]
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| format!("orig_id {:?} is not a non-negative integer", self.ids[i]))?;
        let aug = self.augs[i]
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| format!("aug {:?} is not a non-negative integer", self.augs[i]))?;
        let mode: AugMode = string(&self.modes[i], "mode")?
            .ok_or("mode is null")?
            .parse()?;
        if (aug == 0) != (mode == AugMode::Original) {
            return Err(format!(
                "aug {aug} with mode {mode}: aug is 0 exactly for originals"
            ));
        }
        let label = self.labels[i]
            .map(|l| usize::try_from(l).map_err(|_| format!("label {l} is not a class index")))
            .transpose()?;
        let text_a = string(&self.texts_a[i], "text_a")?.ok_or("text_a is null")?;
        let text_b = string(&self.texts_b[i], "text_b")?;
        for (k, col) in self.logits.iter().enumerate() {
            match col[i] {
                Some(v) if v.is_finite() => logits.push(v),
                v => return Err(format!("logit_{k} is {v:?}")),
            }
        }
        Ok(TransferExample {
            orig_id,
            aug,
            mode,
            label,
            text_a,
            text_b,
        })
    }
}
