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
//!   `bunx`, `bun x|run|wrangler`, `node <wrangler's script>`, `node_modules/.bin/wrangler`.
//! - `safe-wrangler ...` is reported with `via: "safe-wrangler"` (already guarded), except its own
//!   verbs ([`crate::cli::OWN_VERBS`]), which are not wrangler calls.
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
    /// `env -C`, `sudo -D`, `pnpm -C`, `yarn --cwd`, `npm --prefix`, `bun --cwd`, joined as
    /// written (`app/..`, `~/x`): relative to the agent's directory unless absolute or `~`.
    /// `None`: the agent's directory.
    pub cwd: Option<String>,
    /// How wrangler is reached: one of the [`via`] constants.
    pub via: &'static str,
    /// What the call is wrapped in, outermost first: `sudo`, `env`, `timeout`, `xargs`,
    /// `bash -c`, `find -exec`, `watch`, ...
    pub wrappers: Vec<&'static str>,
    /// More words are filled in at run time and cannot be seen: `xargs` appends its input,
    /// `find -exec` and `xargs -I` substitute file names. Decide as if anything could follow.
    pub unknown_args: bool,
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
    let bytes = text.as_bytes();
    let mentioned = mentions(bytes);
    // `$'\x77rangler'` spells the word without writing it: such text is parsed and the decoded
    // words are checked.
    if !mentioned && !bytes.windows(2).any(|w| w == b"$'") {
        return Vec::new();
    }
    if bytes.len() > MAX_INPUT {
        if !mentioned {
            return Vec::new();
        }
        return vec![Finding::Uncertain {
            reason: format!(
                "the command is longer than {} KiB, too long to read with certainty",
                MAX_INPUT / 1024
            ),
        }];
    }
    let mut out = Out {
        mentioned,
        work: bytes.len(),
        ..Out::default()
    };
    let mut parser = Parser::new(bytes, 0, &mut out, Shell::new(), Inherit::default());
    if let Err(Stop(reason)) = parser.parse_list(End::Eof) {
        parser.uncertain(reason);
    }
    out.finish()
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
struct Out {
    findings: Vec<Finding>,
    reasons: HashSet<String>,
    mentioned: bool,
    work: usize,
    /// A file was written with text that mentions wrangler (`cat > run.sh <<EOF`).
    wrote: bool,
    /// A script ran whose commands cannot be seen (`bash run.sh`, `./run.sh`, `python x.py`).
    ran_script: bool,
}

impl Out {
    fn uncertain(&mut self, reason: String) {
        if self.findings.len() <= MAX_FINDINGS && self.reasons.insert(reason.clone()) {
            self.findings.push(Finding::Uncertain { reason });
        }
    }

    /// Uncertain findings only count when the text mentions wrangler.
    fn finish(mut self) -> Vec<Finding> {
        if self.wrote && self.ran_script {
            self.uncertain(
                "the command writes a file that mentions wrangler and runs a script that cannot be \
                 seen here"
                    .to_owned(),
            );
        }
        if self.mentioned {
            return self.findings;
        }
        self.findings
            .into_iter()
            .filter(|f| matches!(f, Finding::Wrangler(_)))
            .collect()
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

/// A word after quote removal. Expansions stay in `value` as written.
#[derive(Debug, Clone, Default)]
struct Word {
    value: String,
    /// Only the literal parts (expansions replaced by a space).
    lit: String,
    /// Its span in the parser's text.
    start: usize,
    end: usize,
    /// Contains `$...`, `${...}`, `$(...)` or backquotes outside single quotes.
    expanded: bool,
    /// Contains quoting of any kind.
    quoted: bool,
    /// The shell would glob or brace-expand it (unquoted `*`, `?`, `[...]`, `{a,b}`).
    pattern: bool,
    /// `NAME=value` or `NAME+=value`: the name's length and where the value starts.
    assign: Option<(usize, usize)>,
}

impl Word {
    fn assignment(&self) -> Option<Assign> {
        let (name_len, value_start) = self.assign?;
        Some(Assign {
            name: self.value.get(..name_len)?.into(),
            value: self.value.get(value_start..)?.into(),
            expanded: self.expanded,
        })
    }

    /// Unquoted, unexpanded, a possible function name.
    fn is_plain(&self) -> bool {
        !self.quoted && !self.expanded && self.assign.is_none() && !self.value.is_empty()
    }
}

/// A word being read.
#[allow(clippy::struct_excessive_bools)] // lexer state, one flag per thing the shell tracks
struct WordBuf {
    buf: Vec<u8>,
    lit: Vec<u8>,
    expanded: bool,
    quoted: bool,
    pattern: bool,
    /// Every byte so far could be part of a variable name.
    name_ok: bool,
    /// An unquoted `[` was seen (a later `]` makes a glob).
    bracket: bool,
    /// Brace expansion: 0 nothing, 1 after `{`, 2 after `{` and `,` or `..`.
    brace: u8,
    assign: Option<(usize, usize)>,
}

impl WordBuf {
    fn new() -> WordBuf {
        WordBuf {
            buf: Vec::new(),
            lit: Vec::new(),
            expanded: false,
            quoted: false,
            pattern: false,
            name_ok: true,
            bracket: false,
            brace: 0,
            assign: None,
        }
    }

    fn push(&mut self, b: u8) {
        self.buf.push(b);
        self.lit.push(b);
    }

    fn quote(&mut self) {
        self.quoted = true;
        self.name_ok = false;
    }

    fn expansion(&mut self, raw: &[u8]) {
        self.buf.extend_from_slice(raw);
        self.lit.push(b' ');
        self.expanded = true;
        self.name_ok = false;
    }

    fn finish(self, start: usize, end: usize) -> Word {
        Word {
            value: String::from_utf8_lossy(&self.buf).into_owned(),
            lit: String::from_utf8_lossy(&self.lit).into_owned(),
            start,
            end,
            expanded: self.expanded,
            quoted: self.quoted,
            pattern: self.pattern,
            assign: self.assign,
        }
    }
}

/// A here-document waiting for the end of its line.
struct Doc {
    delim: Vec<u8>,
    strip_tabs: bool,
    quoted: bool,
    consumer: Stdin,
    /// The command writes a file (`cat > run.sh <<EOF`).
    writes: bool,
}

/// Where a list of commands ends.
#[derive(Debug, Clone, Copy)]
enum End {
    Eof,
    Paren,
    Case,
    Words(&'static [&'static str]),
}

impl End {
    fn stops_at(self, reserved: &str) -> bool {
        match self {
            End::Words(words) => words.contains(&reserved),
            End::Case => reserved == "esac",
            End::Eof | End::Paren => false,
        }
    }
}

/// The next token, without consuming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Eof,
    Newline,
    Semi,
    /// `;;`, `;&`, `;;&`, with their length.
    CaseEnd(usize),
    Amp,
    AndIf,
    OrIf,
    /// `|` or `|&`, with its length.
    Pipe(usize),
    LParen,
    RParen,
    Redir,
    Word,
}

/// What a re-parse starts with.
#[derive(Debug, Clone, Copy)]
enum Mode {
    List,
    /// The body of an unquoted here-document: expanded like a double-quoted string.
    HereDoc,
}

const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "select", "function", "time", "{", "}", "!", "[[", "]]", "in",
];

/// Reserved words that close a construct: one at the start of a command is a syntax error.
const CLOSERS: &[&str] = &[
    "then", "else", "elif", "fi", "do", "done", "esac", "}", "]]",
];

fn is_meta(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'|' | b'&' | b';' | b'(' | b')' | b'<' | b'>'
    )
}

