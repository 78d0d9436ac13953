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
use crate::wrangler::config::{Config, ConfigError};

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
    /// Config facts that mattered ("routes inherited from the top level: ...").
    pub facts: Vec<String>,
    /// The route patterns a deploy would publish (from the command line, else the config).
    pub routes: Vec<String>,
}

/// Which targets count as production (the policy file can change these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// Environment names whose remote writes are production; "" is the top level.
    pub production_environments: Vec<String>,
    /// Pages branches whose deploys are production.
    pub pages_production_branches: Vec<String>,
}

impl Default for Targets {
    fn default() -> Targets {
        Targets {
            production_environments: vec![String::new(), "production".into(), "prod".into()],
            // `production` is what wrangler suggests as the production branch when it cannot
            // read one from git; the real one is the Pages project's setting on Cloudflare.
            pages_production_branches: vec![
                "main".into(),
                "master".into(),
                "production".into(),
                "prod".into(),
            ],
        }
    }
}

/// Commands whose class depends on the wrangler config (routes, bindings).
const CONFIG_DEPENDENT: &[&str] = &["deploy", "triggers deploy", "dev"];

/// Whether classifying this call needs the wrangler config read.
#[must_use]
pub fn needs_config(inv: &Invocation) -> bool {
    inv.problems.is_empty()
        && (CONFIG_DEPENDENT.contains(&inv.path.as_str())
            || inv.command.is_some_and(|c| c.env_scoped))
}

/// The classifier's rules. Ids are stable: explain, refusals, the audit log and the corpus
/// (`tests/cases/*.cases`, `rule=`) name them; a test fails when one has no corpus case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The command table's class for the command (`cmd:<path>`).
    Cmd(&'static str),
    /// The table's class for the command with `--remote` (`cmd:<path> --remote`).
    CmdRemote(&'static str),
    UnknownShape,
    TemporaryAccount,
    TypescriptConfig,
    HelpOrVersion,
    NoCommand,
    NamespaceHelp,
    DryRun,
    LocalFlag,
    Push,
    D1SqlFile,
    D1SqlRead,
    D1SqlWrite,
    CheckStartupArgs,
    PagesPreviewBranch,
    PagesProductionBranch,
    PagesNoBranch,
    DevNamedTunnel,
    DevQuickTunnel,
    DevRemoteBinding,
    ConfigUnreadable,
    NonProductionEnvironment,
    CliRoutes,
    DispatchNamespace,
    ConfigRoutes,
    EmailAddresses,
    DeletedClasses,
    TransferredClasses,
    Workflows,
}

impl Rule {
    /// Every rule besides the per-command ones.
    pub const FIXED: [Rule; 28] = [
        Rule::UnknownShape,
        Rule::TemporaryAccount,
        Rule::TypescriptConfig,
        Rule::HelpOrVersion,
        Rule::NoCommand,
        Rule::NamespaceHelp,
        Rule::DryRun,
        Rule::LocalFlag,
        Rule::Push,
        Rule::D1SqlFile,
        Rule::D1SqlRead,
        Rule::D1SqlWrite,
        Rule::CheckStartupArgs,
        Rule::PagesPreviewBranch,
        Rule::PagesProductionBranch,
        Rule::PagesNoBranch,
        Rule::DevNamedTunnel,
        Rule::DevQuickTunnel,
        Rule::DevRemoteBinding,
        Rule::ConfigUnreadable,
        Rule::NonProductionEnvironment,
        Rule::CliRoutes,
        Rule::DispatchNamespace,
        Rule::ConfigRoutes,
        Rule::EmailAddresses,
        Rule::DeletedClasses,
        Rule::TransferredClasses,
        Rule::Workflows,
    ];

    /// The stable id.
    #[must_use]
    pub fn id(self) -> String {
        match self {
            Rule::Cmd(path) => format!("cmd:{path}"),
            Rule::CmdRemote(path) => format!("cmd:{path} --remote"),
            fixed => fixed.fixed_id().to_owned(),
        }
    }

    fn fixed_id(self) -> &'static str {
        match self {
            Rule::Cmd(_) | Rule::CmdRemote(_) => "cmd",
            Rule::UnknownShape => "unknown-shape",
            Rule::TemporaryAccount => "temporary-account",
            Rule::TypescriptConfig => "typescript-config",
            Rule::HelpOrVersion => "help-or-version",
            Rule::NoCommand => "no-command",
            Rule::NamespaceHelp => "namespace-help",
            Rule::DryRun => "dry-run",
            Rule::LocalFlag => "local-flag",
            Rule::Push => "push",
            Rule::D1SqlFile => "d1-sql-file",
            Rule::D1SqlRead => "d1-sql-read",
            Rule::D1SqlWrite => "d1-sql-write",
            Rule::CheckStartupArgs => "check-startup-args",
            Rule::PagesPreviewBranch => "pages-preview-branch",
            Rule::PagesProductionBranch => "pages-production-branch",
            Rule::PagesNoBranch => "pages-no-branch",
            Rule::DevNamedTunnel => "dev-named-tunnel",
            Rule::DevQuickTunnel => "dev-quick-tunnel",
            Rule::DevRemoteBinding => "dev-remote-binding",
            Rule::ConfigUnreadable => "config-unreadable",
            Rule::NonProductionEnvironment => "non-production-environment",
            Rule::CliRoutes => "cli-routes",
            Rule::DispatchNamespace => "dispatch-namespace",
            Rule::ConfigRoutes => "config-routes",
            Rule::EmailAddresses => "email-addresses",
            Rule::DeletedClasses => "deleted-classes",
            Rule::TransferredClasses => "transferred-classes",
            Rule::Workflows => "workflows",
        }
    }
}

