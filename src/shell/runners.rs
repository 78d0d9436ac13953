//! Package runners: one table ([`RUNNERS`]) of how `npm`, `npx`, `pnpm`, `pnpx`, `yarn`, `bun`
//! and `bunx` are spelled (their verbs, the options that take a value, the options that move the
//! directory, run shell text or name the package), read by one function ([`Parser::runner`]).
//!
//! Facts checked against the tools (npm 11.19 run here; the pnpm, yarn and bun documentation):
//! - `npx --prefix DIR` and `npm --prefix DIR exec` run the command in the current directory,
//!   not in DIR (npm's `exec.js`: "we always run in cwd, not --prefix"); `-w DIR` runs it in DIR.
//! - npm reads the options before its verb too: `npm -c 'CMD' exec` runs CMD, and
//!   `npm --package=wrangler@3 exec -- wrangler` runs wrangler 3.
//! - npm takes aliases, unique abbreviations and camelCase spellings of its verbs (`npm x`,
//!   `npm exe`, `npm tes`, `npm rum`, `npm runScript`): [`npm_verb`], from npm's `cmd-list.js`.
//! - pnpm takes `exec`'s and `dlx`'s options before the verb: `pnpm -c exec 'CMD'`,
//!   `pnpm --package=wrangler@3 dlx wrangler`.
//! - `pnpm X`, `yarn X` and `bun X` run the package.json script X (or a binary or file X) when X
//!   is not one of their own commands; `pnpm deploy` and `bun test` are their own commands.
//! - `yarn exec 'CMD ...'` runs shell text (yarn's portable shell).

use super::{
    BUN_DATA, Ctx, Dir, NPM_DATA, Next, PNPM_DATA, Parser, SCRIPT_VERBS, Stdin, Word, Wr,
    YARN_DATA, is_meta, join, node_runs_wrangler, via, wranglerish,
};

/// One package runner: how a command line spells it.
pub(super) struct Runner {
    /// The command names that run it.
    pub(super) names: &'static [&'static str],
    /// How a wrangler call through it is reported.
    pub(super) via: &'static str,
    /// Its options before the verb.
    pub(super) opts: &'static Opts,
    /// Its verbs and what each does; `None` for a runner that takes the package at once (`npx`,
    /// `pnpx`, `bunx`), which does [`Runner::other`] with all its words.
    pub(super) verbs: Option<&'static [(&'static str, Act)]>,
    /// Verbs that run no command named in their arguments (`npm i -D wrangler@4`).
    pub(super) data: &'static [&'static str],
    /// Verbs that run a package.json script whose text is not on the line (`npm test`).
    pub(super) scripts: &'static [&'static str],
    /// What any other verb does.
    pub(super) other: Act,
    /// The verbs are npm's: aliases, unique abbreviations and camelCase resolve ([`npm_verb`]).
    pub(super) npm: bool,
    /// A script or binary name may also be a file the runner runs (`bun run index.ts`).
    pub(super) files: bool,
}

