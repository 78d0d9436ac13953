//! `instead:` suggestions: whole command lines built from the caller's own argv and config, each
//! run through the classifier and the policy before it is offered, so only commands that would
//! themselves run (in the same context) are shown. Pure.
//!
//! The candidates, in order:
//! - the same call on another environment the config defines that is not a production one
//!   (`--env` replaced or added), for commands that act on an environment's Worker;
//! - `versions upload` (a preview version, no traffic) with the caller's `--env`, `--config`,
//!   `--cwd` and script, for deploys;
//! - the same data command with `--remote` (or `--local=false`, `--preview`) replaced by `--local`;
//! - `pages deploy` on a preview branch.

use std::ffi::OsString;

use crate::classify::Operation;
use crate::context::Context;
use crate::core::assess::{self, Project};
use crate::policy::Decision;
use crate::wrangler::argv::{Invocation, parse};

/// The most suggestions shown.
const MAX: usize = 3;

/// Commands for which uploading a preview version is the safe counterpart.
const UPLOAD_INSTEAD: &[&str] = &["deploy", "versions deploy", "triggers deploy"];

/// Suggested argvs (without the program name) that would run in `ctx`.
#[must_use]
pub fn instead(
    args: &[OsString],
    inv: &Invocation,
    project: &Project,
    op: &Operation,
    ctx: &Context,
) -> Vec<Vec<String>> {
    let Some(words) = args
        .iter()
        .map(|a| a.to_str().map(str::to_owned))
        .collect::<Option<Vec<String>>>()
    else {
        return Vec::new();
    };
    let Some(row) = inv.command else {
        return Vec::new();
    };
    if !inv.problems.is_empty() {
        return Vec::new();
    }
    let end = inv.end_of_options.unwrap_or(words.len()).min(words.len());
    let mut candidates: Vec<Vec<String>> = Vec::new();
    // A version id belongs to one Worker: `versions ...` on another environment's Worker is not
    // the same call.
    if row.env_scoped && !row.path.starts_with("versions ") {
        for env in non_production_envs(project) {
            if env == op.environment {
                continue;
            }
            let (mut kept, at) = without(&words, end, &["env", "e"], true);
            kept.splice(at..at, ["--env".to_owned(), env.clone()]);
            candidates.push(kept);
        }
    }
    if UPLOAD_INSTEAD.contains(&row.path) {
        let mut upload = vec!["versions".to_owned(), "upload".to_owned()];
        upload.extend(kept_flags(&words, end));
        if row.path == "deploy"
            && let Some(script) = inv.positionals.first()
        {
            upload.push(script.clone());
        }
        candidates.push(upload);
    }
    if row.local_by_default && op.remote {
        let (mut local, at) = without(&words, end, &["remote", "local", "preview"], false);
        local.insert(at, "--local".to_owned());
        candidates.push(local);
    }
    if row.path == "pages deploy" {
        let (mut preview, at) = without(&words, end, &["branch"], true);
        preview.splice(at..at, ["--branch".to_owned(), "preview".to_owned()]);
        candidates.push(preview);
    }
    let mut out: Vec<Vec<String>> = Vec::new();
    for c in candidates {
        if out.len() < MAX && !out.contains(&c) && would_run(&c, project, ctx) {
            out.push(c);
        }
    }
    out
}

/// Whether `argv` would run here: classified with the same project and decided for the same
/// caller.
#[must_use]
pub fn would_run(words: &[String], project: &Project, ctx: &Context) -> bool {
    let args: Vec<OsString> = words.iter().map(OsString::from).collect();
    let inv = parse(&args);
    if !inv.problems.is_empty() {
        return false;
    }
    let op = assess::operation(&inv, project);
    if op.class.needs_approval() {
        return false;
    }
    matches!(
        assess::decide(&op, ctx, project, "").decision,
        Decision::Run { .. }
    )
}

