//! [`FieldSource`] over a live [`EnrichedEvent`]: fields are read straight from the event and
//! its process records. Joined command lines are built lazily, only when a rule asks for them:
//! an exec's once per event, a process record's once per record (`ProcessInfo::command_line`).

use std::borrow::Cow;
use std::cell::OnceCell;

use rsigma_eval::event::EventValue;

use super::accessor::{Category, FieldSource};
use super::fields::Field;
use super::launcher::{Hop, launcher};
use crate::context::{EnrichedEvent, ProcessInfo};
use crate::event::{EventBody, NetEvent, Transport};
use crate::text;

/// `O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND`: an open with any of these writes.
const WRITE_FLAGS: u32 = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000;

/// A live event as the evaluator sees it.
pub struct LiveEvent<'e> {
    event: &'e EnrichedEvent,
    time_unix_ns: i128,
    /// An exec's command line (its new arguments, not yet in a record).
    exec_command_line: OnceCell<String>,
    // Rules ask for the executable over and over; escape it once.
    executable: OnceCell<Cow<'e, str>>,
}

impl<'e> LiveEvent<'e> {
    /// Wraps `event`, which happened at `time_unix_ns` (wall clock).
    pub fn new(event: &'e EnrichedEvent, time_unix_ns: i128) -> Self {
        LiveEvent {
            event,
            time_unix_ns,
            exec_command_line: OnceCell::new(),
            executable: OnceCell::new(),
        }
    }

    fn args(&self) -> &'e [Vec<u8>] {
        match &self.event.event.body {
            EventBody::Exec(exec) => &exec.args,
            _ => &self.event.process.args,
        }
    }

    fn net(&self) -> Option<(&'e NetEvent, bool)> {
        match &self.event.event.body {
            EventBody::Connect(n) => Some((n, true)),
            EventBody::Accept(n) => Some((n, false)),
            _ => None,
        }
    }

    fn stdio(&self, fd: usize) -> Option<EventValue<'_>> {
        let kinds = match &self.event.event.body {
            EventBody::Exec(exec) => &exec.stdio,
            _ => &self.event.process.stdio,
        };
        kinds
            .get(fd)
            .map(|k| EventValue::Str(Cow::Borrowed(crate::output::names::fd_kind(*k))))
    }
}

fn text(bytes: &[u8]) -> EventValue<'_> {
    EventValue::Str(text::escape(bytes).0)
}

/// Joins escaped arguments with single spaces, as `process.command_line` is rendered.
pub fn join_args(args: &[Vec<u8>]) -> String {
    let mut out = String::with_capacity(args.iter().map(|a| a.len() + 1).sum());
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&text::escape(arg).0);
    }
    out
}

fn basename(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

fn owned_str(s: String) -> EventValue<'static> {
    EventValue::Str(Cow::Owned(s))
}

fn parent_field(parent: &ProcessInfo, field: Field) -> Option<EventValue<'_>> {
    match field {
        Field::ParentExecutable => Some(text(&parent.executable)),
        Field::ParentName => Some(text(basename(&parent.executable))),
        Field::ParentCommandLine => Some(EventValue::Str(Cow::Borrowed(
            parent.command_line.get_or_init(|| join_args(&parent.args)),
        ))),
        Field::ParentEntityId => Some(EventValue::Str(Cow::Borrowed(&parent.entity_id))),
        _ => None,
    }
}

