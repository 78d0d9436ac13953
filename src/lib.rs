//! safe-wrangler: a guard in front of Cloudflare's `wrangler`.
//!
//! One call, end to end (DESIGN.md): argv, env and cwd come in as values ([`World`]); the pure core
//! reads wrangler's argv ([`wrangler::argv`]), classifies it ([`classify`]), detects the caller
//! ([`context`]) and decides ([`policy`]); the edge here prompts ([`confirm`]), finds the real
//! wrangler ([`resolve`]) and hands over with exec ([`exec`]).

pub mod cli;
pub mod core;
pub mod edge;
pub mod shell;
pub mod verbs;

// The layout (README "How it is built"): `core/` decides without reading files or starting
// processes, `edge/` touches the world, `verbs/` are safe-wrangler's own commands. The short paths
// (`crate::policy`, `safe_wrangler::wrangler`, ...) stay as aliases.
pub use crate::core::{classify, context, display, policy, secrets, wrangler};
pub use crate::edge::{audit, confirm, credentials, exec, resolve};
pub use crate::verbs::{doctor, hook, protect, scripts};

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use crate::core::assess::Assessment;
pub use crate::edge::gather::{resolved, user_policy_paths};
use context::{Context, Env};
use policy::Decision;

/// Exit codes of safe-wrangler itself (sysexits where one fits); otherwise wrangler's own.
pub mod exit {
    /// Bad usage of safe-wrangler's own verbs (`EX_USAGE`).
    pub const USAGE: u8 = 64;
    /// Refused: wrangler was not run (`EX_NOPERM`).
    pub const REFUSED: u8 = 77;
    /// A config or policy file that cannot be used (`EX_CONFIG`).
    pub const CONFIG: u8 = 78;
    /// The real wrangler was found but could not be executed.
    pub const CANNOT_EXEC: u8 = 126;
    /// No real wrangler found (or only safe-wrangler itself, or a loop).
    pub const NOT_FOUND: u8 = 127;
    /// An internal error (a bug) in one of safe-wrangler's own verbs (`EX_SOFTWARE`).
    pub const SOFTWARE: u8 = 70;
}

/// Nothing aborts (issue 10): a panic never reaches the user as a crash. The release profile keeps
/// `panic = "abort"` (no unwinding tables on the hot path); the panic hook runs before the abort
/// and ends the process itself with the code the current way in promises:
/// - a listing verb (`log | head -1`, `doctor | head`) whose reader went away ends quietly with 0,
///   as `head` expects; any other internal error prints one line and exits [`exit::SOFTWARE`];
/// - the wrapper exits [`exit::REFUSED`]: wrangler was not run;
/// - the hook blocks (its own handler answers the agent), never fails open.
pub mod fail {
    use std::io::Write as _;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU8, Ordering};

    static CODE: AtomicU8 = AtomicU8::new(super::exit::SOFTWARE);
    static HANDLER: OnceLock<fn(&str) -> u8> = OnceLock::new();

    /// The exit code a panic ends with from now on.
    pub fn exit_code(code: u8) {
        CODE.store(code, Ordering::SeqCst);
    }

    /// A way in that must answer someone itself on a panic (the hook): `handler` gets the message
    /// and returns the exit code. It must not panic (write with `write!`, ignoring errors).
    pub fn handler(handler: fn(&str) -> u8) {
        let _ = HANDLER.set(handler);
    }

    /// A write to stdout or stderr failed because the reader went away (`println!` panics).
    fn broken_pipe(message: &str) -> bool {
        message.starts_with("failed printing to std")
            && (message.contains("Broken pipe") || message.contains("os error 32"))
    }

    /// Installs the panic hook; `main` calls this first.
    pub fn install() {
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            if let Some(handler) = HANDLER.get() {
                std::process::exit(i32::from(handler(&message)));
            }
            let code = CODE.load(Ordering::SeqCst);
            if broken_pipe(&message) {
                let quiet = if code == super::exit::SOFTWARE {
                    0
                } else {
                    code
                };
                std::process::exit(i32::from(quiet));
            }
            let _ = writeln!(
                std::io::stderr(),
                "safe-wrangler: internal error (a bug, please report it): {}",
                super::display::escape(&message)
            );
            std::process::exit(i32::from(code));
        }));
    }
}

/// The most we read of any project or user file (configs, `.env`, policies, event files).
const MAX_FILE: u64 = 8 << 20;

