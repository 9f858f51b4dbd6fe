use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::{ConfigError, parse};

/// A command with every kind of flag the loader must handle, independent of today's
/// `sensor run` flags.
#[derive(Debug, Parser)]
#[command(name = "t")]
struct TestCli {
    #[arg(long, global = true)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: TestCommand,
}

#[derive(Debug, Subcommand)]
enum TestCommand {
    Run(TestRun),
    Other,
}

#[derive(Debug, Args)]
struct TestRun {
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, default_value_t = 1024)]
    ringbuf_kib: u32,
    #[arg(long, default_value = "-")]
    events: String,
    #[arg(long)]
    rules: Vec<PathBuf>,
    #[arg(long)]
    verbose: bool,
}

struct Temp(PathBuf);

impl Temp {
    fn new(name: &str, text: &str) -> Temp {
        let path =
            std::env::temp_dir().join(format!("sensor-config-{}-{name}.yaml", std::process::id()));
        std::fs::write(&path, text).expect("write");
        Temp(path)
    }

    fn arg(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(args: &[&str]) -> Result<TestRun, ConfigError> {
    let cli: TestCli = parse(std::iter::once("t").chain(args.iter().copied()))?;
    match cli.command {
        TestCommand::Run(run) => Ok(run),
        TestCommand::Other => panic!("not run"),
    }
}

fn invalid(err: ConfigError) -> String {
    match err {
        ConfigError::Invalid { message, .. } => message,
        other => panic!("expected an invalid-file error, got {other:?}"),
    }
}

#[test]
fn file_values_apply_and_command_line_wins() {
    let f = Temp::new(
        "override",
        "# comment\nringbuf-kib: 64\nevents: /var/log/sensor/events.json\n",
    );
    let r = run(&["run", "--config", &f.arg()]).expect("parse");
    assert_eq!(r.ringbuf_kib, 64);
    assert_eq!(r.events, "/var/log/sensor/events.json");
    let r = run(&[
        "run",
        "--ringbuf-kib",
        "8",
        &format!("--config={}", f.arg()),
    ])
    .expect("parse");
    assert_eq!(r.ringbuf_kib, 8, "the command line overrides the file");
    assert_eq!(r.events, "/var/log/sensor/events.json");
}

#[test]
fn snake_case_keys_lists_and_switches() {
    let f = Temp::new(
        "lists",
        "ringbuf_kib: 2048\nrules:\n  - /etc/sensor/rules\n  - /opt/rules\nverbose: true\n",
    );
    let r = run(&["run", "--config", &f.arg(), "--rules", "/cli"]).expect("parse");
    assert_eq!(r.ringbuf_kib, 2048);
    assert!(r.verbose);
    let rules: Vec<String> = r.rules.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(
        rules,
        ["/etc/sensor/rules", "/opt/rules", "/cli"],
        "lists append"
    );
    let off = Temp::new("off", "verbose: false\nrules: /one\n");
    let r = run(&["run", "--config", &off.arg()]).expect("parse");
    assert!(!r.verbose);
    assert_eq!(
        r.rules,
        [PathBuf::from("/one")],
        "a scalar is a one-item list"
    );
}

#[test]
fn global_flags_are_keys_and_dash_values_stay_values() {
    let f = Temp::new("global", "log-level: debug\nevents: '-'\n");
    let cli: TestCli =
        parse(["t", "--log-level", "warn", "run", "--config", &f.arg()]).expect("parse");
    // The file's arguments come after the root-level ones, so the file wins over them: only
    // flags given after the subcommand override the file.
    assert_eq!(cli.log_level.as_deref(), Some("debug"));
    let cli: TestCli =
        parse(["t", "run", "--config", &f.arg(), "--log-level", "warn"]).expect("parse");
    assert_eq!(cli.log_level.as_deref(), Some("warn"));
    let TestCommand::Run(r) = cli.command else {
        panic!("not run")
    };
    assert_eq!(r.events, "-");
}

#[test]
fn unknown_key_names_line_and_column() {
    let f = Temp::new("unknown", "ringbuf-kib: 64\n\nringbuff-kib: 32\n");
    let msg = invalid(run(&["run", "--config", &f.arg()]).expect_err("unknown key"));
    assert!(msg.contains("unknown key `ringbuff-kib`"), "{msg}");
    assert!(msg.contains("line 3 column 1"), "{msg}");
    assert!(msg.contains("ringbuf-kib"), "lists the known keys: {msg}");
    let full = run(&["run", "--config", &f.arg()])
        .expect_err("unknown key")
        .to_string();
    assert!(full.contains(&f.arg()), "names the file: {full}");
}

#[test]
fn bad_values_are_refused_at_their_line() {
    for (text, expected, line) in [
        ("events: x\nringbuf-kib: lots\n", "invalid value 'lots'", 2),
        ("ringbuf-kib: [1, 2]\n", "takes one value, not a list", 1),
        ("verbose: yes\n", "is a switch", 1),
        ("events:\n", "has no value", 1),
        ("rules:\n  - a: b\n", "a string, number or boolean", 2),
        ("config: /other.yaml\n", "cannot be set in a config file", 1),
        ("events: a\nevents: b\n", "set twice", 2),
        ("help: true\n", "unknown key `help`", 1),
    ] {
        let f = Temp::new("bad", text);
        let msg = invalid(run(&["run", "--config", &f.arg()]).expect_err(text));
        assert!(msg.contains(expected), "{text:?}: {msg}");
        assert!(msg.contains(&format!("line {line} ")), "{text:?}: {msg}");
    }
    for text in ["- a\n- b\n", "key: value: x\n", "\u{0}: 1\n"] {
        let f = Temp::new("syntax", text);
        invalid(run(&["run", "--config", &f.arg()]).expect_err(text));
    }
}

#[test]
fn empty_file_missing_file_and_no_config() {
    let f = Temp::new("empty", "# nothing configured\n");
    assert_eq!(
        run(&["run", "--config", &f.arg()])
            .expect("empty")
            .ringbuf_kib,
        1024
    );
    let missing = run(&["run", "--config", "/nonexistent/sensor.yaml"]).expect_err("missing");
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing:?}");
    assert_eq!(run(&["run"]).expect("no config").ringbuf_kib, 1024);
    let cli: TestCli = parse(["t", "other"]).expect("other");
    assert!(matches!(cli.command, TestCommand::Other));
}

#[test]
fn the_sensor_cli_accepts_the_documented_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/config.example.yaml");
    let cli: crate::cli::Cli =
        parse(["sensor", "run", "--config", example]).expect("example parses");
    let crate::cli::Command::Run(run) = cli.command else {
        panic!("not a run command");
    };
    assert_eq!(run.metrics_addr.to_string(), "127.0.0.1:9760");
}
