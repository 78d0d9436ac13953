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

use crate::secrets::redact;
use crate::wrangler::Class;
use crate::wrangler::argv::Invocation;
use crate::wrangler::config::{Config, ConfigError, UNCOMPARABLE, WORKER};

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
    /// The route patterns a deploy would publish (from the command line, else the config), as
    /// they may be shown and logged: credentials redacted (`--route <token>.example.com/x`).
    /// Only shown (explain, the audit log), never decided on.
    pub routes: Vec<String>,
}

/// Which targets count as production (the policy file can change these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// Environment names whose remote writes are production; "" is the top level.
    pub production_environments: Vec<String>,
    /// Environment names declared non-production. An environment in neither list is production
    /// (fail closed: `mainnet`, `live`, `eu` are not names we can guess about).
    pub preview_environments: Vec<String>,
    /// Worker names that are production whatever environment deploys them (beside the Workers
    /// of the config's production environments).
    pub production_workers: Vec<String>,
    /// Pages branches whose deploys are production.
    pub pages_production_branches: Vec<String>,
}

/// The conventional names of non-production environments (the default `preview_environments`).
pub const DEFAULT_PREVIEW_ENVIRONMENTS: [&str; 9] = [
    "staging",
    "stage",
    "dev",
    "development",
    "preview",
    "test",
    "testing",
    "qa",
    "sandbox",
];

/// How an environment is known to be production or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    /// Listed in `production_environments` (the top level by default).
    Production,
    /// Listed in `preview_environments` and not in `production_environments`.
    Preview,
    /// In neither list: production, and the user should declare it.
    Undeclared,
}

impl Targets {
    /// Whether `env` is declared production, declared non-production, or neither (production).
    #[must_use]
    pub fn environment_kind(&self, env: &str) -> EnvKind {
        if self.production_environments.iter().any(|e| e == env) {
            EnvKind::Production
        } else if self.preview_environments.iter().any(|e| e == env) {
            EnvKind::Preview
        } else {
            EnvKind::Undeclared
        }
    }

    /// Whether `env` is production: declared so, or not declared non-production.
    #[must_use]
    pub fn is_production_environment(&self, env: &str) -> bool {
        self.environment_kind(env) != EnvKind::Preview
    }
}

