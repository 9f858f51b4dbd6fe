//! cargo-fuzz entry point for the `rules` target (body in `../targets.rs`).
#![no_main]

#[path = "../targets.rs"]
#[allow(dead_code)]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::rules(data));