/// The class so far: rules may lower it (a non-production target) before the severity rules
/// raise it; among raises the most severe wins.
struct Verdict {
    class: Class,
    rule: String,
    why: String,
}

impl Verdict {
    fn set(&mut self, class: Class, rule: Rule, why: String) {
        self.class = class;
        self.rule = rule.id();
        self.why = why;
    }
    fn raise(&mut self, class: Class, rule: Rule, why: String) {
        if class > self.class {
            self.set(class, rule, why);
        }
    }
}

/// Classifies one call. `config` is the wrangler config the call would use (when
/// [`needs_config`] asked for it): `None` when there is none.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn classify(
    inv: &Invocation,
    cloudflare_env: Option<&str>,
    name_override: Option<&str>,
    legacy_wrangler: bool,
    config: Option<&Result<Config, ConfigError>>,
    targets: &Targets,
) -> Operation {
    let environment = match inv.value("env") {
        Some(e) => e.to_owned(),
        None if inv.has("env") => String::new(),
        None => cloudflare_env.unwrap_or_default().to_owned(),
    };
    let command = if inv.path.is_empty() {
        inv.positionals
            .first()
            .map(|w| crate::display::redact_word(w))
            .unwrap_or_default()
    } else {
        inv.path.clone()
    };
    let mut facts = Vec::new();
    let mut routes = Vec::new();
    let op = |v: Verdict, destructive: bool, facts: Vec<String>, routes: Vec<String>| Operation {
        class: v.class,
        rule: v.rule,
        command: command.clone(),
        environment: environment.clone(),
        production: v.class.needs_approval(),
        remote: v.class != Class::Local,
        destructive: destructive && v.class > Class::Read,
        why: v.why,
        facts,
        routes,
    };
    let verdict = |class: Class, rule: Rule, why: String| Verdict {
        class,
        rule: rule.id(),
        why,
    };

    if !inv.problems.is_empty() {
        let what: Vec<String> = inv
            .problems
            .iter()
            .map(crate::wrangler::argv::Problem::describe)
            .collect();
        let why = format!("{}: treated as production (fail closed)", what.join("; "));
        return op(
            verdict(Class::Production, Rule::UnknownShape, why),
            false,
            facts,
            Vec::new(),
        );
    }
    if inv.boolean("temporary") == Some(true) || inv.has("event-code") {
        let why =
            "--temporary creates a Cloudflare account and deploys with no credentials".to_owned();
        return op(
            verdict(Class::Production, Rule::TemporaryAccount, why),
            false,
            facts,
            Vec::new(),
        );
    }
    if inv.boolean("experimental-new-config") == Some(true) {
        let why = "--x-new-config runs a TypeScript config we cannot read: treated as production"
            .to_owned();
        return op(
            verdict(Class::Production, Rule::TypescriptConfig, why),
            false,
            facts,
            Vec::new(),
        );
    }
    // `--help` anywhere prints help; `--version` only without a command (wrangler's catch-all
    // handler reads it; a command ignores it and runs).
    if inv.boolean("help") == Some(true)
        || (inv.path.is_empty() && inv.boolean("version") == Some(true))
    {
        return op(
            verdict(
                Class::Local,
                Rule::HelpOrVersion,
                "prints help or the version".into(),
            ),
            false,
            facts,
            Vec::new(),
        );
    }
    let Some(row) = inv.command else {
        let v = if inv.path.is_empty() {
            verdict(
                Class::Local,
                Rule::NoCommand,
                "no command: wrangler prints its help".into(),
            )
        } else {
            verdict(
                Class::Local,
                Rule::NamespaceHelp,
                "a command group alone: wrangler prints its help".into(),
            )
        };
        return op(v, false, facts, Vec::new());
    };

    let mut v = verdict(
        row.class,
        Rule::Cmd(row.path),
        format!("`{}` is {}", row.path, row.class.as_str()),
    );
    if let Some(dry) = row.when_dry_run
        && inv.boolean("dry-run") == Some(true)
    {
        let why = format!("`{}` with --dry-run changes nothing", row.path);
        return op(verdict(dry, Rule::DryRun, why), false, facts, Vec::new());
    }
    if row.local_by_default {
        // Before wrangler 4, kv, r2 and d1 data commands went to the remote resource unless told
        // `--local`: with an older wrangler installed, only an explicit --local is local.
        let data_command = ["kv ", "r2 ", "d1 "]
            .iter()
            .any(|p| row.path.starts_with(p));
        let legacy_remote = legacy_wrangler
            && data_command
            && row.when_remote.is_some()
            && inv.boolean("local") != Some(true);
        if legacy_remote {
            facts.push("the project's wrangler is not version 4: its data commands are remote unless --local".into());
        }
        let remote = legacy_remote
            || inv.boolean("remote") == Some(true)
            || inv.boolean("local") == Some(false)
            || inv.boolean("preview") == Some(true);
        if remote {
            let class = row.when_remote.unwrap_or(Class::Production);
            v.set(
                class,
                Rule::CmdRemote(row.path),
                format!("`{}` with --remote is {}", row.path, class.as_str()),
            );
        } else if row.class == Class::Local {
            v.why = format!("`{}` is local unless --remote", row.path);
        }
    }
    if row.local_flag_makes_local && inv.boolean("local") == Some(true) {
        v.set(
            Class::Local,
            Rule::LocalFlag,
            format!("`{}` with --local targets a local dev session", row.path),
        );
    }
    if row.push_makes_production && inv.boolean("push") == Some(true) {
        v.set(
            Class::Production,
            Rule::Push,
            format!("`{}` with --push uploads an image", row.path),
        );
    }
    let production_env = targets.production_environments.contains(&environment);

    match row.path {
        "d1 execute" if v.class == Class::Migration => {
            if inv.has("file") {
                v.set(
                    Class::Migration,
                    Rule::D1SqlFile,
                    "remote SQL from a file is treated as a migration".into(),
                );
            } else if inv.value("command").is_some_and(sql_is_read_only) {
                v.set(
                    Class::Read,
                    Rule::D1SqlRead,
                    "remote SQL that only reads (SELECT, EXPLAIN, PRAGMA)".into(),
                );
            } else {
                v.set(
                    Class::Migration,
                    Rule::D1SqlWrite,
                    "remote SQL that may write".into(),
                );
            }
        }
        // `--args` is handed to a real `wrangler deploy ... --dry-run`, where a `--` in it turns
        // the dry run off (verified: it deployed).
        "check startup" if inv.has("args") => v.set(
            Class::Production,
            Rule::CheckStartupArgs,
            "`check startup --args` runs a deploy with words we do not read".into(),
        ),
        "pages deploy" => match inv.value("branch").filter(|b| !b.is_empty()) {
            Some(b)
                if !targets
                    .pages_production_branches
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(b)) =>
            {
                v.set(
                    Class::Preview,
                    Rule::PagesPreviewBranch,
                    format!("Pages deploy to the non-production branch {b:?}"),
                );
            }
            Some(b) => v.set(
                Class::Production,
                Rule::PagesProductionBranch,
                format!("Pages deploy to the production branch {b:?}"),
            ),
            None => v.set(
                Class::Production,
                Rule::PagesNoBranch,
                "Pages deploy without --branch may go to the production branch".into(),
            ),
        },
        "dev"
            if v.class == Class::Local
                && inv.value("tunnel-name").is_some_and(|t| !t.is_empty()) =>
        {
            v.set(
                Class::Dns,
                Rule::DevNamedTunnel,
                "`dev --tunnel-name` joins a named Cloudflare Tunnel and serves its hostnames"
                    .into(),
            );
        }
        "dev" if v.class == Class::Local && inv.boolean("tunnel") == Some(true) => {
            v.set(
                Class::Preview,
                Rule::DevQuickTunnel,
                "`dev --tunnel` publishes the dev server on a public tunnel URL".into(),
            );
        }
        "dev" if v.class == Class::Local => match config {
            Some(Ok(cfg)) if cfg.effective(&environment).has_remote_binding() => {
                facts.push("a binding is marked \"remote\": true".into());
                v.set(
                    Class::Preview,
                    Rule::DevRemoteBinding,
                    "`dev` with a remote binding starts a remote proxy session".into(),
                );
            }
            Some(Err(e)) => {
                facts.push(format!("config unreadable: {e}"));
                v.set(
                    Class::Preview,
                    Rule::ConfigUnreadable,
                    "`dev` with an unreadable config may use remote bindings".into(),
                );
            }
            _ => {}
        },
        "deploy" | "triggers deploy" => v.set(
            Class::Production,
            Rule::Cmd(row.path),
            format!("`{}` publishes the Worker", row.path),
        ),
        _ => {}
    }
    if row.env_scoped
        && v.class == Class::Production
        && !row.destructive
        && !production_env
        && acts_on_a_non_production_worker(
            inv,
            name_override,
            &environment,
            config,
            targets,
            &mut facts,
        )
    {
        v.set(
            Class::Preview,
            Rule::NonProductionEnvironment,
            format!(
                "`{}` targets the non-production environment {environment:?}",
                row.path
            ),
        );
    }
    if matches!(row.path, "deploy" | "triggers deploy") {
        routes = deploy_raises(inv, row.path, &environment, config, &mut v, &mut facts);
    }
    op(v, row.destructive, facts, routes)
}

