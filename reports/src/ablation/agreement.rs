//! Fidelity on unseen text: per student variant and seed, whether its prediction on each
//! sentence of the task's test split (no label needed) equals its teacher's, read from the run's
//! GLUE submission files (`submissions/<GLUE name>.<model>.seed<N>.tsv`, which every run writes
//! for every model × seed and which the held-out labels score). Each student is paired with the
//! teacher `variants.csv` names (`teacher` in runs made before teachers were data), whose one
//! submission file is `<GLUE name>.<teacher>.seed<N>.tsv` for its fine-tuning seed N.

use super::bootstrap::Correctness;
use crate::error::{ReportError, Result};
use crate::load::VariantRow;
use crate::schema::{ModelName, Task};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// GLUE's submission name of the test split fidelity is measured on (MNLI: the matched one).
pub fn test_submission_name(task: Task) -> &'static str {
    match task {
        Task::Sst2 => "SST-2",
        Task::Qqp => "QQP",
        Task::Mnli => "MNLI-m",
    }
}

/// A submission file: `index<TAB>prediction` rows, predictions as GLUE spells the labels.
fn read_submission(path: &Path) -> Result<Vec<(u64, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| ReportError::io(path, e))?;
    let mut lines = text.lines();
    if lines.next() != Some("index\tprediction") {
        return Err(ReportError::parse(
            path,
            1,
            "expected the header `index<TAB>prediction`",
        ));
    }
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let (index, label) = line
            .split_once('\t')
            .ok_or_else(|| ReportError::parse(path, n, "expected `index<TAB>prediction`"))?;
        let index: u64 = index
            .parse()
            .map_err(|_| ReportError::parse(path, n, format!("index `{index}` is not a number")))?;
        rows.push((index, label.to_string()));
    }
    Ok(rows)
}

/// Every `<name>.<model>.seed<N>.tsv` in `dir`, as (N, path), sorted by seed.
fn seed_files(dir: &Path, name: &str, model: &ModelName) -> Result<Vec<(u64, PathBuf)>> {
    let prefix = format!("{name}.{model}.seed");
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(ReportError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| ReportError::io(dir, e))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(seed) = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tsv"))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((seed, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// One seed's submission file: its path and its (index, label) rows.
type SeedFile = (PathBuf, Vec<(u64, String)>);

/// Per student variant, per seed, its agreement with its teacher on every test sentence (in the
/// files' row order), for the variants and seeds whose submissions exist. A variant whose
/// teacher has no submission is left out; a teacher with two submission files, or a student file
/// whose indices differ from its teacher's, is an error naming the file.
pub fn read_agreement(
    run_dir: &Path,
    task: Task,
    variants: &[VariantRow],
) -> Result<BTreeMap<ModelName, Correctness>> {
    let dir = run_dir.join("submissions");
    let name = test_submission_name(task);
    let mut teachers: BTreeMap<ModelName, Option<SeedFile>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for v in variants {
        if !teachers.contains_key(&v.teacher) {
            let files = seed_files(&dir, name, &v.teacher)?;
            let loaded = match files.as_slice() {
                [] => None,
                [(_, path)] => Some((path.clone(), read_submission(path)?)),
                [(_, a), (_, b), ..] => {
                    return Err(ReportError::Invalid {
                        path: b.clone(),
                        msg: format!(
                            "teacher `{}` has more than one submission ({} too): which one the \
                             students learnt from is ambiguous",
                            v.teacher,
                            a.display()
                        ),
                    })
                }
            };
            teachers.insert(v.teacher.clone(), loaded);
        }
        let Some(Some((tpath, trows))) = teachers.get(&v.teacher) else {
            continue;
        };
        let mut per_seed = Correctness::new();
        for (seed, path) in seed_files(&dir, name, &v.model)? {
            let rows = read_submission(&path)?;
            if rows.len() != trows.len() || rows.iter().zip(trows).any(|(a, b)| a.0 != b.0) {
                return Err(ReportError::Invalid {
                    path,
                    msg: format!(
                        "its indices differ from the teacher's submission {}",
                        tpath.display()
                    ),
                });
            }
            per_seed.insert(seed, rows.iter().zip(trows).map(|(a, b)| a.1 == b.1).collect());
        }
        if !per_seed.is_empty() {
            out.insert(v.model.clone(), per_seed);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, file: &str, rows: &[(u64, &str)]) {
        let mut text = String::from("index\tprediction\n");
        for (i, p) in rows {
            text.push_str(&format!("{i}\t{p}\n"));
        }
        std::fs::write(dir.join(file), text).unwrap();
    }

    fn variant(model: &str, teacher: &str) -> VariantRow {
        let text = format!(
            "task,config,model,baseline,data,targets,objective,alpha,soft,temperature,n_iter,transfer_size,description,teacher\n\
             sst2,c,{model},true,train,gold,hard,1,none,1,0,10,d,{teacher}\n"
        );
        crate::load::read_rows_from::<VariantRow, _>(Path::new("v.csv"), text.as_bytes())
            .unwrap()
            .remove(0)
    }

    #[test]
    fn agreement_pairs_each_seed_with_its_teacher_by_row() {
        let tmp = tempfile::tempdir().unwrap();
        let sub = tmp.path().join("submissions");
        std::fs::create_dir_all(&sub).unwrap();
        write(&sub, "SST-2.teacher_b.seed3.tsv", &[(0, "1"), (1, "0"), (2, "1")]);
        write(&sub, "SST-2.s.seed0.tsv", &[(0, "1"), (1, "1"), (2, "1")]);
        write(&sub, "SST-2.s.seed1.tsv", &[(0, "1"), (1, "0"), (2, "1")]);
        let got = read_agreement(tmp.path(), Task::Sst2, &[variant("s", "teacher_b")]).unwrap();
        let s = &got[&ModelName::new("s").unwrap()];
        assert_eq!(s[&0], [true, false, true]);
        assert_eq!(s[&1], [true, true, true]);
        // No teacher submission: the variant is left out.
        let none = read_agreement(tmp.path(), Task::Sst2, &[variant("s", "teacher")]).unwrap();
        assert!(none.is_empty());
        // Indices that differ from the teacher's are an error naming the file.
        write(&sub, "SST-2.s.seed2.tsv", &[(0, "1"), (2, "1"), (1, "1")]);
        let err = read_agreement(tmp.path(), Task::Sst2, &[variant("s", "teacher_b")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SST-2.s.seed2.tsv") && err.contains("indices differ"), "{err}");
        // A bad header names the file and line 1.
        std::fs::write(sub.join("SST-2.s.seed2.tsv"), "id\tlabel\n").unwrap();
        let err = read_agreement(tmp.path(), Task::Sst2, &[variant("s", "teacher_b")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SST-2.s.seed2.tsv:1"), "{err}");
    }
}
