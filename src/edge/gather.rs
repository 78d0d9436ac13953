//! The gather step: every file and OS read one wrangler call needs, each file once, into a
//! [`Project`] value the pure core decides on ([`crate::core::assess`]).
//!
//! What is read depends only on the invocation and on the pure classification: the config only
//! when the class depends on it or a human must confirm, the installed wrangler's version only
//! for a data command not already `--local` (local work pays nothing for them).
//!
//! One read per file per process (issue 17): the files, the parsed config, the policy, the user
//! policy paths and the installed wrangler's version are kept for the life of the process, so the
//! hook, which assesses every wrangler call of a command line (and up to three environments for
//! each), reads and parses each of them once. A process lives for one wrapper call or one hook
//! answer, so nothing here outlives the files it describes by more than that.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::context::Env;
use crate::core::assess::{DotenvProblem, Project};
use crate::credentials;
use crate::edge::files::MAX_FILE;
use crate::policy;
use crate::wrangler::argv::Invocation;
use crate::wrangler::config::{Config, ConfigError};
use crate::{World, classify, read_regular, wrangler};

/// What the gather step is doing, for a deadline that must say what took long ([`step`]).
static STEP: AtomicU8 = AtomicU8::new(0);

/// The steps [`STEP`] names, in its numbering.
const STEPS: [&str; 8] = [
    "deciding",
    "reading the policy files",
    "reading the .env files",
    "reading the wrangler config",
    "looking up the installed wrangler's version",
    "asking the system's user database for the home directory",
    "reading a CI event file",
    "reading the agent's input on stdin",
];

/// The step [`STEPS`] names at `step` begins.
pub fn at(step: usize) {
    STEP.store(u8::try_from(step).unwrap_or(0), Ordering::Relaxed);
}

/// What the gather step was doing last (a plain atomic load: safe in a signal handler).
#[must_use]
pub fn step() -> &'static str {
    STEPS
        .get(usize::from(STEP.load(Ordering::Relaxed)))
        .copied()
        .unwrap_or(STEPS[0])
}

/// Every step's words, for a signal handler that prepares its messages up front.
#[must_use]
pub fn steps() -> &'static [&'static str] {
    &STEPS
}

/// The index [`step`] would answer with now.
#[must_use]
pub fn step_index() -> usize {
    usize::from(STEP.load(Ordering::Relaxed))
}

/// Where a config search starts, the `--config` value, and whether redirects count.
type SearchKey = (PathBuf, Option<String>, bool);

/// A lookup done at most once.
#[derive(Default, Clone)]
enum Lookup<T> {
    #[default]
    NotYet,
    Done(Option<T>),
}

/// The per-process caches (one thread reads them: the hook and the wrapper are single-threaded).
#[derive(Default)]
struct Cache {
    files: HashMap<PathBuf, Option<Vec<u8>>>,
    /// A `.env` file -> what [`read_env_file`] answered.
    env_files: HashMap<PathBuf, Result<Option<Vec<u8>>, String>>,
    /// `(directory, user policy files)` -> the policy.
    policies: HashMap<(PathBuf, Vec<PathBuf>), Result<policy::Policy, policy::PolicyError>>,
    /// `(XDG_CONFIG_HOME, HOME)` -> the user policy paths.
    user_paths: HashMap<(Option<std::ffi::OsString>, Option<std::ffi::OsString>), Vec<PathBuf>>,
    /// The user database's home directory ([`crate::edge::userdb::my_home`], looked up at most once).
    home: Lookup<PathBuf>,
    /// `(search from, --config, redirect)` -> the config found and whether it was redirected.
    located: HashMap<SearchKey, Option<(PathBuf, bool)>>,
    /// A config file -> its parse.
    configs: HashMap<PathBuf, Result<Config, ConfigError>>,
    /// `(directory, SAFE_WRANGLER_REAL, PATH)` -> the version of the wrangler that would run.
    majors: HashMap<
        (
            PathBuf,
            Option<std::ffi::OsString>,
            Option<std::ffi::OsString>,
        ),
        classify::Wrangler,
    >,
}

thread_local! {
    /// Leaked on purpose: the process ends (or execs) right after its one call, and freeing a
    /// large parsed config at exit would only add to the time the caller waits.
    static CACHE: &'static RefCell<Cache> = Box::leak(Box::default());
}

