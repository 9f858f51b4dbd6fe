//! Detection: Sigma rules and Sigma correlations evaluated on the host, alerts as ECS JSON.
//!
//! Rules are parsed and compiled by the rsigma crates (Sigma v2: every modifier, filters,
//! correlations). What is ours: the field accessor both live and recorded events implement
//! ([`accessor`], [`live`], [`recorded`], with the Sigma-to-ECS names in [`fields`]), rule
//! loading with file-and-line errors ([`rules`]), the engine wrapper ([`engine`]) and the alert
//! documents ([`alert`], [`attack`]), the beaconing analytic Sigma cannot express
//! ([`beacon`]) and the launcher lineage field correlations group by ([`launcher`]).

pub mod accessor;
pub mod alert;
pub mod attack;
pub mod beacon;
pub mod cache;
pub mod engine;
pub mod fields;
pub mod lanes;
pub mod launcher;
pub mod live;
pub mod recorded;
pub mod rules;
pub mod state;
pub mod validate;

#[cfg(test)]
mod tests;

pub use engine::{AlertSink, Engine, EngineConfig, EngineStats};
pub use rules::{RuleError, RuleLoadStats, RuleMeta, RuleSet};

/// Errors of the detection engine.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The loaded rules could not be compiled into the engine.
    #[error("cannot compile rules: {0}")]
    Compile(String),
}
