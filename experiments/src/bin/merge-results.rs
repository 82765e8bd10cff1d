//! `merge-results --from RUN --into RESULTS`: adds the students of one run's result folder to
//! another result folder of the same experiment — more seeds, or variants of a config that
//! extends it, trained on a machine whose stage store the other folder's run never saw. See
//! [`experiments::merge`] for what is checked.

use clap::Parser;
use std::path::PathBuf;

/// Add the students of a run's result folder — more seeds, or new variants — to another result
/// folder of the same experiment (same config but for its name and the students' seeds,
/// baseline and variants; every variant both have defined alike; same teacher, transfer-set and
/// label stages but a new variant's own; and a teacher whose decisions are identical in both and
/// whose losses and logits differ by float rounding only).
#[derive(Debug, Parser)]
#[command(
    version = experiments::results::VERSION,
    name = "merge-results",
    after_help = "Typical uses: seeds trained on another machine, e.g.\n  sst2 --config \
                  experiments/configs/sst2-ablations-converged.yaml --student-seeds 4 --out-dir \
                  runs/sst2/converged-seed4\n  merge-results --from runs/sst2/converged-seed4 \
                  --into reports/results/sst2-ablations-converged\nand the variants of a config \
                  that extends the published one, run on their own, e.g.\n  sst2 --config \
                  experiments/configs/sst2-dose.yaml --variants \
                  mse_n_iter1,mse_n_iter2,mse_n_iter20 --out-dir runs/sst2/dose-part\n  \
                  merge-results --from runs/sst2/dose-part --into \
                  reports/results/sst2-ablations-converged\nAdded rows take the folder's config \
                  name. The merged folder's run.json lists every merge under `merged` (the added \
                  students and variants, their run's config, command and provenance, this \
                  command)."
)]
struct Args {
    /// The result folder whose students are added (a run's out dir).
    #[arg(long)]
    from: PathBuf,
    /// The result folder they are added to (a run's out dir or its copy under reports/results).
    #[arg(long)]
    into: PathBuf,
}

fn main() {
    experiments::cli::one_line_panics();
    let args = Args::parse();
    let command: Vec<String> = std::env::args().collect();
    match experiments::merge::merge(&args.from, &args.into, &command) {
        Ok(m) => {
            let added: Vec<String> = m
                .students
                .iter()
                .map(|(v, s)| format!("{v} seed {s}"))
                .collect();
            let variants = if m.variants.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = m.variants.iter().map(|v| v.as_str()).collect();
                format!(", new variant(s) {}", names.join(", "))
            };
            println!(
                "merged into {}: {}{variants} ({} submission file(s)); the teachers' largest \
                 differences: training loss {:.1e} (relative), logit {:.1e}",
                args.into.display(),
                added.join(", "),
                m.submissions,
                m.teacher_deviation.train_loss_rel,
                m.teacher_deviation.logit_abs
            );
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
