//! `lock-check DIR`: checks, from two or more nodes at once, that a shared file system gives the
//! stage store what it needs (shared and exclusive locks that reach across nodes, exclusive
//! creation by hard link, agreeing clocks). Start it on every node within the timeout, over the
//! same empty directory on that file system; each process prints its findings and exits 0 when
//! all pass, 1 otherwise. See deploy/README.md, "What the store needs";
//! `scripts/lock-check.sh` runs it.

use clap::Parser;
use experiments::store::check::{run, CheckConfig};
use std::path::PathBuf;
use std::time::Duration;

/// Checks that a shared file system's locks work across nodes, as the stage store needs: run it
/// on two or more nodes at once over the same empty directory of that file system.
#[derive(Debug, Parser)]
#[command(
    version = experiments::results::VERSION,
    name = "lock-check",
    after_help = "Each process announces itself in DIR and waits for the others at each step, so \
                  start them within --timeout of each other (e.g. `srun -N2 -n2 lock-check DIR` \
                  on Slurm, or by hand on two nodes). KD_HOST overrides the host name that names \
                  a process."
)]
struct Args {
    /// An empty directory on the file system to check (created if missing; left empty).
    dir: PathBuf,
    /// How many processes take part (one per node).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(2..=64))]
    peers: u32,
    /// Exclusive-lock turns and creation races per process.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10000))]
    rounds: u32,
    /// Seconds to wait for the other processes at each step.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

fn main() {
    experiments::cli::one_line_panics();
    let args = Args::parse();
    let cfg = CheckConfig {
        dir: args.dir,
        peers: args.peers as usize,
        rounds: args.rounds as usize,
        timeout: Duration::from_secs(args.timeout),
    };
    match run(&cfg, &mut |m| eprintln!("lock-check: {m}")) {
        Ok(findings) => {
            let failed = findings.iter().filter(|f| !f.ok).count();
            for f in &findings {
                println!(
                    "{} {}: {}",
                    if f.ok { "PASS" } else { "FAIL" },
                    f.name,
                    f.detail
                );
            }
            if failed > 0 {
                println!(
                    "FAIL: {failed} check(s) failed: this file system cannot hold the stage store \
                     as it is mounted (deploy/README.md, \"What the store needs\")"
                );
                std::process::exit(1);
            }
            println!("PASS: every check passed");
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
