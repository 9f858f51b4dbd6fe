//! Detection lanes: one compiled rsigma engine (and one verdict cache) per event category.
//!
//! Our events each belong to exactly one Sigma category, so a rule of another category can
//! never match them. Splitting the rules by category when the engine is built means an exec
//! event only meets the process_creation rules (and the few rules without a category), with no
//! logsource comparison per rule and per event, and a fork or exit event (no Sigma category)
//! usually meets no rule at all and costs nothing. Each lane's verdict cache keys on the fields
//! of its own rules only, read by [`Field`] id with no name lookup.
//!
//! Results are those of one engine pruned by category (rsigma's conflict-based logsource
//! pruning, which this replaces): a lane holds exactly the rules that pruning would keep, in
//! load order. Filter rules (`filter:` documents) can name rules of any category, so a rule set
//! with filters keeps one shared engine and prunes per event instead.

use rsigma_eval::{EvaluationResult, LogSourceExtractor};
use rsigma_parser::{Detection, LogSource, SigmaCollection, SigmaRule};

use super::DetectError;
use super::accessor::{Accessor, Category, FieldSource};
use super::cache::VerdictCache;
use super::rules::RuleSet;

type Compiled = rsigma_eval::Engine<LogSourceExtractor>;

/// Every category, in [`lane_index`] order.
const CATEGORIES: [Category; 6] = [
    Category::ProcessCreation,
    Category::NetworkConnection,
    Category::FileEvent,
    Category::FileAccess,
    Category::ProcessTampering,
    Category::Other,
];

fn lane_index(category: Category) -> usize {
    match category {
        Category::ProcessCreation => 0,
        Category::NetworkConnection => 1,
        Category::FileEvent => 2,
        Category::FileAccess => 3,
        Category::ProcessTampering => 4,
        Category::Other => 5,
    }
}

struct Lane {
    /// Index into [`Lanes::engines`]; `None` when no rule can match this category.
    engine: Option<usize>,
    /// Set when the engine is shared and must prune by category per event.
    prune: Option<LogSource>,
    cache: Option<VerdictCache>,
}

/// The rules, split by the category of the events they can match.
pub struct Lanes {
    engines: Vec<Compiled>,
    lanes: Vec<Lane>,
}

/// Whether a rule could match an event of `category` (rsigma's pruning rule: a dimension unset
/// on either side is a wildcard; our events carry only a category).
fn matches_category(rule: &SigmaRule, category: Category) -> bool {
    rule.logsource
        .category
        .as_deref()
        .is_none_or(|c| c.eq_ignore_ascii_case(category.sigma_name()))
}

/// Whether a detection searches values without a field name (keyword search).
fn uses_keywords(detection: &Detection) -> bool {
    match detection {
        Detection::AllOf(items) => items.iter().any(|i| i.field.name.is_none()),
        Detection::AnyOf(parts) | Detection::And(parts) => parts.iter().any(uses_keywords),
        Detection::Keywords(_) => true,
        // Array blocks are not used by our fields; keep the cache key complete anyway.
        _ => true,
    }
}

fn subset(collection: &SigmaCollection, keep: impl Fn(&SigmaRule) -> bool) -> SigmaCollection {
    SigmaCollection {
        rules: collection
            .rules
            .iter()
            .filter(|r| keep(r))
            .cloned()
            .collect(),
        correlations: Vec::new(),
        filters: collection.filters.clone(),
        diagnostics: Vec::new(),
    }
}

fn compile(collection: &SigmaCollection) -> Result<Compiled, DetectError> {
    let mut engine = Compiled::new();
    engine
        .add_collection(collection)
        .map_err(|e| DetectError::Compile(e.to_string()))?;
    Ok(engine)
}

impl Lanes {
    /// Compiles `rules` into lanes; `cache` turns the per-lane verdict caches on.
    pub fn new(rules: &RuleSet, cache: bool) -> Result<Lanes, DetectError> {
        let collection = &rules.collection;
        let mut engines = Vec::new();
        let mut lanes = Vec::with_capacity(CATEGORIES.len());
        let shared = !collection.filters.is_empty();
        if shared {
            engines.push(compile(collection)?);
        }
        for category in CATEGORIES {
            let part = subset(collection, |r| matches_category(r, category));
            if part.rules.is_empty() {
                lanes.push(Lane {
                    engine: None,
                    prune: None,
                    cache: None,
                });
                continue;
            }
            let (engine, prune) = if shared {
                let ls = LogSource {
                    category: Some(category.sigma_name().into()),
                    ..LogSource::default()
                };
                (0, Some(ls))
            } else {
                engines.push(compile(&part)?);
                (engines.len() - 1, None)
            };
            let keywords = part
                .rules
                .iter()
                .any(|r| r.detection.named.values().any(uses_keywords));
            // With a shared engine, filters may read fields of other categories' rules.
            let fields_from = if shared { collection } else { &part };
            let cache = if cache {
                VerdictCache::new(fields_from, rules.uses_fieldref, keywords)
            } else {
                None
            };
            lanes.push(Lane {
                engine: Some(engine),
                prune,
                cache,
            });
        }
        Ok(Lanes { engines, lanes })
    }

    /// The detections of every single-event rule that matches `source`.
    pub fn evaluate<S: FieldSource + ?Sized>(&mut self, source: &S) -> Vec<EvaluationResult> {
        let Some(lane) = self.lanes.get_mut(lane_index(source.category())) else {
            return Vec::new();
        };
        let Some(engine) = lane.engine.and_then(|i| self.engines.get(i)) else {
            return Vec::new();
        };
        let event = Accessor(source);
        let prune = lane.prune.as_ref();
        let run = || match prune {
            Some(ls) => engine.evaluate_pruned(&event, ls),
            None => engine.evaluate(&event),
        };
        match lane.cache.as_mut() {
            Some(cache) => cache.get_or_insert(source, run),
            None => run(),
        }
    }

    /// Detections answered from the verdict caches.
    pub fn cache_hits(&self) -> u64 {
        self.lanes
            .iter()
            .filter_map(|l| l.cache.as_ref())
            .map(|c| c.hits)
            .sum()
    }
}
