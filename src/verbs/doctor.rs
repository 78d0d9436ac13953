//! `safe-wrangler doctor [--json]`: checks this shell and project against the safe-wrangler
//! checklist and says how to fix each failure. Exit 0 when nothing fails, 1 when something does.
//!
//! The checks ([`CHECKS`]) are pure functions over plain data (file contents, the environment,
//! what was found on PATH); [`run`] gathers that data at the edge and prints. What doctor echoes is
//! limited to variable names, file names and line numbers: a value read from a file or the
//! environment is never printed (not in `--json` either), and every file name and other echoed
//! text goes through [`secrets::redact`] and [`display::escape`].

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;
use serde_json::Value;

use crate::classify::{EnvKind, Targets};
use crate::context::Env;
use crate::credentials::{self, CREDENTIAL_VARS};
use crate::policy::{Policy, PolicyError};
use crate::wrangler::config::{self, Config, ConfigError};
use crate::{World, display, protect, resolve, secrets};

/// Every check, in the order run and printed, with what it is for. The ids are stable (scripts
/// and `--json` readers rely on them).
pub const CHECKS: &[(&str, &str)] = &[
    (
        "shim-first",
        "the first `wrangler` on PATH is safe-wrangler, so every call from a shell is guarded",
    ),
    (
        "npm-scripts",
        "package.json scripts call safe-wrangler, or node_modules/.bin/wrangler leads to it",
    ),
    (
        "env-credentials",
        "no Cloudflare credential is exported in this shell",
    ),
    (
        "shell-startup",
        "no shell start-up file sets a Cloudflare credential",
    ),
    (
        "project-secrets",
        "no .env, .dev.vars or wrangler config holds a credential, and the .env files are git-ignored",
    ),
    (
        "oauth-login",
        "a wrangler OAuth login exists, so local work needs no token",
    ),
    ("policy", "the policy file parses; what it approves"),
    (
        "production-targets",
        "which environments are production, and none inherits the top level's routes",
    ),
    (
        "grants",
        "the active break-glass grants (safe-wrangler grant), with their owner and expiry",
    ),
];

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Fail,
    /// Nothing wrong found, but something worth knowing (or that could not be checked).
    Info,
}

impl Status {
    /// The word printed in the checklist.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Fail => "FAIL",
            Status::Info => "info",
        }
    }
}

/// One line of the checklist. Every string is already escaped and free of secret values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    pub details: Vec<String>,
}

impl Check {
    fn new(id: &'static str, status: Status, summary: impl Into<String>) -> Check {
        Check {
            id,
            status,
            summary: summary.into(),
            fix: None,
            details: Vec::new(),
        }
    }
    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
    fn details(mut self, details: Vec<String>) -> Check {
        self.details = details;
        self
    }
}

/// Text read from a file or the environment, made safe to echo.
fn shown(text: &str) -> String {
    display::escape(&secrets::redact(text))
}

fn shown_path(path: &Path) -> String {
    shown(&path.to_string_lossy())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

// ---------------------------------------------------------------------------------------------
// Pure checks.

/// A `wrangler` found on PATH, in PATH order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnPath {
    pub path: PathBuf,
    /// The same file as this program (through symlinks) or a copy of it.
    pub is_safe_wrangler: bool,
}

/// `shim-first`: the first `wrangler` on PATH (absolute entries) is safe-wrangler. `found` is
/// `None` when this program's own executable cannot be inspected. `path_line` is the line
/// install.sh prints.
#[must_use]
pub fn shim_first(found: Option<&[OnPath]>, path_line: &str) -> Check {
    const ID: &str = "shim-first";
    let fix = format!(
        "put the shim first on PATH: add this line at the end of ~/.bashrc or ~/.zshrc (install.sh prints it) and open a new shell: {path_line}"
    );
    let Some(found) = found else {
        return Check::new(
            ID,
            Status::Fail,
            "cannot inspect safe-wrangler's own executable, so cannot tell it apart on PATH",
        )
        .fix("reinstall safe-wrangler with ./install.sh");
    };
    let details = found
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let what = if w.is_safe_wrangler {
                "safe-wrangler"
            } else {
                "the real wrangler (or another program)"
            };
            format!("{}. {}: {what}", i + 1, shown_path(&w.path))
        })
        .collect();
    match found.first() {
        None => Check::new(
            ID,
            Status::Fail,
            "no `wrangler` on PATH: the shim is not installed there",
        )
        .fix(fix)
        .details(details),
        Some(first) if first.is_safe_wrangler => Check::new(
            ID,
            Status::Ok,
            format!(
                "the first wrangler on PATH is safe-wrangler ({}), ahead of every other",
                shown_path(&first.path)
            ),
        )
        .details(details),
        Some(first) => {
            let later = found.iter().any(|w| w.is_safe_wrangler);
            let summary = format!(
                "the first wrangler on PATH is not safe-wrangler but {}{}",
                shown_path(&first.path),
                if later {
                    "; the shim comes later"
                } else {
                    "; the shim is not on PATH"
                }
            );
            Check::new(ID, Status::Fail, summary)
                .fix(fix)
                .details(details)
        }
    }
}

/// What `node_modules/.bin/wrangler` is, nearest the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalBin {
    Missing,
    /// It leads to safe-wrangler: the project is protected.
    SafeWrangler(PathBuf),
    /// It is the real wrangler (or anything else).
    Real(PathBuf),
}

/// A package.json: where, and its scripts (name, command) or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub shown: String,
    pub scripts: Result<Vec<(String, String)>, String>,
}

/// Whether a package.json script runs `wrangler` itself (not `safe-wrangler`), read by the agent
/// hook's shell reader ([`crate::shell::find_wrangler`]): every script line the hook sees as a
/// wrangler call (or cannot read with certainty while it mentions wrangler) is flagged here.
#[must_use]
pub fn calls_wrangler(command: &str) -> bool {
    crate::shell::find_wrangler(command)
        .iter()
        .any(|f| match f {
            crate::shell::Finding::Wrangler(inv) => !inv.guarded(),
            crate::shell::Finding::Uncertain { .. } => true,
        })
}

/// The scripts that ask a package runner for a wrangler other than 4 (`npx wrangler@3`), which
/// it fetches outside `node_modules/.bin`, where `protect` does not reach (the agent hook denies
/// such a line on the same fact); each is added to `details`.
fn other_versions(
    shown_package: &str,
    scripts: &[(String, String)],
    details: &mut Vec<String>,
) -> usize {
    let mut count = 0;
    for (name, cmd) in scripts {
        if let Some(version) = crate::shell::version_other_than_4(&crate::shell::read(cmd).findings)
        {
            count += 1;
            details.push(format!(
                "{shown_package}: scripts.{} runs wrangler@{}, not wrangler 4: a package runner fetches it outside node_modules/.bin, unguarded",
                shown(name),
                shown(&version)
            ));
        }
    }
    count
}