/// What a verb (or a runner without verbs) does with the words after it.
#[derive(Clone, Copy)]
pub(super) enum Act {
    /// Options, then a command run through PATH with the project's binaries first (`npx`,
    /// `npm exec`, `pnpm exec`).
    Exec(&'static Opts),
    /// Options, then a package whose binary is fetched if needed and run (`pnpx`, `pnpm dlx`,
    /// `yarn dlx`, `bunx`, `bun x`).
    Fetch(&'static Opts),
    /// Options, then a package.json script or a binary (`yarn run`, `bun run`).
    Run(&'static Opts),
    /// The verb itself names a script or a binary (`pnpm wrangler`, `yarn deploy`, `bun dev`).
    Target,
    /// A package.json script whose text is not on the line (`npm run`, `pnpm start`).
    Script,
    /// `yarn workspace NAME ...`: the runner again, in a directory only the workspace knows.
    Workspace,
    /// `yarn node ...`.
    Node,
    /// The words joined are shell text (`bun exec`).
    Shell(&'static str),
    /// A command and its words, or shell text when the command word is shell text
    /// (`yarn exec 'tsc && wrangler deploy'`).
    CommandOrShell(&'static str),
    /// Runs no command named in its arguments.
    Data,
    /// Not a verb of the runner: its words are checked with the fallback.
    Unknown,
}

/// How a runner (or one of its verbs) reads its options.
pub(super) struct Opts {
    /// Which options take a value.
    pub(super) spec: Spec,
    /// Options that move the directory the command runs in.
    pub(super) moves: &'static [(&'static str, Move)],
    /// Options that run shell text: their value (`npx -c TEXT`) or, when `joined`, the words
    /// after the options (`pnpm exec -c`, a flag).
    pub(super) call: &'static [&'static str],
    pub(super) joined: bool,
    /// The wrapper label of that shell text.
    pub(super) label: &'static str,
    /// Options that name the package to fetch (`-p wrangler@2`).
    pub(super) package: &'static [&'static str],
    /// Options are read anywhere before `--`, after the command too (`npm exec`).
    pub(super) anywhere: bool,
    /// How a call is reported when not as the runner (`bun x` is `bunx`).
    pub(super) via: Option<&'static str>,
}

impl Opts {
    const fn new(spec: Spec, moves: &'static [(&'static str, Move)]) -> Opts {
        Opts {
            spec,
            moves,
            call: &[],
            joined: false,
            label: "",
            package: &[],
            anywhere: false,
            via: None,
        }
    }
}

/// How an option moves the directory.
#[derive(Clone, Copy)]
pub(super) enum Move {
    /// To its value (`pnpm -C DIR`, `yarn --cwd DIR`).
    To,
    /// To a workspace: a path is a directory, a name is only known from the workspace's files.
    Workspace,
    /// Somewhere only known at run time (`--filter`, `-r`, `--workspaces`).
    Unknown,
}

const NPM_MOVES: &[(&str, Move)] = &[
    ("-w", Move::Workspace),
    ("--workspace", Move::Workspace),
    ("--workspaces", Move::Unknown),
    ("--ws", Move::Unknown),
];

const NPM_SPEC: Spec = Spec::new(
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
        "--allow-scripts",
    ],
);

/// `npx` and npm's options before its verb.
const NPX: Opts = Opts {
    call: &["-c", "--call"],
    label: "npx -c",
    package: &["-p", "--package"],
    ..Opts::new(NPM_SPEC, NPM_MOVES)
};

/// `npm exec`: options anywhere before `--`.
const NPM_EXEC: Opts = Opts {
    label: "npm exec -c",
    anywhere: true,
    ..NPX
};

const PNPM_MOVES: &[(&str, Move)] = &[
    ("-C", Move::To),
    ("--dir", Move::To),
    ("-F", Move::Unknown),
    ("--filter", Move::Unknown),
    ("--filter-prod", Move::Unknown),
    ("-r", Move::Unknown),
    ("--recursive", Move::Unknown),
    ("-w", Move::Unknown),
    ("--workspace-root", Move::Unknown),
];

const PNPM: Opts = Opts::new(
    Spec::new(
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
            "--package",
            "--allow-build",
        ],
    ),
    PNPM_MOVES,
);

const PNPM_EXEC: Opts = Opts {
    call: &["-c", "--shell-mode"],
    joined: true,
    label: "pnpm exec -c",
    package: &["--package"],
    ..Opts::new(PNPM.spec, PNPM_MOVES)
};

const DLX_SPEC: Spec = Spec::new(b"p", &["--package", "--allow-build", "--reporter"]);

const PNPM_DLX: Opts = Opts {
    call: &["-c", "--shell-mode"],
    joined: true,
    label: "pnpm dlx -c",
    package: &["-p", "--package"],
    ..Opts::new(DLX_SPEC, &[])
};