/// Reads a file only if it is a regular file of sane size: a FIFO or a device named as a config,
/// `.env` or event file must never make safe-wrangler (or a hook) wait forever.
///
/// # Errors
/// Not a regular file, too large, or unreadable.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(std::io::Error::other("larger than 8 MiB"));
    }
    std::fs::read(path)
}

/// [`read_regular`] as UTF-8 text.
///
/// # Errors
/// As [`read_regular`], or not UTF-8.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_regular(path)?).map_err(|_| std::io::Error::other("not UTF-8 text"))
}

/// The outside world, gathered once by `main`.
#[derive(Debug, Clone)]
pub struct World {
    /// argv including argv[0].
    pub argv: Vec<OsString>,
    pub env: Env,
    pub cwd: PathBuf,
    /// This program's path (`current_exe`), used to never run ourselves as wrangler.
    pub exe: Option<PathBuf>,
}

impl World {
    /// Reads the real process's argv, environment, working directory and executable.
    #[must_use]
    pub fn from_process() -> World {
        World {
            argv: std::env::args_os().collect(),
            env: Env(std::env::vars_os().collect()),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            exe: std::env::current_exe().ok(),
        }
    }
}

/// The name we answer to when called directly; any other name (the `wrangler` shim) means
/// "pass everything through, guarded".
pub const OWN_NAME: &str = "safe-wrangler";

/// Runs one call and returns the exit code (when exec succeeds it never returns).
#[must_use]
pub fn run(world: &World) -> u8 {
    let program = world
        .argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args = world.argv.get(1..).unwrap_or_default();
    if program.starts_with(OWN_NAME)
        && let Some(verb) = args.first().and_then(|a| a.to_str())
        && cli::OWN_VERBS.contains(&verb)
    {
        if verb == "hook" {
            fail::exit_code(2);
        }
        return cli::run_own(world, args);
    }
    // Called by its own name, `--help`/`-h`/`help` and `--version`/`-V`/`version` alone are ours
    // (through the `wrangler` shim they pass through).
    if program.starts_with(OWN_NAME)
        && let Some(word) = args.first().and_then(|a| a.to_str())
    {
        let alone = args.len() == 1;
        if word == "help" && !alone {
            return cli::run_own(world, args);
        }
        if alone && matches!(word, "help" | "--help" | "-h") {
            return cli::help();
        }
        if alone && matches!(word, "--version" | "-V" | "version") {
            return version(world);
        }
    }
    fail::exit_code(exit::REFUSED);
    let shown = if program.starts_with(OWN_NAME) {
        OWN_NAME
    } else {
        "wrangler"
    };
    guard(world, shown, args)
}

/// Reads (gather), then classifies and decides (the pure core), measuring the terminal only
/// when the decision needs it.
///
/// # Errors
/// A policy file that cannot be used (exit 78).
pub fn assess(
    world: &World,
    args: &[OsString],
    terminal: impl FnOnce() -> bool,
) -> Result<Assessment, policy::PolicyError> {
    assess_as(world, args, |env, gated| {
        Context::detect(env, gated && terminal(), &context::RealDisk)
    })
}

/// [`assess`] with the caller's [`Context`] made by `context` (given the environment and whether
/// the call needs approval): the hook says "agent" this way.
///
/// # Errors
/// A policy file that cannot be used (exit 78).
pub fn assess_as(
    world: &World,
    args: &[OsString],
    context: impl FnOnce(&Env, bool) -> Context,
) -> Result<Assessment, policy::PolicyError> {
    evaluate(world, args, context, false).map(|(a, _)| a)
}

/// [`assess_as`], also returning the gathered [`Project`](crate::core::assess::Project) (for the
/// plan and the `instead:` suggestions). `for_plan`: read what a plan shows even when the call
/// needs no approval; work that needs approval always gets it.
///
/// # Errors
/// A policy file that cannot be used (exit 78).
pub fn evaluate(
    world: &World,
    args: &[OsString],
    context: impl FnOnce(&Env, bool) -> Context,
    for_plan: bool,
) -> Result<(Assessment, crate::core::assess::Project), policy::PolicyError> {
    let invocation = wrangler::argv::parse(args);
    let mut project = edge::gather::gather(world, &invocation)?;
    let gated = crate::core::assess::gated(&invocation, &project);
    if gated || for_plan {
        edge::gather::plan_inputs(&invocation, &mut project);
    }
    if gated {
        project.grants = edge::grants::snapshot(&world.env);
    }
    let context = context(&world.env, gated);
    let a = crate::core::assess::assess(&invocation, &project, &context);
    Ok((a, project))
}