/// A file read through the per-process cache (each file read at most once per process).
#[must_use]
pub fn read_cached(path: &Path) -> Option<Vec<u8>> {
    if let Some(hit) = CACHE.with(|c| c.borrow().files.get(path).cloned()) {
        return hit;
    }
    let read = read_regular(path).ok();
    CACHE.with(|c| {
        c.borrow_mut()
            .files
            .insert(path.to_path_buf(), read.clone())
    });
    read
}

/// Reads what `inv` needs from the world.
///
/// # Errors
/// A policy file that cannot be used (exit 78).
pub fn gather(world: &World, inv: &Invocation) -> Result<Project, policy::PolicyError> {
    let dir = resolved(&match inv.value("cwd") {
        Some(c) if !c.is_empty() => world.cwd.join(c),
        _ => world.cwd.clone(),
    });
    #[cfg(debug_assertions)]
    if world.env.is_set("SAFE_WRANGLER_DEBUG_STALL") {
        // A debug build's stand-in for a policy file that does not answer (tests/it/abort.rs).
        at(1);
        std::thread::sleep(std::time::Duration::from_secs(30));
    }
    let policy = load_policy(&dir, &user_policy_paths(&world.env))?;
    at(2);
    // wrangler fills its environment from the `.env` files it loads before it reads
    // CLOUDFLARE_ENV or WRANGLER_CI_OVERRIDE_NAME (which renames the Worker); a non-empty value in
    // the real environment wins over the files, and an empty one in a later file is a value.
    let dotenv = gather_dotenv(&world.env, inv, &dir);
    let seen = |name: &str| -> Option<String> {
        match dotenv.vars.get(name) {
            Some(v) => Some(v.to_owned()),
            None => world.env.str(name).map(str::to_owned),
        }
    };
    let cloudflare_env = seen("CLOUDFLARE_ENV");
    // Any value counts: a renamed Worker is never downgraded to preview.
    let name_override = seen("WRANGLER_CI_OVERRIDE_NAME").filter(|v| !v.is_empty());
    // Only a data command not already --local can be moved by the version.
    let wrangler = if inv
        .command
        .is_some_and(|c| c.local_by_default && c.when_remote.is_some())
        && inv.boolean("local") != Some(true)
    {
        cached_wrangler(world, &dir)
    } else {
        classify::Wrangler::Four
    };
    let plan = credentials::plan_dotenv(
        &inv.values("env-file"),
        &dir,
        env_file_selection(inv).as_deref(),
        |p| dotenv.content(p),
    );
    // OPEN_NEXT_DEPLOY, as wrangler sees it after its `.env` files: set, wrangler deploys itself.
    let open_next = inv.path == "deploy"
        && seen("OPEN_NEXT_DEPLOY").is_none_or(|v| v.is_empty())
        && is_open_next_project(&dir);
    let mut project = Project {
        dir,
        policy,
        env: world.env.clone(),
        cloudflare_env,
        name_override,
        wrangler,
        open_next,
        config: None,
        dotenv: plan,
        dotenv_files: dotenv.files,
        dotenv_problem: dotenv.problem,
        default_config: None,
        plan_files: crate::core::plan::PlanFiles::default(),
        grants: crate::core::grant::Grants::default(),
    };
    // The config is read only when the class depends on it or a human must confirm.
    if classify::needs_config(inv) || crate::core::assess::gated(inv, &project) {
        at(3);
        project.config = load_config(inv, &project.dir);
        project.default_config = default_config(&project.dir, project.config.as_ref());
    }
    at(0);
    Ok(project)
}