const YARN_DLX: Opts = Opts {
    label: "yarn dlx -c",
    ..PNPM_DLX
};

const YARN: Opts = Opts::new(
    Spec::new(
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
    ),
    &[("--cwd", Move::To)],
);

const NONE: Opts = Opts::new(Spec::NONE, &[]);

const BUN: Opts = Opts::new(
    Spec::new(
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
    ),
    &[
        ("--cwd", Move::To),
        ("--filter", Move::Unknown),
        ("-F", Move::Unknown),
    ],
);

const BUNX: Opts = Opts {
    package: &["-p", "--package"],
    via: Some(via::BUNX),
    ..Opts::new(Spec::new(b"p", &["--package"]), &[])
};

/// npm's verbs that run a package.json script (after [`npm_verb`]).
const NPM_SCRIPTS: &[&str] = &[
    "run",
    "test",
    "start",
    "stop",
    "restart",
    "install-test",
    "install-ci-test",
];

/// Every package runner.
pub(super) static RUNNERS: &[Runner] = &[
    Runner {
        names: &["npx"],
        via: via::NPX,
        opts: &NPX,
        verbs: None,
        data: &[],
        scripts: &[],
        other: Act::Exec(&NPX),
        npm: false,
        files: false,
    },
    Runner {
        names: &["npm"],
        via: via::NPM_EXEC,
        opts: &NPX,
        verbs: Some(&[("exec", Act::Exec(&NPM_EXEC))]),
        data: NPM_DATA,
        scripts: NPM_SCRIPTS,
        other: Act::Unknown,
        npm: true,
        files: false,
    },
    Runner {
        names: &["pnpm"],
        via: via::PNPM,
        opts: &PNPM,
        verbs: Some(&[
            ("exec", Act::Exec(&PNPM_EXEC)),
            ("dlx", Act::Fetch(&PNPM_DLX)),
        ]),
        data: PNPM_DATA,
        scripts: SCRIPT_VERBS,
        other: Act::Target,
        npm: false,
        files: false,
    },
    Runner {
        names: &["pnpx"],
        via: via::PNPM,
        opts: &PNPM_DLX,
        verbs: None,
        data: &[],
        scripts: &[],
        other: Act::Fetch(&PNPM_DLX),
        npm: false,
        files: false,
    },
    Runner {
        names: &["yarn"],
        via: via::YARN,
        opts: &YARN,
        verbs: Some(&[
            ("exec", Act::CommandOrShell("yarn exec")),
            ("dlx", Act::Fetch(&YARN_DLX)),
            ("run", Act::Run(&NONE)),
            ("workspace", Act::Workspace),
            ("node", Act::Node),
        ]),
        data: YARN_DATA,
        scripts: SCRIPT_VERBS,
        other: Act::Target,
        npm: false,
        files: false,
    },
    Runner {
        names: &["bun"],
        via: via::BUN,
        opts: &BUN,
        verbs: Some(&[
            ("x", Act::Fetch(&BUNX)),
            ("exec", Act::Shell("bun exec")),
            ("run", Act::Run(&BUN)),
        ]),
        data: BUN_DATA,
        scripts: &[],
        other: Act::Target,
        npm: false,
        files: true,
    },
    Runner {
        names: &["bunx"],
        via: via::BUNX,
        opts: &BUNX,
        verbs: None,
        data: &[],
        scripts: &[],
        other: Act::Fetch(&BUNX),
        npm: false,
        files: false,
    },
];

/// The runner a command name runs.
pub(super) fn runner_named(base: &str) -> Option<&'static Runner> {
    RUNNERS.iter().find(|r| r.names.contains(&base))
}

