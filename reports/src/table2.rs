//! Table 2 of Tang et al. 2019 (Section 5.2, model size and inference speed): the paper's
//! BERT-large, ELMo and BiLSTM_SOFT beside our teacher and BiLSTM_SOFT timed on this machine,
//! with the teacher/student size ratio and the student's speed-up; and, where measured, each
//! model's per-sentence latency at batch 1 (one thread) and the student exported to ONNX run by
//! tract beside the libtorch one.

use crate::error::{ReportError, Result};
use crate::load::{Results, SpeedRow};
use crate::rows::Runtime;
use crate::published::{PubMetric, Published};
use crate::schema::{Model, PaperModel};
use crate::table1::NOT_RUN_NO_DATA;
use crate::tabular::{csv_string, fixed, markdown_head, markdown_row, Align};

/// Sentences the paper classified per timing run (the SST-2 training set, Section 5.2).
pub const PAPER_SENTENCES: usize = 67_350;
/// The paper's inference batch size.
pub const PAPER_BATCH: usize = 512;
/// The paper's device.
pub const PAPER_DEVICE: &str = "one NVIDIA V100 GPU";

/// One of the paper's Table 2 rows.
#[derive(Debug, Clone, PartialEq)]
pub struct PaperSpeed {
    /// Model.
    pub model: PaperModel,
    /// Millions of parameters.
    pub params_millions: f64,
    /// Seconds for [`PAPER_SENTENCES`] sentences.
    pub seconds: f64,
}

/// Table 2, built.
#[derive(Debug, Clone, PartialEq)]
pub struct Table2 {
    /// The paper's rows.
    pub paper: Vec<PaperSpeed>,
    /// Ours; `None` when `table2.csv` is absent.
    pub ours: Option<Vec<SpeedRow>>,
}

/// `size(teacher) / size(student)` and the student's speed-up (per-sentence time ratio).
///
/// The paper's BiLSTM_SOFT count (0.96M) leaves out the word-embedding table: a 300-d table
/// alone would exceed 0.96M for any vocabulary over 3,200 words. BERT-large's 335M includes its
/// embeddings. `size_ratio` follows that convention (teacher total / student without
/// embeddings); `size_ratio_total` counts both models' embeddings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratios {
    /// Teacher parameters over student parameters without embeddings (the paper's convention).
    pub size_ratio: f64,
    /// Teacher parameters over student parameters, both with embeddings (ours only).
    pub size_ratio_total: Option<f64>,
    /// Teacher seconds per sentence over student seconds per sentence.
    pub speedup: f64,
}

/// Builds Table 2 (`table2.csv` was checked for duplicate models when loaded).
pub fn build(results: &Results, published: &Published) -> Result<Table2> {
    let mut paper = Vec::new();
    for model in published.table2_models() {
        let get = |m| published.table2(model, m).map(|r| r.value);
        let (Some(params_millions), Some(seconds)) =
            (get(PubMetric::ParamsMillions), get(PubMetric::Seconds))
        else {
            return Err(ReportError::Invalid {
                path: crate::published::PUBLISHED_PATH.into(),
                msg: format!(
                    "Table 2 model {} needs both params_millions and seconds",
                    model.display()
                ),
            });
        };
        paper.push(PaperSpeed {
            model,
            params_millions,
            seconds,
        });
    }
    Ok(Table2 {
        paper,
        ours: results.table2.clone(),
    })
}

impl Table2 {
    /// The paper's teacher/student ratios (BERT-large vs BiLSTM_SOFT).
    pub fn paper_ratios(&self) -> Option<Ratios> {
        let t = self
            .paper
            .iter()
            .find(|p| p.model == PaperModel::BertLarge)?;
        let s = self
            .paper
            .iter()
            .find(|p| p.model == PaperModel::BilstmSoft)?;
        Some(Ratios {
            size_ratio: t.params_millions / s.params_millions,
            size_ratio_total: None,
            speedup: t.seconds / s.seconds,
        })
    }

    /// Our teacher/student ratios, if both were timed.
    pub fn our_ratios(&self) -> Option<Ratios> {
        let ours = self.ours.as_deref()?;
        let t = ours.iter().find(|r| r.model == Model::Teacher)?;
        let s = libtorch_student(ours)?;
        let per_sentence = |r: &SpeedRow| r.seconds_median / r.sentences as f64;
        Some(Ratios {
            size_ratio: t.params as f64 / s.params_without_embeddings as f64,
            size_ratio_total: Some(t.params as f64 / s.params as f64),
            speedup: per_sentence(t) / per_sentence(s),
        })
    }

