//! Context for every event: the process table (ancestry), users, containers, Kubernetes pods
//! and the host. Only this stage touches the process table; it turns an [`crate::event::Event`]
//! into an [`EnrichedEvent`] that detection and outputs read.

pub mod container;
pub mod model;

pub use model::*;
