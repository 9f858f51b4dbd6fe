//! The field vocabulary rules may use: Sigma's Linux (Sysmon-for-Linux) names and the ECS names
//! our events carry, both resolved to one [`Field`] id.
//!
//! Both event accessors ([`super::live`] and [`super::recorded`]) answer in terms of [`Field`],
//! so a rule sees the same value whether it runs on a live event or on its JSON recording.

/// A field the engine knows how to read from an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `@timestamp`.
    Timestamp,
    /// `event.action` (`exec`, `connect`, `accept`, `open`, ...).
    EventAction,
    /// `process.executable`.
    Executable,
    /// `process.name`.
    Name,
    /// `process.command_line`: the arguments joined with single spaces.
    CommandLine,
    /// `process.args`.
    Args,
    /// `process.args_count`.
    ArgsCount,
    /// `process.pid`.
    Pid,
    /// `process.entity_id`.
    EntityId,
    /// `process.working_directory`.
    WorkingDirectory,
    /// `process.parent.executable`.
    ParentExecutable,
    /// `process.parent.name`.
    ParentName,
    /// `process.parent.command_line`.
    ParentCommandLine,
    /// `process.parent.pid`.
    ParentPid,
    /// `process.parent.entity_id`.
    ParentEntityId,
    /// `sensor.launcher.entity_id`: the nearest ancestor that is neither a `sh -c` wrapper nor
    /// a forked copy of the process's own program (see [`super::launcher`]).
    LauncherEntityId,
    /// `user.id`.
    UserId,
    /// `user.name`.
    UserName,
    /// `group.id`.
    GroupId,
    /// `user.audit.id` (the audit login uid; Sysmon's `LogonId`).
    LoginUid,
    /// `source.ip`.
    SourceIp,
    /// `source.port`.
    SourcePort,
    /// `destination.ip`.
    DestinationIp,
    /// `destination.port`.
    DestinationPort,
    /// `destination.domain`.
    DestinationDomain,
    /// `network.transport` (`tcp`, `udp`).
    Transport,
    /// `network.direction` (`egress` for connect, `ingress` for accept).
    Direction,
    /// Sysmon's `Initiated`: `true` for connect, `false` for accept.
    Initiated,
    /// `file.path`.
    FilePath,
    /// `sensor.stdio.stdin`: what fd 0 was at exec (`socket`, `pipe`, `tty`, ...).
    Stdin,
    /// `sensor.stdio.stdout`.
    Stdout,
    /// `sensor.stdio.stderr`.
    Stderr,
    /// `sensor.stdio.parent_stdin`: what the parent's fd 0 was at its own last exec (tells a
    /// reverse shell from the shells it runs, which inherit its socket).
    ParentStdin,
    /// `sensor.exec.memfd`: the executable is a memfd.
    ExeMemfd,
    /// `sensor.exec.deleted`: the executable was unlinked.
    ExeDeleted,
    /// `container.id`.
    ContainerId,
    /// `host.name`.
    HostName,
}

/// Sigma (Sysmon for Linux) field names and the field each one reads.
pub const SIGMA_NAMES: &[(&str, Field)] = &[
    ("Image", Field::Executable),
    ("OriginalFileName", Field::Name),
    ("CommandLine", Field::CommandLine),
    ("ParentImage", Field::ParentExecutable),
    ("ParentCommandLine", Field::ParentCommandLine),
    ("User", Field::UserName),
    ("LogonId", Field::LoginUid),
    ("CurrentDirectory", Field::WorkingDirectory),
    ("ProcessId", Field::Pid),
    ("ParentProcessId", Field::ParentPid),
    ("ProcessGuid", Field::EntityId),
    ("ParentProcessGuid", Field::ParentEntityId),
    ("DestinationIp", Field::DestinationIp),
    ("DestinationPort", Field::DestinationPort),
    ("DestinationHostname", Field::DestinationDomain),
    ("SourceIp", Field::SourceIp),
    ("SourcePort", Field::SourcePort),
    ("Initiated", Field::Initiated),
    ("Protocol", Field::Transport),
    ("TargetFilename", Field::FilePath),
];

/// ECS names (as written by `sensor run --events`) and the field each one reads.
pub const ECS_NAMES: &[(&str, Field)] = &[
    ("@timestamp", Field::Timestamp),
    ("event.action", Field::EventAction),
    ("process.executable", Field::Executable),
    ("process.name", Field::Name),
    ("process.command_line", Field::CommandLine),
    ("process.args", Field::Args),
    ("process.args_count", Field::ArgsCount),
    ("process.pid", Field::Pid),
    ("process.entity_id", Field::EntityId),
    ("process.working_directory", Field::WorkingDirectory),
    ("process.parent.executable", Field::ParentExecutable),
    ("process.parent.name", Field::ParentName),
    ("process.parent.command_line", Field::ParentCommandLine),
    ("process.parent.pid", Field::ParentPid),
    ("process.parent.entity_id", Field::ParentEntityId),
    ("sensor.launcher.entity_id", Field::LauncherEntityId),
    ("user.id", Field::UserId),
    ("user.name", Field::UserName),
    ("group.id", Field::GroupId),
    ("user.audit.id", Field::LoginUid),
    ("source.ip", Field::SourceIp),
    ("source.port", Field::SourcePort),
    ("destination.ip", Field::DestinationIp),
    ("destination.port", Field::DestinationPort),
    ("destination.domain", Field::DestinationDomain),
    ("network.transport", Field::Transport),
    ("network.direction", Field::Direction),
    ("file.path", Field::FilePath),
    ("sensor.stdio.stdin", Field::Stdin),
    ("sensor.stdio.stdout", Field::Stdout),
    ("sensor.stdio.stderr", Field::Stderr),
    ("sensor.stdio.parent_stdin", Field::ParentStdin),
    ("sensor.exec.memfd", Field::ExeMemfd),
    ("sensor.exec.deleted", Field::ExeDeleted),
    ("container.id", Field::ContainerId),
    ("host.name", Field::HostName),
];

