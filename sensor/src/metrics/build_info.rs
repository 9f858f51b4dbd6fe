//! What `sensor_build_info` reports: our version, the running kernel and the aya version we
//! were built with.

/// Labels of `sensor_build_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// The sensor's crate version.
    pub version: String,
    /// The running kernel's release (`uname -r`).
    pub kernel: String,
    /// The aya version compiled in (from `Cargo.lock`, via `build.rs`).
    pub aya: String,
}

impl BuildInfo {
    /// The values for this binary on this host.
    pub fn current() -> BuildInfo {
        BuildInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            kernel: kernel_release().unwrap_or_else(|| "unknown".to_owned()),
            aya: option_env!("SENSOR_AYA_VERSION")
                .unwrap_or("unknown")
                .to_owned(),
        }
    }
}

/// The kernel release from uname(2).
fn kernel_release() -> Option<String> {
    // SAFETY: utsname is plain data; uname fills it and NUL-terminates every field.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    let bytes: Vec<u8> = uts
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(crate::text::escape(&bytes).0.into_owned())
}
