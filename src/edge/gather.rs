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
use crate::core::assess::Project;
use crate::credentials;
use crate::policy;
use crate::wrangler::argv::Invocation;
use crate::wrangler::config::{Config, ConfigError};
use crate::{World, classify, read_regular};

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
    /// `(directory, user policy files)` -> the policy.
    policies: HashMap<(PathBuf, Vec<PathBuf>), Result<policy::Policy, policy::PolicyError>>,
    /// `(XDG_CONFIG_HOME, HOME)` -> the user policy paths.
    user_paths: HashMap<(Option<std::ffi::OsString>, Option<std::ffi::OsString>), Vec<PathBuf>>,
    /// The user database's home directory (looked up at most once).
    home: Lookup<PathBuf>,
    /// `(search from, --config, redirect)` -> the config found and whether it was redirected.
    located: HashMap<SearchKey, Option<(PathBuf, bool)>>,
    /// A config file -> its parse.
    configs: HashMap<PathBuf, Result<Config, ConfigError>>,
    /// `(directory, SAFE_WRANGLER_REAL, PATH)` -> the installed wrangler's major version.
    majors: HashMap<
        (
            PathBuf,
            Option<std::ffi::OsString>,
            Option<std::ffi::OsString>,
        ),
        Option<u32>,
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

/// Each file read at most once per process.
struct Files;

impl Files {
    #[allow(clippy::unused_self)]
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        read_cached(path)
    }
}

/// Reads what `inv` needs from the world.
///
/// # Errors
/// A policy file that cannot be used (exit 78).
pub fn gather(world: &World, inv: &Invocation) -> Result<Project, policy::PolicyError> {
    let files = Files;
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
    let dotenv_env = cloudflare_env_from_dotenv(world, inv, &dir, &files);
    let cloudflare_env = match world.env.str("CLOUDFLARE_ENV").filter(|e| !e.is_empty()) {
        Some(e) => Some(e.to_owned()),
        None => dotenv_env,
    };
    // WRANGLER_CI_OVERRIDE_NAME renames the Worker; wrangler also fills it from the `.env` files
    // it loads (any value there counts: it is never downgraded to preview).
    let name_override = match world
        .env
        .str("WRANGLER_CI_OVERRIDE_NAME")
        .filter(|v| !v.is_empty())
    {
        Some(v) => Some(v.to_owned()),
        None if world
            .env
            .get("WRANGLER_CI_OVERRIDE_NAME")
            .is_some_and(|v| !v.is_empty()) =>
        {
            None
        }
        None => {
            let user_files = inv.values("env-file");
            let paths: Vec<PathBuf> = if user_files.is_empty() {
                credentials::default_env_files(&dir, env_file_selection(world, inv).as_deref())
            } else {
                user_files.iter().map(|f| dir.join(f)).collect()
            };
            paths
                .iter()
                .filter_map(|f| files.read(f))
                .find_map(|c| credentials::dotenv_value(&c, "WRANGLER_CI_OVERRIDE_NAME"))
                .filter(|v| !v.is_empty())
        }
    };
    // Only a data command not already --local can be moved by the version.
    let legacy_wrangler = inv
        .command
        .is_some_and(|c| c.local_by_default && c.when_remote.is_some())
        && inv.boolean("local") != Some(true)
        && cached_major(world, &dir).is_some_and(|major| major != 4);
    at(2);
    let dotenv = credentials::plan_dotenv(
        &inv.values("env-file"),
        &dir,
        env_file_selection(world, inv).as_deref(),
        |p| files.read(p),
    );
    let mut project = Project {
        dir,
        policy,
        env: world.env.clone(),
        cloudflare_env,
        name_override,
        legacy_wrangler,
        config: None,
        dotenv,
    };
    // The config is read only when the class depends on it or a human must confirm.
    if classify::needs_config(inv) || crate::core::assess::gated(inv, &project) {
        at(3);
        project.config = load_config(inv, &project.dir);
    }
    at(0);
    Ok(project)
}

/// [`policy::load`] once per directory and set of user files.
fn load_policy(dir: &Path, user_files: &[PathBuf]) -> Result<policy::Policy, policy::PolicyError> {
    let key = (dir.to_path_buf(), user_files.to_vec());
    if let Some(hit) = CACHE.with(|c| c.borrow().policies.get(&key).cloned()) {
        return hit;
    }
    at(1);
    let loaded = policy::load(dir, user_files);
    CACHE.with(|c| c.borrow_mut().policies.insert(key, loaded.clone()));
    loaded
}

