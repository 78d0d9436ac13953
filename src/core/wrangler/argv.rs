//! Wrangler's argv, read token by token the way yargs reads it.
//!
//! We never rewrite the user's argv: this reading only feeds the classifier. Where our reading
//! could differ from wrangler's (a flag we do not know, a short-flag cluster such as
//! `-eproduction`, a repeated `--env`), the shape is recorded in [`Invocation::problems`] and the
//! classifier fails closed.
//!
//! yargs facts mirrored here (`../shared/wrangler/README.md`, `commands.json` notes):
//! - global flags may precede the command; a command's own flags are known only once the command
//!   words have been read, so an unknown flag before them is ambiguous (is the next word its value
//!   or a command?);
//! - `--x=v` and `--x v`; a string flag followed by a word starting with `-` gets `""`;
//! - array flags (`--env-file`, `--routes`, ...) swallow every following word that does not start
//!   with `-`, even in the `--x=v` form;
//! - booleans take `=true|false` or a following `true|false` word; `--no-x` negates;
//! - camelCase spellings are the kebab-case flag (`--dryRun` is `--dry-run`);
//! - `--` ends the options: everything after it is positional.

use std::ffi::OsString;

use super::{Command, Flag, FlagKind, GLOBAL_FLAGS, Node, node};

/// A flag's value as yargs would hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagValue {
    Bool(bool),
    Str(String),
    List(Vec<String>),
    Count,
}

/// One flag occurrence, under its canonical long name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenFlag {
    pub name: &'static str,
    pub value: FlagValue,
}

/// A shape we cannot read exactly as wrangler would. Any problem makes the call fail closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A flag neither global nor the command's own (or placed before the command words).
    UnknownFlag(String),
    /// A cluster of short flags we cannot split safely (`-eproduction`).
    ShortCluster(String),
    /// A single-value flag given more than once (`--env a --env b`): wrangler rejects it.
    Repeated(&'static str),
    /// A word that is not a command where a command was expected (`wrangler publish`).
    UnknownCommand(String),
    /// An argument that is not valid UTF-8 where a command or flag name was expected.
    NotUtf8,
    /// A boolean given a value other than `true`/`false` (`--dry-run=0`).
    AmbiguousBoolean(String),
}

impl Problem {
    /// A one-line description for explain and refusals.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Problem::UnknownFlag(f) => format!("unknown flag {}", flag_only(f)),
            Problem::ShortCluster(f) => {
                format!(
                    "short-flag cluster {} (wrangler splits it into letters)",
                    flag_only(f)
                )
            }
            Problem::Repeated(f) => format!("--{f} given more than once"),
            Problem::UnknownCommand(w) => {
                format!("unknown command word {:?}", crate::display::redact_word(w))
            }
            Problem::NotUtf8 => "an argument that is not UTF-8".to_owned(),
            Problem::AmbiguousBoolean(f) => format!("{f}: only true or false are unambiguous"),
        }
    }
}

/// A flag as it may be echoed: its value (after `=`) is never shown, it may be a secret.
fn flag_only(word: &str) -> String {
    match word.split_once('=') {
        Some((flag, _)) => format!("{flag}=..."),
        None => crate::display::redact_word(word),
    }
}

/// Wrangler's argv as read by yargs.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// The canonical command path (aliases resolved), space-joined; empty when there is none.
    pub path: String,
    /// The leaf command, when the path names one.
    pub command: Option<&'static Command>,
    /// Every flag occurrence in order.
    pub flags: Vec<SeenFlag>,
    /// Positional words after the command path (including those after `--`).
    pub positionals: Vec<String>,
    /// Shapes we could not read exactly.
    pub problems: Vec<Problem>,
    /// Index in argv of the first bare `--`, if any: anything we add to argv goes before it.
    pub end_of_options: Option<usize>,
    /// How many of `flags` came before the first command word (`--env staging deploy`): a
    /// deploy handed to `OpenNext` passes on only the words after `deploy`.
    pub flags_before_command: usize,
}

