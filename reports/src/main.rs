//! `cargo run -p reports [-- --results reports/results --out reports/out]`: regenerates Tables 1
//! and 2, the figures and REPORT.md of the Tang et al. 2019 reproduction from the result CSVs.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Regenerate the reproduction's tables, figures and REPORT.md from the experiments' CSVs.
#[derive(Debug, Parser)]
#[command(name = "reports", version, about)]
struct Cli {
    /// Results directory: <task>/metrics.csv, <task>/history.csv, sst2/softmax_t.csv, table2.csv.
    #[arg(long, default_value = "reports/results")]
    results: PathBuf,
    /// Output directory for table*.md/csv, fig*.png/svg and REPORT.md.
    #[arg(long, default_value = "reports/out")]
    out: PathBuf,
    /// The paper's numbers (default: the embedded reports/data/published.csv).
    #[arg(long)]
    published: Option<PathBuf>,
    /// Equivalence margin δ of the verdicts, in points: two models are "equivalent within ±δ"
    /// when the 90% bootstrap CI of their difference lies inside ±δ.
    #[arg(long, default_value_t = 0.5, value_parser = positive_margin)]
    equivalence_margin: f64,
}

fn positive_margin(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number of points")),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let args = reports::RunArgs {
        results: cli.results,
        out: cli.out,
        published: cli.published,
        verdicts: reports::ablation::verdict::VerdictConfig {
            margin: cli.equivalence_margin,
        },
    };
    let output = reports::run(&args)
        .with_context(|| format!("rendering the report from {}", args.results.display()))?;
    for line in &output.skipped {
        println!("{line}");
    }
    println!(
        "wrote {} files under {}",
        output.written.len(),
        args.out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
