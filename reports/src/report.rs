//! `REPORT.md`: ties Tables 1–2 and Figures 1–4 together, with two or three sentences each, why
//! our numbers differ from Tang et al. 2019's, and the command behind every number.

use crate::ablation::{AblationSection, EXAMPLE_FOLDER};
use crate::figures::softmax_t::SoftmaxTFigure;
use crate::figures::FigureStatus;
use crate::load::Results;
use crate::published::PAPER_URL;
use crate::schema::{Metric, Model, Task};
use crate::table1::{command_for, Table1};
use crate::table2::Table2;
use std::collections::BTreeSet;
use std::path::Path;
use std::fmt::Write as _;

/// Everything the report refers to.
#[derive(Debug)]
pub struct ReportContext<'a> {
    /// The output directory (quoted in the report's command; the results directory is
    /// `results.dir`).
    pub out: &'a Path,
    /// The loaded results.
    pub results: &'a Results,
    /// Table 1.
    pub table1: &'a Table1,
    /// Table 2.
    pub table2: &'a Table2,
    /// The softmax-T figure's data, if its CSV was present.
    pub softmax: Option<&'a SoftmaxTFigure>,
    /// Figures 1–4, in order.
    pub figures: &'a [FigureStatus],
    /// One section per ablation folder (empty: the grid was not run).
    pub ablations: &'a [AblationSection],
}

fn ablations(s: &mut String, ctx: &ReportContext<'_>) {
    let _ = writeln!(
        s,
        "## Ablations: where the gain comes from
"
    );
    if ctx.ablations.is_empty() {
        let _ = writeln!(
            s,
            "Not run: no folder of `{}` holds a `variants.csv` (expected e.g. `{}`, from \
             `cargo run --release -p experiments --bin sst2 -- --config \
             experiments/configs/sst2-ablations.yaml` published with \
             `scripts/publish_results.sh`).\n",
            ctx.results.dir.display(),
            ctx.results
                .dir
                .join(EXAMPLE_FOLDER)
                .join("variants.csv")
                .display()
        );
        return;
    }
    for a in ctx.ablations {
        let files: Vec<String> = a.files.iter().map(|p| p.display().to_string()).collect();
        let _ = writeln!(s, "### `{}` (config `{}`)\n", a.table.name, a.table.config);
        let _ = writeln!(s, "{}\n", a.paragraph);
        s.push_str(&a.table.to_markdown());
        s.push('\n');
        if let [md, csv, png, svg] = files.as_slice() {
            let _ = writeln!(
                s,
                "![Ablation grid]({png})\n\n(Files: [{md}]({md}), [{csv}]({csv}), [{svg}]({svg}).)\n"
            );
        }
        if let Some(f) = &a.factorial {
            let _ = writeln!(s, "{}\n", f.paragraph());
            s.push_str(&f.to_markdown());
            s.push('\n');
        }
        if let Some((d, figure)) = &a.dose {
            let _ = writeln!(s, "{}\n", d.paragraph());
            s.push_str(&d.to_markdown());
            s.push('\n');
            if let [png, svg] = figure.as_slice() {
                let (png, svg) = (png.display(), svg.display());
                let _ = writeln!(s, "![Augmentation dose]({png})\n\n(Also as [{svg}]({svg}).)\n");
            }
        }
        if let Some((t, figure)) = &a.teachers {
            let _ = writeln!(s, "{}\n", t.paragraph());
            s.push_str(&t.to_markdown());
            s.push('\n');
            if let [png, svg] = figure.as_slice() {
                let (png, svg) = (png.display(), svg.display());
                let _ = writeln!(s, "![Teacher and student]({png})\n\n(Also as [{svg}]({svg}).)\n");
            }
        }
    }
}

fn strip_title(md: &str) -> &str {
    md.split_once('\n')
        .map_or(md, |(_, rest)| rest.trim_start())
}

fn figure(s: &mut String, status: Option<&FigureStatus>, title: &str, stem: &str) {
    match status {
        Some(FigureStatus::Drawn(_)) => {
            let _ = writeln!(
                s,
                "![{title}]({stem}.png)\n\n(Also as [{stem}.svg]({stem}.svg).)\n"
            );
        }
        Some(FigureStatus::Skipped(line)) => {
            let _ = writeln!(s, "*Not drawn — {line}.*\n");
        }
        None => {}
    }
}

