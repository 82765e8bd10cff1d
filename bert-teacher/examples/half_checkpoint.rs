//! Copies a BERT checkpoint dir (a Hugging Face one such as all-MiniLM-L6-v2, or a fine-tuned
//! teacher dir the pipeline wrote) with its `model.safetensors` in float16 or bfloat16: half the
//! bytes, for carrying a teacher to a GPU machine (`scripts/build-cuda.sh` does). The other files
//! of the dir (`config.json`, `tokenizer.json`, ...) are copied as they are.
//!
//!     cargo run --release -p bert-teacher --example half_checkpoint -- SRC_DIR DST_DIR [f16|bf16]

use bert_teacher::checkpoint::convert_safetensors;
use std::path::PathBuf;
use tch::Kind;

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (src, dst) = match args.as_slice() {
        [s, d] | [s, d, _] => (PathBuf::from(s), PathBuf::from(d)),
        _ => return Err("usage: half_checkpoint SRC_DIR DST_DIR [f16|bf16]".into()),
    };
    let kind = match args.get(2).map(String::as_str) {
        None | Some("f16") => Kind::Half,
        Some("bf16") => Kind::BFloat16,
        Some(other) => return Err(format!("unknown dtype {other:?}: f16 or bf16")),
    };
    std::fs::create_dir_all(&dst).map_err(|e| format!("{}: {e}", dst.display()))?;
    let entries = std::fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", src.display()))?.path();
        let name = path.file_name().unwrap_or_default();
        if !path.is_file() || name.to_string_lossy().starts_with('.') {
            continue;
        }
        let out = dst.join(name);
        if path.extension().is_some_and(|e| e == "safetensors") {
            convert_safetensors(&path, &out, kind).map_err(|e| e.to_string())?;
        } else {
            std::fs::copy(&path, &out).map_err(|e| format!("{}: {e}", out.display()))?;
        }
        eprintln!("{}", out.display());
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("half_checkpoint: error: {e}");
        std::process::exit(1);
    }
}
