//! Invocation (+ the environment's `CLOUDFLARE_ENV`) -> Operation. Pure.
//!
//! The rules, most decisive first; each has a stable id that appears in explain, refusals and
//! (later) the audit log:
//! - `unknown-shape`: argv we cannot read exactly as wrangler would (unknown command or flag,
//!   `-eproduction`, a repeated `--env`): production, fail closed;
//! - `temporary-account`: hidden `--temporary`/`--event-code` create an account and deploy with
//!   no credentials at all: production;
//! - `help-or-version`: `--help`/`--version` print and exit: local;
//! - `no-command`, `namespace-help`: bare `wrangler` or `wrangler d1` print help: local;
//! - `cmd:<path>`: the command's row in the generated table, adjusted by `--remote`/`--local`,
//!   `--dry-run` and `--push` as the row says.
//!
//! The environment is `--env`/`-e`, else `CLOUDFLARE_ENV`; `--env=` (empty) is the top level.
//! Target-aware downgrades (`deploy --env staging` is preview) need the project's config and
//! policy; until the classifier reads them, every remote write counts as production.

use serde::Serialize;

use crate::wrangler::Class;
use crate::wrangler::argv::Invocation;

/// What a call would do, and why we think so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operation {
    pub class: Class,
    /// The stable id of the rule that decided the class.
    pub rule: String,
    /// The command path (space-joined), or the unknown word.
    pub command: String,
    /// The target environment; empty for the top level.
    pub environment: String,
    /// Whether the class needs approval (production, migration, dns).
    pub production: bool,
    /// Whether the call talks to Cloudflare at all.
    pub remote: bool,
    /// Whether it cannot be undone.
    pub destructive: bool,
    /// One line saying why.
    pub why: String,
}

