//! Correlation state that outlives the process: written at shutdown, read back at start.
//!
//! A Sigma correlation half-way through its window (2 of 3 discovery commands seen) would
//! otherwise start again after a restart, and an intruder who can make the sensor restart
//! could split an attack across the gap. The snapshot is rsigma's own export (keyed by the
//! correlations' stable ids, so a changed rule set keeps what still applies), wrapped with the
//! time it was saved; it is written atomically (temporary file, fsync, rename) and used once:
//! it is removed after it is read, so a crash later never brings back stale windows.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rsigma_eval::CorrelationSnapshot;
use serde::{Deserialize, Serialize};

/// File name inside the state directory.
pub const FILE_NAME: &str = "correlation-state.json";

/// Why the state could not be saved or restored.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The directory or file could not be created, read, written or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a snapshot this build understands.
    #[error("{path}: not a correlation snapshot: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The snapshot is older than allowed.
    #[error("{path}: saved {age_secs} s ago, more than the {max_secs} s allowed")]
    TooOld {
        /// The file.
        path: PathBuf,
        /// Its age.
        age_secs: i64,
        /// The limit.
        max_secs: u64,
    },
}

/// What is on disk.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    /// Wall-clock time of the save, in Unix seconds.
    saved_at: i64,
    snapshot: CorrelationSnapshot,
}

/// The state file of one state directory.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn now_secs() -> i64 {
    i64::try_from(crate::time::now_unix_ns() / 1_000_000_000).unwrap_or(0)
}

impl StateStore {
    /// The store in `dir`, created (mode 0700) if missing.
    pub fn open(dir: &Path) -> Result<StateStore, StateError> {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        Ok(StateStore {
            dir: dir.to_path_buf(),
        })
    }

    /// The state file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Writes `snapshot` atomically: readers see the old file or the whole new one.
    pub fn save(&self, snapshot: CorrelationSnapshot) -> Result<(), StateError> {
        self.save_at(snapshot, now_secs())
    }

    fn save_at(&self, snapshot: CorrelationSnapshot, saved_at: i64) -> Result<(), StateError> {
        let path = self.path();
        let tmp = self
            .dir
            .join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        let bytes =
            serde_json::to_vec(&Saved { saved_at, snapshot }).map_err(|e| StateError::Format {
                path: path.clone(),
                message: e.to_string(),
            })?;
        let written = (|| {
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            // The rename itself is durable once the directory is synced.
            std::fs::File::open(&self.dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(io(&path))
    }

    /// The saved snapshot, if there is one no older than `max_age`; the file is removed
    /// whether it is used or refused, so it is never applied twice.
    pub fn take(&self, max_age: Duration) -> Result<Option<CorrelationSnapshot>, StateError> {
        self.take_at(max_age, now_secs())
    }

    fn take_at(
        &self,
        max_age: Duration,
        now: i64,
    ) -> Result<Option<CorrelationSnapshot>, StateError> {
        let path = self.path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io(&path)(err)),
        };
        std::fs::remove_file(&path).map_err(io(&path))?;
        let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| StateError::Format {
            path: path.clone(),
            message: crate::text::escape(e.to_string().as_bytes()).0.into_owned(),
        })?;
        let age = now.saturating_sub(saved.saved_at);
        let max_secs = max_age.as_secs();
        if age > i64::try_from(max_secs).unwrap_or(i64::MAX) {
            return Err(StateError::TooOld {
                path,
                age_secs: age,
                max_secs,
            });
        }
        Ok(Some(saved.snapshot))
    }
}

#[cfg(test)]
mod tests;