impl Invocation {
    /// The last value of a single-value flag (yargs: last wins).
    #[must_use]
    pub fn value(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|f| f.name == name)
            .and_then(|f| match &f.value {
                FlagValue::Str(s) => Some(s.as_str()),
                FlagValue::List(l) => l.last().map(String::as_str),
                FlagValue::Bool(_) | FlagValue::Count => None,
            })
    }

    /// Every value given to a flag, in order (array flags and repeats).
    #[must_use]
    pub fn values(&self, name: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for f in self.flags.iter().filter(|f| f.name == name) {
            match &f.value {
                FlagValue::Str(s) => out.push(s.as_str()),
                FlagValue::List(l) => out.extend(l.iter().map(String::as_str)),
                FlagValue::Bool(_) | FlagValue::Count => {}
            }
        }
        out
    }

    /// A boolean flag's value (last wins); `None` when absent.
    #[must_use]
    pub fn boolean(&self, name: &str) -> Option<bool> {
        self.flags
            .iter()
            .rev()
            .find(|f| f.name == name)
            .map(|f| match &f.value {
                FlagValue::Bool(b) => *b,
                FlagValue::Count => true,
                // yargs coerces a string given to a boolean option: only "false" is false.
                FlagValue::Str(s) => s != "false",
                FlagValue::List(l) => l.last().is_none_or(|s| s != "false"),
            })
    }

    /// Whether the flag appears at all.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f.name == name)
    }
}

fn find_long<'a>(sets: &[&'a [Flag]], name: &str) -> Option<&'a Flag> {
    let kebabed = super::kebab(name);
    sets.iter()
        .flat_map(|s| s.iter())
        .find(|f| f.long.iter().any(|l| *l == name || *l == kebabed))
}

fn find_short<'a>(sets: &[&'a [Flag]], ch: char) -> Option<&'a Flag> {
    sets.iter()
        .flat_map(|s| s.iter())
        .find(|f| f.short.contains(&ch))
}

/// yargs's "looks like a flag" test: starts with `-` and is not a negative number.
fn is_flag_like(word: &str) -> bool {
    word.starts_with('-') && word.len() > 1 && word[1..].parse::<f64>().is_err()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Flags whose repetition wrangler rejects ("expects a single value").
const SINGLE_VALUE: &[&str] = &["env", "config", "cwd", "name"];

/// Reads wrangler's argv (without argv[0]).
#[must_use]
pub fn parse(args: &[OsString]) -> Invocation {
    let words: Vec<Option<&str>> = args.iter().map(|a| a.to_str()).collect();
    let mut inv = Invocation::default();
    let mut path = String::new();
    let mut leaf: Option<&'static Command> = None;
    // While still reading command words, an unknown word is an unknown command.
    let mut reading_path = true;
    let mut i = 0;
    while i < words.len() {
        let Some(word) = words[i] else {
            // Non-UTF-8: node decodes it (to U+FFFD) and wrangler may take it as a command, a
            // flag or a path (`--cwd`, a script whose directory picks the config) that we cannot
            // follow exactly: fail closed. After `--` it is only a positional.
            inv.problems.push(Problem::NotUtf8);
            inv.positionals.push(args[i].to_string_lossy().into_owned());
            reading_path = false;
            i += 1;
            continue;
        };
        if word == "--" {
            inv.end_of_options = Some(i);
            inv.positionals.extend(
                args[i + 1..]
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned()),
            );
            break;
        }
        let sets: Vec<&'static [Flag]> = match leaf {
            Some(c) => vec![GLOBAL_FLAGS, c.flags],
            None => vec![GLOBAL_FLAGS],
        };
        if let Some(long) = word.strip_prefix("--").filter(|w| !w.is_empty()) {
            i = read_long(&mut inv, &sets, &words, i, long);
            continue;
        }
        if is_flag_like(word) {
            i = read_short(&mut inv, &sets, &words, i, &word[1..]);
            continue;
        }
        // A word: descend the command tree while it names a child.
        if reading_path {
            let candidate = if path.is_empty() {
                word.to_owned()
            } else {
                format!("{path} {word}")
            };
            if path.is_empty() {
                inv.flags_before_command = inv.flags.len();
            }
            match node(&candidate) {
                Some(Node::Namespace) => {
                    path = candidate;
                    leaf = None;
                }
                Some(Node::Command(c)) => {
                    path = candidate;
                    leaf = Some(c);
                }
                Some(Node::Alias(target)) => {
                    target.clone_into(&mut path);
                    leaf = super::command(target);
                }
                None => {
                    if leaf.is_none() {
                        inv.problems.push(Problem::UnknownCommand(word.to_owned()));
                    }
                    reading_path = false;
                    inv.positionals.push(word.to_owned());
                }
            }
        } else {
            inv.positionals.push(word.to_owned());
        }
        i += 1;
    }
    inv.path = path;
    inv.command = leaf;
    for name in SINGLE_VALUE {
        // wrangler lets `dev`, `types` and `pages dev` take several `--config` (its
        // `demandSingleValue("config", ...)` exception; verified: `types -c a -c b` runs and
        // `deploy -c a -c b` is rejected).
        let several_allowed =
            *name == "config" && matches!(inv.path.as_str(), "dev" | "types" | "pages dev");
        if !several_allowed && inv.flags.iter().filter(|f| f.name == *name).count() > 1 {
            inv.problems.push(Problem::Repeated(name));
        }
    }
    // wrangler rewrites argv before yargs reads it for this flag (`deferred <duration>` takes two
    // words), so the words after it are not what our reading says they are.
    if inv.has("durable-objects-code-update-mode") {
        inv.problems.push(Problem::UnknownFlag(
            "--durable-objects-code-update-mode (wrangler rewrites the words after it)".into(),
        ));
    }
    inv
}

