//! The configuration file: `sensor run --config PATH` reads a YAML mapping whose keys are the
//! long names of `sensor run`'s flags and turns it into arguments placed before the real
//! command line, so one clap parse sees both and the command line wins.
//!
//! Nothing here lists flags: the keys are read from clap's own definition of the subcommand,
//! so every flag (added today or later) has a config key with the same name, type checks and
//! error messages. Rules:
//!
//! - keys are the long flag names, kebab-case (`ringbuf-kib`) or snake_case (`ringbuf_kib`);
//!   an unknown key is an error naming the file, line and column;
//! - a value is a scalar (string, number, boolean) or, for a flag that may be repeated, a list;
//! - a switch (a flag without a value) takes `true` (set) or `false` (left out);
//! - a single-valued flag given both in the file and on the command line takes the command
//!   line's value; a repeatable flag gets the file's values first, then the command line's;
//! - there is no implicit file: without `--config` nothing is read.

mod file;
#[cfg(test)]
mod tests;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use clap::{CommandFactory, FromArgMatches};
use thiserror::Error;

/// The flag that names the file; a subcommand that declares it accepts a config file.
const CONFIG_FLAG: &str = "config";

/// The configuration file could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid configuration (syntax, unknown key, bad value).
    #[error("config file {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and where (line and column).
        message: String,
    },
    /// The command line (with the file's arguments) was refused by clap; also `--help` and
    /// `--version`, which clap reports this way.
    #[error(transparent)]
    Cli(#[from] clap::Error),
}

/// Parses the command line `raw` (program name first) into `P`, with the arguments of the
/// `--config` file, if any, inserted right after the subcommand.
pub fn parse<P: CommandFactory + FromArgMatches>(
    raw: impl IntoIterator<Item = impl Into<OsString>>,
) -> Result<P, ConfigError> {
    let mut command = command::<P>();
    let raw: Vec<OsString> = raw.into_iter().map(Into::into).collect();
    let expanded = expand(&command, raw)?;
    let mut matches = command.try_get_matches_from_mut(expanded)?;
    Ok(P::from_arg_matches_mut(&mut matches)?)
}

/// [`parse`] on the process's arguments; prints clap's message and exits on a command-line
/// error (as `Parser::parse` does), prints one line and exits 2 on a config-file error.
pub fn parse_or_exit<P: CommandFactory + FromArgMatches>() -> P {
    match parse(std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(ConfigError::Cli(err)) => err.exit(),
        Err(err) => {
            eprintln!("sensor: error: {err}");
            std::process::exit(2)
        }
    }
}

/// `P`'s command, built (so globals are propagated and argument counts are known), with every
/// argument overriding itself so that the command line's value replaces the file's.
fn command<P: CommandFactory>() -> clap::Command {
    let mut command = P::command().args_override_self(true);
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |s| s.args_override_self(true));
    }
    command.build();
    command
}

/// The arguments of `raw` with the config file's arguments inserted after the subcommand's
/// name; `raw` itself when the subcommand takes no config file or none is given.
fn expand(command: &clap::Command, raw: Vec<OsString>) -> Result<Vec<OsString>, ConfigError> {
    let Some((at, sub)) = find_subcommand(command, &raw) else {
        return Ok(raw);
    };
    if !sub.get_arguments().any(|a| a.get_id() == CONFIG_FLAG) {
        return Ok(raw);
    }
    let Some(path) = config_path(raw.get(at + 1..).unwrap_or_default()) else {
        return Ok(raw);
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let from_file = file::arguments(sub, &text).map_err(|message| ConfigError::Invalid {
        path: path.clone(),
        message,
    })?;
    let mut out = Vec::with_capacity(raw.len() + from_file.len());
    let (head, tail) = raw.split_at(at + 1);
    out.extend_from_slice(head);
    out.extend(from_file.into_iter().map(OsString::from));
    out.extend_from_slice(tail);
    Ok(out)
}

/// The position of the subcommand's name in `raw`, and the subcommand: the first word that is
/// neither an option nor the value of a root-level option.
fn find_subcommand<'c>(
    command: &'c clap::Command,
    raw: &[OsString],
) -> Option<(usize, &'c clap::Command)> {
    let mut i = 1;
    while let Some(word) = raw.get(i) {
        let text = word.to_string_lossy();
        if text == "--" {
            return None;
        }
        if let Some(long) = text.strip_prefix("--") {
            let takes_value = command
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .is_some_and(|a| a.get_action().takes_values());
            i += if takes_value { 2 } else { 1 };
            continue;
        }
        if text.starts_with('-') {
            i += 1;
            continue;
        }
        return command.find_subcommand(word).map(|sub| (i, sub));
    }
    None
}

/// The value of the last `--config PATH` or `--config=PATH` among a subcommand's arguments.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let flag = format!("--{CONFIG_FLAG}");
    let mut found = None;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        if word == OsStr::new(&flag) {
            found = words.next().map(PathBuf::from);
        } else if let Some(value) = strip_os_prefix(word, &format!("{flag}=")) {
            found = Some(Path::new(value).to_path_buf());
        }
    }
    found
}

fn strip_os_prefix<'a>(word: &'a OsStr, prefix: &str) -> Option<&'a OsStr> {
    use std::os::unix::ffi::OsStrExt as _;
    word.as_bytes()
        .strip_prefix(prefix.as_bytes())
        .map(OsStr::from_bytes)
}
