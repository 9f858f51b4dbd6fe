//! The detection engine's construction and its correlation state across restarts.

use std::time::Duration;

use anyhow::Context as _;
use tracing::{info, warn};

use crate::cli::RunArgs;
use crate::detect::{Engine, EngineConfig};
use crate::metrics::Metrics;

/// Loads the rules (`--rules`, or the built-in pack), reports what loaded and what did not
/// (bad rules are logged, counted and skipped), and builds the engine.
pub(super) fn detection_engine(args: &RunArgs, metrics: &Metrics) -> anyhow::Result<Engine> {
    let rules = crate::replay::load_rules(&args.detect);
    let stats = rules.stats();
    for (source, n) in &stats.loaded_by_source {
        metrics.rules_loaded(source, *n);
    }
    metrics.rule_load_errors(stats.errors);
    info!(
        rules = rules.meta.len(),
        errors = stats.errors,
        "detection rules loaded"
    );
    let config = EngineConfig {
        beacon: args.detect.beacon(),
        ..EngineConfig::default()
    };
    Engine::new(&rules, config).context("building the detection engine")
}

/// Opens the state directory and restores the correlation state saved by the previous run, if
/// any and recent enough. Problems are logged, never fatal: detection works without it.
pub(super) fn restore_state(
    args: &RunArgs,
    engine: &mut Engine,
) -> Option<crate::detect::state::StateStore> {
    if args.state_max_age_secs == 0 {
        return None;
    }
    let store = crate::detect::state::StateStore::open(&args.state_dir)
        .inspect_err(|err| warn!(%err, "state directory unusable; correlation state is not kept"))
        .ok()?;
    match store.take(Duration::from_secs(args.state_max_age_secs)) {
        Ok(Some(snapshot)) => {
            if engine.import_state(snapshot) {
                info!(
                    entries = engine.state_count(),
                    path = %store.path().display(),
                    "correlation state restored"
                );
            } else {
                warn!(path = %store.path().display(), "saved correlation state is of another version; not restored");
            }
        }
        Ok(None) => {}
        Err(err) => warn!(%err, "saved correlation state not restored"),
    }
    Some(store)
}

/// Writes the engine's correlation state for the next start.
pub(super) fn save_state(store: &crate::detect::state::StateStore, engine: &Engine) {
    match store.save(engine.export_state()) {
        Ok(()) => info!(
            entries = engine.state_count(),
            path = %store.path().display(),
            "correlation state saved"
        ),
        Err(err) => warn!(%err, "correlation state not saved"),
    }
}