/// One line on stderr; a closed or broken stderr never changes what the wrapper does.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "safe-wrangler: {line}");
}

/// One guarded call at the edge: what it is, and where its audit lines go.
struct Call<'a> {
    world: &'a World,
    shown: &'a str,
    args: &'a [OsString],
    a: &'a Assessment,
    log: Option<PathBuf>,
    /// What the gather step read (the `instead:` suggestions are classified against it).
    project: &'a crate::core::assess::Project,
}

impl Call<'_> {
    /// Appends the audit line for `outcome`. When the log cannot be written, says so once; a
    /// refusal or a human's confirmation is then written to stderr instead, so it is never lost.
    fn record(&self, outcome: &str, wrangler: Option<&Path>) {
        let line = audit::entry(self.a, self.world, self.args, wrangler, outcome);
        let result = match &self.log {
            Some(path) => {
                audit::append(path, &line).map_err(|e| format!("{}: {e}", path.display()))
            }
            None => Err("no location (set SAFE_WRANGLER_LOG or HOME)".to_owned()),
        };
        if let Err(why) = result {
            say(&display::escape(&format!(
                "warning: cannot write the audit log {why}"
            )));
            if matches!(outcome, "refuse" | "confirm" | "confirmed" | "declined") {
                say(&format!("audit: {line}"));
            }
        }
    }

    /// Runs gated work as a child, records its outcome, and ends as it ended.
    fn run_child(&self, launch: exec::Launch, real: &Path) -> u8 {
        let decision = if matches!(self.a.ruling.decision, Decision::Confirm { .. }) {
            "confirmed"
        } else {
            "run"
        };
        match edge::child::run(launch) {
            Ok(finished) => {
                self.record_outcome(decision, real, finished.json());
                edge::child::mirror(finished.ended)
            }
            Err(err) => {
                say(&format!("cannot run {}: {err}", exec::shown(real)));
                exit::CANNOT_EXEC
            }
        }
    }

    /// After a child run: the same record again with `outcome` (exit status or signal, and how
    /// long it ran), so a failed deploy is told apart from one that worked.
    fn record_outcome(&self, decision: &str, wrangler: &Path, outcome: serde_json::Value) {
        let mut line = audit::entry(self.a, self.world, self.args, Some(wrangler), decision);
        line["outcome"] = outcome;
        let result = match &self.log {
            Some(path) => {
                audit::append(path, &line).map_err(|e| format!("{}: {e}", path.display()))
            }
            None => Err("no location (set SAFE_WRANGLER_LOG or HOME)".to_owned()),
        };
        if let Err(why) = result {
            say(&display::escape(&format!(
                "warning: cannot write the audit log {why}"
            )));
            say(&format!("audit: {line}"));
        }
    }

    /// When a grant covers the call, uses one use now, atomically (the hook only checked); the
    /// exit code when it cannot (another call used it first, it expired or was revoked).
    fn use_grant(&self) -> Option<u8> {
        let id = self.a.ruling.by.strip_prefix("grant:")?;
        let why = edge::grants::consume(&self.world.env, id, self.a, self.project).err()?;
        let hint = format!(
            "ask a human to run it in their terminal: {{cmd}}; or a human can grant this one change at their terminal: {}",
            crate::core::grant::PLACEHOLDER
        );
        Some(self.refuse(&why, Some(&hint)))
    }

    /// Records the refusal, then the two lines on stderr: what and why, then what to do instead
    /// (the suggestions that would run here, then `hint` when there is one).
    fn refuse(&self, reason: &str, hint: Option<&str>) -> u8 {
        self.record("refuse", None);
        let op = &self.a.operation;
        let cmd = display::command_line(self.shown, self.args);
        say(&format!(
            "refused `{cmd}`: {} ({}; rule {}, environment {}): {}",
            op.class.as_str(),
            display::escape(&op.why),
            op.rule,
            display::escape(policy::environment_label(&op.environment)),
            display::escape(reason),
        ));
        let instead = crate::core::suggest::instead(
            self.args,
            &self.a.invocation,
            self.project,
            op,
            &self.a.context,
        );
        let mut options: Vec<String> = instead
            .iter()
            .map(|argv| {
                let args: Vec<OsString> = argv.iter().map(OsString::from).collect();
                format!("`{}`", display::command_line(self.shown, &args))
            })
            .collect();
        if let Some(hint) = hint {
            options.push(display::escape(hint).replace("{cmd}", &cmd).replace(
                crate::core::grant::PLACEHOLDER,
                &crate::core::grant::command(self.args),
            ));
        }
        if options.is_empty() {
            options.push("nothing ran; run it again and type the name to go ahead".to_owned());
        }
        say(&format!("instead: {}", options.join("; or ")));
        exit::REFUSED
    }
}

