//! Self-protection: tamper alerts about attempts to read, blind or silence the sensor.
//!
//! What is observable with tracepoints only, from the events we already capture:
//!
//! - another process opening `/proc/<sensor pid>/{mem,maps,environ,...}` (or a thread's
//!   `/proc/<pid>/task/<tid>/...`): reading or patching the sensor's memory, finding its maps;
//! - a process opening tracefs control files for writing (`tracing_on`, `events/**/enable`,
//!   `set_event`, `kprobe_events`, ...): switching off or redirecting tracing;
//! - a process opening pinned BPF objects under `/sys/fs/bpf` for writing;
//! - another process calling `bpf()` to get a handle on, update, or detach one of the sensor's
//!   own programs, maps or links ([`bpf`], fed by the kernel's `TAMPER` ring);
//! - one of the sensor's programs, maps or links disappearing or being swapped, found by a
//!   periodic self-check of `/proc/self/fdinfo` ([`inventory`]);
//! - a capture hook that is still attached but no longer runs, found by a liveness canary
//!   at each self-check ([`canary`]).
//!
//! The kernel side filters only the sensor's own pid (not its name), so a process that renames
//! itself after the sensor is still seen and still alerted on. Alerts have the same shape as
//! Sigma alerts ([`crate::detect::alert::document`]), with `rule.ruleset: self-protection`.

pub mod bpf;
pub mod canary;
pub mod inventory;

use serde_json::{Value, json};

use crate::context::EnrichedEvent;
use crate::detect::RuleMeta;
use crate::detect::alert::{AlertInput, document};
use crate::event::EventBody;

/// `/proc/<pid>/` entries whose opening by another process is an attack on the sensor.
const PROC_SENSITIVE: [&[u8]; 6] = [b"mem", b"maps", b"smaps", b"environ", b"pagemap", b"fd"];
/// tracefs mount points.
const TRACEFS: [&[u8]; 2] = [b"/sys/kernel/tracing/", b"/sys/kernel/debug/tracing/"];

/// Which tamper rule an event matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Another process opened the sensor's memory or maps under /proc.
    ProcAccess,
    /// A tracefs control file was opened for writing.
    TracingControl,
    /// A pinned BPF object was opened for writing.
    BpfPin,
    /// Another process got a handle on one of the sensor's BPF objects.
    BpfHandle,
    /// Another process changed or detached one of the sensor's BPF objects.
    BpfChange,
    /// The periodic self-check found a program, map or link of the sensor gone or swapped.
    SelfCheck,
    /// A capture hook did not see the sensor's own canary call: it no longer runs.
    HookSilenced,
}

impl Tamper {
    fn meta(self) -> RuleMeta {
        // A handle is what `bpftool prog show` takes on every program: worth knowing, not an
        // attack by itself. Everything else changes or removes what the sensor relies on.
        let level = if self == Tamper::BpfHandle {
            "medium"
        } else {
            "high"
        };
        let (id, title, description, tags) = match self {
            Tamper::ProcAccess => (
                "sensor-tamper-proc-access",
                "Sensor memory or maps opened by another process",
                "A process opened /proc/<sensor pid>/mem, maps or a similar file: an attempt to \
                 read or patch the sensor's memory or locate its BPF maps.",
                &["attack.defense_evasion", "attack.t1562.001", "attack.t1055"][..],
            ),
            Tamper::TracingControl => (
                "sensor-tamper-tracing-control",
                "Tracing control file opened for writing",
                "A process opened a tracefs control file (tracing_on, events/*/enable, ...) for \
                 writing: an attempt to switch off tracing the sensor depends on.",
                &[
                    "attack.defense_evasion",
                    "attack.t1562.001",
                    "attack.t1562.006",
                ][..],
            ),
            Tamper::BpfPin => (
                "sensor-tamper-bpf-pin",
                "Pinned BPF object opened for writing",
                "A process opened an object under /sys/fs/bpf for writing: BPF programs or maps \
                 may be replaced or altered.",
                &["attack.defense_evasion", "attack.t1562.001"][..],
            ),
            Tamper::BpfHandle => (
                "sensor-tamper-bpf-handle",
                "Handle taken on a sensor BPF object",
                "Another process asked the kernel for a file descriptor of one of the sensor's \
                 BPF programs, maps or links (bpf() *_GET_FD_BY_ID): the first step to reading \
                 or altering its maps.",
                &["attack.defense_evasion", "attack.t1562.001"][..],
            ),
            Tamper::BpfChange => (
                "sensor-tamper-bpf-change",
                "Sensor BPF object changed or detached",
                "Another process updated or deleted entries of a sensor map, or detached or \
                 replaced a sensor program or link through bpf().",
                &["attack.defense_evasion", "attack.t1562.001"][..],
            ),
            Tamper::SelfCheck => (
                "sensor-tamper-self-check",
                "Sensor BPF program, map or link missing",
                "The sensor's periodic self-check found one of its BPF programs, maps or links \
                 gone or running another program: part of the capture may be blind.",
                &["attack.defense_evasion", "attack.t1562.001"][..],
            ),
            Tamper::HookSilenced => (
                "sensor-tamper-hook-silenced",
                "Sensor Capture Hook Silenced",
                "A capture hook of the sensor did not see the call the sensor made to test it \
                 (liveness canary): the program may still be loaded, but events of that kind \
                 are no longer captured.",
                &[
                    "attack.defense_evasion",
                    "attack.t1562.001",
                    "attack.t1562.006",
                ][..],
            ),
        };
        RuleMeta {
            id: id.into(),
            title: title.into(),
            description: Some(description.into()),
            level: Some(level.into()),
            tags: tags.iter().map(|t| (*t).to_string()).collect(),
            source: "self-protection".into(),
            ..RuleMeta::default()
        }
    }
}

