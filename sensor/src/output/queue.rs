//! The bounded queue between the pipeline and one output thread.
//!
//! Pushing never blocks beyond a short mutex hold: when the queue is full, the document with
//! the lowest priority goes (events before alerts, then alerts from `informational` up to
//! `critical`). Among equals the newcomer is refused, so what is already queued keeps its order
//! and no scan is needed in the common all-events overload. The shed document is handed back
//! to the caller to be counted.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::Doc;

/// Number of priority levels (events 0, alerts 1-5).
const LEVELS: usize = 6;
/// Queued events that wake a sleeping consumer without waiting for [`Queue::wake`].
const WAKE_AT: usize = 256;

/// A bounded multi-producer, single-consumer queue that sheds by priority.
pub struct Queue {
    state: Mutex<State>,
    ready: Condvar,
    capacity: usize,
}

struct State {
    items: VecDeque<Doc>,
    per_level: [usize; LEVELS],
    closed: bool,
    /// The consumer sleeps on `ready`. A notify is a futex syscall even with no sleeper, so
    /// pushes signal only then: a busy consumer takes what arrived on its next pop anyway.
    consumer_waiting: bool,
}

impl Queue {
    /// A queue holding at most `capacity` documents (at least 1).
    pub fn new(capacity: usize) -> Queue {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.clamp(1, 4096)),
                per_level: [0; LEVELS],
                closed: false,
                consumer_waiting: false,
            }),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking output thread must not take the pipeline down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `doc`; returns the document shed to make room (possibly `doc` itself), if any.
    /// A closed queue refuses everything. An alert wakes a sleeping consumer; an event only
    /// once [`WAKE_AT`] documents wait, otherwise the producer calls [`Queue::wake`] after its
    /// batch.
    pub fn push(&self, doc: Doc) -> Option<Doc> {
        let mut state = self.lock();
        if state.closed {
            return Some(doc);
        }
        let mut shed = None;
        if state.items.len() >= self.capacity {
            let lowest = state.per_level.iter().position(|n| *n > 0).unwrap_or(0);
            if lowest >= usize::from(doc.priority) {
                return Some(doc);
            }
            let at = state
                .items
                .iter()
                .position(|d| usize::from(d.priority) == lowest);
            shed = at.and_then(|at| state.items.remove(at));
            if let Some(victim) = &shed {
                state.uncount(victim.priority);
            }
        }
        // Alerts go out at once; events wait for the producer's `wake` at the end of its batch,
        // unless a writer's batch worth is already waiting.
        let urgent = doc.priority > 0 || state.items.len() + 1 >= WAKE_AT;
        state.count(doc.priority);
        state.items.push_back(doc);
        let wake = urgent && std::mem::take(&mut state.consumer_waiting);
        drop(state);
        if wake {
            self.ready.notify_one();
        }
        shed
    }

    /// Takes up to `max` documents in order, waiting up to `wait` for the first one. Returns
    /// `None` once the queue is closed and empty.
    pub fn pop_batch(&self, max: usize, wait: Duration) -> Option<Vec<Doc>> {
        let mut state = self.lock();
        if state.items.is_empty() && !state.closed {
            state.consumer_waiting = true;
            state = self
                .ready
                .wait_timeout(state, wait)
                .map_or_else(|e| e.into_inner().0, |(s, _)| s);
            state.consumer_waiting = false;
        }
        if state.items.is_empty() && state.closed {
            return None;
        }
        let n = state.items.len().min(max.max(1));
        let batch: Vec<Doc> = state.items.drain(..n).collect();
        for d in &batch {
            state.uncount(d.priority);
        }
        Some(batch)
    }

    /// Wakes the consumer if it sleeps while documents wait (see [`Queue::push`]).
    pub fn wake(&self) {
        let mut state = self.lock();
        let wake = !state.items.is_empty() && std::mem::take(&mut state.consumer_waiting);
        drop(state);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Refuses new documents and wakes the consumer; what is queued is still delivered.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Documents waiting.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl State {
    fn count(&mut self, priority: u8) {
        if let Some(n) = self.per_level.get_mut(usize::from(priority)) {
            *n += 1;
        }
    }

    fn uncount(&mut self, priority: u8) {
        if let Some(n) = self.per_level.get_mut(usize::from(priority)) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::output::Stream;
    use bytes::Bytes;

    fn doc(priority: u8, tag: &'static str) -> Doc {
        let stream = if priority == 0 {
            Stream::Events
        } else {
            Stream::Alerts
        };
        Doc {
            stream,
            priority,
            json: Bytes::from_static(tag.as_bytes()),
        }
    }

    fn tags(q: &Queue) -> Vec<Bytes> {
        q.pop_batch(100, Duration::ZERO)
            .unwrap()
            .into_iter()
            .map(|d| d.json)
            .collect()
    }

    #[test]
    fn sheds_events_then_low_alerts_never_higher() {
        let q = Queue::new(3);
        assert!(q.push(doc(0, "e1")).is_none());
        assert!(q.push(doc(4, "high")).is_none());
        assert!(q.push(doc(0, "e2")).is_none());
        // Full: a low alert evicts the oldest event.
        assert_eq!(q.push(doc(2, "low")).unwrap().json, "e1");
        // An event is refused when it is among the lowest.
        assert_eq!(q.push(doc(0, "e3")).unwrap().json, "e3");
        // A critical alert evicts the remaining event, then the low alert.
        assert_eq!(q.push(doc(5, "crit1")).unwrap().json, "e2");
        assert_eq!(q.push(doc(5, "crit2")).unwrap().json, "low");
        // Only high and critical remain: a medium alert is refused.
        assert_eq!(q.push(doc(3, "med")).unwrap().json, "med");
        assert_eq!(tags(&q), ["high", "crit1", "crit2"]);
    }

    #[test]
    fn closed_queue_drains_then_ends() {
        let q = Queue::new(4);
        q.push(doc(0, "a"));
        q.close();
        assert!(q.push(doc(5, "late")).is_some());
        assert_eq!(tags(&q), ["a"]);
        assert!(q.pop_batch(10, Duration::from_millis(1)).is_none());
    }

    #[test]
    fn a_sleeping_consumer_is_woken_by_a_push() {
        let q = std::sync::Arc::new(Queue::new(4));
        let consumer = {
            let q = std::sync::Arc::clone(&q);
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let batch = q.pop_batch(10, Duration::from_secs(30)).unwrap();
                (batch.len(), started.elapsed())
            })
        };
        // Let the consumer reach its wait, so the push has to signal it.
        while !q.lock().consumer_waiting {
            std::thread::yield_now();
        }
        q.push(doc(5, "alert"));
        let (n, waited) = consumer.join().unwrap();
        assert_eq!(n, 1);
        assert!(waited < Duration::from_secs(10), "woken after {waited:?}");
    }

    #[test]
    fn queued_events_wake_the_consumer_at_the_producers_wake() {
        let q = std::sync::Arc::new(Queue::new(1024));
        let consumer = {
            let q = std::sync::Arc::clone(&q);
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let batch = q.pop_batch(100, Duration::from_secs(30)).unwrap();
                (batch.len(), started.elapsed())
            })
        };
        while !q.lock().consumer_waiting {
            std::thread::yield_now();
        }
        for i in 0..3 {
            q.push(doc(0, if i == 0 { "a" } else { "b" }));
        }
        // Events alone did not signal: the consumer still sleeps.
        assert!(q.lock().consumer_waiting);
        q.wake();
        let (n, waited) = consumer.join().unwrap();
        assert_eq!(n, 3, "one wake-up, the whole batch");
        assert!(waited < Duration::from_secs(10), "woken after {waited:?}");
    }
}