/// Reads `--name[=value]` at `words[i]`; returns the index of the next unread word.
fn read_long(
    inv: &mut Invocation,
    sets: &[&'static [Flag]],
    words: &[Option<&str>],
    i: usize,
    long: &str,
) -> usize {
    let (name, inline) = match long.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (long, None),
    };
    let flag = find_long(sets, name);
    let (flag, negated) = match flag {
        Some(f) => (f, false),
        None => match name
            .strip_prefix("no-")
            .and_then(|rest| find_long(sets, rest))
        {
            Some(f) if f.kind == FlagKind::Bool => (f, true),
            _ => {
                inv.problems.push(Problem::UnknownFlag(format!("--{name}")));
                // yargs would give an unknown flag the next word as its value.
                return i + 1;
            }
        },
    };
    read_value(inv, flag, words, i, inline, negated)
}

/// Reads `-x`, `-x=value` or a cluster `-abc` at `words[i]`.
fn read_short(
    inv: &mut Invocation,
    sets: &[&'static [Flag]],
    words: &[Option<&str>],
    i: usize,
    body: &str,
) -> usize {
    let (letters, inline) = match body.split_once('=') {
        Some((l, v)) => (l, Some(v)),
        None => (body, None),
    };
    let mut chars = letters.chars();
    let (Some(first), None) = (chars.next(), chars.next()) else {
        // A cluster: acceptable only when every letter is a known flag taking no value.
        let all_plain = inline.is_none()
            && letters.chars().all(|ch| {
                find_short(sets, ch)
                    .is_some_and(|f| matches!(f.kind, FlagKind::Bool | FlagKind::Count))
            });
        if all_plain {
            for ch in letters.chars() {
                if let Some(f) = find_short(sets, ch) {
                    let value = if f.kind == FlagKind::Count {
                        FlagValue::Count
                    } else {
                        FlagValue::Bool(true)
                    };
                    inv.flags.push(SeenFlag {
                        name: f.name(),
                        value,
                    });
                }
            }
        } else {
            inv.problems.push(Problem::ShortCluster(format!("-{body}")));
        }
        return i + 1;
    };
    if let Some(flag) = find_short(sets, first) {
        read_value(inv, flag, words, i, inline, false)
    } else {
        inv.problems.push(Problem::UnknownFlag(format!("-{first}")));
        i + 1
    }
}

/// Takes the flag's value from `inline` or from the following words, as yargs does.
fn read_value(
    inv: &mut Invocation,
    flag: &'static Flag,
    words: &[Option<&str>],
    i: usize,
    inline: Option<&str>,
    negated: bool,
) -> usize {
    let next = words.get(i + 1).copied().flatten();
    let (value, next_i) = match flag.kind {
        FlagKind::Count => (FlagValue::Count, i + 1),
        FlagKind::Bool => {
            if negated {
                (FlagValue::Bool(false), i + 1)
            } else if let Some(v) = inline {
                // yargs-parser turns an inline string into `v === "true"`, while its docs and
                // other versions accept 0/1: take only the unambiguous spellings.
                if let Some(b) = parse_bool(v) {
                    (FlagValue::Bool(b), i + 1)
                } else {
                    inv.problems
                        .push(Problem::AmbiguousBoolean(format!("--{}={v}", flag.name())));
                    (FlagValue::Bool(true), i + 1)
                }
            } else if let Some(b) = next.and_then(parse_bool) {
                (FlagValue::Bool(b), i + 2)
            } else {
                (FlagValue::Bool(true), i + 1)
            }
        }
        FlagKind::Value => match inline {
            Some(v) => (FlagValue::Str(v.to_owned()), i + 1),
            None => match next {
                Some(n) if !is_flag_like(n) && n != "--" => (FlagValue::Str(n.to_owned()), i + 2),
                // A non-UTF-8 value: consumed; the shape counts as unknown.
                None if i + 1 < words.len() => {
                    inv.problems.push(Problem::NotUtf8);
                    (FlagValue::Str(String::new()), i + 2)
                }
                _ => (FlagValue::Str(String::new()), i + 1),
            },
        },
        FlagKind::Array => {
            let mut list: Vec<String> = inline.map(str::to_owned).into_iter().collect();
            let mut j = i + 1;
            while j < words.len() {
                match words[j] {
                    Some(w) if is_flag_like(w) || w == "--" => break,
                    Some(w) => list.push(w.to_owned()),
                    None => {
                        inv.problems.push(Problem::NotUtf8);
                        list.push(String::new());
                    }
                }
                j += 1;
            }
            (FlagValue::List(list), j)
        }
    };
    inv.flags.push(SeenFlag {
        name: flag.name(),
        value,
    });
    next_i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Invocation {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        parse(&args)
    }

    #[test]
    fn command_paths_and_aliases() {
        assert_eq!(p("deploy").path, "deploy");
        assert_eq!(
            p("d1 migrations apply DB --local").path,
            "d1 migrations apply"
        );
        assert_eq!(p("pages publish dist").path, "pages deploy");
        assert_eq!(p("d1").path, "d1");
        assert!(p("d1").command.is_none());
        assert_eq!(
            p("publish").problems,
            vec![Problem::UnknownCommand("publish".into())]
        );
        assert_eq!(
            p("kv:namespace list").problems,
            vec![Problem::UnknownCommand("kv:namespace".into())]
        );
    }

    #[test]
    fn env_flag_shapes() {
        for line in [
            "deploy --env production",
            "deploy --env=production",
            "deploy -e production",
            "deploy -e=production",
            "--env production deploy",
            "-e production deploy",
        ] {
            let inv = p(line);
            assert_eq!(inv.path, "deploy", "{line}");
            assert_eq!(inv.value("env"), Some("production"), "{line}");
            assert!(inv.problems.is_empty(), "{line}: {:?}", inv.problems);
        }
        assert!(matches!(
            p("deploy -eproduction").problems[..],
            [Problem::ShortCluster(_)]
        ));
        assert_eq!(
            p("deploy --env a --env b").problems,
            vec![Problem::Repeated("env")]
        );
        assert_eq!(p("deploy --env=").value("env"), Some(""));
        assert_eq!(p("deploy --env --dry-run").value("env"), Some(""));
    }

    #[test]
    fn booleans_as_yargs_reads_them() {
        assert_eq!(p("deploy --dry-run").boolean("dry-run"), Some(true));
        assert_eq!(p("deploy --dryRun").boolean("dry-run"), Some(true));
        assert_eq!(p("deploy --dry-run=false").boolean("dry-run"), Some(false));
        assert_eq!(p("deploy --dry-run false").boolean("dry-run"), Some(false));
        assert_eq!(p("deploy --no-dry-run").boolean("dry-run"), Some(false));
        assert_eq!(
            p("deploy --dry-run --no-dry-run").boolean("dry-run"),
            Some(false)
        );
        assert_eq!(p("d1 execute DB --no-local").boolean("local"), Some(false));
        // `false` consumed as the boolean's value, not a positional
        assert!(p("deploy --dry-run false").positionals.is_empty());
    }

    #[test]
    fn array_flags_swallow_following_words() {
        let inv = p("--env-file /dev/null d1 migrations apply DB --local");
        assert_eq!(inv.path, "");
        assert_eq!(
            inv.values("env-file"),
            vec!["/dev/null", "d1", "migrations", "apply", "DB"]
        );
        let inv = p("deploy --routes a.com/* b.com/* --dry-run");
        assert_eq!(inv.values("routes"), vec!["a.com/*", "b.com/*"]);
        assert_eq!(inv.boolean("dry-run"), Some(true));
    }

    #[test]
    fn flags_before_the_command_words_are_ambiguous_unless_global() {
        assert!(
            p("--dry-run deploy")
                .problems
                .contains(&Problem::UnknownFlag("--dry-run".into()))
        );
        assert!(p("-c wrangler.toml deploy").problems.is_empty());
        assert!(
            p("d1 --remote migrations apply DB")
                .problems
                .iter()
                .any(|x| matches!(x, Problem::UnknownFlag(_)))
        );
    }

    #[test]
    fn end_of_options() {
        let inv = p("deploy -- --dry-run");
        assert_eq!(inv.boolean("dry-run"), None);
        assert_eq!(inv.end_of_options, Some(1));
        assert_eq!(inv.positionals, vec!["--dry-run"]);
    }

    #[test]
    fn non_utf8_never_names_a_command() {
        use std::os::unix::ffi::OsStringExt;
        let args = vec![OsString::from_vec(vec![0x66, 0xff])];
        assert_eq!(parse(&args).problems, vec![Problem::NotUtf8]);
        let args = vec![
            OsString::from("deploy"),
            OsString::from("--name"),
            OsString::from_vec(vec![0xff]),
        ];
        let inv = parse(&args);
        assert_eq!(
            inv.problems,
            vec![Problem::NotUtf8],
            "a path we cannot read exactly"
        );
        assert!(inv.positionals.is_empty());
        let args = vec![
            OsString::from("deploy"),
            OsString::from_vec(b"--cwd=\xff".to_vec()),
        ];
        assert_eq!(parse(&args).problems, vec![Problem::NotUtf8]);
        let args = vec![
            OsString::from("dev"),
            OsString::from("--"),
            OsString::from_vec(vec![0xff]),
        ];
        assert!(
            parse(&args).problems.is_empty(),
            "after `--` it is only a positional"
        );
    }
}

/// Property tests: fixed seed, bounded cases, no regression files.
#[cfg(test)]
mod props {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed, TestRunner};

    use super::parse;

    fn runner(cases: u32) -> TestRunner {
        TestRunner::new(Config {
            cases,
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(0xa5_9f),
            ..Config::default()
        })
    }

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    const TOKENS: &[&str] = &[
        "deploy",
        "d1",
        "migrations",
        "apply",
        "kv",
        "key",
        "put",
        "--env",
        "-e",
        "--env=",
        "-eproduction",
        "--",
        "-",
        "--config",
        "-c",
        "--dry-run",
        "--no-dry-run",
        "--dryRun",
        "--local",
        "--remote=false",
        "-x",
        "-yd",
        "--var",
        "A:b",
        "--env-file",
        "=",
        "",
        "production",
        "versions",
        "upload",
        "pages",
        "--help",
        "-h",
        "é",
        "--é",
        "-é",
        "\u{202e}",
    ];

    fn word() -> impl Strategy<Value = OsString> {
        prop_oneof![
            prop::sample::select(TOKENS).prop_map(OsString::from),
            any::<String>().prop_map(OsString::from),
            prop::collection::vec(any::<u8>(), 0..6).prop_map(OsString::from_vec),
        ]
    }

    /// Any argv: parsed without a panic, deterministically.
    #[test]
    fn any_argv_parses() {
        runner(3000)
            .run(&prop::collection::vec(word(), 0..12), |args| {
                let a = parse(&args);
                let b = parse(&args);
                prop_assert_eq!(&a.path, &b.path);
                prop_assert_eq!(&a.problems, &b.problems);
                prop_assert_eq!(&a.flags, &b.flags);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Command lines whose reading is known.
    const LINES: &[&[&str]] = &[
        &["deploy"],
        &["whoami"],
        &["versions", "upload"],
        &["d1", "migrations", "apply", "DB", "--remote"],
        &["kv", "key", "put", "k", "v", "--binding", "KV"],
        &["r2", "object", "get", "b/k"],
        &["pages", "deploy", "dist", "--branch", "main"],
        &["tail", "shop"],
    ];

    /// Global flags that never change which command runs, each with its value.
    const SAFE: &[&[&str]] = &[
        &["--config", "wrangler.toml"],
        &["--cwd", "app"],
        &["--env", "staging"],
        &["--profile", "p"],
    ];

    /// Adding known global flags (before or after the command, in any order, each once) keeps the
    /// command, its positionals and its problems, and reads each flag's value; an unknown flag
    /// always adds a problem (the call is then read as unknown, never as something milder).
    #[test]
    fn known_global_flags_keep_the_reading_and_unknown_ones_fail_closed() {
        let strategy = (
            prop::sample::select(LINES),
            prop::sample::subsequence(SAFE, 0..=SAFE.len()).prop_shuffle(),
            any::<bool>(),
            any::<bool>(),
            "[a-z]{1,8}",
        );
        runner(1500)
            .run(&strategy, |(line, flags, before, equals, unknown)| {
                let base = parse(&os(line));
                let mut words: Vec<String> = Vec::new();
                for f in &flags {
                    if equals && f[0].starts_with("--") {
                        words.push(format!("{}={}", f[0], f[1]));
                    } else {
                        words.extend(f.iter().map(|s| (*s).to_owned()));
                    }
                }
                let all: Vec<String> = if before {
                    words
                        .iter()
                        .cloned()
                        .chain(line.iter().map(|s| (*s).to_owned()))
                        .collect()
                } else {
                    line.iter()
                        .map(|s| (*s).to_owned())
                        .chain(words.iter().cloned())
                        .collect()
                };
                let args: Vec<OsString> = all.iter().map(OsString::from).collect();
                let got = parse(&args);
                prop_assert_eq!(&got.path, &base.path, "{:?}", all);
                prop_assert_eq!(&got.positionals, &base.positionals, "{:?}", all);
                prop_assert_eq!(&got.problems, &base.problems, "{:?}", all);
                for f in &flags {
                    let name = f[0].trim_start_matches('-');
                    prop_assert_eq!(got.value(name), Some(f[1]), "{:?}", all);
                }
                let mut odd = args.clone();
                odd.insert(odd.len().min(1), OsString::from(format!("--zz-{unknown}")));
                prop_assert!(!parse(&odd).problems.is_empty(), "{:?}", odd);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
