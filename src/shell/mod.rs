//! Finding the wrangler calls in a line of shell text, for agent hooks.
//!
//! An AI agent is about to run a command line; [`find_wrangler`] lists every wrangler call that
//! text would make, with the words wrangler would get, so the hook can decide each one. It parses
//! the text the way bash does instead of matching patterns in it, because only a parse tells
//! `grep wrangler README.md` (no call) from `wr''angler deploy` (a call). It is pure, std only,
//! linear in its input, bounded ([`MAX_INPUT`], [`MAX_DEPTH`]), and never panics.
//!
//! # What is understood
//!
//! - Lists and pipelines (`;`, `&&`, `||`, `|`, `|&`, `&`, newlines, `!`, the `time` keyword),
//!   subshells `( ... )`, groups `{ ...; }`, `if`, `while`, `until`, `for`, `select`, `case`,
//!   `[[ ... ]]`, `(( ... ))`, comments.
//! - Command substitution `$(...)` and backquotes, also inside double quotes, `${...}` and
//!   arithmetic; process substitution `<(...)`; here-documents (an unquoted one is expanded, so
//!   its substitutions are parsed too).
//! - Quoting: `'...'`, `"..."` with its backslash rules, `$'...'` (escapes decoded), `$"..."`,
//!   backslashes and line continuations. Quote removal happens before the command is named, so
//!   `\wrangler`, `'wrangler'` and `wr''angler` are all wrangler.
//! - The strings run by `bash -c`, `sh -c`, `zsh -c`, `dash -c` (and ksh, ash, mksh, fish, ...),
//!   `watch`, `npx -c`, `npm exec -c`, `pnpm exec -c`, `bun exec`, and the commands of
//!   `find -exec`: parsed recursively, at most [`MAX_DEPTH`] levels deep.
//! - Leading `NAME=value` assignments; `export`, `declare`, bare assignments and `unset` earlier in
//!   the same shell; `cd`, `pushd`, `popd` for the later commands of the same shell. A subshell,
//!   a pipeline element, a substitution or a background job keeps these changes to itself. A `cd`
//!   is assumed to succeed.
//! - Wrappers, with their options: `env` (`-i`, `-u NAME`, `-C DIR`, `NAME=value`), `sudo` and
//!   `doas` (`-u USER`, `-E`, `-D DIR`, `NAME=value`, `--`), `command` (`-v` runs nothing),
//!   `builtin`, `exec`, `time`, `nice`, `nohup`, `timeout`, `stdbuf`, `setsid`, `ionice`,
//!   `taskset`, `chrt`, `caffeinate`, `busybox`, `corepack`, `xargs` (the command follows its
//!   options; the words it appends from its input are unknown: [`Invocation::unknown_args`]).
//! - Wrangler named by any path whose base name is `wrangler` (in any case: on macOS `Wrangler`
//!   finds it too) and the package runners: `npx [options] wrangler[@version]`, `npm exec`/`npm x`
//!   (with or without `--`), `pnpm exec|dlx|wrangler`, `pnpx`, `yarn exec|dlx|run|wrangler`,
//!   `bunx`, `bun x|run|wrangler`, `node <wrangler's script>`, `node_modules/.bin/wrangler`: one
//!   table of their spellings (`runners.rs`), checked against npm 11 and the pnpm, yarn and bun
//!   documentation. The wrangler version a runner is asked for ([`Invocation::versions`]) and
//!   whether the line runs a package.json script ([`Reading::runs_script`]) are reported too.
//! - `safe-wrangler ...` is reported with `via: "safe-wrangler"` (already guarded), except its own
//!   verbs ([`crate::core::OWN_VERBS`]), which are not wrangler calls.
//!
//! # What is uncertain (fail closed)
//!
//! Text that does not mention wrangler (case-insensitively, ignoring quotes and backslashes, or
//! in a decoded `$'...'` string) gives no findings, quickly. Text that does mention it gets an
//! [`Finding::Uncertain`] finding for anything that cannot be known from the text:
//!
//! - a command name that comes from an expansion (`$w deploy`, `${W}`, `$(echo wrangler) deploy`)
//!   or that the shell would expand (`wr*`, `{wrangler,x}`);
//! - an argument of a wrangler call that comes from an expansion (`--env $ENV`, `"$@"`) or that the
//!   shell would glob or brace-expand; `CLOUDFLARE_ENV` set from an expansion; a working directory
//!   that is only known at run time (`cd "$DIR"`, `cd -` with no earlier `cd`, `pnpm --filter`,
//!   `yarn workspace`); `npm exec` without `--` when flags follow the command (npm takes them);
//! - `eval`, `source`/`.`, `alias`, shell function definitions (they change what later words
//!   run), `env -S`, a `bash -c` string that is built at run time or is filled in by `xargs -I`
//!   or `find`;
//! - a shell or interpreter that reads commands from a pipe (`... | bash`), a here-document or
//!   here-string that mentions wrangler fed to anything but a plain data command, `node -e` or
//!   `python -c` code that mentions wrangler, and any other command we do not know that is given
//!   a word that looks like wrangler or like code mentioning it (`ssh host wrangler deploy`,
//!   `op run -- wrangler deploy`, `npm run wrangler`);
//! - a file written with text that mentions wrangler (`cat > run.sh <<EOF`, `echo ... > x`) in
//!   a command line that also runs a script we cannot see (`bash run.sh`, `./run.sh`);
//! - syntax we cannot parse: unterminated quotes or substitutions, unbalanced parentheses, stray
//!   keywords; nesting deeper than [`MAX_DEPTH`]; input larger than [`MAX_INPUT`].
//!
//! Aliases and functions defined before the text runs cannot be known and are not considered, nor
//! is a command name spelled without the word at all (`a=wran; ${a}gler`): this is a guardrail
//! for well-meaning agents, not a sandbox (README, "What it protects against").
//!
//! Globs and `~` in arguments of other commands are kept literally; so are the values of
//! assignments (`PATH=$PATH` is reported as written).

use std::collections::HashSet;
use std::rc::Rc;

use serde::Serialize;

/// The longest text parsed. An agent's command line is a few hundred bytes; anything longer that
/// mentions wrangler is uncertain rather than parsed.
pub const MAX_INPUT: usize = 64 * 1024;

/// How deeply constructs may nest (subshells, groups, compound commands, substitutions, `bash -c`
/// strings) before the text is uncertain. Bounds the parser's recursion, and with it its stack.
pub const MAX_DEPTH: usize = 8;

/// Bytes parsed in all, counting each re-parsed string (`bash -c`, backquotes, here-documents)
/// again: a second bound on the work, however the nesting is arranged.
const MAX_WORK: usize = 16 * MAX_INPUT;

/// Findings kept; more wrangler calls than this in one command line is uncertain.
const MAX_FINDINGS: usize = 256;

/// Variables tracked through `export`/assignments/`unset` in one shell, and the longest value;
/// beyond either the later wrangler calls are uncertain (keeps every copy small).
const MAX_VARS: usize = 64;
const MAX_VALUE: usize = 4096;

/// The longest working directory tracked through `cd`s; beyond it the directory is unknown.
const MAX_CWD: usize = 1024;

/// The values of [`Invocation::via`]: how the call reaches wrangler.
pub mod via {
    /// `wrangler` looked up on PATH (the safe-wrangler shim, if it is installed first on PATH).
    pub const DIRECT: &str = "direct";
    /// A path: `./node_modules/.bin/wrangler`, `/usr/local/bin/wrangler`.
    pub const PATH: &str = "path";
    pub const NPX: &str = "npx";
    pub const NPM_EXEC: &str = "npm exec";
    pub const PNPM: &str = "pnpm";
    pub const YARN: &str = "yarn";
    pub const BUNX: &str = "bunx";
    pub const BUN: &str = "bun";
    /// `node path/to/wrangler/bin/wrangler.js`.
    pub const NODE: &str = "node";
    /// `safe-wrangler ...`: already guarded.
    pub const SAFE_WRANGLER: &str = "safe-wrangler";
}