impl Default for Targets {
    fn default() -> Targets {
        Targets {
            production_environments: vec![String::new(), "production".into(), "prod".into()],
            preview_environments: DEFAULT_PREVIEW_ENVIRONMENTS
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
            production_workers: Vec::new(),
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

/// The wrangler that would run, as far as its version changes a class: wrangler 3's kv, r2 and
/// d1 data commands go to the remote resource unless `--local`, wrangler 4's stay local.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Wrangler {
    /// Version 4, the command table's (also when the call's class does not depend on it).
    #[default]
    Four,
    /// Another major version: the version its package says (`3.114.17`).
    Other(String),
    /// Its version cannot be known (why): where wrangler 3 and 4 differ, it counts as 3 (fail
    /// closed: remote).
    Unknown(String),
}

/// Commands whose class depends on the wrangler config (routes, bindings).
const CONFIG_DEPENDENT: &[&str] = &["deploy", "triggers deploy", "dev"];

/// Whether classifying this call needs the wrangler config read.
#[must_use]
pub fn needs_config(inv: &Invocation) -> bool {
    inv.problems.is_empty()
        && (CONFIG_DEPENDENT.contains(&inv.path.as_str())
            || inv.command.is_some_and(|c| c.env_scoped)
            || kv_preview_write(inv))
}

/// Whether wrangler hands this `deploy` to `OpenNext` (in an `OpenNext` project): not with
/// `--config`, `--dry-run` or `--autoconfig=false` (wrangler's `deploy` handler).
fn open_next_delegates(inv: &Invocation) -> bool {
    inv.path == "deploy"
        && !inv.has("config")
        && inv.boolean("dry-run") != Some(true)
        && inv.boolean("autoconfig") != Some(false)
}

/// KV writes that `--remote --preview` send to a binding's preview namespace (verified: `kv key
/// put --binding KV --remote --preview` PUTs to the `preview_id`).
const KV_PREVIEW_WRITES: [&str; 2] = ["kv key put", "kv bulk put"];

fn kv_preview_write(inv: &Invocation) -> bool {
    KV_PREVIEW_WRITES.contains(&inv.path.as_str())
        && inv.boolean("remote") == Some(true)
        && inv.boolean("preview") == Some(true)
        && inv.value("binding").is_some()
        && !inv.has("namespace-id")
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
    DevSeveralConfigs,
    ConfigUnreadable,
    VersionNotDeployed,
    PagesPreviewEnvironment,
    UndeclaredEnvironment,
    NonProductionEnvironment,
    ProductionData,
    KvPreviewNamespace,
    CliRoutes,
    DispatchNamespace,
    ConfigRoutes,
    EmailAddresses,
    DeletedClasses,
    TransferredClasses,
    Workflows,
    WranglerVersionUnknown,
}

impl Rule {
    /// Every rule besides the per-command ones.
    pub const FIXED: [Rule; 35] = [
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
        Rule::DevSeveralConfigs,
        Rule::ConfigUnreadable,
        Rule::VersionNotDeployed,
        Rule::PagesPreviewEnvironment,
        Rule::UndeclaredEnvironment,
        Rule::NonProductionEnvironment,
        Rule::ProductionData,
        Rule::KvPreviewNamespace,
        Rule::CliRoutes,
        Rule::DispatchNamespace,
        Rule::ConfigRoutes,
        Rule::EmailAddresses,
        Rule::DeletedClasses,
        Rule::TransferredClasses,
        Rule::Workflows,
        Rule::WranglerVersionUnknown,
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
            Rule::DevSeveralConfigs => "dev-several-configs",
            Rule::VersionNotDeployed => "version-not-deployed",
            Rule::PagesPreviewEnvironment => "pages-preview-environment",
            Rule::UndeclaredEnvironment => "undeclared-environment",
            Rule::ProductionData => "production-data",
            Rule::KvPreviewNamespace => "kv-preview-namespace",
            Rule::WranglerVersionUnknown => "wrangler-version-unknown",
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
#[allow(clippy::too_many_lines, clippy::too_many_arguments)]
pub fn classify(
    inv: &Invocation,
    cloudflare_env: Option<&str>,
    name_override: Option<&str>,
    wrangler: &Wrangler,
    open_next: bool,
    config: Option<&Result<Config, ConfigError>>,
    default_config: Option<&Result<Config, ConfigError>>,
    targets: &Targets,
) -> Operation {
    let delegated = open_next && open_next_delegates(inv);
    // Handed to OpenNext, a `--env` before `deploy` is dropped (verified: `--env staging deploy
    // --minify` runs `opennextjs-cloudflare deploy --minify`).
    let env_dropped = delegated
        && inv
            .flags
            .iter()
            .position(|f| f.name == "env")
            .is_some_and(|i| i < inv.flags_before_command);
    let environment = match inv.value("env") {
        Some(e) if !env_dropped => e.to_owned(),
        None if inv.has("env") && !env_dropped => String::new(),
        _ => cloudflare_env.unwrap_or_default().to_owned(),
    };
    let mut facts = Vec::new();
    if delegated {
        facts.push(
            "OpenNext project: wrangler hands the deploy to `opennextjs-cloudflare deploy` with the words after `deploy`"
                .to_owned(),
        );
    }
    if env_dropped {
        facts.push(format!(
            "the --env given before `deploy` does not reach OpenNext: it deploys {}",
            if environment.is_empty() {
                "the top level".to_owned()
            } else {
                format!("{environment:?} (CLOUDFLARE_ENV)")
            }
        ));
    }
    let command = if inv.path.is_empty() {
        inv.positionals
            .first()
            .map(|w| crate::display::redact_word(w))
            .unwrap_or_default()
    } else {
        inv.path.clone()
    };
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
        let legacy_remote = *wrangler != Wrangler::Four
            && data_command
            && row.when_remote.is_some()
            && inv.boolean("local") != Some(true);
        match wrangler {
            Wrangler::Unknown(why) if legacy_remote => facts.push(format!("the installed wrangler's version is unknown ({why}): as with wrangler 3, its data commands count as remote unless --local")),
            Wrangler::Other(version) if legacy_remote => facts.push(format!("the project's wrangler is {version}, not version 4: its data commands are remote unless --local")),
            _ => {}
        }
        let (local, remote_flag) = (inv.boolean("local"), inv.boolean("remote"));
        let remote_in_4 = if row.path.starts_with("d1 ") {
            // d1 goes remote only with --remote, or --preview (which wrangler rejects without
            // --remote); `--local=false`/`--no-local` leave it local (`executeSql`).
            remote_flag == Some(true) || inv.boolean("preview") == Some(true)
        } else if data_command {
            // kv and r2: wrangler's `isLocal` (local unless --remote or --local=false); their
            // --preview picks the preview namespace, not the remote.
            remote_flag == Some(true) || (local == Some(false) && remote_flag != Some(false))
        } else {
            remote_flag == Some(true)
                || local == Some(false)
                || inv.boolean("preview") == Some(true)
        };
        let remote = legacy_remote || remote_in_4;
        if let Wrangler::Unknown(why) = wrangler
            && legacy_remote
            && !remote_in_4
        {
            let class = row.when_remote.unwrap_or(Class::Production);
            v.set(
                class,
                Rule::WranglerVersionUnknown,
                format!(
                    "`{}` goes to the remote resource with wrangler 3, and the installed wrangler's version is unknown ({why}): {}",
                    row.path,
                    class.as_str()
                ),
            );
        } else if remote {
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
    let production_env = targets.is_production_environment(&environment);

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
        "dev" if v.class == Class::Local && inv.values("config").len() > 1 => {
            facts.push(format!(
                "several configs: {}",
                inv.values("config").join(", ")
            ));
            v.set(
                Class::Preview,
                Rule::DevSeveralConfigs,
                "`dev` with several configs runs Workers whose remote bindings we do not read"
                    .into(),
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
        // `PATCH .../workers/<name>/versions/latest`: a new version with the change, not
        // deployed (verified; wrangler says to run `versions deploy`), like `versions upload`.
        "versions secret put" | "versions secret bulk" | "versions secret delete"
            if v.class == Class::Production =>
        {
            v.set(
                Class::Preview,
                Rule::VersionNotDeployed,
                format!("`{}` creates a new version without deploying it", row.path),
            );
        }
        // Pages knows two environments; `--env preview` patches `deployment_configs.preview`
        // (verified). Only the flag counts: anything else is production or an error.
        "pages secret put" | "pages secret bulk" | "pages secret delete"
            if v.class == Class::Production && inv.value("env") == Some("preview") =>
        {
            v.set(
                Class::Preview,
                Rule::PagesPreviewEnvironment,
                format!(
                    "`{}` --env preview changes the Pages project's preview environment",
                    row.path
                ),
            );
        }
        "deploy" | "triggers deploy" => v.set(
            Class::Production,
            Rule::Cmd(row.path),
            format!("`{}` publishes the Worker", row.path),
        ),
        _ => {}
    }
    if row.env_scoped && v.class == Class::Production && !row.destructive {
        if production_env {
            if !environment.is_empty()
                && targets.environment_kind(&environment) == EnvKind::Undeclared
            {
                facts.push(format!(
                    "the environment {environment:?} is in neither production_environments nor preview_environments: production (fail closed); if it is not production, add it to \"preview_environments\" in safe-wrangler.jsonc"
                ));
                v.set(
                    Class::Production,
                    Rule::UndeclaredEnvironment,
                    format!(
                        "`{}` targets the environment {environment:?}, which the policy does not declare non-production (if it is not, add it to \"preview_environments\" in safe-wrangler.jsonc)",
                        row.path
                    ),
                );
            }
        } else if let Some(why) = non_production_target(
            inv,
            name_override,
            &environment,
            config,
            default_config,
            targets,
            &mut facts,
        ) {
            v.set(
                Class::Preview,
                Rule::NonProductionEnvironment,
                format!("`{}` {why}", row.path),
            );
        } else if let Some(resource) = facts.iter().find(|f| f.starts_with(PRODUCTION_DATA)) {
            let what = resource.strip_prefix(PRODUCTION_DATA).unwrap_or(resource);
            let why = format!("`{}` on the environment {environment:?} {what}", row.path);
            v.set(Class::Production, Rule::ProductionData, why);
        }
    }
    if v.class == Class::Production
        && kv_preview_write(inv)
        && let Some(Ok(cfg)) = config
        && let Some(binding) = inv.value("binding")
    {
        match cfg.effective(&environment).kv_preview_id(binding) {
            Some(id) => {
                let production = production_environments_of(cfg, targets).iter().any(|e| {
                    cfg.effective(e)
                        .stateful_resources(None)
                        .contains(&("KV namespace", id.clone()))
                });
                if production {
                    facts.push(format!(
                        "{PRODUCTION_DATA}the preview namespace {id:?} of {binding} is a production environment's KV namespace"
                    ));
                } else {
                    v.set(
                        Class::Preview,
                        Rule::KvPreviewNamespace,
                        format!(
                            "`{}` --preview writes the preview namespace {id:?} of {binding}",
                            row.path
                        ),
                    );
                }
            }
            None => facts.push(format!("{binding} has no preview_id in the config")),
        }
    }
    if matches!(row.path, "deploy" | "triggers deploy") {
        routes = deploy_raises(inv, row.path, &environment, config, &mut v, &mut facts);
    }
    // `versions upload` sends `exports` in POST /scripts/<name>/versions (verified with wrangler
    // 4.164): a Durable Object class it deletes or moves is a migration, as in `deploy`.
    if row.path == "versions upload"
        && v.class >= Class::Preview
        && let Some(Ok(cfg)) = config
    {
        let eff = cfg.effective(&environment);
        let rows = [
            (
                eff.exported_deletes(),
                "deleted Durable Object classes (exports)",
                Rule::DeletedClasses,
                "`versions upload` sends exports that delete Durable Object classes and their data",
            ),
            (
                eff.exported_moves(),
                "transferred Durable Object classes (exports)",
                Rule::TransferredClasses,
                "`versions upload` sends exports that move Durable Object classes and their data between Workers",
            ),
        ];
        for (found, what, rule, why) in rows {
            if !found.is_empty() {
                facts.push(format!("{what}: {}", found.join(", ")));
                v.raise(Class::Migration, rule, why.into());
            }
        }
    }
    // A config we cannot read (invalid, nested deeper than our readers go, a `__proto__` key,
    // too large) while wrangler may read it: every command whose class the config decides is
    // production, whatever the environment (fail closed). `dev` is ruled on above: the config
    // can make it preview at most.
    if v.class <= Class::Production
        && let Some(e) =
            config_unreadable(inv, row, production_env, v.class, config, default_config)
    {
        let e = e.to_string();
        facts.push(format!("config unreadable: {e}"));
        v.set(
            Class::Production,
            Rule::ConfigUnreadable,
            format!(
                "the config decides what `{}` does, and it cannot be read: {e}",
                row.path
            ),
        );
    }
    op(v, row.destructive, facts, routes)
}

/// The unreadable config that would have decided the class of this call (`class`: what the
/// other rules made of it), if any: the config in use for what a deploy publishes besides code
/// (routes, addresses, deleted or moved Durable Object classes, Workflows), the exports
/// `versions upload` sends and the preview namespace of a KV write; that config or the
/// project's default config for whether a non-production environment's Worker and data are
/// production.
fn config_unreadable<'a>(
    inv: &Invocation,
    row: &crate::wrangler::Command,
    production_env: bool,
    class: Class,
    config: Option<&'a Result<Config, ConfigError>>,
    default_config: Option<&'a Result<Config, ConfigError>>,
) -> Option<&'a ConfigError> {
    let lowers =
        row.env_scoped && !row.destructive && !production_env && class == Class::Production;
    match (config, default_config) {
        (Some(Err(e)), _)
            if lowers
                || kv_preview_write(inv)
                || matches!(row.path, "deploy" | "triggers deploy" | "versions upload") =>
        {
            Some(e)
        }
        (Some(Ok(_)), Some(Err(e))) if lowers => Some(e),
        _ => None,
    }
}

/// Commands in which `WRANGLER_CI_OVERRIDE_NAME` renames the Worker: wrangler's
/// `mergeSharedConfigArgs` (deploy, versions upload; it beats `--name` there, verified) and
/// `resolveWorkerName` (preview, preview delete). `secret bulk --env staging` with it set still
/// writes `<name>-staging` (verified).
pub const CI_OVERRIDE_COMMANDS: [&str; 4] =
    ["deploy", "versions upload", "preview", "preview delete"];

/// The Worker named explicitly: `WRANGLER_CI_OVERRIDE_NAME` where wrangler reads it, else
/// `--name` (`--worker-name` for the `preview` commands, whose `--name` names a Preview, not the
/// Worker). The config's name comes after both, see [`crate::core::assess::worker`].
#[must_use]
pub fn explicit_worker<'a>(inv: &'a Invocation, name_override: Option<&'a str>) -> Option<&'a str> {
    let ci = name_override
        .filter(|n| !n.is_empty())
        .filter(|_| CI_OVERRIDE_COMMANDS.contains(&inv.path.as_str()));
    let flag = if inv.path == "preview" || inv.path.starts_with("preview ") {
        "worker-name"
    } else {
        "name"
    };
    ci.or(inv.value(flag).filter(|n| !n.is_empty()))
}

/// The start of the fact [`non_production_target`] leaves when a non-production target's
/// bindings reach a production resource.
const PRODUCTION_DATA: &str = "production data: ";

/// The Workers of a config's production environments: the top level, every `[env.X]` the policy
/// does not declare non-production, and the policy's production environments. A redirected
/// (generated) config says nothing about production: its top level is whatever was built.
fn production_workers_of(cfg: &Config, targets: &Targets) -> Vec<String> {
    if cfg.redirected {
        return Vec::new();
    }
    production_environments_of(cfg, targets)
        .iter()
        .filter_map(|e| cfg.worker_name(e))
        .collect()
}

/// The production environments of a config (see [`production_workers_of`]).
fn production_environments_of(cfg: &Config, targets: &Targets) -> Vec<String> {
    let mut envs: Vec<String> = vec![String::new()];
    envs.extend(cfg.environments());
    envs.extend(targets.production_environments.iter().cloned());
    envs.retain(|e| targets.is_production_environment(e));
    envs.dedup();
    envs
}

/// Why a call on the non-production environment `environment` stays preview, or `None` (then
/// it is production, and `facts` say why): its Worker must be known and be no production
/// environment's Worker (in the config in use, in the project's default config when `--config`
/// or a redirect chose another, or in the policy's `production_workers`), and its stateful
/// bindings must reach none of a production environment's resources.
fn non_production_target(
    inv: &Invocation,
    name_override: Option<&str>,
    environment: &str,
    config: Option<&Result<Config, ConfigError>>,
    default_config: Option<&Result<Config, ConfigError>>,
    targets: &Targets,
    facts: &mut Vec<String>,
) -> Option<String> {
    let Some(Ok(cfg)) = config else { return None };
    let default_config = match default_config {
        Some(Err(e)) => {
            facts.push(format!(
                "the project's default config cannot be read, so its production Workers are unknown: {e}"
            ));
            return None;
        }
        Some(Ok(c)) => Some(c),
        None => None,
    };
    let configs: Vec<&Config> = std::iter::once(cfg).chain(default_config).collect();
    let mut production: Vec<String> = targets.production_workers.clone();
    for c in &configs {
        production.extend(production_workers_of(c, targets));
    }
    let worker = if let Some(named) = explicit_worker(inv, name_override) {
        // A name from the command line can be any Worker: it is known only when it is the Worker
        // of a non-production environment of the config in use.
        let known = cfg
            .environments()
            .into_iter()
            .filter(|e| !targets.is_production_environment(e))
            .any(|e| cfg.worker_name(&e).as_deref() == Some(named));
        if !known {
            facts.push(format!(
                "the Worker is named explicitly ({named:?}) and is no non-production environment's Worker in {}: it may be a production Worker",
                cfg.path.display()
            ));
            return None;
        }
        named.to_owned()
    } else {
        cfg.worker_name(environment)?
    };
    if production.contains(&worker) {
        facts.push(format!("the Worker {worker:?} is a production Worker"));
        return None;
    }
    // Production data: the same resource bound by a production environment of any config read.
    let eff = cfg.effective(environment);
    let mine = eff.stateful_resources(Some(&worker));
    for (kind, id) in &mine {
        if *kind == UNCOMPARABLE {
            facts.push(format!("{PRODUCTION_DATA}{id}: production (fail closed)"));
            return None;
        }
        if *kind == WORKER && production.contains(id) {
            facts.push(format!(
                "{PRODUCTION_DATA}binds the production Worker {id:?} (a service or tail consumer)"
            ));
            return None;
        }
        if *kind == "Durable Object"
            && let Some(script) = production
                .iter()
                .find(|p| id.ends_with(&format!(" of the Worker {p}")))
        {
            facts.push(format!(
                "{PRODUCTION_DATA}binds the Durable Object {id}, a production Worker's ({script})"
            ));
            return None;
        }
    }
    for c in &configs {
        for env in production_environments_of(c, targets) {
            let theirs = c
                .effective(&env)
                .stateful_resources(c.worker_name(&env).as_deref());
            if let Some((kind, id)) = mine.iter().find(|r| theirs.contains(r)) {
                let whose = if env.is_empty() {
                    "the top level".to_owned()
                } else {
                    format!("the environment {env:?}")
                };
                facts.push(format!(
                    "{PRODUCTION_DATA}binds the {kind} {id:?}, which {whose} (production) also binds"
                ));
                return None;
            }
        }
    }
    Some(format!(
        "targets the non-production environment {environment:?} (Worker {worker:?})"
    ))
}

/// One thing a deploy does besides code: the config fact, what to call it, the class it raises
/// to, the rule id, why, and whether `triggers deploy` does it too.
type Raise = (Vec<String>, &'static str, Class, Rule, &'static str, bool);

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
    let mut published: Vec<String> = cli_routes
        .iter()
        .map(|r| crate::secrets::redact(r))
        .collect();
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
        // An unreadable config is ruled on once for every command the config decides, at the
        // end of [`classify`] (`config-unreadable`).
        Some(Err(_)) | None => {}
        Some(Ok(cfg)) => {
            let eff = cfg.effective(environment);
            let (routes, inherited) = eff.routes();
            if !routes.is_empty() && cli_routes.is_empty() {
                published = routes.iter().map(|r| redact(&r.pattern)).collect();
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
            // What a deploy does besides code, one row each: the config fact, the class it
            // raises to, the rule id, why, and whether `triggers deploy` does it too (it
            // registers Workflows and applies Email Routing addresses, verified with wrangler
            // 4.164; it uploads no code, so no Durable Object migration).
            {
                let rows: [Raise; 4] = [
                    (
                        eff.addresses(),
                        "email addresses",
                        Class::Dns,
                        Rule::EmailAddresses,
                        "deploy changes Email Routing rules",
                        true,
                    ),
                    (
                        eff.deleted_classes(),
                        "deleted Durable Object classes",
                        Class::Migration,
                        Rule::DeletedClasses,
                        "deploy deletes Durable Object classes and their data",
                        false,
                    ),
                    (
                        eff.transferred_classes(),
                        "transferred Durable Object classes",
                        Class::Migration,
                        Rule::TransferredClasses,
                        "deploy moves Durable Object classes and their data from another Worker",
                        false,
                    ),
                    (
                        eff.workflows(),
                        "workflows (account-wide names)",
                        Class::Production,
                        Rule::Workflows,
                        "deploy claims account-wide Workflow names, which may belong to the production Worker",
                        true,
                    ),
                ];
                for (found, what, class, rule, why, triggers_too) in rows {
                    if !found.is_empty() && (path == "deploy" || triggers_too) {
                        facts.push(format!("{what}: {}", found.join(", ")));
                        v.raise(class, rule, why.replacen("deploy", path, 1));
                    }
                }
            }
        }
    }
    published
}

/// Whether every statement of a SQL text only reads: `SELECT`, `VALUES`, `EXPLAIN`, a `WITH`
/// whose main statement (the first keyword outside parentheses after the common table
/// expressions) is a `SELECT`, or a `PRAGMA` that reads ([`READ_PRAGMAS`] with an argument; any
/// other without an argument or assignment, except [`WRITE_PRAGMAS`]). Anything else counts as a
/// write.
#[must_use]
pub fn sql_is_read_only(sql: &str) -> bool {
    let statements = split_sql(sql);
    !statements.is_empty() && statements.iter().all(|stmt| statement_reads(stmt))
}

/// Pragmas that only read even with an argument (`PRAGMA table_info(t)`).
const READ_PRAGMAS: [&str; 10] = [
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
];

/// Pragmas that write with no argument (`PRAGMA optimize` runs ANALYZE and stores statistics).
const WRITE_PRAGMAS: [&str; 4] = [
    "optimize",
    "incremental_vacuum",
    "wal_checkpoint",
    "shrink_memory",
];

/// The words of a statement outside quotes, each with its parenthesis depth.
fn words_with_depth(stmt: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut word = String::new();
    let mut chars = stmt.chars();
    let flush = |word: &mut String, out: &mut Vec<(String, usize)>, depth: usize| {
        if !word.is_empty() {
            out.push((std::mem::take(word).to_ascii_uppercase(), depth));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' | '[' => {
                flush(&mut word, &mut out, depth);
                let close = if c == '[' { ']' } else { c };
                for d in chars.by_ref() {
                    if d == close {
                        break;
                    }
                }
                out.push(("<quoted>".to_owned(), depth));
            }
            '(' => {
                flush(&mut word, &mut out, depth);
                depth += 1;
            }
            ')' => {
                flush(&mut word, &mut out, depth);
                depth = depth.saturating_sub(1);
            }
            c if c.is_ascii_alphanumeric() || c == '_' => word.push(c),
            _ => flush(&mut word, &mut out, depth),
        }
    }
    flush(&mut word, &mut out, depth);
    out
}

fn statement_reads(stmt: &str) -> bool {
    let words = words_with_depth(stmt);
    let Some((first, _)) = words.first() else {
        return false;
    };
    match first.as_str() {
        "SELECT" | "EXPLAIN" | "VALUES" => true,
        "WITH" => words
            .iter()
            .skip(1)
            .filter(|(_, depth)| *depth == 0)
            .map(|(w, _)| w.as_str())
            .find(|w| {
                matches!(
                    *w,
                    "SELECT" | "VALUES" | "INSERT" | "UPDATE" | "DELETE" | "REPLACE"
                )
            })
            .is_some_and(|w| w == "SELECT" || w == "VALUES"),
        "PRAGMA" => {
            if stmt.contains('=') {
                return false;
            }
            // `PRAGMA [schema.]name[(arg)]`
            let rest = stmt[6..].trim_start();
            let head: String = rest
                .chars()
                .take_while(|c| {
                    c.is_ascii_alphanumeric() || *c == '_' || *c == '.' || c.is_whitespace()
                })
                .collect();
            let name = head
                .rsplit('.')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let has_argument = rest[head.len()..].trim_start().starts_with('(');
            if has_argument {
                READ_PRAGMAS.contains(&name.as_str())
            } else {
                !name.is_empty()
                    && !name.contains(char::is_whitespace)
                    && !WRITE_PRAGMAS.contains(&name.as_str())
            }
        }
        _ => false,
    }
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
            let op = classify(
                &parse(&args),
                None,
                None,
                &Wrangler::Four,
                false,
                None,
                None,
                &Targets::default(),
            );
            assert_eq!(op.command, row.path);
            assert!(
                op.rule.starts_with("cmd:")
                    || op.rule.starts_with("pages-")
                    || op.rule == "version-not-deployed",
                "{}: {}",
                row.path,
                op.rule
            );
            // Bare, every command is its row's class; `triggers deploy` is dns only when the config
            // (absent here) has routes.
            let expected = if row.path == "triggers deploy" {
                Class::Production
            } else if row.path.starts_with("versions secret ") && row.path != "versions secret list"
            {
                Class::Preview
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
            "PRAGMA table_info(t)",
            "PRAGMA index_list('t')",
            "pragma main.table_info(\"t\")",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "WITH RECURSIVE c(n) AS (VALUES(1) UNION ALL SELECT n+1 FROM c WHERE n<5) SELECT n FROM c",
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
            "PRAGMA optimize",
            "PRAGMA foreign_keys(OFF)",
            "PRAGMA user_version(5)",
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
            "WITH x AS (SELECT ')') DELETE FROM t",
            "WITH x AS (SELECT 1) UPDATE t SET a = (SELECT 1)",
        ] {
            assert!(!sql_is_read_only(sql), "{sql}");
        }
    }

    #[test]
    fn the_worker_named_explicitly_is_the_one_wrangler_uses() {
        let inv = |words: &[&str]| parse(&words.iter().map(OsString::from).collect::<Vec<_>>());
        // `preview --name` names a Preview; its Worker is `--worker-name`.
        assert_eq!(
            explicit_worker(&inv(&["preview", "--name", "pr-1"]), None),
            None
        );
        assert_eq!(
            explicit_worker(&inv(&["preview", "--worker-name", "app"]), None),
            Some("app")
        );
        // WRANGLER_CI_OVERRIDE_NAME beats --name in deploy and versions upload only.
        assert_eq!(
            explicit_worker(&inv(&["deploy", "--name", "a"]), Some("ci")),
            Some("ci")
        );
        assert_eq!(
            explicit_worker(&inv(&["versions", "upload"]), Some("ci")),
            Some("ci")
        );
        assert_eq!(
            explicit_worker(&inv(&["secret", "put", "K", "--name", "a"]), Some("ci")),
            Some("a")
        );
        assert_eq!(
            explicit_worker(&inv(&["secret", "put", "K"]), Some("ci")),
            None
        );
    }

    #[test]
    fn rules_are_named() {
        let op = classify(
            &parse(&[OsString::from("publish")]),
            None,
            None,
            &Wrangler::Four,
            false,
            None,
            None,
            &Targets::default(),
        );
        assert_eq!(op.rule, "unknown-shape");
        let op = classify(
            &parse(&[OsString::from("deploy")]),
            None,
            None,
            &Wrangler::Four,
            false,
            None,
            None,
            &Targets::default(),
        );
        assert_eq!(op.rule, "cmd:deploy");
        assert_eq!(op.command, "deploy");
    }
}
