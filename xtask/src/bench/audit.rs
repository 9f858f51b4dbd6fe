//! The auditd baseline, and keeping audit from skewing the other phases.
//!
//! Once audit has been enabled, the kernel gives every task forked afterwards an audit context
//! until reboot (about 5% on an open loop), even with no rules and audit disabled again. A
//! `never,task` rule stops that for new tasks, so it is loaded for every phase but auditd's.
//! The kernel's audit settings and rules are saved at the start and restored at the end.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Syscall rule equivalent to what the sensor hooks (issue 10), tagged with our key.
const KEY: &str = "sensor-bench";
const SYSCALLS: &str = "execve,execveat,connect,accept4,openat,openat2";
/// Debian's default `audit.rules` sets this backlog; the kernel default (64) would make auditd
/// look worse than it is on a real install.
const BACKLOG: &str = "8192";

fn auditctl(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("auditctl")
        .args(args)
        .output()
        .context("running auditctl (install the `auditd` package: scripts/setup.sh does)")?;
    if !out.status.success() {
        bail!(
            "auditctl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Fails with a clear message when auditd is not installed.
pub fn check_installed() -> anyhow::Result<()> {
    for tool in ["auditd", "auditctl"] {
        let found = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
            .iter()
            .any(|dir| Path::new(dir).join(tool).exists());
        if !found {
            bail!(
                "`{tool}` not found: the auditd baseline needs the Debian package `auditd` \
                 (scripts/setup.sh installs it; or `apt-get install auditd`)"
            );
        }
    }
    Ok(())
}

/// The kernel's audit state before the bench; restored on drop.
pub struct AuditGuard {
    status: Vec<(String, String)>,
    rules: Vec<String>,
    had_never_task: bool,
}

impl AuditGuard {
    /// Saves the current state and loads `never,task`.
    pub fn install() -> anyhow::Result<Self> {
        let status: Vec<(String, String)> = auditctl(&["-s"])?
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                Some((k.to_string(), v.trim().to_string()))
            })
            .collect();
        let rules: Vec<String> = auditctl(&["-l"])?
            .lines()
            .filter(|l| l.starts_with('-'))
            .map(str::to_string)
            .collect();
        let daemon = status
            .iter()
            .find(|(k, _)| k == "pid")
            .map_or("0", |(_, v)| v.as_str());
        if daemon != "0" {
            bail!(
                "an audit daemon (pid {daemon}) is already registered with the kernel: stop it \
                 before the bench (which starts its own auditd), or pass --no-auditd"
            );
        }
        let had_never_task = rules.iter().any(|r| is_never_task(r));
        let guard = AuditGuard {
            status,
            rules,
            had_never_task,
        };
        if !guard.had_never_task {
            auditctl(&["-a", "never,task"])?;
        }
        Ok(guard)
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.status
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.split_whitespace().next().unwrap_or(""))
    }

    fn restore(&self) -> anyhow::Result<()> {
        auditctl(&["-D"])?;
        for rule in &self.rules {
            let args: Vec<&str> = rule.split_whitespace().collect();
            if let Err(err) = auditctl(&args) {
                eprintln!("bench: could not restore audit rule {rule:?}: {err:#}");
            }
        }
        for (flag, key) in [
            ("-b", "backlog_limit"),
            ("-f", "failure"),
            ("-r", "rate_limit"),
            ("--backlog_wait_time", "backlog_wait_time"),
            ("-e", "enabled"),
        ] {
            if let Some(v) = self.value(key)
                && !v.is_empty()
                // enabled=2 means locked: nothing can be changed anyway.
                && !(key == "enabled" && v == "2")
                && let Err(err) = auditctl(&[flag, v])
            {
                eprintln!("bench: could not restore audit {key}={v}: {err:#}");
            }
        }
        Ok(())
    }
}

impl Drop for AuditGuard {
    fn drop(&mut self) {
        if let Err(err) = self.restore() {
            eprintln!("bench: restoring the audit state failed: {err:#}");
        }
    }
}

fn is_never_task(rule: &str) -> bool {
    let words: Vec<&str> = rule.split_whitespace().collect();
    words.windows(2).any(|w| {
        w.first() == Some(&"-a") && matches!(w.get(1), Some(&"never,task") | Some(&"task,never"))
    })
}

/// A running auditd with the equivalent syscall rules, logging to a scratch folder.
pub struct Auditd {
    child: Child,
    rules: Vec<Vec<String>>,
    restore_never_task: bool,
}

