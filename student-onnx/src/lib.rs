//! # student-onnx
//!
//! The BiLSTM student of Tang et al. 2019 outside libtorch: [`export`] turns a trained student
//! directory (`runs/store/student-<key>/`) into an ONNX bundle — `model.onnx`, `vocab.txt`,
//! `student.json`, `README.md` — that onnxruntime (Python, C#, Java, JS, mobile) or tract runs;
//! [`OnnxStudent`] runs a bundle with tract, in pure Rust, behind the `classify` binary, which
//! takes `predict`'s inputs and writes its outputs.
//!
//! - [`tokenize`]: the student's tokenisation, reimplemented (the rules in full).
//! - [`student_dir`]: a trained student's files read and checked without libtorch.
//! - [`graph`]: the ONNX graph (`tract_onnx::pb`'s prost types; no protoc, no hand-written
//!   protobuf).
//! - [`bundle`], [`readme`], [`export`]: what is written, and how (all or none: [`atomic`]).
//! - [`runtime`]: tract; [`input`], [`output`]: `predict`'s readers and writers.
//!
//! No libtorch here, not even in the tests: the comparisons with the libtorch student live in
//! `experiments/tests/onnx.rs`.

pub mod atomic;
pub mod bundle;
pub mod error;
pub mod export;
pub mod graph;
pub mod input;
pub mod output;
pub mod readme;
pub mod runtime;
pub mod student_dir;
pub mod tokenize;

pub use bundle::Manifest;
pub use error::{OnnxError, Result};
pub use export::export;
pub use runtime::{Example, OnnxStudent, Prediction};
pub use tokenize::Tokenizer;
