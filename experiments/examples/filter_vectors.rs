//! Writes the word vectors of a task's words as a GloVe text file (`word v1 .. vd` per line,
//! shortest round-trip floats, so the values are bit-identical to the source's): the rows a run
//! on that data can use, for carrying to another machine. GloVe 6B 50-d is 80 MB as a table; the
//! rows of SST-2's ~16k words are ~7 MB of text (`scripts/build-cuda.sh` does this).
//!
//!     cargo run --release -p experiments --example filter_vectors -- VECTORS OUT.txt TASK_DIR
//!
//! VECTORS is what `students.model.embedding.vectors` takes (the set-up's `.cache/glove`, or a
//! text file); TASK_DIR a GLUE task folder (its `train.tsv`, `dev*.tsv`, `test*.tsv` are read).

use anyhow::{bail, Context, Result};
use bilstm_student::{Vocab, VocabConfig, WordVectors};
use kd_core::data::{load_split, Task};
use std::io::Write;
use std::path::PathBuf;

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [vectors, out, task_dir] = args.as_slice() else {
        bail!("usage: filter_vectors VECTORS OUT.txt TASK_DIR");
    };
    let task_dir = PathBuf::from(task_dir);
    let folder = task_dir.file_name().and_then(|n| n.to_str());
    let Some(task) = Task::ALL
        .into_iter()
        .find(|t| Some(t.glue_name()) == folder)
    else {
        bail!(
            "{}: expected a GLUE task folder (SST-2, QQP or MNLI)",
            task_dir.display()
        );
    };
    let mut texts = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&task_dir)
        .with_context(|| task_dir.display().to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    for file in &files {
        for e in load_split(task, file)? {
            texts.push(e.text_a);
            texts.extend(e.text_b);
        }
    }
    let vocab = Vocab::build(texts.iter().map(String::as_str), &VocabConfig::default());
    let vectors = WordVectors::load(&PathBuf::from(vectors), &vocab)?;
    let mut rows: Vec<(&String, &Vec<f32>)> = vectors.vectors.iter().collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    kd_core::io::atomic_write(&PathBuf::from(out), |w| {
        for (word, v) in &rows {
            write!(w, "{word}")?;
            for x in *v {
                write!(w, " {x}")?;
            }
            writeln!(w)?;
        }
        Ok(())
    })?;
    eprintln!(
        "{out}: {} of {} words ({} files), dim {}",
        rows.len(),
        vocab.len(),
        files.len(),
        vectors.dim
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("filter_vectors: error: {e:#}");
        std::process::exit(1);
    }
}