/// How deeply safe-wrangler is nested (the recursion counter), or why it must stop.
fn nesting_depth(env: &Env) -> Result<u32, &'static str> {
    let depth = match env.get(credentials::DEPTH_VAR) {
        None => 0,
        Some(v) => v
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or("SAFE_WRANGLER_DEPTH is not a number; refusing to guess how deeply safe-wrangler is nested")?,
    };
    if depth >= credentials::MAX_DEPTH {
        return Err(
            "safe-wrangler keeps calling itself: the `wrangler` it finds leads back to safe-wrangler. Set SAFE_WRANGLER_REAL to the real wrangler (e.g. node_modules/.bin/wrangler).",
        );
    }
    Ok(depth)
}

/// The real wrangler, or the exit code after saying why there is none.
fn find_wrangler(world: &World, dir: &Path) -> Result<PathBuf, u8> {
    let me = world
        .exe
        .as_deref()
        .and_then(|e| resolve::SelfId::of(e).ok());
    let Some(me) = me else {
        say(
            "cannot inspect safe-wrangler's own executable, so cannot tell it apart from the real wrangler",
        );
        return Err(exit::NOT_FOUND);
    };
    match resolve::find_real(
        world.env.get("SAFE_WRANGLER_REAL"),
        dir,
        world.env.get("PATH"),
        &me,
    ) {
        Ok(p) => Ok(p),
        Err(resolve::NotFound::Missing) => {
            say(
                "the real wrangler was not found (looked in node_modules/.bin from here up, then PATH). Install it in the project: npm i -D wrangler",
            );
            Err(exit::NOT_FOUND)
        }
        Err(resolve::NotFound::BadOverride(why)) => {
            say(&display::escape(&why));
            Err(exit::NOT_FOUND)
        }
    }
}

/// When we removed a credential (from the environment or a `.env` file) and wrangler has no
/// stored OAuth login to fall back on, wrangler will ask for `CLOUDFLARE_API_TOKEN`, and an agent
/// would set it again: say in one line what to do instead. Only the login file's existence is
/// checked (`doctor`'s `oauth-login` paths); it is never read.
fn oauth_note(world: &World, dotenv: &credentials::DotenvPlan) {
    let mut removed: Vec<&str> = world
        .env
        .0
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .filter_map(|(k, _)| k.to_str())
        .filter(|k| credentials::is_credential(k))
        .collect();
    if matches!(dotenv, credentials::DotenvPlan::Replace(_)) {
        removed.push("a credential in the project's .env files");
    }
    if removed.is_empty() {
        return;
    }
    let logged_in = crate::doctor::oauth_files(&world.env).is_some_and(|files| {
        files
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0))
    });
    if !logged_in {
        removed.sort_unstable();
        removed.dedup();
        say(&format!(
            "no OAuth login: run `wrangler login` once (safe-wrangler keeps {} away from wrangler, which uses your own login instead)",
            removed.join(", ")
        ));
    }
}

/// `safe-wrangler --version`: ours, then the real wrangler's (`wrangler --version`, run with no
/// Cloudflare credential, as local work is).
fn version(world: &World) -> u8 {
    use std::io::Write as _;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "safe-wrangler {}", env!("CARGO_PKG_VERSION"));
    let Ok(depth) = nesting_depth(&world.env) else {
        return exit::NOT_FOUND;
    };
    let real = match find_wrangler(world, &world.cwd) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let child = std::process::Command::new(&real)
        .arg("--version")
        .env_clear()
        .envs(credentials::child_env(&world.env, depth + 1, None, &[]))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match child {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let line = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("?");
            let _ = writeln!(
                out,
                "wrangler {} ({})",
                display::escape(line),
                exec::shown(&real)
            );
            0
        }
        Ok(o) => {
            say(&format!(
                "{} --version failed ({})",
                exec::shown(&real),
                o.status
            ));
            exit::CANNOT_EXEC
        }
        Err(e) => {
            say(&format!("cannot run {}: {e}", exec::shown(&real)));
            exit::CANNOT_EXEC
        }
    }
}

