//! Predictions of any trained model — a student or the fine-tuned teacher — on new text: the
//! library behind the `predict` binary.
//!
//! [`Predictor::load`] takes a model directory as the pipeline writes it to its store and finds
//! the kind from its files:
//!
//! | kind    | files                                                        | loaded by |
//! | ------- | ------------------------------------------------------------ | --------- |
//! | student | `student_config.json`, `vocab.json`, `best.safetensors`      | [`crate::stages::evaluate::load_student`] |
//! | teacher | `config.json` (with `id2label`), `model.safetensors`, `tokenizer.json` | [`bert_teacher::Teacher::load`] |
//!
//! A directory that is neither, or one with a file missing, is an error naming what is missing;
//! a pre-trained BERT without a classifier head (the MiniLM the teacher starts from) is refused:
//! it has no classes to predict.
//!
//! Both kinds are used through [`Classifier`], as the pipeline's evaluation uses them, so a
//! model's predictions here equal the labels of the GLUE submission files the pipeline wrote.
//!
//! Inputs are records ([`Record`]: an index and a [`Example`]) read lazily from a GLUE TSV file
//! ([`TsvReader`], columns found by name), from plain lines (one sentence, or a tab-separated
//! pair, per line: [`LineReader`]) or from strings. [`Predictor::predict_stream`] reads them in
//! blocks, predicts and writes one row per record ([`Format`]), in constant memory whatever the
//! input's length.
//!
//! The code, by concept; each file uses only those listed before it:
//!
//! - `input.rs`: the records and their readers ([`TsvReader`], [`LineReader`], [`TextReader`],
//!   [`count_rows`]), with the [`Pairing`] a model reads; errors name the file and line;
//! - `load.rs`: the model directory ([`detect`], [`ModelKind`]), its classes ([`class_names`])
//!   and [`Predictor::load`] with the [`Predictor`]'s accessors;
//! - `output.rs`: a [`Prediction`] and the rows written for it ([`Format`]);
//! - `batch.rs`: predicting — [`Predictor::predict`] on examples, [`Predictor::predict_stream`]
//!   and [`Predictor::predict_to_file`] block by block ([`BLOCK_BATCHES`], [`StreamOptions`]).
//!
//! This file re-exports their public items (`experiments::predict::Predictor`, ...) and holds
//! the binary's error helpers ([`one_line`], [`is_broken_pipe`]).
//!
//! [`Classifier`]: kd_core::Classifier
//! [`Example`]: kd_core::data::Example

mod batch;
mod input;
mod load;
mod output;
#[cfg(test)]
mod tests;

pub use batch::{StreamOptions, BLOCK_BATCHES};
pub use input::{count_rows, LineReader, Pairing, Record, TextReader, TsvReader};
pub use load::{class_names, detect, ModelKind, Predictor, STUDENT_BATCH_SIZE, TEACHER_BATCH_SIZE};
pub use output::{Format, Prediction};

/// An error as one line: each cause's first line, joined by `: ` (libtorch messages can carry a
/// C++ backtrace after their first line), a cause already quoted by the one before it left out.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let first = text.lines().next().unwrap_or("").trim().to_owned();
        if first.is_empty() || parts.last().is_some_and(|p| p.contains(&first)) {
            continue;
        }
        parts.push(first);
    }
    parts.join(": ")
}

/// Whether `e` comes from writing into a closed pipe (`predict ... | head`): not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
