use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::detect::tests::{engine, exec, run, titles};

const RULES: &str = r#"
title: Two discovery commands
id: 7d4c6a52-0000-4000-8000-000000000001
correlation:
    type: event_count
    rules:
        - 7d4c6a52-0000-4000-8000-000000000002
    group-by:
        - User
    timespan: 60s
    condition:
        gte: 3
---
title: Discovery command
id: 7d4c6a52-0000-4000-8000-000000000002
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image: /usr/bin/id
    condition: selection
"#;

fn id(t: f64) -> Value {
    exec(
        t,
        100,
        "/usr/bin/id",
        "id",
        json!({"user": {"name": "mallory"}}),
    )
}

fn dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sensor-state-{tag}-{}", std::process::id()))
}

#[test]
fn a_window_half_way_survives_an_engine_swap() {
    let mut old = engine(RULES);
    assert!(run(&mut old, &[id(1.0), id(2.0)]).is_empty());
    let mut new = engine(RULES);
    assert!(new.import_state(old.export_state()));
    assert_eq!(
        titles(&run(&mut new, &[id(3.0)])),
        ["Two discovery commands"]
    );
    // Without the carried state, the third event alone is not enough.
    let mut fresh = engine(RULES);
    assert!(run(&mut fresh, &[id(3.0)]).is_empty());
}

#[test]
fn state_is_saved_atomically_restored_once_and_refused_when_old() {
    let dir = dir("roundtrip");
    let _ = std::fs::remove_dir_all(&dir);
    let store = StateStore::open(&dir.join("nested")).expect("open creates the directory");
    assert!(
        store
            .take(Duration::from_secs(60))
            .expect("empty")
            .is_none()
    );

    let mut old = engine(RULES);
    run(&mut old, &[id(1.0), id(2.0)]);
    store.save(old.export_state()).expect("save");
    // No temporary file is left beside the state file.
    let names: Vec<_> = std::fs::read_dir(dir.join("nested"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, [FILE_NAME]);

    let snapshot = store
        .take(Duration::from_secs(60))
        .expect("readable")
        .expect("present");
    let mut new = engine(RULES);
    assert!(new.import_state(snapshot));
    assert_eq!(
        titles(&run(&mut new, &[id(3.0)])),
        ["Two discovery commands"]
    );
    assert!(
        store.take(Duration::from_secs(60)).expect("gone").is_none(),
        "a snapshot is used once"
    );

    store.save_at(old.export_state(), 1_000).expect("save");
    assert!(matches!(
        store.take_at(Duration::from_secs(60), 1_061),
        Err(StateError::TooOld { age_secs: 61, .. })
    ));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_damaged_state_file_is_a_clear_error_and_is_removed() {
    let dir = dir("damaged");
    let store = StateStore::open(&dir).expect("open");
    std::fs::write(store.path(), b"{\"saved_at\": 1, \"snapshot\": [\x1b\n").expect("write");
    let err = store.take(Duration::from_secs(60)).expect_err("refused");
    assert!(matches!(err, StateError::Format { .. }), "{err}");
    assert!(!err.to_string().contains('\x1b'));
    assert!(!store.path().exists());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
