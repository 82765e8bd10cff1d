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

use crate::stages::evaluate::load_student;
use anyhow::{anyhow, bail, Context, Result};
use bilstm_student::StudentModel;
use kd_core::data::tsv::find_control_char;
use kd_core::data::{columns, Columns, Example, Task};
use kd_core::loss::softmax_rows;
use kd_core::metrics::argmax;
use kd_core::Classifier;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Default batch size of a student (a BiLSTM batch of 256 is cheap on a CPU).
pub const STUDENT_BATCH_SIZE: usize = 256;
/// Default batch size of the teacher.
pub const TEACHER_BATCH_SIZE: usize = 32;
/// Input is read in blocks of this many batches: the model sorts a block by length before
/// batching it, so the batches are padded little, while memory stays bounded by the block
/// (32,768 sentences at the student's batch size: tens of MB). Measured on a 1M-line file, 8
/// batches per block padded enough to cost a third of the rate: 13,969 against 20,457
/// sentences/s (README, "Speed").
pub const BLOCK_BATCHES: usize = 128;

/// Files of a student dir, in the order they are reported missing.
const STUDENT_FILES: [&str; 3] = [
    bilstm_student::model::CONFIG_FILE,
    bilstm_student::model::VOCAB_FILE,
    bilstm_student::model::WEIGHTS_FILE,
];
/// Files of a teacher dir, in the order they are reported missing.
const TEACHER_FILES: [&str; 3] = [
    bert_teacher::teacher::CONFIG_FILE,
    bert_teacher::teacher::WEIGHTS_FILE,
    bert_teacher::teacher::TOKENIZER_FILE,
];

/// What kind of model a directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A trained BiLSTM student (`runs/store/student-<hash>/`).
    Student,
    /// A fine-tuned BERT teacher (`runs/store/teacher-<hash>/`).
    Teacher,
}

impl ModelKind {
    /// `student` or `teacher`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Student => "student",
            ModelKind::Teacher => "teacher",
        }
    }
}

/// Which inputs a model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// Single sentences only (the SST-2 student).
    Single,
    /// Sentence pairs only (the Siamese QQP / MNLI students).
    Pair,
    /// Either (BERT reads `[CLS] a [SEP]` and `[CLS] a [SEP] b [SEP]` alike); one input must
    /// not mix the two.
    Either,
}

/// The kind of model in `dir`, from its files: a one-line error naming the missing file when the
/// dir is incomplete, or the files it looked for when it is no model dir at all.
pub fn detect(dir: &Path) -> Result<ModelKind> {
    if !dir.exists() {
        bail!("{}: no such directory", dir.display());
    }
    if !dir.is_dir() {
        bail!(
            "{}: not a directory (give the model's directory)",
            dir.display()
        );
    }
    let has = |name: &str| dir.join(name).is_file();
    let check = |kind: ModelKind, files: &[&str]| -> Result<ModelKind> {
        let missing: Vec<&str> = files.iter().copied().filter(|f| !has(f)).collect();
        if missing.is_empty() {
            return Ok(kind);
        }
        let unfinished = if has("done.json") {
            ""
        } else {
            " (no done.json either: is its training finished?)"
        };
        bail!(
            "{}: incomplete {} dir: {} missing{unfinished}",
            dir.display(),
            kind.name(),
            missing.join(", "),
        )
    };
    if STUDENT_FILES.iter().any(|f| has(f)) {
        return check(ModelKind::Student, &STUDENT_FILES);
    }
    if TEACHER_FILES.iter().any(|f| has(f)) {
        return check(ModelKind::Teacher, &TEACHER_FILES);
    }
    bail!(
        "{}: not a model dir: no {} (a student, e.g. runs/store/student-<hash>/) nor {} (a \
         teacher, e.g. runs/store/teacher-<hash>/)",
        dir.display(),
        STUDENT_FILES[0],
        TEACHER_FILES[0],
    )
}