impl Runner {
    /// What `verb` does.
    fn act(&self, verb: &str) -> Act {
        let resolved = if self.npm { npm_verb(verb) } else { None };
        let name = resolved.unwrap_or(verb);
        if let Some(&(_, act)) = self
            .verbs
            .unwrap_or_default()
            .iter()
            .find(|(v, _)| *v == name)
        {
            return act;
        }
        if self.data.contains(&verb) || self.data.contains(&name) {
            return Act::Data;
        }
        if self.scripts.contains(&name) {
            return Act::Script;
        }
        self.other
    }
}

/// npm's command names (`cmd-list.js`, npm 11.19).
const NPM_COMMANDS: &[&str] = &[
    "access",
    "adduser",
    "approve-scripts",
    "audit",
    "bugs",
    "cache",
    "ci",
    "completion",
    "config",
    "dedupe",
    "deny-scripts",
    "deprecate",
    "diff",
    "dist-tag",
    "docs",
    "doctor",
    "edit",
    "exec",
    "explain",
    "explore",
    "find-dupes",
    "fund",
    "get",
    "help",
    "help-search",
    "init",
    "install",
    "install-ci-test",
    "install-scripts",
    "install-test",
    "link",
    "ll",
    "login",
    "logout",
    "ls",
    "org",
    "outdated",
    "owner",
    "pack",
    "ping",
    "pkg",
    "prefix",
    "profile",
    "prune",
    "publish",
    "query",
    "rebuild",
    "repo",
    "restart",
    "root",
    "run",
    "sbom",
    "search",
    "set",
    "shrinkwrap",
    "stage",
    "star",
    "stars",
    "start",
    "stop",
    "team",
    "test",
    "token",
    "trust",
    "undeprecate",
    "uninstall",
    "unpublish",
    "unstar",
    "update",
    "version",
    "view",
    "whoami",
];

/// npm's aliases (`cmd-list.js`, npm 11.19), typos included.
const NPM_ALIASES: &[(&str, &str)] = &[
    ("author", "owner"),
    ("home", "docs"),
    ("issues", "bugs"),
    ("info", "view"),
    ("show", "view"),
    ("find", "search"),
    ("add", "install"),
    ("unlink", "uninstall"),
    ("remove", "uninstall"),
    ("rm", "uninstall"),
    ("r", "uninstall"),
    ("un", "uninstall"),
    ("rb", "rebuild"),
    ("list", "ls"),
    ("ln", "link"),
    ("create", "init"),
    ("i", "install"),
    ("it", "install-test"),
    ("cit", "install-ci-test"),
    ("u", "update"),
    ("up", "update"),
    ("c", "config"),
    ("s", "search"),
    ("se", "search"),
    ("tst", "test"),
    ("t", "test"),
    ("ddp", "dedupe"),
    ("v", "view"),
    ("run-script", "run"),
    ("clean-install", "ci"),
    ("clean-install-test", "install-ci-test"),
    ("x", "exec"),
    ("why", "explain"),
    ("la", "ll"),
    ("verison", "version"),
    ("ic", "ci"),
    ("innit", "init"),
    ("in", "install"),
    ("ins", "install"),
    ("inst", "install"),
    ("insta", "install"),
    ("instal", "install"),
    ("isnt", "install"),
    ("isnta", "install"),
    ("isntal", "install"),
    ("isntall", "install"),
    ("install-clean", "ci"),
    ("isntall-clean", "ci"),
    ("hlep", "help"),
    ("dist-tags", "dist-tag"),
    ("upgrade", "update"),
    ("udpate", "update"),
    ("rum", "run"),
    ("sit", "install-ci-test"),
    ("urn", "run"),
    ("ogr", "org"),
    ("add-user", "adduser"),
];

