//! Malformed rules give an error naming the file and the line, and never stop other rules.

use crate::cli::RulesCommand;
use crate::detect::RuleSet;

const GOOD: &str = "title: good
id: 00000000-0000-0000-0000-000000000001
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image|endswith: /nc
    condition: selection
";

fn errors_of(text: &str) -> Vec<(u32, String)> {
    let mut set = RuleSet::default();
    set.add_text("bad.yml", "test", text);
    set.finish();
    set.errors
        .iter()
        .map(|e| (e.line, e.message.clone()))
        .collect()
}

fn assert_error(text: &str, line: u32, needle: &str) {
    let errors = errors_of(text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, line, "{errors:?}");
    assert!(errors[0].1.to_lowercase().contains(needle), "{errors:?}");
}

#[test]
fn bad_yaml() {
    assert_error(
        "title: x\nlogsource: {product: linux\ndetection:\n  a: b\n",
        3,
        "yaml",
    );
}

#[test]
fn unknown_modifier() {
    let text = GOOD.replace("Image|endswith", "Image|endswiht");
    assert_error(&text, 6, "endswiht");
}

#[test]
fn bad_regex() {
    let text = GOOD.replace("Image|endswith: /nc", "Image|re: '(unclosed'");
    assert_error(&text, 6, "regular expression");
}

#[test]
fn condition_naming_a_missing_selection() {
    let text = GOOD.replace(
        "condition: selection",
        "condition: selection and not filter",
    );
    assert_error(&text, 7, "filter");
}

#[test]
fn correlation_referencing_a_missing_rule() {
    let text = format!(
        "{GOOD}---\ntitle: corr\ncorrelation:\n    type: event_count\n    rules:\n        - no_such_rule\n    group-by: [User]\n    timespan: 1m\n    condition: {{gte: 2}}\n"
    );
    assert_error(&text, 13, "no_such_rule");
}

#[test]
fn unsupported_logsource_is_reported_not_ignored() {
    let text = GOOD.replace("category: process_creation", "category: registry_event");
    assert_error(&text, 3, "unsupported logsource category");
    let text = GOOD.replace(
        "product: linux, category: process_creation",
        "product: linux, service: auditd",
    );
    assert_error(&text, 3, "unsupported logsource service");
}

#[test]
fn bad_files_are_skipped_and_counted_while_the_rest_load() {
    let dir = std::env::temp_dir().join(format!("sensor-rules-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    std::fs::write(dir.join("a_good.yml"), GOOD).expect("write");
    std::fs::write(dir.join("sub/b_bad.yml"), GOOD.replace("endswith", "nope")).expect("write");
    std::fs::write(dir.join("c_binary.yml"), [0xffu8, 0xfe, b'\n']).expect("write");
    std::fs::write(dir.join("ignored.txt"), "not a rule").expect("write");
    let set = RuleSet::from_paths(std::slice::from_ref(&dir));
    let stats = set.stats();
    assert_eq!(set.meta.len(), 1);
    assert_eq!(stats.errors, 2, "{:?}", set.errors);
    assert_eq!(
        stats.loaded_by_source.get(&dir.display().to_string()),
        Some(&1)
    );
    let bad = &set
        .errors
        .iter()
        .find(|e| e.file.ends_with("b_bad.yml"))
        .expect("bad file named");
    assert_eq!(bad.line, 6);
    assert!(bad.to_string().contains("b_bad.yml:6:"), "{bad}");
    // `rules check` fails on the directory and passes on the good file alone.
    assert!(
        crate::replay::rules_command(&RulesCommand::Check {
            paths: vec![dir.clone()]
        })
        .is_err()
    );
    assert!(
        crate::replay::rules_command(&RulesCommand::Check {
            paths: vec![dir.join("a_good.yml")]
        })
        .is_ok()
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