/// `npm-scripts`: no package.json script calls wrangler directly, unless the project is
/// protected (`node_modules/.bin/wrangler` leads to safe-wrangler, so they are guarded anyway).
#[must_use]
pub fn npm_scripts(package: Option<&Package>, bin: &LocalBin) -> Check {
    const ID: &str = "npm-scripts";
    let mut details = Vec::new();
    match bin {
        LocalBin::Missing => {}
        LocalBin::SafeWrangler(p) => details.push(format!(
            "{} leads to safe-wrangler (protected)",
            shown_path(p)
        )),
        LocalBin::Real(p) => details.push(format!(
            "{} is the real wrangler: `npx wrangler` and package.json scripts reach it unguarded; `safe-wrangler protect` makes it lead to safe-wrangler",
            shown_path(p)
        )),
    }
    let Some(package) = package else {
        let status = if matches!(bin, LocalBin::Real(_)) {
            Status::Info
        } else {
            Status::Ok
        };
        return Check::new(ID, status, "no package.json in this project").details(details);
    };
    let scripts = match &package.scripts {
        Ok(s) => s,
        Err(why) => {
            return Check::new(
                ID,
                Status::Fail,
                format!("{} cannot be read: {}", package.shown, shown(why)),
            )
            .fix("fix package.json (npm cannot run its scripts either)")
            .details(details);
        }
    };
    let direct: Vec<&str> = scripts
        .iter()
        .filter(|(_, cmd)| calls_wrangler(cmd))
        .map(|(name, _)| name.as_str())
        .collect();
    for name in &direct {
        details.push(format!(
            "{}: scripts.{} calls wrangler directly",
            package.shown,
            shown(name)
        ));
    }
    let pinned = other_versions(&package.shown, scripts, &mut details);
    let count = plural(direct.len(), "script calls", "scripts call");
    match bin {
        _ if direct.is_empty() => {
            let status = if matches!(bin, LocalBin::Real(_)) {
                Status::Info
            } else {
                Status::Ok
            };
            Check::new(
                ID,
                status,
                format!("no script in {} calls wrangler directly", package.shown),
            )
            .details(details)
        }
        LocalBin::SafeWrangler(_) if pinned > 0 => Check::new(
            ID,
            Status::Fail,
            format!(
                "{} wrangler at a version other than 4, fetched outside the protected node_modules/.bin",
                plural(pinned, "script runs", "scripts run")
            ),
        )
        .fix("run wrangler 4 in those scripts (`wrangler@4`, or the installed wrangler), or call safe-wrangler there")
        .details(details),
        LocalBin::SafeWrangler(_) => Check::new(
            ID,
            Status::Ok,
            format!(
                "{count} wrangler, which leads to safe-wrangler here (node_modules/.bin is protected)"
            ),
        )
        .details(details),
        // Protected once (the original is still kept beside it), then a single-package install
        // (`npm i wrangler@x`, `pnpm add`) put wrangler's own link back without a postinstall.
        LocalBin::Real(p)
            if p.parent()
                .is_some_and(|b| fs::symlink_metadata(b.join(crate::protect::ORIGINAL)).is_ok()) =>
        {
            Check::new(
                ID,
                Status::Fail,
                format!("{count} wrangler, and node_modules/.bin lost its protection (a single-package install such as `npm i wrangler@x` restores wrangler's own link and skips postinstall)"),
            )
            .fix("safe-wrangler protect")
            .details(details)
        }
        _ => Check::new(
            ID,
            Status::Fail,
            format!("{count} wrangler directly, bypassing safe-wrangler (npm puts node_modules/.bin first on PATH)"),
        )
        .fix("call safe-wrangler in those scripts (e.g. \"deploy\": \"safe-wrangler deploy\"; `safe-wrangler scripts --write` adds the brokered ones), or run `safe-wrangler protect` so node_modules/.bin/wrangler leads to safe-wrangler")
        .details(details),
    }
}

/// `env-credentials`: no Cloudflare credential in this environment: none of
/// [`CREDENTIAL_VARS`], none of `token_vars` (the policy's CI token variables, credentials by
/// another name), and no other variable whose value alone is a recognisable Cloudflare
/// credential (scannable tokens, Origin CA keys). Names variables only.
#[must_use]
pub fn env_credentials(env: &Env, token_vars: &[&str]) -> Check {
    const ID: &str = "env-credentials";
    let mut details: Vec<String> = CREDENTIAL_VARS
        .iter()
        .chain(token_vars.iter().filter(|v| !credentials::is_credential(v)))
        .filter(|v| env.is_set(v))
        .map(|v| format!("{} is set", shown(v)))
        .collect();
    for (name, value) in &env.0 {
        let name = name.to_string_lossy();
        if credentials::is_credential(&name) || token_vars.contains(&name.as_ref()) {
            continue;
        }
        if let Some(kind) = secrets::line_has_secret(&value.to_string_lossy()) {
            details.push(format!("{} holds a {kind}", shown(&name)));
        }
    }
    if details.is_empty() {
        return Check::new(
            ID,
            Status::Ok,
            "no Cloudflare credential is exported in this shell",
        );
    }
    Check::new(
        ID,
        Status::Fail,
        format!(
            "{} in this shell: any program you or an agent runs can use it",
            plural(details.len(), "Cloudflare credential is exported", "Cloudflare credentials are exported")
        ),
    )
    .fix("unset them and remove them from your shell start-up files; wrangler then uses your OAuth login (`wrangler login`); keep tokens in CI secrets")
    .details(details)
}

/// Whether a line of a shell, dotenv, TOML or JSON file gives a credential variable a non-empty
/// value, and which. Comment lines (`#`, `//`) and references (`$VAR`, `${VAR}`) do not count;
/// `export VAR`, `unset VAR`, `VAR=` and `"VAR": ""` do not either.
#[must_use]
pub fn assigned_credential(line: &str) -> Option<&'static str> {
    let t = line.trim_start();
    if t.starts_with('#') || t.starts_with("//") {
        return None;
    }
    // fish `set -gx VAR value` and csh `setenv VAR value`.
    let mut words = t.split_whitespace();
    if let Some("set" | "setenv") = words.next() {
        {
            let mut erase = false;
            let name = words.by_ref().find(|w| {
                if let Some(flags) = w.strip_prefix('-') {
                    erase |= matches!(flags, "-erase" | "-query" | "-names" | "-show")
                        || (!flags.starts_with('-') && flags.contains(['e', 'q', 'n', 'S']));
                    false
                } else {
                    true
                }
            });
            if let Some(var) = name.and_then(|n| CREDENTIAL_VARS.iter().find(|v| **v == n))
                && !erase
                && words.next().is_some_and(|v| !is_empty_value(v))
            {
                return Some(var);
            }
        }
    }
    let bytes = t.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for var in CREDENTIAL_VARS {
        let mut from = 0;
        while let Some(at) = t[from..].find(var).map(|i| i + from) {
            from = at + var.len();
            let before = at.checked_sub(1).map(|i| bytes[i]);
            if before.is_some_and(|b| ident(b) || b == b'$' || b == b'{') {
                continue;
            }
            if bytes.get(from).is_some_and(|b| ident(*b)) {
                continue;
            }
            let rest = t[from..].trim_start_matches(['"', '\'']).trim_start();
            let Some(value) = rest
                .strip_prefix('=')
                .filter(|r| !r.starts_with('='))
                .or_else(|| rest.strip_prefix(':'))
            else {
                continue;
            };
            if !is_empty_value(value.trim()) {
                return Some(var);
            }
        }
    }
    None
}