/// The npm command a verb runs, as npm's `deref` finds it: camelCase to kebab-case, a command,
/// an alias, or a unique abbreviation of a command or an alias (`exe` is `exec`; `ex` is
/// ambiguous and so no command).
pub(super) fn npm_verb(verb: &str) -> Option<&'static str> {
    if verb.is_empty() {
        return None;
    }
    let mut kebab = String::with_capacity(verb.len() + 4);
    for c in verb.chars() {
        if c.is_ascii_uppercase() {
            kebab.push('-');
            kebab.push(c.to_ascii_lowercase());
        } else {
            kebab.push(c);
        }
    }
    let alias = |name: &str| {
        NPM_ALIASES
            .iter()
            .find(|(a, _)| *a == name)
            .map(|&(_, c)| c)
    };
    if let Some(c) = NPM_COMMANDS.iter().find(|c| **c == kebab) {
        return Some(c);
    }
    if let Some(c) = alias(&kebab) {
        return Some(c);
    }
    let mut found = NPM_COMMANDS
        .iter()
        .copied()
        .chain(NPM_ALIASES.iter().map(|&(a, _)| a))
        .filter(|name| name.starts_with(kebab.as_str()));
    let only = found.next()?;
    if found.next().is_some() {
        return None;
    }
    Some(alias(only).unwrap_or(only))
}

/// The version in a package spec that names wrangler (`wrangler@3`, `npm:wrangler@^3.1`,
/// `@cloudflare/wrangler@1`), as written.
pub(super) fn wrangler_version(spec: &str) -> Option<String> {
    if wranglerish(spec) != Some(Wr::Wrangler) {
        return None;
    }
    let lower = spec.to_ascii_lowercase();
    let bare = lower.strip_prefix("npm:").unwrap_or(&lower);
    let base_at = bare.rfind('/').map_or(0, |i| i + 1);
    let at = bare.get(base_at..)?.find('@').filter(|&i| i > 0)?;
    let from = spec.len() - bare.len() + base_at + at + 1;
    spec.get(from..).map(str::to_owned)
}

impl Parser<'_, '_> {
    /// A package runner's command line: its options, its verb, and what the verb does.
    pub(super) fn runner(&mut self, r: &'static Runner, rest: &[Word], ctx: &mut Ctx) -> Next {
        let Some(_) = r.verbs else {
            return self.act(r, r.other, rest, &[], ctx);
        };
        let mut words = rest;
        // `yarn workspace NAME ...` repeats; each pass consumes words.
        loop {
            let (i, before) = options(words, &r.opts.spec);
            moves(r.opts, &before, ctx);
            let Some(sub) = words.get(i) else {
                return Next::Done(Stdin::Data);
            };
            let what = format!("{}'s command", r.names.first().copied().unwrap_or_default());
            let Some(verb) = self.literal(sub, &what) else {
                self.out.runs_script = true;
                return Next::Done(Stdin::Unknown);
            };
            let act = r.act(&verb);
            if let Act::Workspace = act {
                ctx.cwd = Dir::Unknown;
                words = words.get(i + 2..).unwrap_or_default();
                if words.is_empty() {
                    return Next::Done(Stdin::Data);
                }
                continue;
            }
            if let Act::Target = act {
                self.out.runs_script = true;
                return self.target(r, words, i, ctx);
            }
            let tail = words.get(i + 1..).unwrap_or_default();
            return self.act(r, act, tail, &before, ctx);
        }
    }

