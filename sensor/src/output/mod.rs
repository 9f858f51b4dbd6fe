//! Writing events out: ECS JSON documents ([`ecs`], with process/user/container/host context
//! from [`ecs_context`]) as lines to stdout or a file ([`jsonl`]). The pipeline renders through
//! [`render`], which writes the same documents with [`json`] into a reused buffer.

pub mod ecs;
pub mod ecs_context;
pub mod json;
pub mod jsonl;
pub mod names;
pub mod render;
