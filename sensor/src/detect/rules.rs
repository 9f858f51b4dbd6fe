//! Loading rules: from files and directories (`--rules`), or the built-in pack compiled into the
//! binary. Every problem is kept as a [`RuleError`] naming the file, the line and what is wrong;
//! the rules that load are kept, so one bad file never takes the others down.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use rsigma_parser::{CorrelationRule, SigmaCollection, SigmaRule, parse_sigma_yaml};

use super::validate::{check_logsource, find_line, guess_line};

/// The built-in pack: (file name, YAML text), embedded at build time from `rules/`.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "connect_then_socket_shell.yml",
        include_str!("../../../rules/connect_then_socket_shell.yml"),
    ),
    (
        "credential_access.yml",
        include_str!("../../../rules/credential_access.yml"),
    ),
    (
        "defense_evasion.yml",
        include_str!("../../../rules/defense_evasion.yml"),
    ),
    (
        "discovery_burst.yml",
        include_str!("../../../rules/discovery_burst.yml"),
    ),
    (
        "fileless_execution.yml",
        include_str!("../../../rules/fileless_execution.yml"),
    ),
    (
        "ingress_tool_transfer.yml",
        include_str!("../../../rules/ingress_tool_transfer.yml"),
    ),
    (
        "masquerading.yml",
        include_str!("../../../rules/masquerading.yml"),
    ),
    (
        "persistence.yml",
        include_str!("../../../rules/persistence.yml"),
    ),
    (
        "pipe_to_shell.yml",
        include_str!("../../../rules/pipe_to_shell.yml"),
    ),
    (
        "reverse_shell_socket_stdio.yml",
        include_str!("../../../rules/reverse_shell_socket_stdio.yml"),
    ),
    (
        "service_spawned_shell.yml",
        include_str!("../../../rules/service_spawned_shell.yml"),
    ),
    (
        "staging_exfiltration.yml",
        include_str!("../../../rules/staging_exfiltration.yml"),
    ),
];

/// The `source` label of built-in rules.
pub const BUILTIN_SOURCE: &str = "builtin";

/// A rule that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The file (or `builtin:<name>`).
    pub file: String,
    /// 1-based line the problem is at (the closest line we can point to).
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// What is shown about a loaded rule and copied into its alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleMeta {
    /// Rule id (the title when the rule has none).
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// References (URLs).
    pub references: Vec<String>,
    /// Author.
    pub author: Option<String>,
    /// Sigma level (`informational` .. `critical`).
    pub level: Option<String>,
    /// Tags as written.
    pub tags: Vec<String>,
    /// Where it came from: `builtin` or the file path.
    pub source: String,
    /// It is a correlation rule.
    pub correlation: bool,
}

/// Rules parsed from any number of sources, plus everything that failed.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Rules, correlations and filters that loaded.
    pub collection: SigmaCollection,
    /// Metadata of every loaded rule and correlation, in load order.
    pub meta: Vec<RuleMeta>,
    /// Problems, in the order found.
    pub errors: Vec<RuleError>,
    /// Source label of each loaded detection rule (same order as `collection.rules`).
    rule_sources: Vec<String>,
    /// Correlations parsed but not yet checked.
    pending: Vec<PendingCorrelation>,
    /// Some rule uses the `fieldref` modifier (which turns the verdict cache off).
    pub uses_fieldref: bool,
}

/// Counts for metrics: exported as `sensor_rule_load_errors_total` and
/// `sensor_rules_loaded{source}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleLoadStats {
    /// Rules (detection and correlation) loaded, by source (`builtin` or a `--rules` path).
    pub loaded_by_source: BTreeMap<String, u64>,
    /// Rules or files that failed to load.
    pub errors: u64,
}

impl RuleSet {
    /// The built-in pack.
    pub fn builtin() -> RuleSet {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN {
            set.add_text(&format!("{BUILTIN_SOURCE}:{name}"), BUILTIN_SOURCE, text);
        }
        set.check_references();
        set
    }

    /// Loads every `.yml`/`.yaml` file in `paths` (files or directories, walked recursively in
    /// name order). Each path is one `source` label.
    pub fn from_paths(paths: &[PathBuf]) -> RuleSet {
        let mut set = RuleSet::default();
        for root in paths {
            let source = root.display().to_string();
            let mut files = Vec::new();
            if let Err(err) = collect_files(root, &mut files) {
                set.errors.push(RuleError {
                    file: source.clone(),
                    line: 0,
                    message: format!("cannot read: {err}"),
                });
                continue;
            }
            for file in files {
                let label = file.display().to_string();
                match std::fs::read(&file) {
                    Ok(bytes) => match String::from_utf8(bytes) {
                        Ok(text) => set.add_text(&label, &source, &text),
                        Err(_) => set.error(&label, 1, "file is not valid UTF-8".into()),
                    },
                    Err(err) => set.error(&label, 0, format!("cannot read: {err}")),
                }
            }
        }
        set.check_references();
        set
    }

    /// The rules `--rules` names, or the built-in pack when it names none.
    pub fn load(paths: &[PathBuf]) -> RuleSet {
        if paths.is_empty() {
            RuleSet::builtin()
        } else {
            RuleSet::from_paths(paths)
        }
    }

