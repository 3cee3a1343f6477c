//! Selkie's boot configuration: which LibOS instances run side by side on
//! one seL4, with what memory, what command and what devices, and how the
//! root task partitions its untyped memory among them. Free of seL4 and of
//! `unsafe`, so that the parsing and the partitioning are tested on the
//! host.
//!
//! The configuration is a TOML file (`selkie.toml`, or `make run
//! CONFIG=path`) embedded in the root task at build time and parsed at
//! boot:
//!
//! ```toml
//! [[instance]]
//! name = "alpha"            # [a-z0-9-], 1 to 16 characters, unique
//! memory = "96M"            # its pool of untyped memory (K, M, G suffixes)
//! init = "/bin/sh /etc/alpha.sh"   # its first commands (`;` separates them)
//! console = true            # it reads the console (at most one instance)
//! network = true            # a client of the shared net service
//! disk = false              # the disk on /mnt (at most one instance)
//! restart = "never"         # or "on-failure": started again after a panic or fault
//! tree = "alpha-files"      # files laid over the initial tree (a directory,
//!                           # relative to this file)
//!
//! [[instance]]
//! name = "beta"
//! memory = "64M"
//! init = "/bin/sh -c 'echo hello'"
//!
//! [[channel]]
//! name = "link"             # /dev/chan/link in both instances
//! between = ["alpha", "beta"]
//!
//! [[share]]
//! name = "common"           # a tmpfs on /share/common in each instance named
//! size = "8M"
//! between = ["alpha", "beta"]
//! ```
//!
//! Without a file the configuration is [`Config::single`]: one instance,
//! as Selkie ran before instances existed.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod partition;

pub use partition::{chunks_of, plan, Chunk, PlanError, Pool, Untyped};

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// The smallest memory quota an instance may have: a LibOS with its fs
/// task (which holds a copy of the initial file tree, 14 MiB with
/// Selkie's own rootfs/), a shell and room to run a few commands.
pub const MIN_MEMORY: u64 = 48 << 20;
/// Instances at most.
pub const MAX_INSTANCES: usize = 8;

/// What happens when an instance panics or faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// It stays down; the others go on.
    Never,
    /// It is started again (at most [`MAX_RESTARTS`] times).
    OnFailure,
}

/// Times an instance is started again at most.
pub const MAX_RESTARTS: u32 = 3;

/// One LibOS instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub name: String,
    /// Bytes of untyped memory it gets (its quota).
    pub memory: u64,
    /// Its commands, as the init string of a single instance (`;` between
    /// commands); None: an interactive shell.
    pub init: Option<String>,
    pub console: bool,
    pub network: bool,
    pub disk: bool,
    pub restart: Restart,
    /// A directory (relative to the configuration file) whose files are
    /// laid over the initial tree in this instance.
    pub tree: Option<String>,
}

/// An inter-instance channel: a byte stream each way between two
/// instances, `/dev/chan/NAME` in both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    /// The two instances (indexes into [`Config::instances`]).
    pub ends: [usize; 2],
}

/// Channels one instance may have at most.
pub const MAX_CHANNELS: usize = 8;

/// A file system several instances mount (a tmpfs of `size` bytes on
/// `/share/NAME` in each of `members`, served by one fs task).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    pub name: String,
    pub size: u64,
    /// Indexes into [`Config::instances`].
    pub members: Vec<usize>,
}

/// Shares at most; the smallest and largest size of one.
pub const MAX_SHARES: usize = 4;
pub const MIN_SHARE: u64 = 1 << 20;
pub const MAX_SHARE: u64 = 256 << 20;

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub instances: Vec<Instance>,
    pub channels: Vec<Channel>,
    pub shares: Vec<Share>,
}

/// Why a configuration is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Not TOML, or fields of the wrong type: the parser's message.
    Syntax(String),
    /// TOML, but not a configuration Selkie can run.
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Syntax(m) => write!(f, "not a Selkie configuration: {m}"),
            ConfigError::Invalid(m) => write!(f, "{m}"),
        }
    }
}

/// The file's tables, checked for unknown keys and wrong types by hand (no
/// serde derive: the root task's build cannot link proc macros).
struct RawConfig {
    instance: Vec<RawInstance>,
    channel: Vec<RawChannel>,
    share: Vec<RawShare>,
}

struct RawShare {
    name: String,
    size: String,
    between: Vec<String>,
}

struct RawInstance {
    name: String,
    memory: String,
    init: Option<String>,
    console: bool,
    network: bool,
    disk: bool,
    restart: Option<String>,
    tree: Option<String>,
}

struct RawChannel {
    name: String,
    between: Vec<String>,
}

fn syntax<T>(m: String) -> Result<T, ConfigError> {
    Err(ConfigError::Syntax(m))
}