/// [`installed_wrangler_major`] once per directory, `SAFE_WRANGLER_REAL` and `PATH`.
fn cached_major(world: &World, dir: &Path) -> Option<u32> {
    let key = (
        dir.to_path_buf(),
        world
            .env
            .get("SAFE_WRANGLER_REAL")
            .map(std::ffi::OsStr::to_owned),
        world.env.get("PATH").map(std::ffi::OsStr::to_owned),
    );
    if let Some(hit) = CACHE.with(|c| c.borrow().majors.get(&key).copied()) {
        return hit;
    }
    at(4);
    let major = installed_wrangler_major(world, dir);
    CACHE.with(|c| c.borrow_mut().majors.insert(key, major));
    major
}

/// The config wrangler would use for `inv`, from where wrangler searches for it.
fn load_config(inv: &Invocation, dir: &Path) -> Option<Result<Config, ConfigError>> {
    // wrangler searches for the config from the directory of a script argument (`path.dirname`;
    // also given as the hidden `--script` flag), else from the working directory.
    let script = inv
        .positionals
        .first()
        .map(String::as_str)
        .or_else(|| inv.value("script"));
    let search_from = match (inv.path.as_str(), script) {
        ("deploy" | "dev" | "versions upload" | "preview", Some(script)) if !inv.has("config") => {
            resolved(&dir.join(Path::new(script).parent().unwrap_or(Path::new(""))))
        }
        _ => dir.to_path_buf(),
    };
    let redirect = inv.command.is_some_and(|c| c.config_redirect);
    let flag = inv.value("config");
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

/// The home directory the system's user database gives this process's user, looked up once.
/// `/etc/passwd` is read first (a static binary cannot load NSS modules, and the file answers
/// without a socket round trip); the system call is the fallback for users it does not list
/// (LDAP, sss).
fn database_home() -> Option<PathBuf> {
    if let Lookup::Done(hit) = CACHE.with(|c| c.borrow().home.clone()) {
        return hit;
    }
    at(5);
    let uid = nix::unistd::getuid();
    let home = read_regular(Path::new("/etc/passwd"))
        .ok()
        .and_then(|text| passwd_home(&text, uid.as_raw()))
        .or_else(|| match nix::unistd::User::from_uid(uid) {
            Ok(Some(user)) => Some(user.dir),
            _ => None,
        });
    CACHE.with(|c| c.borrow_mut().home = Lookup::Done(home.clone()));
    home
}

/// The home directory of the first `/etc/passwd` entry for `uid` (as `getpwuid` answers from the
/// `files` source: the first matching line wins).
fn passwd_home(text: &[u8], uid: u32) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt as _;
    text.split(|b| *b == b'\n').find_map(|line| {
        let fields: Vec<&[u8]> = line.split(|b| *b == b':').collect();
        let [_, _, id, _, _, home, ..] = fields.as_slice() else {
            return None;
        };
        let id: u32 = std::str::from_utf8(id).ok()?.parse().ok()?;
        (id == uid && !home.is_empty()).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(home)))
    })
}

/// `CLOUDFLARE_ENV` as wrangler will see it when the real environment does not set it: wrangler
/// fills unset variables from the `.env` files it loads before it reads `CLOUDFLARE_ENV` (the
/// user's `--env-file`s, else `.env` and `.env.local`). Two files that disagree are read as the
/// top level, which is production unless the policy says otherwise (we do not guess dotenv's
/// precedence).
fn cloudflare_env_from_dotenv(
    world: &World,
    inv: &Invocation,
    dir: &Path,
    cache: &Files,
) -> Option<String> {
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
        .filter_map(|f| cache.read(f))
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
            .chain(crate::resolve::on_path(world.env.get("PATH"), "wrangler"));
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

#[cfg(test)]
mod tests {
    use super::passwd_home;
    use std::path::PathBuf;

    #[test]
    fn passwd_home_takes_the_first_entry_for_the_uid() {
        let text = b"root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nana:x:1000:1000::/home/ana:/bin/sh\nalias:x:1000:1000::/home/alias:/bin/sh\nnohome:x:1001:1001:::/bin/sh\n";
        assert_eq!(passwd_home(text, 0), Some(PathBuf::from("/root")));
        assert_eq!(passwd_home(text, 1000), Some(PathBuf::from("/home/ana")));
        assert_eq!(passwd_home(text, 1001), None);
        assert_eq!(passwd_home(text, 42), None);
    }
}
