//! The `sensor.escaped` list of a rendered event, in the order the `serde_json::Value` path
//! ([`super::super::ecs::document`] then [`super::super::ecs_context::add_context`]) builds it:
//! every field whose untrusted bytes were escaped, each name once, first occurrence first.
//! Names are kept as (prefix, suffix) pairs of static strings so nothing is formatted unless
//! a field really was escaped.

use crate::context::model::{EnrichedEvent, ProcessInfo};
use crate::event::EventBody;
use crate::output::ecs_context::{ANCESTOR_MAX_ARG_BYTES, ANCESTOR_MAX_ARGS};
use crate::text::needs_escape;

use super::{Image, basename};

/// Escaped field names, reused from event to event.
#[derive(Default)]
pub(super) struct Escaped {
    names: Vec<(&'static str, &'static str)>,
}

impl Escaped {
    pub(super) fn clear(&mut self) {
        self.names.clear();
    }

    pub(super) fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub(super) fn names(&self) -> &[(&'static str, &'static str)] {
        &self.names
    }

    fn check(&mut self, bytes: &[u8], name: (&'static str, &'static str)) {
        if needs_escape(bytes) && !self.names.contains(&name) {
            self.names.push(name);
        }
    }

    fn check_join(&mut self, parts: &[Vec<u8>], name: (&'static str, &'static str)) {
        // Joining clean parts with a space gives clean text.
        if parts.iter().any(|p| needs_escape(p)) && !self.names.contains(&name) {
            self.names.push(name);
        }
    }

    /// Fills the list for `e`, whose acting image is `image`.
    pub(super) fn collect(&mut self, e: &EnrichedEvent, image: &Image<'_>) {
        self.names.clear();
        let h = &e.event.header;
        // The event document's own fields.
        self.check(&h.comm, ("process", "name"));
        match &e.event.body {
            EventBody::Exec(exec) => {
                for arg in &exec.args {
                    self.check(arg, ("process", "args"));
                }
                self.check(&exec.executable, ("process", "executable"));
                if exec.result == 0 {
                    self.check(basename(&exec.executable), ("process", "name"));
                }
                self.check_join(&exec.args, ("process", "command_line"));
                if let Some(cwd) = &exec.cwd {
                    self.check(cwd, ("process", "working_directory"));
                }
                self.check(&exec.filename, ("sensor.exec", "filename"));
            }
            EventBody::Open(open) => {
                self.check(&open.path, ("file", "path"));
                self.check(basename(&open.path), ("file", "name"));
                self.check(&open.requested_path, ("sensor.open", "requested_path"));
            }
            EventBody::Fork(_) | EventBody::Exit(_) | EventBody::Connect(_) => {}
            EventBody::Accept(_) => {}
            EventBody::ExeDeleted(deleted) => {
                self.check(&deleted.link, ("sensor.exe_deleted", "link"))
            }
        }
        // The context's fields, in the order they are rendered.
        self.process(
            image.p,
            image.executable,
            image.args,
            "process",
            Depth::Full,
        );
        if let Some(parent) = &e.lineage.parent {
            self.process(
                parent,
                &parent.executable,
                &parent.args,
                "process.parent",
                Depth::Full,
            );
        }
        for (leader, prefix) in [
            (&e.lineage.group_leader, "process.group_leader"),
            (&e.lineage.session_leader, "process.session_leader"),
        ] {
            if let Some(l) = leader {
                self.process(l, &l.executable, &l.args, prefix, Depth::Leader);
            }
        }
        for a in e.lineage.parent.iter().chain(&e.lineage.ancestors) {
            self.process(a, &a.executable, &a.args, "process.ancestors", Depth::Chain);
        }
        if let Some(previous) = &e.process.previous_executable {
            self.check(previous, ("process.previous", "executable"));
        }
    }

    fn process(
        &mut self,
        p: &ProcessInfo,
        executable: &[u8],
        args: &[Vec<u8>],
        prefix: &'static str,
        depth: Depth,
    ) {
        let short = short_name(executable, &p.comm);
        if !short.is_empty() {
            self.check(short, (prefix, "name"));
        }
        if !executable.is_empty() {
            self.check(executable, (prefix, "executable"));
        }
        if depth == Depth::Leader || args.is_empty() {
            if depth == Depth::Full
                && let Some(cwd) = &p.working_directory
            {
                self.check(cwd, (prefix, "working_directory"));
            }
            return;
        }
        if depth == Depth::Full {
            for arg in args {
                self.check(arg, (prefix, "args"));
            }
            self.check_join(args, (prefix, "command_line"));
            if let Some(cwd) = &p.working_directory {
                self.check(cwd, (prefix, "working_directory"));
            }
        } else {
            for arg in args.iter().take(ANCESTOR_MAX_ARGS) {
                self.check(
                    arg.get(..ANCESTOR_MAX_ARG_BYTES).unwrap_or(arg),
                    (prefix, "args"),
                );
            }
        }
    }
}

/// How much of a process is rendered (as in `ecs_context`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Depth {
    /// Everything.
    Full,
    /// Identity, executable, capped arguments.
    Chain,
    /// Identity and executable.
    Leader,
}

/// The basename of the executable, or comm when that is empty.
pub(super) fn short_name<'a>(executable: &'a [u8], comm: &'a [u8]) -> &'a [u8] {
    let base = basename(executable);
    if base.is_empty() { comm } else { base }
}