/// The array of tables `key` (`[[key]]`), or none.
fn tables<'a>(top: &'a toml::Table, key: &str) -> Result<Vec<&'a toml::Table>, ConfigError> {
    match top.get(key) {
        None => Ok(Vec::new()),
        Some(toml::Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                toml::Value::Table(t) => Ok(t),
                _ => syntax(format!("{key}: a table ([[{key}]]) expected")),
            })
            .collect(),
        Some(_) => syntax(format!("{key}: a table ([[{key}]]) expected")),
    }
}

/// Refuses keys of `t` not in `known`.
fn only(t: &toml::Table, what: &str, known: &[&str]) -> Result<(), ConfigError> {
    match t.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => syntax(format!(
            "unknown field `{k}` in [[{what}]], expected one of {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

fn string(t: &toml::Table, what: &str, key: &str) -> Result<Option<String>, ConfigError> {
    match t.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => syntax(format!("[[{what}]] {key}: a string expected")),
    }
}

fn required(t: &toml::Table, what: &str, key: &str) -> Result<String, ConfigError> {
    string(t, what, key)?.map_or_else(|| syntax(format!("[[{what}]]: missing field `{key}`")), Ok)
}

fn boolean(t: &toml::Table, what: &str, key: &str) -> Result<bool, ConfigError> {
    match t.get(key) {
        None => Ok(false),
        Some(toml::Value::Boolean(b)) => Ok(*b),
        Some(_) => syntax(format!("[[{what}]] {key}: true or false expected")),
    }
}

/// The instance names of `between`.
fn names(t: &toml::Table, what: &str) -> Result<Vec<String>, ConfigError> {
    match t.get("between") {
        Some(toml::Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                toml::Value::String(s) => Ok(s.clone()),
                _ => syntax(format!("[[{what}]] between: instance names expected")),
            })
            .collect(),
        Some(_) => syntax(format!("[[{what}]] between: a list of names expected")),
        None => syntax(format!("[[{what}]]: missing field `between`")),
    }
}

impl RawConfig {
    fn parse(text: &str) -> Result<RawConfig, ConfigError> {
        let top: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        if let Some(k) = top
            .keys()
            .find(|k| !["instance", "channel", "share"].contains(&k.as_str()))
        {
            return syntax(format!(
                "unknown field `{k}`, expected `instance`, `channel` or `share`"
            ));
        }
        let mut instance = Vec::new();
        for t in tables(&top, "instance")? {
            only(
                t,
                "instance",
                &[
                    "name", "memory", "init", "console", "network", "disk", "restart", "tree",
                ],
            )?;
            instance.push(RawInstance {
                name: required(t, "instance", "name")?,
                memory: required(t, "instance", "memory")?,
                init: string(t, "instance", "init")?,
                console: boolean(t, "instance", "console")?,
                network: boolean(t, "instance", "network")?,
                disk: boolean(t, "instance", "disk")?,
                restart: string(t, "instance", "restart")?,
                tree: string(t, "instance", "tree")?,
            });
        }
        let mut channel = Vec::new();
        for t in tables(&top, "channel")? {
            only(t, "channel", &["name", "between"])?;
            channel.push(RawChannel {
                name: required(t, "channel", "name")?,
                between: names(t, "channel")?,
            });
        }
        let mut share = Vec::new();
        for t in tables(&top, "share")? {
            only(t, "share", &["name", "size", "between"])?;
            share.push(RawShare {
                name: required(t, "share", "name")?,
                size: required(t, "share", "size")?,
                between: names(t, "share")?,
            });
        }
        Ok(RawConfig {
            instance,
            channel,
            share,
        })
    }
}

/// Names of instances and channels: 1 to 16 of a-z, 0-9 and -.
fn good_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 16
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Bytes from "96M", "1G", "512K" or a plain number.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(1 << shift)
}

impl Config {
    /// One instance with `memory` bytes: the console, the network, the disk
    /// and the given commands (what Selkie runs without a configuration).
    pub fn single(memory: u64, init: Option<String>) -> Config {
        Config {
            instances: alloc::vec![Instance {
                name: "selkie".into(),
                memory,
                init,
                console: true,
                network: true,
                disk: true,
                restart: Restart::Never,
                tree: None,
            }],
            channels: Vec::new(),
            shares: Vec::new(),
        }
    }

