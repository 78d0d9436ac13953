//! safe-wrangler: a guard in front of Cloudflare's `wrangler`.
//!
//! One call, end to end (DESIGN.md): argv, env and cwd come in as values ([`World`]); the pure core
//! reads wrangler's argv ([`wrangler::argv`]), classifies it ([`classify`]), detects the caller
//! ([`context`]) and decides ([`policy`]); the edge here prompts ([`confirm`]), finds the real
//! wrangler ([`resolve`]) and hands over with exec ([`exec`]).

pub mod audit;
pub mod classify;
pub mod cli;
pub mod confirm;
pub mod context;
pub mod credentials;
pub mod display;
pub mod doctor;
pub mod exec;
pub mod hook;
pub mod policy;
pub mod protect;
pub mod resolve;
pub mod scripts;
pub mod secrets;
pub mod setup;
pub mod shell;
pub mod userdb;
pub mod wrangler;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use classify::Operation;
use context::{Context, Env};
use policy::Decision;
use wrangler::argv::Invocation;

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
        return cli::run_own(world, args);
    }
    let shown = if program.starts_with(OWN_NAME) {
        OWN_NAME
    } else {
        "wrangler"
    };
    guard(world, shown, args)
}

/// Everything the pure core says about one call.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub invocation: Invocation,
    pub operation: Operation,
    pub context: Context,
    pub ruling: policy::Ruling,
    /// The policy in force.
    pub policy: policy::Policy,
    /// The directory wrangler would work in (after `--cwd`).
    pub dir: PathBuf,
    /// The config file consulted for the target's name, or why it could not be read.
    pub config: Option<Result<PathBuf, wrangler::config::ConfigError>>,
    /// The Worker the call acts on, when known (`--name`, else the config's name for the env).
    pub worker: Option<String>,
}

/// The user's policy files, most important first: `$XDG_CONFIG_HOME/safe-wrangler/config.jsonc`,
/// then `~/.config/safe-wrangler/config.jsonc` under `$HOME` and under the home directory the
/// system's user database gives (which no environment variable can move, so an agent cannot
/// escape a `lock_project_policy` by pointing `XDG_CONFIG_HOME` or `HOME` elsewhere).
#[must_use]
pub fn user_policy_paths(env: &Env) -> Vec<PathBuf> {
    let tail = "safe-wrangler/config.jsonc";
    let mut paths = Vec::new();
    if let Some(x) = env.get("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        paths.push(PathBuf::from(x).join(tail));
    }
    if let Some(home) = env.get("HOME").filter(|v| !v.is_empty()) {
        paths.push(PathBuf::from(home).join(".config").join(tail));
    }
    if let Some(home) = userdb::my_home() {
        paths.push(home.join(".config").join(tail));
    }
    let mut seen = Vec::new();
    paths.retain(|p| {
        let fresh = !seen.contains(p);
        seen.push(p.clone());
        fresh
    });
    paths
}

/// `CLOUDFLARE_ENV` as wrangler will see it when the real environment does not set it: wrangler
/// fills unset variables from the `.env` files it loads before it reads `CLOUDFLARE_ENV` (the
/// user's `--env-file`s, else `.env` and `.env.local`). Two files that disagree are read as the
/// top level, which is production unless the policy says otherwise (we do not guess dotenv's
/// precedence).
fn cloudflare_env_from_dotenv(world: &World, inv: &Invocation, dir: &Path) -> Option<String> {
    if inv.has("env")
        || world
            .env
            .get("CLOUDFLARE_ENV")
            .is_some_and(|v| !v.is_empty())
    {
        return None;
    }
    let user_files = inv.values("env-file");
    let files: Vec<PathBuf> = if user_files.is_empty() {
        credentials::default_env_files(dir, None)
    } else {
        user_files.iter().map(|f| dir.join(f)).collect()
    };
    let mut values: Vec<String> = files
        .iter()
        .filter_map(|f| read_regular(f).ok())
        .filter_map(|c| credentials::dotenv_value(&c, "CLOUDFLARE_ENV"))
        .collect();
    // wrangler expands `${VAR}` in these files (dotenv-expand): a value we would have to expand
    // is read as the top level, never as a named (non-production) environment.
    for v in &mut values {
        if v.contains('$') {
            v.clear();
        }
    }
    values.dedup();
    match values.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        _ => Some(String::new()),
    }
}