/// The class names of a `k`-class model of this project, in class-index order: those of the
/// GLUE task with `k` classes (`0`, `1` for SST-2 and QQP; MNLI's `contradiction`, `entailment`,
/// `neutral`), else the class indices.
pub fn class_names(k: usize) -> Vec<String> {
    match [Task::Sst2, Task::Qqp, Task::Mnli]
        .into_iter()
        .find(|t| t.num_classes() == k)
    {
        Some(task) => task.label_names().iter().map(|s| s.to_string()).collect(),
        None => (0..k).map(|i| i.to_string()).collect(),
    }
}

/// A loaded model.
enum Model {
    /// The student, with the `VarStore` its weights live in (kept alive with it).
    Student {
        model: Box<StudentModel>,
        _vs: tch::nn::VarStore,
    },
    Teacher(Box<bert_teacher::Teacher>),
}

/// A trained model ready to predict: a [`Classifier`] with its kind, class names and the inputs
/// it reads.
pub struct Predictor {
    model: Model,
    kind: ModelKind,
    dir: PathBuf,
    class_names: Vec<String>,
}

/// One prediction: the argmax class and the probabilities at the temperature asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Class index (into [`Predictor::class_names`]), the argmax of the logits.
    pub label: usize,
    /// `softmax(z / T)`, one per class.
    pub probs: Vec<f32>,
}

impl Predictor {
    /// Loads the model in `dir` ([`detect`] says which kind) onto `device`; `None` is CUDA when
    /// available, else the CPU.
    pub fn load(dir: &Path, device: Option<tch::Device>) -> Result<Self> {
        let kind = detect(dir)?;
        let device = device.unwrap_or_else(tch::Device::cuda_if_available);
        let model = match kind {
            ModelKind::Student => {
                let (model, _vs) = load_student(dir, device)?;
                Model::Student {
                    model: Box::new(model),
                    _vs,
                }
            }
            ModelKind::Teacher => {
                let config_path = dir.join(bert_teacher::teacher::CONFIG_FILE);
                let config = bert_teacher::bert::BertConfig::from_file(&config_path)?;
                if config.num_labels().is_none() {
                    bail!(
                        "{}: a pre-trained BERT without a classifier head (no id2label or \
                         num_labels): it cannot classify; fine-tune it first (`sst2` writes \
                         the fine-tuned teacher to runs/store/teacher-<hash>/)",
                        config_path.display()
                    );
                }
                let teacher = bert_teacher::Teacher::load(dir, device)
                    .with_context(|| format!("loading the teacher from {}", dir.display()))?;
                Model::Teacher(Box::new(teacher))
            }
        };
        let mut p = Predictor {
            model,
            kind,
            dir: dir.to_path_buf(),
            class_names: Vec::new(),
        };
        p.class_names = class_names(p.classifier().num_classes());
        Ok(p)
    }

    /// The model, as the pipeline's evaluation uses it.
    pub fn classifier(&self) -> &dyn Classifier {
        match &self.model {
            Model::Student { model, .. } => model.as_ref(),
            Model::Teacher(t) => t.as_ref(),
        }
    }

    /// Student or teacher.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// The directory it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Class names in class-index order ([`class_names`]).
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Which inputs the model reads.
    pub fn pairing(&self) -> Pairing {
        match (self.kind, self.classifier().is_pair()) {
            (ModelKind::Teacher, _) => Pairing::Either,
            (ModelKind::Student, true) => Pairing::Pair,
            (ModelKind::Student, false) => Pairing::Single,
        }
    }

    /// The default batch size of this kind ([`STUDENT_BATCH_SIZE`], [`TEACHER_BATCH_SIZE`]).
    pub fn default_batch_size(&self) -> usize {
        match self.kind {
            ModelKind::Student => STUDENT_BATCH_SIZE,
            ModelKind::Teacher => TEACHER_BATCH_SIZE,
        }
    }

    /// Predictions for `examples`, in order, at temperature `temperature` (> 0; the label is the
    /// argmax of the logits, whatever the temperature).
    pub fn predict(
        &self,
        examples: &[Example],
        batch_size: usize,
        temperature: f64,
    ) -> Result<Vec<Prediction>> {
        if batch_size == 0 {
            bail!("the batch size must be >= 1");
        }
        let clf = self.classifier();
        let k = clf.num_classes();
        let logits = clf
            .predict_logits(examples, batch_size)
            .with_context(|| format!("{} {}", self.kind.name(), self.dir.display()))?;
        let probs = softmax_rows(&logits, k, temperature)?;
        Ok(argmax(&logits, k)
            .into_iter()
            .zip(probs.chunks(k))
            .map(|(label, p)| Prediction {
                label,
                probs: p.to_vec(),
            })
            .collect())
    }