/// The Worker named explicitly: `--name`, else `WRANGLER_CI_OVERRIDE_NAME` (wrangler's order; the
/// config's name comes after both, see [`crate::core::assess::worker`]).
#[must_use]
pub fn explicit_worker<'a>(inv: &'a Invocation, name_override: Option<&'a str>) -> Option<&'a str> {
    inv.value("name")
        .filter(|n| !n.is_empty())
        .or(name_override.filter(|n| !n.is_empty()))
}

/// Whether the Worker a call acts on is known and is none of the production environments'
/// Workers: `--name`, `WRANGLER_CI_OVERRIDE_NAME` or an `[env.X] name` can point a "staging" call
/// at the production Worker, so without the config, or with any name override, it is not.
fn acts_on_a_non_production_worker(
    inv: &Invocation,
    name_override: Option<&str>,
    environment: &str,
    config: Option<&Result<Config, ConfigError>>,
    targets: &Targets,
    facts: &mut Vec<String>,
) -> bool {
    let Some(Ok(cfg)) = config else { return false };
    // A name given on the command line or by WRANGLER_CI_OVERRIDE_NAME can be any Worker, and the
    // config (which `--config` lets the caller choose) cannot tell whether it is a production one.
    if let Some(named) = explicit_worker(inv, name_override) {
        facts.push(format!(
            "the Worker is named explicitly ({named:?}): it may be a production Worker"
        ));
        return false;
    }
    // An environment that names its Worker itself can name any Worker, and the config may be one
    // the caller chose (`--config`): it cannot vouch for that name either.
    if let Some(own) = cfg
        .value
        .get("env")
        .and_then(|e| e.get(environment))
        .and_then(|e| e.get("name"))
        .and_then(serde_json::Value::as_str)
    {
        facts.push(format!(
            "[env.{environment}] names its Worker {own:?}: it may be a production Worker"
        ));
        return false;
    }
    let Some(worker) = cfg.worker_name(environment) else {
        return false;
    };
    let production: Vec<String> = targets
        .production_environments
        .iter()
        .filter_map(|e| cfg.worker_name(e))
        .collect();
    if production.contains(&worker) {
        facts.push(format!(
            "the Worker {worker:?} is a production environment's Worker"
        ));
        return false;
    }
    true
}