/// What a plan needs besides the decision: the config (even for local work) and the local files
/// the plan shows: `d1 execute --file`, the D1 migrations directory, `secret bulk FILE` (names
/// only). Called for `plan` and for work that needs approval, never for ordinary local calls.
pub fn plan_inputs(inv: &Invocation, project: &mut Project) {
    if project.config.is_none() && inv.problems.is_empty() && inv.command.is_some() {
        project.config = load_config(inv, &project.dir);
    }
    // The gather step reads only the keys the classifier needs (`lean`); a plan shows more
    // (crons, workers.dev, migrations, every binding), so it gets the whole file, parsed again.
    if let Some(Ok(lean)) = &project.config {
        let redirected = lean.redirected;
        project.config = Some(crate::edge::files::load_config(&lean.path).map(|mut cfg| {
            cfg.redirected = redirected;
            cfg
        }));
    }
    let env = crate::core::assess::operation(inv, project).environment;
    let dir = project.dir.clone();
    let text = |path: &Path| crate::read_text(path).map_err(|e| e.to_string());
    match inv.path.as_str() {
        "d1 execute" => {
            if let Some(file) = inv.value("file").filter(|f| !f.is_empty()) {
                project.plan_files.sql_file = Some((file.to_owned(), text(&dir.join(file))));
            }
        }
        "d1 migrations apply" => {
            if let (Some(Ok(cfg)), Some(db)) = (&project.config, inv.positionals.first())
                && let Some(entry) = crate::core::plan::d1_entry(cfg, &env, db)
            {
                let mdir = crate::core::plan::migrations_dir(cfg, entry);
                let files = std::fs::read_dir(&mdir)
                    .map_err(|e| e.to_string())
                    .and_then(|entries| {
                        let mut names: Vec<String> = entries
                            .filter_map(Result::ok)
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            // As wrangler lists them: exactly `.sql`.
                            .filter(|n| {
                                #[allow(clippy::case_sensitive_file_extension_comparisons)]
                                n.ends_with(".sql")
                            })
                            .collect();
                        names.sort();
                        names
                            .into_iter()
                            .map(|n| text(&mdir.join(&n)).map(|t| (n, t)))
                            .collect::<Result<Vec<_>, String>>()
                    });
                project.plan_files.migrations = Some((mdir, files));
            }
        }
        "secret bulk" | "versions secret bulk" => {
            if let Some(file) = inv.positionals.first() {
                let names = text(&dir.join(file)).map(|t| secret_names(&t));
                project.plan_files.secret_names = Some((file.clone(), names));
            }
        }
        _ => {}
    }
}

/// The names in a `secret bulk` file (a JSON object, where `null` deletes, or KEY=VALUE lines);
/// the values are dropped here and never kept.
fn secret_names(text: &str) -> Vec<(String, bool)> {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        return map.iter().map(|(k, v)| (k.clone(), v.is_null())).collect();
    }
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.trim_start_matches("export ").split_once('='))
        .map(|(k, _)| (k.trim().to_owned(), false))
        .collect()
}

/// [`crate::edge::policy_files::load`] once per directory and set of user files.
fn load_policy(dir: &Path, user_files: &[PathBuf]) -> Result<policy::Policy, policy::PolicyError> {
    let key = (dir.to_path_buf(), user_files.to_vec());
    if let Some(hit) = CACHE.with(|c| c.borrow().policies.get(&key).cloned()) {
        return hit;
    }
    at(1);
    let loaded = crate::edge::policy_files::load(dir, user_files);
    CACHE.with(|c| c.borrow_mut().policies.insert(key, loaded.clone()));
    loaded
}

/// [`installed_wrangler`] once per directory, `SAFE_WRANGLER_REAL` and `PATH`.
fn cached_wrangler(world: &World, dir: &Path) -> classify::Wrangler {
    let key = (
        dir.to_path_buf(),
        world
            .env
            .get("SAFE_WRANGLER_REAL")
            .map(std::ffi::OsStr::to_owned),
        world.env.get("PATH").map(std::ffi::OsStr::to_owned),
    );
    if let Some(hit) = CACHE.with(|c| c.borrow().majors.get(&key).cloned()) {
        return hit;
    }
    at(4);
    let found = installed_wrangler(world, dir);
    CACHE.with(|c| c.borrow_mut().majors.insert(key, found.clone()));
    found
}

