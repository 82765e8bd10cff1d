//! Classify a few sentences with a trained model through the library API (`experiments::predict`):
//!
//! ```text
//! cargo run -p experiments --example classify -- runs/store/student-<hash> "a gorgeous film"
//! ```
//!
//! The model dir is a student or a fine-tuned teacher from the pipeline's store; sentences come
//! from the remaining arguments (a tab separates a pair), else three built-in ones.

use experiments::predict::Predictor;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or_else(|| anyhow::anyhow!("usage: classify DIR [TEXT ...]"))?,
    );
    let mut texts: Vec<String> = args.collect();
    if texts.is_empty() {
        texts = [
            "a gorgeous , witty , seductive movie .",
            "a dull , simple-minded mess .",
            "it 's a film .",
        ]
        .map(String::from)
        .to_vec();
    }
    let model = Predictor::load(&dir, None)?; // the kind is found from the dir's files
    let names = model.class_names();
    for (text, p) in texts.iter().zip(model.predict_texts(&texts, 1.0)?) {
        let probs: Vec<String> = names
            .iter()
            .zip(&p.probs)
            .map(|(n, x)| format!("p_{n}={x:.3}"))
            .collect();
        println!("{}\t{}\t{text}", names[p.label], probs.join(" "));
    }
    Ok(())
}
