//! The bundle's `README.md`: the model, its inputs, the tokenisation rules and a Python
//! onnxruntime snippet, for someone who has only the exported directory.

use crate::bundle::Manifest;

/// A complete Python program that classifies sentences with an exported bundle in onnxruntime
/// (the tokenisation reimplemented in eight lines). `DIR` is the bundle's path; the pair model
/// adds `ids_b`, `lengths_b`.
pub const PYTHON_SNIPPET: &str = r#"import json
import numpy as np
import onnxruntime as ort

DIR = "student-onnx"  # the directory `export --out` wrote
meta = json.load(open(f"{DIR}/student.json"))
vocab = {w: i for i, w in enumerate(open(f"{DIR}/vocab.txt", encoding="utf-8").read().split("\n")[:-1])}

def ids(sentence):
    out = []
    for tok in sentence.split():
        if meta["tokenizer"]["lowercase"] and not (tok.startswith("[") and tok.endswith("]")):
            tok = tok.lower()
        out.append(1 if tok == "[MASK]" else vocab.get(tok, 1))  # 1 = [UNK]
    return out or [0]  # an empty sentence is one [PAD]

def batch(sentences):
    seqs = [ids(s) for s in sentences]
    width = max(map(len, seqs))
    padded = [s + [0] * (width - len(s)) for s in seqs]
    return np.array(padded, dtype=np.int64), np.array([len(s) for s in seqs], dtype=np.int64)

session = ort.InferenceSession(f"{DIR}/model.onnx")
x, lengths = batch(["a gorgeous , witty film", "a dull mess"])
logits = session.run(["logits"], {"ids_a": x, "lengths_a": lengths})[0]
probs = np.exp(logits - logits.max(1, keepdims=True))
probs /= probs.sum(1, keepdims=True)
print([meta["class_names"][k] for k in logits.argmax(1)], probs)
"#;

/// Renders the README of a bundle.
pub fn render(m: &Manifest) -> String {
    let p = &m.provenance;
    let a = &m.architecture;
    let or_unknown = |v: Option<String>| v.unwrap_or_else(|| "not recorded".into());
    let inputs = if m.pair {
        "`ids_a`, `lengths_a` (first sentence) and `ids_b`, `lengths_b` (second sentence)"
    } else {
        "`ids_a`, `lengths_a`"
    };
    format!(
        "# A BiLSTM student, exported to ONNX\n\n\
         The {kind} BiLSTM student of Tang et al. 2019 (\"Distilling Task-Specific Knowledge from \
         BERT into Simple Neural Networks\"), exported from `{dir}` by the `export` binary of \
         bert-bilstm-distill.\n\n\
         | | |\n| --- | --- |\n\
         | task | {task} |\n| variant | {variant} (seed {seed}) |\n| trained on | {targets} |\n\
         | teacher | {teacher} |\n| dev accuracy | {acc} |\n\
         | trained at / exported at (git) | {trained} / {exported} |\n\
         | classes (index order) | {classes} |\n\
         | sizes | {mode} embeddings of {dim} over {vocab} words, LSTM hidden {hidden} per \
         direction, ReLU layer {fc}; {params} parameters ({params_wo} without embeddings) |\n\n\
         ## Files\n\n\
         - `model.onnx`: the graph (opset {opset}). Inputs {inputs}: `ids_*` int64 \
         `[batch, seq_len]`, each row a sentence's token ids right-padded to the batch's longest \
         (any id pads; 0 by convention), `lengths_*` int64 `[batch]`, each sentence's true token \
         count (>= 1). Output `logits` float32 `[batch, {k}]`; softmax gives the probabilities. \
         Padding never changes a sentence's result.\n\
         - `vocab.txt`: one token per line; the 0-based line number is the token's id.\n\
         - `student.json`: the same facts for programs, and the SHA-256 of `model.onnx` and \
         `vocab.txt`.\n\n\
         ## Tokenisation (as the student was trained)\n\n\
         1. Split the sentence on Unicode whitespace (Python `str.split()`; Rust \
         `str::split_whitespace`). Nothing else is split: SST-2 text comes tokenised \
         (`it 's a charming , funny film .`).\n\
         2. {lower}\n\
         3. The id is the token's line in `vocab.txt`; `[MASK]` and tokens not in it are \
         `[UNK]` = 1.\n\
         4. A sentence with no token is one `[PAD]` = 0, length 1.\n\n\
         ## Python (onnxruntime)\n\n```python\n{py}```\n",
        kind = if m.pair {
            "Siamese (sentence-pair)"
        } else {
            "single-sentence"
        },
        dir = p.student_dir,
        task = or_unknown(p.task.clone()),
        variant = or_unknown(p.variant.clone()),
        seed = or_unknown(p.seed.map(|s| s.to_string())),
        targets = or_unknown(p.targets.clone()),
        teacher = p.teacher.clone().unwrap_or_else(|| "none recorded".into()),
        acc = or_unknown(p.dev_accuracy.map(|a| format!("{:.2}%", 100.0 * a))),
        trained = or_unknown(p.trained_git_rev.clone()),
        exported = p.exported_git_rev,
        classes = m.class_names.join(", "),
        mode = a.embedding_mode,
        dim = a.embedding_dim,
        vocab = a.vocab_size,
        hidden = a.hidden_dim,
        fc = a.fc_dim,
        params = a.params,
        params_wo = a.params_without_embeddings,
        opset = a.opset,
        k = m.num_classes,
        lower = if m.tokenizer.lowercase {
            "Lower-case each token (Unicode full case mapping: Python `str.lower()`, Rust \
             `str::to_lowercase`), except a token that starts with `[` and ends with `]`."
        } else {
            "Tokens keep their case (this student's vocabulary is case-sensitive)."
        },
        py = PYTHON_SNIPPET,
    )
}