    /// Predictions for sentences given as strings: a tab separates the two sentences of a pair.
    pub fn predict_texts<S: AsRef<str>>(
        &self,
        texts: &[S],
        temperature: f64,
    ) -> Result<Vec<Prediction>> {
        let examples = TextReader::new(texts.iter().map(|s| s.as_ref().to_owned()), self.pairing())
            .map(|r| r.map(|r| r.example))
            .collect::<Result<Vec<_>>>()?;
        self.predict(&examples, self.default_batch_size(), temperature)
    }

    /// Reads `records` in blocks of [`BLOCK_BATCHES`] × `opts.batch_size`, predicts each block
    /// and writes its rows to `out` (the header with the first block's rows, so an error in the
    /// first block writes nothing); returns the number of rows. `total`, when known, sizes the
    /// progress bar. An error in the input stops it at the block that holds the bad record: rows
    /// of earlier blocks have been written to `out` by then.
    pub fn predict_stream(
        &self,
        records: impl Iterator<Item = Result<Record>>,
        total: Option<u64>,
        opts: &StreamOptions,
        out: &mut dyn Write,
    ) -> Result<u64> {
        if opts.batch_size == 0 {
            bail!("the batch size must be >= 1");
        }
        // The temperature is checked before anything is read.
        softmax_rows(&[], 1, opts.temperature)?;
        let bar = kd_core::progress::example_bar(total.unwrap_or(0), "predict", opts.progress);
        if total.is_none() {
            bar.unset_length();
        }
        let start = Instant::now();
        let block_size = opts.batch_size.saturating_mul(BLOCK_BATCHES);
        let mut records = records.peekable();
        let mut indices: Vec<u64> = Vec::with_capacity(block_size);
        let mut examples: Vec<Example> = Vec::with_capacity(block_size);
        let mut written = 0u64;
        while records.peek().is_some() {
            indices.clear();
            examples.clear();
            for r in records.by_ref().take(block_size) {
                let r = r?;
                indices.push(r.index);
                examples.push(r.example);
            }
            let preds = self.predict(&examples, opts.batch_size, opts.temperature)?;
            if written == 0 {
                write_header(out, opts.format, &self.class_names).context("writing the output")?;
            }
            for (&index, p) in indices.iter().zip(&preds) {
                write_row(out, opts.format, &self.class_names, index, p)
                    .context("writing the output")?;
            }
            written += indices.len() as u64;
            bar.inc(indices.len() as u64);
        }
        if written == 0 {
            write_header(out, opts.format, &self.class_names).context("writing the output")?;
        }
        out.flush().context("writing the output")?;
        bar.finish_and_clear();
        if opts.progress {
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "predict: {written} examples in {secs:.1} s ({})",
                kd_core::progress::format_rate(written as f64 / secs.max(1e-9))
            );
        }
        Ok(written)
    }

    /// [`Predictor::predict_stream`] into `path`, written atomically
    /// ([`kd_core::io::atomic_write`]): on any error, or when the process is killed, `path` keeps
    /// its previous content (or stays absent); never a half-written file.
    pub fn predict_to_file(
        &self,
        records: impl Iterator<Item = Result<Record>>,
        total: Option<u64>,
        opts: &StreamOptions,
        path: &Path,
    ) -> Result<u64> {
        let mut failure = None;
        let mut written = 0;
        let res = kd_core::io::atomic_write(path, |w| {
            match self.predict_stream(records, total, opts, w) {
                Ok(n) => {
                    written = n;
                    Ok(())
                }
                Err(e) => {
                    failure = Some(e);
                    Err(std::io::Error::other("prediction failed"))
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        res?;
        Ok(written)
    }
}

/// How [`Predictor::predict_stream`] runs.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Examples per forward pass.
    pub batch_size: usize,
    /// Softmax temperature (> 0).
    pub temperature: f64,
    /// Output format.
    pub format: Format,
    /// Show a progress bar with the rate on stderr (and a closing summary line).
    pub progress: bool,
}

/// Output format of [`Predictor::predict_stream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Tab-separated, header `index<TAB>label<TAB>p_<class>...`.
    #[default]
    Tsv,
    /// One JSON object per line, `{"index":..,"label":..,"p_<class>":..,...}`: the TSV's
    /// columns as keys, in the same order (no header line).
    Jsonl,
}

fn write_header(out: &mut dyn Write, format: Format, names: &[String]) -> std::io::Result<()> {
    if format == Format::Tsv {
        write!(out, "index\tlabel")?;
        for n in names {
            write!(out, "\tp_{n}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn write_row(
    out: &mut dyn Write,
    format: Format,
    names: &[String],
    index: u64,
    p: &Prediction,
) -> std::io::Result<()> {
    match format {
        Format::Tsv => {
            write!(out, "{index}\t{}", names[p.label])?;
            for x in &p.probs {
                write!(out, "\t{x}")?;
            }
            writeln!(out)
        }
        Format::Jsonl => {
            write!(
                out,
                "{{\"index\":{index},\"label\":{}",
                json_str(&names[p.label])
            )?;
            for (n, &x) in names.iter().zip(&p.probs) {
                write!(out, ",{}:{}", json_str(&format!("p_{n}")), json_f32(x))?;
            }
            writeln!(out, "}}")
        }
    }
}

/// `s` as a JSON string.
fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// `x` as a JSON number (shortest round-trip spelling, as in the TSV); `null` when not finite.
fn json_f32(x: f32) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| "null".into())
}

/// One input: the row's index (the GLUE `index`/`id` column, else the 0-based line or argument
/// number) and the example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The index written in the output's `index` column.
    pub index: u64,
    /// The sentence or pair (no label).
    pub example: Example,
}

fn example(text_a: String, text_b: Option<String>) -> Example {
    Example {
        text_a,
        text_b,
        label: None,
        index: None,
    }
}

/// Splits one plain input line (a sentence, or a pair separated by one tab) for a model that
/// reads `pairing`; `fixed` remembers, for [`Pairing::Either`], what the first line was.
fn parse_plain(
    line: &str,
    pairing: Pairing,
    fixed: &mut Option<bool>,
) -> std::result::Result<Example, String> {
    if line.trim().is_empty() {
        return Err("empty line: expected a sentence".into());
    }
    let fields: Vec<&str> = line.split('\t').collect();
    if fields.len() > 2 {
        return Err(format!(
            "{} tab-separated fields: expected a sentence, or two sentences separated by one tab",
            fields.len()
        ));
    }
    for (i, f) in fields.iter().enumerate() {
        if let Some((pos, c)) = find_control_char(f) {
            return Err(format!(
                "control character {c:?} (U+{:04X}) at character {pos} of sentence {}",
                c as u32,
                i + 1
            ));
        }
        if f.trim().is_empty() {
            return Err(format!("sentence {} of the pair is empty", i + 1));
        }
    }
    let is_pair = fields.len() == 2;
    match (pairing, is_pair) {
        (Pairing::Single, true) => {
            return Err("a tab (a sentence pair), but the model reads single sentences".to_string())
        }
        (Pairing::Pair, false) => {
            return Err(
                "no tab: the model reads sentence pairs (`sentence1<TAB>sentence2`)".to_string(),
            )
        }
        (Pairing::Either, _) => match *fixed {
            None => *fixed = Some(is_pair),
            Some(first) if first != is_pair => {
                return Err(format!(
                    "a {} where the first input was a {}: one input must not mix single \
                     sentences and pairs",
                    if is_pair {
                        "sentence pair"
                    } else {
                        "single sentence"
                    },
                    if first {
                        "sentence pair"
                    } else {
                        "single sentence"
                    },
                ))
            }
            Some(_) => {}
        },
        _ => {}
    }
    let mut it = fields.into_iter().map(str::to_owned);
    let a = it.next().unwrap_or_default();
    Ok(example(a, it.next()))
}

/// Records from strings (the `TEXT` arguments): index = 0-based position; errors name the
/// 1-based argument.
pub struct TextReader<I> {
    texts: I,
    pairing: Pairing,
    fixed: Option<bool>,
    n: u64,
}

impl<I: Iterator<Item = String>> TextReader<I> {
    /// Records of `texts` for a model reading `pairing`.
    pub fn new(texts: impl IntoIterator<IntoIter = I>, pairing: Pairing) -> Self {
        TextReader {
            texts: texts.into_iter(),
            pairing,
            fixed: None,
            n: 0,
        }
    }
}

impl<I: Iterator<Item = String>> Iterator for TextReader<I> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        let text = self.texts.next()?;
        let index = self.n;
        self.n += 1;
        Some(
            parse_plain(&text, self.pairing, &mut self.fixed)
                .map(|example| Record { index, example })
                .map_err(|msg| anyhow!("TEXT argument {}: {msg}", index + 1)),
        )
    }
}

