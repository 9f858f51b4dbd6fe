//! Self-protection and process watches that run between batches: `bpf()` calls of others on
//! the sensor's objects, the self-check of its own BPF objects with the liveness canaries, and
//! the deleted-executable watch.

use std::time::Instant;

use tracing::warn;

use super::pipeline::Pipeline;

impl Pipeline {
    /// Checks the followed processes for a deleted executable and sends an event for each
    /// one newly found through the pipeline.
    pub(super) fn watch_exes(&mut self, now: Instant) {
        let mut found = std::mem::take(&mut self.exe_found);
        let counts = self.exe_watch.tick(now, &mut found);
        self.metrics.exe_watch(&counts);
        for finding in found.drain(..) {
            // The pid must still name the process the watcher followed (no reuse since).
            let Some(process) = self
                .enricher
                .known(finding.pid)
                .filter(|p| !p.exited && p.start_unix_ns == finding.start_unix_ns)
            else {
                continue;
            };
            let event = crate::exewatch::ExeWatch::event(finding, process);
            self.process(event);
        }
        self.exe_found = found;
    }

    /// Turns `bpf()` calls of others on the sensor's objects into tamper alerts.
    pub(super) fn watch_bpf_calls(&mut self) {
        let Some(ring) = &mut self.tamper else {
            return;
        };
        let now = Instant::now();
        let mut alerts = Vec::new();
        while let Some(item) = ring.next() {
            let call = match crate::protect::bpf::BpfCall::decode(&item) {
                Ok(call) => call,
                Err(err) => {
                    self.metrics.tamper_records_dropped("tamper_record", 1);
                    tracing::debug!(%err, "unusable tamper record");
                    continue;
                }
            };
            if let Some(target) = self.bpf_watch.check(&call, now) {
                alerts.push(self.guard.bpf_alert(&call, target, self.clock));
            }
        }
        for alert in alerts {
            self.emit_alert(alert);
        }
    }

    /// Checks that every program, map and link loaded at start is still held and unchanged.
    pub(super) fn self_check(&mut self) {
        let now = match crate::protect::inventory::Inventory::read(std::path::Path::new(
            "/proc/self/fdinfo",
        )) {
            Ok(now) => now,
            Err(err) => {
                warn!(%err, "self-check cannot read /proc/self/fdinfo");
                return;
            }
        };
        let problems = self.bpf_watch.inventory().problems(&now);
        let failed = !problems.is_empty();
        if failed && !self.self_check_failed {
            for problem in &problems {
                warn!(problem = %problem.describe(), "self-check failed");
                let alert = self.guard.self_check_alert(problem);
                self.emit_alert(alert);
            }
        }
        self.self_check_failed = failed;
        self.check_canaries();
    }

    /// Makes the canary calls; one alert for the hooks that stopped seeing them.
    fn check_canaries(&mut self) {
        let Some(canary) = &mut self.canary else {
            return;
        };
        let report = canary.check();
        for state in &report.states {
            self.metrics
                .capture_hook_alive(state.hook.name(), state.alive);
        }
        if !report.newly_silenced.is_empty() {
            for hook in &report.newly_silenced {
                warn!(
                    hook = hook.name(),
                    "capture hook did not see its canary call"
                );
            }
            let alert = self.guard.hook_silenced_alert(&report.newly_silenced);
            self.emit_alert(alert);
        }
    }
}