/// The guarded passthrough: decide, then exec the real wrangler or refuse.
// One step per line of the pipeline (decide, find, use a grant, confirm, record, run).
#[allow(clippy::too_many_lines)]
fn guard(world: &World, shown: &str, args: &[OsString]) -> u8 {
    let depth = match nesting_depth(&world.env) {
        Ok(d) => d,
        Err(why) => {
            say(why);
            return exit::NOT_FOUND;
        }
    };
    let evaluated = evaluate(
        world,
        args,
        |env, gated| {
            Context::detect(
                env,
                gated && confirm::terminal_present(),
                &context::RealDisk,
            )
        },
        false,
    );
    let (a, project) = match evaluated {
        Ok(x) => x,
        Err(e) => {
            say(&display::escape(&format!("bad policy file {e}")));
            return exit::CONFIG;
        }
    };
    let call = Call {
        world,
        shown,
        args,
        a: &a,
        log: audit::log_path(&world.env),
        project: &project,
    };
    let credential = match &a.ruling.decision {
        Decision::Refuse { reason, hint } => return call.refuse(reason, Some(hint)),
        Decision::Run { credential } => credential.clone(),
        Decision::Confirm { .. } => policy::Credential::None,
    };
    // A token the policy names but CI did not set is refused by the core for gated work; read and
    // preview work runs without it (wrangler explains what it needs).
    let token = match &credential {
        policy::Credential::None => None,
        policy::Credential::Token(var) => world
            .env
            .get(var)
            .filter(|v| !v.is_empty())
            .map(std::ffi::OsStr::to_owned),
    };

    let real = match find_wrangler(world, &a.dir) {
        Ok(p) => p,
        Err(code) => return code,
    };

    let dotenv = a.dotenv.clone();

    // A call a grant covers uses one use now, atomically (the hook only checked).
    if let Some(code) = call.use_grant() {
        return code;
    }

    if let Decision::Confirm { phrase } = &a.ruling.decision {
        // The plan comes before the question: the human decides on what will change.
        let plan =
            crate::core::plan::plan(&a.invocation, &project, &a.operation, a.worker.as_deref());
        let summary = format!(
            "safe-wrangler: `{}` is {} work (rule {}) on environment {}. It would change:\n{}  target:      {}",
            display::command_line(shown, args),
            a.operation.class.as_str(),
            a.operation.rule,
            display::escape(policy::environment_label(&a.operation.environment)),
            plan.text(),
            display::escape(phrase),
        );
        call.record("confirm", Some(&real));
        let declined = match confirm::ask(&summary, &display::escape(phrase), phrase) {
            Ok(confirm::Answer::Confirmed) => None,
            Ok(confirm::Answer::Declined(why)) => Some(format!("not confirmed: {why}")),
            Err(e) => Some(format!("cannot ask on the terminal: {e}")),
        };
        if let Some(reason) = declined {
            call.record("declined", Some(&real));
            // The human at the terminal decided: not told to ask a human.
            return call.refuse(&reason, None);
        }
        call.record("confirmed", Some(&real));
    } else {
        call.record("run", Some(&real));
    }

    if token.is_none() && a.operation.remote {
        oauth_note(world, &a.dotenv);
    }

    let launch = exec::Launch {
        program: real.clone(),
        args: args.to_vec(),
        insert_at: a.invocation.end_of_options.unwrap_or(args.len()),
        env: credentials::child_env(
            &world.env,
            depth + 1,
            token.as_deref(),
            &a.policy.ci_tokens.variables(),
        ),
        dotenv,
        dir: a.dir.clone(),
    };
    // Production, migration and dns work runs as a child so its outcome is recorded; the rest
    // keeps exec.
    if a.operation.class.needs_approval() {
        return call.run_child(launch, &real);
    }
    let err = exec::exec(launch);
    say(&format!("cannot run {}: {err}", exec::shown(&real)));
    exit::CANNOT_EXEC
}
