//! What `wrangler ARGS` would change, from argv, the config and the local files the gather step
//! read: no network, no wrangler (issue 13). Pure: [`plan`] takes the [`Invocation`], the
//! [`Project`] and the [`Operation`] and returns a [`Plan`], which `safe-wrangler plan` prints
//! (text or JSON) and the confirmation prompt shows before it asks.
//!
//! The JSON keys are a contract (README "Plan"); `tests/it/plan.rs` snapshots them.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::classify::Operation;
use crate::core::assess::Project;
use crate::wrangler::Class;
use crate::wrangler::argv::Invocation;
use crate::wrangler::config::Config;

/// A file's text, or why it could not be read.
pub type Read<T> = Result<T, String>;
/// Migration files (name, text), sorted by name.
pub type SqlFiles = Vec<(String, String)>;
/// Names in a secrets file, `true` when the entry deletes the secret.
pub type SecretNames = Vec<(String, bool)>;

/// Local files a plan shows, read by the gather step (only for `plan` and for work that needs
/// approval, so ordinary local calls pay nothing for them).
#[derive(Debug, Clone, Default)]
pub struct PlanFiles {
    /// `d1 execute --file`: the path as given and its text, or why it could not be read.
    pub sql_file: Option<(String, Result<String, String>)>,
    /// The D1 migrations directory and its `.sql` files (name, text) sorted by name, or why not.
    pub migrations: Option<(PathBuf, Read<SqlFiles>)>,
    /// `secret bulk FILE`: the names in it (never the values; `true` = deleted), or why not.
    pub secret_names: Option<(String, Read<SecretNames>)>,
}

/// One route or custom domain a deploy claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanRoute {
    pub pattern: String,
    pub custom_domain: bool,
    /// Taken from the top level while a named environment is selected.
    pub inherited: bool,
    /// `"cli"` (`--route`/`--domain`) or `"config"`.
    pub source: &'static str,
}

/// One binding of the Worker (the environment's own; bindings are not inherited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanBinding {
    /// The config key (`d1_databases`, `kv_namespaces`, ...).
    pub kind: String,
    /// The name the code uses (`env.DB`).
    pub binding: String,
    /// What it reaches: database name/id, namespace id, bucket, queue, service, class, ...
    pub target: String,
    /// The same resource is bound by a production environment of this config.
    pub production: bool,
}

/// Durable Object class changes in the config's migrations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoChange {
    /// `deleted`, `renamed` or `transferred`.
    pub change: &'static str,
    /// The class (`A -> B` for a rename, `Class from worker` for a transfer).
    pub class: String,
    /// The migration tag it belongs to: applied only where the Worker has not yet applied it.
    pub tag: String,
}

/// The D1 database a command acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Database {
    /// The binding in the config, when the argument matched one.
    pub binding: Option<String>,
    pub name: String,
    pub id: Option<String>,
    /// Found in the config (`false`: the argument as given, not resolved).
    pub resolved: bool,
}

/// One SQL statement that would run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// `--command`, the `--file` path, or the migration file name.
    pub source: String,
    pub sql: String,
    pub destructive: bool,
    /// Why it is destructive.
    pub why: Option<&'static str>,
}

/// A version and its share of traffic (`versions deploy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionShare {
    pub version: String,
    /// `None`: shares the rest equally with the others without a percentage.
    pub percentage: Option<String>,
}

/// What `wrangler ARGS` would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub command: String,
    pub class: Class,
    /// "" for the top level.
    pub environment: String,
    pub production: bool,
    pub remote: bool,
    /// The Worker acted on, when known.
    pub worker: Option<String>,
    /// The config file read, or why it could not be.
    pub config: Option<String>,
    /// What a human types to confirm (the resolved target).
    pub target: String,
    pub routes: Vec<PlanRoute>,
    pub workers_dev: Option<bool>,
    pub preview_urls: Option<bool>,
    pub crons: Vec<String>,
    pub workflows: Vec<String>,
    pub durable_objects: Vec<DoChange>,
    pub bindings: Vec<PlanBinding>,
    pub database: Option<Database>,
    pub statements: Vec<Statement>,
    /// Migration file names (`d1 migrations apply`), applied only where not yet applied.
    pub migrations: Vec<String>,
    pub secrets: Vec<String>,
    pub versions: Vec<VersionShare>,
    /// What a delete removes; it cannot be undone.
    pub deletes: Vec<String>,
    /// Things the reader should know that fit no field (unreadable files, defaults).
    pub notes: Vec<String>,
}