/// What a deploy publishes besides code: routes and custom domains (dns), Email Routing
/// addresses (dns), deleted Durable Object classes (migration), a dispatch namespace.
fn deploy_raises(
    inv: &Invocation,
    path: &str,
    environment: &str,
    config: Option<&Result<Config, ConfigError>>,
    v: &mut Verdict,
    facts: &mut Vec<String>,
) -> Vec<String> {
    let cli_routes: Vec<&str> = inv
        .values("routes")
        .into_iter()
        .chain(inv.values("domains"))
        .collect();
    let mut published: Vec<String> = cli_routes.iter().map(|r| (*r).to_owned()).collect();
    if !cli_routes.is_empty() {
        facts.push(format!(
            "routes from the command line: {}",
            cli_routes.join(", ")
        ));
        v.raise(
            Class::Dns,
            Rule::CliRoutes,
            "--route/--domain change traffic routing".into(),
        );
    }
    if inv.has("dispatch-namespace") {
        v.raise(
            Class::Production,
            Rule::DispatchNamespace,
            "deploys into a Workers for Platforms namespace".into(),
        );
    }
    match config {
        Some(Err(e)) => {
            facts.push(format!("config unreadable: {e}"));
            v.raise(
                Class::Production,
                Rule::ConfigUnreadable,
                format!("the config cannot be read, so its routes are unknown: {e}"),
            );
        }
        Some(Ok(cfg)) => {
            let eff = cfg.effective(environment);
            let (routes, inherited) = eff.routes();
            if !routes.is_empty() && cli_routes.is_empty() {
                published = routes.iter().map(|r| r.pattern.clone()).collect();
                let list: Vec<String> = routes.iter().map(ToString::to_string).collect();
                let from = if inherited {
                    "routes inherited from the top level"
                } else {
                    "routes"
                };
                facts.push(format!("{from}: {}", list.join(", ")));
                v.raise(
                    Class::Dns,
                    Rule::ConfigRoutes,
                    format!("`{path}` publishes {from} ({})", list.join(", ")),
                );
            }
            // What a deploy (not `triggers deploy`) does besides code, one row each: the config
            // fact, the class it raises to, the rule id and why.
            if path == "deploy" {
                let rows: [(Vec<String>, &str, Class, Rule, &str); 4] = [
                    (
                        eff.addresses(),
                        "email addresses",
                        Class::Dns,
                        Rule::EmailAddresses,
                        "deploy changes Email Routing rules",
                    ),
                    (
                        eff.deleted_classes(),
                        "deleted Durable Object classes",
                        Class::Migration,
                        Rule::DeletedClasses,
                        "deploy deletes Durable Object classes and their data",
                    ),
                    (
                        eff.transferred_classes(),
                        "transferred Durable Object classes",
                        Class::Migration,
                        Rule::TransferredClasses,
                        "deploy moves Durable Object classes and their data from another Worker",
                    ),
                    (
                        eff.workflows(),
                        "workflows (account-wide names)",
                        Class::Production,
                        Rule::Workflows,
                        "deploy claims account-wide Workflow names, which may belong to the production Worker",
                    ),
                ];
                for (found, what, class, rule, why) in rows {
                    if !found.is_empty() {
                        facts.push(format!("{what}: {}", found.join(", ")));
                        v.raise(class, rule, why.to_owned());
                    }
                }
            }
        }
        None => {}
    }
    published
}

