//! Signals: reloading rules and configuration on SIGHUP, atomically; stopping on SIGTERM/SIGINT.
//!
//! A watcher task waits for SIGHUP, re-reads the command line's `--config` file (if any) and the
//! rule files it names, and builds a complete new [`Engine`] on a blocking thread, off the event
//! path. A new rule set with any problem (bad YAML, bad rule, unknown correlation reference, no
//! rule at all) is rejected as a whole with one log line per problem; the running engine keeps
//! going. A good engine is handed over through a channel and the pipeline swaps it in at a
//! batch boundary ([`Reloader::take`]), so every event is evaluated by exactly one engine, once.
//!
//! Correlation state (open windows, counts, evidence) is carried over at the swap: the pipeline
//! exports it from the old engine and imports it into the new one, matched by the correlations'
//! stable ids, so a correlation half-way through its window completes under the new rules
//! (those the new set no longer has are dropped). The beaconing analytic starts again.

use std::sync::mpsc;

use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

use crate::cli::{Cli, Command, DetectArgs};
use crate::detect::{Engine, EngineConfig, RuleSet};
use crate::text::escape;

/// Why a reload was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The configuration file (or the command line with it) no longer parses.
    #[error("configuration: {0}")]
    Config(String),
    /// Some rules do not load; nothing of the new set is used.
    #[error("{0} rule problem(s) in the new rule set")]
    Rules(usize),
    /// The new set has no rule at all (an empty directory is a mistake, not a wish).
    #[error("the new rule set has no rule")]
    Empty,
    /// The engine could not be built from the new rules.
    #[error("building the engine: {0}")]
    Engine(#[from] crate::detect::DetectError),
}

/// The pipeline's end of the reload channel.
pub struct Reloader {
    rx: mpsc::Receiver<Engine>,
}

impl Reloader {
    /// A new engine if a reload finished since the last call (the latest one wins).
    pub fn take(&self) -> Option<Engine> {
        self.rx.try_iter().last()
    }
}

/// Starts the signal thread (with its own small runtime), so that a busy event loop can
/// neither delay a reload or a stop nor be slowed by a reload. SIGHUP reloads; SIGTERM and
/// SIGINT complete the returned future, which is ready without the event loop's runtime having
/// to poll its signal driver (a saturated loop polls it rarely). `initial` is the detection
/// part of the command line the sensor started with (used when there is no config file).
pub fn spawn(
    initial: DetectArgs,
) -> std::io::Result<(Reloader, impl std::future::Future<Output = ()>)> {
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let runtime = match runtime {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = ready_tx.send(Err(err));
                    return;
                }
            };
            runtime.block_on(async move {
                let handlers = (|| {
                    Ok::<_, std::io::Error>((
                        signal(SignalKind::hangup())?,
                        signal(SignalKind::terminate())?,
                        signal(SignalKind::interrupt())?,
                    ))
                })();
                let (mut hup, mut term, mut int) = match handlers {
                    Ok(handlers) => {
                        let _ = ready_tx.send(Ok(()));
                        handlers
                    }
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                let mut stop_tx = Some(stop_tx);
                loop {
                    tokio::select! {
                        _ = term.recv() => {
                            info!("SIGTERM received, stopping");
                            stop_tx.take().map(|s| s.send(()));
                        }
                        _ = int.recv() => {
                            info!("SIGINT received, stopping");
                            stop_tx.take().map(|s| s.send(()));
                        }
                        _ = hup.recv() => reload(&initial, &tx),
                    }
                }
            });
        })?;
    ready_rx
        .recv()
        .map_err(|_| std::io::Error::other("the signal thread exited"))??;
    let stop = async move {
        let _ = stop_rx.await;
    };
    Ok((Reloader { rx }, stop))
}

/// One SIGHUP: build a new engine and hand it over, or log why not.
fn reload(initial: &DetectArgs, tx: &mpsc::Sender<Engine>) {
    info!("SIGHUP received, reloading rules and configuration");
    match build(initial) {
        Ok((engine, rules)) => {
            if tx.send(engine).is_ok() {
                info!(
                    rules,
                    "reload accepted; new rules apply from the next batch"
                );
            }
        }
        Err(err) => error!(%err, "reload rejected; the running rules stay in force"),
    }
}

/// The detection arguments now in force: the command line re-parsed with the config file as it
/// is on disk now, or `initial` when that is impossible to tell (the sensor was not started
/// through its own `main`).
fn current_args(initial: &DetectArgs) -> Result<DetectArgs, ReloadError> {
    match crate::config::parse::<Cli>(std::env::args_os()) {
        Ok(Cli {
            command: Command::Run(run),
            ..
        }) => Ok(run.detect),
        Ok(_) => Ok(initial.clone()),
        Err(err) => Err(ReloadError::Config(
            escape(err.to_string().as_bytes()).0.into_owned(),
        )),
    }
}

/// Loads the rules strictly (any problem rejects the set) and builds an engine from them.
fn build(initial: &DetectArgs) -> Result<(Engine, usize), ReloadError> {
    let args = current_args(initial)?;
    let rules = strict_rules(&args)?;
    let config = EngineConfig {
        beacon: args.beacon(),
        ..EngineConfig::default()
    };
    let engine = Engine::new(&rules, config)?;
    Ok((engine, rules.meta.len()))
}

/// The rule set `args` names, or an error after logging every problem.
pub fn strict_rules(args: &DetectArgs) -> Result<RuleSet, ReloadError> {
    let mut set = RuleSet::load(&args.rules);
    if args.with_builtin && !args.rules.is_empty() {
        set.merge(RuleSet::builtin());
    }
    if !set.errors.is_empty() {
        for err in &set.errors {
            warn!(
                file = %escape(err.file.as_bytes()).0,
                line = err.line,
                problem = %escape(err.message.as_bytes()).0,
                "rule rejected by reload"
            );
        }
        return Err(ReloadError::Rules(set.errors.len()));
    }
    if set.meta.is_empty() {
        return Err(ReloadError::Empty);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &std::path::Path) -> DetectArgs {
        DetectArgs {
            rules: vec![dir.to_path_buf()],
            with_builtin: false,
            beacon_min_connections: 6,
            beacon_max_cv: 0.2,
            beacon_window_secs: 3600,
        }
    }

    #[test]
    fn a_set_with_one_bad_rule_is_rejected_whole() {
        let dir = std::env::temp_dir().join(format!("reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("good.yml"), crate::detect::rules::BUILTIN[0].1).expect("write");
        assert!(strict_rules(&args(&dir)).is_ok());
        std::fs::write(dir.join("bad.yml"), "title: x\ndetection: [\n").expect("write");
        assert!(matches!(
            strict_rules(&args(&dir)),
            Err(ReloadError::Rules(n)) if n >= 1
        ));
        std::fs::remove_dir_all(&dir).expect("cleanup");
        let empty = std::env::temp_dir().join(format!("reload-empty-{}", std::process::id()));
        std::fs::create_dir_all(&empty).expect("dir");
        assert!(matches!(
            strict_rules(&args(&empty)),
            Err(ReloadError::Empty)
        ));
        std::fs::remove_dir_all(&empty).expect("cleanup");
    }
}