/// How many non-destructive statements (and migration file names) the prompt lists.
const PROMPT_SQL: usize = 12;

/// Commands whose plan shows what a deploy claims (routes, crons, bindings, migrations).
const DEPLOYS: &[&str] = &["deploy", "versions upload", "triggers deploy", "dev"];

/// The plan for one call.
#[must_use]
pub fn plan(inv: &Invocation, project: &Project, op: &Operation, worker: Option<&str>) -> Plan {
    let env = op.environment.as_str();
    let cfg = match &project.config {
        Some(Ok(c)) => Some(c),
        _ => None,
    };
    let mut p = Plan {
        command: op.command.clone(),
        class: op.class,
        environment: op.environment.clone(),
        production: op.production,
        remote: op.remote,
        // Only commands that act on a Worker name one (a D1, KV or R2 command does not).
        worker: worker
            .filter(|_| {
                inv.command.is_some_and(|c| c.env_scoped)
                    || DEPLOYS.contains(&op.command.as_str())
                    || ["delete", "rollback"].contains(&op.command.as_str())
            })
            .map(str::to_owned),
        config: project.config.as_ref().map(|c| match c {
            Ok(cfg) => cfg.path.display().to_string(),
            Err(e) => format!("unreadable: {e}"),
        }),
        target: String::new(),
        routes: Vec::new(),
        workers_dev: None,
        preview_urls: None,
        crons: Vec::new(),
        workflows: Vec::new(),
        durable_objects: Vec::new(),
        bindings: Vec::new(),
        database: None,
        statements: Vec::new(),
        migrations: Vec::new(),
        secrets: Vec::new(),
        versions: Vec::new(),
        deletes: Vec::new(),
        notes: Vec::new(),
    };
    let path = op.command.as_str();
    if DEPLOYS.contains(&path) {
        deploy_part(inv, cfg, env, path, &project.policy.targets, &mut p);
    }
    if path.starts_with("d1 ") {
        d1_part(inv, project, cfg, env, &mut p);
    }
    if path.starts_with("secret ") || path.starts_with("versions secret ") {
        secret_part(inv, project, &mut p);
    }
    if path == "versions deploy" {
        versions_part(inv, &mut p);
    }
    if inv.command.is_some_and(|c| c.destructive) && op.remote {
        let what = inv
            .positionals
            .first()
            .cloned()
            .or_else(|| worker.map(str::to_owned))
            .unwrap_or_else(|| "(the target named by the config)".to_owned());
        p.deletes.push(format!(
            "`{path}` {}: cannot be undone",
            crate::display::redact_word(&what)
        ));
    }
    p.target = target(inv, project, op, worker);
    p
}

/// What a human types to confirm: the D1 database's name (resolved from a binding), the KV
/// namespace, the bucket, the Pages project, else the Worker, else the environment.
#[must_use]
pub fn target(inv: &Invocation, project: &Project, op: &Operation, worker: Option<&str>) -> String {
    if op.command.starts_with("d1 ")
        && let Some(Ok(cfg)) = &project.config
        && let Some(db) = inv.positionals.first()
        && let Some(entry) = d1_entry(cfg, &op.environment, db)
        && let Some(name) = entry.get("database_name").and_then(Value::as_str)
        && !name.is_empty()
    {
        return name.to_owned();
    }
    // A KV binding resolves to the namespace it means in this environment (`preview_id` with
    // `--preview`): the binding's name is the same in every project and environment.
    if op.command.starts_with("kv ")
        && let Some(Ok(cfg)) = &project.config
        && let Some(binding) = inv.value("binding").filter(|b| !b.is_empty())
        && let Some(entry) = own_scope(cfg, &op.environment)
            .get("kv_namespaces")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .find(|e| e.get("binding").and_then(Value::as_str) == Some(binding))
            })
    {
        let key = if inv.boolean("preview") == Some(true) {
            "preview_id"
        } else {
            "id"
        };
        if let Some(id) = entry
            .get(key)
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
        {
            return id.to_owned();
        }
    }
    crate::policy::confirm_phrase(op, inv, worker)
}

