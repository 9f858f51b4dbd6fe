//! Context for every event: the process table (ancestry), users, containers, Kubernetes pods
//! and the host. Only this stage touches the process table; it turns an [`crate::event::Event`]
//! into an [`EnrichedEvent`] that detection and outputs read.

pub mod cgroupfs;
pub mod container;
pub mod enrich;
pub mod host;
pub mod kubernetes;
pub mod model;
pub mod proc_seed;
pub mod process_table;
pub mod setup;
pub mod users;

pub use enrich::{Enricher, EnricherConfig};
pub use model::*;
