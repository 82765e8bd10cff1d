//! The word2vec / GloVe text format: one `word v1 v2 ... vD` per line, optionally preceded by a
//! word2vec `count dim` header line. This is how a user points the student at the paper's 300-d
//! word2vec vectors (§4.2) after converting them to text.

use kd_core::{KdError, Result};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Reads the vectors of the words in `wanted` from a text-format file. Returns the dimension and
/// the vectors found (the first occurrence of a repeated word wins). Every line is checked, wanted
/// or not, so that a malformed file fails whatever the vocabulary.
pub fn read_text_vectors(
    path: &Path,
    wanted: &HashSet<&str>,
) -> Result<(usize, HashMap<String, Vec<f32>>)> {
    let file = std::fs::File::open(path).map_err(|e| KdError::io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut found = HashMap::new();
    let mut dim: Option<usize> = None;
    let mut line = String::new();
    let mut line_no = 0usize;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| KdError::io(path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let mut fields = text.split([' ', '\t']).filter(|f| !f.is_empty());
        let Some(word) = fields.next() else { continue };
        let rest: Vec<&str> = fields.collect();
        if line_no == 1 && rest.len() == 1 && word.parse::<usize>().is_ok() {
            // word2vec header "count dim".
            dim = Some(rest[0].parse::<usize>().map_err(|_| {
                KdError::parse(path, line_no, format!("bad word2vec header {text:?}"))
            })?);
            continue;
        }
        match dim {
            None => dim = Some(rest.len()),
            Some(d) if d != rest.len() => {
                return Err(KdError::parse(
                    path,
                    line_no,
                    format!("word {word:?} has {} values, expected {d}", rest.len()),
                ))
            }
            Some(_) => {}
        }
        if rest.is_empty() {
            return Err(KdError::parse(
                path,
                line_no,
                format!("word {word:?} has no values"),
            ));
        }
        let want = wanted.contains(word) && !found.contains_key(word);
        let mut values = Vec::with_capacity(if want { rest.len() } else { 0 });
        for v in &rest {
            let x = v.parse::<f32>().map_err(|_| {
                KdError::parse(
                    path,
                    line_no,
                    format!("word {word:?}: {v:?} is not a number"),
                )
            })?;
            if want {
                values.push(x);
            }
        }
        if want {
            found.insert(word.to_string(), values);
        }
    }
    let dim = dim.ok_or_else(|| KdError::parse(path, 0, "no vectors in file"))?;
    Ok((dim, found))
}