impl Auditd {
    /// Lifts `never,task`, loads the rules and starts `auditd -n -c <scratch>`.
    pub fn start(scratch: &Path, guard: &AuditGuard) -> anyhow::Result<Self> {
        let conf_dir = write_config(scratch)?;
        if !guard.had_never_task {
            auditctl(&["-d", "never,task"])?;
        }
        let mut rules = Vec::new();
        for arch in ["b64", "b32"] {
            let rule: Vec<String> = ["-a", "always,exit", "-F"]
                .iter()
                .map(|s| s.to_string())
                .chain([format!("arch={arch}"), "-S".into(), SYSCALLS.into()])
                .chain(["-k".into(), KEY.into()])
                .collect();
            let args: Vec<&str> = rule.iter().map(String::as_str).collect();
            match auditctl(&args) {
                Ok(_) => rules.push(rule),
                // 32-bit syscalls are optional: a kernel without compat support refuses them.
                Err(err) if arch == "b32" => eprintln!("bench: no 32-bit audit rule: {err:#}"),
                Err(err) => return Err(err),
            }
        }
        auditctl(&["-b", BACKLOG])?;
        let child = Command::new("auditd")
            .args(["-n", "-c"])
            .arg(&conf_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting auditd")?;
        let mut auditd = Auditd {
            child,
            rules,
            restore_never_task: !guard.had_never_task,
        };
        // auditd enables audit and registers its pid once it is ready.
        let pid = auditd.child.id().to_string();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = auditctl(&["-s"])?;
            let registered = status.lines().any(|l| l == format!("pid {pid}"));
            let enabled = status.lines().any(|l| l.starts_with("enabled 1"));
            if registered && enabled {
                return Ok(auditd);
            }
            if let Some(status) = auditd.child.try_wait()? {
                bail!(
                    "auditd exited ({status}) at start; config in {}",
                    conf_dir.display()
                );
            }
            if Instant::now() > deadline {
                bail!("auditd did not register with the kernel within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops auditd, disables audit, removes the rules and reloads `never,task`.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> anyhow::Result<()> {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: signalling our own unreaped child.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while matches!(self.child.try_wait(), Ok(None)) {
                if Instant::now() > deadline {
                    let _ = self.child.kill();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        auditctl(&["-e", "0"])?;
        for rule in std::mem::take(&mut self.rules) {
            let mut args: Vec<&str> = rule.iter().map(String::as_str).collect();
            if let Some(first) = args.first_mut() {
                *first = "-d";
            }
            auditctl(&args)?;
        }
        if std::mem::take(&mut self.restore_never_task) {
            auditctl(&["-a", "never,task"])?;
        }
        Ok(())
    }
}

impl Drop for Auditd {
    fn drop(&mut self) {
        if let Err(err) = self.shutdown() {
            eprintln!("bench: stopping auditd failed: {err:#}");
        }
    }
}

/// A copy of the system's auditd.conf with the log in `scratch`, bounded in size (the open loops
/// write hundreds of MB of records otherwise) and no disk-space actions.
fn write_config(scratch: &Path) -> anyhow::Result<PathBuf> {
    let dir = scratch.join("auditd");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let base = std::fs::read_to_string("/etc/audit/auditd.conf").unwrap_or_default();
    let overrides = [
        ("log_file", dir.join("audit.log").display().to_string()),
        ("max_log_file", "16".into()),
        ("num_logs", "2".into()),
        ("max_log_file_action", "ROTATE".into()),
        ("space_left", "2".into()),
        ("space_left_action", "IGNORE".into()),
        ("admin_space_left", "1".into()),
        ("admin_space_left_action", "IGNORE".into()),
        ("disk_full_action", "IGNORE".into()),
        ("disk_error_action", "IGNORE".into()),
        ("tcp_listen_port", String::new()),
    ];
    let mut conf: String = base
        .lines()
        .filter(|l| {
            let key = l.split('=').next().unwrap_or("").trim();
            !overrides.iter().any(|(k, _)| *k == key)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    for (k, v) in overrides.iter().filter(|(_, v)| !v.is_empty()) {
        conf.push_str(&format!("{k} = {v}\n"));
    }
    let path = dir.join("auditd.conf");
    std::fs::write(&path, conf).with_context(|| format!("writing {}", path.display()))?;
    // auditd refuses a config that others can write.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_never_task() {
        assert!(is_never_task("-a never,task"));
        assert!(is_never_task("-a task,never"));
        assert!(!is_never_task("-a always,exit -F arch=b64 -S openat"));
    }
}