/// The environments the config defines that the policy does not call production, sorted.
fn non_production_envs(project: &Project) -> Vec<String> {
    let Some(Ok(cfg)) = &project.config else {
        return Vec::new();
    };
    let Some(serde_json::Value::Object(envs)) = cfg.value.get("env") else {
        return Vec::new();
    };
    let production = &project.policy.targets.production_environments;
    let mut names: Vec<String> = envs
        .keys()
        .filter(|e| !e.is_empty() && !production.contains(e))
        .cloned()
        .collect();
    names.sort();
    names
}

/// `words` without the flags named (long `--x`, `--x=v`, `--no-x`, or a one-letter `-x`), with
/// their separate value when `takes_value` (or a `true`/`false` after a boolean). Only before
/// `end` (the user's `--`). Returns the words and where the options end now.
fn without(
    words: &[String],
    end: usize,
    names: &[&str],
    takes_value: bool,
) -> (Vec<String>, usize) {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    let mut new_end = 0;
    while i < words.len() {
        let w = &words[i];
        if i < end {
            let bare = if let Some(long) = w.strip_prefix("--") {
                Some(long.strip_prefix("no-").unwrap_or(long))
            } else if let Some(short) = w.strip_prefix('-') {
                (short.len() == 1 || short.as_bytes().get(1) == Some(&b'=')).then_some(short)
            } else {
                None
            };
            let (name, inline) = match bare {
                Some(b) => match b.split_once('=') {
                    Some((n, _)) => (Some(n), true),
                    None => (Some(b), false),
                },
                None => (None, false),
            };
            if let Some(n) = name
                && names.contains(&n)
            {
                i += 1;
                let next = words.get(i).filter(|_| i < end && !inline);
                let swallow = match next {
                    Some(v) if takes_value => !v.starts_with('-'),
                    Some(v) => v == "true" || v == "false",
                    None => false,
                };
                if swallow {
                    i += 1;
                }
                continue;
            }
        }
        if i < end {
            new_end = out.len() + 1;
        }
        out.push(w.clone());
        i += 1;
    }
    let at = if end >= words.len() {
        out.len()
    } else {
        new_end
    };
    (out, at)
}

/// The caller's `--env`, `--config`, `--cwd` (and their short forms) with their values.
fn kept_flags(words: &[String], end: usize) -> Vec<String> {
    const KEEP: &[&str] = &["--env", "-e", "--config", "-c", "--cwd"];
    let mut out = Vec::new();
    let mut i = 0;
    while i < end {
        let w = &words[i];
        let name = w.split_once('=').map_or(w.as_str(), |(n, _)| n);
        if KEEP.contains(&name) {
            out.push(w.clone());
            if !w.contains('=')
                && let Some(v) = words.get(i + 1).filter(|v| !v.starts_with('-'))
            {
                out.push(v.clone());
                i += 1;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn removes_flags_and_their_values() {
        let words = w("deploy --env production --dry-run=false -e=x --env-file .env");
        let (out, at) = without(&words, words.len(), &["env", "e"], true);
        assert_eq!(out, w("deploy --dry-run=false --env-file .env"));
        assert_eq!(at, out.len());
        let words = w("d1 execute DB --remote --command x -- --remote");
        let (out, at) = without(&words, 5, &["remote", "local", "preview"], false);
        assert_eq!(out, w("d1 execute DB --command x -- --remote"));
        assert_eq!(at, 4);
        let words = w("d1 execute DB --remote true --local=false --no-local");
        let (out, _) = without(&words, words.len(), &["remote", "local"], false);
        assert_eq!(out, w("d1 execute DB"));
    }

    #[test]
    fn keeps_env_config_and_cwd() {
        let words = w("deploy --env staging -c other.toml --cwd=sub --minify");
        assert_eq!(
            kept_flags(&words, words.len()),
            w("--env staging -c other.toml --cwd=sub")
        );
    }
}
