//! `sensor replay` and `sensor rules check|list`: the detection engine without a kernel.
//!
//! Replay reads recorded events (the JSON lines `sensor run --events` writes), runs them through
//! the same [`Engine`] the live path uses, and writes alerts. Time is the events' own
//! `@timestamp`, and alert ids are a sequence, so the same input always gives the same output.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::{DetectArgs, ReplayArgs, RulesCommand};
use crate::detect::{AlertSink, DetectError, Engine, EngineConfig, RuleSet, attack};
use crate::output::jsonl::JsonLines;

/// Errors of `replay` and `rules`.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An input or output file could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// `rules check` found rules that do not load.
    #[error("{0} rule problem(s) found")]
    BadRules(usize),
    /// Replay was asked to run with no rule at all.
    #[error("no rules loaded ({0} problem(s) logged above)")]
    NoRules(usize),
    /// The engine could not be built.
    #[error(transparent)]
    Engine(#[from] DetectError),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ReplayError + '_ {
    move |source| ReplayError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Loads the rules `args` names, logging every rule that fails (they are skipped).
pub fn load_rules(args: &DetectArgs) -> RuleSet {
    let mut set = RuleSet::load(&args.rules);
    if args.with_builtin && !args.rules.is_empty() {
        let builtin = RuleSet::builtin();
        set.merge(builtin);
    }
    for err in &set.errors {
        tracing::warn!(
            file = %crate::text::escape(err.file.as_bytes()).0,
            line = err.line,
            problem = %crate::text::escape(err.message.as_bytes()).0,
            "rule skipped"
        );
    }
    set
}

/// CPU time this thread has used, in seconds: throughput per core, independent of how busy the
/// rest of the machine is.
pub fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer and the clock id is supported on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Outcome of a replay, for tests and `--stats`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayStats {
    /// Events evaluated (times `--repeat`).
    pub events: u64,
    /// Lines that were not JSON objects (skipped).
    pub bad_lines: u64,
    /// Alerts written.
    pub alerts: u64,
    /// CPU seconds spent reading and parsing input.
    pub parse_secs: f64,
    /// CPU seconds spent evaluating.
    pub eval_secs: f64,
}

struct Writer<'a> {
    out: &'a mut JsonLines,
    error: Option<io::Error>,
    count: u64,
}

impl AlertSink for Writer<'_> {
    fn alert(&mut self, alert: Value) {
        self.count += 1;
        if self.error.is_none()
            && let Err(e) = self.out.write(&alert)
        {
            self.error = Some(e);
        }
    }
}

/// Reads every event of `files` (JSON lines; `-` is stdin). Lines that are not JSON objects are
/// counted and reported, never fatal.
pub fn read_events(files: &[PathBuf]) -> Result<(Vec<Value>, u64), ReplayError> {
    let mut events = Vec::new();
    let mut bad = 0u64;
    for path in files {
        let reader: Box<dyn Read> = if path == Path::new("-") {
            Box::new(io::stdin())
        } else {
            Box::new(std::fs::File::open(path).map_err(io_err(path))?)
        };
        for (i, line) in BufReader::new(reader).split(b'\n').enumerate() {
            let line = line.map_err(io_err(path))?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Value>(&line) {
                Ok(v) if v.is_object() => events.push(v),
                Ok(_) | Err(_) => {
                    bad += 1;
                    tracing::warn!(file = %path.display(), line = i + 1, "not a JSON object; skipped");
                }
            }
        }
    }
    Ok((events, bad))
}

/// Replays recorded events through the rules and writes the alerts.
pub fn replay(args: &ReplayArgs) -> Result<ReplayStats, ReplayError> {
    let rules = load_rules(&args.detect);
    if rules.meta.is_empty() {
        return Err(ReplayError::NoRules(rules.errors.len()));
    }
    let config = EngineConfig {
        alert_id_prefix: "replay".into(),
        beacon: args.detect.beacon(),
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(&rules, config)?;
    let mut out = JsonLines::open(&args.alerts).map_err(io_err(&args.alerts))?;
    let started = thread_cpu_secs();
    let (events, bad_lines) = read_events(&args.files)?;
    let parse_secs = thread_cpu_secs() - started;
    let mut sink = Writer {
        out: &mut out,
        error: None,
        count: 0,
    };
    let started = thread_cpu_secs();
    for _ in 0..args.repeat.max(1) {
        for event in &events {
            engine.process_recorded(event, &mut sink);
        }
    }
    let eval_secs = thread_cpu_secs() - started;
    let alerts = sink.count;
    if let Some(e) = sink.error {
        return Err(io_err(&args.alerts)(e));
    }
    out.flush().map_err(io_err(&args.alerts))?;
    Ok(ReplayStats {
        events: engine.stats().events,
        bad_lines,
        alerts,
        parse_secs,
        eval_secs,
    })
}

/// `sensor replay`.
pub fn run(args: &ReplayArgs) -> Result<(), ReplayError> {
    let stats = replay(args)?;
    if args.stats {
        let rate = |n: u64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let parsed = stats.events / u64::from(args.repeat.max(1));
        eprintln!(
            "replay: {} events, {} alerts, {} bad lines; parse {:.0} events/s, evaluate {:.0} events/s (per CPU-second, one thread)",
            stats.events,
            stats.alerts,
            stats.bad_lines,
            rate(parsed, stats.parse_secs),
            rate(stats.events, stats.eval_secs),
        );
    }
    Ok(())
}

/// `sensor rules check|list`.
pub fn rules_command(cmd: &RulesCommand) -> Result<(), ReplayError> {
    match cmd {
        RulesCommand::Check { paths } => {
            let set = RuleSet::from_paths(paths);
            for err in &set.errors {
                println!("{err}");
            }
            if set.errors.is_empty() {
                println!("{} rule(s) OK", set.meta.len());
                Ok(())
            } else {
                Err(ReplayError::BadRules(set.errors.len()))
            }
        }
        RulesCommand::List { detect } => {
            let set = load_rules(detect);
            println!(
                "{:<38} {:<13} {:<28} {:<60} SOURCE",
                "ID", "LEVEL", "TECHNIQUES", "TITLE"
            );
            for meta in &set.meta {
                let (techniques, _) = attack::from_tags(&meta.tags);
                let ids: Vec<&str> = techniques.iter().map(|t| t.id.as_str()).collect();
                let kind = if meta.correlation {
                    " (correlation)"
                } else {
                    ""
                };
                println!(
                    "{:<38} {:<13} {:<28} {:<60} {}",
                    meta.id,
                    meta.level.as_deref().unwrap_or("-"),
                    ids.join(","),
                    format!("{}{kind}", meta.title),
                    meta.source
                );
            }
            Ok(())
        }
    }
}