impl Field {
    /// Number of fields (ids are `0..COUNT` as `usize`).
    pub const COUNT: usize = Field::HostName as usize + 1;

    /// Resolves a rule's field name (Sigma or ECS spelling). Sigma names are case-sensitive in
    /// the specification; we accept them exactly as the SigmaHQ rules write them.
    pub fn resolve(name: &str) -> Option<Field> {
        SIGMA_NAMES
            .iter()
            .chain(ECS_NAMES)
            .find(|(n, _)| *n == name)
            .map(|&(_, f)| f)
    }

    /// The ECS path this field is stored under in a recorded event.
    pub fn ecs_path(self) -> &'static str {
        ECS_NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map(|&(n, _)| n)
            // Initiated has no ECS twin of its own: it is derived from event.action.
            .unwrap_or("event.action")
    }
}

/// Resolves a field name on the hot path: a `match` the compiler turns into length and byte
/// comparisons, with no hashing and no allocation. Must agree with the tables (a test checks).
pub fn resolve_fast(name: &str) -> Option<Field> {
    Some(match name {
        "Image" => Field::Executable,
        "OriginalFileName" => Field::Name,
        "CommandLine" => Field::CommandLine,
        "ParentImage" => Field::ParentExecutable,
        "ParentCommandLine" => Field::ParentCommandLine,
        "User" => Field::UserName,
        "LogonId" => Field::LoginUid,
        "CurrentDirectory" => Field::WorkingDirectory,
        "ProcessId" => Field::Pid,
        "ParentProcessId" => Field::ParentPid,
        "ProcessGuid" => Field::EntityId,
        "ParentProcessGuid" => Field::ParentEntityId,
        "DestinationIp" => Field::DestinationIp,
        "DestinationPort" => Field::DestinationPort,
        "DestinationHostname" => Field::DestinationDomain,
        "SourceIp" => Field::SourceIp,
        "SourcePort" => Field::SourcePort,
        "Initiated" => Field::Initiated,
        "Protocol" => Field::Transport,
        "TargetFilename" => Field::FilePath,
        "@timestamp" => Field::Timestamp,
        "event.action" => Field::EventAction,
        "process.executable" => Field::Executable,
        "process.name" => Field::Name,
        "process.command_line" => Field::CommandLine,
        "process.args" => Field::Args,
        "process.args_count" => Field::ArgsCount,
        "process.pid" => Field::Pid,
        "process.entity_id" => Field::EntityId,
        "process.working_directory" => Field::WorkingDirectory,
        "process.parent.executable" => Field::ParentExecutable,
        "process.parent.name" => Field::ParentName,
        "process.parent.command_line" => Field::ParentCommandLine,
        "process.parent.pid" => Field::ParentPid,
        "process.parent.entity_id" => Field::ParentEntityId,
        "sensor.launcher.entity_id" => Field::LauncherEntityId,
        "user.id" => Field::UserId,
        "user.name" => Field::UserName,
        "group.id" => Field::GroupId,
        "user.audit.id" => Field::LoginUid,
        "source.ip" => Field::SourceIp,
        "source.port" => Field::SourcePort,
        "destination.ip" => Field::DestinationIp,
        "destination.port" => Field::DestinationPort,
        "destination.domain" => Field::DestinationDomain,
        "network.transport" => Field::Transport,
        "network.direction" => Field::Direction,
        "file.path" => Field::FilePath,
        "sensor.stdio.stdin" => Field::Stdin,
        "sensor.stdio.stdout" => Field::Stdout,
        "sensor.stdio.stderr" => Field::Stderr,
        "sensor.stdio.parent_stdin" => Field::ParentStdin,
        "sensor.exec.memfd" => Field::ExeMemfd,
        "sensor.exec.deleted" => Field::ExeDeleted,
        "container.id" => Field::ContainerId,
        "host.name" => Field::HostName,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_and_ecs_names_meet() {
        assert_eq!(Field::resolve("Image"), Some(Field::Executable));
        assert_eq!(
            Field::resolve("process.executable"),
            Some(Field::Executable)
        );
        assert_eq!(Field::resolve("TargetFilename"), Some(Field::FilePath));
        assert_eq!(Field::resolve("image"), None);
        assert_eq!(Field::Executable.ecs_path(), "process.executable");
        for (name, _) in SIGMA_NAMES.iter().chain(ECS_NAMES) {
            assert_eq!(resolve_fast(name), Field::resolve(name), "{name}");
        }
        assert_eq!(resolve_fast("commandline"), None);
    }

    #[test]
    fn count_covers_every_field() {
        for (_, f) in SIGMA_NAMES.iter().chain(ECS_NAMES) {
            assert!((*f as usize) < Field::COUNT, "{f:?}");
        }
    }

    #[test]
    fn every_field_has_an_ecs_path_except_derived_ones() {
        for (_, f) in SIGMA_NAMES.iter().chain(ECS_NAMES) {
            let path = f.ecs_path();
            assert!(Field::resolve(path).is_some(), "{f:?} -> {path}");
        }
    }
}
