//! Developer tasks. `./x` runs `scripts/setup.sh` and then one of these, so a newcomer needs
//! nothing but `./x test` and `./x run`.

mod bench;
mod fuzz;
mod run;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Format and lint checks, unit tests, cargo-fuzz targets (`FUZZ_SECONDS` each, default
    /// 60), then the privileged kernel tests; ends with a
    /// one-line summary of every test that ran.
    Test(test::TestArgs),
    /// Overhead next to no monitor and auditd, kernel time per hook, exec-rate sweep and
    /// highest loss-free rate; prints a table and writes JSON (issue 10; needs root).
    Bench(bench::BenchArgs),
    /// Only the cargo-fuzz step of `test`: every fuzz target for `FUZZ_SECONDS` (default 60).
    Fuzz,
    /// Build the release binary and run `sensor run` with the given arguments.
    Run {
        /// Arguments passed to `sensor run`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Test(args) => test::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Run { args } => run::run(&args),
        Command::Fuzz => fuzz::run(&workspace_root(), env!("CARGO")).map(|(_, failed)| {
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one folder below it).
fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
