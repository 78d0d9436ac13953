//! What a simple command means: assignments, wrappers (`env`, `sudo`, `timeout`, `xargs`, ...),
//! shells and interpreters, `cd`, and which words name wrangler.

use super::{
    Assign, Ctx, DATA, Dir, Finding, INTERPRETERS, Inherit, Invocation, MAX_DEPTH, MAX_FINDINGS,
    MAX_VARS, Mode, Parser, Rc, SHELLS, Shell, Spec, Stdin, Word, chdir, excerpt, join, mentions,
    options, runner_named, via,
};

impl Parser<'_, '_> {
    pub(super) fn analyze(&mut self, words: &[Word]) -> Stdin {
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
            version: None,
        };
        self.resolve(rest, ctx)
    }

    /// A word that names what runs (a command, a package, a script), when the text fixes it;
    /// otherwise the text is uncertain.
    pub(super) fn literal(&mut self, w: &Word, what: &str) -> Option<String> {
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
    pub(super) fn resolve(&mut self, mut words: &[Word], mut ctx: Ctx) -> Stdin {
        // Every pass consumes at least the command word.
        loop {
            let Some((first, rest)) = words.split_first() else {
                return Stdin::Data;
            };
            let Some(name) = self.literal(first, "the command name") else {
                // It may be a package runner running a script.
                self.out.runs_script = true;
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
                    let program = (via == via::PATH).then(|| name.clone());
                    self.report(&ctx, via, program, rest);
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
    pub(super) fn wrapper(&mut self, base: &str, rest: &[Word], ctx: &mut Ctx) -> Option<Next> {
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
    pub(super) fn command(&mut self, name: &str, base: &str, rest: &[Word], ctx: &mut Ctx) -> Next {
        if let Some(&(_, label)) = SHELLS.iter().find(|(s, _)| *s == base) {
            return Next::Done(self.shell(label, rest, ctx));
        }
        if matches!(
            base,
            "read"
                | "mapfile"
                | "readarray"
                | "getopts"
                | "let"
                | "printf"
                | "declare"
                | "typeset"
                | "local"
                | "readonly"
                | "export"
                | "unset"
        ) {
            self.names_at_run_time(rest);
        }
        if let Some(r) = runner_named(base) {
            return self.runner(r, rest, ctx);
        }
        let kind = match base {
            "node" | "nodejs" => self.node(rest, ctx),
            "eval" => {
                self.out.runs_script = true;
                if !rest.is_empty() {
                    self.uncertain("`eval` runs text that is only put together at run time");
                }
                Stdin::Unknown
            }
            "source" | "." => {
                self.out.runs_script = true;
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
                    self.cd(base, rest, &ctx.assigns);
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
    pub(super) fn report(
        &mut self,
        ctx: &Ctx,
        via: &'static str,
        program: Option<String>,
        argv: &[Word],
    ) {
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
        let versions = ctx.version.iter().cloned().collect();
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
            program,
            wrappers: self
                .inherit
                .wrappers
                .iter()
                .chain(&ctx.wrappers)
                .copied()
                .collect(),
            unknown_args: ctx.unknown_args,
            versions,
            // Filled in for the whole line when the parse ends.
            cloudflare_env: false,
        };
        self.out.findings.push(Finding::Wrangler(invocation));
    }

    /// A builtin that sets or removes variables given a word only known at run time (`read
    /// "$name"`, `export "$v=1"`, `printf -v "$n"`, `declare -n r=$x`) may set `CLOUDFLARE_ENV`.
    pub(super) fn names_at_run_time(&mut self, args: &[Word]) {
        if args.iter().any(|w| w.expanded || w.pattern) {
            self.out.cf_env = true;
        }
    }

    /// `safe-wrangler ARGS`: a guarded wrangler call, unless ARGS start with one of its own verbs.
    pub(super) fn safe_wrangler(&mut self, ctx: &Ctx, args: &[Word]) {
        if let Some(first) = args.first()
            && !first.expanded
            && crate::core::OWN_VERBS.contains(&first.value.as_str())
        {
            return;
        }
        self.report(ctx, via::SAFE_WRANGLER, None, args);
    }

    /// A command we do not know: uncertain when it is given a word that looks like wrangler or
    /// like code that mentions it (`ssh host wrangler deploy`, `trap 'wrangler deploy' EXIT`).
    pub(super) fn fallback(&mut self, name: &str, args: &[Word]) {
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
    pub(super) fn inherit_from(&self, ctx: &Ctx, wrapper: &'static str) -> (Shell, Inherit) {
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
    pub(super) fn run_string(&mut self, text: &Word, ctx: &Ctx, wrapper: &'static str) -> Stdin {
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
    pub(super) fn run_joined(&mut self, words: &[Word], ctx: &Ctx, wrapper: &'static str) -> Stdin {
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

    pub(super) fn env(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
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

    pub(super) fn sudo(base: &str, rest: &[Word], ctx: &mut Ctx) -> Next {
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
    pub(super) fn with_operand(base: &str, rest: &[Word], ctx: &mut Ctx) -> Next {
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

    pub(super) fn xargs(rest: &[Word], ctx: &mut Ctx) -> Next {
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
    pub(super) fn find(&mut self, rest: &[Word], ctx: &Ctx) {
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

    pub(super) fn watch(&mut self, rest: &[Word], ctx: &mut Ctx) -> Next {
        let (i, seen) = options(rest, &Spec::new(b"nq", &["--interval", "--equexit"]));
        ctx.shell_level = false;
        if seen.iter().any(|(o, _)| o == "-x" || o == "--exec") {
            ctx.wrappers.push("watch");
            return Next::Cmd(i);
        }
        Next::Done(self.run_joined(rest.get(i..).unwrap_or_default(), ctx, "watch"))
    }

    // ---- shells and interpreters ----

    pub(super) fn shell(&mut self, label: &'static str, rest: &[Word], ctx: &Ctx) -> Stdin {
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

    pub(super) fn node(&mut self, rest: &[Word], ctx: &Ctx) -> Stdin {
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
            self.report(ctx, via::NODE, Some(name), args);
            Stdin::Data
        } else {
            self.out.ran_script = true;
            self.fallback("node", args);
            Stdin::Unknown
        }
    }

    pub(super) fn git(&mut self, rest: &[Word]) -> Stdin {
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

    /// Whether bash may resolve the relative directory `target` of `cd`/`pushd` through CDPATH:
    /// CDPATH is set on the line (for the command or in the shell), from an expansion, or in the
    /// environment the shell inherits (the agent's, which this process shares) and not unset.
    fn cdpath_may_apply(&self, target: &Word, assigns: &[Assign]) -> bool {
        let v = target.value.as_str();
        let anchored = v.starts_with('/')
            || v.starts_with("./")
            || v.starts_with("../")
            || v.starts_with('~')
            || matches!(v, "." | ".." | "-" | "");
        if anchored && !target.expanded {
            return false;
        }
        let set = self
            .st
            .vars
            .iter()
            .chain(assigns)
            .rev()
            .find(|a| &*a.name == "CDPATH");
        match set {
            Some(a) => a.expanded || !a.value.is_empty(),
            None => {
                !self.st.unset.iter().any(|n| &**n == "CDPATH")
                    && std::env::var_os("CDPATH").is_some_and(|v| !v.is_empty())
            }
        }
    }

    pub(super) fn cd(&mut self, verb: &str, args: &[Word], assigns: &[Assign]) {
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
        if verb != "popd"
            && let Some(w) = target
            && self.cdpath_may_apply(w, assigns)
        {
            self.uncertain(format!(
                "`{verb}` into a relative directory while CDPATH is set may go elsewhere"
            ));
            self.st.old = std::mem::replace(&mut self.st.cwd, Dir::Unknown);
            return;
        }
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
}

/// What a wrapper leaves to do.
pub(super) enum Next {
    /// Resolve again from this index of the wrapper's arguments.
    Cmd(usize),
    /// Nothing more runs.
    Done(Stdin),
}

/// The last path component.
pub(super) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wr {
    Wrangler,
    Safe,
}

/// Whether a command or package spec names wrangler: `wrangler`, `wrangler@4`,
/// `npm:wrangler@latest`, `@cloudflare/wrangler`, `./node_modules/.bin/wrangler`, any case.
pub(super) fn wranglerish(name: &str) -> Option<Wr> {
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
pub(super) fn node_script(path: &str) -> bool {
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
pub(super) fn node_runs_wrangler(path: &str) -> bool {
    node_script(path)
        || path
            .to_ascii_lowercase()
            .split('/')
            .any(|c| c == "wrangler" || c == "wrangler-dist" || c == "wrangler2")
}

/// `NAME=value` words (as `env` and `sudo` take them); returns how many.
pub(super) fn take_assignments(words: &[Word], ctx: &mut Ctx) -> usize {
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
