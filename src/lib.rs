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
pub mod shell;
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
    /// The `.env` files wrangler would load, with the contents we read (read once, here).
    pub dotenv_files: Vec<(PathBuf, Vec<u8>)>,
}

impl Assessment {
    /// The contents read of a `.env` file wrangler would load (`None`: it has none).
    #[must_use]
    pub fn dotenv_content(&self, path: &Path) -> Option<Vec<u8>> {
        self.dotenv_files
            .iter()
            .find(|(f, _)| f == path)
            .map(|(_, c)| c.clone())
    }
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
    if let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::getuid()) {
        paths.push(user.dir.join(".config").join(tail));
    }
    let mut seen = Vec::new();
    paths.retain(|p| {
        let fresh = !seen.contains(p);
        seen.push(p.clone());
        fresh
    });
    paths
}

/// Reads one `.env` file wrangler would load: `Ok(None)` when wrangler skips it too (it does not
/// exist, is a dangling symlink or a directory: wrangler's read fails and it carries on),
/// `Err(why)` when wrangler would read it but we cannot read it whole. The file is opened
/// non-blocking, so a FIFO never makes us wait (wrangler would block on it until some process
/// writes, then load what it was sent); `/dev/null` reads as empty (`--env-file /dev/null` is the
/// documented way to load nothing).
///
/// # Errors
/// Too large, a FIFO, socket or device, or unreadable, with the reason.
pub fn read_env_file(path: &Path) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => return Ok(None),
        Err(e) => return Err(format!("it cannot be read ({e})")),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("it cannot be read ({e})"))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Ok(None);
    }
    if kind.is_char_device()
        && std::fs::metadata("/dev/null").is_ok_and(|n| n.rdev() == meta.rdev())
    {
        return Ok(Some(Vec::new()));
    }
    if kind.is_fifo() {
        return Err("it is a FIFO: wrangler would wait for a writer and load what it sends".into());
    }
    if !kind.is_file() {
        return Err("it is not a regular file (a device or socket)".into());
    }
    let too_large = || "it is larger than 8 MiB, the most safe-wrangler reads".to_owned();
    if meta.len() > MAX_FILE {
        return Err(too_large());
    }
    let mut content = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_FILE + 1)
        .read_to_end(&mut content)
        .map_err(|e| format!("it cannot be read ({e})"))?;
    if content.len() as u64 > MAX_FILE {
        return Err(too_large());
    }
    Ok(Some(content))
}

/// The `.env` files wrangler loads for this call, as we read them.
#[derive(Debug, Clone, Default)]
pub struct Dotenv {
    /// Each file that exists, with its contents, in wrangler's load order.
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// The variables wrangler's environment gets from them (merged, expanded, the real
    /// environment's non-empty values winning).
    pub vars: wrangler::dotenv::Vars,
    /// Why we cannot know what wrangler would load: a file it would read that we cannot read
    /// whole, or values whose expansion would stop wrangler. The call is refused.
    pub problem: Option<String>,
}

impl Dotenv {
    /// A variable as wrangler will see it: set by the files, else `None` (then the real
    /// environment's value, which the caller already has).
    #[must_use]
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name)
    }
}

/// Reads the `.env` files wrangler would load for `inv` run in `dir` (its `--env-file`s, else
/// `.env`, `.env.local` and, with `--env`, `.env.<env>` and `.env.<env>.local`; see
/// [`wrangler::dotenv`]). With `DOTENV_KEY` set, dotenv loads an encrypted `<file>.vault` instead
/// of a file that has one; we cannot read those.
#[must_use]
pub fn gather_dotenv(env: &Env, inv: &Invocation, dir: &Path) -> Dotenv {
    let user_files = inv.values("env-file");
    let given = inv.has("env-file").then_some(user_files.as_slice());
    let paths = wrangler::dotenv::files(dir, given, env_file_selection(inv).as_deref());
    let mut out = Dotenv::default();
    let vault = env.is_set("DOTENV_KEY");
    for path in paths {
        let mut vault_path = path.clone().into_os_string();
        vault_path.push(".vault");
        if vault && Path::new(&vault_path).exists() {
            out.problem = Some(format!(
                "wrangler would load {} (DOTENV_KEY is set), an encrypted file safe-wrangler cannot read",
                Path::new(&vault_path).display()
            ));
            return out;
        }
        match read_env_file(&path) {
            Ok(Some(content)) => out.files.push((path, content)),
            Ok(None) => {}
            Err(why) => {
                out.problem = Some(format!(
                    "wrangler would load the .env file {}, but {why}",
                    path.display()
                ));
                return out;
            }
        }
    }
    let parsed: Vec<_> = out
        .files
        .iter()
        .map(|(_, c)| wrangler::dotenv::parse(c))
        .collect();
    match wrangler::dotenv::load(&parsed, |k| {
        env.get(k).map(|v| v.to_string_lossy().into_owned())
    }) {
        Ok(vars) => out.vars = vars,
        Err(wrangler::dotenv::Stuck(what)) => {
            out.problem = Some(format!(
                "wrangler cannot expand the values in its .env files ({what}); it would stop or hang"
            ));
        }
    }
    out
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

/// The environment by which wrangler picks `.env.<env>` files: `--env` only (`--env=` picks
/// `.env.`); a `CLOUDFLARE_ENV`, real or from a file, does not (checked with wrangler 4.164).
fn env_file_selection(inv: &Invocation) -> Option<String> {
    match inv.value("env") {
        Some(e) => Some(e.to_owned()),
        None if inv.has("env") => Some(String::new()),
        None => None,
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
    // wrangler fills its environment from the `.env` files it loads before it reads
    // CLOUDFLARE_ENV or WRANGLER_CI_OVERRIDE_NAME (which renames the Worker); a non-empty value in
    // the real environment wins over the files, and an empty one in a later file is a value.
    let dotenv = gather_dotenv(&world.env, &invocation, &dir);
    let seen = |name: &str| -> Option<String> {
        match dotenv.var(name) {
            Some(v) => Some(v.to_owned()),
            None => world.env.str(name).map(str::to_owned),
        }
    };
    let cloudflare_env = seen("CLOUDFLARE_ENV");
    let cloudflare_env = cloudflare_env.as_deref();
    let name_override = seen("WRANGLER_CI_OVERRIDE_NAME").filter(|v| !v.is_empty());
    let name_override = name_override.as_deref();
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
    // Help and version print before wrangler loads any `.env` file; every other call loads them,
    // and one we cannot read whole could hold a credential or a target: refused, whoever calls.
    let prints_help = matches!(
        operation.rule.as_str(),
        "help-or-version" | "no-command" | "namespace-help"
    );
    let ruling = match &dotenv.problem {
        Some(problem) if !prints_help => policy::Ruling {
            decision: Decision::Refuse {
                reason: problem.clone(),
                hint: "fix or remove that file, or name the files to load with --env-file, then run {cmd} again".into(),
            },
            by: "dotenv-unreadable".into(),
        },
        _ => policy::decide(&operation, &context, &policy, &phrase),
    };
    Ok(Assessment {
        invocation,
        operation,
        context,
        ruling,
        policy,
        dir,
        config,
        worker,
        dotenv_files: dotenv.files,
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
    let dotenv_env = env_file_selection(&a.invocation);
    let dotenv = credentials::plan_dotenv(&user_env_files, &a.dir, dotenv_env.as_deref(), |p| {
        a.dotenv_content(p)
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