    /// Adds another set's rules (e.g. the built-in pack next to `--rules`).
    pub fn merge(&mut self, other: RuleSet) {
        self.collection.rules.extend(other.collection.rules);
        self.collection
            .correlations
            .extend(other.collection.correlations);
        self.collection.filters.extend(other.collection.filters);
        self.meta.extend(other.meta);
        self.errors.extend(other.errors);
        self.rule_sources.extend(other.rule_sources);
        self.uses_fieldref |= other.uses_fieldref;
    }

    /// Counts for metrics.
    pub fn stats(&self) -> RuleLoadStats {
        let mut stats = RuleLoadStats {
            errors: self.errors.len() as u64,
            ..RuleLoadStats::default()
        };
        for meta in &self.meta {
            *stats
                .loaded_by_source
                .entry(meta.source.clone())
                .or_default() += 1;
        }
        stats
    }

    /// The `source` label of the detection rule at `index` in `collection.rules`.
    pub fn source_of_rule(&self, index: usize) -> Option<&str> {
        self.rule_sources.get(index).map(String::as_str)
    }

    fn error(&mut self, file: &str, line: u32, message: String) {
        self.errors.push(RuleError {
            file: file.to_string(),
            line,
            message,
        });
    }

    /// Parses one file's text (one or more YAML documents).
    pub fn add_text(&mut self, label: &str, source: &str, text: &str) {
        self.uses_fieldref |= text.contains("|fieldref");
        let parsed = match parse_sigma_yaml(text) {
            Ok(parsed) => parsed,
            Err(err) => {
                let line = err
                    .location()
                    .map_or_else(|| guess_line(text, &err.to_string()), |l| l.line);
                self.error(label, line, err.to_string());
                return;
            }
        };
        for diag in parsed.diagnostics.iter().filter(|d| d.is_error()) {
            let line = match diag.location {
                Some(loc) if diag.kind == rsigma_parser::DiagnosticKind::YamlSyntax => loc.line,
                _ => guess_line(text, &diag.message),
            };
            self.error(label, line, diag.message.clone());
        }
        for rule in parsed.rules {
            if let Err(message) = check_logsource(&rule) {
                let line = find_line(text, "logsource:").unwrap_or(1);
                self.error(label, line, message);
                continue;
            }
            if let Err(err) = rsigma_eval::compile_rule(&rule) {
                let message = err.to_string();
                self.error(label, guess_line(text, &message), message);
                continue;
            }
            self.meta.push(rule_meta(&rule, source));
            self.rule_sources.push(source.to_string());
            self.collection.rules.push(rule);
        }
        for corr in parsed.correlations {
            self.pending.push(PendingCorrelation {
                rule: corr,
                label: label.to_string(),
                source: source.to_string(),
                text: text.to_string(),
            });
        }
        self.collection.filters.extend(parsed.filters);
    }

    /// Ends loading after [`RuleSet::add_text`] calls: checks correlation references.
    pub fn finish(&mut self) {
        self.check_references();
    }

    /// Keeps the correlations whose every referenced rule is loaded; reports the others.
    fn check_references(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let mut known: HashSet<String> = HashSet::new();
        for rule in &self.collection.rules {
            known.extend(rule.id.clone());
            known.extend(rule.name.clone());
        }
        for corr in &pending {
            known.extend(corr.rule.id.clone());
            known.extend(corr.rule.name.clone());
        }
        for corr in pending {
            if let Some(missing) = corr.rule.rules.iter().find(|r| !known.contains(*r)) {
                let line = find_line(&corr.text, missing).unwrap_or(1);
                let message = format!(
                    "correlation '{}' references rule '{missing}', which is not loaded",
                    corr.rule.title
                );
                self.error(&corr.label, line, message);
                continue;
            }
            self.meta.push(correlation_meta(&corr.rule, &corr.source));
            self.collection.correlations.push(corr.rule);
        }
    }
}

/// A correlation waiting for every file to load, so its references can be checked.
#[derive(Debug)]
struct PendingCorrelation {
    rule: CorrelationRule,
    label: String,
    source: String,
    text: String,
}

fn collect_files(root: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !root.is_dir() {
        // A file named directly is loaded whatever its extension.
        std::fs::metadata(root)?;
        out.push(root.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

fn level_name(level: Option<rsigma_parser::Level>) -> Option<String> {
    level.map(|l| format!("{l:?}").to_ascii_lowercase())
}

fn rule_meta(rule: &SigmaRule, source: &str) -> RuleMeta {
    RuleMeta {
        id: rule.id.clone().unwrap_or_else(|| rule.title.clone()),
        title: rule.title.clone(),
        description: rule.description.clone(),
        references: rule.references.clone(),
        author: rule.author.clone(),
        level: level_name(rule.level),
        tags: rule.tags.clone(),
        source: source.to_string(),
        correlation: false,
    }
}

fn correlation_meta(rule: &CorrelationRule, source: &str) -> RuleMeta {
    RuleMeta {
        id: rule.id.clone().unwrap_or_else(|| rule.title.clone()),
        title: rule.title.clone(),
        description: rule.description.clone(),
        references: rule.references.clone(),
        author: rule.author.clone(),
        level: level_name(rule.level),
        tags: rule.tags.clone(),
        source: source.to_string(),
        correlation: true,
    }
}