/// The config wrangler would use for `inv`, from where wrangler searches for it.
fn load_config(inv: &Invocation, dir: &Path) -> Option<Result<Config, ConfigError>> {
    // wrangler searches for the config from the directory of a script argument (`path.dirname`;
    // also given as the hidden `--script` flag), else from the working directory. Its find-up
    // resolves that directory against itself (`path.resolve(d, d)`), so `deploy sub/index.js`
    // starts at `sub/sub` and goes up (verified with wrangler 4.164: a config in `sub/sub` wins).
    let script = inv
        .positionals
        .first()
        .map(String::as_str)
        .or_else(|| inv.value("script"));
    let search_from = match (inv.path.as_str(), script) {
        ("deploy" | "dev" | "versions upload" | "preview", Some(script)) if !inv.has("config") => {
            let leaf = Path::new(script).parent().unwrap_or(Path::new(""));
            resolved(&dir.join(leaf).join(leaf))
        }
        _ => dir.to_path_buf(),
    };
    let redirect = inv.command.is_some_and(|c| c.config_redirect);
    // With several `--config` (dev, types), the first is the Worker being run.
    let flag = inv.values("config").first().copied();
    let key = (search_from, flag.map(str::to_owned), redirect);
    let located = CACHE
        .with(|c| c.borrow().located.get(&key).cloned())
        .unwrap_or_else(|| {
            let found = crate::edge::files::find_config(&key.0, flag, redirect);
            CACHE.with(|c| c.borrow_mut().located.insert(key, found.clone()));
            found
        });
    let (found, redirected) = located?;
    if let Some(hit) = CACHE.with(|c| c.borrow().configs.get(&found).cloned()) {
        return Some(hit.map(|mut cfg| {
            cfg.redirected = redirected;
            cfg
        }));
    }
    let loaded = crate::edge::files::load_config_for_classifier(&found);
    CACHE.with(|c| c.borrow_mut().configs.insert(found, loaded.clone()));
    Some(loaded.map(|mut cfg| {
        cfg.redirected = redirected;
        cfg
    }))
}

/// wrangler's `isOpenNextProject(process.cwd())`: a `next.config.(m|c)?(ts|js)` and an
/// `open-next.config.(ts|js)` in the directory, and `@opennextjs/cloudflare` installed there.
fn is_open_next_project(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let next = names.iter().any(|n| {
        n.strip_prefix("next.config.")
            .is_some_and(|ext| matches!(ext, "ts" | "js" | "mts" | "mjs" | "cts" | "cjs"))
    });
    let open_next = names
        .iter()
        .any(|n| n == "open-next.config.ts" || n == "open-next.config.js");
    next && open_next
        && dir
            .join("node_modules/@opennextjs/cloudflare/package.json")
            .is_file()
}

/// The project's default config (an upward search from `dir`, no redirect), when it is not the
/// config in use (an unreadable one keeps every call production: its production Workers are
/// unknown).
fn default_config(
    dir: &Path,
    in_use: Option<&Result<Config, ConfigError>>,
) -> Option<Result<Config, ConfigError>> {
    let path = crate::edge::files::locate_config(dir, None, false)?;
    let in_use = match in_use {
        Some(Ok(c)) => Some(c.path.as_path()),
        Some(Err(e)) => Some(e.path.as_path()),
        None => None,
    };
    if in_use.is_some_and(|p| resolved(p) == resolved(&path)) {
        return None;
    }
    Some(crate::edge::files::load_config(&path))
}

/// The user's policy files, most important first: `$XDG_CONFIG_HOME/safe-wrangler/config.jsonc`,
/// then `~/.config/safe-wrangler/config.jsonc` under `$HOME` and under the home directory the
/// system's user database gives (which no environment variable can move, so an agent cannot
/// escape a `lock_project_policy` by pointing `XDG_CONFIG_HOME` or `HOME` elsewhere).
#[must_use]
pub fn user_policy_paths(env: &Env) -> Vec<PathBuf> {
    let key = (
        env.get("XDG_CONFIG_HOME").map(std::ffi::OsStr::to_owned),
        env.get("HOME").map(std::ffi::OsStr::to_owned),
    );
    if let Some(hit) = CACHE.with(|c| c.borrow().user_paths.get(&key).cloned()) {
        return hit;
    }
    let paths = user_policy_paths_uncached(env);
    CACHE.with(|c| c.borrow_mut().user_paths.insert(key, paths.clone()));
    paths
}

