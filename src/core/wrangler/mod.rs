//! What we know about the real wrangler: its command tree and flags (a table generated from
//! `../shared/wrangler/commands.json`), its argv grammar (yargs) and its config files.
//!
//! Nothing here performs I/O except [`config`], which reads the config files it is pointed at.

pub mod argv;
pub mod config;
pub mod dotenv;
pub mod lean;
mod table;

pub use table::{ALIASES, COMMANDS, GLOBAL_FLAGS, NAMESPACES, WRANGLER_VERSION};

use serde::{Deserialize, Serialize};

/// What a call can do to a Cloudflare account, from harmless to most severe.
///
/// The order matters: when several rules apply, the most severe class wins (`max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// No effect on Cloudflare: dev, types, build, `--local` data, `--dry-run`, help.
    Local,
    /// Reads remote state only.
    Read,
    /// Writes to a non-production target.
    Preview,
    /// Changes what production serves or stores (and every unknown shape: fail closed).
    Production,
    /// Remote D1 migrations and remote SQL that writes.
    Migration,
    /// Routes, custom domains, anything that changes traffic routing.
    Dns,
}

impl Class {
    /// Every class, least severe first.
    pub const ALL: [Class; 6] = [
        Class::Local,
        Class::Read,
        Class::Preview,
        Class::Production,
        Class::Migration,
        Class::Dns,
    ];

    /// The stable lower-case name used in explain's JSON, refusals and the README.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Local => "local",
            Class::Read => "read",
            Class::Preview => "preview",
            Class::Production => "production",
            Class::Migration => "migration",
            Class::Dns => "dns",
        }
    }

    /// Classes that need a human (or, later, an approved CI rule) before they run.
    #[must_use]
    pub fn needs_approval(self) -> bool {
        self >= Class::Production
    }
}

/// How a flag consumes the words after it, as yargs does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// `--x`, `--x=true|false`, `--x true|false`, `--no-x`.
    Bool,
    /// `--x v` or `--x=v` (strings and numbers).
    Value,
    /// `--x a b c`: swallows every following word that does not start with `-`.
    Array,
    /// `-v -v`: counts; takes no value.
    Count,
}

/// One flag of a command (or a global flag): its long names (first is canonical), short letters.
#[derive(Debug, PartialEq, Eq)]
pub struct Flag {
    pub long: &'static [&'static str],
    pub short: &'static [char],
    pub kind: FlagKind,
}

impl Flag {
    /// The canonical (first) long name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.long[0]
    }
}

/// One leaf command of wrangler with its class facts (a row of the generated table).
/// Plain flags rather than a state enum: each is an independent fact from classes.json.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, PartialEq, Eq)]
pub struct Command {
    /// Space-joined command path, also the row's stable rule id (`cmd:<path>`).
    pub path: &'static str,
    /// The class when run with no flag that changes it.
    pub class: Class,
    /// Cannot be undone (deletes, purges, rollbacks): production whatever the environment.
    pub destructive: bool,
    /// Writes or prints a secret.
    pub secret: bool,
    /// Local unless `--remote` (or `--local=false`, `--preview`).
    pub local_by_default: bool,
    /// The class when a local-by-default command is switched to remote.
    pub when_remote: Option<Class>,
    /// Remote by default, but `--local` targets a local dev session (workflows, flagship flags).
    pub local_flag_makes_local: bool,
    /// The class with `--dry-run` (no mutation).
    pub when_dry_run: Option<Class>,
    /// `--push` uploads an image (containers build).
    pub push_makes_production: bool,
    /// Acts on the Worker of the selected environment (`<name>-<env>`): wrangler warns when the
    /// config has environments and none is chosen. A non-production environment makes it preview.
    pub env_scoped: bool,
    /// Honours the redirected config `.wrangler/deploy/config.json` written by build tools.
    pub config_redirect: bool,
    pub flags: &'static [Flag],
}

/// The leaf command at `path` (space-joined, canonical).
#[must_use]
pub fn command(path: &str) -> Option<&'static Command> {
    COMMANDS
        .binary_search_by(|c| c.path.cmp(path))
        .ok()
        .map(|i| &COMMANDS[i])
}

/// What a space-joined path names in the command tree.
#[derive(Debug, Clone, Copy)]
pub enum Node {
    Namespace,
    Command(&'static Command),
    /// An alias of another path (namespace or command).
    Alias(&'static str),
}

/// Looks a space-joined path up in the tree.
#[must_use]
pub fn node(path: &str) -> Option<Node> {
    if let Some(c) = command(path) {
        return Some(Node::Command(c));
    }
    if NAMESPACES.binary_search(&path).is_ok() {
        return Some(Node::Namespace);
    }
    ALIASES
        .binary_search_by(|(a, _)| a.cmp(&path))
        .ok()
        .map(|i| Node::Alias(ALIASES[i].1))
}

/// Top-level words of wrangler (commands and namespaces): safe-wrangler's own verbs must not
/// shadow any of these.
pub fn top_level_words() -> impl Iterator<Item = &'static str> {
    COMMANDS
        .iter()
        .map(|c| c.path)
        .chain(NAMESPACES.iter().copied())
        .chain(ALIASES.iter().map(|(a, _)| *a))
        .map(|p| p.split(' ').next().unwrap_or(p))
}

/// `--dryRun` -> `dry-run` (yargs camel-case expansion), lower-casing every capital.
pub(crate) fn kebab(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for ch in name.chars() {
        if ch.is_ascii_uppercase() {
            out.push('-');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(COMMANDS.windows(2).all(|w| w[0].path < w[1].path));
        assert!(NAMESPACES.windows(2).all(|w| w[0] < w[1]));
        assert!(ALIASES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn lookups() {
        assert!(matches!(node("deploy"), Some(Node::Command(_))));
        assert!(matches!(node("d1"), Some(Node::Namespace)));
        assert!(matches!(
            node("pages publish"),
            Some(Node::Alias("pages deploy"))
        ));
        assert!(node("publish").is_none());
        assert!(node("kv:namespace").is_none());
    }
}
