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
//!
//! [[instance]]
//! name = "beta"
//! memory = "64M"
//! init = "/bin/sh -c 'echo hello'"
//! ```
//!
//! Without a file the configuration is [`Config::single`]: one instance,
//! as Selkie ran before instances existed.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod partition;

pub use partition::{plan, Chunk, PlanError, Pool, Untyped};

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// The smallest memory quota an instance may have: a LibOS with its fs
/// task, a shell and room to run a few commands.
pub const MIN_MEMORY: u64 = 32 << 20;
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
}

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub instances: Vec<Instance>,
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

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    instance: Vec<RawInstance>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    name: String,
    memory: String,
    init: Option<String>,
    #[serde(default)]
    console: bool,
    #[serde(default)]
    network: bool,
    #[serde(default)]
    disk: bool,
    restart: Option<String>,
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
            }],
        }
    }

    /// Parses and checks a configuration file.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
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
            let good_name = !name.is_empty()
                && name.len() <= 16
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !good_name {
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
            instances.push(Instance {
                name,
                memory,
                init: r.init,
                console: r.console,
                network: r.network,
                disk: r.disk,
                restart,
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
        Ok(Config { instances })
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