    /// What a verb does with the words after it; `before`: the runner's options before the verb.
    fn act(
        &mut self,
        r: &'static Runner,
        act: Act,
        words: &[Word],
        before: &[(String, Option<Val>)],
        ctx: &mut Ctx,
    ) -> Next {
        let name = r.names.first().copied().unwrap_or_default();
        match act {
            Act::Exec(o) | Act::Fetch(o) => {
                let via = o.via.unwrap_or(r.via);
                package(o, before, ctx);
                if o.anywhere {
                    if let Some(next) = self.call(o, before, &[], ctx, via) {
                        return next;
                    }
                    return self.npm_exec(o, words, ctx, via);
                }
                let (i, seen) = options(words, &o.spec);
                moves(o, &seen, ctx);
                package(o, &seen, ctx);
                // The runner's options before the verb count as the verb's own.
                let all: Vec<(String, Option<Val>)> = before.iter().cloned().chain(seen).collect();
                let rest = words.get(i..).unwrap_or_default();
                if let Some(next) = self.call(o, &all, rest, ctx, via) {
                    return next;
                }
                self.runner_operand(words, i, ctx, via, matches!(act, Act::Exec(_)))
            }
            Act::Run(o) => {
                self.out.runs_script = true;
                let (i, seen) = options(words, &o.spec);
                moves(o, &seen, ctx);
                self.target(r, words, i, ctx)
            }
            Act::Target => {
                self.out.runs_script = true;
                self.target(r, words, 0, ctx)
            }
            Act::Script => {
                self.out.runs_script = true;
                self.fallback(name, words);
                Next::Done(Stdin::Unknown)
            }
            Act::Unknown => {
                self.fallback(name, words);
                Next::Done(Stdin::Unknown)
            }
            Act::Data | Act::Workspace => Next::Done(Stdin::Data),
            Act::Node => Next::Done(self.node(words, ctx)),
            Act::Shell(label) => {
                let mut c = ctx.clone();
                c.runner = Some(r.via);
                Next::Done(self.run_joined(words, &c, label))
            }
            Act::CommandOrShell(label) => {
                let code = words.first().is_some_and(|w| {
                    !w.expanded
                        && w.value
                            .bytes()
                            .any(|b| is_meta(b) || b"'\"\\$`*?[]{}~#=".contains(&b))
                });
                if code {
                    return self.act(r, Act::Shell(label), words, before, ctx);
                }
                self.runner_operand(words, 0, ctx, r.via, true)
            }
        }
    }

    /// Shell text an option runs (`npx -c TEXT`, `pnpm exec -c WORDS`), if one does.
    fn call(
        &mut self,
        o: &Opts,
        seen: &[(String, Option<Val>)],
        rest: &[Word],
        ctx: &Ctx,
        via: &'static str,
    ) -> Option<Next> {
        let (_, v) = seen.iter().find(|(n, _)| o.call.contains(&n.as_str()))?;
        let mut c = ctx.clone();
        c.runner = Some(via);
        Some(Next::Done(if o.joined {
            self.run_joined(rest, &c, o.label)
        } else {
            match v {
                Some(v) => self.run_string(&v.word(), &c, o.label),
                None => Stdin::Data,
            }
        }))
    }

    /// A script, a binary or (for bun) a file named by `words[i]`.
    fn target(&mut self, r: &Runner, words: &[Word], i: usize, ctx: &mut Ctx) -> Next {
        if r.files {
            return self.bun_target(words, i, ctx);
        }
        self.runner_operand(words, i, ctx, r.via, false)
    }