/// A short, printable excerpt for a reason.
fn excerpt(text: &str) -> String {
    const MAX: usize = 60;
    let mut s: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX).is_some() {
        s.push('…');
    }
    s
}

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

    fn at(&self, i: usize) -> Option<u8> {
        self.src.get(self.pos + i).copied()
    }

    fn bump(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.src.len());
    }

    fn raw(&self, w: &Word) -> String {
        excerpt(&String::from_utf8_lossy(
            self.src.get(w.start..w.end).unwrap_or_default(),
        ))
    }

    // ---- tokens ----

    /// Skips blanks, line continuations and a comment.
    fn skip_blanks(&mut self) {
        loop {
            match self.at(0) {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\\') if self.at(1) == Some(b'\n') => self.pos += 2,
                Some(b'#') => {
                    while self.at(0).is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// The length of an fd number before a redirection (`2>`, `{fd}<`), if there is one.
    fn io_number_len(&self) -> Option<usize> {
        let rest = self.src.get(self.pos..)?;
        let len = if rest.first() == Some(&b'{') {
            let name = rest
                .iter()
                .skip(1)
                .take_while(|&&b| b == b'_' || b.is_ascii_alphanumeric())
                .count();
            if name == 0 || rest.get(name + 1) != Some(&b'}') {
                return None;
            }
            name + 2
        } else {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        };
        (len > 0 && matches!(rest.get(len), Some(b'<' | b'>'))).then_some(len)
    }

    fn peek(&mut self) -> Tok {
        self.skip_blanks();
        match (self.at(0), self.at(1), self.at(2)) {
            (None, _, _) => Tok::Eof,
            (Some(b'\n'), _, _) => Tok::Newline,
            (Some(b';'), Some(b';'), Some(b'&')) => Tok::CaseEnd(3),
            (Some(b';'), Some(b';' | b'&'), _) => Tok::CaseEnd(2),
            (Some(b';'), _, _) => Tok::Semi,
            (Some(b'&'), Some(b'&'), _) => Tok::AndIf,
            (Some(b'&'), Some(b'>'), _) => Tok::Redir,
            (Some(b'&'), _, _) => Tok::Amp,
            (Some(b'|'), Some(b'|'), _) => Tok::OrIf,
            (Some(b'|'), Some(b'&'), _) => Tok::Pipe(2),
            (Some(b'|'), _, _) => Tok::Pipe(1),
            (Some(b'('), _, _) => Tok::LParen,
            (Some(b')'), _, _) => Tok::RParen,
            (Some(b'<' | b'>'), Some(b'('), _) => Tok::Word,
            (Some(b'<' | b'>'), _, _) => Tok::Redir,
            (Some(b), _, _)
                if (b.is_ascii_digit() || b == b'{') && self.io_number_len().is_some() =>
            {
                Tok::Redir
            }
            _ => Tok::Word,
        }
    }

    /// The reserved word that comes next, if the next word is one (unquoted, whole).
    fn peek_reserved(&mut self) -> Option<&'static str> {
        self.skip_blanks();
        let rest = self.src.get(self.pos..)?;
        let len = rest
            .iter()
            .take(9)
            .take_while(|&&b| !is_meta(b) && !matches!(b, b'\'' | b'"' | b'\\' | b'$' | b'`'))
            .count();
        if rest.get(len).is_some_and(|&b| !is_meta(b)) {
            return None;
        }
        let word = rest.get(..len)?;
        RESERVED.iter().copied().find(|r| r.as_bytes() == word)
    }

    fn expect_reserved(&mut self, word: &'static str) -> Result<(), Stop> {
        if self.peek_reserved() == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Stop(format!("`{word}` is missing")))
        }
    }

    fn newline(&mut self) {
        self.pos += 1;
        if !self.pending.is_empty() {
            self.heredocs();
        }
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Tok::Newline {
            self.newline();
        }
    }

    // ---- here-documents ----

    /// Reads the bodies of the here-documents started on the line just ended.
    fn heredocs(&mut self) {
        let s = self.src;
        for doc in std::mem::take(&mut self.pending) {
            let start = self.pos;
            let mut end = s.len();
            let mut p = start;
            while p < s.len() {
                let line_end = s
                    .get(p..)
                    .and_then(|r| r.iter().position(|&b| b == b'\n'))
                    .map_or(s.len(), |i| p + i);
                let mut line = s.get(p..line_end).unwrap_or_default();
                if doc.strip_tabs {
                    while let [b'\t', rest @ ..] = line {
                        line = rest;
                    }
                }
                let next = line_end + 1;
                if line == doc.delim.as_slice() {
                    end = p;
                    p = next;
                    break;
                }
                p = next;
            }
            self.pos = p.min(s.len());
            let body = s.get(start..end).unwrap_or_default();
            if doc.writes && mentions(body) {
                self.out.wrote = true;
            }
            if doc.consumer != Stdin::Data && mentions(body) {
                self.uncertain(
                    "a here-document that mentions wrangler is fed to a command that may run it",
                );
            }
            if !doc.quoted && body.iter().any(|&b| b == b'$' || b == b'`') {
                let st = self.st.clone();
                let inherit = self.inherit.clone();
                self.sub(body, st, inherit, Mode::HereDoc);
            }
        }
    }

    // ---- words ----

    fn read_word(&mut self) -> Result<Word, Stop> {
        let s = self.src;
        let start = self.pos;
        let mut w = WordBuf::new();
        while let Some(b) = self.at(0) {
            match b {
                b' ' | b'\t' | b'\n' | b'|' | b'&' | b';' | b'(' | b')' => break,
                b'<' | b'>' => {
                    if self.pos == start && self.at(1) == Some(b'(') {
                        self.pos += 2;
                        self.substitution(&mut w, start)?;
                    } else {
                        break;
                    }
                }
                b'\'' => {
                    let body = s.get(self.pos + 1..).unwrap_or_default();
                    let Some(len) = body.iter().position(|&c| c == b'\'') else {
                        return Err(Stop::new("a single quote is not closed"));
                    };
                    w.quote();
                    for &c in body.get(..len).unwrap_or_default() {
                        w.push(c);
                    }
                    self.bump(len + 2);
                }
                b'"' => {
                    self.pos += 1;
                    w.quote();
                    self.double_quoted(&mut w, false)?;
                }
                b'\\' => match self.at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(c) => {
                        w.quote();
                        w.push(c);
                        self.pos += 2;
                    }
                    None => {
                        w.quote();
                        w.push(b'\\');
                        self.pos += 1;
                    }
                },
                b'$' => self.dollar(&mut w, false)?,
                b'`' => self.backquote(&mut w, false)?,
                _ => {
                    self.plain(&mut w, b);
                    if let Some((_, v)) = w.assign
                        && v == w.buf.len()
                        && self.at(0) == Some(b'(')
                    {
                        self.array(&mut w)?;
                    }
                }
            }
        }
        let word = w.finish(start, self.pos);
        if !self.out.mentioned && mentions(word.value.as_bytes()) {
            self.out.mentioned = true;
        }
        Ok(word)
    }

    /// An unquoted, unexpanded byte.
    fn plain(&mut self, w: &mut WordBuf, b: u8) {
        self.pos += 1;
        if w.assign.is_none() && w.name_ok && !w.buf.is_empty() {
            if b == b'=' {
                let name = w.buf.len();
                w.push(b);
                w.assign = Some((name, w.buf.len()));
                return;
            }
            if b == b'+' && self.at(0) == Some(b'=') {
                let name = w.buf.len();
                w.push(b'+');
                w.push(b'=');
                self.pos += 1;
                w.assign = Some((name, w.buf.len()));
                return;
            }
        }
        if !(b == b'_' || b.is_ascii_alphabetic() || (b.is_ascii_digit() && !w.buf.is_empty())) {
            w.name_ok = false;
        }
        match b {
            b'*' | b'?' => w.pattern = true,
            b'[' => w.bracket = true,
            b']' if w.bracket => w.pattern = true,
            b'{' => w.brace = 1,
            b',' if w.brace == 1 => w.brace = 2,
            b'.' if w.brace == 1 && self.at(0) == Some(b'.') => w.brace = 2,
            b'}' if w.brace == 2 => w.pattern = true,
            _ => {}
        }
        w.push(b);
    }

    /// `NAME=( ... )`: the elements are words (with their substitutions).
    fn array(&mut self, w: &mut WordBuf) -> Result<(), Stop> {
        self.pos += 1;
        self.enter()?;
        w.push(b'(');
        loop {
            self.skip_blanks();
            match self.at(0) {
                None => return Err(Stop::new("an array assignment is not closed")),
                Some(b')') => {
                    self.pos += 1;
                    w.push(b')');
                    break;
                }
                Some(b'\n') => self.newline(),
                Some(b) if is_meta(b) && self.peek() != Tok::Word => {
                    return Err(Stop::new("an array assignment is malformed"));
                }
                Some(_) => {
                    let e = self.read_word()?;
                    w.buf.extend_from_slice(e.value.as_bytes());
                    w.buf.push(b' ');
                    w.expanded |= e.expanded;
                }
            }
        }
        self.leave();
        Ok(())
    }

    /// The inside of `"..."` (after the opening quote), or the body of an unquoted here-document.
    fn double_quoted(&mut self, w: &mut WordBuf, heredoc: bool) -> Result<(), Stop> {
        loop {
            let Some(b) = self.at(0) else {
                if heredoc {
                    return Ok(());
                }
                return Err(Stop::new("a double quote is not closed"));
            };
            match b {
                b'"' if !heredoc => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => match self.at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(c) if matches!(c, b'$' | b'`' | b'\\') || (c == b'"' && !heredoc) => {
                        w.push(c);
                        self.pos += 2;
                    }
                    _ => {
                        w.push(b'\\');
                        self.pos += 1;
                    }
                },
                b'$' => self.dollar(w, true)?,
                b'`' => self.backquote(w, true)?,
                _ => {
                    w.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    /// A `$` and what follows it.
    fn dollar(&mut self, w: &mut WordBuf, in_double: bool) -> Result<(), Stop> {
        let s = self.src;
        let start = self.pos;
        match self.at(1) {
            Some(b'(') if self.at(2) == Some(b'(') && self.arithmetic_at(self.pos + 3) => {
                self.pos += 3;
                self.arithmetic()?;
                w.expansion(s.get(start..self.pos).unwrap_or_default());
            }
            Some(b'(') => {
                self.pos += 2;
                self.substitution(w, start)?;
            }
            Some(b'{') => {
                self.pos += 2;
                self.enter()?;
                self.parameter()?;
                self.leave();
                w.expansion(s.get(start..self.pos).unwrap_or_default());
            }
            Some(b'\'') if !in_double => {
                self.pos += 2;
                w.quote();
                self.ansi_c(w)?;
            }
            Some(b'"') if !in_double => {
                self.pos += 2;
                w.quote();
                self.double_quoted(w, false)?;
            }
            Some(c) if c == b'_' || c.is_ascii_alphabetic() => {
                self.pos += 1;
                while self
                    .at(0)
                    .is_some_and(|c| c == b'_' || c.is_ascii_alphanumeric())
                {
                    self.pos += 1;
                }
                w.expansion(s.get(start..self.pos).unwrap_or_default());
            }
            Some(c) if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => {
                self.pos += 2;
                w.expansion(s.get(start..self.pos).unwrap_or_default());
            }
            _ => {
                self.pos += 1;
                w.name_ok = false;
                w.push(b'$');
            }
        }
        Ok(())
    }

    /// The list inside `$(...)` or `<(...)` (after the parenthesis), run in a subshell.
    fn substitution(&mut self, w: &mut WordBuf, start: usize) -> Result<(), Stop> {
        self.enter()?;
        let saved = self.st.clone();
        self.parse_list(End::Paren)?;
        if self.at(0) != Some(b')') {
            return Err(Stop::new("a `$(` is not closed"));
        }
        self.pos += 1;
        self.st = saved;
        self.leave();
        w.expansion(self.src.get(start..self.pos).unwrap_or_default());
        Ok(())
    }

    /// The inside of `${...}` (after the brace): its substitutions run.
    fn parameter(&mut self) -> Result<(), Stop> {
        let mut scratch = WordBuf::new();
        loop {
            match self.at(0) {
                None => return Err(Stop::new("a `${` is not closed")),
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => self.bump(2),
                Some(b'\'') => self.skip_single_quoted()?,
                Some(b'"') => {
                    self.pos += 1;
                    self.double_quoted(&mut scratch, false)?;
                }
                Some(b'$') => self.dollar(&mut scratch, false)?,
                Some(b'`') => self.backquote(&mut scratch, false)?,
                Some(_) => self.pos += 1,
            }
        }
    }

    fn skip_single_quoted(&mut self) -> Result<(), Stop> {
        let body = self.src.get(self.pos + 1..).unwrap_or_default();
        let Some(len) = body.iter().position(|&c| c == b'\'') else {
            return Err(Stop::new("a single quote is not closed"));
        };
        self.bump(len + 2);
        Ok(())
    }

    /// Whether `((` at `from` (just after it) starts arithmetic, as bash decides: the `)` that
    /// closes the first parenthesis is directly followed by another. Otherwise it is a subshell
    /// inside `$(` or `(`: `$((cd app && wrangler deploy) | tee log)`. Looks ahead only.
    fn arithmetic_at(&self, from: usize) -> bool {
        let s = self.src.get(from..).unwrap_or_default();
        let mut depth = 0usize;
        let mut i = 0;
        while let Some(&b) = s.get(i) {
            match b {
                b'\\' => i += 1,
                b'\'' | b'"' => {
                    let close = s.get(i + 1..).and_then(|r| r.iter().position(|&c| c == b));
                    match close {
                        Some(n) => i += n + 1,
                        None => return true,
                    }
                }
                b'(' => depth += 1,
                b')' if depth == 0 => return s.get(i + 1) == Some(&b')'),
                b')' => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        true
    }

    /// The inside of `$((...))` or `((...))` (after the parentheses).
    fn arithmetic(&mut self) -> Result<(), Stop> {
        self.enter()?;
        let start = self.pos;
        let mut depth = 0usize;
        let mut scratch = WordBuf::new();
        loop {
            match self.at(0) {
                None => return Err(Stop::new("an arithmetic expression is not closed")),
                Some(b'(') => {
                    depth += 1;
                    self.pos += 1;
                }
                Some(b')') if depth > 0 => {
                    depth -= 1;
                    self.pos += 1;
                }
                Some(b')') => {
                    if self.at(1) != Some(b')') {
                        return Err(Stop::new("an arithmetic expression is unbalanced"));
                    }
                    if mentions(self.src.get(start..self.pos).unwrap_or_default()) {
                        // Nothing runs, but nothing that mentions wrangler belongs here either.
                        self.uncertain("an arithmetic expression mentions wrangler");
                    }
                    self.pos += 2;
                    self.leave();
                    return Ok(());
                }
                Some(b'$') => self.dollar(&mut scratch, false)?,
                Some(b'`') => self.backquote(&mut scratch, false)?,
                Some(b'"') => {
                    self.pos += 1;
                    self.double_quoted(&mut scratch, false)?;
                }
                Some(b'\'') => self.skip_single_quoted()?,
                Some(b'\\') => self.bump(2),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// `` `...` ``: the text between the backquotes, unescaped, is parsed again.
    fn backquote(&mut self, w: &mut WordBuf, in_double: bool) -> Result<(), Stop> {
        let start = self.pos;
        self.pos += 1;
        let mut inner = Vec::new();
        loop {
            match self.at(0) {
                None => return Err(Stop::new("a backquote is not closed")),
                Some(b'`') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => match self.at(1) {
                    Some(c) if matches!(c, b'$' | b'`' | b'\\') || (in_double && c == b'"') => {
                        inner.push(c);
                        self.pos += 2;
                    }
                    Some(c) => {
                        inner.extend_from_slice(&[b'\\', c]);
                        self.pos += 2;
                    }
                    None => {
                        inner.push(b'\\');
                        self.pos += 1;
                    }
                },
                Some(c) => {
                    inner.push(c);
                    self.pos += 1;
                }
            }
        }
        w.expansion(self.src.get(start..self.pos).unwrap_or_default());
        let st = self.st.clone();
        let inherit = self.inherit.clone();
        self.sub(&inner, st, inherit, Mode::List);
        Ok(())
    }

    /// The inside of `$'...'` (after the quote), escapes decoded.
    fn ansi_c(&mut self, out: &mut WordBuf) -> Result<(), Stop> {
        loop {
            let Some(byte) = self.at(0) else {
                return Err(Stop::new("a `$'` string is not closed"));
            };
            self.pos += 1;
            if byte == b'\'' {
                return Ok(());
            }
            if byte != b'\\' {
                out.push(byte);
                continue;
            }
            let Some(esc) = self.at(0) else {
                out.push(b'\\');
                continue;
            };
            self.pos += 1;
            match esc {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'a' => out.push(7),
                b'b' => out.push(8),
                b'e' | b'E' => out.push(27),
                b'f' => out.push(12),
                b'v' => out.push(11),
                b'\\' | b'\'' | b'"' | b'?' => out.push(esc),
                b'x' | b'u' | b'U' => {
                    let max = match esc {
                        b'x' => 2,
                        b'u' => 4,
                        _ => 8,
                    };
                    let digits = self
                        .src
                        .get(self.pos..)
                        .unwrap_or_default()
                        .iter()
                        .take(max)
                        .take_while(|b| b.is_ascii_hexdigit())
                        .count();
                    let text = self
                        .src
                        .get(self.pos..self.pos + digits)
                        .unwrap_or_default();
                    let value = std::str::from_utf8(text)
                        .ok()
                        .and_then(|t| u32::from_str_radix(t, 16).ok());
                    match value {
                        Some(v) if esc == b'x' => out.push(u8::try_from(v).unwrap_or(b'?')),
                        Some(v) => {
                            let c = char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER);
                            for &unit in c.encode_utf8(&mut [0; 4]).as_bytes() {
                                out.push(unit);
                            }
                        }
                        None => {
                            out.push(b'\\');
                            out.push(esc);
                        }
                    }
                    self.pos += digits;
                }
                b'0'..=b'7' => {
                    let mut v = u32::from(esc - b'0');
                    for _ in 0..2 {
                        match self.at(0) {
                            Some(d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                self.pos += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push(u8::try_from(v & 0xff).unwrap_or(b'?'));
                }
                b'c' => {
                    if let Some(c) = self.at(0) {
                        self.pos += 1;
                        out.push(c & 0x1f);
                    } else {
                        out.push(b'\\');
                        out.push(b'c');
                    }
                }
                _ => {
                    out.push(b'\\');
                    out.push(esc);
                }
            }
        }
    }

    /// Parses `text` as a separate piece of shell (a `bash -c` string, backquotes, a here-document
    /// body). Returns whether a command in it reads commands from its standard input.
    fn sub(&mut self, text: &[u8], st: Shell, inherit: Inherit, mode: Mode) -> bool {
        if self.depth + 1 > MAX_DEPTH {
            self.uncertain(format!(
                "the command nests more than {MAX_DEPTH} levels deep"
            ));
            return false;
        }
        self.out.work += text.len();
        if self.out.work > MAX_WORK {
            self.uncertain("the command re-parses too much nested text");
            return false;
        }
        let mut p = Parser::new(text, self.depth + 1, &mut *self.out, st, inherit);
        let result = match mode {
            Mode::List => p.parse_list(End::Eof),
            Mode::HereDoc => p.double_quoted(&mut WordBuf::new(), true),
        };
        if let Err(Stop(reason)) = result {
            p.uncertain(reason);
        }
        p.code > 0
    }

    // ---- grammar ----

    fn parse_list(&mut self, end: End) -> Result<(), Stop> {
        loop {
            self.skip_newlines();
            match self.peek() {
                Tok::Eof if matches!(end, End::Eof) => return Ok(()),
                Tok::Eof => {
                    return Err(Stop::new("the command ends inside an unfinished construct"));
                }
                Tok::RParen if matches!(end, End::Paren) => return Ok(()),
                Tok::RParen => return Err(Stop::new("a `)` does not match")),
                Tok::CaseEnd(_) if matches!(end, End::Case) => return Ok(()),
                Tok::CaseEnd(_) => return Err(Stop::new("a `;;` is outside `case`")),
                _ => {}
            }
            if self.peek_reserved().is_some_and(|r| end.stops_at(r)) {
                return Ok(());
            }
            self.parse_and_or()?;
            match self.peek() {
                Tok::Semi | Tok::Amp => self.pos += 1,
                Tok::Newline => self.newline(),
                Tok::Eof | Tok::RParen | Tok::CaseEnd(_) => {}
                Tok::Word if self.peek_reserved().is_some_and(|r| end.stops_at(r)) => {}
                _ => return Err(Stop::new("unexpected text after a command")),
            }
        }
    }

    fn parse_and_or(&mut self) -> Result<(), Stop> {
        let saved = self.st.clone();
        loop {
            self.parse_pipeline()?;
            match self.peek() {
                Tok::AndIf | Tok::OrIf => {
                    self.pos += 2;
                    self.skip_newlines();
                }
                _ => break,
            }
        }
        // A background job runs in a subshell: its `cd` does not reach the commands after it.
        if self.peek() == Tok::Amp {
            self.st = saved;
        }
        Ok(())
    }

    fn parse_pipeline(&mut self) -> Result<(), Stop> {
        loop {
            match self.peek_reserved() {
                Some("!") => self.pos += 1,
                Some("time") => {
                    self.pos += 4;
                    self.skip_blanks();
                    if self.at(0) == Some(b'-')
                        && self.at(1) == Some(b'p')
                        && self.at(2).is_none_or(is_meta)
                    {
                        self.pos += 2;
                    }
                }
                _ => break,
            }
        }
        let saved = self.st.clone();
        let mut index = 0usize;
        loop {
            // Each element of a longer pipeline runs in its own subshell.
            if index > 0 {
                self.st = saved.clone();
            }
            let before = self.code;
            let kind = self.parse_command()?;
            if index > 0 && (kind == Stdin::Code || self.code > before) {
                self.uncertain("a shell or interpreter runs commands it reads from a pipe");
            }
            match self.peek() {
                Tok::Pipe(n) => {
                    self.pos += n;
                    self.skip_newlines();
                    index += 1;
                }
                _ => break,
            }
        }
        if index > 0 {
            self.st = saved;
        }
        Ok(())
    }

    fn parse_command(&mut self) -> Result<Stdin, Stop> {
        match self.peek() {
            Tok::LParen if self.at(1) == Some(b'(') && self.arithmetic_at(self.pos + 2) => {
                self.pos += 2;
                self.arithmetic()?;
                self.redirects()?;
                return Ok(Stdin::Data);
            }
            Tok::LParen => {
                self.pos += 1;
                self.enter()?;
                let saved = self.st.clone();
                self.parse_list(End::Paren)?;
                self.pos += 1;
                self.st = saved;
                self.leave();
                self.redirects()?;
                return Ok(Stdin::Unknown);
            }
            Tok::Word | Tok::Redir => {}
            _ => return Err(Stop::new("a command is missing")),
        }
        match self.peek_reserved() {
            Some(
                r
                @ ("{" | "if" | "while" | "until" | "for" | "select" | "case" | "[[" | "function"),
            ) => {
                let kind = self.compound(r)?;
                self.redirects()?;
                Ok(kind)
            }
            Some(r) if CLOSERS.contains(&r) => Err(Stop(format!("a `{r}` does not match"))),
            _ => self.parse_simple(),
        }
    }

    /// Redirections after a compound command; its input is of unknown use.
    fn redirects(&mut self) -> Result<(), Stop> {
        let mut strings = Vec::new();
        while self.peek() == Tok::Redir {
            self.redirect(&mut strings)?;
        }
        // The commands of a redirected compound are not followed: `{ ...; } > run.sh` only counts
        // when a command inside writes a file itself.
        if strings.iter().any(|s| mentions(s.as_bytes())) {
            self.uncertain(
                "a here-string that mentions wrangler is fed to a command that may run it",
            );
        }
        Ok(())
    }

    fn compound(&mut self, reserved: &'static str) -> Result<Stdin, Stop> {
        self.pos += reserved.len();
        self.enter()?;
        match reserved {
            "{" => {
                self.parse_list(End::Words(&["}"]))?;
                self.expect_reserved("}")?;
            }
            "if" => {
                self.parse_list(End::Words(&["then"]))?;
                self.expect_reserved("then")?;
                loop {
                    self.parse_list(End::Words(&["elif", "else", "fi"]))?;
                    match self.peek_reserved() {
                        Some("elif") => {
                            self.pos += 4;
                            self.parse_list(End::Words(&["then"]))?;
                            self.expect_reserved("then")?;
                        }
                        Some("else") => {
                            self.pos += 4;
                            self.parse_list(End::Words(&["fi"]))?;
                            self.expect_reserved("fi")?;
                            break;
                        }
                        _ => {
                            self.expect_reserved("fi")?;
                            break;
                        }
                    }
                }
            }
            "while" | "until" => {
                self.parse_list(End::Words(&["do"]))?;
                self.loop_body()?;
            }
            "for" | "select" => {
                self.for_header()?;
                self.loop_body()?;
            }
            "case" => self.case()?,
            "[[" => self.test_expression()?,
            _ => {
                // `function NAME [()] BODY`
                if self.peek() != Tok::Word {
                    return Err(Stop::new("a function has no name"));
                }
                let name = self.read_word()?;
                self.skip_blanks();
                if self.at(0) == Some(b'(') {
                    self.pos += 1;
                    self.skip_blanks();
                    if self.at(0) != Some(b')') {
                        return Err(Stop::new("a function definition is malformed"));
                    }
                    self.pos += 1;
                }
                self.function_body(&name.value)?;
            }
        }
        self.leave();
        Ok(Stdin::Unknown)
    }

    fn loop_body(&mut self) -> Result<(), Stop> {
        self.skip_newlines();
        match self.peek_reserved() {
            Some("do") => {
                self.pos += 2;
                self.parse_list(End::Words(&["done"]))?;
                self.expect_reserved("done")
            }
            Some("{") => self.compound("{").map(|_| ()),
            _ => Err(Stop::new("`do` is missing")),
        }
    }

    fn for_header(&mut self) -> Result<(), Stop> {
        self.skip_blanks();
        if self.at(0) == Some(b'(') && self.at(1) == Some(b'(') {
            self.pos += 2;
            self.arithmetic()?;
        } else {
            if self.peek() != Tok::Word {
                return Err(Stop::new("a `for` has no variable"));
            }
            self.read_word()?;
            self.skip_newlines();
            if self.peek_reserved() == Some("in") {
                self.pos += 2;
                loop {
                    match self.peek() {
                        Tok::Word => {
                            self.read_word()?;
                        }
                        Tok::Semi => {
                            self.pos += 1;
                            break;
                        }
                        Tok::Newline => {
                            self.newline();
                            break;
                        }
                        _ => return Err(Stop::new("a `for` list is malformed")),
                    }
                }
                return Ok(());
            }
        }
        if self.peek() == Tok::Semi {
            self.pos += 1;
        }
        Ok(())
    }

    fn case(&mut self) -> Result<(), Stop> {
        if self.peek() != Tok::Word {
            return Err(Stop::new("a `case` has no word"));
        }
        self.read_word()?;
        self.skip_newlines();
        self.expect_reserved("in")?;
        loop {
            self.skip_newlines();
            if self.peek_reserved() == Some("esac") {
                self.pos += 4;
                return Ok(());
            }
            if self.peek() == Tok::LParen {
                self.pos += 1;
            }
            loop {
                if self.peek() != Tok::Word {
                    return Err(Stop::new("a `case` pattern is missing"));
                }
                self.read_word()?;
                if self.peek() == Tok::Pipe(1) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            if self.peek() != Tok::RParen {
                return Err(Stop::new("a `case` pattern is not closed"));
            }
            self.pos += 1;
            self.parse_list(End::Case)?;
            let Tok::CaseEnd(n) = self.peek() else {
                return self.expect_reserved("esac");
            };
            self.pos += n;
        }
    }

    /// `[[ ... ]]`: words (with substitutions) and operators up to `]]`.
    fn test_expression(&mut self) -> Result<(), Stop> {
        loop {
            self.skip_blanks();
            match self.at(0) {
                None => return Err(Stop::new("a `[[` is not closed")),
                Some(b'\n') => self.newline(),
                Some(b'<' | b'>') if self.at(1) == Some(b'(') => {
                    self.read_word()?;
                }
                Some(b) if is_meta(b) => self.pos += 1,
                Some(_) => {
                    if self.peek_reserved() == Some("]]") {
                        self.pos += 2;
                        return Ok(());
                    }
                    self.read_word()?;
                }
            }
        }
    }

    /// A function body. Defining a function can change what a later word runs: uncertain. The
    /// body is still searched.
    fn function_body(&mut self, name: &str) -> Result<(), Stop> {
        self.uncertain(format!(
            "defines the shell function `{}`, which can change what later commands run",
            excerpt(name)
        ));
        self.skip_newlines();
        let saved = self.st.clone();
        match self.peek() {
            Tok::LParen => {
                self.parse_command()?;
            }
            Tok::Word => match self.peek_reserved() {
                Some(r @ ("{" | "if" | "while" | "until" | "for" | "select" | "case" | "[[")) => {
                    self.compound(r)?;
                }
                _ => return Err(Stop::new("a function body is not a compound command")),
            },
            _ => return Err(Stop::new("a function body is missing")),
        }
        self.st = saved;
        self.redirects()
    }

    /// The length of `(` `)` after a possible function name, if they follow.
    fn function_parens(&self) -> Option<usize> {
        let rest = self.src.get(self.pos..)?;
        let mut i = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if rest.get(i) != Some(&b'(') {
            return None;
        }
        i += 1;
        i += rest
            .get(i..)?
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        (rest.get(i) == Some(&b')')).then_some(i + 1)
    }

    /// One redirection; returns whether it writes to a file.
    fn redirect(&mut self, strings: &mut Vec<String>) -> Result<bool, Stop> {
        enum Kind {
            File,
            String,
            Doc { strip_tabs: bool },
        }
        if let Some(n) = self.io_number_len() {
            self.pos += n;
        }
        let (len, kind) = match (self.at(0), self.at(1), self.at(2)) {
            (Some(b'<'), Some(b'<'), Some(b'<')) => (3, Kind::String),
            (Some(b'<'), Some(b'<'), Some(b'-')) => (3, Kind::Doc { strip_tabs: true }),
            (Some(b'<'), Some(b'<'), _) => (2, Kind::Doc { strip_tabs: false }),
            (Some(b'&'), Some(b'>'), Some(b'>')) => (3, Kind::File),
            (Some(b'<'), Some(b'&' | b'>'), _)
            | (Some(b'>'), Some(b'>' | b'&' | b'|'), _)
            | (Some(b'&'), Some(b'>'), _) => (2, Kind::File),
            (Some(b'<' | b'>'), _, _) => (1, Kind::File),
            _ => return Err(Stop::new("a redirection is malformed")),
        };
        let output = matches!(self.at(0), Some(b'>' | b'&')) || self.at(1) == Some(b'>');
        self.pos += len;
        if self.peek() != Tok::Word {
            return Err(Stop::new("a redirection has no target"));
        }
        let target = self.read_word()?;
        let to_fd = target.value == "-"
            || target.value.bytes().all(|b| b.is_ascii_digit())
            || target.value.starts_with("/dev/");
        match kind {
            Kind::File => return Ok(output && !to_fd),
            Kind::String => strings.push(target.value),
            Kind::Doc { strip_tabs } => self.pending.push(Doc {
                delim: target.value.into_bytes(),
                strip_tabs,
                quoted: target.quoted,
                consumer: Stdin::Unknown,
                writes: false,
            }),
        }
        Ok(false)
    }

    fn parse_simple(&mut self) -> Result<Stdin, Stop> {
        let mut words: Vec<Word> = Vec::new();
        let mut strings = Vec::new();
        let docs = self.pending.len();
        let mut any = false;
        let mut writes = false;
        loop {
            match self.peek() {
                Tok::Word => {
                    let word = self.read_word()?;
                    if words.is_empty()
                        && word.is_plain()
                        && let Some(n) = self.function_parens()
                    {
                        self.pos += n;
                        self.function_body(&word.value)?;
                        return Ok(Stdin::Unknown);
                    }
                    words.push(word);
                }
                Tok::Redir => writes |= self.redirect(&mut strings)?,
                _ => break,
            }
            any = true;
        }
        if !any {
            return Err(Stop::new("a command is missing"));
        }
        let kind = self.analyze(&words);
        if kind == Stdin::Code {
            self.code += 1;
        }
        for doc in self.pending.iter_mut().skip(docs) {
            doc.consumer = kind;
            doc.writes = writes;
        }
        // Text the command line itself puts in a file: `echo 'wrangler deploy' > run.sh`.
        let echoes = words
            .first()
            .is_some_and(|w| matches!(basename(&w.value), "echo" | "printf"));
        let mentioning = |s: &str| mentions(s.as_bytes());
        if writes
            && ((echoes && words.iter().any(|w| mentioning(&w.value)))
                || strings.iter().any(|s| mentioning(s)))
        {
            self.out.wrote = true;
        }
        if kind != Stdin::Data && strings.iter().any(|s| mentions(s.as_bytes())) {
            self.uncertain(
                "a here-string that mentions wrangler is fed to a command that may run it",
            );
        }
        Ok(kind)
    }

    // ---- what a simple command runs ----

    fn analyze(&mut self, words: &[Word]) -> Stdin {
        let n = words.iter().take_while(|w| w.assign.is_some()).count();
        let (assigns, rest) = words.split_at(n);
        if rest.is_empty() {
            for a in assigns.iter().filter_map(Word::assignment) {
                self.st.set(a);
            }
            return Stdin::Data;
        }
        let ctx = Ctx {
            wrappers: Vec::new(),
            assigns: assigns.iter().filter_map(Word::assignment).collect(),
            unset: Vec::new(),
            env_cleared: self.inherit.env_cleared,
            unknown_args: self.inherit.unknown_args,
            placeholder: self.inherit.placeholder.clone(),
            runner: self.inherit.runner,
            cwd: self.st.cwd.clone(),
            shell_level: true,
        };
        self.resolve(rest, ctx)
    }

    /// A word that names what runs (a command, a package, a script), when the text fixes it;
    /// otherwise the text is uncertain.
    fn literal(&mut self, w: &Word, what: &str) -> Option<String> {
        if w.expanded {
            let raw = self.raw(w);
            self.uncertain(format!("{what} `{raw}` is only known at run time"));
            return None;
        }
        if w.pattern {
            let raw = self.raw(w);
            self.uncertain(format!("{what} `{raw}` is expanded by the shell"));
            return None;
        }
        Some(w.value.clone())
    }

    /// Follows wrappers to the command that runs; reports wrangler.
    fn resolve(&mut self, mut words: &[Word], mut ctx: Ctx) -> Stdin {
        // Every pass consumes at least the command word.
        loop {
            let Some((first, rest)) = words.split_first() else {
                return Stdin::Data;
            };
            let Some(name) = self.literal(first, "the command name") else {
                return Stdin::Unknown;
            };
            let base = basename(&name).to_ascii_lowercase();
            let next = match base.as_str() {
                "wrangler" | "wrangler.js" | "wrangler.cjs" | "wrangler.mjs" => {
                    let via = if name.contains('/') {
                        via::PATH
                    } else {
                        ctx.runner.unwrap_or(via::DIRECT)
                    };
                    self.report(&ctx, via, rest);
                    Next::Done(Stdin::Data)
                }
                "safe-wrangler" => {
                    self.safe_wrangler(&ctx, rest);
                    Next::Done(Stdin::Data)
                }
                _ => match self.wrapper(&base, rest, &mut ctx) {
                    Some(next) => next,
                    None => self.command(&name, &base, rest, &mut ctx),
                },
            };
            match next {
                Next::Done(kind) => return kind,
                Next::Cmd(i) => words = rest.get(i..).unwrap_or_default(),
            }
        }
    }

    /// Commands that run the command after their options. `None`: not a wrapper.
    fn wrapper(&mut self, base: &str, rest: &[Word], ctx: &mut Ctx) -> Option<Next> {
        let simple = |spec: &Spec, label: &'static str, ctx: &mut Ctx| {
            let (i, _) = options(rest, spec);
            ctx.wrappers.push(label);
            ctx.shell_level = false;
            Next::Cmd(i)
        };
        let next = match base {
            "env" => self.env(rest, ctx),
            "sudo" | "doas" => Self::sudo(base, rest, ctx),
            "command" => {
                let (i, seen) = options(rest, &Spec::NONE);
                if seen.iter().any(|(o, _)| o == "-v" || o == "-V") {
                    return Some(Next::Done(Stdin::Data));
                }
                ctx.wrappers.push("command");
                Next::Cmd(i)
            }
            "builtin" | "nocorrect" | "noglob" | "corepack" | "busybox" => Next::Cmd(0),
            "exec" => simple(&Spec::short(b"a"), "exec", ctx),
            "time" => simple(&Spec::new(b"fo", &["--format", "--output"]), "time", ctx),
            "nice" => simple(&Spec::new(b"n", &["--adjustment"]), "nice", ctx),
            "nohup" => simple(&Spec::NONE, "nohup", ctx),
            "stdbuf" => simple(
                &Spec::new(b"ioe", &["--input", "--output", "--error"]),
                "stdbuf",
                ctx,
            ),
            "setsid" => simple(&Spec::NONE, "setsid", ctx),
            "caffeinate" => simple(&Spec::short(b"tw"), "caffeinate", ctx),
            "timeout" | "taskset" | "chrt" | "ionice" => Self::with_operand(base, rest, ctx),
            "xargs" => Self::xargs(rest, ctx),
            "find" => {
                self.find(rest, ctx);
                Next::Done(Stdin::Data)
            }
            "watch" => self.watch(rest, ctx),
            _ => return None,
        };
        Some(next)
    }

    /// Everything that is not a wrapper: runners, shells, builtins, data commands, the rest.
    fn command(&mut self, name: &str, base: &str, rest: &[Word], ctx: &mut Ctx) -> Next {
        if let Some(&(_, label)) = SHELLS.iter().find(|(s, _)| *s == base) {
            return Next::Done(self.shell(label, rest, ctx));
        }
        let kind = match base {
            "npx" => return self.npx(rest, ctx),
            "pnpx" => return self.dlx(rest, ctx, via::PNPM),
            "npm" => return self.npm(rest, ctx),
            "pnpm" => return self.pnpm(rest, ctx),
            "yarn" => return self.yarn(rest, ctx),
            "bunx" => return self.bunx(rest, ctx),
            "bun" => return self.bun(rest, ctx),
            "node" | "nodejs" => self.node(rest, ctx),
            "eval" => {
                if !rest.is_empty() {
                    self.uncertain("`eval` runs text that is only put together at run time");
                }
                Stdin::Unknown
            }
            "source" | "." => {
                self.uncertain(format!(
                    "`{base}` runs a file whose commands cannot be seen here"
                ));
                Stdin::Unknown
            }
            "alias" => {
                if rest.iter().any(|w| w.value.contains('=')) {
                    self.uncertain("`alias` can change what a later word runs");
                }
                Stdin::Data
            }
            "cd" | "pushd" | "popd" => {
                if ctx.shell_level {
                    self.cd(base, rest);
                }
                Stdin::Data
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                if ctx.shell_level {
                    for a in rest.iter().filter_map(Word::assignment) {
                        self.st.set(a);
                    }
                }
                Stdin::Data
            }
            "unset" => {
                if ctx.shell_level && !rest.iter().any(|w| w.value == "-f") {
                    for w in rest.iter().filter(|w| !w.value.starts_with('-')) {
                        self.st.remove(&w.value);
                    }
                }
                Stdin::Data
            }
            "git" => self.git(rest),
            "parallel" => {
                self.fallback(name, rest);
                Stdin::Code
            }
            _ if INTERPRETERS.contains(&base) => {
                self.fallback(name, rest);
                let script = rest.iter().any(|w| !w.value.starts_with('-'));
                self.out.ran_script |= script;
                if script && !rest.iter().any(|w| w.value == "-") {
                    Stdin::Unknown
                } else {
                    Stdin::Code
                }
            }
            _ if DATA.contains(&base) => Stdin::Data,
            _ => {
                // `./run.sh`: a script whose commands cannot be seen.
                self.out.ran_script |= name.contains('/');
                self.fallback(name, rest);
                Stdin::Unknown
            }
        };
        Next::Done(kind)
    }

    /// A wrangler call: checks what cannot be known, then records it.
    fn report(&mut self, ctx: &Ctx, via: &'static str, argv: &[Word]) {
        if self.out.findings.len() >= MAX_FINDINGS {
            self.uncertain(format!(
                "the command makes more than {MAX_FINDINGS} wrangler calls"
            ));
            return;
        }
        for w in argv {
            if w.expanded {
                let raw = self.raw(w);
                self.uncertain(format!(
                    "wrangler's argument `{raw}` is only known at run time"
                ));
                return;
            }
            if w.pattern {
                let raw = self.raw(w);
                self.uncertain(format!(
                    "wrangler's argument `{raw}` is expanded by the shell"
                ));
                return;
            }
        }
        let cwd = match &ctx.cwd {
            Dir::Unknown => {
                self.uncertain("wrangler runs in a directory that is only known at run time");
                return;
            }
            Dir::Here => None,
            Dir::At(d) => Some(d.to_string()),
        };
        if self.st.overflow {
            self.uncertain("the command sets more variables or directories than are tracked");
            return;
        }
        let assigns: Vec<&Assign> = self.st.vars.iter().chain(&ctx.assigns).collect();
        if assigns
            .iter()
            .any(|a| &*a.name == "CLOUDFLARE_ENV" && a.expanded)
        {
            self.uncertain(
                "CLOUDFLARE_ENV is set for wrangler from a value only known at run time",
            );
            return;
        }
        let invocation = Invocation {
            argv: argv.iter().map(|w| w.value.clone()).collect(),
            assignments: assigns
                .iter()
                .map(|a| (a.name.to_string(), a.value.to_string()))
                .collect(),
            unset: self
                .st
                .unset
                .iter()
                .map(ToString::to_string)
                .chain(ctx.unset.iter().cloned())
                .collect(),
            env_cleared: ctx.env_cleared,
            cwd,
            via,
            wrappers: self
                .inherit
                .wrappers
                .iter()
                .chain(&ctx.wrappers)
                .copied()
                .collect(),
            unknown_args: ctx.unknown_args,
        };
        self.out.findings.push(Finding::Wrangler(invocation));
    }

    /// `safe-wrangler ARGS`: a guarded wrangler call, unless ARGS start with one of its own verbs.
    fn safe_wrangler(&mut self, ctx: &Ctx, args: &[Word]) {
        if let Some(first) = args.first()
            && !first.expanded
            && crate::cli::OWN_VERBS.contains(&first.value.as_str())
        {
            return;
        }
        self.report(ctx, via::SAFE_WRANGLER, args);
    }

    /// A command we do not know: uncertain when it is given a word that looks like wrangler or
    /// like code that mentions it (`ssh host wrangler deploy`, `trap 'wrangler deploy' EXIT`).
    fn fallback(&mut self, name: &str, args: &[Word]) {
        for a in args {
            if !mentions(a.lit.as_bytes()) {
                continue;
            }
            let code_like = a.lit.bytes().any(|b| b" \t\n;|&()<>`$'\"{}".contains(&b));
            if code_like || wranglerish(&a.lit).is_some() || node_script(&a.lit) {
                self.uncertain(format!(
                    "`{}` is given `{}`, and may run wrangler with it",
                    excerpt(basename(name)),
                    excerpt(&a.value)
                ));
                return;
            }
        }
    }

    /// Prepares a re-parse of a string run by this command (`bash -c`, `watch`, `npx -c`).
    fn inherit_from(&self, ctx: &Ctx, wrapper: &'static str) -> (Shell, Inherit) {
        let mut wrappers = self.inherit.wrappers.clone();
        wrappers.extend(&ctx.wrappers);
        wrappers.push(wrapper);
        let inherit = Inherit {
            wrappers,
            runner: ctx.runner,
            unknown_args: ctx.unknown_args,
            placeholder: ctx.placeholder.clone(),
            env_cleared: ctx.env_cleared,
        };
        let mut st = self.st.clone();
        st.cwd = ctx.cwd.clone();
        st.old = Dir::Unknown;
        st.stack = Rc::default();
        for a in &ctx.assigns {
            st.set(a.clone());
        }
        for u in &ctx.unset {
            st.remove(u);
        }
        (st, inherit)
    }

    /// Runs `text` as shell code on behalf of this command.
    fn run_string(&mut self, text: &Word, ctx: &Ctx, wrapper: &'static str) -> Stdin {
        if text.expanded || text.pattern {
            let raw = self.raw(text);
            self.uncertain(format!(
                "`{wrapper}` runs `{raw}`, which is only known at run time"
            ));
            return Stdin::Unknown;
        }
        if let Some(p) = &ctx.placeholder
            && text.value.contains(p.as_str())
        {
            self.uncertain(format!(
                "`{wrapper}` runs a command that xargs or find fills in at run time"
            ));
            return Stdin::Unknown;
        }
        let (st, inherit) = self.inherit_from(ctx, wrapper);
        if self.sub(text.value.as_bytes(), st, inherit, Mode::List) {
            Stdin::Code
        } else {
            Stdin::Unknown
        }
    }

    /// Runs words joined by spaces as shell code (`watch`, `pnpm exec -c`, `bun exec`).
    fn run_joined(&mut self, words: &[Word], ctx: &Ctx, wrapper: &'static str) -> Stdin {
        if words.is_empty() {
            return Stdin::Data;
        }
        let joined = Word {
            value: words
                .iter()
                .map(|w| w.value.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            expanded: words.iter().any(|w| w.expanded),
            pattern: words.iter().any(|w| w.pattern),
            start: words.first().map_or(0, |w| w.start),
            end: words.last().map_or(0, |w| w.end),
            ..Word::default()
        };
        self.run_string(&joined, ctx, wrapper)
    }

    // ---- wrappers ----

    fn env(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
        let spec = Spec::new(
            b"uCSPa",
            &["--unset", "--chdir", "--split-string", "--argv0"],
        );
        let (mut i, seen) = options(rest, &spec);
        for (o, v) in &seen {
            match o.as_str() {
                "-i" | "--ignore-environment" => ctx.env_cleared = true,
                "-u" | "--unset" => ctx.unset.extend(v.as_ref().map(|v| v.text.clone())),
                "-C" | "--chdir" => ctx.cwd = chdir(&ctx.cwd, v.as_ref()),
                "-S" | "--split-string" => {
                    self.uncertain("`env -S` splits a string into a command");
                    return Next::Done(Stdin::Unknown);
                }
                _ => {}
            }
        }
        if rest.get(i).is_some_and(|w| w.value == "-" && !w.expanded) {
            ctx.env_cleared = true;
            i += 1;
        }
        i += take_assignments(rest.get(i..).unwrap_or_default(), ctx);
        ctx.wrappers.push("env");
        ctx.shell_level = false;
        Next::Cmd(i)
    }

    fn sudo(base: &str, rest: &[Word], ctx: &mut Ctx) -> Next {
        let (mut i, seen) = if base == "doas" {
            options(rest, &Spec::short(b"uC"))
        } else {
            options(
                rest,
                &Spec::new(
                    b"ugpCDrtTUR",
                    &[
                        "--user",
                        "--group",
                        "--prompt",
                        "--close-from",
                        "--chdir",
                        "--role",
                        "--type",
                        "--command-timeout",
                        "--other-user",
                        "--chroot",
                        "--host",
                    ],
                ),
            )
        };
        let mut shell = false;
        for (o, v) in &seen {
            match (base, o.as_str()) {
                (
                    "sudo",
                    "-e" | "--edit" | "-l" | "--list" | "-V" | "--version" | "-v" | "--validate"
                    | "-K" | "--remove-timestamp" | "--help",
                )
                | ("doas", "-C") => return Next::Done(Stdin::Data),
                (_, "-D" | "--chdir") => ctx.cwd = chdir(&ctx.cwd, v.as_ref()),
                (_, "-i" | "--login" | "-s" | "--shell") => shell = true,
                _ => {}
            }
        }
        if base == "sudo" {
            i += take_assignments(rest.get(i..).unwrap_or_default(), ctx);
        }
        if shell && i >= rest.len() {
            return Next::Done(Stdin::Code);
        }
        ctx.wrappers
            .push(if base == "doas" { "doas" } else { "sudo" });
        ctx.shell_level = false;
        Next::Cmd(i)
    }

    /// Wrappers with an operand before the command: `timeout DURATION`, `taskset MASK`,
    /// `chrt PRIORITY`; `ionice` has none.
    fn with_operand(base: &str, rest: &[Word], ctx: &mut Ctx) -> Next {
        let (spec, label, operands) = match base {
            "timeout" => (
                Spec::new(b"sk", &["--signal", "--kill-after"]),
                "timeout",
                1,
            ),
            "taskset" => (Spec::NONE, "taskset", 1),
            "chrt" => (Spec::NONE, "chrt", 1),
            _ => (
                Spec::new(
                    b"cnpPu",
                    &["--class", "--classdata", "--pid", "--pgid", "--uid"],
                ),
                "ionice",
                0,
            ),
        };
        let (i, seen) = options(rest, &spec);
        if seen.iter().any(|(o, _)| {
            matches!(
                o.as_str(),
                "-p" | "--pid" | "-P" | "--pgid" | "-u" | "--uid"
            )
        }) {
            return Next::Done(Stdin::Data);
        }
        ctx.wrappers.push(label);
        ctx.shell_level = false;
        Next::Cmd(i + operands)
    }

    fn xargs(rest: &[Word], ctx: &mut Ctx) -> Next {
        let spec = Spec {
            short: b"adEILnPs",
            attached: b"eil",
            long: &[
                "--arg-file",
                "--delimiter",
                "--max-args",
                "--max-procs",
                "--max-chars",
                "--process-slot-var",
            ],
        };
        let (i, seen) = options(rest, &spec);
        for (o, v) in &seen {
            match o.as_str() {
                "-I" | "--replace" => {
                    ctx.placeholder = Some(v.as_ref().map_or("{}", |v| v.text.as_str()).to_owned());
                }
                "-i" => ctx.placeholder = Some("{}".to_owned()),
                _ => {}
            }
        }
        if i >= rest.len() {
            // The default command is echo.
            return Next::Done(Stdin::Data);
        }
        ctx.wrappers.push("xargs");
        ctx.unknown_args = true;
        ctx.shell_level = false;
        Next::Cmd(i)
    }

    /// `find ... -exec CMD ... ;`: each command, with `{}` filled in at run time.
    fn find(&mut self, rest: &[Word], ctx: &Ctx) {
        let mut i = 0;
        while let Some(w) = rest.get(i) {
            i += 1;
            if !matches!(w.value.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
                continue;
            }
            let start = i;
            while let Some(w) = rest.get(i) {
                let plus =
                    w.value == "+" && i > start && rest.get(i - 1).is_some_and(|p| p.value == "{}");
                if w.value == ";" || plus {
                    break;
                }
                i += 1;
            }
            let mut sub = ctx.clone();
            sub.wrappers.push("find -exec");
            sub.unknown_args = true;
            sub.placeholder = Some("{}".to_owned());
            sub.shell_level = false;
            if self.enter().is_err() {
                self.leave();
                self.uncertain(format!(
                    "the command nests more than {MAX_DEPTH} levels deep"
                ));
                return;
            }
            self.resolve(rest.get(start..i).unwrap_or_default(), sub);
            self.leave();
            i += 1;
        }
    }

    fn watch(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
        let (i, seen) = options(rest, &Spec::new(b"nq", &["--interval", "--equexit"]));
        ctx.shell_level = false;
        if seen.iter().any(|(o, _)| o == "-x" || o == "--exec") {
            ctx.wrappers.push("watch");
            return Next::Cmd(i);
        }
        Next::Done(self.run_joined(rest.get(i..).unwrap_or_default(), ctx, "watch"))
    }

    // ---- shells and interpreters ----

    fn shell(&mut self, label: &'static str, rest: &[Word], ctx: &Ctx) -> Stdin {
        let mut i = 0;
        let mut command = false;
        let mut stdin = false;
        while let Some(w) = rest.get(i) {
            let v = w.value.as_str();
            if w.expanded {
                break;
            }
            if v == "-" || v == "--" {
                i += 1;
                break;
            }
            if let Some(long) = v.strip_prefix("--") {
                i += match long {
                    "rcfile" | "init-file" => 2,
                    "command" => {
                        command = true;
                        1
                    }
                    _ => 1,
                };
                continue;
            }
            let Some(flags) = v.strip_prefix('-').or_else(|| v.strip_prefix('+')) else {
                break;
            };
            if flags.is_empty() {
                break;
            }
            command |= flags.contains('c');
            stdin |= flags.contains('s');
            i += 1 + flags.bytes().filter(|&b| b == b'o' || b == b'O').count();
        }
        if command {
            if let Some(text) = rest.get(i) {
                return self.run_string(text, ctx, label);
            }
            if ctx.unknown_args {
                self.uncertain(format!(
                    "`{label}` takes its command from xargs or find at run time"
                ));
            }
            return Stdin::Unknown;
        }
        let Some(script) = rest.get(i) else {
            return Stdin::Code;
        };
        if stdin
            || matches!(
                script.value.as_str(),
                "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0"
            )
        {
            return Stdin::Code;
        }
        self.out.ran_script = true;
        self.fallback(label, rest.get(i..).unwrap_or_default());
        Stdin::Unknown
    }

    fn node(&mut self, rest: &[Word], ctx: &Ctx) -> Stdin {
        let spec = Spec::new(
            b"repC",
            &[
                "--require",
                "--import",
                "--loader",
                "--experimental-loader",
                "--conditions",
                "--eval",
                "--print",
                "--input-type",
                "--title",
                "--inspect-port",
                "--env-file",
                "--env-file-if-exists",
                "--run",
                "--watch-path",
            ],
        );
        let (i, seen) = options(rest, &spec);
        for (o, v) in &seen {
            if matches!(o.as_str(), "-e" | "--eval" | "-p" | "--print" | "--run") {
                if v.as_ref().is_some_and(|v| mentions(v.text.as_bytes())) {
                    self.uncertain(format!("`node {o}` runs code that mentions wrangler"));
                }
                return Stdin::Unknown;
            }
        }
        let Some(script) = rest.get(i) else {
            return Stdin::Code;
        };
        let Some(name) = self.literal(script, "node's script") else {
            return Stdin::Unknown;
        };
        if matches!(name.as_str(), "-" | "/dev/stdin") {
            return Stdin::Code;
        }
        let args = rest.get(i + 1..).unwrap_or_default();
        if node_runs_wrangler(&name) {
            self.report(ctx, via::NODE, args);
            Stdin::Data
        } else {
            self.out.ran_script = true;
            self.fallback("node", args);
            Stdin::Unknown
        }
    }

    fn git(&mut self, rest: &[Word]) -> Stdin {
        let runs = rest.iter().any(|w| {
            let v = w.value.as_str();
            matches!(v, "--exec" | "-x" | "run" | "foreach" | "-c")
                || v.starts_with("--exec=")
                || v.starts_with("alias.")
        });
        if runs && rest.iter().any(|w| mentions(w.value.as_bytes())) {
            self.uncertain("`git` may run a command that mentions wrangler");
            return Stdin::Unknown;
        }
        Stdin::Data
    }

    fn cd(&mut self, verb: &str, args: &[Word]) {
        let mut i = 0;
        while let Some(w) = args.get(i) {
            let v = w.value.as_str();
            if v == "--" {
                i += 1;
                break;
            }
            let numeric = v.len() > 1 && v.bytes().skip(1).all(|b| b.is_ascii_digit());
            if v.len() > 1 && v.starts_with('-') && !numeric && !w.expanded {
                i += 1;
            } else {
                break;
            }
        }
        let target = args.get(i);
        let st = &mut self.st;
        match (verb, target) {
            ("cd", None) => st.old = std::mem::replace(&mut st.cwd, Dir::At("~".into())),
            ("cd", Some(w)) => {
                let new = if w.value == "-" && !w.quoted {
                    st.old.clone()
                } else if w.expanded || w.pattern {
                    Dir::Unknown
                } else {
                    join(&st.cwd, &w.value)
                };
                st.old = std::mem::replace(&mut st.cwd, new);
            }
            ("pushd", None) => {
                let stack = Rc::make_mut(&mut st.stack);
                if let Some(top) = stack.pop() {
                    let old = std::mem::replace(&mut st.cwd, top);
                    stack.push(old);
                }
            }
            ("pushd", Some(w)) => {
                let rotate = w.value.starts_with('+') || w.value.starts_with('-');
                let new = if w.expanded || w.pattern || rotate {
                    Dir::Unknown
                } else {
                    join(&st.cwd, &w.value)
                };
                let old = std::mem::replace(&mut st.cwd, new);
                st.old = old.clone();
                let stack = Rc::make_mut(&mut st.stack);
                if stack.len() >= MAX_VARS {
                    st.overflow = true;
                } else {
                    stack.push(old);
                }
            }
            ("popd", None) => {
                if let Some(top) = Rc::make_mut(&mut st.stack).pop() {
                    st.old = std::mem::replace(&mut st.cwd, top);
                }
            }
            _ => st.cwd = Dir::Unknown,
        }
    }

    // ---- package runners ----

    /// The package or command a runner runs: wrangler is reported; anything else is either run
    /// as a command (`shell_like`: npx and the `exec` verbs run through PATH) or checked with
    /// the fallback.
    fn runner_operand(
        &mut self,
        words: &[Word],
        i: usize,
        ctx: &mut Ctx,
        runner: &'static str,
        shell_like: bool,
    ) -> Next {
        let Some(w) = words.get(i) else {
            return Next::Done(Stdin::Data);
        };
        let Some(name) = self.literal(w, "the package or command") else {
            return Next::Done(Stdin::Unknown);
        };
        let args = words.get(i + 1..).unwrap_or_default();
        match wranglerish(&name) {
            Some(Wr::Wrangler) => self.report(ctx, runner, args),
            Some(Wr::Safe) => self.safe_wrangler(ctx, args),
            None if shell_like => {
                ctx.runner = Some(runner);
                ctx.shell_level = false;
                return Next::Cmd(i);
            }
            None => {
                self.fallback(&name, args);
                return Next::Done(Stdin::Unknown);
            }
        }
        Next::Done(Stdin::Data)
    }

    fn npx(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
        let (i, seen) = options(rest, &NPX_SPEC);
        for (o, v) in &seen {
            match o.as_str() {
                "-c" | "--call" => {
                    return Next::Done(match v {
                        Some(v) => {
                            let mut c = ctx.clone();
                            c.runner = Some(via::NPX);
                            self.run_string(&v.word(), &c, "npx -c")
                        }
                        None => Stdin::Data,
                    });
                }
                "--prefix" => ctx.cwd = chdir(&ctx.cwd, v.as_ref()),
                "-w" | "--workspace" => ctx.cwd = workspace(&ctx.cwd, v.as_ref()),
                "--workspaces" | "--ws" => ctx.cwd = Dir::Unknown,
                _ => {}
            }
        }
        self.runner_operand(rest, i, ctx, via::NPX, true)
    }

    fn npm(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
        let (i, seen) = options(rest, &NPX_SPEC);
        let Some(sub) = rest.get(i) else {
            return Next::Done(Stdin::Data);
        };
        let Some(verb) = self.literal(sub, "npm's command") else {
            return Next::Done(Stdin::Unknown);
        };
        let tail = rest.get(i + 1..).unwrap_or_default();
        match verb.as_str() {
            "exec" | "x" => {
                for (o, v) in &seen {
                    match o.as_str() {
                        "--prefix" => ctx.cwd = chdir(&ctx.cwd, v.as_ref()),
                        "-w" | "--workspace" => ctx.cwd = workspace(&ctx.cwd, v.as_ref()),
                        "--workspaces" | "--ws" => ctx.cwd = Dir::Unknown,
                        _ => {}
                    }
                }
                self.npm_exec(tail, ctx)
            }
            v if NPM_DATA.contains(&v) => Next::Done(Stdin::Data),
            _ => {
                self.fallback("npm", tail);
                Next::Done(Stdin::Unknown)
            }
        }
    }

    /// `npm exec`: npm reads options anywhere before `--`, so flags after the command name are
    /// npm's unless a `--` comes first.
    fn npm_exec(&mut self, words: &[Word], ctx: &mut Ctx) -> Next {
        let mut i = 0;
        let mut dashdash = false;
        while let Some(w) = words.get(i) {
            let v = w.value.as_str();
            if v == "--" {
                dashdash = true;
                i += 1;
                break;
            }
            if !v.starts_with('-') || v == "-" || w.expanded {
                break;
            }
            let (n, seen) = options(words.get(i..).unwrap_or_default(), &NPX_SPEC);
            let n = n.max(1);
            for (o, v) in &seen {
                match o.as_str() {
                    "-c" | "--call" => {
                        return Next::Done(match v {
                            Some(v) => {
                                let mut c = ctx.clone();
                                c.runner = Some(via::NPM_EXEC);
                                self.run_string(&v.word(), &c, "npm exec -c")
                            }
                            None => Stdin::Data,
                        });
                    }
                    "-w" | "--workspace" => ctx.cwd = workspace(&ctx.cwd, v.as_ref()),
                    "--workspaces" | "--ws" => ctx.cwd = Dir::Unknown,
                    _ => {}
                }
            }
            i += n;
        }
        let Some(w) = words.get(i) else {
            return Next::Done(Stdin::Data);
        };
        if dashdash || w.expanded || wranglerish(&w.value).is_none() {
            return self.runner_operand(words, i, ctx, via::NPM_EXEC, true);
        }
        // `npm exec wrangler deploy --env x`: npm takes `--env x` unless `--` comes before it.
        let args = words.get(i + 1..).unwrap_or_default();
        let cut = args.iter().position(|w| w.value == "--");
        let before = args.get(..cut.unwrap_or(args.len())).unwrap_or_default();
        if before.iter().any(|w| w.value.starts_with('-')) {
            self.uncertain(
                "`npm exec` without `--` before the command takes the flags meant for wrangler",
            );
            return Next::Done(Stdin::Unknown);
        }
        let mut kept: Vec<Word> = vec![w.clone()];
        kept.extend(
            args.iter()
                .enumerate()
                .filter(|(j, _)| Some(*j) != cut)
                .map(|(_, w)| w.clone()),
        );
        self.runner_operand(&kept, 0, ctx, via::NPM_EXEC, true)
    }

    fn pnpm(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
        let (i, seen) = options(rest, &PNPM_SPEC);
        pnpm_dirs(&seen, ctx);
        let Some(sub) = rest.get(i) else {
            return Next::Done(Stdin::Data);
        };
        let Some(verb) = self.literal(sub, "pnpm's command") else {
            return Next::Done(Stdin::Unknown);
        };
        let tail = rest.get(i + 1..).unwrap_or_default();
        match verb.as_str() {
            "exec" => {
                let (j, seen) = options(tail, &PNPM_SPEC);
                pnpm_dirs(&seen, ctx);
                if seen.iter().any(|(o, _)| o == "-c" || o == "--shell-mode") {
                    let mut c = ctx.clone();
                    c.runner = Some(via::PNPM);
                    let words = tail.get(j..).unwrap_or_default();
                    return Next::Done(self.run_joined(words, &c, "pnpm exec -c"));
                }
                self.runner_operand(tail, j, ctx, via::PNPM, true)
            }
            "dlx" => self.dlx(tail, ctx, via::PNPM),
            v if PNPM_DATA.contains(&v) => Next::Done(Stdin::Data),
            v if SCRIPT_VERBS.contains(&v) => {
                self.fallback("pnpm", tail);
                Next::Done(Stdin::Unknown)
            }
            _ => self.runner_operand(rest, i, ctx, via::PNPM, false),
        }
    }

    /// `pnpm dlx`, `pnpx`, `yarn dlx`: a package's binary, fetched if needed.
    fn dlx(&mut self, rest: &[Word], ctx: &mut Ctx, runner: &'static str) -> Next {
        let (i, seen) = options(
            rest,
            &Spec::new(b"p", &["--package", "--allow-build", "--reporter"]),
        );
        if seen.iter().any(|(o, _)| o == "-c" || o == "--shell-mode") {
            let mut c = ctx.clone();
            c.runner = Some(runner);
            let label = if runner == via::YARN {
                "yarn dlx -c"
            } else {
                "pnpm dlx -c"
            };
            return Next::Done(self.run_joined(rest.get(i..).unwrap_or_default(), &c, label));
        }
        self.runner_operand(rest, i, ctx, runner, false)
    }

    fn yarn(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
        let spec = Spec::new(
            b"",
            &[
                "--cwd",
                "--modules-folder",
                "--cache-folder",
                "--global-folder",
                "--link-folder",
                "--mutex",
                "--network-timeout",
                "--registry",
                "--use-yarnrc",
            ],
        );
        let mut words = rest;
        // `yarn workspace NAME ...` repeats; each pass consumes words.
        loop {
            let (i, seen) = options(words, &spec);
            for (o, v) in &seen {
                if o == "--cwd" {
                    ctx.cwd = chdir(&ctx.cwd, v.as_ref());
                }
            }
            let Some(sub) = words.get(i) else {
                return Next::Done(Stdin::Data);
            };
            let Some(verb) = self.literal(sub, "yarn's command") else {
                return Next::Done(Stdin::Unknown);
            };
            let tail = words.get(i + 1..).unwrap_or_default();
            return match verb.as_str() {
                "exec" => self.runner_operand(tail, 0, ctx, via::YARN, true),
                "dlx" => self.dlx(tail, ctx, via::YARN),
                "run" => {
                    let (j, _) = options(tail, &Spec::NONE);
                    self.runner_operand(tail, j, ctx, via::YARN, false)
                }
                "workspace" => {
                    ctx.cwd = Dir::Unknown;
                    words = tail.get(1..).unwrap_or_default();
                    if words.is_empty() {
                        return Next::Done(Stdin::Data);
                    }
                    continue;
                }
                "node" => Next::Done(self.node(tail, ctx)),
                v if YARN_DATA.contains(&v) => Next::Done(Stdin::Data),
                v if SCRIPT_VERBS.contains(&v) => {
                    self.fallback("yarn", tail);
                    Next::Done(Stdin::Unknown)
                }
                _ => self.runner_operand(words, i, ctx, via::YARN, false),
            };
        }
    }

    fn bunx(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
        let (i, _) = options(rest, &Spec::new(b"p", &["--package"]));
        self.runner_operand(rest, i, ctx, via::BUNX, false)
    }

    fn bun(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
        let (i, seen) = options(rest, &BUN_SPEC);
        bun_dirs(&seen, ctx);
        let Some(sub) = rest.get(i) else {
            return Next::Done(Stdin::Data);
        };
        let Some(verb) = self.literal(sub, "bun's command") else {
            return Next::Done(Stdin::Unknown);
        };
        let tail = rest.get(i + 1..).unwrap_or_default();
        match verb.as_str() {
            "x" => self.bunx(tail, ctx),
            "exec" => {
                let mut c = ctx.clone();
                c.runner = Some(via::BUN);
                Next::Done(self.run_joined(tail, &c, "bun exec"))
            }
            "run" => {
                let (j, seen) = options(tail, &BUN_SPEC);
                bun_dirs(&seen, ctx);
                self.bun_target(tail, j, ctx)
            }
            v if BUN_DATA.contains(&v) => Next::Done(Stdin::Data),
            _ => self.bun_target(rest, i, ctx),
        }
    }

    /// `bun run TARGET`: a script, a package binary or a file.
    fn bun_target(&mut self, words: &[Word], i: usize, ctx: &mut Ctx) -> Next {
        if let Some(w) = words.get(i)
            && !w.expanded
            && !w.pattern
            && node_runs_wrangler(&w.value)
        {
            self.report(ctx, via::BUN, words.get(i + 1..).unwrap_or_default());
            return Next::Done(Stdin::Data);
        }
        self.runner_operand(words, i, ctx, via::BUN, false)
    }
}

/// What a wrapper leaves to do.
enum Next {
    /// Resolve again from this index of the wrapper's arguments.
    Cmd(usize),
    /// Nothing more runs.
    Done(Stdin),
}

/// The last path component.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wr {
    Wrangler,
    Safe,
}

/// Whether a command or package spec names wrangler: `wrangler`, `wrangler@4`,
/// `npm:wrangler@latest`, `@cloudflare/wrangler`, `./node_modules/.bin/wrangler`, any case.
fn wranglerish(name: &str) -> Option<Wr> {
    let lower = name.to_ascii_lowercase();
    let spec = lower.strip_prefix("npm:").unwrap_or(&lower);
    let base = basename(spec);
    let base = match base.split_once('@') {
        Some((b, _)) if !b.is_empty() => b,
        _ => base,
    };
    match base {
        // `wrangler2` and `cf-wrangler` are more bin names the wrangler package installs.
        "wrangler" | "wrangler2" | "cf-wrangler" | "wrangler.js" | "wrangler.cjs"
        | "wrangler.mjs" => Some(Wr::Wrangler),
        "safe-wrangler" => Some(Wr::Safe),
        _ => None,
    }
}

/// Whether node would run wrangler's own script: `node_modules/wrangler/bin/wrangler.js`,
/// `node_modules/wrangler/wrangler-dist/cli.js`, `node_modules/.bin/wrangler`.
fn node_script(path: &str) -> bool {
    if wranglerish(path) == Some(Wr::Wrangler) {
        return true;
    }
    let lower = path.to_ascii_lowercase();
    let script = [".js", ".cjs", ".mjs"].iter().any(|e| lower.ends_with(e));
    script
        && lower
            .split('/')
            .rev()
            .skip(1)
            .any(|c| c == "wrangler" || c == "wrangler-dist")
}

/// What `node PATH` would run from the wrangler package: the script itself, or anything inside
/// the package (its directory runs `main`, and node adds a missing `.js`).
fn node_runs_wrangler(path: &str) -> bool {
    node_script(path)
        || path
            .to_ascii_lowercase()
            .split('/')
            .any(|c| c == "wrangler" || c == "wrangler-dist" || c == "wrangler2")
}

/// `NAME=value` words (as `env` and `sudo` take them); returns how many.
fn take_assignments(words: &[Word], ctx: &mut Ctx) -> usize {
    let mut n = 0;
    for w in words {
        let Some((name, value)) = w.value.split_once('=') else {
            break;
        };
        if name.is_empty() || name.starts_with('-') {
            break;
        }
        ctx.assigns.push(Assign {
            name: name.into(),
            value: value.into(),
            expanded: w.expanded,
        });
        n += 1;
    }
    n
}

fn chdir(cwd: &Dir, value: Option<&Val>) -> Dir {
    match value {
        None => cwd.clone(),
        Some(v) if v.expanded => Dir::Unknown,
        Some(v) => join(cwd, &v.text),
    }
}

/// `-w NAME`: a path is a directory; a package name is only known from the workspace's files.
fn workspace(cwd: &Dir, value: Option<&Val>) -> Dir {
    match value {
        Some(v) if v.text.contains('/') => chdir(cwd, Some(v)),
        _ => Dir::Unknown,
    }
}

fn pnpm_dirs(seen: &[(String, Option<Val>)], ctx: &mut Ctx) {
    for (o, v) in seen {
        match o.as_str() {
            "-C" | "--dir" => ctx.cwd = chdir(&ctx.cwd, v.as_ref()),
            "-F" | "--filter" | "--filter-prod" | "-r" | "--recursive" | "-w"
            | "--workspace-root" => ctx.cwd = Dir::Unknown,
            _ => {}
        }
    }
}

fn bun_dirs(seen: &[(String, Option<Val>)], ctx: &mut Ctx) {
    for (o, v) in seen {
        match o.as_str() {
            "--cwd" => ctx.cwd = chdir(&ctx.cwd, v.as_ref()),
            "--filter" | "-F" => ctx.cwd = Dir::Unknown,
            _ => {}
        }
    }
}

/// An option's value.
#[derive(Debug, Clone)]
struct Val {
    text: String,
    expanded: bool,
}

impl Val {
    fn of(w: &Word) -> Val {
        Val {
            text: w.value.clone(),
            expanded: w.expanded || w.pattern,
        }
    }

    fn word(&self) -> Word {
        Word {
            value: self.text.clone(),
            expanded: self.expanded,
            ..Word::default()
        }
    }
}

/// Which options of a command take a value. Options not listed are taken to take none, so the
/// word after them is the command: when we are wrong, we find wrangler where there is none.
struct Spec {
    /// Short options whose value is attached or the next word.
    short: &'static [u8],
    /// Short options whose value can only be attached (`xargs -i{}`).
    attached: &'static [u8],
    /// Long options whose value may be the next word.
    long: &'static [&'static str],
}

impl Spec {
    const NONE: Spec = Spec::new(b"", &[]);

    const fn new(short: &'static [u8], long: &'static [&'static str]) -> Spec {
        Spec {
            short,
            attached: b"",
            long,
        }
    }

    const fn short(short: &'static [u8]) -> Spec {
        Spec::new(short, &[])
    }
}

/// Reads options up to the first operand (or after `--`): the operand's index and the options
/// seen, each as `-x` or `--name` with its value.
fn options(words: &[Word], spec: &Spec) -> (usize, Vec<(String, Option<Val>)>) {
    let mut seen = Vec::new();
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let v = w.value.as_str();
        if v == "--" {
            i += 1;
            break;
        }
        if let Some(long) = v.strip_prefix("--") {
            if let Some((name, value)) = long.split_once('=') {
                let val = Val {
                    text: value.to_owned(),
                    expanded: w.expanded || w.pattern,
                };
                seen.push((format!("--{name}"), Some(val)));
                i += 1;
            } else if spec.long.contains(&v) {
                seen.push((v.to_owned(), words.get(i + 1).map(Val::of)));
                i += 2;
            } else {
                seen.push((v.to_owned(), None));
                i += 1;
            }
            continue;
        }
        if v.len() < 2 || !v.starts_with('-') {
            break;
        }
        let mut extra = 0;
        for (j, c) in v.bytes().enumerate().skip(1) {
            let name = format!("-{}", char::from(c));
            if spec.short.contains(&c) || spec.attached.contains(&c) {
                let attached = v.get(j + 1..).unwrap_or_default();
                if !attached.is_empty() {
                    let val = Val {
                        text: attached.to_owned(),
                        expanded: w.expanded,
                    };
                    seen.push((name, Some(val)));
                } else if spec.short.contains(&c) {
                    seen.push((name, words.get(i + 1).map(Val::of)));
                    extra = 1;
                } else {
                    seen.push((name, None));
                }
                break;
            }
            seen.push((name, None));
        }
        i += 1 + extra;
    }
    (i.min(words.len()), seen)
}

const NPX_SPEC: Spec = Spec::new(
    b"pcw",
    &[
        "--package",
        "--call",
        "--workspace",
        "--registry",
        "--cache",
        "--userconfig",
        "--prefix",
        "--loglevel",
        "--node-options",
        "--script-shell",
    ],
);

const PNPM_SPEC: Spec = Spec::new(
    b"CF",
    &[
        "--dir",
        "--filter",
        "--filter-prod",
        "--reporter",
        "--workspace-concurrency",
        "--resume-from",
        "--loglevel",
        "--registry",
        "--report-summary",
    ],
);

const BUN_SPEC: Spec = Spec::new(
    b"rF",
    &[
        "--cwd",
        "--env-file",
        "--config",
        "--preload",
        "--filter",
        "--tsconfig-override",
        "--elide-lines",
        "--shell",
        "--conditions",
    ],
);

/// Shells and the label of their `-c`.
const SHELLS: &[(&str, &str)] = &[
    ("bash", "bash -c"),
    ("sh", "sh -c"),
    ("zsh", "zsh -c"),
    ("dash", "dash -c"),
    ("ksh", "ksh -c"),
    ("mksh", "ksh -c"),
    ("ash", "sh -c"),
    ("yash", "sh -c"),
    ("posh", "sh -c"),
    ("fish", "fish -c"),
    ("csh", "csh -c"),
    ("tcsh", "csh -c"),
];

/// Interpreters: with no script they run what they read; their code is checked like any
/// unknown command's arguments (`python -c "...wrangler..."` is uncertain).
const INTERPRETERS: &[&str] = &[
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "php",
    "lua",
    "tclsh",
    "osascript",
    "deno",
    "tsx",
    "ts-node",
    "irb",
    "pwsh",
    "powershell",
];

/// Verbs that run a package.json script: its text is not in the command line.
const SCRIPT_VERBS: &[&str] = &[
    "run",
    "run-script",
    "rum",
    "urn",
    "test",
    "t",
    "tst",
    "start",
    "stop",
    "restart",
];

/// npm verbs that never run a command named in their arguments (`npm i -D wrangler@4`).
const NPM_DATA: &[&str] = &[
    "install",
    "i",
    "in",
    "ins",
    "inst",
    "isntall",
    "add",
    "ci",
    "clean-install",
    "uninstall",
    "remove",
    "rm",
    "r",
    "un",
    "unlink",
    "update",
    "up",
    "upgrade",
    "view",
    "info",
    "show",
    "v",
    "ls",
    "list",
    "ll",
    "la",
    "outdated",
    "why",
    "explain",
    "audit",
    "dedupe",
    "prune",
    "pack",
    "publish",
    "link",
    "ln",
    "docs",
    "home",
    "repo",
    "bugs",
    "search",
    "init",
    "create",
    "config",
    "get",
    "set",
    "cache",
    "doctor",
    "fund",
    "help",
    "login",
    "logout",
    "whoami",
    "version",
    "-v",
    "--version",
    "pkg",
    "query",
    "sbom",
    "shrinkwrap",
    "owner",
    "team",
    "token",
    "profile",
    "root",
    "prefix",
    "bin",
    "rebuild",
    "ping",
    "dist-tag",
    "deprecate",
    "star",
    "stars",
    "unpublish",
];

const PNPM_DATA: &[&str] = &[
    "add",
    "install",
    "i",
    "update",
    "up",
    "upgrade",
    "remove",
    "rm",
    "uninstall",
    "un",
    "link",
    "ln",
    "unlink",
    "import",
    "rebuild",
    "rb",
    "prune",
    "fetch",
    "install-test",
    "it",
    "patch",
    "patch-commit",
    "patch-remove",
    "audit",
    "list",
    "ls",
    "ll",
    "la",
    "outdated",
    "why",
    "licenses",
    "store",
    "root",
    "bin",
    "setup",
    "init",
    "config",
    "publish",
    "pack",
    "env",
    "server",
    "deploy",
    "dedupe",
    "approve-builds",
    "ignored-builds",
    "self-update",
    "doctor",
    "cat-file",
    "cat-index",
    "find-hash",
    "create",
    "help",
    "-v",
    "--version",
];

const YARN_DATA: &[&str] = &[
    "add",
    "install",
    "remove",
    "upgrade",
    "up",
    "upgrade-interactive",
    "info",
    "why",
    "list",
    "init",
    "create",
    "cache",
    "config",
    "link",
    "unlink",
    "pack",
    "publish",
    "version",
    "versions",
    "global",
    "bin",
    "audit",
    "outdated",
    "import",
    "licenses",
    "login",
    "logout",
    "owner",
    "policies",
    "tag",
    "team",
    "plugin",
    "set",
    "npm",
    "constraints",
    "dedupe",
    "explain",
    "patch",
    "patch-commit",
    "rebuild",
    "search",
    "stage",
    "unplug",
    "help",
    "-v",
    "--version",
];

const BUN_DATA: &[&str] = &[
    "install",
    "i",
    "add",
    "a",
    "remove",
    "rm",
    "update",
    "outdated",
    "link",
    "unlink",
    "pm",
    "init",
    "create",
    "c",
    "upgrade",
    "publish",
    "audit",
    "info",
    "patch",
    "build",
    "test",
    "repl",
    "completions",
    "why",
    "help",
    "-v",
    "--version",
];

/// Commands whose arguments are data: they never run a command named in them, so
/// `grep wrangler README.md` or `echo "wrangler deploy"` is no call and no uncertainty. A
/// command not listed here and not handled above gets [`Parser::fallback`].
const DATA: &[&str] = &[
    "echo",
    "printf",
    "cat",
    "tac",
    "ls",
    "dir",
    "ll",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "ag",
    "ack",
    "head",
    "tail",
    "less",
    "more",
    "wc",
    "sort",
    "uniq",
    "cut",
    "tr",
    "diff",
    "cmp",
    "comm",
    "file",
    "stat",
    "du",
    "df",
    "pwd",
    "true",
    "false",
    ":",
    "test",
    "[",
    "mkdir",
    "rmdir",
    "rm",
    "cp",
    "mv",
    "ln",
    "touch",
    "chmod",
    "chown",
    "chgrp",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "which",
    "whereis",
    "whatis",
    "type",
    "hash",
    "tree",
    "jq",
    "yq",
    "tee",
    "column",
    "paste",
    "join",
    "nl",
    "od",
    "xxd",
    "hexdump",
    "base64",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "shasum",
    "md5sum",
    "md5",
    "cksum",
    "date",
    "sleep",
    "clear",
    "history",
    "man",
    "help",
    "exit",
    "return",
    "shift",
    "read",
    "wait",
    "kill",
    "ps",
    "pgrep",
    "top",
    "htop",
    "lsof",
    "netstat",
    "ss",
    "ping",
    "dig",
    "nslookup",
    "host",
    "whoami",
    "id",
    "uname",
    "hostname",
    "uptime",
    "free",
    "printenv",
    "locale",
    "curl",
    "wget",
    "tar",
    "zip",
    "unzip",
    "gzip",
    "gunzip",
    "zcat",
    "bzip2",
    "xz",
    "code",
    "vim",
    "vi",
    "nvim",
    "nano",
    "emacs",
    "open",
    "xdg-open",
    "pbcopy",
    "pbpaste",
    "gh",
    "cargo",
    "rustc",
    "rustup",
    "rustfmt",
    "go",
    "tsc",
    "sed",
    "set",
    "shopt",
    "unalias",
    "jobs",
    "fg",
    "bg",
    "disown",
    "umask",
    "ulimit",
    "getopts",
    "let",
    "fd",
    "fdfind",
    "bat",
    "eza",
    "exa",
    "sqlite3",
    "psql",
    "mysql",
    "redis-cli",
    "openssl",
    "ssh-keygen",
    "gpg",
    "iconv",
    "fold",
    "fmt",
    "expand",
    "unexpand",
    "seq",
    "yes",
    "shuf",
    "split",
    "csplit",
    "truncate",
    "install",
    "mktemp",
    "sync",
    "lsblk",
    "mount",
    "prettier",
    "eslint",
    "biome",
    "jest",
    "vitest",
    "mocha",
    "tput",
    "stty",
    "tty",
    "nproc",
    "arch",
    "groups",
    "users",
    "who",
    "w",
    "last",
    "cal",
    "bc",
    "expr",
    "factor",
    "numfmt",
    "rev",
    "strings",
    "nm",
    "objdump",
    "ldd",
    "patch",
    "git-lfs",
    "hub",
    "brew",
    "apt",
    "apt-get",
    "dnf",
    "yum",
    "apk",
    "pip",
    "pip3",
    "pipx",
    "uv",
    "poetry",
    "gem",
    "bundle",
    "composer",
    "mvn",
    "gradle",
];

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
        ("npm --prefix web exec -- wrangler types", "npm exec(types) @web"),
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
    ];

    #[test]
    fn ordinary_calls() {
        check(ORDINARY);
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

    const ALPHABET: &[&str] = &[
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
        include_str!("../tests/hook-corpus.txt")
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
