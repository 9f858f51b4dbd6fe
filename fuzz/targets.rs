//! Fuzz target bodies, shared by the cargo-fuzz targets (`fuzz_targets/*.rs`, nightly) and the
//! stable corpus-replay driver (`sensor/tests/fuzz_stable.rs`), so both exercise the same code.
//!
//! Every body must return normally for every input: a panic is the bug being looked for.

use clap::CommandFactory as _;

/// Kernel-record decoder, then ECS rendering: hostile bytes must decode to an error or to an
/// event that renders as valid JSON.
pub fn decode(data: &[u8]) {
    let Ok(event) = sensor::decode::decode(data) else {
        return;
    };
    let doc = sensor::output::ecs::document(&event, sensor::time::BootClock::new());
    let line = serde_json::to_string(&doc).unwrap_or_default();
    assert!(!line.contains('\n'), "a JSON line contains a raw newline");
    assert!(
        serde_json::from_str::<serde_json::Value>(&line).is_ok(),
        "rendered event is not valid JSON"
    );
}

/// Sigma rule loader (YAML text → rules with file/line errors), then engine construction.
pub fn rules(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut set = sensor::detect::RuleSet::default();
    set.add_text("fuzz.yml", "fuzz", &text);
    set.finish();
    for err in &set.errors {
        assert!(err.file == "fuzz.yml", "error names the wrong file");
    }
    let _ = sensor::detect::Engine::new(&set, sensor::detect::EngineConfig::default());
}

/// Config file loader (YAML text → `sensor run` arguments), then clap's parse of the result.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(args) = sensor::config::arguments_from_text::<sensor::cli::Cli>("run", &text) else {
        return;
    };
    let argv = ["sensor", "run"].into_iter().map(String::from).chain(args);
    let _ = sensor::cli::Cli::command().try_get_matches_from(argv);
}

/// A target body.
pub type Target = fn(&[u8]);

/// Every target by name, for the drivers.
pub const TARGETS: [(&str, Target); 3] = [("decode", decode), ("rules", rules), ("config", config)];
