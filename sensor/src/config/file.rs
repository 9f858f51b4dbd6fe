//! YAML → arguments. Keys and values are checked while the YAML is read (through serde seeds
//! that carry the subcommand's definition), so every error carries the line and column of the
//! offending key or value.

use std::collections::BTreeMap;
use std::fmt;

use clap::ArgAction;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Flags that are never config keys: they are about the command line itself.
const NOT_KEYS: [&str; 3] = ["help", "version", super::CONFIG_FLAG];

/// The arguments (`--name=value`, `--switch`) that the YAML mapping `text` stands for, in file
/// order. Errors are one line, ending with the position.
pub(super) fn arguments(sub: &clap::Command, text: &str) -> Result<Vec<String>, String> {
    let keys: BTreeMap<&str, &clap::Arg> = sub
        .get_arguments()
        .filter_map(|a| a.get_long().map(|long| (long, a)))
        .filter(|(long, _)| !NOT_KEYS.contains(long))
        .collect();
    let file = File { sub, keys: &keys };
    file.deserialize(yaml_serde::Deserializer::from_str(text))
        .map_err(|e| {
            let message = e.to_string();
            // yaml_serde leaves out the position when it is the very start of the file.
            match e.location() {
                Some(at) if !message.contains(" at line ") => {
                    format!("{message} at line {} column {}", at.line(), at.column())
                }
                _ => message,
            }
        })
}

/// The whole document: a mapping, or nothing at all (an empty or all-comment file).
struct File<'a> {
    sub: &'a clap::Command,
    keys: &'a BTreeMap<&'a str, &'a clap::Arg>,
}

impl<'de> DeserializeSeed<'de> for File<'_> {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for File<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of flag names to values")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        while let Some(arg) = map.next_key_seed(Key {
            keys: self.keys,
            seen: &seen,
        })? {
            seen.push(arg.get_long().unwrap_or_default());
            out.extend(map.next_value_seed(Value { sub: self.sub, arg })?);
        }
        Ok(out)
    }
}

/// Asks clap whether the arguments of one key are acceptable on their own, so a bad value is
/// reported at its line rather than as an anonymous command-line error.
fn check(sub: &clap::Command, args: &[String]) -> Result<(), String> {
    let argv = std::iter::once(sub.get_name()).chain(args.iter().map(String::as_str));
    match sub.clone().try_get_matches_from(argv) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => Ok(()),
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let reason = first.strip_prefix("error: ").unwrap_or(first);
            Err(reason.to_owned())
        }
    }
}

/// A key: must name a long flag, kebab-case or snake_case.
struct Key<'a, 's> {
    keys: &'a BTreeMap<&'a str, &'a clap::Arg>,
    /// Keys already read: a second one would silently replace the first.
    seen: &'s [&'a str],
}

impl<'de, 'a> DeserializeSeed<'de> for Key<'a, '_> {
    type Value = &'a clap::Arg;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'a clap::Arg, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'a> Visitor<'de> for Key<'a, '_> {
    type Value = &'a clap::Arg;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a flag name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<&'a clap::Arg, E> {
        let name = key.replace('_', "-");
        if name == super::CONFIG_FLAG {
            return Err(E::custom("`config` cannot be set in a config file"));
        }
        let Some((&long, &arg)) = self.keys.get_key_value(name.as_str()) else {
            let known: Vec<&str> = self.keys.keys().copied().collect();
            return Err(E::custom(format!(
                "unknown key `{}` (known keys: {})",
                crate::text::escape(key.as_bytes()).0,
                known.join(", ")
            )));
        };
        if self.seen.contains(&long) {
            return Err(E::custom(format!("`{long}` is set twice")));
        }
        Ok(arg)
    }
}

/// The value of one key, turned into that flag's arguments.
struct Value<'a> {
    sub: &'a clap::Command,
    arg: &'a clap::Arg,
}

impl Value<'_> {
    /// The arguments if clap accepts them; checked here, inside the visitor, so that the error
    /// gets the value's position.
    fn checked<E: de::Error>(&self, args: Vec<String>) -> Result<Vec<String>, E> {
        check(self.sub, &args).map_err(E::custom)?;
        Ok(args)
    }

    fn long(&self) -> &str {
        self.arg.get_long().unwrap_or_default()
    }

    fn is_switch(&self) -> bool {
        !self.arg.get_action().takes_values()
    }

    fn repeatable(&self) -> bool {
        matches!(self.arg.get_action(), ArgAction::Append)
            || self.arg.get_num_args().is_some_and(|n| n.max_values() > 1)
    }

    fn scalar<E: de::Error>(&self, text: String) -> Result<Vec<String>, E> {
        if self.is_switch() {
            return Err(E::custom("is a switch: use true or false"));
        }
        self.checked(vec![format!("--{}={text}", self.long())])
    }
}

impl<'de> DeserializeSeed<'de> for Value<'_> {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value for `{}`", self.long())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Vec<String>, E> {
        if !self.is_switch() {
            return self.scalar(v.to_string());
        }
        // SetFalse switches are set by writing `false`, every other switch by `true`.
        let set = v != matches!(self.arg.get_action(), ArgAction::SetFalse);
        self.checked(if set {
            vec![format!("--{}", self.long())]
        } else {
            Vec::new()
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<String>, E> {
        if matches!(self.arg.get_action(), ArgAction::Count) {
            let times = usize::try_from(v).unwrap_or(usize::MAX).min(255);
            return self.checked(vec![format!("--{}", self.long()); times]);
        }
        self.scalar(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<String>, E> {
        self.scalar(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Vec<String>, E> {
        self.scalar(v.to_string())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
        self.scalar(v.to_owned())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
        Err(E::custom("has no value"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        if !self.repeatable() {
            return Err(de::Error::custom("takes one value, not a list"));
        }
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(Item {
            sub: self.sub,
            arg: self.arg,
        })? {
            out.extend(item);
        }
        Ok(out)
    }
}

/// One element of a list: a scalar only.
struct Item<'a> {
    sub: &'a clap::Command,
    arg: &'a clap::Arg,
}

impl Item<'_> {
    fn value(&self) -> Value<'_> {
        Value {
            sub: self.sub,
            arg: self.arg,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Item<'_> {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Item<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Vec<String>, E> {
        self.value().scalar(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<String>, E> {
        self.value().scalar(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<String>, E> {
        self.value().scalar(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Vec<String>, E> {
        self.value().scalar(v.to_string())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
        self.value().scalar(v.to_owned())
    }
}