/// The keys a named environment does not inherit: its own section, else (when the section is
/// missing, wrangler falls back to the top level) the top level's.
fn own_scope<'a>(cfg: &'a Config, env: &str) -> &'a Value {
    if env.is_empty() {
        return &cfg.value;
    }
    cfg.value
        .get("env")
        .and_then(|e| e.get(env))
        .unwrap_or(&cfg.value)
}

/// An inheritable key for `env`: the environment's own value, else the top level's (and whether
/// it was inherited by a named environment).
fn inheritable<'a>(cfg: &'a Config, env: &str, key: &str) -> Option<(&'a Value, bool)> {
    let own = (!env.is_empty())
        .then(|| cfg.value.get("env").and_then(|e| e.get(env))?.get(key))
        .flatten();
    match own {
        Some(v) => Some((v, false)),
        None => cfg.value.get(key).map(|v| (v, !env.is_empty())),
    }
}

/// The `d1_databases` entry for the argument wrangler takes: a binding or a database name.
#[must_use]
pub fn d1_entry<'a>(cfg: &'a Config, env: &str, db: &str) -> Option<&'a Value> {
    own_scope(cfg, env)
        .get("d1_databases")
        .and_then(Value::as_array)?
        .iter()
        .find(|e| {
            e.get("binding").and_then(Value::as_str) == Some(db)
                || e.get("database_name").and_then(Value::as_str) == Some(db)
        })
}