fn user_policy_paths_uncached(env: &Env) -> Vec<PathBuf> {
    let tail = "safe-wrangler/config.jsonc";
    let mut paths = Vec::new();
    if let Some(x) = env.get("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        paths.push(PathBuf::from(x).join(tail));
    }
    if let Some(home) = env.get("HOME").filter(|v| !v.is_empty()) {
        paths.push(PathBuf::from(home).join(".config").join(tail));
    }
    if let Some(home) = database_home() {
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

/// The home directory the system's user database gives this process's user
/// ([`crate::edge::userdb::my_home`]: `/etc/passwd` first, then the system call), looked up once.
fn database_home() -> Option<PathBuf> {
    if let Lookup::Done(hit) = CACHE.with(|c| c.borrow().home.clone()) {
        return hit;
    }
    at(5);
    let home = crate::edge::userdb::my_home();
    CACHE.with(|c| c.borrow_mut().home = Lookup::Done(home.clone()));
    home
}

/// The version of the wrangler that would run: the one the wrapper would exec
/// ([`crate::resolve::find_real`]), read from its npm package. Found as the package's
/// `bin/wrangler.js` (directly or through symlinks: npm's `.bin` and global installs), or as a
/// shell script that `exec`s one (pnpm's and npm's `cmd-shim` wrappers, a hand-written
/// `exec .../wrangler/bin/wrangler.js "$@"`). Anything else is [`classify::Wrangler::Unknown`],
/// which counts as wrangler 3 where 3 and 4 differ: no wrangler found, a script or binary we
/// cannot follow (volta's and asdf's shims), a package.json missing, unreadable, not JSON
/// (node reads none with a trailing comma) or without a version. Nothing is run: reading
/// `wrangler --version` would cost a node start-up on the wrapper's path.
fn installed_wrangler(world: &World, dir: &Path) -> classify::Wrangler {
    use classify::Wrangler;
    let unknown = |why: String| Wrangler::Unknown(crate::display::escape(&why));
    let Some(me) = world
        .exe
        .as_deref()
        .and_then(|e| crate::resolve::SelfId::of(e).ok())
    else {
        return unknown("safe-wrangler cannot inspect its own executable".into());
    };
    let Ok(real) = crate::resolve::find_real(
        world.env.get("SAFE_WRANGLER_REAL"),
        dir,
        world.env.get("PATH"),
        &me,
    ) else {
        return unknown("no wrangler found".into());
    };
    let manifest = match wrangler_package(&real) {
        Ok(dir) => dir.join("package.json"),
        Err(why) => return unknown(why),
    };
    let version = read_regular(&manifest)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).map_err(|e| e.to_string()))
        .and_then(|v| {
            v.get("version")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| "no \"version\"".to_owned())
        });
    let version = match version {
        Ok(v) => v,
        Err(e) => return unknown(format!("{}: {e}", manifest.display())),
    };
    match version.split('.').next().map(str::parse::<u32>) {
        Some(Ok(4)) => Wrangler::Four,
        Some(Ok(_)) => Wrangler::Other(crate::display::escape(&version)),
        _ => unknown(format!(
            "{}: the version {version:?} has no major number",
            manifest.display()
        )),
    }
}

/// The most of a wrapper script we read to find the wrangler it runs (a shim is a few lines).
const MAX_WRAPPER: u64 = 64 << 10;

/// The directory of the wrangler npm package `real` runs, or why it is not known.
fn wrangler_package(real: &Path) -> Result<PathBuf, String> {
    let package_of = |script: &Path| -> Option<PathBuf> {
        let canonical = std::fs::canonicalize(script).ok()?;
        canonical
            .ends_with("bin/wrangler.js")
            .then(|| Some(canonical.parent()?.parent()?.to_path_buf()))?
    };
    if let Some(package) = package_of(real) {
        return Ok(package);
    }
    let not_followed = || {
        format!(
            "{} is neither wrangler's bin/wrangler.js nor a script that execs it",
            real.display()
        )
    };
    let small = std::fs::metadata(real).is_ok_and(|m| m.len() <= MAX_WRAPPER);
    let text = small
        .then(|| read_regular(real).ok())
        .flatten()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|t| t.starts_with("#!"))
        .ok_or_else(not_followed)?;
    // `$basedir` is the directory the script was run from, as cmd-shim's wrappers set it.
    let basedir = real.parent().unwrap_or(Path::new("/"));
    let mut packages = Vec::new();
    for line in text.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("exec ") else {
            continue;
        };
        let target = shell_words(rest)
            .into_iter()
            .filter(|w| w.ends_with("/bin/wrangler.js"))
            .map(|w| {
                let tail = w
                    .strip_prefix("$basedir/")
                    .or_else(|| w.strip_prefix("${basedir}/"));
                match tail {
                    Some(tail) => basedir.join(tail),
                    None => PathBuf::from(w),
                }
            })
            .find(|p| p.is_absolute() && !p.as_os_str().to_string_lossy().contains('$'));
        match target.as_deref().and_then(package_of) {
            Some(package) => packages.push(package),
            None => return Err(not_followed()),
        }
    }
    packages.dedup();
    match packages.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(not_followed()),
    }
}