/// Distillation's gain on SST-2 dev for us and on test for the paper, as a sentence.
fn sst2_gain(t1: &Table1) -> Option<String> {
    let get = |model: Model| {
        t1.rows.iter().find(|r| {
            r.column.task == Task::Sst2 && r.column.metric == Metric::Accuracy && r.model == model
        })
    };
    let (hard, soft) = (get(Model::Bilstm)?, get(Model::BilstmSoft)?);
    let ours = soft.dev.summary()?.mean - hard.dev.summary()?.mean;
    let paper = soft.paper.as_ref()?.0 - hard.paper.as_ref()?.0;
    Some(format!(
        "On SST-2, distillation changes our BiLSTM's dev accuracy by {ours:+.2} points \
         (the paper: {paper:+.1} on test)."
    ))
}

/// Renders REPORT.md.
pub fn render(ctx: &ReportContext<'_>) -> String {
    let mut s = String::new();
    let cmd = format!(
        "cargo run -p reports -- --results {} --out {}",
        ctx.results.dir.display(),
        ctx.out.display()
    );
    intro(&mut s, ctx, &cmd);
    table1_section(&mut s, ctx);
    table2_section(&mut s, ctx);
    figure_sections(&mut s, ctx);
    ablations(&mut s, ctx);
    differences(&mut s);
    commands(&mut s, ctx, &cmd);
    s
}

/// The title, the paper and where the numbers come from.
fn intro(s: &mut String, ctx: &ReportContext<'_>, cmd: &str) {
    let _ = writeln!(
        s,
        "# Reproducing Tang et al. 2019: distilling BERT into a BiLSTM\n\n\
         Paper: \"Distilling Task-Specific Knowledge from BERT into Simple Neural Networks\", \
         {PAPER_URL}. Generated by `{cmd}` from the CSVs in `{}`; the paper's numbers come from \
         `reports/data/published.csv`, which cites the table of each.\n",
        ctx.results.dir.display()
    );
}

/// Table 1 without its title, after what it compares and SST-2's distillation gain.
fn table1_section(s: &mut String, ctx: &ReportContext<'_>) {
    let _ = writeln!(s, "## Table 1: accuracy on GLUE tasks\n");
    let _ = writeln!(
        s,
        "The paper's teacher (BERT-large), hard-label BiLSTM and distilled BiLSTM_SOFT beside \
         ours, task by task, with the difference (files: [table1.md](table1.md), \
         [table1.csv](table1.csv)). The paper's scores are GLUE test; ours are dev, so the \
         differences mix a model gap and a split gap. {}\n",
        sst2_gain(ctx.table1).unwrap_or_default()
    );
    s.push_str(strip_title(&ctx.table1.to_markdown()));
    s.push('\n');
}

/// Table 2 without its title, after what it measures and the size and speed ratios.
fn table2_section(s: &mut String, ctx: &ReportContext<'_>) {
    let _ = writeln!(s, "## Table 2: size and inference speed\n");
    let ratio = size_speed_ratios(ctx.table2);
    let _ = writeln!(
        s,
        "Parameter counts and inference time, ours measured on this machine beside the paper's \
         V100 numbers (files: [table2.md](table2.md), [table2.csv](table2.csv)). {ratio} \
         Absolute times are not comparable across devices; the ratios are.\n"
    );
    s.push_str(strip_title(&ctx.table2.to_markdown()));
    s.push('\n');
}

/// How much smaller and faster the students are, the paper's and ours, as a sentence.
fn size_speed_ratios(t2: &Table2) -> String {
    match (t2.paper_ratios(), t2.our_ratios()) {
        (Some(p), Some(o)) => format!(
            "The paper's student is {:.0}× smaller and {:.0}× faster than BERT-large; ours is \
             {:.1}× smaller and {:.1}× faster than our MiniLM-L6 teacher, a narrower gap because \
             MiniLM-L6 is itself a compressed BERT.",
            p.size_ratio, p.speedup, o.size_ratio, o.speedup
        ),
        (Some(p), None) => format!(
            "The paper's student is {:.0}× smaller and {:.0}× faster than BERT-large; we have no \
             timing of our own (`table2.csv` absent or lacking a model).",
            p.size_ratio, p.speedup
        ),
        _ => String::new(),
    }
}

