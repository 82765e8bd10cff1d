//! The two text-table formats every table is written in, each in one place: markdown (a header
//! row, an alignment rule, `| a | b |` rows) and the tidy CSVs (a header, then one record per
//! row, as long as the header by type).

use std::borrow::Borrow;

/// How a markdown column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text (`|---|`).
    Left,
    /// Numbers (`|---:|`).
    Right,
}

/// The header row and alignment rule of a markdown table: `| a | b |\n|---|---:|\n`.
pub fn markdown_head<S: Borrow<str>>(columns: &[(S, Align)]) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.borrow()).collect();
    let rule: String = columns
        .iter()
        .map(|(_, align)| match align {
            Align::Left => "---|",
            Align::Right => "---:|",
        })
        .collect();
    format!("{}|{rule}\n", markdown_row(&names))
}

/// One markdown row: `| a | b |\n`.
pub fn markdown_row<S: Borrow<str>>(cells: &[S]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

/// A tidy CSV: `header`, then each record (a record has as many fields as the header).
pub fn csv_string<const N: usize>(
    header: &[&str; N],
    records: impl IntoIterator<Item = [String; N]>,
) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail; the expects document that rather than hiding an error.
    w.write_record(header).expect("write to Vec");
    for record in records {
        w.write_record(&record).expect("write to Vec");
    }
    String::from_utf8(w.into_inner().expect("flush to Vec")).expect("csv writes UTF-8")
}

/// A CSV number with `digits` decimals; empty when absent.
pub fn fixed(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}")).unwrap_or_default()
}