impl FieldSource for LiveEvent<'_> {
    fn field(&self, field: Field) -> Option<EventValue<'_>> {
        let ev = self.event;
        let h = &ev.event.header;
        let p = &ev.process;
        let exec = match &ev.event.body {
            EventBody::Exec(e) => Some(e),
            _ => None,
        };
        match field {
            Field::Timestamp => Some(owned_str(crate::time::rfc3339(self.time_unix_ns))),
            Field::EventAction => Some(EventValue::Str(Cow::Borrowed(ev.event.body.kind_name()))),
            Field::Executable => Some(EventValue::Str(Cow::Borrowed(
                self.executable
                    .get_or_init(|| text::escape(exec.map_or(&p.executable, |e| &e.executable)).0),
            ))),
            Field::Name => Some(match exec {
                Some(e) => text(basename(&e.executable)),
                None => text(&h.comm),
            }),
            Field::CommandLine => Some(EventValue::Str(Cow::Borrowed(match exec {
                Some(e) => self.exec_command_line.get_or_init(|| join_args(&e.args)),
                None => p.command_line.get_or_init(|| join_args(&p.args)),
            }))),
            Field::Args => Some(EventValue::Array(
                self.args().iter().map(|a| text(a)).collect(),
            )),
            Field::ArgsCount => Some(EventValue::Int(match exec {
                Some(e) => i64::from(e.argc),
                None => i64::try_from(p.args.len()).unwrap_or(i64::MAX),
            })),
            Field::Pid => Some(EventValue::Int(i64::from(h.pid))),
            Field::EntityId => Some(EventValue::Str(Cow::Borrowed(&p.entity_id))),
            Field::WorkingDirectory => exec
                .and_then(|e| e.cwd.as_deref())
                .or(p.working_directory.as_deref())
                .map(text),
            Field::ParentPid => exec
                .and_then(|e| e.ppid)
                .or((p.ppid != 0).then_some(p.ppid))
                .map(|v| EventValue::Int(i64::from(v))),
            Field::ParentExecutable
            | Field::ParentName
            | Field::ParentCommandLine
            | Field::ParentEntityId => parent_field(ev.lineage.parent.as_deref()?, field),
            Field::LauncherEntityId => {
                // Not exec'd since its fork: still a copy of the program that forked it.
                let forked =
                    (exec.is_none() && p.exec_count == 0).then_some(p.executable.as_slice());
                let chain = ev
                    .lineage
                    .parent
                    .iter()
                    .chain(&ev.lineage.ancestors)
                    .map(|a| Hop {
                        executable: &a.executable,
                        args: &a.args,
                        entity_id: &a.entity_id,
                    });
                launcher(forked, chain).map(|id| EventValue::Str(Cow::Borrowed(id)))
            }
            Field::UserId => Some(owned_str(h.uid.to_string())),
            Field::UserName => p
                .user_name
                .as_deref()
                .map(|n| EventValue::Str(Cow::Borrowed(n))),
            Field::GroupId => Some(owned_str(h.gid.to_string())),
            Field::LoginUid => exec
                .and_then(|e| e.loginuid)
                .or(p.loginuid)
                .map(|v| owned_str(v.to_string())),
            Field::SourceIp | Field::SourcePort | Field::DestinationIp | Field::DestinationPort => {
                let (net, outgoing) = self.net()?;
                // ECS: the source is whoever opened the connection.
                let (src, dst) = if outgoing {
                    (net.local, net.remote)
                } else {
                    (net.remote, net.local)
                };
                Some(match field {
                    Field::SourceIp => owned_str(crate::text::ip_string(src.0)),
                    Field::SourcePort => EventValue::Int(i64::from(src.1)),
                    Field::DestinationIp => owned_str(crate::text::ip_string(dst.0)),
                    _ => EventValue::Int(i64::from(dst.1)),
                })
            }
            Field::DestinationDomain => None,
            Field::Transport => Some(EventValue::Str(Cow::Borrowed(
                match self.net()?.0.transport {
                    Transport::Tcp => "tcp",
                    Transport::Udp => "udp",
                    Transport::Other => "other",
                },
            ))),
            Field::Direction => Some(EventValue::Str(Cow::Borrowed(if self.net()?.1 {
                "egress"
            } else {
                "ingress"
            }))),
            Field::Initiated => Some(EventValue::Str(Cow::Borrowed(if self.net()?.1 {
                "true"
            } else {
                "false"
            }))),
            Field::FilePath => match &ev.event.body {
                EventBody::Open(o) => Some(text(&o.path)),
                _ => None,
            },
            Field::Stdin => self.stdio(0),
            Field::Stdout => self.stdio(1),
            Field::Stderr => self.stdio(2),
            Field::ParentStdin => ev.lineage.parent.as_deref().map(|parent| {
                EventValue::Str(Cow::Borrowed(crate::output::names::fd_kind(
                    parent.stdio[0],
                )))
            }),
            Field::ExeMemfd => exec.map(|e| EventValue::Bool(e.exe_memfd)),
            Field::ExeDeleted => exec.map(|e| EventValue::Bool(e.exe_deleted)),
            Field::ContainerId => p
                .container
                .as_deref()
                .map(|c| EventValue::Str(Cow::Borrowed(&c.id))),
            Field::HostName => Some(EventValue::Str(Cow::Borrowed(&ev.host.name))),
        }
    }

    fn category(&self) -> Category {
        match &self.event.event.body {
            // A failed exec created no process: Sigma's process_creation rules must not see the
            // ENOENT attempts of every PATH search.
            EventBody::Exec(e) if e.result == 0 => Category::ProcessCreation,
            EventBody::Exec(_) => Category::Other,
            EventBody::Connect(_) | EventBody::Accept(_) => Category::NetworkConnection,
            EventBody::Open(o) if o.flags & WRITE_FLAGS != 0 => Category::FileEvent,
            EventBody::Open(_) => Category::FileAccess,
            EventBody::Fork(_) | EventBody::Exit(_) => Category::Other,
            EventBody::ExeDeleted(_) => Category::ProcessTampering,
        }
    }

    fn time_unix_ns(&self) -> i128 {
        self.time_unix_ns
    }
}