fn is_empty_value(v: &str) -> bool {
    let v = v.trim_end_matches([',', ';']).trim();
    v.is_empty() || matches!(v, "\"\"" | "''") || v.starts_with('#')
}

/// The findings of one file, line by line: `file:line VAR` for a credential variable given a
/// value, `file:line <kind>` for a credential-shaped value under any name.
fn scan_lines(shown_name: &str, content: &str) -> Vec<String> {
    content
        .lines()
        .enumerate()
        .filter_map(|(n, line)| {
            let what = assigned_credential(line)
                .map(|v| format!("{v} is given a value"))
                .or_else(|| {
                    secrets::line_has_secret(line)
                        .map(|k| format!("a credential-shaped value ({k})"))
                })?;
            Some(format!("{shown_name}:{}: {what}", n + 1))
        })
        .collect()
}

/// A file that was read: how to show its name, and its contents (never echoed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFile {
    pub shown: String,
    pub content: String,
}

/// `shell-startup`: no start-up file sets a credential or holds one.
#[must_use]
pub fn shell_startup(files: &[TextFile]) -> Check {
    const ID: &str = "shell-startup";
    let found: Vec<String> = files
        .iter()
        .flat_map(|f| scan_lines(&f.shown, &f.content))
        .collect();
    if found.is_empty() {
        let checked = if files.is_empty() {
            "none found".to_owned()
        } else {
            files
                .iter()
                .map(|f| f.shown.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Check::new(
            ID,
            Status::Ok,
            "no shell start-up file sets a Cloudflare credential",
        )
        .details(vec![format!("checked: {checked}")]);
    }
    Check::new(
        ID,
        Status::Fail,
        format!(
            "{} a Cloudflare credential in shell start-up files: every shell you open gets it",
            plural(found.len(), "line sets or holds", "lines set or hold")
        ),
    )
    .fix("delete those lines (and roll any token that was there); use `wrangler login` locally and CI secrets in CI")
    .details(found)
}

/// What a project file is for, which decides what is allowed in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `.env`, `.env.*`, `.dev.vars`, `.dev.vars.*`: read by wrangler, must be git-ignored.
    Dotenv,
    /// `.env.example` and the like: committed on purpose, may name variables only.
    Template,
    /// `.envrc` (direnv) and the wrangler config: committed or not, never a credential.
    Other,
}

/// Whether git ignores a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    Yes,
    No,
    /// Could not be checked, and why.
    Unknown(String),
}

/// A project file to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    pub file: TextFile,
    pub role: Role,
    /// For [`Role::Dotenv`] files.
    pub ignored: Option<Ignored>,
}

/// Suffixes (after `.env.` or `.dev.vars.`) of template files that are committed on purpose.
pub const TEMPLATE_SUFFIXES: &[&str] = &["example", "sample", "template"];

/// The role of a file in the project directory by its name, if doctor reads it.
#[must_use]
pub fn role_of(name: &str) -> Option<Role> {
    if name == ".envrc" {
        return Some(Role::Other);
    }
    let suffix = [".env", ".dev.vars"].iter().find_map(|base| {
        let rest = name.strip_prefix(base)?;
        if rest.is_empty() {
            Some("")
        } else {
            rest.strip_prefix('.')
        }
    })?;
    if TEMPLATE_SUFFIXES.contains(&suffix) {
        Some(Role::Template)
    } else {
        Some(Role::Dotenv)
    }
}

/// `project-secrets`: no project file holds a credential; `.env` files are git-ignored.
#[must_use]
pub fn project_secrets(files: &[ProjectFile]) -> Check {
    const ID: &str = "project-secrets";
    let mut failures = Vec::new();
    let mut unknown = Vec::new();
    for f in files {
        failures.extend(scan_lines(&f.file.shown, &f.file.content));
        match &f.ignored {
            Some(Ignored::No) => failures.push(format!(
                "{} is not git-ignored (or is already committed)",
                f.file.shown
            )),
            Some(Ignored::Unknown(why)) => unknown.push(format!(
                "could not check whether {} is git-ignored: {why}",
                f.file.shown
            )),
            Some(Ignored::Yes) | None => {}
        }
    }
    let checked = files
        .iter()
        .map(|f| f.file.shown.as_str())
        .collect::<Vec<_>>();
    let checked = format!(
        "checked: {}",
        if checked.is_empty() {
            "no .env, .dev.vars or wrangler config found".to_owned()
        } else {
            checked.join(", ")
        }
    );
    if !failures.is_empty() {
        let n = failures.len();
        failures.extend(unknown);
        failures.push(checked);
        return Check::new(
            ID,
            Status::Fail,
            format!(
                "{} in project files: wrangler loads .env files at start-up, and committed files leak",
                plural(n, "problem", "problems")
            ),
        )
        .fix("remove credentials from project files (roll any that were committed; templates like .env.example may name variables with no value), use `wrangler login` locally and CI secrets in CI, and add .env* and .dev.vars* to .gitignore")
        .details(failures);
    }
    let status = if unknown.is_empty() {
        Status::Ok
    } else {
        Status::Info
    };
    unknown.push(checked);
    Check::new(ID, status, "no credential in project files").details(unknown)
}

