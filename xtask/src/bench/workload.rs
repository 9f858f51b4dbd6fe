//! The timed loops, run as a fresh `bench-workload` process each time (a new task, so it picks
//! up the audit settings of the phase it runs in).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use serde::Serialize;

/// One of the four loops of the overhead table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// open+close of one file.
    OpenOne,
    /// open+close over `Paths::many_count` distinct files.
    OpenMany,
    /// fork + execve(/bin/true) + waitpid.
    ForkExec,
    /// socket + connect to a loopback listener + accept4 + close both.
    Connect,
}

impl Workload {
    /// All of them, in the order they run within a phase.
    pub const ALL: [Workload; 4] = [
        Workload::OpenOne,
        Workload::OpenMany,
        Workload::ForkExec,
        Workload::Connect,
    ];

    /// Short label for tables and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Workload::OpenOne => "open/close 1 file",
            Workload::OpenMany => "open/close distinct files",
            Workload::ForkExec => "fork+exec /bin/true",
            Workload::Connect => "loopback connect+accept",
        }
    }

    /// Iterations of a full run: each loop takes roughly 0.5-1 s with no monitor on the
    /// reference VM (and 20-60 s under auditd, which dominates the bench's run time).
    fn iterations(self, many_count: u64) -> u64 {
        match self {
            Workload::OpenOne => 200_000,
            Workload::OpenMany => many_count,
            Workload::ForkExec => 1_000,
            Workload::Connect => 10_000,
        }
    }
}

/// Where the workload binary and its files are.
pub struct Runner {
    /// The `bench-workload` binary.
    pub binary: PathBuf,
    /// Folder holding the files the open loops use (tmpfs when there is one: creating and
    /// removing 100,000 files on a busy virtual disk takes minutes, and disk writes of others
    /// would leak into the figures).
    pub files: PathBuf,
    /// Scratch folder on disk (auditd's log).
    pub scratch: PathBuf,
    /// How many distinct files the open-many loop cycles through.
    pub many_count: u64,
    /// Divides every iteration count (10 under `--quick`).
    pub divisor: u64,
}

/// What one run of a loop measured.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Operations done.
    pub ops: u64,
    /// Wall time of the loop, in nanoseconds.
    pub elapsed_ns: u64,
    /// CPU time (user+sys, with reaped children) of the loop process, in nanoseconds.
    pub cpu_ns: Option<u64>,
}

impl Sample {
    /// Nanoseconds per operation.
    pub fn ns_per_op(self) -> f64 {
        self.elapsed_ns as f64 / self.ops.max(1) as f64
    }

    /// CPU nanoseconds per operation.
    pub fn cpu_ns_per_op(self) -> Option<f64> {
        Some(self.cpu_ns? as f64 / self.ops.max(1) as f64)
    }
}

impl Runner {
    fn single_file(&self) -> PathBuf {
        self.files.join("single")
    }

    fn many_dir(&self) -> PathBuf {
        self.files.join("many")
    }

    /// Creates the files the open loops use.
    pub fn prepare(&self) -> anyhow::Result<()> {
        for dir in [&self.files, &self.scratch] {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(self.single_file(), b"").context("creating the single file")?;
        let many = self.many_dir();
        self.exec(&[
            "create-files".as_ref(),
            many.as_os_str(),
            self.many_count.to_string().as_ref(),
        ])
        .map(drop)
    }

    /// Runs `workload` once.
    pub fn run(&self, workload: Workload) -> anyhow::Result<Sample> {
        // The open-many loop always visits every file once (--quick makes fewer files).
        let divisor = if workload == Workload::OpenMany {
            1
        } else {
            self.divisor
        };
        let iters = (workload.iterations(self.many_count) / divisor).max(1);
        let iters = iters.to_string();
        let single = self.single_file();
        let many = self.many_dir();
        let count = self.many_count.to_string();
        match workload {
            Workload::OpenOne => {
                self.exec(&["open-one".as_ref(), single.as_os_str(), iters.as_ref()])
            }
            Workload::OpenMany => self.exec(&[
                "open-many".as_ref(),
                many.as_os_str(),
                count.as_ref(),
                iters.as_ref(),
            ]),
            Workload::ForkExec => self.exec(&["fork-exec".as_ref(), iters.as_ref()]),
            Workload::Connect => self.exec(&["connect".as_ref(), iters.as_ref()]),
        }
    }

    /// fork+exec of /bin/true at `rate` per second (0: unpaced) for `secs` seconds.
    pub fn exec_rate(&self, rate: u64, secs: u64, threads: u64) -> anyhow::Result<Sample> {
        self.exec(&[
            "exec-rate".as_ref(),
            rate.to_string().as_ref(),
            secs.to_string().as_ref(),
            threads.to_string().as_ref(),
        ])
    }

    /// open+close of the open-many loop's distinct files at `rate` per second (0: unpaced) for
    /// `secs` seconds.
    pub fn open_rate(&self, rate: u64, secs: u64) -> anyhow::Result<Sample> {
        let many = self.many_dir();
        self.exec(&[
            "open-rate".as_ref(),
            rate.to_string().as_ref(),
            secs.to_string().as_ref(),
            many.as_os_str(),
            self.many_count.to_string().as_ref(),
        ])
    }

    fn exec(&self, args: &[&std::ffi::OsStr]) -> anyhow::Result<Sample> {
        let out = Command::new(&self.binary)
            .args(args)
            .output()
            .with_context(|| format!("running {}", self.binary.display()))?;
        if !out.status.success() {
            bail!(
                "{} {:?} failed: {}",
                self.binary.display(),
                args,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        parse_sample(&text).with_context(|| format!("unexpected workload output {text:?}"))
    }

    /// Removes the files and the scratch folder.
    pub fn cleanup(&self) {
        for dir in [&self.files, &self.scratch] {
            if dir.starts_with(Path::new("/tmp")) || dir.starts_with(Path::new("/dev/shm")) {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// Reads `ops=<N> elapsed_ns=<T> [cpu_ns=<C>]`.
fn parse_sample(text: &str) -> Option<Sample> {
    let mut ops = None;
    let mut elapsed_ns = None;
    let mut cpu_ns = None;
    for field in text.split_whitespace() {
        match field.split_once('=') {
            Some(("ops", v)) => ops = v.parse().ok(),
            Some(("elapsed_ns", v)) => elapsed_ns = v.parse().ok(),
            Some(("cpu_ns", v)) => cpu_ns = v.parse().ok(),
            _ => {}
        }
    }
    Some(Sample {
        ops: ops?,
        elapsed_ns: elapsed_ns?,
        cpu_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_workload_line() {
        let s = parse_sample("ops=10 elapsed_ns=2500\n").expect("valid line");
        assert_eq!((s.ops, s.elapsed_ns, s.cpu_ns), (10, 2500, None));
        let s = parse_sample("ops=10 elapsed_ns=2500 cpu_ns=1000").expect("valid line");
        assert_eq!(s.cpu_ns_per_op(), Some(100.0));
        assert!((s.ns_per_op() - 250.0).abs() < 1e-9);
        assert!(parse_sample("garbage").is_none());
        assert!(parse_sample("ops=x elapsed_ns=1").is_none());
    }
}
