//! Unit tests of the detection engine (replay-based, unprivileged).