/// The major version of the wrangler package that would run: the nearest `node_modules`
/// wrangler (where the lookup finds it), else the npm package behind `SAFE_WRANGLER_REAL` or the
/// first `wrangler` on PATH (a global install: `.../wrangler/bin/wrangler.js`). Our command table
/// describes wrangler 4; an older one has other defaults (its data commands are remote by default).
fn installed_wrangler_major(world: &World, dir: &Path) -> Option<u32> {
    let local = dir
        .ancestors()
        .map(|d| d.join("node_modules/wrangler/package.json"))
        .find(|p| p.is_file());
    let manifest = local.or_else(|| {
        let me = world
            .exe
            .as_deref()
            .and_then(|e| std::fs::canonicalize(e).ok());
        let candidates = world
            .env
            .get("SAFE_WRANGLER_REAL")
            .map(PathBuf::from)
            .into_iter()
            .chain(
                std::env::split_paths(world.env.get("PATH").unwrap_or_default())
                    .map(|d| d.join("wrangler")),
            );
        candidates
            .filter_map(|c| std::fs::canonicalize(c).ok())
            .find(|c| Some(c) != me.as_ref())
            .filter(|real| real.ends_with("bin/wrangler.js"))
            .and_then(|real| Some(real.parent()?.parent()?.join("package.json")))
    })?;
    let value: serde_json::Value = serde_json::from_slice(&read_regular(&manifest).ok()?).ok()?;
    let version = value.get("version")?.as_str()?;
    // An unreadable version is not wrangler 4 as far as we know.
    Some(version.split('.').next()?.parse().unwrap_or(0))
}

/// A directory as wrangler ends up in it: `--cwd` is a `chdir` (so the kernel resolves `..` and
/// symlinks: canonicalize when it exists), a script's directory goes through node's `path.resolve`
/// (`..` removed by the text). Searching upwards from `foo/../shop` must not search `foo`.
#[must_use]
pub fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The environment by which wrangler picks `.env.<env>` files: `--env`, else the real
/// `CLOUDFLARE_ENV` (not one from a file, which is read only after the files are chosen).
fn env_file_selection(world: &World, inv: &Invocation) -> Option<String> {
    match inv.value("env") {
        Some(e) => Some(e.to_owned()),
        None if inv.has("env") => Some(String::new()),
        None => world.env.str("CLOUDFLARE_ENV").map(str::to_owned),
    }
}

/// Reads, classifies and decides, measuring the terminal only when the decision needs it.
///
/// # Errors
/// A policy file that cannot be used (exit 78).
pub fn assess(
    world: &World,
    args: &[OsString],
    terminal: impl FnOnce() -> bool,
) -> Result<Assessment, policy::PolicyError> {
    let invocation = wrangler::argv::parse(args);
    let dir = resolved(&match invocation.value("cwd") {
        Some(c) if !c.is_empty() => world.cwd.join(c),
        _ => world.cwd.clone(),
    });
    let policy = policy::load(&dir, &user_policy_paths(&world.env))?;
    let dotenv_env = cloudflare_env_from_dotenv(world, &invocation, &dir);
    let cloudflare_env = match world.env.str("CLOUDFLARE_ENV").filter(|e| !e.is_empty()) {
        Some(e) => Some(e),
        None => dotenv_env.as_deref(),
    };
    // WRANGLER_CI_OVERRIDE_NAME renames the Worker; wrangler also fills it from the `.env` files
    // it loads (any value there counts: it is never downgraded to preview).
    let dotenv_name = if world
        .env
        .get("WRANGLER_CI_OVERRIDE_NAME")
        .is_some_and(|v| !v.is_empty())
    {
        None
    } else {
        let user_files = invocation.values("env-file");
        let files: Vec<PathBuf> = if user_files.is_empty() {
            credentials::default_env_files(&dir, env_file_selection(world, &invocation).as_deref())
        } else {
            user_files.iter().map(|f| dir.join(f)).collect()
        };
        files
            .iter()
            .filter_map(|f| read_regular(f).ok())
            .find_map(|c| credentials::dotenv_value(&c, "WRANGLER_CI_OVERRIDE_NAME"))
    };
    let name_override = world
        .env
        .str("WRANGLER_CI_OVERRIDE_NAME")
        .filter(|v| !v.is_empty())
        .or(dotenv_name.as_deref());
    // wrangler searches for the config from the directory of a script argument (`path.dirname`;
    // also given as the hidden `--script` flag), else from the working directory.
    let script = invocation
        .positionals
        .first()
        .map(String::as_str)
        .or_else(|| invocation.value("script"));
    let search_from = match (invocation.path.as_str(), script) {
        ("deploy" | "dev" | "versions upload" | "preview", Some(script))
            if !invocation.has("config") =>
        {
            resolved(&dir.join(Path::new(script).parent().unwrap_or(Path::new(""))))
        }
        _ => dir.clone(),
    };
    // The config is read only when the class depends on it or a human must confirm: local work
    // pays nothing for it.
    let redirect = invocation.command.is_some_and(|c| c.config_redirect);
    let load = || {
        let flag = invocation.value("config");
        let found = wrangler::config::locate(&search_from, flag, redirect)?;
        let redirected = redirect
            && wrangler::config::locate(&search_from, flag, false).as_ref() != Some(&found);
        Some(wrangler::config::load(&found).map(|mut cfg| {
            cfg.redirected = redirected;
            cfg
        }))
    };
    let mut config = classify::needs_config(&invocation).then(load).flatten();
    let operation = classify::classify(
        &invocation,
        cloudflare_env,
        name_override,
        // Only a data command not already marked --local can be moved by the version.
        invocation
            .command
            .is_some_and(|c| c.local_by_default && c.when_remote.is_some())
            && invocation.boolean("local") != Some(true)
            && installed_wrangler_major(world, &dir).is_some_and(|major| major != 4),
        config.as_ref(),
        &policy.targets,
    );
    let gated = operation.class.needs_approval();
    if gated && config.is_none() {
        config = load();
    }
    let context = Context::detect(&world.env, gated && terminal(), &context::RealDisk);
    let worker = invocation
        .value("name")
        .filter(|n| !n.is_empty())
        .or(name_override.filter(|n| !n.is_empty()))
        .map(str::to_owned)
        .or_else(|| match &config {
            Some(Ok(cfg)) => cfg.worker_name(&operation.environment),
            _ => None,
        });
    let phrase = policy::confirm_phrase(&operation, &invocation, worker.as_deref());
    let config = config.map(|c| c.map(|cfg| cfg.path));
    let ruling = policy::decide(&operation, &context, &policy, &phrase);
    Ok(Assessment {
        invocation,
        operation,
        context,
        ruling,
        policy,
        dir,
        config,
        worker,
    })
}

