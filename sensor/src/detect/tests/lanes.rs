//! The per-category lanes give exactly what one engine over every rule, pruned by category
//! (rsigma's own logsource pruning), gives: same rules, same order, with and without the
//! verdict cache, on live and recorded events.

use rsigma_eval::{EvaluationResult, LogSourceExtractor};
use rsigma_parser::LogSource;
use serde_json::Value;

use super::bench::synthetic;
use super::sigmahq::sigma_dir;
use super::sigmahq_samples::samples;
use crate::detect::RuleSet;
use crate::detect::accessor::{Accessor, FieldSource};
use crate::detect::lanes::Lanes;
use crate::detect::live::LiveEvent;
use crate::detect::recorded::RecordedEvent;

fn all_rules() -> RuleSet {
    let mut set = RuleSet::builtin();
    if let Some(root) = sigma_dir() {
        set.merge(RuleSet::from_paths(&[root.join("rules")]));
    }
    set
}

fn ids(results: &[EvaluationResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| {
            r.header
                .rule_id
                .clone()
                .unwrap_or_else(|| r.header.rule_title.clone())
        })
        .collect()
}

struct Reference(rsigma_eval::Engine<LogSourceExtractor>);

impl Reference {
    fn new(set: &RuleSet) -> Self {
        let mut engine = rsigma_eval::Engine::new();
        engine.add_collection(&set.collection).expect("compile");
        Reference(engine)
    }

    fn evaluate<S: FieldSource + ?Sized>(&self, source: &S) -> Vec<String> {
        let ls = LogSource {
            category: Some(source.category().sigma_name().into()),
            ..LogSource::default()
        };
        ids(&self.0.evaluate_pruned(&Accessor(source), &ls))
    }
}

fn check(set: &RuleSet, live: &[crate::context::EnrichedEvent], docs: &[Value]) -> usize {
    let reference = Reference::new(set);
    let mut plain = Lanes::new(set, false).expect("lanes");
    let mut cached = Lanes::new(set, true).expect("lanes");
    let mut matched = 0;
    for e in live {
        let source = LiveEvent::new(e, 0);
        let want = reference.evaluate(&source);
        assert_eq!(ids(&plain.evaluate(&source)), want);
        assert_eq!(ids(&cached.evaluate(&source)), want);
        matched += want.len();
    }
    // Twice: the second pass is answered from the caches.
    for _ in 0..2 {
        for d in docs {
            let source = RecordedEvent::new(d);
            let want = reference.evaluate(&source);
            assert_eq!(ids(&plain.evaluate(&source)), want, "{d}");
            assert_eq!(ids(&cached.evaluate(&source)), want, "{d}");
            matched += want.len();
        }
    }
    assert!(cached.cache_hits() > 0);
    matched
}

#[test]
fn lanes_match_one_pruned_engine() {
    let set = all_rules();
    let live = synthetic(3000, true);
    let mut docs: Vec<Value> = live
        .iter()
        .take(200)
        .map(|e| LiveEvent::new(e, 0).document())
        .collect();
    for (_, hit, miss) in samples() {
        docs.push(hit);
        docs.push(miss);
    }
    let matched = check(&set, &live, &docs);
    // The comparison means something only if rules fired.
    assert!(matched > 10, "{matched}");
}

#[test]
fn lanes_with_filters_match_one_pruned_engine() {
    let mut set = all_rules();
    let filter = super::rules(
        r#"
title: not from bash
filter:
  rules:
    - 5f1fbd47-7b34-4a4c-8d2b-9f5a2b2c8e11
  selection:
    process.parent.executable: /usr/bin/bash
  condition: not selection
logsource:
  product: linux
  category: process_creation
---
title: bash interactive
id: 5f1fbd47-7b34-4a4c-8d2b-9f5a2b2c8e11
logsource:
  category: process_creation
  product: linux
detection:
  selection:
    process.command_line: bash -i
  condition: selection
"#,
    );
    set.merge(filter);
    assert!(!set.collection.filters.is_empty());
    let live = synthetic(2000, false);
    let docs: Vec<Value> = samples().into_iter().map(|(_, hit, _)| hit).collect();
    check(&set, &live, &docs);
}
