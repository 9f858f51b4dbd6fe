//! The host description every record carries: name, machine id, OS and kernel, read once at
//! start.

use std::path::Path;

use super::model::HostInfo;

/// Reads the host description. `root` is `/` on a host, or where the host's filesystem is
/// mounted when the sensor runs in a container (the kernel and host name come from the
/// kernel, which is the host's either way).
pub fn detect(root: &Path) -> HostInfo {
    let (kernel, architecture, nodename) = uname();
    let id = ["etc/machine-id", "var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| read_trimmed(&root.join(p)));
    let os = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| std::fs::read_to_string(root.join(p)).ok())
        .unwrap_or_default();
    let os_field = |key: &str| os_release_field(&os, key);
    HostInfo {
        name: read_trimmed(Path::new("/proc/sys/kernel/hostname")).unwrap_or(nodename),
        id,
        os_name: os_field("NAME"),
        os_version: os_field("VERSION_ID"),
        os_platform: os_field("ID"),
        os_family: os_field("ID_LIKE")
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .or_else(|| os_field("ID")),
        os_full: os_field("PRETTY_NAME"),
        kernel,
        architecture,
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// One `KEY=value` of an os-release file, with shell quoting removed.
fn os_release_field(content: &str, key: &str) -> Option<String> {
    content.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix('=')?.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (!value.is_empty()).then(|| value.replace("\\\"", "\""))
    })
}

/// Kernel release, machine and node name from uname(2).
fn uname() -> (String, String, String) {
    // SAFETY: utsname is plain bytes; uname fills it and cannot fail with a valid pointer.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&raw mut uts) } != 0 {
        return (String::new(), String::new(), String::new());
    }
    let text = |field: &[libc::c_char]| {
        let bytes: Vec<u8> = field
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c.cast_unsigned())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (text(&uts.release), text(&uts.machine), text(&uts.nodename))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_os_release() {
        let os = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME='Debian GNU/Linux'\n\
                  VERSION_ID=\"12\"\nID=debian\nIDX=nope\nID_LIKE=\"rhel fedora\"\n";
        assert_eq!(
            os_release_field(os, "NAME").as_deref(),
            Some("Debian GNU/Linux")
        );
        assert_eq!(os_release_field(os, "ID").as_deref(), Some("debian"));
        assert_eq!(os_release_field(os, "VERSION_ID").as_deref(), Some("12"));
        assert_eq!(
            os_release_field(os, "ID_LIKE").as_deref(),
            Some("rhel fedora")
        );
        assert_eq!(os_release_field(os, "MISSING"), None);
    }

    #[test]
    fn detects_this_host() {
        let host = detect(Path::new("/"));
        assert!(!host.kernel.is_empty());
        assert!(!host.architecture.is_empty());
        assert!(!host.name.is_empty());
    }
}