/// The words of a shell command line: blanks split, single and double quotes group (no
/// expansion; a word keeps any `$` it has, and is then not followed).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (_, c) => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
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

/// [`read_env_file`] at most once per path per process (the hook assesses many calls and
/// environments of one command line in one process).
fn read_env_file_cached(path: &Path) -> Result<Option<Vec<u8>>, String> {
    if let Some(hit) = CACHE.with(|c| c.borrow().env_files.get(path).cloned()) {
        return hit;
    }
    at(2);
    let read = read_env_file(path);
    CACHE.with(|c| {
        c.borrow_mut()
            .env_files
            .insert(path.to_path_buf(), read.clone())
    });
    read
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
    /// whole, or values whose expansion would stop wrangler. The core refuses the call.
    pub problem: Option<DotenvProblem>,
}

impl Dotenv {
    /// The contents read of a `.env` file wrangler would load (`None`: it loads none there).
    #[must_use]
    pub fn content(&self, path: &Path) -> Option<Vec<u8>> {
        self.files
            .iter()
            .find(|(f, _)| f == path)
            .map(|(_, c)| c.clone())
    }
}

/// Reads the `.env` files wrangler would load for `inv` run in `dir` (its `--env-file`s, else
/// `.env`, `.env.local` and, with `--env`, `.env.<env>` and `.env.<env>.local`; see
/// [`wrangler::dotenv`]), each once, and loads them as wrangler does. With `DOTENV_KEY` set,
/// dotenv loads an encrypted `<file>.vault` instead of a file that has one; we cannot read those.
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
        let vault_path = PathBuf::from(vault_path);
        if vault && vault_path.exists() {
            out.problem = Some(DotenvProblem::Vault(vault_path));
            return out;
        }
        match read_env_file_cached(&path) {
            Ok(Some(content)) => out.files.push((path, content)),
            Ok(None) => {}
            Err(why) => {
                out.problem = Some(DotenvProblem::Unreadable { file: path, why });
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
        Err(wrangler::dotenv::Stuck(what)) => out.problem = Some(DotenvProblem::Stuck(what)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn exe(path: &Path, body: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn a_wrapper_script_is_followed_to_the_package_it_execs() {
        let t = tempfile::tempdir().unwrap();
        let package = t.path().join("lib/node_modules/wrangler");
        exe(&package.join("bin/wrangler.js"), "#!/usr/bin/env node\n");
        let absolute = t.path().join("bin/wrangler");
        exe(
            &absolute,
            &format!(
                "#!/bin/sh\nexec {}/bin/wrangler.js \"$@\"\n",
                package.display()
            ),
        );
        let canonical = std::fs::canonicalize(&package).unwrap();
        assert_eq!(wrangler_package(&absolute), Ok(canonical.clone()));
        let shim = t.path().join("lib/node_modules/.bin/wrangler");
        exe(
            &shim,
            "#!/bin/sh\nif [ -x \"$basedir/node\" ]; then\n  exec \"$basedir/node\"  \"$basedir/../wrangler/bin/wrangler.js\" \"$@\"\nelse\n  exec node  \"${basedir}/../wrangler/bin/wrangler.js\" \"$@\"\nfi\n",
        );
        assert_eq!(wrangler_package(&shim), Ok(canonical));
        // A target in a variable, two different targets, or no exec at all: not followed.
        for body in [
            "#!/bin/sh\nW=/x/bin/wrangler.js\nexec \"$W\" \"$@\"\n",
            "#!/bin/sh\nexec /a/bin/wrangler.js\nexec /b/bin/wrangler.js\n",
            "#!/bin/sh\nexec /home/u/.asdf/bin/asdf exec \"wrangler\" \"$@\"\n",
            "#!/bin/sh\n/usr/bin/node /x/bin/wrangler.js\n",
        ] {
            exe(&absolute, body);
            assert!(wrangler_package(&absolute).is_err(), "{body}");
        }
    }

    #[test]
    fn shell_words_group_quotes_and_keep_dollars() {
        assert_eq!(
            shell_words(r#""$basedir/node"  '$x y' a"b"c "$@""#),
            ["$basedir/node", "$x y", "abc", "$@"]
        );
    }
}
