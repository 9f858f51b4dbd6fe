//! Where droppers put the programs they run: the only places whose executables are watched
//! for deletion.
//!
//! The list (documented in `docs/rules.md`, "Running program whose executable was deleted"):
//!
//! - temporary directories: `/tmp`, `/var/tmp`, `/dev/shm`;
//! - runtime directories: `/run`, `/var/run`;
//! - home directories: `/home/*`, `/root`;
//! - any path with a hidden component (`/usr/lib/.x/agent`, `/opt/app/.cache/run`);
//! - any path below a world-writable directory (checked on the host, cached per directory).
//!
//! System locations (`/usr`, `/opt`, `/lib`, ...) are left out on purpose: a package upgrade
//! replaces the files of daemons that keep running, and every one of them then reads
//! `(deleted)` in `/proc/PID/exe`. Watching only dropper locations keeps that noise away.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// Directory prefixes droppers favour, each with the kind of place it is.
const PREFIXES: &[(&[u8], Place)] = &[
    (b"/tmp/", Place::Temp),
    (b"/var/tmp/", Place::Temp),
    (b"/dev/shm/", Place::Temp),
    (b"/run/", Place::Runtime),
    (b"/var/run/", Place::Runtime),
    (b"/home/", Place::Home),
    (b"/root/", Place::Home),
];

/// Most directories whose world-writable verdict is remembered (the cache is emptied above).
const MAX_CACHED_DIRS: usize = 4096;

/// Why an executable's location is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A temporary directory (`/tmp`, `/var/tmp`, `/dev/shm`).
    Temp,
    /// A runtime directory (`/run`, `/var/run`).
    Runtime,
    /// A home directory.
    Home,
    /// A path component starting with a dot.
    Hidden,
    /// Below a world-writable directory.
    WorldWritable,
}

impl Place {
    /// A short stable name (ECS output and docs).
    pub fn name(self) -> &'static str {
        match self {
            Place::Temp => "temp",
            Place::Runtime => "runtime",
            Place::Home => "home",
            Place::Hidden => "hidden",
            Place::WorldWritable => "world-writable",
        }
    }
}

/// The place `path` is in, from its text alone (no filesystem access). Hidden components win
/// over the prefix, so `/tmp/.x/run` is [`Place::Hidden`].
pub fn static_place(path: &[u8]) -> Option<Place> {
    if !path.starts_with(b"/") {
        return None;
    }
    let hidden = path
        .split(|&b| b == b'/')
        .any(|part| part.first() == Some(&b'.') && part != b"." && part != b"..");
    if hidden {
        return Some(Place::Hidden);
    }
    PREFIXES
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|&(_, place)| place)
}

/// Classifies executables, remembering which directories are world-writable.
#[derive(Debug)]
pub struct Places {
    host_root: PathBuf,
    /// Directory (as the kernel reported it) -> it or an ancestor is world-writable.
    dirs: HashMap<Vec<u8>, bool>,
}

impl Places {
    /// Classifies paths of the host whose root filesystem is at `host_root`.
    pub fn new(host_root: PathBuf) -> Places {
        Places {
            host_root,
            dirs: HashMap::new(),
        }
    }

    /// Why `executable` is watched, or `None` for a location droppers do not use.
    pub fn classify(&mut self, executable: &[u8]) -> Option<Place> {
        if let Some(place) = static_place(executable) {
            return Some(place);
        }
        if !executable.starts_with(b"/") {
            return None;
        }
        let dir = parent(executable)?;
        if let Some(&ww) = self.dirs.get(dir) {
            return ww.then_some(Place::WorldWritable);
        }
        let ww = self.world_writable_chain(dir);
        if self.dirs.len() >= MAX_CACHED_DIRS {
            self.dirs.clear();
        }
        self.dirs.insert(dir.to_vec(), ww);
        ww.then_some(Place::WorldWritable)
    }

    /// Whether `dir` or one of its ancestors (below `/`) is writable by everyone. A directory
    /// that cannot be read counts as not world-writable.
    fn world_writable_chain(&self, dir: &[u8]) -> bool {
        let mut cur = Some(dir);
        while let Some(d) = cur.filter(|d| !d.is_empty() && *d != b"/") {
            let rel = OsStr::from_bytes(d.strip_prefix(b"/").unwrap_or(d));
            let writable = std::fs::metadata(self.host_root.join(rel))
                .is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o002 != 0);
            if writable {
                return true;
            }
            cur = parent(d);
        }
        false
    }
}

/// The directory part of an absolute path (`/` for a top-level entry), `None` for `/` itself.
fn parent(path: &[u8]) -> Option<&[u8]> {
    let cut = path.iter().rposition(|&b| b == b'/')?;
    match cut {
        0 if path.len() > 1 => Some(b"/"),
        0 => None,
        n => path.get(..n),
    }
}