/// The migrations directory of a D1 entry, relative to the config's directory (`migrations`
/// unless `migrations_dir` says otherwise).
#[must_use]
pub fn migrations_dir(cfg: &Config, entry: &Value) -> PathBuf {
    let dir = entry
        .get("migrations_dir")
        .and_then(Value::as_str)
        .unwrap_or("migrations");
    cfg.path
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join(dir)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn deploy_part(
    inv: &Invocation,
    cfg: Option<&Config>,
    env: &str,
    path: &str,
    targets: &crate::classify::Targets,
    p: &mut Plan,
) {
    for r in inv.values("routes") {
        p.routes.push(PlanRoute {
            pattern: r.to_owned(),
            custom_domain: false,
            inherited: false,
            source: "cli",
        });
    }
    for d in inv.values("domains") {
        p.routes.push(PlanRoute {
            pattern: d.to_owned(),
            custom_domain: true,
            inherited: false,
            source: "cli",
        });
    }
    let Some(cfg) = cfg else { return };
    if p.routes.is_empty() && path != "versions upload" && path != "dev" {
        let (routes, inherited) = cfg.effective(env).routes();
        p.routes.extend(routes.into_iter().map(|r| PlanRoute {
            pattern: r.pattern,
            custom_domain: r.custom_domain,
            inherited,
            source: "config",
        }));
    }
    p.workers_dev = inheritable(cfg, env, "workers_dev").and_then(|(v, _)| v.as_bool());
    p.preview_urls = inheritable(cfg, env, "preview_urls").and_then(|(v, _)| v.as_bool());
    if let Some((triggers, _)) = inheritable(cfg, env, "triggers") {
        p.crons = triggers
            .get("crons")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
    }
    if path == "dev" {
        return;
    }
    p.workflows = cfg.effective(env).workflows();
    durable_objects(cfg, env, p);
    bindings(cfg, env, targets, p);
}

fn durable_objects(cfg: &Config, env: &str, p: &mut Plan) {
    let migrations = inheritable(cfg, env, "migrations")
        .and_then(|(v, _)| v.as_array())
        .cloned()
        .unwrap_or_default();
    for m in &migrations {
        let tag = str_of(m, "tag").unwrap_or("(no tag)").to_owned();
        let list = |key: &str| -> Vec<&Value> {
            m.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        };
        for c in list("deleted_classes") {
            if let Some(c) = c.as_str() {
                p.durable_objects.push(DoChange {
                    change: "deleted",
                    class: c.to_owned(),
                    tag: tag.clone(),
                });
            }
        }
        for r in list("renamed_classes") {
            p.durable_objects.push(DoChange {
                change: "renamed",
                class: format!(
                    "{} -> {}",
                    str_of(r, "from").unwrap_or("?"),
                    str_of(r, "to").unwrap_or("?")
                ),
                tag: tag.clone(),
            });
        }
        for t in list("transferred_classes") {
            p.durable_objects.push(DoChange {
                change: "transferred",
                class: format!(
                    "{} from {} (as {})",
                    str_of(t, "from").unwrap_or("?"),
                    str_of(t, "from_script").unwrap_or("?"),
                    str_of(t, "to").unwrap_or("?")
                ),
                tag: tag.clone(),
            });
        }
    }
    // The declarative form has no tags: it applies on every deploy.
    if let Some((Value::Object(exports), _)) = inheritable(cfg, env, "exports") {
        for (name, e) in exports {
            if e.get("state").and_then(Value::as_str) == Some("deleted") {
                p.durable_objects.push(DoChange {
                    change: "deleted",
                    class: name.clone(),
                    tag: "exports".to_owned(),
                });
            }
        }
    }
}

/// Binding kinds: the config key, the field naming the binding, the fields naming the target.
const BINDING_KINDS: &[(&str, &str, &[&str])] = &[
    ("d1_databases", "binding", &["database_name", "database_id"]),
    ("kv_namespaces", "binding", &["id"]),
    ("r2_buckets", "binding", &["bucket_name", "jurisdiction"]),
    ("services", "binding", &["service", "environment"]),
    ("workflows", "binding", &["name", "class_name"]),
    ("vectorize", "binding", &["index_name"]),
    ("hyperdrive", "binding", &["id"]),
    ("analytics_engine_datasets", "binding", &["dataset"]),
    ("send_email", "name", &["destination_address"]),
    ("mtls_certificates", "binding", &["certificate_id"]),
    ("dispatch_namespaces", "binding", &["namespace"]),
];

/// Every binding of `scope` as (kind, binding, target).
fn bindings_of(scope: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let target_of = |e: &Value, fields: &[&str]| -> String {
        fields
            .iter()
            .filter_map(|f| str_of(e, f))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (kind, name_field, fields) in BINDING_KINDS {
        for e in scope
            .get(*kind)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let binding = str_of(e, name_field).unwrap_or("?").to_owned();
            out.push(((*kind).to_owned(), binding, target_of(e, fields)));
        }
    }
    let durable = scope
        .get("durable_objects")
        .and_then(|d| d.get("bindings"))
        .and_then(Value::as_array);
    for e in durable.into_iter().flatten() {
        let target = match str_of(e, "script_name") {
            Some(script) => format!("{} in {script}", str_of(e, "class_name").unwrap_or("?")),
            None => str_of(e, "class_name").unwrap_or("?").to_owned(),
        };
        out.push((
            "durable_objects".to_owned(),
            str_of(e, "name").unwrap_or("?").to_owned(),
            target,
        ));
    }
    for (key, field) in [("producers", "queue"), ("consumers", "queue")] {
        let list = scope
            .get("queues")
            .and_then(|q| q.get(key))
            .and_then(Value::as_array);
        for e in list.into_iter().flatten() {
            let binding = str_of(e, "binding").unwrap_or("(consumer)").to_owned();
            out.push((
                format!("queues.{key}"),
                binding,
                str_of(e, field).unwrap_or("?").to_owned(),
            ));
        }
    }
    for single in ["ai", "browser", "images", "version_metadata"] {
        if let Some(b) = scope.get(single).and_then(|v| str_of(v, "binding")) {
            out.push((single.to_owned(), b.to_owned(), String::new()));
        }
    }
    out
}

/// The environment's bindings, each marked when a production environment binds the same
/// resource (same kind and target) while this environment is not itself a production one.
fn bindings(cfg: &Config, env: &str, targets: &crate::classify::Targets, p: &mut Plan) {
    let own = bindings_of(own_scope(cfg, env));
    let is_production = |e: &str| targets.production_environments.iter().any(|x| x == e);
    let production: Vec<(String, String)> = if is_production(env) {
        Vec::new()
    } else {
        targets
            .production_environments
            .iter()
            .filter(|e| e.is_empty() || cfg.value.get("env").and_then(|x| x.get(e)).is_some())
            .flat_map(|e| bindings_of(own_scope(cfg, e)))
            .filter(|(_, _, t)| !t.is_empty())
            .map(|(k, _, t)| (k, t))
            .collect()
    };
    p.bindings = own
        .into_iter()
        .map(|(kind, binding, target)| PlanBinding {
            production: !target.is_empty()
                && production.iter().any(|(k, t)| *k == kind && *t == target),
            kind,
            binding,
            target,
        })
        .collect();
}

fn d1_part(inv: &Invocation, project: &Project, cfg: Option<&Config>, env: &str, p: &mut Plan) {
    let Some(arg) = inv.positionals.first() else {
        return;
    };
    let entry = cfg.and_then(|c| d1_entry(c, env, arg));
    p.database = Some(match entry {
        Some(e) => Database {
            binding: str_of(e, "binding").map(str::to_owned),
            name: str_of(e, "database_name").unwrap_or(arg).to_owned(),
            id: str_of(e, "database_id").map(str::to_owned),
            resolved: true,
        },
        None => Database {
            binding: None,
            name: arg.clone(),
            id: None,
            resolved: false,
        },
    });
    if entry.is_none() {
        p.notes.push(format!(
            "{arg:?} is not a D1 binding or database name in the config: wrangler looks it up by name on the account"
        ));
    }
    match inv.path.as_str() {
        "d1 execute" => {
            if let Some(sql) = inv.value("command") {
                p.statements.extend(statements("--command", sql));
            }
            match &project.plan_files.sql_file {
                Some((file, Ok(text))) => p.statements.extend(statements(file, text)),
                Some((file, Err(e))) => p.notes.push(format!("--file {file}: {e}")),
                None => {}
            }
        }
        "d1 migrations apply" => match &project.plan_files.migrations {
            Some((dir, Ok(files))) => {
                if files.is_empty() {
                    p.notes.push(format!("no .sql files in {}", dir.display()));
                } else {
                    p.notes.push(format!(
                        "migrations from {}: wrangler applies only those not yet recorded in the database's d1_migrations table",
                        dir.display()
                    ));
                }
                for (name, text) in files {
                    p.migrations.push(name.clone());
                    p.statements.extend(statements(name, text));
                }
            }
            Some((dir, Err(e))) => p.notes.push(format!("{}: {e}", dir.display())),
            None => {}
        },
        _ => {}
    }
}

/// The statements of a SQL text, each marked when it destroys data or schema. Table rebuilds
/// (`INSERT INTO new SELECT ... FROM old` followed by `DROP TABLE old` and a rename) are marked
/// whole.
#[must_use]
pub fn statements(source: &str, sql: &str) -> Vec<Statement> {
    let stmts = crate::classify::split_sql(sql);
    let rebuild = is_rebuild(&stmts);
    stmts
        .into_iter()
        .map(|s| {
            let mut why = destructive(&s);
            if why.is_none() && rebuild && is_copy(&s) {
                why = Some("copies a table for a rebuild (the old table is dropped)");
            }
            Statement {
                source: source.to_owned(),
                destructive: why.is_some(),
                why,
                sql: s,
            }
        })
        .collect()
}

/// Upper-case words of a statement (quoted parts count as one non-keyword word).
fn words(stmt: &str) -> Vec<String> {
    stmt.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// Why a statement is destructive, if it is.
#[must_use]
pub fn destructive(stmt: &str) -> Option<&'static str> {
    let w = words(stmt);
    let first = w.first().map_or("", String::as_str);
    // `WITH ... DELETE/UPDATE`: judge the statement after the common table expressions.
    let main = if first == "WITH" {
        w.iter()
            .position(|x| matches!(x.as_str(), "DELETE" | "UPDATE" | "INSERT" | "REPLACE"))
            .map_or("", |i| w[i].as_str())
    } else {
        first
    };
    let has = |k: &str| w.iter().any(|x| x == k);
    match main {
        "DROP" => Some("drops a table, index, view or trigger"),
        "DELETE" if !has("WHERE") => Some("deletes every row (no WHERE)"),
        "UPDATE" if !has("WHERE") => Some("updates every row (no WHERE)"),
        "ALTER" if has("DROP") => Some("drops a column"),
        "ALTER" if has("RENAME") => Some("renames a table or column (old names stop working)"),
        "REPLACE" => Some("REPLACE deletes conflicting rows"),
        "INSERT" if w.get(1).map(String::as_str) == Some("OR") && has("REPLACE") => {
            Some("INSERT OR REPLACE deletes conflicting rows")
        }
        _ => None,
    }
}

fn is_copy(stmt: &str) -> bool {
    let w = words(stmt);
    w.first().is_some_and(|f| f == "INSERT") && w.iter().any(|x| x == "SELECT")
}

/// A table rebuild: a copy into another table, then a drop and a rename.
fn is_rebuild(stmts: &[String]) -> bool {
    let any = |f: &dyn Fn(&[String]) -> bool| stmts.iter().any(|s| f(&words(s)));
    any(&|w| w.first().is_some_and(|f| f == "DROP") && w.get(1).is_some_and(|t| t == "TABLE"))
        && any(&|w| w.first().is_some_and(|f| f == "ALTER") && w.iter().any(|x| x == "RENAME"))
        && stmts.iter().any(|s| is_copy(s))
}

fn secret_part(inv: &Invocation, project: &Project, p: &mut Plan) {
    if inv.path.ends_with(" bulk") {
        match &project.plan_files.secret_names {
            Some((_, Ok(names))) => p.secrets.extend(names.iter().map(|(n, deleted)| {
                if *deleted {
                    format!("{n} (deleted)")
                } else {
                    n.clone()
                }
            })),
            Some((file, Err(e))) => p.notes.push(format!("{file}: {e}")),
            None => p
                .notes
                .push("secret names come from stdin: not known in advance".to_owned()),
        }
    } else if let Some(name) = inv.positionals.first() {
        let suffix = if inv.path.ends_with(" delete") {
            " (deleted)"
        } else {
            ""
        };
        p.secrets
            .push(format!("{}{suffix}", crate::display::redact_word(name)));
    }
}

fn versions_part(inv: &Invocation, p: &mut Plan) {
    for spec in &inv.positionals {
        let (version, pct) = match spec.split_once('@') {
            Some((v, pct)) => (v, Some(pct.trim_end_matches('%').to_owned())),
            None => (spec.as_str(), None),
        };
        p.versions.push(VersionShare {
            version: version.to_owned(),
            percentage: pct,
        });
    }
    let ids = inv.values("version-id");
    let pcts = inv.values("percentage");
    for (i, id) in ids.iter().enumerate() {
        p.versions.push(VersionShare {
            version: (*id).to_owned(),
            percentage: pcts.get(i).map(|s| (*s).to_owned()),
        });
    }
    if p.versions.is_empty() {
        p.notes.push(
            "no versions named: wrangler asks which to deploy (or fails without a terminal)"
                .to_owned(),
        );
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

impl Plan {
    /// The plan in one line, for a hook's deny reason: what would change, most important first.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(w) = &self.worker {
            parts.push(format!("Worker {w}"));
        }
        if !self.routes.is_empty() {
            let list: Vec<String> = self
                .routes
                .iter()
                .map(|r| {
                    let mut s = r.pattern.clone();
                    if r.custom_domain {
                        s.push_str(" (custom domain)");
                    }
                    if r.inherited {
                        s.push_str(" (inherited)");
                    }
                    s
                })
                .collect();
            parts.push(format!("routes {}", list.join(", ")));
        }
        if !self.workflows.is_empty() {
            parts.push(format!("claims Workflows {}", self.workflows.join(", ")));
        }
        for d in &self.durable_objects {
            parts.push(format!(
                "Durable Object {} {} (tag {})",
                d.class, d.change, d.tag
            ));
        }
        let shared: Vec<&str> = self
            .bindings
            .iter()
            .filter(|b| b.production)
            .map(|b| b.binding.as_str())
            .collect();
        if !shared.is_empty() {
            parts.push(format!(
                "bindings on production resources: {}",
                shared.join(", ")
            ));
        }
        if let Some(db) = &self.database {
            parts.push(format!("database {}", db.name));
        }
        if !self.migrations.is_empty() {
            parts.push(format!("{} migration file(s)", self.migrations.len()));
        }
        let destructive: Vec<String> = self
            .statements
            .iter()
            .filter(|s| s.destructive)
            .map(|s| {
                let sql: String = s.sql.split_whitespace().collect::<Vec<_>>().join(" ");
                sql.chars().take(60).collect()
            })
            .collect();
        if !destructive.is_empty() {
            parts.push(format!("destructive SQL: {}", destructive.join("; ")));
        }
        if !self.secrets.is_empty() {
            parts.push(format!("secrets {}", self.secrets.join(", ")));
        }
        if !self.versions.is_empty() {
            let list: Vec<String> = self
                .versions
                .iter()
                .map(|v| match &v.percentage {
                    Some(p) => format!("{}@{p}%", v.version),
                    None => v.version.clone(),
                })
                .collect();
            parts.push(format!("versions {}", list.join(", ")));
        }
        parts.extend(self.deletes.iter().cloned());
        crate::display::shown(&parts.join("; "))
    }

    /// The plan as lines for a terminal (redacted and escaped, as every echo of user input): one line per
    /// fact, in the order a reviewer reads them.
    #[must_use]
    pub fn text(&self) -> String {
        self.lines(usize::MAX)
    }

    /// [`Plan::text`] for the prompt: every destructive statement, but at most `PROMPT_SQL`
    /// others (and as many migration file names), the rest counted, so the question stays on
    /// screen; `safe-wrangler plan` shows everything.
    #[must_use]
    pub fn prompt_text(&self) -> String {
        self.lines(PROMPT_SQL)
    }

    #[allow(clippy::too_many_lines)]
    fn lines(&self, max_plain: usize) -> String {
        let esc = crate::display::shown;
        let mut out = String::new();
        let mut line = |label: &str, value: &str| {
            let _ = writeln!(out, "  {label:<13}{}", esc(value));
        };
        if let Some(w) = &self.worker {
            line("worker:", w);
        }
        line(
            "environment:",
            crate::policy::environment_label(&self.environment),
        );
        if let Some(c) = &self.config {
            line("config:", c);
        }
        for r in &self.routes {
            let mut v = r.pattern.clone();
            if r.custom_domain {
                v.push_str(" (custom domain)");
            }
            if r.inherited {
                v.push_str(" (inherited from the top level)");
            }
            if r.source == "cli" {
                v.push_str(" (command line)");
            }
            line("route:", &v);
        }
        if let Some(b) = self.workers_dev {
            line("workers.dev:", yes_no(b));
        }
        if let Some(b) = self.preview_urls {
            line("preview URLs:", yes_no(b));
        }
        for c in &self.crons {
            line("cron:", c);
        }
        for w in &self.workflows {
            line(
                "workflow:",
                &format!("{w} (account-wide name: claimed by this Worker)"),
            );
        }
        for d in &self.durable_objects {
            let when = if d.tag == "exports" {
                "declared in exports".to_owned()
            } else {
                format!(
                    "migration {}: applied only where the Worker has not yet applied tag {}",
                    d.tag, d.tag
                )
            };
            line(
                "durable obj:",
                &format!("{} {} ({when})", d.change, d.class),
            );
        }
        for b in &self.bindings {
            let mut v = format!("{} {}", b.kind, b.binding);
            if !b.target.is_empty() {
                let _ = write!(v, " -> {}", b.target);
            }
            if b.production {
                v.push_str("  [a production environment's resource]");
            }
            line("binding:", &v);
        }
        if let Some(db) = &self.database {
            let mut v = db.name.clone();
            if let Some(id) = &db.id {
                let _ = write!(v, " ({id})");
            }
            if let Some(b) = &db.binding {
                let _ = write!(v, ", binding {b}");
            }
            if !db.resolved {
                v.push_str(" (not in the config)");
            }
            line("database:", &v);
        }
        for m in self.migrations.iter().take(max_plain) {
            line("migration:", m);
        }
        if self.migrations.len() > max_plain {
            line(
                "migration:",
                &format!("... and {} more files", self.migrations.len() - max_plain),
            );
        }
        let mut plain = 0usize;
        for s in &self.statements {
            if !s.destructive {
                plain += 1;
                if plain > max_plain {
                    continue;
                }
            }
            let sql: String = s.sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let shown = if sql.chars().count() > 100 {
                format!("{}...", sql.chars().take(100).collect::<String>())
            } else {
                sql
            };
            let mark = match s.why {
                Some(why) => format!("DESTRUCTIVE ({why}): "),
                None => String::new(),
            };
            line("sql:", &format!("{mark}{shown}  [{}]", s.source));
        }
        if plain > max_plain {
            line(
                "sql:",
                &format!(
                    "... and {} more statements that are not destructive (safe-wrangler plan shows all)",
                    plain - max_plain
                ),
            );
        }
        for s in &self.secrets {
            line("secret:", s);
        }
        for v in &self.versions {
            let pct = v
                .percentage
                .as_deref()
                .map_or_else(|| "the rest".to_owned(), |p| format!("{p}%"));
            line("version:", &format!("{} at {pct}", v.version));
        }
        for d in &self.deletes {
            line("deletes:", d);
        }
        for n in &self.notes {
            line("note:", n);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_statements() {
        for (sql, yes) in [
            ("DROP TABLE customers", true),
            ("drop index i", true),
            ("DELETE FROM t", true),
            ("DELETE FROM t WHERE id = 1", false),
            ("UPDATE t SET a = 1", true),
            ("update t set a = 1 where b = 2", false),
            ("ALTER TABLE t DROP COLUMN c", true),
            ("ALTER TABLE t RENAME TO u", true),
            ("ALTER TABLE t ADD COLUMN c", false),
            ("REPLACE INTO t VALUES (1)", true),
            ("INSERT OR REPLACE INTO t VALUES (1)", true),
            ("INSERT INTO t VALUES (1)", false),
            ("CREATE TABLE t (a)", false),
            ("SELECT * FROM t", false),
            ("WITH x AS (SELECT 1) DELETE FROM t", true),
        ] {
            assert_eq!(destructive(sql).is_some(), yes, "{sql}");
        }
    }

    #[test]
    fn the_prompt_lists_every_destructive_statement_and_counts_the_rest() {
        let mut sql = String::new();
        for i in 0..30 {
            let _ = write!(sql, "INSERT INTO t VALUES ({i});");
        }
        sql.push_str("DROP TABLE t;");
        let p = Plan {
            statements: statements("x.sql", &sql),
            ..plan_for_test()
        };
        let text = p.prompt_text();
        assert!(text.contains("DESTRUCTIVE (drops a table"), "{text}");
        assert!(text.contains("... and 18 more statements"), "{text}");
        assert_eq!(text.matches("INSERT INTO").count(), PROMPT_SQL);
        assert_eq!(p.text().matches("INSERT INTO").count(), 30);
    }

    fn plan_for_test() -> Plan {
        Plan {
            command: "d1 execute".into(),
            class: Class::Migration,
            environment: String::new(),
            production: true,
            remote: true,
            worker: None,
            config: None,
            target: "db".into(),
            routes: Vec::new(),
            workers_dev: None,
            preview_urls: None,
            crons: Vec::new(),
            workflows: Vec::new(),
            durable_objects: Vec::new(),
            bindings: Vec::new(),
            database: None,
            statements: Vec::new(),
            migrations: Vec::new(),
            secrets: Vec::new(),
            versions: Vec::new(),
            deletes: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn a_table_rebuild_is_marked_whole() {
        let s = statements(
            "0002.sql",
            "CREATE TABLE t_new (a); INSERT INTO t_new SELECT a FROM t; DROP TABLE t; ALTER TABLE t_new RENAME TO t;",
        );
        let marks: Vec<bool> = s.iter().map(|s| s.destructive).collect();
        assert_eq!(marks, [false, true, true, true]);
        let plain = statements("x", "INSERT INTO a SELECT * FROM b");
        assert!(!plain[0].destructive);
    }
}
