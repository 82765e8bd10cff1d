//! Writes the ONNX fixtures of `student-onnx/tests/fixtures/`: two tiny students as the pipeline
//! saves them (multichannel embeddings; a 2-class single-sentence one and a 3-class Siamese pair
//! one, seeded random weights) under `students/{single,pair}/`, and their exported bundles under
//! `onnx/{single,pair}/`. Then `onnxruntime.py` (fixtures venv) runs the bundles in onnxruntime
//! and writes `onnxruntime.json`, which the tests compare with tract, with libtorch and with the
//! Rust tokeniser.
//!
//! ```text
//! cargo run -p experiments --example onnx_fixtures
//! .venv-fixtures/bin/python student-onnx/tests/fixtures/onnxruntime.py
//! ```

use bilstm_student::{
    EmbeddingConfig, EmbeddingMode, StudentConfig, StudentModel, Vocab, VocabConfig,
};
use std::path::Path;

/// The fixture students' training text: the vocabulary they are built over. Mixed case, non-ASCII
/// words whose lower-casing differs between naive and full Unicode case mapping, a bracketed word.
pub const CORPUS: [&str; 4] = [
    "a gorgeous , witty film",
    "a dull mess of a film",
    "Straße ΟΔΟΣ café İstanbul naïve",
    "the [Tag] is n't good",
];

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::set_current_dir(&root)?;
    let fixtures = Path::new("student-onnx/tests/fixtures");
    for (name, pair, classes, seed) in [("single", false, 2, 11), ("pair", true, 3, 12)] {
        let cfg = StudentConfig {
            embedding: EmbeddingConfig {
                mode: EmbeddingMode::Multichannel,
                vectors: None,
                dim: 4,
                init_range: 0.5,
            },
            hidden_dim: 3,
            fc_dim: 5,
            num_classes: classes,
            dropout: 0.1,
            pair,
            ..Default::default()
        };
        let vocab = Vocab::build(CORPUS, &VocabConfig::default());
        tch::manual_seed(seed);
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let model = StudentModel::with_vectors(vs.root(), &cfg, vocab, None)?;
        let student_dir = fixtures.join("students").join(name);
        std::fs::create_dir_all(&student_dir)?;
        model.save(&vs, &student_dir)?;
        let out = fixtures.join("onnx").join(name);
        student_onnx::export(&student_dir, &out, None)?;
        println!("wrote {} and {}", student_dir.display(), out.display());
    }
    Ok(())
}
