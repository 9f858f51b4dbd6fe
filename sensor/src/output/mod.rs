//! Writing events out: ECS JSON documents ([`ecs`]) as lines to stdout or a file ([`jsonl`]).

pub mod ecs;
pub mod jsonl;
pub mod names;
