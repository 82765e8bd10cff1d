//! `merge-results --from RUN --into RESULTS`: adds the student seeds of one run's result folder to
//! another result folder of the same config — seeds trained on a machine whose stage store the
//! other folder's run never saw. See [`experiments::merge`] for what is checked.

use clap::Parser;
use std::path::PathBuf;

/// Add the student seeds of a run's result folder to another result folder of the same
/// experiment (same config but for `students.seeds`, same shared stages, and a teacher whose
/// decisions are identical in both and whose losses and logits differ by float rounding only).
#[derive(Debug, Parser)]
#[command(
    name = "merge-results",
    after_help = "Typical use: seeds trained on another machine, e.g.\n  sst2 --config \
                  experiments/configs/sst2-ablations-converged.yaml --student-seeds 4 --out-dir \
                  runs/sst2/converged-seed4\n  merge-results --from runs/sst2/converged-seed4 \
                  --into reports/results/sst2-ablations-converged\nThe merged folder's run.json \
                  lists every merge under `merged` (the added seeds, their run's command and \
                  provenance, this command)."
)]
struct Args {
    /// The result folder whose student seeds are added (a run's out dir).
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
            println!(
                "merged into {}: {} ({} submission file(s)); the teachers' largest differences: \
                 training loss {:.1e} (relative), logit {:.1e}",
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