/// One wrangler call found in the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invocation {
    /// The words after the wrangler word (or after the runner's package), quotes removed.
    pub argv: Vec<String>,
    /// Variables set for the call, in order: `export`/assignments earlier in the same shell, then
    /// leading `NAME=value`, then those given to `env` and `sudo`. Values as written (`$PATH`
    /// stays `$PATH`). A credential here ([`Invocation::credentials`]) must be refused.
    pub assignments: Vec<(String, String)>,
    /// Variables removed for the call: `unset NAME` earlier, `env -u NAME`.
    pub unset: Vec<String>,
    /// The environment is emptied first (`env -i`): wrangler sees at most `assignments`, none of
    /// the agent's own variables.
    pub env_cleared: bool,
    /// The directory wrangler runs in, from `cd`/`pushd` earlier in the same shell and from
    /// `env -C`, `sudo -D`, `pnpm -C`, `yarn --cwd`, `npm -w DIR`, `bun --cwd`, joined as
    /// written (`app/..`, `~/x`): relative to the agent's directory unless absolute or `~`.
    /// `None`: the agent's directory.
    pub cwd: Option<String>,
    /// How wrangler is reached: one of the [`via`] constants.
    pub via: &'static str,
    /// The program as written when it is a path (`via` [`via::PATH`]: `/usr/local/bin/wrangler`,
    /// `./node_modules/.bin/wrangler`) or node's script ([`via::NODE`]): what runs, unless it leads
    /// to safe-wrangler, is the real wrangler, unguarded.
    pub program: Option<String>,
    /// What the call is wrapped in, outermost first: `sudo`, `env`, `timeout`, `xargs`,
    /// `bash -c`, `find -exec`, `watch`, ...
    pub wrappers: Vec<&'static str>,
    /// More words are filled in at run time and cannot be seen: `xargs` appends its input,
    /// `find -exec` and `xargs -I` substitute file names. Decide as if anything could follow.
    pub unknown_args: bool,
    /// The versions of the wrangler package this call may run, as written: first the one its
    /// runner resolves (`npx wrangler@3`, `pnpm dlx wrangler@^3.1`, `npx -p wrangler@2
    /// wrangler`), then every other `wrangler@VERSION` the command line names in any word, after
    /// quote removal (`npm i wrangler@3 && npx wrangler deploy` runs wrangler 3). Empty: the
    /// installed wrangler (or whatever the runner finds). A word we cannot read gives its text
    /// as written (`$V`), which is no version: callers treat anything but 4 as not 4.
    pub versions: Vec<String>,
    /// The command line touches `CLOUDFLARE_ENV` somewhere (an assignment, `export`, `unset`,
    /// `env -u`, `read`, `printf -v`, a `for` variable, an expansion, or a variable-setting
    /// builtin given a name only known at run time): how the shell sets it for this call is more
    /// than we follow, so a caller decides with and without it.
    pub cloudflare_env: bool,
}

/// Whether a version of the wrangler package, as written after `wrangler@`, is wrangler 4:
/// `4`, `4.x`, `^4.1`, `~4.2.0`, `=4`, `v4`, or `latest` (today 4.x). Anything else (`3`,
/// `>=3`, `next`, a tag, a URL, text from an expansion) is not known to be 4.
#[must_use]
pub fn is_wrangler_4(spec: &str) -> bool {
    if spec == "latest" {
        return true;
    }
    let v = spec.trim_start_matches(['^', '~', '=', 'v']);
    v.strip_prefix('4')
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// The first version of the wrangler package, other than 4, that a call found may run
/// ([`Invocation::versions`], [`is_wrangler_4`]): the agent hook denies such a line and doctor
/// names such a script.
#[must_use]
pub fn version_other_than_4(findings: &[Finding]) -> Option<String> {
    findings.iter().find_map(|f| match f {
        Finding::Wrangler(inv) => inv.versions.iter().find(|v| !is_wrangler_4(v)).cloned(),
        Finding::Uncertain { .. } => None,
    })
}

/// What a command line does, as far as its text tells: the wrangler calls, and the facts about
/// the whole line that a caller needs besides them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reading {
    pub findings: Vec<Finding>,
    /// The line runs a package.json script, or may (the reader cannot tell): `npm run X`,
    /// `npm test`/`start`/`stop`/`restart`/`install-test` (and npm's aliases and unique
    /// abbreviations), `pnpm run X`, `pnpm X` for a name that is no pnpm command, `yarn X`
    /// (yarn runs scripts without `run`), `yarn run X`, `bun run X`, `bun X`; or a runner whose
    /// verb, or a command whose name, is only known at run time; or text that cannot be parsed.
    /// Not `pnpm deploy`, `bun test` and the other built-in commands.
    pub runs_script: bool,
}

impl Invocation {
    /// Whether the call goes through safe-wrangler already.
    #[must_use]
    pub fn guarded(&self) -> bool {
        self.via == via::SAFE_WRANGLER
    }

    /// The credential variables ([`crate::credentials::CREDENTIAL_VARS`]) set for the call.
    #[must_use]
    pub fn credentials(&self) -> Vec<&str> {
        self.assignments
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| crate::credentials::is_credential(name))
            .collect()
    }
}

/// What the text does with wrangler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Finding {
    /// A wrangler call, known from the text alone.
    Wrangler(Invocation),
    /// The text mentions wrangler but what it runs cannot be known from it: fail closed.
    Uncertain { reason: String },
}

/// Every wrangler call in `text`, in the order the text names them, plus an
/// [`Finding::Uncertain`] for each part that cannot be known when the text mentions wrangler.
/// Empty when the text is ordinary work that does not call wrangler.
#[must_use]
pub fn find_wrangler(text: &str) -> Vec<Finding> {
    read(text).findings
}

/// The package runners' command names (lowercase, also inside `pnpm`, `pnpx`, `bunx`): text that
/// names none of them, nor wrangler, runs no package.json script we could see.
const RUNNER_WORDS: &[&[u8]] = &[b"npm", b"npx", b"pnpx", b"yarn", b"bun"];

/// [`find_wrangler`], with the facts about the whole line ([`Reading`]).
#[must_use]
pub fn read(text: &str) -> Reading {
    let bytes = text.as_bytes();
    let mentioned = mentions(bytes);
    // `$'\x77rangler'` spells the word without writing it: such text is parsed and the decoded
    // words are checked. Text naming a package runner is parsed for its scripts.
    let plain = if mentioned {
        Vec::new()
    } else {
        dequoted(bytes, true)
    };
    let runner = !mentioned
        && RUNNER_WORDS
            .iter()
            .any(|w| plain.windows(w.len()).any(|x| x == *w));
    if !mentioned && !runner && !bytes.windows(2).any(|w| w == b"$'") {
        return Reading::default();
    }
    if bytes.len() > MAX_INPUT {
        return Reading {
            findings: if mentioned {
                vec![Finding::Uncertain {
                    reason: format!(
                        "the command is longer than {} KiB, too long to read with certainty",
                        MAX_INPUT / 1024
                    ),
                }]
            } else {
                Vec::new()
            },
            runs_script: true,
        };
    }
    let mut out = Out {
        mentioned,
        work: bytes.len(),
        cf_env: contains(&dequoted(bytes, false), b"CLOUDFLARE_ENV"),
        ..Out::default()
    };
    let mut parser = Parser::new(bytes, 0, &mut out, Shell::new(), Inherit::default());
    if let Err(Stop(reason)) = parser.parse_list(End::Eof) {
        parser.out.runs_script = true;
        parser.uncertain(reason);
    }
    out.finish()
}

