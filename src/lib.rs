//! safe-wrangler: a guard in front of Cloudflare's `wrangler`.
//!
//! One call, end to end (DESIGN.md, README "How it is built"): argv, env and cwd come in as values
//! ([`World`]); argv -> `Invocation` ([`wrangler::argv`]) -> `Project` (every file and OS read, once:
//! [`edge::gather`]) -> `Operation` and `Ruling` (pure: [`core::assess`]) -> effects: the prompt
//! ([`confirm`]), the real wrangler ([`resolve`]), the audit line ([`audit`]) and exec ([`exec`]).

pub mod cli;
pub mod core;
pub mod edge;
pub mod oidc;
pub mod shell;
pub mod verbs;

// The layout (README "How it is built"): `core/` decides without reading files or starting
// processes, `edge/` touches the world, `verbs/` are safe-wrangler's own commands. The short paths
// (`crate::policy`, `safe_wrangler::wrangler`, ...) stay as aliases.
pub use crate::core::{classify, context, credentials, display, policy, secrets, wrangler};
pub use crate::edge::{audit, confirm, exec, resolve};
pub use crate::verbs::{doctor, hook, protect, scripts};

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use crate::core::assess::Assessment;
pub use crate::edge::gather::{resolved, user_policy_paths};
use context::{Context, Env};
use policy::Decision;

/// Exit codes of safe-wrangler itself (sysexits where one fits); otherwise wrangler's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Bad usage of safe-wrangler's own verbs (`EX_USAGE`).
    Usage = 64,
    /// An internal error (a bug) in one of safe-wrangler's own verbs (`EX_SOFTWARE`).
    Software = 70,
    /// The output of one of safe-wrangler's own verbs could not be written (a full disk):
    /// `EX_IOERR`.
    Output = 74,
    /// Refused: wrangler was not run (`EX_NOPERM`).
    Refused = 77,
    /// A config or policy file that cannot be used (`EX_CONFIG`).
    Config = 78,
    /// The real wrangler was found but could not be executed.
    CannotExec = 126,
    /// No real wrangler found (or only safe-wrangler itself, or a loop).
    NotFound = 127,
}

impl Exit {
    /// The process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The exit codes as numbers, for the verbs that return them.
pub mod exit {
    use super::Exit;
    /// [`Exit::Usage`].
    pub const USAGE: u8 = Exit::Usage as u8;
    /// [`Exit::Refused`].
    pub const REFUSED: u8 = Exit::Refused as u8;
    /// [`Exit::Config`].
    pub const CONFIG: u8 = Exit::Config as u8;
    /// [`Exit::CannotExec`].
    pub const CANNOT_EXEC: u8 = Exit::CannotExec as u8;
    /// [`Exit::NotFound`].
    pub const NOT_FOUND: u8 = Exit::NotFound as u8;
    /// [`Exit::Software`].
    pub const SOFTWARE: u8 = Exit::Software as u8;
}

/// Why a call ends without handing over to wrangler: one type, one line on stderr, one exit code.
#[derive(Debug)]
pub enum Error {
    /// A policy file that cannot be used.
    Policy(policy::PolicyError),
    /// Refused; the refusal was already shown (it has two lines and an audit entry).
    Refused,
    /// No real wrangler to run, or one that would lead back to us.
    NotFound(String),
    /// The real wrangler could not be executed.
    CannotExec(String),
}

impl Error {
    /// The exit code this error ends with.
    #[must_use]
    pub fn exit(&self) -> Exit {
        match self {
            Error::Policy(_) => Exit::Config,
            Error::Refused => Exit::Refused,
            Error::NotFound(_) => Exit::NotFound,
            Error::CannotExec(_) => Exit::CannotExec,
        }
    }