/// Watches events for tampering with this sensor.
pub struct Guard {
    own_pid: u32,
    /// `own_pid` as decimal text, compared against /proc paths without formatting per event.
    own_pid_text: Vec<u8>,
    id_prefix: String,
    sequence: u64,
}

impl Guard {
    /// A guard for the current process.
    pub fn new() -> Guard {
        Guard::for_pid(std::process::id())
    }

    /// A guard protecting `pid`.
    pub fn for_pid(pid: u32) -> Guard {
        Guard {
            own_pid: pid,
            own_pid_text: pid.to_string().into_bytes(),
            id_prefix: format!("tamper-{:x}", crate::time::now_unix_ns()),
            sequence: 0,
        }
    }

    /// What `enriched` tampers with, if anything. Cheap for the common case: only opens are
    /// looked at, and only their first bytes.
    pub fn classify(&self, enriched: &EnrichedEvent) -> Option<Tamper> {
        if enriched.event.header.pid == self.own_pid {
            return None;
        }
        let EventBody::Open(open) = &enriched.event.body else {
            return None;
        };
        let path = open.path.as_slice();
        if let Some(rest) = path.strip_prefix(b"/proc/") {
            return self.proc_target(rest).then_some(Tamper::ProcAccess);
        }
        let writing = open.flags & (libc::O_ACCMODE as u32) != libc::O_RDONLY as u32
            || open.flags & (libc::O_TRUNC as u32) != 0;
        if writing && TRACEFS.iter().any(|p| path.starts_with(p)) {
            return Some(Tamper::TracingControl);
        }
        if writing && path.starts_with(b"/sys/fs/bpf/") {
            return Some(Tamper::BpfPin);
        }
        None
    }

    /// `rest` (after `/proc/`) names a sensitive file of our process or one of its threads.
    fn proc_target(&self, rest: &[u8]) -> bool {
        let mut parts = rest.split(|b| *b == b'/');
        if parts.next() != Some(self.own_pid_text.as_slice()) {
            return false;
        }
        let mut entry = parts.next();
        if entry == Some(b"task".as_slice()) {
            let _tid = parts.next();
            entry = parts.next();
        }
        entry.is_some_and(|e| PROC_SENSITIVE.contains(&e))
    }

    /// Adds a tamper alert for `enriched` (rendered as `doc`) to `alerts` when it is one.
    pub fn check(
        &mut self,
        enriched: &EnrichedEvent,
        doc: impl FnOnce() -> Value,
        alerts: &mut Vec<Value>,
    ) {
        let Some(tamper) = self.classify(enriched) else {
            return;
        };
        alerts.push(self.alert(tamper, doc()));
    }

    /// A tamper alert of kind `tamper` with `doc` as its event.
    pub fn alert(&mut self, tamper: Tamper, doc: Value) -> Value {
        self.sequence += 1;
        let meta = tamper.meta();
        let timestamp = doc
            .get("@timestamp")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        document(AlertInput {
            rule: &meta,
            id: format!("{}-{}", self.id_prefix, self.sequence),
            timestamp,
            event: doc,
            contributing: None,
            group: Vec::new(),
            aggregated: None,
        })
    }

    /// A tamper alert for a `bpf()` call of another process on `target`, one of ours.
    pub fn bpf_alert(
        &mut self,
        call: &bpf::BpfCall,
        target: inventory::Object,
        clock: crate::time::BootClock,
    ) -> Value {
        let tamper = if call.is_handle() {
            Tamper::BpfHandle
        } else {
            Tamper::BpfChange
        };
        let (kind, id) = match target {
            inventory::Object::Prog(id) => ("program", id),
            inventory::Object::Map(id) => ("map", id),
            inventory::Object::Link { id, .. } => ("link", id),
        };
        let doc = json!({
            "@timestamp": crate::time::rfc3339(clock.to_unix_ns(call.ktime_ns)),
            "event": {"kind": "event", "category": ["process"], "type": ["access"],
                      "action": "bpf"},
            "process": {
                "pid": call.pid,
                "thread": {"id": call.tid},
                "name": crate::text::escape(&call.comm).0,
            },
            "user": {"id": call.uid.to_string()},
            "bpf": {"command": call.command_name(), "object": {"type": kind, "id": id}},
        });
        self.alert(tamper, doc)
    }

    /// A tamper alert for a failed self-check.
    pub fn self_check_alert(&mut self, problem: &inventory::Problem) -> Value {
        let doc = json!({
            "@timestamp": crate::time::rfc3339(crate::time::now_unix_ns()),
            "event": {"kind": "event", "category": ["host"], "type": ["change"],
                      "action": "self-check", "reason": problem.describe()},
            "process": {"pid": self.own_pid},
        });
        self.alert(Tamper::SelfCheck, doc)
    }

    /// One tamper alert for every hook in `hooks` that stopped seeing its canary.
    pub fn hook_silenced_alert(&mut self, hooks: &[sensor_common::canary::Hook]) -> Value {
        let names: Vec<&str> = hooks.iter().map(|h| h.name()).collect();
        let doc = json!({
            "@timestamp": crate::time::rfc3339(crate::time::now_unix_ns()),
            "event": {"kind": "event", "category": ["host"], "type": ["change"],
                      "action": "capture-canary",
                      "reason": format!("no canary call of the sensor reached: {}",
                                        names.join(", "))},
            "process": {"pid": self.own_pid},
            "bpf": {"hooks": names},
        });
        self.alert(Tamper::HookSilenced, doc)
    }
}

impl Default for Guard {
    fn default() -> Self {
        Guard::new()
    }
}

#[cfg(test)]
mod tests;