/// Figures 1–4: each a heading, what it shows, and the figure (or why it was not drawn).
fn figure_sections(s: &mut String, ctx: &ReportContext<'_>) {
    let _ = writeln!(s, "## Figure 1: accuracy, paper vs ours\n");
    let _ = writeln!(
        s,
        "Grouped bars of the accuracy columns of Table 1: light bars are the paper's test \
         scores, dark bars our dev means with ± sd whiskers over seeds. The ordering teacher > \
         BiLSTM_SOFT > BiLSTM is the paper's claim to check.\n"
    );
    figure(s, ctx.figures.first(), "Accuracy, paper vs ours", "fig1_accuracy");

    let _ = writeln!(s, "## Figure 2: student training curves\n");
    let _ = writeln!(
        s,
        "Dev accuracy after each epoch for the BiLSTM trained on hard labels and the one \
         distilled on the teacher's logits (thick: mean over seeds, thin: each seed). \
         Teacher rows of history.csv are not plotted: the teacher is fine-tuned, not distilled.\n"
    );
    figure(s, ctx.figures.get(1), "Training curves", "fig2_training_curves");

    let _ = writeln!(s, "## Figure 3: what the temperature does\n");
    let _ = writeln!(
        s,
        "The teacher's probabilities softmax(z/T) for one real SST-2 dev sentence: at T = 0.5 \
         the distribution is sharper than at T = 1, and as T grows it flattens towards uniform, \
         exposing how the teacher ranks the wrong class. The paper's L_soft (MSE on logits) \
         keeps all of that information without choosing a T.\n"
    );
    if let Some(fig) = ctx.softmax {
        let _ = writeln!(s, "Sentence: \u{201c}{}\u{201d}\n", fig.sentence);
        s.push_str(&fig.to_markdown());
        s.push('\n');
    }
    figure(s, ctx.figures.get(2), "softmax(z/T)", "fig3_softmax_t");

    let _ = writeln!(s, "## Figure 4: size vs speed\n");
    let _ = writeln!(
        s,
        "Parameters against seconds per 1,000 sentences, log-log, for the paper's three models \
         and our two. Both axes span orders of magnitude, which is the paper's point: the \
         student is two to three orders of magnitude smaller and faster than BERT-large.\n"
    );
    figure(s, ctx.figures.get(3), "Size vs speed", "fig4_size_speed");
}

/// Why our numbers differ from the paper's: teacher, embeddings, compute, split.
fn differences(s: &mut String) {
    let _ = writeln!(
        s,
        "## Why our numbers differ from the paper's\n\n\
         - **Teacher**: all-MiniLM-L6-v2 (22.7M parameters, 6 layers, hidden 384) instead of \
         BERT-large (335M); a weaker teacher gives weaker soft targets.\n\
         - **Embeddings**: 50-d GloVe 6B instead of the paper's 300-d word2vec, so the student \
         sees less lexical information.\n\
         - **Compute**: a smaller augmented transfer set and fewer epochs, trained on a 2-core \
         CPU rather than a GPU.\n\
         - **Split**: our numbers are on dev, the paper's on GLUE test (SST-2 test labels are \
         not public).\n"
    );
}

/// The command behind every number: this report's, each task's runs, and the input files.
fn commands(s: &mut String, ctx: &ReportContext<'_>, cmd: &str) {
    let _ = writeln!(s, "## Commands\n");
    let _ = writeln!(s, "- Tables, figures and this report: `{cmd}`");
    for c in run_commands(ctx.results) {
        let _ = writeln!(s, "- {c}");
    }
    if ctx.results.table2.is_some() {
        let _ = writeln!(
            s,
            "- Table 2 timings: `{}`",
            Results::table2_path(&ctx.results.dir).display()
        );
    }
    if ctx.results.softmax_t.is_some() {
        let _ = writeln!(
            s,
            "- Figure 3 logits: `{}`",
            Results::softmax_t_path(&ctx.results.dir).display()
        );
    }
}

/// The experiment commands behind the metrics and training curves, sorted, each once.
fn run_commands(results: &Results) -> BTreeSet<String> {
    let mut cmds: BTreeSet<String> = BTreeSet::new();
    for task in Task::ALL {
        for r in results.metrics_of(task).unwrap_or(&[]) {
            cmds.insert(format!(
                "{} metrics: `{}`",
                task.display(),
                command_for(task, &r.config, &r.git_rev)
            ));
        }
        let configs: BTreeSet<&str> = results
            .history_of(task)
            .unwrap_or(&[])
            .iter()
            .map(|r| r.config.as_str())
            .collect();
        for c in configs {
            cmds.insert(format!(
                "{} training curves: `cargo run --release -p experiments --bin {}  # config {c}`",
                task.display(),
                task.id()
            ));
        }
    }
    cmds
}
