use super::{BuildInfo, KERNEL_DROP_REASON, Metrics};

fn metrics() -> Metrics {
    Metrics::new(&BuildInfo {
        version: "1.2.3".into(),
        kernel: "6.18.0-test".into(),
        aya: "0.16.0".into(),
    })
    .expect("metrics")
}

/// The value of the sample line `series` (exact series text before the value).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn known_series_exist_at_zero_before_any_event() {
    let text = metrics().encode().expect("encode");
    for t in super::EVENT_TYPES {
        assert_eq!(
            sample(&text, &format!("sensor_events_total{{type=\"{t}\"}}")),
            Some(0.0)
        );
        assert_eq!(
            sample(
                &text,
                &format!(
                    "sensor_events_dropped_total{{reason=\"{KERNEL_DROP_REASON}\",ring=\"events\",type=\"{t}\"}}"
                )
            ),
            Some(0.0),
            "{text}"
        );
    }
    assert_eq!(
        sample(
            &text,
            "sensor_build_info{aya=\"0.16.0\",kernel=\"6.18.0-test\",version=\"1.2.3\"}"
        ),
        Some(1.0)
    );
    assert!(text.contains("process_resident_memory_bytes"), "{text}");
    assert!(text.contains("process_open_fds"), "{text}");
}

#[test]
fn events_are_counted_per_type_and_unknown_kinds_are_not_lost() {
    let m = metrics();
    m.events_received("exec", 3);
    m.events_received("open", 1);
    m.events_received("bogus", 2);
    assert_eq!(m.events_count("exec"), 3);
    assert_eq!(m.events_count("open"), 1);
    assert_eq!(m.events_count("unknown"), 2);
    let text = m.encode().expect("encode");
    assert!(!text.contains("bogus"), "label values must stay bounded");
}

#[test]
fn kernel_drops_advance_by_delta_and_never_go_back() {
    let m = metrics();
    m.observe_kernel_drops("exec", 5);
    m.observe_kernel_drops("exec", 5);
    assert_eq!(m.kernel_drops("exec"), 5);
    m.observe_kernel_drops("exec", 12);
    assert_eq!(m.kernel_drops("exec"), 12);
    m.observe_kernel_drops("exec", 3);
    assert_eq!(
        m.kernel_drops("exec"),
        12,
        "a reset kernel counter is ignored"
    );
    m.events_dropped(Some("exec"), "bad_length", 2);
    m.events_dropped(None, "unknown_kind", 1);
    let text = m.encode().expect("encode");
    assert_eq!(
        sample(
            &text,
            "sensor_events_dropped_total{reason=\"bad_length\",ring=\"events\",type=\"exec\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "sensor_events_dropped_total{reason=\"unknown_kind\",ring=\"events\",type=\"unknown\"}"
        ),
        Some(1.0)
    );
}

#[test]
fn detection_and_table_metrics_are_exposed() {
    let m = metrics();
    m.alert("rule-1", "Reverse shell", "high", "T1059");
    m.alert("rule-1", "Reverse shell", "high", "T1059");
    m.detection_latency(0.003);
    m.detection_latency(-1.0);
    m.process_table_entries(42);
    m.process_table_evictions(7);
    m.process_table_evictions(9);
    m.correlation_state_entries(4);
    m.rules_loaded("builtin", 30);
    m.rule_load_errors(2);
    m.events_filtered("open", "collapsed", 10);
    m.ringbuf_bytes("events", 1 << 20);
    m.ringbuf_fill("events", 4096);
    m.set_ready(true);
    let text = m.encode().expect("encode");
    let expect = [
        (
            "sensor_alerts_total{rule_id=\"rule-1\",rule_name=\"Reverse shell\",severity=\"high\",technique=\"T1059\"}",
            2.0,
        ),
        ("sensor_detection_latency_seconds_count", 2.0),
        ("sensor_detection_latency_seconds_bucket{le=\"0.005\"}", 2.0),
        ("sensor_process_table_entries", 42.0),
        ("sensor_process_table_evictions_total", 9.0),
        ("sensor_correlation_state_entries", 4.0),
        ("sensor_rules_loaded{source=\"builtin\"}", 30.0),
        ("sensor_rule_load_errors_total", 2.0),
        (
            "sensor_events_filtered_total{reason=\"collapsed\",type=\"open\"}",
            10.0,
        ),
        ("sensor_ringbuf_bytes{ring=\"events\"}", 1048576.0),
        ("sensor_ringbuf_used_bytes{ring=\"events\"}", 4096.0),
        ("sensor_ready", 1.0),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    }
}

#[test]
fn content_type_is_the_text_format() {
    assert!(Metrics::content_type().starts_with("text/plain; version=0.0.4"));
}

#[test]
fn tamper_ring_drops_and_hook_liveness_are_exported() {
    let m = metrics();
    let text = m.encode().expect("encode");
    let tamper =
        "sensor_events_dropped_total{reason=\"ringbuf_full\",ring=\"tamper\",type=\"bpf\"}";
    assert_eq!(sample(&text, tamper), Some(0.0), "{text}");
    m.observe_tamper_drops(4);
    m.observe_tamper_drops(2);
    assert_eq!(m.tamper_drops(), 4, "a reset kernel counter is ignored");
    m.tamper_records_dropped("tamper_record", 1);
    m.capture_hook_alive("sys_exit_openat", true);
    m.capture_hook_alive("sys_exit_connect", false);
    let text = m.encode().expect("encode");
    assert_eq!(sample(&text, tamper), Some(4.0));
    assert_eq!(
        sample(
            &text,
            "sensor_events_dropped_total{reason=\"tamper_record\",ring=\"tamper\",type=\"bpf\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "sensor_capture_hook_alive{hook=\"sys_exit_openat\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "sensor_capture_hook_alive{hook=\"sys_exit_connect\"}"
        ),
        Some(0.0)
    );
}