/// Reads one line (without its `\n` and a CRLF's `\r`) into `buf`; `Ok(false)` at the end.
fn read_line(
    reader: &mut dyn BufRead,
    bytes: &mut Vec<u8>,
    buf: &mut String,
) -> std::io::Result<std::result::Result<bool, ()>> {
    bytes.clear();
    buf.clear();
    if reader.read_until(b'\n', bytes)? == 0 {
        return Ok(Ok(false));
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            buf.push_str(s);
            Ok(Ok(true))
        }
        Err(_) => Ok(Err(())),
    }
}

/// Records from plain lines (stdin): one sentence per line, or a tab-separated pair; index =
/// 0-based line number; errors name `name` and the 1-based line.
pub struct LineReader<R> {
    reader: R,
    name: String,
    pairing: Pairing,
    fixed: Option<bool>,
    line: u64,
    bytes: Vec<u8>,
    buf: String,
    done: bool,
}

impl<R: BufRead> LineReader<R> {
    /// Records of `reader`, named `name` in errors (e.g. `<stdin>`), for a model reading
    /// `pairing`.
    pub fn new(reader: R, name: impl Into<String>, pairing: Pairing) -> Self {
        LineReader {
            reader,
            name: name.into(),
            pairing,
            fixed: None,
            line: 0,
            bytes: Vec::new(),
            buf: String::new(),
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for LineReader<R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.line += 1;
        let at = format!("{}:{}", self.name, self.line);
        let result = match read_line(&mut self.reader, &mut self.bytes, &mut self.buf) {
            Err(e) => Err(anyhow!("{at}: {e}")),
            Ok(Err(())) => Err(anyhow!("{at}: invalid UTF-8")),
            Ok(Ok(false)) => {
                self.done = true;
                return None;
            }
            Ok(Ok(true)) => parse_plain(&self.buf, self.pairing, &mut self.fixed)
                .map(|example| Record {
                    index: self.line - 1,
                    example,
                })
                .map_err(|msg| anyhow!("{at}: {msg}")),
        };
        self.done = result.is_err();
        Some(result)
    }
}

/// The GLUE layouts a file may have: the single-sentence one (SST-2) first, then the pairs.
fn layouts() -> [(Task, Columns); 3] {
    [Task::Sst2, Task::Qqp, Task::Mnli].map(|t| (t, columns(t)))
}

/// Records of a GLUE TSV file, read line by line (constant memory): text columns found by name
/// (SST-2 `sentence`; QQP `question1`/`question2`; MNLI `sentence1`/`sentence2`), the index from
/// the `index` column (QQP: `id`, else `index`) when there is one, else the 0-based data row.
/// Rows are checked as [`kd_core::data::load_split`] checks them: the header's field count, no
/// control characters, no empty text, an integer index; errors name the file and line.
pub struct TsvReader<R> {
    reader: R,
    path: PathBuf,
    text_a: usize,
    text_b: Option<usize>,
    index: Option<usize>,
    header: Vec<String>,
    line: usize,
    bytes: Vec<u8>,
    buf: String,
    done: bool,
}

impl TsvReader<std::io::BufReader<std::fs::File>> {
    /// Opens `path` for a model reading `pairing`.
    pub fn open(path: &Path, pairing: Pairing) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        Self::new(
            std::io::BufReader::with_capacity(1 << 16, file),
            path,
            pairing,
        )
    }
}

