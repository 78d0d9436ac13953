//! Package runners: `npx`, `npm exec`, `pnpm`, `yarn`, `bun`, `bunx` and their options.

use super::{
    BUN_DATA, Ctx, Dir, NPM_DATA, Next, PNPM_DATA, Parser, SCRIPT_VERBS, Stdin, Word, Wr,
    YARN_DATA, join, node_runs_wrangler, via, wranglerish,
};

impl Parser<'_, '_> {
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

    pub(super) fn npx(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
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

    pub(super) fn npm(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
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
    pub(super) fn npm_exec(&mut self, words: &[Word], ctx: &mut Ctx) -> Next {
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

    pub(super) fn pnpm(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
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
    pub(super) fn dlx(&mut self, rest: &[Word], ctx: &mut Ctx, runner: &'static str) -> Next {
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

    pub(super) fn yarn(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
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

    pub(super) fn bunx(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
        let (i, _) = options(rest, &Spec::new(b"p", &["--package"]));
        self.runner_operand(rest, i, ctx, via::BUNX, false)
    }

    pub(super) fn bun(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
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
    pub(super) fn bun_target(&mut self, words: &[Word], i: usize, ctx: &mut Ctx) -> Next {
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

pub(super) fn pnpm_dirs(seen: &[(String, Option<Val>)], ctx: &mut Ctx) {
    for (o, v) in seen {
        match o.as_str() {
            "-C" | "--dir" => ctx.cwd = chdir(&ctx.cwd, v.as_ref()),
            "-F" | "--filter" | "--filter-prod" | "-r" | "--recursive" | "-w"
            | "--workspace-root" => ctx.cwd = Dir::Unknown,
            _ => {}
        }
    }
}

pub(super) fn bun_dirs(seen: &[(String, Option<Val>)], ctx: &mut Ctx) {
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

pub(super) const NPX_SPEC: Spec = Spec::new(
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

pub(super) const PNPM_SPEC: Spec = Spec::new(
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

pub(super) const BUN_SPEC: Spec = Spec::new(
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