    /// The package or command a runner runs: wrangler is reported; anything else is either run
    /// as a command (`shell_like`: npx and the `exec` verbs run through PATH) or checked with
    /// the fallback.
    pub(super) fn runner_operand(
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
            Some(Wr::Wrangler) => {
                if let Some(v) = wrangler_version(&name) {
                    ctx.version = Some(v);
                }
                self.report(ctx, runner, None, args);
            }
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

    /// `npm exec`: npm reads options anywhere before `--`, so flags after the command name are
    /// npm's unless a `--` comes first.
    fn npm_exec(&mut self, o: &Opts, words: &[Word], ctx: &mut Ctx, via: &'static str) -> Next {
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
            let (n, seen) = options(words.get(i..).unwrap_or_default(), &o.spec);
            let n = n.max(1);
            moves(o, &seen, ctx);
            if let Some(next) = self.call(o, &seen, &[], ctx, via) {
                return next;
            }
            package(o, &seen, ctx);
            i += n;
        }
        let Some(w) = words.get(i) else {
            return Next::Done(Stdin::Data);
        };
        if dashdash || w.expanded || wranglerish(&w.value).is_none() {
            return self.runner_operand(words, i, ctx, via, true);
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
        self.runner_operand(&kept, 0, ctx, via, true)
    }

    /// `bun run TARGET`: a script, a package binary or a file.
    pub(super) fn bun_target(&mut self, words: &[Word], i: usize, ctx: &mut Ctx) -> Next {
        if let Some(w) = words.get(i)
            && !w.expanded
            && !w.pattern
            && node_runs_wrangler(&w.value)
        {
            self.report(ctx, via::BUN, None, words.get(i + 1..).unwrap_or_default());
            return Next::Done(Stdin::Data);
        }
        self.runner_operand(words, i, ctx, via::BUN, false)
    }
}

/// Moves the directory as the options seen say.
fn moves(o: &Opts, seen: &[(String, Option<Val>)], ctx: &mut Ctx) {
    for (name, v) in seen {
        match o.moves.iter().find(|(m, _)| m == name).map(|&(_, m)| m) {
            Some(Move::To) => ctx.cwd = chdir(&ctx.cwd, v.as_ref()),
            Some(Move::Workspace) => ctx.cwd = workspace(&ctx.cwd, v.as_ref()),
            Some(Move::Unknown) => ctx.cwd = Dir::Unknown,
            None => {}
        }
    }
}

/// The wrangler version a package option names (`-p wrangler@2`); a package only known at run
/// time (`-p "$PKG"`) is no known version.
fn package(o: &Opts, seen: &[(String, Option<Val>)], ctx: &mut Ctx) {
    for (name, v) in seen {
        if !o.package.contains(&name.as_str()) {
            continue;
        }
        match v {
            Some(v) if v.expanded => ctx.version = Some(v.text.clone()),
            Some(v) => {
                if let Some(version) = wrangler_version(&v.text) {
                    ctx.version = Some(version);
                }
            }
            None => {}
        }
    }
}

pub(super) fn chdir(cwd: &Dir, value: Option<&Val>) -> Dir {
    match value {
        None => cwd.clone(),
        Some(v) if v.expanded => Dir::Unknown,
        Some(v) => join(cwd, &v.text),
    }
}

/// `-w NAME`: a path is a directory; a package name is only known from the workspace's files.
pub(super) fn workspace(cwd: &Dir, value: Option<&Val>) -> Dir {
    match value {
        Some(v) if v.text.contains('/') => chdir(cwd, Some(v)),
        _ => Dir::Unknown,
    }
}

/// An option's value.
#[derive(Debug, Clone)]
pub(super) struct Val {
    pub(super) text: String,
    pub(super) expanded: bool,
}

impl Val {
    pub(super) fn of(w: &Word) -> Val {
        Val {
            text: w.value.clone(),
            expanded: w.expanded || w.pattern,
        }
    }

    pub(super) fn word(&self) -> Word {
        Word {
            value: self.text.clone(),
            expanded: self.expanded,
            ..Word::default()
        }
    }
}

/// Which options of a command take a value. Options not listed are taken to take none, so the
/// word after them is the command: when we are wrong, we find wrangler where there is none.
#[derive(Clone, Copy)]
pub(super) struct Spec {
    /// Short options whose value is attached or the next word.
    pub(super) short: &'static [u8],
    /// Short options whose value can only be attached (`xargs -i{}`).
    pub(super) attached: &'static [u8],
    /// Long options whose value may be the next word.
    pub(super) long: &'static [&'static str],
}

impl Spec {
    pub(super) const NONE: Spec = Spec::new(b"", &[]);

    pub(super) const fn new(short: &'static [u8], long: &'static [&'static str]) -> Spec {
        Spec {
            short,
            attached: b"",
            long,
        }
    }

    pub(super) const fn short(short: &'static [u8]) -> Spec {
        Spec::new(short, &[])
    }
}

/// Reads options up to the first operand (or after `--`): the operand's index and the options
/// seen, each as `-x` or `--name` with its value.
pub(super) fn options(words: &[Word], spec: &Spec) -> (usize, Vec<(String, Option<Val>)>) {
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