/// Data rows of the TSV at `path` (lines after the header), counted in one streaming pass, for
/// a progress bar's length.
pub fn count_rows(path: &Path) -> Result<u64> {
    let mut reader = std::io::BufReader::with_capacity(
        1 << 16,
        std::fs::File::open(path).map_err(|e| anyhow!("{}: {e}", path.display()))?,
    );
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let buf = reader
            .fill_buf()
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if buf.is_empty() {
            break;
        }
        lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[buf.len() - 1];
        let n = buf.len();
        reader.consume(n);
    }
    Ok((lines + u64::from(last != b'\n')).saturating_sub(1))
}

impl<R: BufRead> TsvReader<R> {
    /// Reads the header of `reader` (named `path` in errors) and finds the columns a model
    /// reading `pairing` needs: a pair model takes the first pair layout the header has, a
    /// single-sentence one `sentence`, the teacher a pair layout if there is one, else `sentence`.
    pub fn new(mut reader: R, path: &Path, pairing: Pairing) -> Result<Self> {
        let at = |line: usize, msg: String| anyhow!("{}:{line}: {msg}", path.display());
        let (mut bytes, mut buf) = (Vec::new(), String::new());
        match read_line(&mut reader, &mut bytes, &mut buf) {
            Err(e) => return Err(anyhow!("{}: {e}", path.display())),
            Ok(Err(())) => return Err(at(1, "invalid UTF-8".into())),
            Ok(Ok(false)) => return Err(at(0, "empty file: no header line".into())),
            Ok(Ok(true)) => {}
        }
        let header_line = buf.strip_prefix('\u{feff}').unwrap_or(&buf);
        let header: Vec<String> = header_line.split('\t').map(str::to_owned).collect();
        let col = |name: &str| header.iter().position(|h| h == name);
        let layouts = layouts();
        let pair_layout = layouts.iter().find(|(_, l)| {
            l.text_b.is_some() && col(l.text_a).is_some() && l.text_b.and_then(col).is_some()
        });
        let single_layout = &layouts[0];
        let layout = match pairing {
            Pairing::Pair => pair_layout.ok_or_else(|| {
                at(
                    1,
                    format!(
                        "no sentence-pair columns for the pair model: expected `question1` and \
                         `question2` (QQP) or `sentence1` and `sentence2` (MNLI); header has: {}",
                        header.join(", ")
                    ),
                )
            })?,
            Pairing::Single => single_layout,
            Pairing::Either => pair_layout.unwrap_or(single_layout),
        };
        let (task, layout) = layout;
        let text_a = col(layout.text_a).ok_or_else(|| {
            at(
                1,
                format!(
                    "missing column `{}` (the {} layout{}); header has: {}",
                    layout.text_a,
                    task.glue_name(),
                    if pairing == Pairing::Either {
                        ", or a pair layout: `question1`/`question2`, `sentence1`/`sentence2`"
                    } else {
                        ""
                    },
                    header.join(", ")
                ),
            )
        })?;
        let text_b = layout.text_b.and_then(col);
        let index = layout.index.iter().find_map(|n| col(n));
        Ok(TsvReader {
            reader,
            path: path.to_path_buf(),
            text_a,
            text_b,
            index,
            header,
            line: 1,
            bytes,
            buf,
            done: false,
        })
    }