/// Classifies one call.
#[must_use]
pub fn classify(inv: &Invocation, cloudflare_env: Option<&str>) -> Operation {
    let environment = match inv.value("env") {
        Some(e) => e.to_owned(),
        None if inv.has("env") => String::new(),
        None => cloudflare_env.unwrap_or_default().to_owned(),
    };
    let command = if inv.path.is_empty() {
        inv.positionals.first().cloned().unwrap_or_default()
    } else {
        inv.path.clone()
    };
    let op = |class: Class, rule: &str, remote: bool, destructive: bool, why: String| Operation {
        class,
        rule: rule.to_owned(),
        command: command.clone(),
        environment: environment.clone(),
        production: class.needs_approval(),
        remote,
        destructive,
        why,
    };

    if !inv.problems.is_empty() {
        let what: Vec<String> = inv
            .problems
            .iter()
            .map(super::wrangler::argv::Problem::describe)
            .collect();
        return op(
            Class::Production,
            "unknown-shape",
            true,
            false,
            format!("{}: treated as production (fail closed)", what.join("; ")),
        );
    }
    if inv.boolean("temporary") == Some(true) || inv.has("event-code") {
        return op(
            Class::Production,
            "temporary-account",
            true,
            false,
            "--temporary creates a Cloudflare account and deploys with no credentials".to_owned(),
        );
    }
    if inv.boolean("help") == Some(true) || inv.boolean("version") == Some(true) {
        return op(
            Class::Local,
            "help-or-version",
            false,
            false,
            "prints help or the version".to_owned(),
        );
    }
    let Some(row) = inv.command else {
        let (rule, why) = if inv.path.is_empty() {
            ("no-command", "no command: wrangler prints its help")
        } else {
            (
                "namespace-help",
                "a command group alone: wrangler prints its help",
            )
        };
        return op(Class::Local, rule, false, false, why.to_owned());
    };

    let rule = format!("cmd:{}", row.path);
    let mut class = row.class;
    let mut why = format!("`{}` is {}", row.path, class.as_str());
    if row.local_by_default {
        let remote = inv.boolean("remote") == Some(true)
            || inv.boolean("local") == Some(false)
            || inv.boolean("preview") == Some(true);
        if remote {
            class = row.when_remote.unwrap_or(Class::Production);
            why = format!(
                "`{}` with --remote (or --local=false, --preview) is {}",
                row.path,
                class.as_str()
            );
        } else {
            why = format!("`{}` is local unless --remote", row.path);
        }
    }
    if row.local_flag_makes_local && inv.boolean("local") == Some(true) {
        class = Class::Local;
        why = format!("`{}` with --local targets a local dev session", row.path);
    }
    if let Some(dry) = row.when_dry_run
        && inv.boolean("dry-run") == Some(true)
    {
        class = dry;
        why = format!("`{}` with --dry-run changes nothing", row.path);
    }
    if row.push_makes_production && inv.boolean("push") == Some(true) {
        class = Class::Production;
        why = format!("`{}` with --push uploads an image", row.path);
    }
    let destructive = row.destructive && class != Class::Local && class != Class::Read;
    op(class, &rule, class != Class::Local, destructive, why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrangler::argv::parse;
    use std::ffi::OsString;

    /// One line per case: argv, `CLOUDFLARE_ENV`, expected class, expected environment.
    const CASES: &[(&str, Option<&str>, Class, &str)] = &[
        ("dev", None, Class::Local, ""),
        ("dev --remote", None, Class::Preview, ""),
        ("types", None, Class::Local, ""),
        ("whoami", None, Class::Read, ""),
        ("login", None, Class::Local, ""),
        ("logout", None, Class::Local, ""),
        ("auth token", None, Class::Production, ""),
        ("tail my-worker", None, Class::Read, ""),
        ("deployments list", None, Class::Read, ""),
        ("versions list", None, Class::Read, ""),
        ("versions upload", None, Class::Preview, ""),
        ("--help", None, Class::Local, ""),
        ("deploy --help", None, Class::Local, ""),
        ("--version", None, Class::Local, ""),
        ("-v", None, Class::Local, ""),
        ("", None, Class::Local, ""),
        ("d1", None, Class::Local, ""),
        ("deploy", None, Class::Production, ""),
        ("deploy --dry-run", None, Class::Local, ""),
        ("deploy --dryRun", None, Class::Local, ""),
        ("deploy --dry-run=false", None, Class::Production, ""),
        ("deploy --dry-run false", None, Class::Production, ""),
        ("deploy --no-dry-run", None, Class::Production, ""),
        ("deploy --env staging", None, Class::Production, "staging"),
        ("deploy", Some("staging"), Class::Production, "staging"),
        ("deploy --env=", Some("staging"), Class::Production, ""),
        (
            "deploy -e other",
            Some("staging"),
            Class::Production,
            "other",
        ),
        ("deploy --dry-run --temporary", None, Class::Production, ""),
        ("deploy -eproduction", None, Class::Production, ""),
        ("deploy --env a --env b", None, Class::Production, "b"),
        ("d1 migrations apply DB --local", None, Class::Local, ""),
        ("d1 migrations apply DB", None, Class::Local, ""),
        (
            "d1 migrations apply DB --remote",
            None,
            Class::Migration,
            "",
        ),
        (
            "d1 migrations apply DB --local=false",
            None,
            Class::Migration,
            "",
        ),
        (
            "d1 migrations apply DB --no-local",
            None,
            Class::Migration,
            "",
        ),
        (
            "d1 execute DB --remote --command x",
            None,
            Class::Migration,
            "",
        ),
        (
            "d1 execute DB --preview --remote --command x",
            None,
            Class::Migration,
            "",
        ),
        ("kv key put k v --binding KV", None, Class::Local, ""),
        (
            "kv key put k v --binding KV --local",
            None,
            Class::Local,
            "",
        ),
        (
            "kv key put k v --binding KV --remote",
            None,
            Class::Production,
            "",
        ),
        ("kv key get k --binding KV --remote", None, Class::Read, ""),
        (
            "r2 object put b/k --file f --remote",
            None,
            Class::Production,
            "",
        ),
        ("workflows list", None, Class::Read, ""),
        ("workflows trigger wf --local", None, Class::Local, ""),
        ("workflows trigger wf", None, Class::Production, ""),
        ("delete", None, Class::Production, ""),
        ("rollback", None, Class::Production, ""),
        ("secret put X", None, Class::Production, ""),
        ("triggers deploy", None, Class::Dns, ""),
        (
            "r2 bucket domain add b --domain x.example.com",
            None,
            Class::Dns,
            "",
        ),
        ("publish", None, Class::Production, ""),
        ("kv:namespace list", None, Class::Production, ""),
        ("--dry-run deploy", None, Class::Production, ""),
        ("deploy --frobnicate", None, Class::Production, ""),
        (
            "--env-file /dev/null deploy --dry-run",
            None,
            Class::Production,
            "",
        ),
        ("deploy -- --dry-run", None, Class::Production, ""),
        ("containers build . --push", None, Class::Production, ""),
        ("containers build .", None, Class::Local, ""),
    ];

    #[test]
    fn table() {
        for (line, cf_env, class, env) in CASES {
            let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
            let op = classify(&parse(&args), *cf_env);
            assert_eq!(op.class, *class, "{line:?}: {op:?}");
            assert_eq!(op.environment, *env, "{line:?}");
            assert_eq!(op.production, class.needs_approval(), "{line:?}");
        }
    }

    #[test]
    fn rules_are_named() {
        let op = classify(&parse(&[OsString::from("publish")]), None);
        assert_eq!(op.rule, "unknown-shape");
        let op = classify(&parse(&[OsString::from("deploy")]), None);
        assert_eq!(op.rule, "cmd:deploy");
        assert_eq!(op.command, "deploy");
    }
}
