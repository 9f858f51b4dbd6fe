//! Writing events out: ECS JSON documents ([`ecs`], with process/user/container/host context
//! from [`ecs_context`]) as lines to stdout or a file ([`jsonl`]).

pub mod ecs;
pub mod ecs_context;
pub mod jsonl;
pub mod names;