    fn parse_row(&self) -> std::result::Result<Record, String> {
        let fields: Vec<&str> = self.buf.split('\t').collect();
        if fields.len() != self.header.len() {
            return Err(format!(
                "{}{} field(s) where the header has {} column(s)",
                if self.buf.is_empty() {
                    "empty line: "
                } else {
                    ""
                },
                fields.len(),
                self.header.len()
            ));
        }
        for (col, field) in fields.iter().enumerate() {
            if let Some((pos, c)) = find_control_char(field) {
                return Err(format!(
                    "column {} (`{}`): control character {c:?} (U+{:04X}) at character {pos}",
                    col + 1,
                    self.header[col],
                    c as u32
                ));
            }
        }
        let text = |col: usize| -> std::result::Result<String, String> {
            let t = fields[col];
            if t.trim().is_empty() {
                return Err(format!("empty text in column `{}`", self.header[col]));
            }
            Ok(t.to_owned())
        };
        let index = match self.index {
            Some(col) => fields[col].parse::<u64>().map_err(|_| {
                format!(
                    "bad index {:?} in column `{}`: expected an integer >= 0",
                    fields[col], self.header[col]
                )
            })?,
            None => (self.line - 2) as u64,
        };
        Ok(Record {
            index,
            example: example(text(self.text_a)?, self.text_b.map(text).transpose()?),
        })
    }
}