    /// Parses and checks a configuration file.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let raw = RawConfig::parse(text)?;
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if raw.instance.is_empty() {
            return invalid("no [[instance]]: at least one is needed".into());
        }
        if raw.instance.len() > MAX_INSTANCES {
            return invalid(format!(
                "{} instances: at most {MAX_INSTANCES}",
                raw.instance.len()
            ));
        }
        let mut instances: Vec<Instance> = Vec::new();
        for r in raw.instance {
            let name = r.name;
            if !good_name(&name) {
                return invalid(format!("instance name {name:?}: 1 to 16 of a-z, 0-9 and -"));
            }
            if instances.iter().any(|i| i.name == name) {
                return invalid(format!("two instances are named {name:?}"));
            }
            let Some(memory) = parse_size(&r.memory) else {
                return invalid(format!(
                    "instance {name}: memory {:?} is not a size (like \"64M\")",
                    r.memory
                ));
            };
            if memory < MIN_MEMORY {
                return invalid(format!(
                    "instance {name}: {} MiB of memory, at least {} MiB",
                    memory >> 20,
                    MIN_MEMORY >> 20
                ));
            }
            let restart = match r.restart.as_deref() {
                None | Some("never") => Restart::Never,
                Some("on-failure") => Restart::OnFailure,
                Some(other) => {
                    return invalid(format!(
                        "instance {name}: restart {other:?}: \"never\" or \"on-failure\""
                    ))
                }
            };
            if r.init.as_deref().is_some_and(|i| i.trim().is_empty()) {
                return invalid(format!("instance {name}: an empty init"));
            }
            if r.tree.as_deref().is_some_and(|t| t.trim().is_empty()) {
                return invalid(format!("instance {name}: an empty tree"));
            }
            instances.push(Instance {
                name,
                memory,
                init: r.init,
                console: r.console,
                network: r.network,
                disk: r.disk,
                restart,
                tree: r.tree,
            });
        }
        for (what, count) in [
            ("console", instances.iter().filter(|i| i.console).count()),
            ("disk", instances.iter().filter(|i| i.disk).count()),
        ] {
            if count > 1 {
                return invalid(format!("{count} instances want the {what}: one at most"));
            }
        }
        if let Some(i) = instances.iter().find(|i| i.init.is_none() && !i.console) {
            return invalid(format!(
                "instance {}: no init and no console (an interactive shell needs the console)",
                i.name
            ));
        }
        let mut channels: Vec<Channel> = Vec::new();
        for r in raw.channel {
            let name = r.name;
            if !good_name(&name) {
                return invalid(format!("channel name {name:?}: 1 to 16 of a-z, 0-9 and -"));
            }
            if channels.iter().any(|c| c.name == name) {
                return invalid(format!("two channels are named {name:?}"));
            }
            let find = |n: &String| instances.iter().position(|i| &i.name == n);
            let ends = match r.between.as_slice() {
                [a, b] if a == b => {
                    return invalid(format!("channel {name}: between {a:?} and itself"))
                }
                [a, b] => match (find(a), find(b)) {
                    (Some(x), Some(y)) => [x, y],
                    (None, _) => return invalid(format!("channel {name}: no instance {a:?}")),
                    (_, None) => return invalid(format!("channel {name}: no instance {b:?}")),
                },
                _ => {
                    return invalid(format!(
                        "channel {name}: between two instances, not {}",
                        r.between.len()
                    ))
                }
            };
            for &e in &ends {
                if channels.iter().filter(|c| c.ends.contains(&e)).count() == MAX_CHANNELS {
                    return invalid(format!(
                        "instance {}: more than {MAX_CHANNELS} channels",
                        instances[e].name
                    ));
                }
            }
            channels.push(Channel { name, ends });
        }
        let mut shares: Vec<Share> = Vec::new();
        for r in raw.share {
            let name = r.name;
            if !good_name(&name) {
                return invalid(format!("share name {name:?}: 1 to 16 of a-z, 0-9 and -"));
            }
            if shares.iter().any(|s| s.name == name) {
                return invalid(format!("two shares are named {name:?}"));
            }
            let size = match parse_size(&r.size) {
                Some(s) if (MIN_SHARE..=MAX_SHARE).contains(&s) => s,
                _ => return invalid(format!("share {name}: size {:?}: from 1M to 256M", r.size)),
            };
            let mut members = Vec::new();
            for m in &r.between {
                match instances.iter().position(|i| &i.name == m) {
                    Some(x) if !members.contains(&x) => members.push(x),
                    Some(_) => return invalid(format!("share {name}: {m:?} named twice")),
                    None => return invalid(format!("share {name}: no instance {m:?}")),
                }
            }
            if members.is_empty() {
                return invalid(format!("share {name}: between no instance"));
            }
            shares.push(Share {
                name,
                size,
                members,
            });
        }
        if shares.len() > MAX_SHARES {
            return invalid(format!("{} shares: at most {MAX_SHARES}", shares.len()));
        }
        Ok(Config {
            instances,
            channels,
            shares,
        })
    }

    /// The channels instance `i` is an end of: (channel index, the other
    /// end), in the configuration's order.
    pub fn channels_of(&self, i: usize) -> Vec<(usize, usize)> {
        self.channels
            .iter()
            .enumerate()
            .filter_map(|(c, ch)| match ch.ends {
                [a, b] if a == i => Some((c, b)),
                [a, b] if b == i => Some((c, a)),
                _ => None,
            })
            .collect()
    }

    /// The longest name, for lining up console prefixes.
    pub fn name_width(&self) -> usize {
        self.instances
            .iter()
            .map(|i| i.name.len())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