    /// The markdown table with ratios and notes.
    pub fn to_markdown(&self) -> String {
        let mut s = String::from("# Table 2: model size and inference time\n\n");
        s.push_str(&markdown_head(&MARKDOWN_COLUMNS));
        for p in &self.paper {
            s.push_str(&markdown_row(&paper_cells(p)));
        }
        match &self.ours {
            None => s.push_str(&format!(
                "| ours | Teacher, BiLSTM_SOFT | {NOT_RUN_NO_DATA} | | | | | | | | | |\n"
            )),
            Some(rows) => {
                for r in rows {
                    s.push_str(&markdown_row(&our_cells(r)));
                }
            }
        }
        s.push('\n');
        s.push_str(&self.ratios_markdown());
        s.push_str(&notes());
        s
    }

    /// The paper's and our size ratio and speed-up, as a second markdown table.
    fn ratios_markdown(&self) -> String {
        type Pick = fn(Ratios) -> Option<f64>;
        let rows: [(&str, Pick); 3] = [
            (
                "Size (teacher params / student params without embeddings, the paper's convention)",
                |r| Some(r.size_ratio),
            ),
            (
                "Size (teacher / student, both with embeddings)",
                |r| r.size_ratio_total,
            ),
            (
                "Speed-up (teacher / student seconds per sentence)",
                |r| Some(r.speedup),
            ),
        ];
        let fmt = |r: Option<Ratios>, f: Pick| {
            r.and_then(f)
                .map_or_else(|| "—".to_string(), |v| format!("{v:.1}×"))
        };
        let (p, o) = (self.paper_ratios(), self.our_ratios());
        let mut s = markdown_head(&RATIO_COLUMNS);
        for (label, pick) in rows {
            s.push_str(&markdown_row(&[label, &fmt(p, pick), &fmt(o, pick)]));
        }
        s
    }

    /// The tidy CSV: one row per model and source.
    pub fn to_csv(&self) -> String {
        let paper = self.paper_csv_records();
        let ours = self.our_csv_records();
        csv_string(&CSV_COLUMNS, paper.into_iter().chain(ours))
    }

    /// The paper's rows, with ratios against the paper's BiLSTM_SOFT.
    fn paper_csv_records(&self) -> Vec<[String; 20]> {
        let student = self
            .paper
            .iter()
            .find(|p| p.model == PaperModel::BilstmSoft);
        let none = String::new;
        self.paper
            .iter()
            .map(|p| {
                let (size, speed) = student
                    .map(|s| (p.params_millions / s.params_millions, p.seconds / s.seconds))
                    .unzip();
                [
                    "paper".to_string(),
                    p.model.display().to_string(),
                    p.params_millions.to_string(),
                    none(),
                    p.seconds.to_string(),
                    none(),
                    none(),
                    none(),
                    PAPER_SENTENCES.to_string(),
                    format!("{:.2}", PAPER_SENTENCES as f64 / p.seconds),
                    PAPER_DEVICE.to_string(),
                    none(),
                    PAPER_BATCH.to_string(),
                    fixed(size, 3),
                    none(),
                    fixed(speed, 3),
                    none(),
                    none(),
                    none(),
                    none(),
                ]
            })
            .collect()
    }

    /// Our rows, with ratios against our BiLSTM_SOFT.
    fn our_csv_records(&self) -> Vec<[String; 20]> {
        let ours = self.ours.as_deref().unwrap_or(&[]);
        let student = libtorch_student(ours);
        let per_sentence = |r: &SpeedRow| r.seconds_median / r.sentences as f64;
        ours.iter()
            .map(|r| {
                let size = student.map(|s| r.params as f64 / s.params_without_embeddings as f64);
                let size_total = student.map(|s| r.params as f64 / s.params as f64);
                let speed = student.map(|s| per_sentence(r) / per_sentence(s));
                [
                    "ours".to_string(),
                    our_model_name(r.model).to_string(),
                    format!("{:.6}", r.params as f64 / 1e6),
                    format!("{:.6}", r.params_without_embeddings as f64 / 1e6),
                    r.seconds_median.to_string(),
                    r.seconds_min.to_string(),
                    r.seconds_max.to_string(),
                    r.repeats.to_string(),
                    r.sentences.to_string(),
                    format!("{:.2}", r.sentences as f64 / r.seconds_median),
                    r.device.clone(),
                    r.threads.to_string(),
                    r.batch_size.to_string(),
                    fixed(size, 3),
                    fixed(size_total, 3),
                    fixed(speed, 3),
                    r.runtime().id().to_string(),
                    fixed(r.latency_p50_ms, 4),
                    fixed(r.latency_p95_ms, 4),
                    fixed(r.latency_p99_ms, 4),
                ]
            })
            .collect()
    }
}