impl<R: BufRead> Iterator for TsvReader<R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.line += 1;
        let at = format!("{}:{}", self.path.display(), self.line);
        let result = match read_line(&mut self.reader, &mut self.bytes, &mut self.buf) {
            Err(e) => Err(anyhow!("{}: {e}", self.path.display())),
            Ok(Err(())) => Err(anyhow!("{at}: invalid UTF-8")),
            Ok(Ok(false)) => {
                self.done = true;
                return None;
            }
            Ok(Ok(true)) => self.parse_row().map_err(|msg| anyhow!("{at}: {msg}")),
        };
        self.done = result.is_err();
        Some(result)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn tsv(text: &str, pairing: Pairing) -> Result<Vec<Record>> {
        TsvReader::new(text.as_bytes(), Path::new("t.tsv"), pairing)?.collect()
    }

    fn err(r: Result<Vec<Record>>) -> String {
        one_line(&r.unwrap_err())
    }

    #[test]
    fn tsv_columns_by_name_and_index() {
        let rows = tsv("index\tsentence\n7\ta b\n9\tc\n", Pairing::Single).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].index, rows[1].index), (7, 9));
        assert_eq!(rows[1].example.text_a, "c");
        // No index column: the 0-based data row; CRLF and a BOM are fine; a label is ignored.
        let rows = tsv(
            "\u{feff}sentence\tlabel\r\nx\t1\r\ny\t0\r\n",
            Pairing::Single,
        )
        .unwrap();
        assert_eq!((rows[0].index, rows[1].index), (0, 1));
        assert_eq!(rows[0].example.text_a, "x");
        let rows = tsv("id\tquestion1\tquestion2\n5\ta\tb\n", Pairing::Pair).unwrap();
        assert_eq!(rows[0].index, 5);
        assert_eq!(rows[0].example.text_b.as_deref(), Some("b"));
        let rows = tsv("index\tsentence1\tsentence2\n3\ta\tb\n", Pairing::Either).unwrap();
        assert_eq!(rows[0].example.text_b.as_deref(), Some("b"));
        let rows = tsv("sentence\nx\n", Pairing::Either).unwrap();
        assert_eq!(rows[0].example.text_b, None);
    }

    #[test]
    fn tsv_errors_name_file_and_line() {
        let e = err(tsv("text\nx\n", Pairing::Single));
        assert!(e.starts_with("t.tsv:1: missing column `sentence`"), "{e}");
        let e = err(tsv("sentence\nx\n", Pairing::Pair));
        assert!(e.starts_with("t.tsv:1: no sentence-pair columns"), "{e}");
        let e = err(tsv("index\tsentence\n1\ta\n2\n", Pairing::Single));
        assert!(e.starts_with("t.tsv:3: 1 field(s)"), "{e}");
        let e = err(tsv("index\tsentence\nx\ta\n", Pairing::Single));
        assert!(e.starts_with("t.tsv:2: bad index"), "{e}");
        let e = err(tsv("sentence\na\n \n", Pairing::Single));
        assert!(e.starts_with("t.tsv:3: empty text"), "{e}");
        let e = err(tsv("sentence\na\x1bb\n", Pairing::Single));
        assert!(
            e.starts_with("t.tsv:2: column 1 (`sentence`): control"),
            "{e}"
        );
        let e = err(tsv("", Pairing::Single));
        assert!(e.starts_with("t.tsv:0: empty file"), "{e}");
        let r: Result<Vec<Record>> = TsvReader::new(
            &b"sentence\n\xff\n"[..],
            Path::new("t.tsv"),
            Pairing::Single,
        )
        .unwrap()
        .collect();
        assert_eq!(err(r), "t.tsv:2: invalid UTF-8");
    }

    #[test]
    fn plain_lines_and_pairs() {
        let lines = |text: &str, p| -> Result<Vec<Record>> {
            LineReader::new(text.as_bytes(), "<stdin>", p).collect()
        };
        let rows = lines("a\nb\r\n", Pairing::Single).unwrap();
        assert_eq!((rows.len(), rows[1].index), (2, 1));
        assert_eq!(rows[1].example.text_a, "b");
        let rows = lines("a\tb\n", Pairing::Pair).unwrap();
        assert_eq!(rows[0].example.text_b.as_deref(), Some("b"));
        let e = err(lines("a\nb\tc\n", Pairing::Single));
        assert!(e.starts_with("<stdin>:2: a tab"), "{e}");
        let e = err(lines("a\tb\nc\n", Pairing::Pair));
        assert!(e.starts_with("<stdin>:2: no tab"), "{e}");
        let e = err(lines("a\tb\nc\n", Pairing::Either));
        assert!(e.starts_with("<stdin>:2: a single sentence where"), "{e}");
        let e = err(lines("a\n\nb\n", Pairing::Single));
        assert!(e.starts_with("<stdin>:2: empty line"), "{e}");
        let e = err(lines("a\tb\tc\n", Pairing::Either));
        assert!(e.starts_with("<stdin>:1: 3 tab-separated"), "{e}");
        let e = one_line(
            &TextReader::new(["ok".to_string(), "a\tb".to_string()], Pairing::Single)
                .collect::<Result<Vec<_>>>()
                .unwrap_err(),
        );
        assert!(e.starts_with("TEXT argument 2: a tab"), "{e}");
    }

    #[test]
    fn output_rows() {
        let names = class_names(2);
        assert_eq!(names, ["0", "1"]);
        assert_eq!(class_names(3), ["contradiction", "entailment", "neutral"]);
        assert_eq!(class_names(5)[4], "4");
        let p = Prediction {
            label: 1,
            probs: vec![0.25, 0.75],
        };
        let mut out = Vec::new();
        write_header(&mut out, Format::Tsv, &names).unwrap();
        write_row(&mut out, Format::Tsv, &names, 4, &p).unwrap();
        write_header(&mut out, Format::Jsonl, &names).unwrap();
        write_row(&mut out, Format::Jsonl, &names, 4, &p).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "index\tlabel\tp_0\tp_1\n4\t1\t0.25\t0.75\n\
             {\"index\":4,\"label\":\"1\",\"p_0\":0.25,\"p_1\":0.75}\n"
        );
    }

    #[test]
    fn counts_rows() {
        let dir = tempfile::tempdir().unwrap();
        for (text, n) in [("h\na\nb\n", 2), ("h\na\nb", 2), ("h\n", 0), ("", 0)] {
            let p = dir.path().join("f.tsv");
            std::fs::write(&p, text).unwrap();
            assert_eq!(count_rows(&p).unwrap(), n, "{text:?}");
        }
    }

    #[test]
    fn bad_dirs_name_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let e = one_line(&detect(dir.path()).unwrap_err());
        assert!(e.contains("not a model dir"), "{e}");
        std::fs::write(dir.path().join("student_config.json"), "{}").unwrap();
        std::fs::write(dir.path().join("vocab.json"), "{}").unwrap();
        let e = one_line(&detect(dir.path()).unwrap_err());
        assert!(
            e.contains("incomplete student dir: best.safetensors missing"),
            "{e}"
        );
        let e = one_line(&detect(&dir.path().join("nope")).unwrap_err());
        assert!(e.ends_with("no such directory"), "{e}");
    }
}