    /// Says why on stderr (once; nothing for a refusal already shown) and returns the exit code.
    fn report(&self) -> u8 {
        let line = match self {
            Error::Policy(e) => Some(format!("bad policy file {e}")),
            Error::Refused => None,
            Error::NotFound(why) | Error::CannotExec(why) => Some(why.clone()),
        };
        if let Some(line) = line {
            say(&display::escape(&line));
        }
        self.exit().code()
    }
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
            // Any other failed write of our own output (a full disk): one line, and a code that
            // says the output is lost rather than that we have a bug. The wrapper keeps its own.
            if let Some(what) = message.strip_prefix("failed printing to ") {
                if code == super::exit::SOFTWARE {
                    let _ = writeln!(
                        std::io::stderr(),
                        "safe-wrangler: cannot write to {}",
                        super::display::escape(what)
                    );
                    std::process::exit(i32::from(super::Exit::Output.code()));
                }
                std::process::exit(i32::from(code));
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

pub use crate::edge::files::{read_regular, read_text};

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
            // An agent's hook call blocks on a panic; `hook install` is a human's verb and ends
            // as every other verb does (quiet on a broken pipe, else one line and 74).
            if args.get(1).and_then(|a| a.to_str()) != Some("install") {
                fail::exit_code(2);
            }
            // The hook's hot path: `hook <agent>` is answered without building clap's command
            // tree (issue 17); `hook install ...`, `hook --help` and the rest go through clap.
            if let [_, agent] = args
                && let Some(agent) = agent.to_str().and_then(hook::Agent::parse)
            {
                return hook::answer(world, agent);
            }
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
        Context::detect(env, gated && terminal(), &crate::edge::files::RealDisk)
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
    let class = crate::core::assess::operation(&invocation, &project).class;
    let mut context = context(&world.env, gated);
    // Proving a CI identity needs the network: only for gated work in CI with an `oidc` rule.
    oidc::prove(&mut context, &project.policy, class, &world.env);
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
    /// refusal or a human's answer is then written to stderr instead, so it is never lost.
    fn record(&self, outcome: &str, wrangler: Option<&Path>) {
        let line = audit::entry(self.a, self.world, self.args, wrangler, outcome);
        write_record(self.log.as_deref(), &line, outcome);
    }

    /// Records how the prompt ended, with the signal that stopped it.
    fn record_interrupted(&self, wrangler: &Path, why: confirm::Interruption) {
        let mut line = audit::entry(self.a, self.world, self.args, Some(wrangler), "interrupted");
        line.signal = Some(why.name().to_owned());
        write_record(self.log.as_deref(), &line, "interrupted");
    }

    /// When a grant covers the call, uses one use now, atomically (the hook only checked); the
    /// refusal when it cannot (another call used it first, it expired or was revoked).
    fn use_grant(&self) -> Option<Error> {
        let id = self.a.ruling.by.grant()?;
        let why = edge::grants::consume(&self.world.env, id, self.a, self.project).err()?;
        let hint = format!(
            "ask a human to run it in their terminal: {{cmd}}; or a human can grant this one change at their terminal: {}",
            crate::core::grant::PLACEHOLDER
        );
        Some(self.refuse(&why, &hint))
    }

    /// Records the refusal, then the two lines on stderr: what and why, then what to do instead.
    fn refuse(&self, reason: &str, hint: &str) -> Error {
        self.record("refuse", None);
        self.refusal(reason, Some(hint))
    }

    /// Runs gated work as a child and ends as it ended. When it has ended, the decision's record
    /// is appended once more with its `result` (exit status or signal, and how long it ran), so a
    /// failed deploy is told apart from one that worked; `decision` is that record's decision.
    fn run_child(
        &self,
        launch: exec::Launch,
        real: &Path,
        decision: Option<&str>,
    ) -> Result<u8, Error> {
        let finished = edge::child::run(launch)
            .map_err(|err| Error::CannotExec(format!("cannot run {}: {err}", exec::shown(real))))?;
        if let Some(decision) = decision {
            let mut line = audit::entry(self.a, self.world, self.args, Some(real), decision);
            line.result = Some(finished.outcome());
            write_record(self.log.as_deref(), &line, "result");
        }
        Ok(edge::child::mirror(finished.ended))
    }

    /// Shows the plan, asks the human at the terminal and records the answer; the error unless
    /// confirmed. The human at the terminal decided: a refusal after the prompt does not tell
    /// them to ask a human.
    fn ask(&self, phrase: &str, real: &Path) -> Result<(), Error> {
        let op = &self.a.operation;
        // The plan comes before the question: the human decides on what will change.
        let plan = crate::core::plan::plan(
            &self.a.invocation,
            self.project,
            op,
            self.a.worker.as_deref(),
        );
        let summary = format!(
            "safe-wrangler: `{}` is {} work (rule {}) on environment {}. It would change:\n{}  target:      {}",
            display::command_line(self.shown, self.args),
            op.class.as_str(),
            display::shown(&op.rule),
            display::shown(policy::environment_label(&op.environment)),
            plan.prompt_text(),
            display::shown(phrase),
        );
        let why = match confirm::ask(&summary, &display::shown(phrase), phrase) {
            Ok(confirm::Answer::Confirmed) => {
                self.record("confirmed", Some(real));
                return Ok(());
            }
            Ok(confirm::Answer::Interrupted(why)) => {
                self.record_interrupted(real, why);
                let err = self.refusal(
                    &format!("not confirmed: interrupted ({})", why.name()),
                    None,
                );
                // A SIGTERM or SIGHUP ends the process as that signal would have.
                if let confirm::Interruption::Signal(sig) = why
                    && sig != nix::sys::signal::Signal::SIGINT
                {
                    confirm::die_by(sig);
                }
                return Err(err);
            }
            Ok(confirm::Answer::Declined(why)) => why.to_owned(),
            Err(e) => format!("cannot ask on the terminal: {e}"),
        };
        self.record("declined", Some(real));
        Err(self.refusal(&format!("not confirmed: {why}"), None))
    }

    /// The two lines on stderr of a refusal already recorded: the `instead:` line offers the
    /// suggestions that would run here, then `hint` when there is one.
    fn refusal(&self, reason: &str, hint: Option<&str>) -> Error {
        let refusal = crate::core::refusal::Refusal::new(
            self.a,
            self.project,
            self.shown,
            self.args,
            reason,
            hint,
        );
        for line in refusal.wrapper_lines() {
            say(&line);
        }
        Error::Refused
    }
}

/// Appends `line` to the log at `log`; when that fails, says so once and writes a refusal or a
/// human's answer to stderr instead, so it is never lost.
fn write_record(log: Option<&Path>, line: &crate::core::record::AuditEntry, outcome: &str) {
    let result = match log {
        Some(path) => audit::append(path, line).map_err(|e| format!("{}: {e}", path.display())),
        None => Err("no location (set SAFE_WRANGLER_LOG or HOME)".to_owned()),
    };
    if let Err(why) = result {
        say(&display::escape(&format!(
            "warning: cannot write the audit log {why}"
        )));
        if matches!(
            outcome,
            "refuse" | "confirmed" | "declined" | "interrupted" | "result"
        ) {
            say(&format!("audit: {line}"));
        }
    }
}

/// Set in wrangler's environment to the fingerprint of a call already recorded as run: a
/// wrapper that calls `wrangler` again with the same words (or a loop) adds no second record.
const RECORDED_VAR: &str = "SAFE_WRANGLER_RECORDED";

/// The fingerprint of one call: its directory and words.
fn fingerprint(world: &World, args: &[OsString]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    world.cwd.hash(&mut h);
    args.hash(&mut h);
    format!("{:016x}", h.finish())
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

/// The real wrangler, or why there is none.
fn find_wrangler(world: &World, dir: &Path) -> Result<PathBuf, Error> {
    let me = world
        .exe
        .as_deref()
        .and_then(|e| resolve::SelfId::of(e).ok())
        .ok_or_else(|| {
            Error::NotFound(
                "cannot inspect safe-wrangler's own executable, so cannot tell it apart from the real wrangler".to_owned(),
            )
        })?;
    resolve::find_real(
        world.env.get("SAFE_WRANGLER_REAL"),
        dir,
        world.env.get("PATH"),
        &me,
    )
    .map_err(|e| match e {
        resolve::NotFound::Missing => Error::NotFound(
            "the real wrangler was not found (looked in node_modules/.bin from here up, then PATH). Install it in the project: npm i -D wrangler".to_owned(),
        ),
        resolve::NotFound::BadOverride(why) => Error::NotFound(why),
        resolve::NotFound::NotExecutable(why) => Error::CannotExec(why),
    })
}

/// The `--env-file` words for the credential-free `.env` copies, written now: a project where they
/// cannot be written stops before anything is recorded or asked, with the reason (exit 126).
fn env_copies(dotenv: &credentials::DotenvPlan, dir: &Path) -> Result<Vec<OsString>, Error> {
    let credentials::DotenvPlan::Replace(files) = dotenv else {
        return Ok(Vec::new());
    };
    exec::write_copies(dir, files).map_err(|e| {
        Error::CannotExec(format!(
            "cannot write the .env copies in {}: {e}",
            dir.join(credentials::COPY_DIR).display()
        ))
    })
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
    // println!: a failed write ends through the panic hook (quietly on a broken pipe, else 74).
    println!("safe-wrangler {}", env!("CARGO_PKG_VERSION"));
    let depth = match nesting_depth(&world.env) {
        Ok(d) => d,
        Err(why) => return Error::NotFound(why.to_owned()).report(),
    };
    let real = match find_wrangler(world, &world.cwd) {
        Ok(p) => p,
        Err(e) => return e.report(),
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
            println!(
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
fn guard(world: &World, shown: &str, args: &[OsString]) -> u8 {
    match guarded(world, shown, args) {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

/// [`guard`]'s steps; returns the exit code only of gated work run as a child (mirroring how it
/// ended), and an error when wrangler was not run.
fn guarded(world: &World, shown: &str, args: &[OsString]) -> Result<u8, Error> {
    let depth = nesting_depth(&world.env).map_err(|why| {
        let log = audit::log_path(&world.env);
        write_record(
            log.as_deref(),
            &audit::loop_entry(world, args, why),
            "refuse",
        );
        Error::NotFound(why.to_owned())
    })?;
    let print = fingerprint(world, args);
    let recorded_above = depth > 0 && world.env.str(RECORDED_VAR) == Some(print.as_str());
    let (a, project) = evaluate(
        world,
        args,
        |env, gated| {
            Context::detect(
                env,
                gated && confirm::terminal_present(),
                &crate::edge::files::RealDisk,
            )
        },
        false,
    )
    .map_err(Error::Policy)?;
    let call = Call {
        world,
        shown,
        args,
        a: &a,
        log: audit::log_path(&world.env),
        project: &project,
    };
    let credential = match &a.ruling.decision {
        Decision::Refuse { reason, hint } => return Err(call.refuse(reason, hint)),
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

    let real = find_wrangler(world, &a.dir)?;

    let dotenv = a.dotenv.clone();

    // The credential-free `.env` copies are written before anything is recorded or asked: a
    // project where they cannot be written stops here with the reason, and no `run` record.
    let extra_args = env_copies(&dotenv, &a.dir)?;

    // A call a grant covers uses one use now, atomically (the hook only checked).
    if let Some(err) = call.use_grant() {
        return Err(err);
    }

    if let Decision::Confirm { phrase } = &a.ruling.decision {
        call.ask(phrase, &real)?;
    } else if !recorded_above {
        call.record("run", Some(&real));
    }

    if token.is_none() && a.operation.remote {
        oauth_note(world, &a.dotenv);
    }

    let launch = exec::Launch {
        program: real.clone(),
        args: args.to_vec(),
        insert_at: a.invocation.end_of_options.unwrap_or(args.len()),
        env: {
            let mut env = credentials::child_env(
                &world.env,
                depth + 1,
                token.as_deref(),
                &a.policy.ci_tokens.variables(),
            );
            env.retain(|(k, _)| k != RECORDED_VAR);
            env.push((RECORDED_VAR.into(), print.into()));
            env
        },
        extra_args,
    };
    // Production, migration and dns work runs as a child so how it ended is recorded (`result`,
    // on the decision's own record appended again); the rest keeps exec.
    if a.operation.class.needs_approval() {
        let decision = match &a.ruling.decision {
            Decision::Confirm { .. } => Some("confirmed"),
            _ if recorded_above => None,
            _ => Some("run"),
        };
        return call.run_child(launch, &real, decision);
    }
    let err = exec::exec(launch);
    Err(Error::CannotExec(format!(
        "cannot run {}: {err}",
        exec::shown(&real)
    )))
}