fn say(line: &str) {
    eprintln!("safe-wrangler: {line}");
}

/// One guarded call at the edge: what it is, and where its audit lines go.
struct Call<'a> {
    world: &'a World,
    shown: &'a str,
    args: &'a [OsString],
    a: &'a Assessment,
    log: Option<PathBuf>,
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

    /// Records the refusal, then the two lines on stderr: what and why, then what to do instead.
    fn refuse(&self, reason: &str, hint: &str) -> u8 {
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
        let hint = display::escape(hint).replace("{cmd}", &cmd);
        match policy::alternative(op) {
            Some(alt) => say(&format!("instead: {alt}; or {hint}")),
            None => say(&format!("instead: {hint}")),
        }
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

/// The guarded passthrough: decide, then exec the real wrangler or refuse.
fn guard(world: &World, shown: &str, args: &[OsString]) -> u8 {
    let depth = match nesting_depth(&world.env) {
        Ok(d) => d,
        Err(why) => {
            say(why);
            return exit::NOT_FOUND;
        }
    };
    let a = match assess(world, args, confirm::terminal_present) {
        Ok(a) => a,
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
    };
    let credential = match &a.ruling.decision {
        Decision::Refuse { reason, hint } => return call.refuse(reason, hint),
        Decision::Run { credential } => credential.clone(),
        Decision::Confirm { .. } => policy::Credential::None,
    };
    let token = match &credential {
        policy::Credential::None => None,
        policy::Credential::Token(var) => match world.env.get(var).filter(|v| !v.is_empty()) {
            Some(v) => Some(v.to_owned()),
            None if a.operation.class.needs_approval() => {
                let reason = format!(
                    "{var}, which holds the token for {} work in CI, is not set",
                    a.operation.class.as_str()
                );
                let hint = "set it from your CI secrets for this job, or ask a human to run: {cmd}";
                return call.refuse(&reason, hint);
            }
            // Read and preview work without a token: wrangler explains what it needs.
            None => None,
        },
    };

    let real = match find_wrangler(world, &a.dir) {
        Ok(p) => p,
        Err(code) => return code,
    };

    let user_env_files = a.invocation.values("env-file");
    let dotenv_env = env_file_selection(world, &a.invocation);
    let dotenv = credentials::plan_dotenv(&user_env_files, &a.dir, dotenv_env.as_deref(), |p| {
        read_regular(p).ok()
    });
    if let credentials::DotenvPlan::Refuse { file, line, var } = &dotenv {
        let reason = format!(
            "{}:{line} sets {var}, and wrangler would use it instead of your OAuth login",
            file.display()
        );
        return call.refuse(
            &reason,
            "remove the credential from that file (keep tokens in CI secrets), then run {cmd} again",
        );
    }

    if let Decision::Confirm { phrase } = &a.ruling.decision {
        let summary = format!(
            "safe-wrangler: `{}` is {} work (rule {}) on environment {}.\n  target: {}",
            display::command_line(shown, args),
            a.operation.class.as_str(),
            a.operation.rule,
            display::escape(policy::environment_label(&a.operation.environment)),
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
            return call.refuse(&reason, "ask a human to run it in their terminal: {cmd}");
        }
        call.record("confirmed", Some(&real));
    } else {
        call.record("run", Some(&real));
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
    let err = exec::exec(launch);
    say(&format!("cannot run {}: {err}", exec::shown(&real)));
    exit::CANNOT_EXEC
}
