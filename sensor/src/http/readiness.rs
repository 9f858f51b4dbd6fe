//! Readiness shared between the pipeline (which sets it) and `/readyz` (which reports it).

use std::sync::atomic::{AtomicU8, Ordering};

/// The sensor's lifecycle as `/readyz` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Loading and attaching the eBPF programs: not ready yet.
    Loading,
    /// Programs attached and ring buffers being read.
    Ready,
    /// A fatal error stopped the reader: not ready, and will not become ready.
    Failed,
}

impl State {
    /// The word `/readyz` answers with.
    pub fn name(self) -> &'static str {
        match self {
            State::Loading => "loading",
            State::Ready => "ready",
            State::Failed => "failed",
        }
    }
}

/// A [`State`] readable and settable from any thread.
#[derive(Debug)]
pub struct Readiness(AtomicU8);

impl Readiness {
    /// Starts in [`State::Loading`].
    pub fn new() -> Readiness {
        Readiness(AtomicU8::new(State::Loading as u8))
    }

    /// Moves to `state`. [`State::Failed`] is final: later calls do not leave it.
    pub fn set(&self, state: State) {
        let _ = self
            .0
            .try_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current != State::Failed as u8).then_some(state as u8)
            });
    }

    /// The current state.
    pub fn get(&self) -> State {
        match self.0.load(Ordering::Acquire) {
            x if x == State::Ready as u8 => State::Ready,
            x if x == State::Failed as u8 => State::Failed,
            _ => State::Loading,
        }
    }
}

impl Default for Readiness {
    fn default() -> Readiness {
        Readiness::new()
    }
}

#[cfg(test)]
mod tests {
    use super::{Readiness, State};

    #[test]
    fn starts_loading_becomes_ready_and_failed_is_final() {
        let r = Readiness::new();
        assert_eq!(r.get(), State::Loading);
        r.set(State::Ready);
        assert_eq!(r.get(), State::Ready);
        r.set(State::Failed);
        r.set(State::Ready);
        assert_eq!(r.get(), State::Failed);
    }
}
