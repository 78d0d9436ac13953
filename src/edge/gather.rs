//! The gather step: every file and OS read one wrangler call needs, each file once, into a
//! [`Project`] value the pure core decides on ([`crate::core::assess`]).
//!
//! What is read depends only on the invocation and on the pure classification: the config only
//! when the class depends on it or a human must confirm, the installed wrangler's version only
//! for a data command not already `--local` (local work pays nothing for them).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::context::Env;
use crate::core::assess::Project;
use crate::credentials;
use crate::policy;
use crate::wrangler::argv::Invocation;
use crate::wrangler::config::{self, Config, ConfigError};
use crate::{World, classify, read_regular};

/// Each file read at most once per call.
#[derive(Default)]
struct Files(RefCell<HashMap<PathBuf, Option<Vec<u8>>>>);

impl Files {
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        self.0
            .borrow_mut()
            .entry(path.to_path_buf())
            .or_insert_with(|| read_regular(path).ok())
            .clone()
    }
}

/// Reads what `inv` needs from the world.
///
/// # Errors
/// A policy file that cannot be used (exit 78).
pub fn gather(world: &World, inv: &Invocation) -> Result<Project, policy::PolicyError> {
    let files = Files::default();
    let dir = resolved(&match inv.value("cwd") {
        Some(c) if !c.is_empty() => world.cwd.join(c),
        _ => world.cwd.clone(),
    });
    let policy = policy::load(&dir, &user_policy_paths(&world.env))?;
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
        && installed_wrangler_major(world, &dir).is_some_and(|major| major != 4);
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
        plan_files: crate::core::plan::PlanFiles::default(),
        grants: crate::core::grant::Grants::default(),
    };
    // The config is read only when the class depends on it or a human must confirm.
    if classify::needs_config(inv) || crate::core::assess::gated(inv, &project) {
        project.config = load_config(inv, &project.dir);
    }
    Ok(project)
}

/// What a plan needs besides the decision: the config (even for local work) and the local files
/// the plan shows: `d1 execute --file`, the D1 migrations directory, `secret bulk FILE` (names
/// only). Called for `plan` and for work that needs approval, never for ordinary local calls.
pub fn plan_inputs(inv: &Invocation, project: &mut Project) {
    if project.config.is_none() && inv.problems.is_empty() && inv.command.is_some() {
        project.config = load_config(inv, &project.dir);
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
    let found = config::locate(&search_from, flag, redirect)?;
    let redirected = redirect && config::locate(&search_from, flag, false).as_ref() != Some(&found);
    Some(config::load(&found).map(|mut cfg| {
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
