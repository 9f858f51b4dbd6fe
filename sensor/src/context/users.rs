//! User and group names from the host's `/etc/passwd` and `/etc/group`, parsed directly (no
//! NSS: the sensor must not load LDAP/SSSD modules or block on a directory server) and cached.
//! The files are re-read when their modification time or size changes, checked at most every
//! [`CHECK_INTERVAL`], never per event.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tracing::debug;

/// How often the files' metadata is checked for changes.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(3);

/// One name database (`passwd` or `group`): id → name.
#[derive(Debug)]
struct NameFile {
    path: PathBuf,
    stamp: Option<(SystemTime, u64)>,
    names: HashMap<u32, Arc<str>>,
}

impl NameFile {
    fn new(path: PathBuf) -> NameFile {
        let mut file = NameFile {
            path,
            stamp: None,
            names: HashMap::new(),
        };
        file.reload_if_changed();
        file
    }

    fn reload_if_changed(&mut self) {
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        if stamp == self.stamp && stamp.is_some() {
            return;
        }
        self.stamp = stamp;
        self.names = match std::fs::read(&self.path) {
            Ok(bytes) => parse(&bytes),
            Err(err) => {
                debug!(path = %self.path.display(), %err, "name database unreadable");
                HashMap::new()
            }
        };
    }
}

/// Parses passwd/group lines (`name:x:id:...`): the first name wins for a duplicated id, as
/// with `getpwuid`. Malformed lines and NIS `+`/`-` entries are skipped.
fn parse(bytes: &[u8]) -> HashMap<u32, Arc<str>> {
    let mut names = HashMap::new();
    for line in bytes.split(|&b| b == b'\n') {
        let mut fields = line.split(|&b| b == b':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if name.is_empty()
            || name.starts_with(['#', '+', '-'])
            || name.chars().any(char::is_control)
        {
            continue;
        }
        let Some(id) = std::str::from_utf8(id)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        else {
            continue;
        };
        names.entry(id).or_insert_with(|| Arc::from(name));
    }
    names
}

/// Cached `passwd` and `group` lookups.
#[derive(Debug)]
pub struct Users {
    passwd: NameFile,
    group: NameFile,
    checked: Instant,
}

impl Users {
    /// Reads `<root>/etc/passwd` and `<root>/etc/group` (`root` is `/` on a host; a host mount
    /// such as `/host` when the sensor runs in a container).
    pub fn load(root: &Path) -> Users {
        Users {
            passwd: NameFile::new(root.join("etc/passwd")),
            group: NameFile::new(root.join("etc/group")),
            checked: Instant::now(),
        }
    }

    /// Re-reads the files if they changed and the last check is older than [`CHECK_INTERVAL`].
    pub fn refresh(&mut self) {
        if self.checked.elapsed() < CHECK_INTERVAL {
            return;
        }
        self.checked = Instant::now();
        self.passwd.reload_if_changed();
        self.group.reload_if_changed();
    }

    /// The user name of a uid.
    pub fn user(&self, uid: u32) -> Option<Arc<str>> {
        self.passwd.names.get(&uid).cloned()
    }

    /// The group name of a gid.
    pub fn group(&self, gid: u32) -> Option<Arc<str>> {
        self.group.names.get(&gid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd_and_group_lines() {
        let names = parse(
            b"root:x:0:0:root:/root:/bin/bash\n\
              # comment:x:5:\n\
              +nis::7:\n\
              bad line\n\
              toor:x:0:0::/:/bin/sh\n\
              daemon:x:notanumber:1\n\
              \xff\xfe:x:9:9\n\
              sshd:x:105:65534::/run/sshd:/usr/sbin/nologin",
        );
        assert_eq!(names.get(&0).map(|n| &**n), Some("root"));
        assert_eq!(names.get(&105).map(|n| &**n), Some("sshd"));
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn reloads_when_the_file_changes() {
        let dir = std::env::temp_dir().join(format!("sensor-users-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).expect("dir");
        std::fs::write(dir.join("etc/passwd"), "alice:x:1000:1000::/:/bin/sh\n").expect("w");
        std::fs::write(dir.join("etc/group"), "staff:x:50:\n").expect("w");
        let mut users = Users::load(&dir);
        assert_eq!(users.user(1000).as_deref(), Some("alice"));
        assert_eq!(users.group(50).as_deref(), Some("staff"));
        assert_eq!(users.user(1001), None);

        std::fs::write(
            dir.join("etc/passwd"),
            "alice:x:1000:1000::/:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n",
        )
        .expect("w");
        users.refresh();
        assert_eq!(users.user(1001), None, "not re-checked within the interval");
        users.checked -= CHECK_INTERVAL;
        users.refresh();
        assert_eq!(users.user(1001).as_deref(), Some("bob"));
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}
