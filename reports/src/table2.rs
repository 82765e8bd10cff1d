//! Table 2 of Tang et al. 2019 (Section 5.2, model size and inference speed): the paper's
//! BERT-large, ELMo and BiLSTM_SOFT beside our teacher and BiLSTM_SOFT timed on this machine,
//! with the teacher/student size ratio and the student's speed-up.

use crate::error::{ReportError, Result};
use crate::load::{Results, SpeedRow};
use crate::published::{PubMetric, Published};
use crate::schema::{Model, PaperModel};
use crate::table1::NOT_RUN_NO_DATA;

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
        let ours = self.ours.as_ref()?;
        let t = ours.iter().find(|r| r.model == Model::Teacher)?;
        let s = ours.iter().find(|r| r.model == Model::BilstmSoft)?;
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
        s.push_str(
            "| Source | Model | Params (M) | Params w/o embeddings (M) | Inference time (s) | Sentences | Sentences/s | Device | Threads | Batch |\n",
        );
        s.push_str("|---|---|---:|---:|---:|---:|---:|---|---:|---:|\n");
        for p in &self.paper {
            s.push_str(&format!(
                "| paper | {} | {} | — | {} | {} | {:.1} | {PAPER_DEVICE} | — | {PAPER_BATCH} |\n",
                p.model.display(),
                p.params_millions,
                p.seconds,
                thousands(PAPER_SENTENCES),
                PAPER_SENTENCES as f64 / p.seconds,
            ));
        }
        match &self.ours {
            None => s.push_str(&format!(
                "| ours | Teacher, BiLSTM_SOFT | {NOT_RUN_NO_DATA} | | | | | | | |\n"
            )),
            Some(rows) => {
                for r in rows {
                    s.push_str(&format!(
                        "| ours | {} | {:.2} | {:.2} | {:.2} (min {:.2}, max {:.2}; {} repeats) | {} | {:.1} | {} | {} | {} |\n",
                        our_model_name(r.model),
                        r.params as f64 / 1e6,
                        r.params_without_embeddings as f64 / 1e6,
                        r.seconds_median,
                        r.seconds_min,
                        r.seconds_max,
                        r.repeats,
                        thousands(r.sentences),
                        r.sentences as f64 / r.seconds_median,
                        r.device,
                        r.threads,
                        r.batch_size,
                    ));
                }
            }
        }
        s.push_str("\n| Ratio | Paper (BERT-large / BiLSTM_SOFT) | Ours (MiniLM-L6 / BiLSTM_SOFT) |\n|---|---:|---:|\n");
        let fmt = |r: Option<Ratios>, f: fn(Ratios) -> Option<f64>| {
            r.and_then(f)
                .map_or_else(|| "—".to_string(), |v| format!("{v:.1}×"))
        };
        let (p, o) = (self.paper_ratios(), self.our_ratios());
        s.push_str(&format!(
            "| Size (teacher params / student params without embeddings, the paper's convention) | {} | {} |\n",
            fmt(p, |r| Some(r.size_ratio)),
            fmt(o, |r| Some(r.size_ratio))
        ));
        s.push_str(&format!(
            "| Size (teacher / student, both with embeddings) | {} | {} |\n",
            fmt(p, |r| r.size_ratio_total),
            fmt(o, |r| r.size_ratio_total)
        ));
        s.push_str(&format!(
            "| Speed-up (teacher / student seconds per sentence) | {} | {} |\n",
            fmt(p, |r| Some(r.speedup)),
            fmt(o, |r| Some(r.speedup))
        ));
        s.push_str(&format!(
            "\nNotes:\n\n\
             - Paper: Tang et al. 2019, Table 2 — {PAPER_DEVICE}, batch {PAPER_BATCH}, {} SST-2 \
             sentences. Ours: timed on this machine (device and threads as listed), median of the \
             repeats; the speed-up compares seconds per sentence, so differing sentence counts \
             do not bias it.\n\
             - The paper's BiLSTM_SOFT count (0.96M) evidently leaves out the word embeddings (a \
             300-d table alone exceeds 0.96M for any vocabulary over 3,200 words), while \
             BERT-large's 335M includes them; the first size ratio follows that convention.\n\
             - Our teacher is all-MiniLM-L6-v2 (6 layers, hidden 384), not BERT-large; our student \
             uses 50-d GloVe embeddings instead of 300-d word2vec.\n",
            thousands(PAPER_SENTENCES)
        ));
        s
    }

    /// The tidy CSV: one row per model and source.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let header = [
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
        ];
        // Writing to a Vec cannot fail.
        w.write_record(header).expect("write to Vec");
        let student = self
            .paper
            .iter()
            .find(|p| p.model == PaperModel::BilstmSoft);
        for p in &self.paper {
            let (size, speed) = student
                .map(|s| (p.params_millions / s.params_millions, p.seconds / s.seconds))
                .unzip();
            w.write_record([
                "paper".to_string(),
                p.model.display().to_string(),
                p.params_millions.to_string(),
                String::new(),
                p.seconds.to_string(),
                String::new(),
                String::new(),
                String::new(),
                PAPER_SENTENCES.to_string(),
                format!("{:.2}", PAPER_SENTENCES as f64 / p.seconds),
                PAPER_DEVICE.to_string(),
                String::new(),
                PAPER_BATCH.to_string(),
                size.map(|v| format!("{v:.3}")).unwrap_or_default(),
                String::new(),
                speed.map(|v| format!("{v:.3}")).unwrap_or_default(),
            ])
            .expect("write to Vec");
        }
        let ours = self.ours.as_deref().unwrap_or(&[]);
        let student = ours.iter().find(|r| r.model == Model::BilstmSoft);
        let per_sentence = |r: &SpeedRow| r.seconds_median / r.sentences as f64;
        for r in ours {
            let size = student.map(|s| r.params as f64 / s.params_without_embeddings as f64);
            let size_total = student.map(|s| r.params as f64 / s.params as f64);
            let speed = student.map(|s| per_sentence(r) / per_sentence(s));
            w.write_record([
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
                size.map(|v| format!("{v:.3}")).unwrap_or_default(),
                size_total.map(|v| format!("{v:.3}")).unwrap_or_default(),
                speed.map(|v| format!("{v:.3}")).unwrap_or_default(),
            ])
            .expect("write to Vec");
        }
        String::from_utf8(w.into_inner().expect("flush to Vec")).expect("csv writes UTF-8")
    }
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