/// `text` without quote characters, backslashes and line continuations (optionally lowercased):
/// every spelling of a word the shell would join (`CLOUDFLARE_""ENV`, `n\pm`) is whole in it.
fn dequoted(text: &[u8], lower: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut after_backslash = false;
    for &b in text {
        if b == b'\\' {
            after_backslash = true;
            continue;
        }
        let continuation = after_backslash && b == b'\n';
        after_backslash = false;
        if continuation || b == b'\'' || b == b'"' {
            continue;
        }
        out.push(if lower { b.to_ascii_lowercase() } else { b });
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether `text` mentions wrangler: case-insensitively, skipping quotes, backslashes and line
/// continuations (`wr''angler`, `wr\angler` and `WRANGLER` all count).
fn mentions(text: &[u8]) -> bool {
    const WORD: &[u8] = b"wrangler";
    let mut matched = 0;
    let mut after_backslash = false;
    for &b in text {
        if b == b'\\' {
            after_backslash = true;
            continue;
        }
        let continuation = after_backslash && b == b'\n';
        after_backslash = false;
        if continuation || b == b'\'' || b == b'"' {
            continue;
        }
        let c = b.to_ascii_lowercase();
        // No proper prefix of "wrangler" recurs inside it, so a mismatch restarts cleanly.
        if WORD.get(matched) == Some(&c) {
            matched += 1;
            if matched == WORD.len() {
                return true;
            }
        } else {
            matched = usize::from(c == WORD[0]);
        }
    }
    false
}

/// What the whole parse collects: findings, and whether the text mentions wrangler at all.
#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per fact about the whole line
struct Out {
    findings: Vec<Finding>,
    reasons: HashSet<String>,
    mentioned: bool,
    work: usize,
    /// A file was written with text that mentions wrangler (`cat > run.sh <<EOF`).
    wrote: bool,
    /// A script ran whose commands cannot be seen (`bash run.sh`, `./run.sh`, `python x.py`).
    ran_script: bool,
    /// [`Reading::runs_script`].
    runs_script: bool,
    /// [`Invocation::cloudflare_env`].
    cf_env: bool,
    /// Every `wrangler@VERSION` named in a word, distinct, in order (`?` once past the limit).
    versions: Vec<String>,
}

impl Out {
    fn uncertain(&mut self, reason: String) {
        if self.findings.len() <= MAX_FINDINGS && self.reasons.insert(reason.clone()) {
            self.findings.push(Finding::Uncertain { reason });
        }
    }

    /// Records the `wrangler@VERSION`s in a word (after quote removal, any case).
    fn versions_in(&mut self, value: &str) {
        let lower = value.to_ascii_lowercase();
        for (i, m) in lower.match_indices("wrangler@") {
            let spec: String = value
                .get(i + m.len()..)
                .unwrap_or_default()
                .chars()
                .take_while(|c| {
                    !c.is_whitespace() && !matches!(c, '"' | '\'' | ';' | '&' | '|' | ')')
                })
                .collect();
            if self.versions.contains(&spec) {
                continue;
            }
            if self.versions.len() >= MAX_VARS {
                if !self.versions.iter().any(|v| v == "?") {
                    self.versions.push("?".to_owned());
                }
                return;
            }
            self.versions.push(spec);
        }
    }

    /// Uncertain findings only count when the text mentions wrangler.
    fn finish(mut self) -> Reading {
        if self.wrote && self.ran_script {
            self.uncertain(
                "the command writes a file that mentions wrangler and runs a script that cannot be \
                 seen here"
                    .to_owned(),
            );
        }
        for f in &mut self.findings {
            if let Finding::Wrangler(inv) = f {
                inv.cloudflare_env = self.cf_env;
                for v in &self.versions {
                    if !inv.versions.contains(v) {
                        inv.versions.push(v.clone());
                    }
                }
            }
        }
        let findings = if self.mentioned {
            self.findings
        } else {
            self.findings
                .into_iter()
                .filter(|f| matches!(f, Finding::Wrangler(_)))
                .collect()
        };
        Reading {
            findings,
            runs_script: self.runs_script,
        }
    }
}

/// A parse error: the text is uncertain for this reason.
struct Stop(String);

impl Stop {
    fn new(reason: &str) -> Stop {
        Stop(reason.to_owned())
    }
}

/// A working directory relative to the agent's.
#[derive(Debug, Clone, Default)]
enum Dir {
    /// The agent's own directory.
    #[default]
    Here,
    /// As written, joined across `cd`s.
    At(Rc<str>),
    /// Only known at run time.
    Unknown,
}

fn join(base: &Dir, path: &str) -> Dir {
    if path.is_empty() {
        return base.clone();
    }
    let joined = if path.starts_with('/') || path.starts_with('~') {
        path.to_owned()
    } else {
        match base {
            Dir::Unknown => return Dir::Unknown,
            Dir::Here => path.to_owned(),
            Dir::At(b) => format!("{}/{path}", b.trim_end_matches('/')),
        }
    };
    if joined.len() > MAX_CWD {
        Dir::Unknown
    } else {
        Dir::At(joined.into())
    }
}

/// A variable set for a command or in a shell.
#[derive(Debug, Clone)]
struct Assign {
    name: Rc<str>,
    value: Rc<str>,
    /// The value comes from an expansion.
    expanded: bool,
}

/// What one shell has done so far that later commands inherit. Cheap to clone: a subshell takes a
/// copy and drops it.
#[derive(Debug, Clone)]
struct Shell {
    cwd: Dir,
    old: Dir,
    stack: Rc<Vec<Dir>>,
    vars: Rc<Vec<Assign>>,
    unset: Rc<Vec<Rc<str>>>,
    /// More variables or directories than tracked: later calls are uncertain.
    overflow: bool,
}

impl Shell {
    fn new() -> Shell {
        Shell {
            cwd: Dir::Here,
            old: Dir::Unknown,
            stack: Rc::default(),
            vars: Rc::default(),
            unset: Rc::default(),
            overflow: false,
        }
    }

    fn set(&mut self, a: Assign) {
        if self.overflow || a.value.len() > MAX_VALUE {
            self.overflow = true;
            return;
        }
        if self.unset.contains(&a.name) {
            Rc::make_mut(&mut self.unset).retain(|n| *n != a.name);
        }
        let vars = Rc::make_mut(&mut self.vars);
        vars.retain(|v| v.name != a.name);
        if vars.len() >= MAX_VARS {
            self.overflow = true;
            return;
        }
        vars.push(a);
    }

    fn remove(&mut self, name: &str) {
        if self.overflow {
            return;
        }
        if self.vars.iter().any(|v| &*v.name == name) {
            Rc::make_mut(&mut self.vars).retain(|v| &*v.name != name);
        }
        if self.unset.len() >= MAX_VARS {
            self.overflow = true;
        } else if !self.unset.iter().any(|n| &**n == name) {
            Rc::make_mut(&mut self.unset).push(name.into());
        }
    }
}

/// What a re-parsed string (`bash -c`, backquotes) inherits from the command that runs it.
#[derive(Debug, Clone, Default)]
struct Inherit {
    wrappers: Vec<&'static str>,
    runner: Option<&'static str>,
    unknown_args: bool,
    placeholder: Option<String>,
    env_cleared: bool,
}

/// What the words around one command add to a wrangler call found in it.
#[derive(Debug, Clone)]
struct Ctx {
    wrappers: Vec<&'static str>,
    assigns: Vec<Assign>,
    unset: Vec<String>,
    env_cleared: bool,
    unknown_args: bool,
    /// The text `xargs -I` or `find -exec` replaces with words from its input.
    placeholder: Option<String>,
    /// The package runner that puts wrangler on PATH (`npx -c 'wrangler ...'`).
    runner: Option<&'static str>,
    cwd: Dir,
    /// The command runs in the shell itself (no wrapper): `cd` and `export` affect the shell.
    shell_level: bool,
    /// The version of the wrangler package the runner was given (`-p wrangler@2`).
    version: Option<String>,
}

/// How a command treats its standard input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stdin {
    /// As data (or not at all): a here-document mentioning wrangler is harmless.
    Data,
    /// As commands to run: a shell or interpreter with no script.
    Code,
    /// Unknown.
    Unknown,
}

mod grammar;
mod lexer;
mod meaning;
#[cfg(test)]
mod oracle;
mod runners;
mod tables;

use lexer::{CLOSERS, Doc, End, Mode, Tok, Word, WordBuf, excerpt, is_meta};
use meaning::{Next, Wr, basename, node_runs_wrangler, wranglerish};
use runners::{Spec, chdir, options, runner_named};
use tables::{BUN_DATA, DATA, INTERPRETERS, NPM_DATA, PNPM_DATA, SCRIPT_VERBS, SHELLS, YARN_DATA};

struct Parser<'s, 'o> {
    src: &'s [u8],
    pos: usize,
    depth: usize,
    out: &'o mut Out,
    st: Shell,
    inherit: Inherit,
    pending: Vec<Doc>,
    /// Commands seen that read commands from their standard input.
    code: usize,
}

impl<'s, 'o> Parser<'s, 'o> {
    fn new(
        src: &'s [u8],
        depth: usize,
        out: &'o mut Out,
        st: Shell,
        inherit: Inherit,
    ) -> Parser<'s, 'o> {
        Parser {
            src,
            pos: 0,
            depth,
            out,
            st,
            inherit,
            pending: Vec::new(),
            code: 0,
        }
    }

    fn uncertain(&mut self, reason: impl Into<String>) {
        self.out.uncertain(reason.into());
    }

    fn enter(&mut self) -> Result<(), Stop> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Stop(format!(
                "the command nests more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    /// One line per finding: `wrappers/via(argv) @cwd NAME=value -UNSET -* +…`, `?` for uncertain.
    fn render(text: &str) -> String {
        find_wrangler(text)
            .iter()
            .map(|f| match f {
                Finding::Uncertain { .. } => "?".to_owned(),
                Finding::Wrangler(i) => {
                    let mut s = String::new();
                    for w in &i.wrappers {
                        s.push_str(w);
                        s.push('/');
                    }
                    let _ = write!(s, "{}({})", i.via, i.argv.join(" "));
                    if let Some(c) = &i.cwd {
                        let _ = write!(s, " @{c}");
                    }
                    for (k, v) in &i.assignments {
                        let _ = write!(s, " {k}={v}");
                    }
                    for u in &i.unset {
                        let _ = write!(s, " -{u}");
                    }
                    if i.env_cleared {
                        s.push_str(" -*");
                    }
                    if i.unknown_args {
                        s.push_str(" +…");
                    }
                    s
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn check(cases: &[(&str, &str)]) {
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(text, want)| {
                let got = render(text);
                (got != *want).then(|| format!("{text:?}\n   want {want:?}\n    got {got:?}"))
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Ordinary agent commands that call wrangler.
    #[rustfmt::skip]
    const ORDINARY: &[(&str, &str)] = &[
        ("wrangler deploy", "direct(deploy)"),
        ("npx wrangler deploy --env staging", "npx(deploy --env staging)"),
        ("npx -y wrangler@4 deploy", "npx(deploy)"),
        ("npx --yes wrangler@latest whoami", "npx(whoami)"),
        ("npx -p wrangler@4 wrangler tail", "npx(tail)"),
        ("npx --package=wrangler -- wrangler types", "npx(types)"),
        ("npx -c 'wrangler deploy'", "npx -c/npx(deploy)"),
        ("cd app && npm exec -- wrangler d1 migrations apply DB --remote", "npm exec(d1 migrations apply DB --remote) @app"),
        ("npm exec wrangler whoami", "npm exec(whoami)"),
        ("npm x -- wrangler deploy --dry-run", "npm exec(deploy --dry-run)"),
        ("npm exec wrangler -- deploy --dry-run", "npm exec(deploy --dry-run)"),
        // npm runs exec's command in the current directory, whatever --prefix says (npm 11).
        ("npm --prefix web exec -- wrangler types", "npm exec(types)"),
        ("pnpm exec wrangler types", "pnpm(types)"),
        ("pnpm dlx wrangler deploy", "pnpm(deploy)"),
        ("pnpm wrangler dev", "pnpm(dev)"),
        ("pnpx wrangler versions upload", "pnpm(versions upload)"),
        ("pnpm -C apps/api exec wrangler deploy", "pnpm(deploy) @apps/api"),
        ("yarn wrangler deploy", "yarn(deploy)"),
        ("yarn dlx wrangler deploy", "yarn(deploy)"),
        ("yarn exec wrangler tail", "yarn(tail)"),
        ("yarn run wrangler types", "yarn(types)"),
        ("yarn --cwd worker wrangler deploy", "yarn(deploy) @worker"),
        ("bunx wrangler deploy", "bunx(deploy)"),
        ("bun x wrangler deploy", "bunx(deploy)"),
        ("bun run wrangler dev", "bun(dev)"),
        ("node node_modules/wrangler/bin/wrangler.js deploy", "node(deploy)"),
        ("node node_modules/wrangler/ deploy", "node(deploy)"),
        ("node node_modules/wrangler/wrangler-dist/cli deploy", "node(deploy)"),
        ("node ./node_modules/wrangler/wrangler-dist/cli.js whoami", "node(whoami)"),
        ("node --max-old-space-size=4096 node_modules/.bin/wrangler deploy", "node(deploy)"),
        ("./node_modules/.bin/wrangler deploy", "path(deploy)"),
        ("node_modules/.bin/wrangler d1 list", "path(d1 list)"),
        ("/usr/local/bin/wrangler whoami", "path(whoami)"),
        ("bash -c \"wrangler deploy\"", "bash -c/direct(deploy)"),
        ("sh -c 'cd app && wrangler deploy'", "sh -c/direct(deploy) @app"),
        ("bash -lc 'npx wrangler tail'", "bash -c/npx(tail)"),
        ("bash -euo pipefail -c 'wrangler deploy'", "bash -c/direct(deploy)"),
        ("echo $(wrangler whoami)", "direct(whoami)"),
        ("echo \"account: $(wrangler whoami | grep id)\"", "direct(whoami)"),
        ("echo `wrangler whoami`", "direct(whoami)"),
        ("diff <(wrangler kv key list --binding A) b.json", "direct(kv key list --binding A)"),
        ("FOO=1 CLOUDFLARE_ENV=production wrangler deploy", "direct(deploy) FOO=1 CLOUDFLARE_ENV=production"),
        ("CLOUDFLARE_API_TOKEN=abc wrangler deploy", "direct(deploy) CLOUDFLARE_API_TOKEN=abc"),
        ("CLOUDFLARE_API_TOKEN=$TOKEN npx wrangler deploy", "npx(deploy) CLOUDFLARE_API_TOKEN=$TOKEN"),
        ("sudo -E env CLOUDFLARE_API_TOKEN=x wrangler deploy", "sudo/env/direct(deploy) CLOUDFLARE_API_TOKEN=x"),
        ("sudo -u deploy -- wrangler deploy", "sudo/direct(deploy)"),
        ("sudo A=1 wrangler whoami", "sudo/direct(whoami) A=1"),
        ("env -u CLOUDFLARE_ENV wrangler deploy", "env/direct(deploy) -CLOUDFLARE_ENV"),
        ("env -C site wrangler pages deploy dist", "env/direct(pages deploy dist) @site"),
        ("timeout 30 npx wrangler tail", "timeout/npx(tail)"),
        ("timeout -s KILL 5m wrangler tail", "timeout/direct(tail)"),
        ("nice -n 10 nohup wrangler dev > dev.log 2>&1 &", "nice/nohup/direct(dev)"),
        ("time wrangler deploy --dry-run", "direct(deploy --dry-run)"),
        ("time -p npx wrangler build", "npx(build)"),
        ("command wrangler deploy", "command/direct(deploy)"),
        ("exec wrangler dev", "exec/direct(dev)"),
        ("ls | xargs wrangler r2 object put", "xargs/direct(r2 object put) +…"),
        ("find . -name '*.toml' -exec wrangler deploy --config {} \\;", "find -exec/direct(deploy --config {}) +…"),
        ("export CLOUDFLARE_ENV=staging; wrangler deploy", "direct(deploy) CLOUDFLARE_ENV=staging"),
        ("unset CLOUDFLARE_API_TOKEN && wrangler whoami", "direct(whoami) -CLOUDFLARE_API_TOKEN"),
        ("cd apps && cd api && wrangler deploy", "direct(deploy) @apps/api"),
        ("cd /srv/app; wrangler deploy", "direct(deploy) @/srv/app"),
        ("cd app; cd ..; wrangler types", "direct(types) @app/.."),
        ("(cd app && wrangler deploy); wrangler whoami", "direct(deploy) @app; direct(whoami)"),
        ("cd app | wrangler whoami", "direct(whoami)"),
        ("pushd app && wrangler deploy && popd && wrangler whoami", "direct(deploy) @app; direct(whoami)"),
        ("if wrangler whoami; then wrangler deploy; fi", "direct(whoami); direct(deploy)"),
        ("for e in staging; do wrangler deploy --env staging; done", "direct(deploy --env staging)"),
        ("while true; do wrangler tail; done", "direct(tail)"),
        ("case x in x) wrangler deploy ;; *) echo no ;; esac", "direct(deploy)"),
        ("{ wrangler whoami; wrangler deploy; }", "direct(whoami); direct(deploy)"),
        ("! wrangler whoami", "direct(whoami)"),
        ("[[ -n $(wrangler whoami) ]] && echo ok", "direct(whoami)"),
        ("wrangler secret put KEY <<< \"value\"", "direct(secret put KEY)"),
        ("wrangler d1 execute DB --command \"SELECT * FROM t\"", "direct(d1 execute DB --command SELECT * FROM t)"),
        ("wrangler deploy # ship it", "direct(deploy)"),
        ("npm run build && npx wrangler deploy", "npx(deploy)"),
        ("git add -A && git commit -m 'x' && npx wrangler deploy --env staging", "npx(deploy --env staging)"),
        ("safe-wrangler deploy --env production", "safe-wrangler(deploy --env production)"),
        ("npx safe-wrangler deploy", "safe-wrangler(deploy)"),
        ("watch -n 5 wrangler deployments list", "watch/direct(deployments list)"),
        ("corepack pnpm exec wrangler deploy", "pnpm(deploy)"),
        ("cat <<'EOF' > x.txt\nwrangler deploy\nEOF\nwrangler whoami", "direct(whoami)"),
        ("cat > NOTES.md <<'EOF'\nRun wrangler deploy after merging\nEOF\nnpm test", ""),
        ("npx wrangler tail > tail.log 2>/dev/null & ./scripts/load-test.sh", "npx(tail)"),
        ("cat <<EOF\n$(wrangler whoami)\nEOF", "direct(whoami)"),
        ("Wrangler deploy", "direct(deploy)"),
        ("wrangler deploy --var \"A:b c\"", "direct(deploy --var A:b c)"),
        ("wrangler deploy --message $'line\\nnext'", "direct(deploy --message line\nnext)"),
        ("for ((i = 0; i < 2; i++)); do wrangler whoami; done", "direct(whoami)"),
        ("cd é && cd -P app && wrangler deploy", "direct(deploy) @é/app"),
        ("export A=1 && (unset A; wrangler deploy) && wrangler whoami", "direct(deploy) -A; direct(whoami) A=1"),
        ("cd a && cd b && cd - && wrangler deploy", "direct(deploy) @a"),
        ("FOO=1; sudo wrangler deploy", "sudo/direct(deploy) FOO=1"),
        ("xargs -I {} wrangler r2 object put b/{} --file {} < files.txt", "xargs/direct(r2 object put b/{} --file {}) +…"),
        ("time; wrangler deploy", "direct(deploy)"),
        ("wrangler whoami && !", "direct(whoami)"),
        ("[[ ( -n x ) || -z y ]] && wrangler whoami", "direct(whoami)"),
    ];

    #[test]
    fn ordinary_calls() {
        check(ORDINARY);
    }

    /// The package runners' spellings, checked against npm 11 and the pnpm, yarn and bun docs
    /// (`runners.rs`).
    #[rustfmt::skip]
    const RUNNER_SPELLINGS: &[(&str, &str)] = &[
        // npm reads the options before its verb: `-c` there runs its text.
        ("npm -c 'wrangler deploy' exec", "npm exec -c/npm exec(deploy)"),
        ("npm --call='wrangler deploy' x", "npm exec -c/npm exec(deploy)"),
        ("npm --package=wrangler@3 exec -- wrangler deploy", "npm exec(deploy)"),
        // npm's aliases and unique abbreviations of its verbs.
        ("npm exe -- wrangler deploy", "npm exec(deploy)"),
        ("npm ex -- wrangler deploy", "?"),
        ("npm runScript wrangler", "?"),
        ("npm tes", ""),
        ("npm isntall wrangler@3", ""),
        // `--prefix` does not move npx either; `-w DIR` does.
        ("npx --prefix web wrangler deploy", "npx(deploy)"),
        ("npx -w web/api wrangler deploy", "npx(deploy) @web/api"),
        ("npx -w api wrangler deploy", "?"),
        ("npx --allow-scripts esbuild wrangler deploy", "npx(deploy)"),
        // pnpm takes exec's and dlx's options before the verb.
        ("pnpm -c exec 'wrangler deploy'", "pnpm exec -c/pnpm(deploy)"),
        ("pnpm --package=wrangler -c dlx 'wrangler deploy'", "pnpm dlx -c/pnpm(deploy)"),
        ("pnpm --package wrangler@3 dlx wrangler deploy", "pnpm(deploy)"),
        ("pnpm -rc exec 'wrangler deploy'", "?"),
        ("pnpm deploy", ""),
        ("pnpm deploy wrangler", ""),
        // yarn exec runs shell text.
        ("yarn exec 'wrangler deploy'", "yarn exec/yarn(deploy)"),
        ("yarn exec 'tsc && wrangler deploy' --dry-run", "yarn exec/yarn(deploy --dry-run)"),
        ("yarn exec wrangler tail", "yarn(tail)"),
        ("yarn workspace api run wrangler deploy", "?"),
        ("bun x wrangler@3 deploy", "bunx(deploy)"),
        ("bunx -p wrangler@2 wrangler deploy", "bunx(deploy)"),
        ("bun --cwd api run wrangler deploy", "bun(deploy) @api"),
        ("bun exec 'wrangler deploy'", "bun exec/bun(deploy)"),
        ("bun test wrangler", ""),
    ];

    #[test]
    fn runner_spellings() {
        check(RUNNER_SPELLINGS);
    }

    /// The facts a hook needs besides the calls: the wrangler versions a call may run, whether
    /// the line touches `CLOUDFLARE_ENV`, whether it runs a package.json script.
    #[test]
    #[allow(clippy::too_many_lines)] // three tables
    fn line_facts() {
        let versions = |text: &str| -> Vec<String> {
            read(text)
                .findings
                .iter()
                .find_map(|f| match f {
                    Finding::Wrangler(i) => Some(i.versions.clone()),
                    Finding::Uncertain { .. } => None,
                })
                .unwrap_or_else(|| panic!("{text:?}: no call"))
        };
        for (text, want) in [
            ("npx wrangler@3 deploy", &["3"][..]),
            ("pnpm dlx wrangler@^3.1 deploy", &["^3.1"]),
            ("npx -p wrangler@2 wrangler deploy", &["2"]),
            ("bunx wrangler@latest", &["latest"]),
            ("npx 'wrangler@3' deploy", &["3"]),
            ("npx wr''angler@3 deploy", &["3"]),
            ("npx \\wrangler@3 deploy", &["3"]),
            ("npx $'wrangler@\\x33' deploy", &["3"]),
            ("npx npm:wrangler@3.1 deploy", &["3.1"]),
            ("npx @cloudflare/wrangler@1 publish", &["1"]),
            ("npm i wrangler@3 && npx wrangler deploy", &["3"]),
            (
                "npx -p wrangler@4 wrangler deploy; npx wrangler@3 whoami",
                &["4", "3"],
            ),
            ("npx -p \"$PKG\" wrangler deploy", &["$PKG"]),
            ("npx wrangler deploy", &[]),
            ("wrangler deploy", &[]),
        ] {
            assert_eq!(versions(text), want, "{text:?}");
        }
        for (spec, four) in [
            ("4", true),
            ("4.1.0", true),
            ("^4.2", true),
            ("~4", true),
            ("=4", true),
            ("v4", true),
            ("4.x", true),
            ("latest", true),
            ("3", false),
            ("40", false),
            ("^3.1", false),
            (">=4", false),
            ("next", false),
            ("$V", false),
            ("", false),
            ("?", false),
        ] {
            assert_eq!(is_wrangler_4(spec), four, "{spec:?}");
        }

        let touches = |text: &str| {
            read(text)
                .findings
                .iter()
                .any(|f| matches!(f, Finding::Wrangler(i) if i.cloudflare_env))
        };
        for text in [
            "export CLOUDFLARE_ENV=production; wrangler deploy",
            "read CLOUDFLARE_ENV <<< x; wrangler deploy",
            "CLOUDFLARE_ENV=staging wrangler deploy",
            "unset CLOUDFLARE_ENV; wrangler deploy",
            "env -u CLOUDFLARE_ENV wrangler deploy",
            "printf -v CLOUDFLARE_ENV production; wrangler deploy",
            "for CLOUDFLARE_ENV in production; do wrangler deploy; done",
            "read CLOUDFLARE_\"\"ENV <<< x; wrangler deploy",
            "read $'CLOUDFLARE_\\x45NV' <<< x; wrangler deploy",
            "n=CLOUDFLARE_ENV; read $n <<< x; wrangler deploy",
            "read \"$name\" <<< x; wrangler deploy",
            "declare -n r=\"$v\"; r=production; wrangler deploy",
            "(( CLOUDFLARE_ENV = 1 )); wrangler deploy",
            "wrangler deploy # CLOUDFLARE_ENV",
        ] {
            assert!(touches(text), "{text:?}");
        }
        for text in [
            "wrangler deploy",
            "export A=1; wrangler deploy --env staging",
        ] {
            assert!(!touches(text), "{text:?}");
        }

        for text in [
            "npm run deploy",
            "npm run-script deploy",
            "npm test",
            "npm t",
            "npm tes",
            "npm it",
            "npm --prefix web run deploy",
            "yarn deploy",
            "yarn run deploy",
            "yarn workspace api deploy",
            "bun run deploy",
            "bun deploy",
            "pnpm start",
            "pnpm build",
            "pnpm -r run build",
            "cd app && npm run deploy",
            "sudo -E npm run deploy",
            "bash -c 'npm run deploy'",
            "npm $verb deploy",
            "eval npm run deploy",
            "n''pm run deploy",
            "echo ( npm run deploy",
        ] {
            assert!(read(text).runs_script, "{text:?}");
        }
        for text in [
            "npm install",
            "npm ci",
            "npx wrangler deploy",
            "pnpm deploy",
            "pnpm dlx create-vue",
            "bun test",
            "bun install",
            "yarn add wrangler",
            "echo npm run deploy",
            "git commit -m 'npm run deploy'",
            "ls -la",
        ] {
            assert!(!read(text).runs_script, "{text:?}");
        }
    }

    /// Ordinary work that does not call wrangler, even when it names it: no findings at all.
    #[rustfmt::skip]
    const NO_CALLS: &[(&str, &str)] = &[
        ("grep wrangler README.md", ""),
        ("grep -rn \"wrangler deploy\" src docs", ""),
        ("echo \"wrangler deploy\"", ""),
        ("echo wrangler deploy", ""),
        ("git commit -m 'wrangler deploy'", ""),
        ("git commit -m \"$(cat <<'EOF'\nUse wrangler deploy --env staging\nEOF\n)\"", ""),
        ("cat wrangler.toml", ""),
        ("ls node_modules/.bin/wrangler", ""),
        ("npm i -D wrangler@4", ""),
        ("npm install --save-dev wrangler", ""),
        ("pnpm add -D wrangler", ""),
        ("yarn add wrangler", ""),
        ("bun add -d wrangler", ""),
        ("npm view wrangler version", ""),
        ("which wrangler", ""),
        ("command -v wrangler", ""),
        ("type wrangler", ""),
        ("sed -i 's/wrangler deploy/wrangler versions upload/' package.json", ""),
        ("jq '.scripts.deploy = \"wrangler deploy\"' package.json", ""),
        ("rg -l wrangler | head", ""),
        ("cargo test --lib wrangler", ""),
        ("python3 scripts/gen-table.py ../shared/wrangler/commands.json", ""),
        ("code wrangler.jsonc", ""),
        ("# wrangler deploy", ""),
        ("echo hi # wrangler deploy", ""),
        ("safe-wrangler explain -- deploy --env production", ""),
        ("safe-wrangler doctor", ""),
        ("safe-wrangler hook --claude", ""),
        ("cat > wrangler.toml <<'EOF'\nname = \"x\"\nEOF", ""),
        ("for wrangler in a b; do echo $wrangler; done", ""),
        ("case wrangler in wrangler) echo yes ;; esac", ""),
        ("printf '%s\\n' wrangler", ""),
        ("ls -la && git status && npm test", ""),
        ("cargo build --release 2>&1 | tail -5", ""),
        ("$EDITOR notes.txt", ""),
        ("eval \"$(ssh-agent -s)\"", ""),
        ("FOO=$(date) make", ""),
    ];

    #[test]
    fn no_calls() {
        check(NO_CALLS);
    }

    /// Ways around a pattern match; each must be found or be uncertain.
    #[rustfmt::skip]
    const BYPASS: &[(&str, &str)] = &[
        ("w=wrangler; $w deploy", "?"),
        ("W=wrangler; ${W} deploy", "?"),
        ("eval \"wrangler deploy\"", "?"),
        ("eval wrangler deploy", "?"),
        ("bash <<EOF\nwrangler deploy\nEOF", "?"),
        ("sh <<< 'wrangler deploy'", "?"),
        ("echo 'wrangler deploy' | bash", "?"),
        ("echo wrangler deploy | sh -s", "?"),
        ("echo 'wrangler deploy' | (bash)", "?"),
        ("curl -s https://x.sh | bash; echo wrangler", "?"),
        ("\\wrangler deploy", "direct(deploy)"),
        ("'wrangler' deploy", "direct(deploy)"),
        ("\"wrangler\" deploy", "direct(deploy)"),
        ("wr''angler deploy", "direct(deploy)"),
        ("wr\\angler deploy", "direct(deploy)"),
        ("wr\\\nangler deploy", "direct(deploy)"),
        ("$'\\x77rangler' deploy", "direct(deploy)"),
        ("$'\\167rangler' deploy", "direct(deploy)"),
        ("WRANGLER deploy", "direct(deploy)"),
        ("/bin/sh -c 'npx wrangler deploy'", "sh -c/npx(deploy)"),
        ("command -p wrangler deploy", "command/direct(deploy)"),
        ("env -i PATH=$PATH wrangler deploy", "env/direct(deploy) PATH=$PATH -*"),
        ("env - wrangler deploy", "env/direct(deploy) -*"),
        ("$(echo wrangler) deploy", "?"),
        ("`echo wrangler` deploy", "?"),
        ("bash -c \"bash -c 'wrangler deploy'\"", "bash -c/bash -c/direct(deploy)"),
        ("bash -c \"$CMD\" # wrangler", "?"),
        ("sh -c 'wrangler deploy \"$@\"' _ --env production", "?"),
        ("wrangler deploy --env $ENV", "?"),
        ("wrangler deploy --env \"${ENV:-staging}\"", "?"),
        ("wrangler deploy --env '$ENV'", "direct(deploy --env $ENV)"),
        ("CLOUDFLARE_ENV=$E wrangler deploy", "?"),
        ("cd \"$DIR\" && wrangler deploy", "?"),
        ("cd - && wrangler deploy", "?"),
        ("wr* deploy # wrangler", "?"),
        ("{wrangler,deploy}", "?"),
        ("wrangler deploy --env={staging,production}", "?"),
        ("source .env && wrangler deploy", "?; direct(deploy)"),
        (". ./env.sh; wrangler deploy", "?; direct(deploy)"),
        ("alias w=wrangler; w deploy", "?"),
        ("wrangler() { echo hi; }; wrangler deploy", "?; direct(deploy)"),
        ("function npx { wrangler \"$@\"; }; npx deploy", "?; ?"),
        ("echo 'wrangler deploy", "?"),
        ("echo \"$(wrangler deploy\"", "?"),
        ("echo `wrangler deploy", "?"),
        ("wrangler deploy )", "direct(deploy); ?"),
        ("fi; wrangler deploy", "?"),
        ("xargs -I{} sh -c '{}' < cmds.txt # wrangler", "?"),
        ("echo deploy | xargs wrangler", "xargs/direct() +…"),
        ("echo wrangler deploy | xargs sh -c", "?"),
        ("ssh host wrangler deploy", "?"),
        ("docker run --rm img npx wrangler deploy", "?"),
        ("op run --env-file=.env -- wrangler deploy", "?"),
        ("dotenvx run -- npx wrangler deploy", "?"),
        ("npx dotenv -e .env -- wrangler deploy", "?"),
        ("npm run wrangler -- deploy", "?"),
        ("trap 'wrangler deploy' EXIT", "?"),
        ("python3 -c \"import os; os.system('wrangler deploy')\"", "?"),
        ("node -e \"require('child_process').execSync('wrangler deploy')\"", "?"),
        ("python3 - <<'EOF'\nimport subprocess; subprocess.run(['wrangler', 'deploy'])\nEOF", "?"),
        ("git rebase -x 'wrangler deploy' HEAD~3", "?"),
        ("npm exec wrangler deploy --env staging", "?"),
        ("pnpm --filter api exec wrangler deploy", "?"),
        ("yarn workspace api wrangler deploy", "?"),
        ("env -S 'wrangler deploy'", "?"),
        ("sudo -s wrangler deploy", "sudo/direct(deploy)"),
        ("nohup sh -c 'wrangler deploy' &", "nohup/sh -c/direct(deploy)"),
        ("((wrangler deploy) )", "direct(deploy)"),
        ("echo $((cd app && wrangler deploy) | tee log)", "direct(deploy) @app"),
        ("echo $((wrangler + 1))", "?"),
        ("echo \"$(( FOO=1 wrangler tail ))\"", "?"),
        ("exec 3< <(wrangler whoami)", "direct(whoami)"),
        ("a=(wrangler deploy); \"${a[@]}\"", "?"),
        ("cat <<EOF | sh\nwrangler deploy\nEOF", "?"),
        ("while read c; do $c; done <<EOF\nwrangler deploy\nEOF", "?; ?"),
        ("watch \"$CMD\" # wrangler", "?"),
        ("busybox sh -c 'wrangler deploy'", "sh -c/direct(deploy)"),
        ("taskset -c 0 wrangler deploy", "taskset/direct(deploy)"),
        ("cat > run.sh <<'EOF'\nnpx wrangler deploy\nEOF\nbash run.sh", "?"),
        ("echo 'wrangler deploy' > d.sh && chmod +x d.sh && ./d.sh", "?"),
        ("printf 'wrangler deploy' > d.py; python3 d.py", "?"),
        // Found by the `bash -n` oracle (oracle.rs): bash runs nothing of these lines.
        ("cat | ! wrangler deploy", "?"),
        ("[[ -n x ; ]] && wrangler deploy", "?"),
        ("[[ ( -n x ]] && wrangler deploy", "?"),
        ("[[ -n x ) ]] && wrangler deploy", "?"),
        ("! && wrangler deploy", "?"),
        // Seen as no call before the runners were one table (npm 11; pnpm and yarn docs).
        ("npm -c 'wrangler deploy' exec", "npm exec -c/npm exec(deploy)"),
        ("pnpm --package=wrangler -c dlx 'wrangler deploy'", "pnpm dlx -c/pnpm(deploy)"),
        ("yarn exec 'wrangler deploy'", "yarn exec/yarn(deploy)"),
    ];

    #[test]
    fn bypass_attempts() {
        check(BYPASS);
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let parens = format!("{}wrangler deploy{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(render(&parens), "?");
        let spaced = format!("{}wrangler deploy{}", "( ".repeat(200), " )".repeat(200));
        assert_eq!(render(&spaced), "?");
        let substs = format!(
            "echo {}wrangler deploy{}",
            "$(".repeat(200),
            ")".repeat(200)
        );
        assert_eq!(render(&substs), "?");
        let braces = format!("echo {}x{} wrangler", "${a:-".repeat(200), "}".repeat(200));
        assert_eq!(render(&braces), "?");
        let mut nested = "wrangler deploy".to_owned();
        for _ in 0..12 {
            nested = format!("bash -c {}", quote(&nested));
        }
        assert_eq!(render(&nested), "?");
        let shallow = (0..5).fold("wrangler deploy".to_owned(), |s, _| {
            format!("sh -c {}", quote(&s))
        });
        assert_eq!(
            render(&shallow),
            "sh -c/sh -c/sh -c/sh -c/sh -c/direct(deploy)"
        );
        let finds = format!("find {} wrangler deploy", "-exec find ".repeat(2000));
        assert!(render(&finds).contains('?'));

        let big = "wrangler deploy; ".repeat(60_000);
        assert_eq!(render(&big), "?");
        let big_plain = "echo hello; ".repeat(100_000);
        assert!(find_wrangler(&big_plain).is_empty());
        let many = "wrangler whoami;".repeat(300);
        let found = find_wrangler(&many);
        assert!(found.iter().any(|f| matches!(f, Finding::Uncertain { .. })));
        assert!(found.len() <= MAX_FINDINGS + 2);
    }

    #[test]
    fn findings_carry_what_the_caller_needs() {
        let found = find_wrangler("cd app && CLOUDFLARE_API_TOKEN=x sudo -E npx wrangler deploy");
        let [Finding::Wrangler(inv)] = found.as_slice() else {
            panic!("{found:?}");
        };
        assert_eq!(inv.argv, ["deploy"]);
        assert_eq!(inv.credentials(), ["CLOUDFLARE_API_TOKEN"]);
        assert_eq!(inv.cwd.as_deref(), Some("app"));
        assert_eq!(inv.via, via::NPX);
        assert_eq!(inv.wrappers, ["sudo"]);
        assert!(!inv.guarded());
        let json = serde_json::to_value(&found[0]).unwrap();
        assert_eq!(json["kind"], "wrangler");
        assert_eq!(json["via"], "npx");

        let found = find_wrangler("w=wrangler; $w deploy");
        let [Finding::Uncertain { reason }] = found.as_slice() else {
            panic!("{found:?}");
        };
        assert_eq!(reason, "the command name `$w` is only known at run time");
        assert!(
            find_wrangler("safe-wrangler deploy")
                .iter()
                .all(|f| matches!(f, Finding::Wrangler(i) if i.guarded()))
        );
    }

    // ---- property tests ----

    /// xorshift64*: a small deterministic PRNG.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % (n as u64)).unwrap_or(0)
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// Single-quotes `s` for the shell.
    fn quote(s: &str) -> String {
        format!("'{}'", s.replace('\'', "'\\''"))
    }

    pub(super) const ALPHABET: &[&str] = &[
        ";", "&&", "||", "|", "&", "\n", "(", ")", "{", "}", "$(", "`", "'", "\"", "$", "\\", " ",
        " ", "  ", "wrangler", "npx", "bash", "-c", "cd", "echo", "#", "<<", "EOF", "=", "x", "${",
        "$'", "\\x77", "((", "))", "<(", "sudo", "env", "xargs", "if", "then", "fi", "do", "done",
        "for", "in", "case", "esac", ";;", "[[", "]]", "function", "eval", "W=", "$W", "é", "→",
        "\u{202e}", "\0", "-é", "cd é", "pushd", "popd", "-", "2>", "&>", "<<-", "<<<", "{fd}>",
        "!", "node", "pnpm", "yarn", "exec", "--", "-p", "*", "?", "[", "]", ",",
    ];

    #[test]
    fn random_text_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..50_000 {
            let len = rng.below(40);
            let text: String = (0..len).map(|_| rng.pick(ALPHABET)).collect();
            let found = find_wrangler(&text);
            if !mentions(text.as_bytes()) && !text.contains("$'") {
                assert!(found.is_empty(), "{text:?}: {found:?}");
            }
            // Whatever follows, a line that starts with a wrangler call is never clean.
            let first = format!("wrangler deploy {text}");
            assert!(!find_wrangler(&first).is_empty(), "{first:?}");
            let after = format!("wrangler whoami; {text}");
            assert!(!find_wrangler(&after).is_empty(), "{after:?}");
        }
    }

    /// A random well-formed command line and how many wrangler calls it makes.
    fn generate(rng: &mut Rng, depth: usize) -> (String, usize) {
        let items = 1 + rng.below(3);
        let mut text = String::new();
        let mut calls = 0;
        for i in 0..items {
            if i > 0 {
                text.push_str(rng.pick(&[" ; ", " && ", " || ", " | ", "\n", " & "]));
            }
            let (t, n) = generate_command(rng, depth);
            text.push_str(&t);
            calls += n;
        }
        (text, calls)
    }

    fn generate_command(rng: &mut Rng, depth: usize) -> (String, usize) {
        const SIMPLE: &[(&str, usize)] = &[
            ("wrangler deploy --env staging", 1),
            ("npx wrangler whoami", 1),
            ("FOO=1 sudo -E env A=b wrangler tail", 1),
            ("pnpm exec wrangler types", 1),
            ("timeout 5 yarn wrangler dev", 1),
            ("echo wrangler", 0),
            ("grep -r 'wrangler deploy' src", 0),
            ("git commit -m \"wrangler deploy\"", 0),
            ("ls -la", 0),
            ("npm i -D wrangler@4", 0),
        ];
        let kinds = if depth >= 4 { 1 } else { 8 };
        match rng.below(kinds) {
            0 => {
                let (t, n) = SIMPLE[rng.below(SIMPLE.len())];
                (t.to_owned(), n)
            }
            kind => {
                let (inner, calls) = generate(rng, depth + 1);
                match kind {
                    1 => (format!("( {inner} )"), calls),
                    2 => (format!("{{ {inner}; }}"), calls),
                    3 => (format!("echo \"$( {inner} )\""), calls),
                    4 => (format!("bash -c {}", quote(&inner)), calls),
                    5 => {
                        let (then, more) = generate(rng, depth + 1);
                        (format!("if {inner}; then {then}; fi"), calls + more)
                    }
                    6 => (format!("for x in a b; do {inner}; done"), calls),
                    _ => (format!("cd dir && {inner}"), calls),
                }
            }
        }
    }

    #[test]
    fn generated_command_lines_are_counted_exactly() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..3_000 {
            let (text, calls) = generate(&mut rng, 0);
            let found = find_wrangler(&text);
            let wranglers = found
                .iter()
                .filter(|f| matches!(f, Finding::Wrangler(_)))
                .count();
            assert_eq!(wranglers, calls, "{text:?}: {found:?}");
            assert_eq!(wranglers, found.len(), "{text:?}: {found:?}");
        }
    }

    /// The lines of `tests/hook-corpus.txt`, decoded (`\n` is a newline, `\\` a backslash).
    fn corpus() -> Vec<String> {
        include_str!("../../tests/hook-corpus.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let mut s = String::new();
                let mut chars = l.chars();
                while let Some(c) = chars.next() {
                    match (c, chars.clone().next()) {
                        ('\\', Some('n')) => {
                            s.push('\n');
                            chars.next();
                        }
                        ('\\', Some('\\')) => {
                            s.push('\\');
                            chars.next();
                        }
                        _ => s.push(c),
                    }
                }
                s
            })
            .collect()
    }

    #[test]
    fn corpus_lines_parse() {
        let lines = corpus();
        assert!(lines.len() >= 1000, "{}", lines.len());
        let mut calls = 0;
        let mut unsure = Vec::new();
        for line in &lines {
            let found = find_wrangler(line);
            if !mentions(line.as_bytes()) {
                assert!(found.is_empty(), "{line:?}: {found:?}");
            }
            if found.iter().any(|f| matches!(f, Finding::Wrangler(_))) {
                calls += 1;
            }
            if found.iter().any(|f| matches!(f, Finding::Uncertain { .. })) {
                unsure.push(line.as_str());
            }
        }
        // About 30% of the corpus calls wrangler; realistic lines are rarely uncertain.
        assert!(
            calls * 100 / lines.len() >= 25,
            "{calls} of {}",
            lines.len()
        );
        assert!(unsure.len() * 100 / lines.len() <= 3, "{unsure:#?}");
    }
}