/// `oauth-login`: wrangler's stored login exists. Only its existence is checked; the file is
/// never read.
#[must_use]
pub fn oauth_login(file: Option<(&str, bool)>) -> Check {
    const ID: &str = "oauth-login";
    let fix =
        "run `wrangler login` in a terminal (it opens a browser); local work then needs no token";
    match file {
        None => Check::new(
            ID,
            Status::Fail,
            "HOME is not set, so wrangler's login cannot be found",
        )
        .fix(fix),
        Some((shown_file, true)) => Check::new(
            ID,
            Status::Ok,
            format!("a wrangler OAuth login exists ({shown_file})"),
        ),
        Some((shown_file, false)) => Check::new(
            ID,
            Status::Fail,
            format!("no wrangler OAuth login (looked for {shown_file})"),
        )
        .fix(fix),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items
            .iter()
            .map(|s| shown(s))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `policy`: the policy parses; which CI runs it approves for what.
#[must_use]
pub fn policy_check(loaded: &Result<Policy, PolicyError>) -> Check {
    const ID: &str = "policy";
    let policy = match loaded {
        Ok(p) => p,
        Err(e) => {
            return Check::new(
                ID,
                Status::Fail,
                format!("the policy file cannot be used: {}", shown(&e.to_string())),
            )
            .fix("fix the file: until then every wrangler call through safe-wrangler stops with exit 78");
        }
    };
    let mut details: Vec<String> = policy
        .sources
        .iter()
        .map(|p| format!("file: {}", shown_path(p)))
        .collect();
    if policy.approved_ci.is_empty() {
        details.push(
            "approved CI: none (production, migration and dns work needs a human at a terminal)"
                .to_owned(),
        );
    }
    let mut dns = Vec::new();
    for (i, rule) in policy.approved_ci.iter().enumerate() {
        let classes: Vec<String> = rule.classes.iter().map(|c| c.as_str().to_owned()).collect();
        let mut line = format!(
            "approved_ci[{i}]: {} {}, refs {}, classes {}",
            rule.provider.as_str(),
            shown(&rule.repository),
            list(&rule.refs),
            list(&classes)
        );
        if let Some(events) = &rule.events {
            let _ = write!(line, ", events {}", list(events));
        }
        if let Some(workflows) = &rule.workflows {
            let _ = write!(line, ", workflows {}", list(workflows));
        }
        if rule.oidc {
            line.push_str(", proven by an OIDC identity token");
        }
        details.push(line);
        if rule.classes.contains(&crate::wrangler::Class::Dns) {
            dns.push(format!("approved_ci[{i}]"));
        }
    }
    details.push(if dns.is_empty() {
        "dns work approved in CI: no".to_owned()
    } else {
        format!("dns work approved in CI: yes ({})", dns.join(", "))
    });
    let tokens = &policy.ci_tokens;
    let named: Vec<String> = [
        ("production", &tokens.production),
        ("migration", &tokens.migration),
        ("dns", &tokens.dns),
        ("preview", &tokens.preview),
    ]
    .into_iter()
    .filter_map(|(class, var)| var.as_ref().map(|v| format!("{class} from {}", shown(v))))
    .collect();
    if !named.is_empty() {
        details.push(format!("CI token variables: {}", named.join(", ")));
    }
    if policy.sources.is_empty() {
        return Check::new(
            ID,
            Status::Info,
            "no policy file: the defaults apply (no CI run is approved)",
        )
        .details(details);
    }
    let summary = format!(
        "the policy parses; it approves {}",
        plural(policy.approved_ci.len(), "CI rule", "CI rules")
    );
    Check::new(ID, Status::Ok, summary).details(details)
}

fn environment_name(env: &str) -> String {
    if env.is_empty() {
        "(top level)".to_owned()
    } else {
        shown(env)
    }
}

/// What the classifier itself says of `deploy --env <env>` in this config (the same function
/// explain and the wrapper call): "`deploy --env staging` is preview (non-production-environment)".
fn deploy_class(
    targets: &Targets,
    config: Option<&Result<Config, ConfigError>>,
    env: &str,
) -> String {
    let args: Vec<std::ffi::OsString> = vec!["deploy".into(), format!("--env={env}").into()];
    let op = crate::classify::classify(
        &crate::wrangler::argv::parse(&args),
        None,
        None,
        &crate::classify::Wrangler::Four,
        false,
        config,
        None,
        targets,
    );
    let shown_args = if env.is_empty() {
        "deploy".to_owned()
    } else {
        format!("deploy --env {}", shown(env))
    };
    format!(
        "`{shown_args}` is {} ({})",
        op.class.as_str(),
        shown(&op.rule)
    )
}

/// `production-targets`: which environments are production, and no `[env.X]` inherits the top
/// level's routes or custom domains (a deploy there would move production traffic to it).
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn production_targets(
    targets: &Targets,
    config: Option<&Result<Config, ConfigError>>,
    shown_config: &str,
) -> Check {
    const ID: &str = "production-targets";
    let production: Vec<String> = targets
        .production_environments
        .iter()
        .map(|e| environment_name(e))
        .collect();
    let mut details = vec![
        format!("production environments: {}", production.join(", ")),
        format!(
            "non-production environments: {}",
            list(&targets.preview_environments)
        ),
        format!(
            "Pages production branches: {}",
            list(&targets.pages_production_branches)
        ),
    ];
    let cfg = match config {
        None => {
            return Check::new(ID, Status::Info, "no wrangler config found").details(details);
        }
        Some(Err(e)) => {
            return Check::new(
                ID,
                Status::Fail,
                format!("the wrangler config cannot be read: {}", shown(&e.to_string())),
            )
            .fix("fix the config: safe-wrangler treats every deploy with an unreadable config as production")
            .details(details);
        }
        Some(Ok(cfg)) => cfg,
    };
    details.push(format!("config: {shown_config}"));
    let (top, _) = cfg.effective("").routes();
    if !top.is_empty() {
        details.push(format!(
            "top-level routes: {}",
            top.iter()
                .map(|r| shown(&r.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let envs: Vec<&String> = cfg
        .value
        .get("env")
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    if !targets.production_workers.is_empty() {
        details.push(format!(
            "production Workers: {}",
            list(&targets.production_workers)
        ));
    }
    details.push(format!(
        "(top level): production; {}",
        deploy_class(targets, config, "")
    ));
    let mut inheriting = Vec::new();
    let mut undeclared = Vec::new();
    for env in envs {
        let kind = match targets.environment_kind(env) {
            EnvKind::Production => "production",
            EnvKind::Preview => "not production",
            EnvKind::Undeclared => {
                undeclared.push(env.clone());
                "undeclared, so production"
            }
        };
        let deploy = deploy_class(targets, config, env);
        let (routes, inherited) = cfg.effective(env).routes();
        if inherited {
            inheriting.push(env.clone());
            details.push(format!(
                "env.{} ({kind}) inherits the top level's routes: {}; {deploy}",
                shown(env),
                routes
                    .iter()
                    .map(|r| shown(&r.to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            details.push(format!("env.{}: {kind}; {deploy}", shown(env)));
        }
    }
    let declare = (!undeclared.is_empty()).then(|| {
        let names: Vec<String> = undeclared.iter().map(|e| format!("{:?}", shown(e))).collect();
        format!(
            "in safe-wrangler.jsonc, add {} to \"production_environments\", or to \"preview_environments\" if not production",
            names.join(", ")
        )
    });
    if inheriting.is_empty() {
        if let Some(declare) = declare {
            return Check::new(
                ID,
                Status::Fail,
                format!(
                    "{} not declared: treated as production",
                    plural(undeclared.len(), "environment is", "environments are")
                ),
            )
            .fix(declare)
            .details(details);
        }
        return Check::new(
            ID,
            Status::Ok,
            "no environment inherits the top level's routes or custom domains",
        )
        .details(details);
    }
    let toml = cfg.path.extension().is_some_and(|e| e == "toml");
    let fixes: Vec<String> = inheriting
        .iter()
        .map(|env| {
            let env = shown(env);
            if toml {
                format!("add `routes = []` (or its own routes) under [env.{env}]")
            } else {
                format!("add `\"routes\": []` (or its own routes) to env.{env}")
            }
        })
        .collect();
    Check::new(
        ID,
        Status::Fail,
        format!(
            "{} the top level's routes or custom domains: a deploy there takes over production traffic",
            plural(inheriting.len(), "environment inherits", "environments inherit")
        ),
    )
    .fix(match declare {
        Some(declare) => format!("in {shown_config}: {}; {declare}", fixes.join("; ")),
        None => format!("in {shown_config}: {}", fixes.join("; ")),
    })
    .details(details)
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Report {
    #[must_use]
    pub fn new(checks: Vec<Check>) -> Report {
        Report {
            ok: checks.iter().all(|c| c.status != Status::Fail),
            checks,
        }
    }

    /// The checklist as text.
    #[must_use]
    pub fn text(&self, project: &str) -> String {
        let mut out = format!("safe-wrangler doctor: {project}\n");
        for c in &self.checks {
            let _ = writeln!(out, "{:<4}  {}: {}", c.status.label(), c.id, c.summary);
            for d in &c.details {
                let _ = writeln!(out, "        {d}");
            }
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "        fix: {fix}");
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        if failed == 0 {
            out.push_str("all checks passed\n");
        } else {
            let _ = writeln!(out, "{} failed", plural(failed, "check", "checks"));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The edge: gathering what the checks look at.

fn home(env: &Env) -> Option<PathBuf> {
    env.get("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// A path for display, with the home directory as `~`.
fn tilde(path: &Path, home: Option<&Path>) -> String {
    match home.and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) => format!("~/{}", shown_path(rest)),
        None => shown_path(path),
    }
}

fn is_executable_file(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The line install.sh prints, for where this binary is installed (`PREFIX/bin/safe-wrangler`),
/// else for the default prefix `~/.local`.
#[must_use]
pub fn path_line(exe: Option<&Path>, home: Option<&Path>) -> String {
    let prefix = exe
        .and_then(Path::parent)
        .filter(|bin| bin.file_name().is_some_and(|n| n == "bin"))
        .and_then(Path::parent)
        .filter(|prefix| prefix.join("lib/safe-wrangler/shims").is_dir());
    let prefix = match (prefix, home) {
        (Some(p), Some(h)) => match p.strip_prefix(h) {
            Ok(rest) if rest.as_os_str().is_empty() => "$HOME".to_owned(),
            Ok(rest) => format!("$HOME/{}", rest.to_string_lossy()),
            Err(_) => p.to_string_lossy().into_owned(),
        },
        (Some(p), None) => p.to_string_lossy().into_owned(),
        (None, _) => "$HOME/.local".to_owned(),
    };
    display::escape(&format!(
        "export PATH=\"{prefix}/lib/safe-wrangler/shims:{prefix}/bin:$PATH\""
    ))
}

fn wranglers_on_path(world: &World) -> Option<Vec<OnPath>> {
    let me = resolve::SelfId::of(world.exe.as_deref()?).ok()?;
    Some(
        resolve::on_path(world.env.get("PATH"), "wrangler")
            .filter(|p| is_executable_file(p))
            .map(|p| OnPath {
                is_safe_wrangler: me.is_me(&p),
                path: p,
            })
            .collect(),
    )
}

/// The project's root: the nearest directory from `cwd` up with a wrangler config or a
/// package.json, else `cwd`.
fn project_root(cwd: &Path) -> PathBuf {
    cwd.ancestors()
        .find(|d| {
            config::CONFIG_NAMES
                .iter()
                .chain(["package.json"].iter())
                .any(|n| d.join(n).is_file())
        })
        .unwrap_or(cwd)
        .to_owned()
}

/// A path relative to the project root, for display.
fn relative(path: &Path, root: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rest) => shown_path(rest),
        Err(_) => shown_path(path),
    }
}

fn read_text(path: &Path) -> Option<String> {
    fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The package.json npm would use here: the nearest from `cwd` up (in a monorepo it may sit
/// above the Worker's own directory).
fn package(root: &Path, cwd: &Path) -> Option<Package> {
    let path = crate::scripts::find_package(cwd)?;
    let shown_name = relative(&path, root);
    let scripts = match fs::read_to_string(&path) {
        Err(e) => Err(e.to_string()),
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Err(e) => Err(format!("not valid JSON: {e}")),
            Ok(v) => Ok(v
                .get("scripts")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default()),
        },
    };
    Some(Package {
        shown: shown_name,
        scripts,
    })
}

fn local_bin(world: &World, cwd: &Path) -> LocalBin {
    let Some(bin) = protect::find_bin_dir(cwd) else {
        return LocalBin::Missing;
    };
    let me = world
        .exe
        .as_deref()
        .and_then(|e| fs::canonicalize(e).ok())
        .and_then(|e| resolve::SelfId::of(&e).ok());
    let wrangler = bin.join("wrangler");
    if me.is_some_and(|me| protect::is_protected(&bin, &me)) {
        LocalBin::SafeWrangler(wrangler)
    } else {
        LocalBin::Real(wrangler)
    }
}

/// The shell start-up files under HOME that exist.
fn startup_files(env: &Env) -> Vec<TextFile> {
    let Some(home) = home(env) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = [
        ".bashrc",
        ".bash_profile",
        ".bash_login",
        ".profile",
        ".zshrc",
        ".zprofile",
        ".zshenv",
    ]
    .iter()
    .map(|n| home.join(n))
    .collect();
    let mut config_dirs = vec![home.join(".config")];
    if let Some(x) = env.get("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        config_dirs.insert(0, PathBuf::from(x));
    }
    for dir in config_dirs {
        let fish = dir.join("fish");
        for p in [fish.join("config.fish"), fish.join("fish_variables")] {
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
        let mut conf_d: Vec<PathBuf> = fs::read_dir(fish.join("conf.d"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "fish"))
            .collect();
        conf_d.sort();
        for p in conf_d {
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
    }
    paths
        .into_iter()
        .filter(|p| p.is_file())
        .filter_map(|p| {
            Some(TextFile {
                shown: tilde(&p, Some(&home)),
                content: read_text(&p)?,
            })
        })
        .collect()
}

fn find_program(env: &Env, name: &str) -> Option<PathBuf> {
    resolve::on_path(env.get("PATH"), name).find(|p| is_executable_file(p))
}

/// `git check-ignore -q` for one file, run in the project with the caller's environment minus
/// Cloudflare credentials.
fn git_ignored(git: Option<&Path>, env: &Env, root: &Path, file: &Path) -> Ignored {
    let Some(git) = git else {
        return Ignored::Unknown("git is not on PATH".to_owned());
    };
    let status = Command::new(git)
        .args(["check-ignore", "-q", "--"])
        .arg(file)
        .current_dir(root)
        .env_clear()
        .envs(
            env.0
                .iter()
                .filter(|(k, _)| k.to_str().is_none_or(|k| !credentials::is_credential(k)))
                .map(|(k, v)| (k, v)),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status.map(|s| s.code()) {
        Ok(Some(0)) => Ignored::Yes,
        Ok(Some(1)) => Ignored::No,
        Ok(Some(128)) => Ignored::Unknown("not a git repository".to_owned()),
        Ok(code) => Ignored::Unknown(format!(
            "git check-ignore failed ({})",
            code.map_or_else(|| "signal".to_owned(), |c| format!("exit {c}"))
        )),
        Err(e) => Ignored::Unknown(format!("cannot run git: {e}")),
    }
}

/// The `.env*`, `.dev.vars*` and `.envrc` files from `cwd` up to the project root, and the
/// wrangler configs in the root (plus the one wrangler would use, wherever it is).
fn project_files(world: &World, root: &Path, located: Option<&Path>) -> Vec<ProjectFile> {
    let git = find_program(&world.env, "git");
    let mut out = Vec::new();
    let dirs: Vec<&Path> = world
        .cwd
        .ancestors()
        .take_while(|d| d.starts_with(root))
        .collect();
    for dir in dirs {
        let mut entries: Vec<(String, PathBuf)> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                role_of(&name)?;
                Some((name, e.path()))
            })
            .collect();
        entries.sort();
        for (name, path) in entries {
            let Some(role) = role_of(&name) else { continue };
            if !path.is_file() {
                continue;
            }
            let Some(content) = read_text(&path) else {
                continue;
            };
            let ignored = (role == Role::Dotenv)
                .then(|| git_ignored(git.as_deref(), &world.env, root, &path));
            out.push(ProjectFile {
                file: TextFile {
                    shown: relative(&path, root),
                    content,
                },
                role,
                ignored,
            });
        }
    }
    let mut configs: Vec<PathBuf> = config::CONFIG_NAMES
        .iter()
        .map(|n| root.join(n))
        .filter(|p| p.is_file())
        .collect();
    if let Some(l) = located.filter(|l| l.is_file() && !configs.iter().any(|c| c == l)) {
        configs.push(l.to_owned());
    }
    for path in configs {
        if let Some(content) = read_text(&path) {
            out.push(ProjectFile {
                file: TextFile {
                    shown: relative(&path, root),
                    content,
                },
                role: Role::Other,
                ignored: None,
            });
        }
    }
    out
}

/// Where wrangler keeps the OAuth login (`../shared/wrangler/env.md`): `~/.wrangler` when that
/// legacy directory exists, else `$XDG_CONFIG_HOME/.wrangler` (default `~/.config`, macOS
/// `~/Library/Preferences`); then `config/<profile>.toml`, or `.enc` with the OS keyring. The
/// profile is `CLOUDFLARE_AUTH_PROFILE`, else `staging` for `WRANGLER_API_ENVIRONMENT=staging`,
/// else `default`.
#[must_use]
pub fn oauth_files(env: &Env) -> Option<[PathBuf; 2]> {
    let home = home(env)?;
    let legacy = home.join(".wrangler");
    let dir = if legacy.is_dir() {
        legacy
    } else {
        let xdg = match env.get("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
            Some(x) => PathBuf::from(x),
            None if cfg!(target_os = "macos") => home.join("Library/Preferences"),
            None => home.join(".config"),
        };
        xdg.join(".wrangler")
    };
    let profile = match env.str("CLOUDFLARE_AUTH_PROFILE").filter(|p| !p.is_empty()) {
        Some(p) => p.to_owned(),
        None if env.str("WRANGLER_API_ENVIRONMENT") == Some("staging") => "staging".to_owned(),
        None => "default".to_owned(),
    };
    let base = dir.join("config");
    Some([
        base.join(format!("{profile}.toml")),
        base.join(format!("{profile}.enc")),
    ])
}

/// The active grants (issue 14): none is ok; each active one is listed (id, what, owner, expiry,
/// uses left); a store that is ignored is said, since it grants nothing.
#[must_use]
pub fn grants_check(grants: &crate::core::grant::Grants) -> Check {
    use crate::core::grant::Store;
    match &grants.store {
        Store::Absent => Check::new("grants", Status::Ok, "no active grants"),
        Store::Ignored(why) => Check::new(
            "grants",
            Status::Info,
            format!(
                "the grants store is ignored and grants nothing: {}",
                shown(why)
            ),
        )
        .fix("revoke by deleting it, or make it a plain file of yours with mode 600"),
        Store::Read(all) => {
            let active: Vec<_> = all
                .iter()
                .filter(|g| g.active(grants.now))
                .cloned()
                .collect();
            if active.is_empty() {
                return Check::new("grants", Status::Ok, "no active grants");
            }
            Check::new(
                "grants",
                Status::Info,
                format!(
                    "{} (end them with `safe-wrangler grant --revoke-all`)",
                    plural(active.len(), "active grant", "active grants")
                ),
            )
            .details(crate::verbs::grant::lines(&active, grants.now))
        }
    }
}

/// Gathers everything and runs every check, in [`CHECKS`] order.
#[must_use]
pub fn checks(world: &World) -> (PathBuf, Vec<Check>) {
    let env = &world.env;
    let home_dir = home(env);
    let root = project_root(&world.cwd);

    let loaded = crate::edge::policy_files::load(&world.cwd, &crate::user_policy_paths(env));
    let token_vars = loaded
        .as_ref()
        .map(|p| p.ci_tokens.variables())
        .unwrap_or_default();
    let environment = env_credentials(env, &token_vars);

    let shim = shim_first(
        wranglers_on_path(world).as_deref(),
        &path_line(world.exe.as_deref(), home_dir.as_deref()),
    );

    let scripts = npm_scripts(
        package(&root, &world.cwd).as_ref(),
        &local_bin(world, &world.cwd),
    );

    let located = crate::edge::files::locate_config(&world.cwd, None, false);
    let project = project_secrets(&project_files(world, &root, located.as_deref()));

    let oauth = oauth_files(env).map(|files| {
        let found = files
            .iter()
            .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0));
        let shown_file = tilde(found.unwrap_or(&files[0]), home_dir.as_deref());
        (shown_file, found.is_some())
    });
    let oauth = oauth_login(oauth.as_ref().map(|(s, f)| (s.as_str(), *f)));

    let policy_result = policy_check(&loaded);
    let targets = loaded.map(|p| p.targets).unwrap_or_default();
    let cfg = located.as_deref().map(crate::edge::files::load_config);
    let shown_config = located
        .as_deref()
        .map(|p| relative(p, &root))
        .unwrap_or_default();
    let production = production_targets(&targets, cfg.as_ref(), &shown_config);

    let checks = vec![
        shim,
        scripts,
        environment,
        shell_startup(&startup_files(env)),
        project,
        oauth,
        policy_result,
        production,
        grants_check(&crate::edge::grants::snapshot(env)),
    ];
    (root, checks)
}

/// Runs the verb: the checklist (or one JSON object) on stdout; exit 0 when nothing failed.
#[must_use]
pub fn run(world: &World, json: bool) -> u8 {
    let (root, checks) = checks(world);
    let report = Report::new(checks);
    if json {
        match serde_json::to_string(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("safe-wrangler: doctor: {e}");
                return 1;
            }
        }
    } else {
        print!("{}", report.text(&shown_path(&root)));
    }
    u8::from(!report.ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> String {
        format!("cfut_{}{}", "b".repeat(40), "89abcdef")
    }

    #[test]
    fn check_ids_are_stable_and_unique() {
        let ids: Vec<&str> = CHECKS.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids,
            [
                "shim-first",
                "npm-scripts",
                "env-credentials",
                "shell-startup",
                "project-secrets",
                "oauth-login",
                "policy",
                "production-targets",
                "grants"
            ]
        );
    }

    #[test]
    fn wrangler_calls_in_scripts() {
        for yes in [
            "wrangler deploy",
            "npx wrangler deploy",
            "npx --yes wrangler@4 deploy",
            "npm run build && wrangler deploy",
            "CLOUDFLARE_ENV=prod wrangler deploy",
            "pnpm exec wrangler d1 migrations apply DB --remote",
            "yarn wrangler deploy",
            "bun x wrangler deploy",
            "npm exec -- wrangler deploy",
            "./node_modules/.bin/wrangler deploy",
            "sh -c 'wrangler deploy'",
            "concurrently \"wrangler dev\" \"vite\"",
            "cross-env NODE_ENV=production wrangler deploy",
            "dotenv -e .env.prod -- wrangler deploy",
            "tsc; wrangler types",
            "(cd worker && wrangler deploy)",
            // The five spellings of issue 10: the hook's reader catches them all, so doctor does.
            "node node_modules/wrangler/bin/wrangler.js deploy",
            "wr''angler deploy",
            "timeout 60 wrangler deploy",
            "sudo -E wrangler deploy",
            // What the hook cannot rule out it counts (fail closed): doctor flags it too.
            "npm run wrangler",
            "node scripts/wrangler.js",
        ] {
            assert!(calls_wrangler(yes), "{yes}");
        }
        for no in [
            "safe-wrangler deploy",
            "npx safe-wrangler deploy",
            "vite build",
            "tsc --project wrangler",
            "echo use wrangler.toml",
            "",
        ] {
            assert!(!calls_wrangler(no), "{no}");
        }
    }

    #[test]
    fn credential_assignments() {
        for (line, var) in [
            ("CLOUDFLARE_API_TOKEN=abc", "CLOUDFLARE_API_TOKEN"),
            ("export CF_API_KEY=\"abc\"", "CF_API_KEY"),
            (
                "  declare -x CLOUDFLARE_EMAIL=me@example.com",
                "CLOUDFLARE_EMAIL",
            ),
            ("set -gx CLOUDFLARE_API_TOKEN abc", "CLOUDFLARE_API_TOKEN"),
            ("set -Ux CF_API_TOKEN abc", "CF_API_TOKEN"),
            ("setenv CF_EMAIL me@example.com", "CF_EMAIL"),
            (
                "SETUVAR --export CLOUDFLARE_API_TOKEN:abc",
                "CLOUDFLARE_API_TOKEN",
            ),
            ("CLOUDFLARE_API_TOKEN = \"abc\"", "CLOUDFLARE_API_TOKEN"),
            (
                "  \"CLOUDFLARE_API_TOKEN\": \"abc\",",
                "CLOUDFLARE_API_TOKEN",
            ),
            ("CLOUDFLARE_API_TOKEN: abc", "CLOUDFLARE_API_TOKEN"),
            (
                "export CLOUDFLARE_API_TOKEN=$(pass cf)",
                "CLOUDFLARE_API_TOKEN",
            ),
        ] {
            assert_eq!(assigned_credential(line), Some(var), "{line}");
        }
        for line in [
            "CLOUDFLARE_API_TOKEN=",
            "CLOUDFLARE_API_TOKEN=\"\"",
            "CLOUDFLARE_API_TOKEN= # set in CI",
            "\"CLOUDFLARE_API_TOKEN\": \"\",",
            "export CLOUDFLARE_API_TOKEN",
            "unset CLOUDFLARE_API_TOKEN",
            "set -e CLOUDFLARE_API_TOKEN",
            "# export CLOUDFLARE_API_TOKEN=abc",
            "// \"CLOUDFLARE_API_TOKEN\": \"abc\"",
            "curl -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\"",
            "echo ${CLOUDFLARE_API_TOKEN:-none}",
            "MY_CLOUDFLARE_API_TOKEN_NAME=abc",
            "[ \"$CF_API_TOKEN\" == x ]",
            "\"required\": [\"CLOUDFLARE_API_TOKEN\"]",
        ] {
            assert_eq!(assigned_credential(line), None, "{line}");
        }
    }

    #[test]
    fn roles_by_name() {
        assert_eq!(role_of(".env"), Some(Role::Dotenv));
        assert_eq!(role_of(".env.production"), Some(Role::Dotenv));
        assert_eq!(role_of(".dev.vars"), Some(Role::Dotenv));
        assert_eq!(role_of(".dev.vars.staging"), Some(Role::Dotenv));
        assert_eq!(role_of(".env.example"), Some(Role::Template));
        assert_eq!(role_of(".dev.vars.example"), Some(Role::Template));
        assert_eq!(role_of(".envrc"), Some(Role::Other));
        assert_eq!(role_of(".environment"), None);
        assert_eq!(role_of("env"), None);
        assert_eq!(role_of(".dev.varsx"), None);
    }

    fn file(shown: &str, content: &str, role: Role, ignored: Option<Ignored>) -> ProjectFile {
        ProjectFile {
            file: TextFile {
                shown: shown.into(),
                content: content.into(),
            },
            role,
            ignored,
        }
    }

    #[test]
    fn project_secrets_reports_locations_not_values() {
        let t = token();
        let files = [
            file(
                ".env",
                &format!("A=1\nTOKEN={t}\n"),
                Role::Dotenv,
                Some(Ignored::Yes),
            ),
            file(
                ".env.example",
                "CLOUDFLARE_API_TOKEN=\nCF_API_KEY=changeme\n",
                Role::Template,
                None,
            ),
            file(".dev.vars", "B=2\n", Role::Dotenv, Some(Ignored::No)),
            file(
                ".env.local",
                "B=2\n",
                Role::Dotenv,
                Some(Ignored::Unknown("not a git repository".into())),
            ),
        ];
        let c = project_secrets(&files);
        assert_eq!(c.status, Status::Fail);
        let all = format!("{c:?}");
        assert!(!all.contains(&t) && !all.contains("changeme"), "{all}");
        assert!(
            c.details
                .contains(&".env:2: a credential-shaped value (cf-user-token)".to_owned())
        );
        assert!(
            c.details
                .contains(&".env.example:2: CF_API_KEY is given a value".to_owned())
        );
        assert!(
            c.details
                .iter()
                .any(|d| d.starts_with(".dev.vars is not git-ignored"))
        );
        assert!(
            c.details
                .iter()
                .any(|d| d.contains("could not check whether .env.local"))
        );

        let clean = [
            file(
                ".env.example",
                "CLOUDFLARE_API_TOKEN=\n",
                Role::Template,
                None,
            ),
            file(".env", "A=1\n", Role::Dotenv, Some(Ignored::Yes)),
        ];
        assert_eq!(project_secrets(&clean).status, Status::Ok);
        let unknown = [file(
            ".env",
            "A=1\n",
            Role::Dotenv,
            Some(Ignored::Unknown("x".into())),
        )];
        assert_eq!(project_secrets(&unknown).status, Status::Info);
    }

    #[test]
    fn env_credentials_names_variables_only() {
        let t = token();
        let env: Env = [
            ("CLOUDFLARE_API_TOKEN", "short-dummy"),
            ("CF_EMAIL", ""),
            ("CF_DEPLOY_TOKEN", t.as_str()),
            ("PATH", "/usr/bin"),
        ]
        .into_iter()
        .collect();
        let c = env_credentials(&env, &[]);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            c.details,
            [
                "CLOUDFLARE_API_TOKEN is set",
                "CF_DEPLOY_TOKEN holds a cf-user-token"
            ]
        );
        let all = format!("{c:?}");
        assert!(!all.contains("short-dummy") && !all.contains(&t));
        // A policy's CI token variable is a credential whatever its value looks like.
        let c = env_credentials(&env, &["CF_DEPLOY_TOKEN", "CF_D1_TOKEN"]);
        assert_eq!(
            c.details,
            ["CLOUDFLARE_API_TOKEN is set", "CF_DEPLOY_TOKEN is set"]
        );
        let clean: Env = [("PATH", "/usr/bin")].into_iter().collect();
        assert_eq!(env_credentials(&clean, &["CF_D1_TOKEN"]).status, Status::Ok);
    }

    #[test]
    fn shim_order() {
        let me = |p: &str| OnPath {
            path: p.into(),
            is_safe_wrangler: true,
        };
        let real = |p: &str| OnPath {
            path: p.into(),
            is_safe_wrangler: false,
        };
        let line = "export PATH=x";
        assert_eq!(
            shim_first(Some(&[me("/s/wrangler"), real("/r/wrangler")]), line).status,
            Status::Ok
        );
        let c = shim_first(Some(&[real("/r/wrangler"), me("/s/wrangler")]), line);
        assert_eq!(c.status, Status::Fail);
        assert!(c.summary.contains("the shim comes later"));
        assert!(c.fix.unwrap().contains(line));
        assert_eq!(shim_first(Some(&[]), line).status, Status::Fail);
        assert_eq!(shim_first(None, line).status, Status::Fail);
    }

    #[test]
    fn path_line_defaults_to_home_local() {
        assert_eq!(
            path_line(None, None),
            "export PATH=\"$HOME/.local/lib/safe-wrangler/shims:$HOME/.local/bin:$PATH\""
        );
    }

    #[test]
    fn npm_scripts_protection() {
        let pkg = Package {
            shown: "package.json".into(),
            scripts: Ok(vec![
                ("deploy".into(), "wrangler deploy".into()),
                ("dev".into(), "safe-wrangler dev".into()),
            ]),
        };
        let c = npm_scripts(Some(&pkg), &LocalBin::Missing);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            c.details,
            ["package.json: scripts.deploy calls wrangler directly"]
        );
        let protected = LocalBin::SafeWrangler("node_modules/.bin/wrangler".into());
        assert_eq!(npm_scripts(Some(&pkg), &protected).status, Status::Ok);
        // Protection does not reach a wrangler a runner fetches at another version; the same
        // fact the agent hook denies on (`Invocation::versions`).
        for (script, version) in [
            ("npx wrangler@3 deploy", "3"),
            ("pnpm dlx wrangler@^3.1 deploy", "^3.1"),
            ("npx -p wrangler@2 wrangler deploy", "2"),
            ("npx wr''angler@3 deploy", "3"),
        ] {
            let pinned = Package {
                shown: "package.json".into(),
                scripts: Ok(vec![("old".into(), script.into())]),
            };
            let c = npm_scripts(Some(&pinned), &protected);
            assert_eq!(c.status, Status::Fail, "{script}");
            assert!(
                c.details
                    .iter()
                    .any(|d| d.contains(&format!("scripts.old runs wrangler@{version},"))),
                "{script}: {:?}",
                c.details
            );
        }
        let four = Package {
            shown: "package.json".into(),
            scripts: Ok(vec![("ok".into(), "npx wrangler@4 deploy".into())]),
        };
        assert_eq!(npm_scripts(Some(&four), &protected).status, Status::Ok);
        let real = LocalBin::Real("node_modules/.bin/wrangler".into());
        assert_eq!(npm_scripts(Some(&pkg), &real).status, Status::Fail);
        let clean = Package {
            shown: "package.json".into(),
            scripts: Ok(vec![("dev".into(), "safe-wrangler dev".into())]),
        };
        assert_eq!(
            npm_scripts(Some(&clean), &LocalBin::Missing).status,
            Status::Ok
        );
        assert_eq!(npm_scripts(Some(&clean), &real).status, Status::Info);
        assert_eq!(npm_scripts(None, &LocalBin::Missing).status, Status::Ok);
    }

    #[test]
    fn inherited_routes_fail() {
        let cfg = Config {
            path: "wrangler.toml".into(),
            redirected: false,
            value: serde_json::json!({
                "name": "shop",
                "routes": [{"pattern": "api.example.com", "custom_domain": true}],
                "env": { "staging": { "route": "staging.example.com/*" }, "qa": { "routes": [] } }
            })
            .into(),
        };
        let c = production_targets(&Targets::default(), Some(&Ok(cfg)), "wrangler.toml");
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.details
                .iter()
                .any(|d| d.starts_with("env.staging (not production) inherits"))
        );
        assert!(c.details.contains(
            &"env.qa: not production; `deploy --env qa` is preview (non-production-environment)"
                .to_owned()
        ));
        assert!(
            c.fix
                .unwrap()
                .contains("`routes = []` (or its own routes) under [env.staging]")
        );
        assert_eq!(
            production_targets(&Targets::default(), None, "").status,
            Status::Info
        );
    }

    #[test]
    fn undeclared_environments_fail_with_the_line_that_declares_them() {
        let cfg = Config {
            path: "wrangler.toml".into(),
            redirected: false,
            value: serde_json::json!({
                "name": "fil",
                "env": { "mainnet": {}, "calibration": { "name": "fil-calibration" }, "dev": {} }
            })
            .into(),
        };
        let c = production_targets(&Targets::default(), Some(&Ok(cfg)), "wrangler.toml");
        assert_eq!(c.status, Status::Fail);
        assert!(c.details.contains(
            &"env.mainnet: undeclared, so production; `deploy --env mainnet` is production (undeclared-environment)"
                .to_owned()
        ));
        assert!(c.details.contains(
            &"env.dev: not production; `deploy --env dev` is preview (non-production-environment)"
                .to_owned()
        ));
        assert_eq!(
            c.fix.as_deref(),
            Some(
                "in safe-wrangler.jsonc, add \"mainnet\", \"calibration\" to \"production_environments\", or to \"preview_environments\" if not production"
            )
        );
    }

    #[test]
    fn checks_run_in_the_documented_order() {
        let dir = tempfile::tempdir().unwrap();
        let world = World {
            argv: Vec::new(),
            env: [("HOME", dir.path().as_os_str())].into_iter().collect(),
            cwd: dir.path().to_owned(),
            exe: None,
        };
        let (root, checks) = checks(&world);
        assert_eq!(root, dir.path());
        let ids: Vec<&str> = checks.iter().map(|c| c.id).collect();
        let documented: Vec<&str> = CHECKS.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, documented);
        // No PATH, no own executable, no login: those fail; the rest is fine or informational.
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.id)
            .collect();
        assert_eq!(failed, ["shim-first", "oauth-login"]);
    }

    #[test]
    fn report_ok_only_without_failures() {
        let info = Check::new("policy", Status::Info, "x");
        assert!(Report::new(vec![info.clone()]).ok);
        let fail = Check::new("policy", Status::Fail, "y").fix("z");
        let r = Report::new(vec![info, fail]);
        assert!(!r.ok);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["checks"][0]["status"], "info");
        assert!(v["checks"][0].get("fix").is_none());
        assert_eq!(v["checks"][1]["fix"], "z");
        assert!(r.text("/p").contains("FAIL  policy: y\n        fix: z\n"));
    }
}