/// Whether every statement of a SQL text only reads: `SELECT`, `EXPLAIN`, or a `PRAGMA` without
/// an assignment. Anything else (including `WITH`, which can end in a write) counts as a write.
#[must_use]
pub fn sql_is_read_only(sql: &str) -> bool {
    let statements = split_sql(sql);
    !statements.is_empty()
        && statements.iter().all(|stmt| {
            let upper = stmt.to_ascii_uppercase();
            let first = upper
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .find(|w| !w.is_empty())
                .unwrap_or("");
            match first {
                "SELECT" | "EXPLAIN" => true,
                "PRAGMA" => !stmt.contains('=') && !upper.contains('('),
                _ => false,
            }
        })
}

/// Statements of a SQL text with comments removed, split on `;` outside quotes.
pub(crate) fn split_sql(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Strings and SQLite's quoted identifiers: "x", `x`, [x].
            '\'' | '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                cur.push(c);
                for d in chars.by_ref() {
                    cur.push(d);
                    if d == close {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                cur.push(' ');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
                cur.push(' ');
            }
            ';' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrangler::argv::parse;
    use std::ffi::OsString;

    #[test]
    fn every_command_in_the_table_gets_a_class_from_its_row() {
        for row in crate::wrangler::COMMANDS {
            let args: Vec<OsString> = row.path.split(' ').map(OsString::from).collect();
            let op = classify(&parse(&args), None, None, false, None, &Targets::default());
            assert_eq!(op.command, row.path);
            assert!(
                op.rule.starts_with("cmd:") || op.rule.starts_with("pages-"),
                "{}: {}",
                row.path,
                op.rule
            );
            // Bare, every command is its row's class; `triggers deploy` is dns only when the config
            // (absent here) has routes.
            let expected = if row.path == "triggers deploy" {
                Class::Production
            } else {
                row.class
            };
            assert_eq!(op.class, expected, "{}", row.path);
        }
    }

    #[test]
    fn sql_reads() {
        for sql in [
            "SELECT 1",
            "select * from t; SELECT 2;",
            "EXPLAIN QUERY PLAN SELECT 1",
            "PRAGMA table_list",
            "-- c\nSELECT ';'",
        ] {
            assert!(sql_is_read_only(sql), "{sql}");
        }
        for sql in [
            "SELECT 1 AS [a--b]; DROP TABLE users",
            "SELECT 1 AS [a'b]; DROP TABLE users; SELECT 1 AS [c']",
            "DELETE FROM t",
            "SELECT 1; DROP TABLE t",
            "WITH x AS (SELECT 1) DELETE FROM t",
            "PRAGMA foreign_keys = OFF",
            "",
            "/* SELECT */ UPDATE t SET a=1",
            "PRAGMA optimize(0x10002)",
        ] {
            assert!(!sql_is_read_only(sql), "{sql}");
        }
    }

    #[test]
    fn rules_are_named() {
        let op = classify(
            &parse(&[OsString::from("publish")]),
            None,
            None,
            false,
            None,
            &Targets::default(),
        );
        assert_eq!(op.rule, "unknown-shape");
        let op = classify(
            &parse(&[OsString::from("deploy")]),
            None,
            None,
            false,
            None,
            &Targets::default(),
        );
        assert_eq!(op.rule, "cmd:deploy");
        assert_eq!(op.command, "deploy");
    }
}
