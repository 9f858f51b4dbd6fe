//! The `sensor` command.

use std::process::ExitCode;

use sensor::cli::{Cli, Command};

fn main() -> ExitCode {
    // Like `Cli::parse()`, with the `--config` file's flags inserted before the real ones.
    let cli: Cli = sensor::config::parse_or_exit();
    init_tracing(cli.log_level.as_deref());
    let result = match cli.command {
        Command::Run(args) => sensor::app::run(*args),
        Command::Replay(args) => sensor::replay::run(&args).map_err(Into::into),
        Command::Rules(cmd) => sensor::replay::rules_command(&cmd).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, no backtrace: this is what an operator reads in a journal.
            // Escaped: the message may quote untrusted input (paths, rule text).
            let text = format!("{err:#}");
            eprintln!("sensor: error: {}", sensor::text::escape(text.as_bytes()).0);
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = level
        .map(EnvFilter::new)
        .or_else(|| EnvFilter::try_from_env("SENSOR_LOG").ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Escapes control characters inside log lines: untrusted text cannot forge a line.
        .with_writer(sensor::logsafe::SafeStderr { ansi })
        .with_target(false)
        .with_ansi(ansi)
        .init();
}
