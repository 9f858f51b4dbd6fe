//! Prometheus metrics of the sensor: one [`Metrics`] registry with typed handles that the
//! pipeline stages update through small methods, and the text exposition served by
//! [`crate::http`].
//!
//! Label values are bounded by construction: event types and drop/filter reasons are fixed
//! `&'static str` sets, rule labels are bounded by the loaded rule set. No pid, path or command
//! ever becomes a label.

mod build_info;
mod registry;
mod ringfill;
#[cfg(test)]
mod tests;

pub use build_info::BuildInfo;
pub use registry::{EVENT_TYPES, KERNEL_DROP_REASON, Metrics, MetricsError};
pub use ringfill::RingFill;