const MARKDOWN_COLUMNS: [(&str, Align); 12] = [
    ("Source", Align::Left),
    ("Model", Align::Left),
    ("Runtime", Align::Left),
    ("Params (M)", Align::Right),
    ("Params w/o embeddings (M)", Align::Right),
    ("Inference time (s)", Align::Right),
    ("Sentences", Align::Right),
    ("Sentences/s", Align::Right),
    ("Device", Align::Left),
    ("Threads", Align::Right),
    ("Batch", Align::Right),
    ("Latency p50 / p95 / p99 (ms, batch 1, 1 thread)", Align::Right),
];

const RATIO_COLUMNS: [(&str, Align); 3] = [
    ("Ratio", Align::Left),
    ("Paper (BERT-large / BiLSTM_SOFT)", Align::Right),
    ("Ours (MiniLM-L6 / BiLSTM_SOFT)", Align::Right),
];

const CSV_COLUMNS: [&str; 20] = [
    "source",
    "model",
    "params_millions",
    "params_without_embeddings_millions",
    "seconds",
    "seconds_min",
    "seconds_max",
    "repeats",
    "sentences",
    "sentences_per_second",
    "device",
    "threads",
    "batch_size",
    "size_ratio_vs_student",
    "size_ratio_total_vs_student",
    "speedup_of_student",
    "runtime",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
];

/// A paper row's markdown cells, in [`MARKDOWN_COLUMNS`] order.
fn paper_cells(p: &PaperSpeed) -> [String; 12] {
    [
        "paper".to_string(),
        p.model.display().to_string(),
        "—".to_string(),
        p.params_millions.to_string(),
        "—".to_string(),
        p.seconds.to_string(),
        thousands(PAPER_SENTENCES),
        format!("{:.1}", PAPER_SENTENCES as f64 / p.seconds),
        PAPER_DEVICE.to_string(),
        "—".to_string(),
        PAPER_BATCH.to_string(),
        "—".to_string(),
    ]
}

/// One of our rows' markdown cells, in [`MARKDOWN_COLUMNS`] order.
fn our_cells(r: &SpeedRow) -> [String; 12] {
    let latency = match (r.latency_p50_ms, r.latency_p95_ms, r.latency_p99_ms) {
        (Some(a), Some(b), Some(c)) => format!("{a:.3} / {b:.3} / {c:.3}"),
        _ => "—".to_string(),
    };
    [
        "ours".to_string(),
        our_model_name(r.model).to_string(),
        r.runtime().id().to_string(),
        format!("{:.2}", r.params as f64 / 1e6),
        format!("{:.2}", r.params_without_embeddings as f64 / 1e6),
        format!(
            "{:.2} (min {:.2}, max {:.2}; {} repeats)",
            r.seconds_median, r.seconds_min, r.seconds_max, r.repeats
        ),
        thousands(r.sentences),
        format!("{:.1}", r.sentences as f64 / r.seconds_median),
        r.device.clone(),
        r.threads.to_string(),
        r.batch_size.to_string(),
        latency,
    ]
}

/// Our BiLSTM_SOFT on libtorch: the student every ratio compares with.
fn libtorch_student(ours: &[SpeedRow]) -> Option<&SpeedRow> {
    ours.iter()
        .find(|r| r.model == Model::BilstmSoft && r.runtime() == Runtime::Libtorch)
}

/// The notes under the tables: the paper's setup and ours, and the parameter-count convention.
fn notes() -> String {
    format!(
        "\nNotes:\n\n\
         - Paper: Tang et al. 2019, Table 2 — {PAPER_DEVICE}, batch {PAPER_BATCH}, {} SST-2 \
         sentences. Ours: timed on this machine (device and threads as listed), median of the \
         repeats; the speed-up compares seconds per sentence, so differing sentence counts \
         do not bias it.\n\
         - The paper's BiLSTM_SOFT count (0.96M) evidently leaves out the word embeddings (a \
         300-d table alone exceeds 0.96M for any vocabulary over 3,200 words), while \
         BERT-large's 335M includes them; the first size ratio follows that convention.\n\
         - Latency: text in, logits out (tokenisation included), one sentence per call, one \
         thread, over SST-2's dev sentences; p50/p95/p99 by the nearest rank. `tract` is the \
         student exported to ONNX (`export`) and run by tract, in pure Rust (`classify`); it \
         runs on one thread whatever the Threads column of the libtorch rows says.\n\
         - Our teacher is all-MiniLM-L6-v2 (6 layers, hidden 384), not BERT-large; our student \
         uses 50-d GloVe embeddings instead of 300-d word2vec.\n",
        thousands(PAPER_SENTENCES)
    )
}

/// Our model's display name in Table 2.
pub fn our_model_name(model: Model) -> &'static str {
    match model {
        Model::Teacher => "Teacher (MiniLM-L6)",
        Model::Bilstm => "BiLSTM",
        Model::BilstmSoft => "BiLSTM_SOFT",
    }
}

/// `67,350`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
