//! Break-glass grants (issue 14), the pure part: a human approves one planned change at a
//! terminal, and a later call by an agent or a script with the same plan runs, for a while and a
//! number of times.
//!
//! A grant holds the plan's [`Fingerprint`]: what the change is, not how it was spelled
//! (`-e production` and `--env=production` give the same one). [`cover`] turns a refusal for want
//! of a human (an agent, or no terminal) into a run when an unexpired grant with uses left has the
//! same fingerprint; it never applies in CI, never to any other refusal, and never consumes: the
//! wrapper consumes a use atomically at the edge (`edge::grants`). The clock is a value (`now`,
//! seconds since the epoch), so expiry is tested without sleeping.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::classify::Operation;
use crate::context::Context;
use crate::core::assess::Project;
use crate::core::plan::Plan;
use crate::credentials::DotenvPlan;
use crate::policy::{Credential, DecidedBy, Decision, Ruling};
use crate::wrangler::argv::{FlagValue, Invocation};

/// How long a grant lasts when `--for` is not given.
pub const DEFAULT_FOR: u64 = 30 * 60;
/// The longest a grant may last: break-glass is for one task, not a standing permission.
pub const MAX_FOR: u64 = 24 * 60 * 60;
/// The most uses one grant may carry.
pub const MAX_USES: u32 = 100;

/// The rulings a grant may replace: the call is refused only because no human is here to confirm
/// it. Every other refusal (CI not approved, a credential in a `.env` file, ...) stands.
const COVERABLE: &[DecidedBy] = &[DecidedBy::Agent, DecidedBy::NoTerminal];

/// The placeholder a coverable refusal's hint carries; each refusal renderer replaces it with
/// [`command`] for the call's own argv.
pub const PLACEHOLDER: &str = "{grant}";

/// What a change is: the parts of its plan that say what it does, and its arguments by meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Fingerprint {
    /// The config file (absolute), else the directory wrangler works in.
    pub project: String,
    pub command: String,
    pub class: String,
    /// "" for the top level.
    pub environment: String,
    /// The resolved target (the name a human types: database, bucket, Worker, environment).
    pub target: String,
    pub worker: Option<String>,
    /// Routes and custom domains the change claims.
    pub routes: Vec<String>,
    /// Bindings that reach a production environment's resources (`kind BINDING -> target`).
    pub bindings: Vec<String>,
    /// Migration files (`d1 migrations apply`).
    pub migrations: Vec<String>,
    /// SQL statements that would run (`source: sql`).
    pub statements: Vec<String>,
    /// Secret names put or deleted.
    pub secrets: Vec<String>,
    /// Everything else the plan shows (crons, Durable Object changes, versions, deletes, the
    /// database, notes such as an unreadable file).
    pub other: Vec<String>,
    /// Flags and positionals by meaning: canonical flag names, sorted, with the SHA-256 digests of
    /// their values (never the values); `--env`, `--config` and `--cwd` are in `environment` and
    /// `project`.
    pub arguments: Vec<String>,
}

/// One grant, as kept in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    /// The user who typed the phrase.
    pub owner: String,
    pub reason: Option<String>,
    /// Seconds since the epoch.
    pub created: u64,
    pub expires: u64,
    /// Uses granted, and used so far.
    pub uses: u32,
    pub used: u32,
    /// The command line as granted (secrets redacted), for people to read.
    pub what: String,
    pub fingerprint: Fingerprint,
}

impl Grant {
    #[must_use]
    pub fn uses_left(&self) -> u32 {
        self.uses.saturating_sub(self.used)
    }

    /// Unexpired with uses left at `now`.
    #[must_use]
    pub fn active(&self, now: u64) -> bool {
        now < self.expires && self.uses_left() > 0
    }
}

/// The store as the gather step read it: plain data for the core.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Store {
    /// Not read (the call needs no approval) or not there.
    #[default]
    Absent,
    Read(Vec<Grant>),
    /// Not a plain file owned by the user with mode 0600, a symlink, or unreadable: it grants
    /// nothing, and refusals say why.
    Ignored(String),
}

/// The grants the core may consult, and the clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Seconds since the epoch.
    pub now: u64,
    pub store: Store,
}

/// How a call stands against the grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// This grant covers it.
    Granted(String),
    /// No grant covers it; the closest grant for the same command and project, and what differs
    /// (or that it expired or is used up).
    Differs {
        id: String,
        parts: Vec<String>,
    },
    None,
}

/// Words for a vector field that differs: what the call adds and what it lacks.
fn vec_diff(name: &str, granted: &[String], now: &[String]) -> Option<String> {
    if granted == now {
        return None;
    }
    let added: Vec<&String> = now.iter().filter(|x| !granted.contains(x)).collect();
    let missing: Vec<&String> = granted.iter().filter(|x| !now.contains(x)).collect();
    let mut words = Vec::new();
    if !added.is_empty() {
        words.push(format!("added {}", quoted(&added)));
    }
    if !missing.is_empty() {
        words.push(format!("without {}", quoted(&missing)));
    }
    if words.is_empty() {
        words.push("in another order".to_owned());
    }
    Some(format!("{name} ({})", words.join(", ")))
}

fn quoted(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn scalar_diff<T: PartialEq + std::fmt::Debug>(name: &str, granted: &T, now: &T) -> Option<String> {
    (granted != now).then(|| format!("{name} ({now:?}, granted {granted:?})"))
}

/// The parts of the plan in which `now` differs from `granted`, named; empty when they are the
/// same change.
#[must_use]
pub fn differences(granted: &Fingerprint, now: &Fingerprint) -> Vec<String> {
    [
        scalar_diff("project", &granted.project, &now.project),
        scalar_diff("command", &granted.command, &now.command),
        scalar_diff("class", &granted.class, &now.class),
        scalar_diff("environment", &granted.environment, &now.environment),
        scalar_diff("target", &granted.target, &now.target),
        scalar_diff("worker", &granted.worker, &now.worker),
        vec_diff("routes", &granted.routes, &now.routes),
        vec_diff("production bindings", &granted.bindings, &now.bindings),
        vec_diff("migration files", &granted.migrations, &now.migrations),
        vec_diff("SQL statements", &granted.statements, &now.statements),
        vec_diff("secret names", &granted.secrets, &now.secrets),
        vec_diff("plan", &granted.other, &now.other),
        arguments_diff(&granted.arguments, &now.arguments),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A value as the store keeps it: its SHA-256 digest, never the value (a `--var` or a KV value
/// may be a secret, and the store is a file on disk).
fn digest(value: &str) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(value.as_bytes());
    let mut out = String::from("sha256:");
    for b in hash {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The flags (canonical names, the values' digests) and positionals (their places and digests)
/// of a call; flags sorted, positionals in order.
fn arguments(inv: &Invocation) -> Vec<String> {
    let mut out: Vec<String> = inv
        .flags
        .iter()
        .filter(|f| !matches!(f.name, "env" | "config" | "cwd"))
        .map(|f| match &f.value {
            FlagValue::Str(s) => format!("--{} {}", f.name, digest(s)),
            FlagValue::List(l) => format!("--{} {}", f.name, digest(&l.join("\u{1f}"))),
            FlagValue::Bool(b) => format!("--{} {b}", f.name),
            FlagValue::Count => format!("--{}", f.name),
        })
        .collect();
    out.sort();
    out.extend(
        inv.positionals
            .iter()
            .enumerate()
            .map(|(i, p)| format!("argument {} {}", i + 1, digest(p))),
    );
    out
}

/// Which arguments differ, by name only (their values are digests).
fn arguments_diff(granted: &[String], now: &[String]) -> Option<String> {
    let name = |a: &String| a.rsplit_once(' ').map_or(a.clone(), |(n, _)| n.to_owned());
    let mut names: Vec<String> = now
        .iter()
        .filter(|a| !granted.contains(a))
        .chain(granted.iter().filter(|a| !now.contains(a)))
        .map(name)
        .collect();
    names.dedup();
    if names.is_empty() && granted == now {
        return None;
    }
    Some(format!("arguments ({})", names.join(", ")))
}

/// The fingerprint of a call's plan.
#[must_use]
pub fn fingerprint(inv: &Invocation, project: &Project, plan: &Plan) -> Fingerprint {
    let project_id = match &project.config {
        Some(Ok(cfg)) => cfg.path.display().to_string(),
        _ => project.dir.display().to_string(),
    };
    let mut other: Vec<String> = Vec::new();
    other.extend(plan.crons.iter().map(|c| format!("cron {c}")));
    other.extend(plan.workflows.iter().map(|w| format!("workflow {w}")));
    other.extend(
        plan.durable_objects
            .iter()
            .map(|d| format!("durable object {} {} ({})", d.change, d.class, d.tag)),
    );
    if let Some(db) = &plan.database {
        other.push(format!(
            "database {} {}",
            db.name,
            db.id.as_deref().unwrap_or("")
        ));
    }
    other.extend(plan.versions.iter().map(|v| {
        format!(
            "version {} {}",
            v.version,
            v.percentage.as_deref().unwrap_or("")
        )
    }));
    other.extend(plan.deletes.iter().map(|d| format!("delete {d}")));
    if let Some(w) = plan.workers_dev {
        other.push(format!("workers_dev {w}"));
    }
    if let Some(p) = plan.preview_urls {
        other.push(format!("preview_urls {p}"));
    }
    other.extend(plan.notes.iter().map(|n| format!("note {n}")));
    Fingerprint {
        project: project_id,
        command: plan.command.clone(),
        class: plan.class.as_str().to_owned(),
        environment: plan.environment.clone(),
        target: plan.target.clone(),
        worker: plan.worker.clone(),
        routes: plan
            .routes
            .iter()
            .map(|r| {
                if r.custom_domain {
                    format!("{} (custom domain)", r.pattern)
                } else {
                    r.pattern.clone()
                }
            })
            .collect(),
        bindings: plan
            .bindings
            .iter()
            .filter(|b| b.production)
            .map(|b| format!("{} {} -> {}", b.kind, b.binding, b.target))
            .collect(),
        migrations: plan.migrations.clone(),
        statements: plan
            .statements
            .iter()
            .map(|s| format!("{}: {}", s.source, s.sql))
            .collect(),
        secrets: plan.secrets.clone(),
        other,
        arguments: arguments(inv),
    }
}

/// How `fp` stands against `grants` at `now`.
#[must_use]
pub fn find(grants: &[Grant], fp: &Fingerprint, now: u64) -> Match {
    if let Some(g) = grants
        .iter()
        .filter(|g| g.active(now))
        .find(|g| &g.fingerprint == fp)
    {
        return Match::Granted(g.id.clone());
    }
    // The closest grant for the same command in the same project: the fewest differences, an
    // active one before an expired one.
    let closest = grants
        .iter()
        .filter(|g| g.fingerprint.command == fp.command && g.fingerprint.project == fp.project)
        .map(|g| {
            let mut parts = differences(&g.fingerprint, fp);
            if now >= g.expires {
                parts.insert(0, "it expired".to_owned());
            } else if g.uses_left() == 0 {
                parts.insert(0, "it is used up".to_owned());
            }
            (g, parts)
        })
        .min_by_key(|(_, parts)| parts.len());
    match closest {
        Some((g, parts)) => Match::Differs {
            id: g.id.clone(),
            parts,
        },
        None => Match::None,
    }
}

/// The command a human runs to grant `args` (already shown as words of a command line).
#[must_use]
pub fn command(args: &[std::ffi::OsString]) -> String {
    let words: Vec<std::ffi::OsString> = ["grant", "--"]
        .into_iter()
        .map(std::ffi::OsString::from)
        .chain(args.iter().cloned())
        .collect();
    crate::display::command_line("safe-wrangler", &words)
}

/// The hook into the decision: a refusal for want of a human becomes a run when a grant covers
/// the call's plan (decided by `grant:<id>`); otherwise the refusal names what a grant would need
/// (the differing parts, an ignored store) and ends with the command a human can run for it.
/// Checks only; the wrapper consumes.
pub fn cover(
    ruling: Ruling,
    inv: &Invocation,
    project: &Project,
    op: &Operation,
    worker: Option<&str>,
    ctx: &Context,
) -> Ruling {
    let Decision::Refuse { reason, hint } = &ruling.decision else {
        return ruling;
    };
    // Never in CI (approved_ci is the CI path), never for a call we cannot read exactly, never
    // over a refusal that is not only "no human here".
    if ctx.ci.is_some()
        || !COVERABLE.contains(&ruling.by)
        || !inv.problems.is_empty()
        || !op.class.needs_approval()
        || matches!(project.dotenv, DotenvPlan::Refuse { .. })
    {
        return ruling;
    }
    let hint =
        format!("{hint}; or a human can grant this one change at their terminal: {PLACEHOLDER}");
    let reason = match &project.grants.store {
        Store::Absent => reason.clone(),
        Store::Ignored(why) => format!("{reason} (the grants store is ignored: {why})"),
        Store::Read(grants) => {
            let plan = crate::core::plan::plan(inv, project, op, worker);
            let fp = fingerprint(inv, project, &plan);
            match find(grants, &fp, project.grants.now) {
                Match::Granted(id) => {
                    return Ruling {
                        decision: Decision::Run {
                            credential: Credential::None,
                        },
                        by: DecidedBy::Grant(id.clone()),
                        identity: None,
                    };
                }
                Match::Differs { id, parts } => {
                    format!(
                        "{reason}; grant {id} does not cover it: {}",
                        parts.join("; ")
                    )
                }
                Match::None => reason.clone(),
            }
        }
    };
    Ruling {
        decision: Decision::Refuse { reason, hint },
        by: ruling.by,
        identity: ruling.identity,
    }
}

/// Whether an agent's shell command line would make a grant (`safe-wrangler grant ...`, not
/// `--revoke`/`--revoke-all`, which only take permission away). The hook denies it: a grant is
/// made by a human at their terminal, never by the agent it is for. A plain scan of the words
/// (the verb itself also refuses an agent marker and a missing terminal).
#[must_use]
pub fn makes_grant(command: &str) -> bool {
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`'))
        .map(|w| w.trim_matches(|c| matches!(c, '"' | '\'' | '\\')))
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).enumerate().any(|(i, pair)| {
        let own = pair[0].rsplit('/').next() == Some(crate::OWN_NAME);
        own && pair[1] == "grant"
            && !words[i + 2..]
                .iter()
                .take_while(|w| **w != "--")
                .any(|w| w.starts_with("--revoke"))
    })
}

/// The grants to keep at `now` and the ones that expired (or were used up), pruned.
#[must_use]
pub fn prune(grants: Vec<Grant>, now: u64) -> (Vec<Grant>, Vec<Grant>) {
    grants.into_iter().partition(|g| g.active(now))
}

/// Uses one use of grant `id` for `fp` at `now`: the grant after the use, or why not (expired,
/// used up, revoked, or a plan that changed since the hook or the first look).
///
/// # Errors
/// A one-line reason.
pub fn consume(
    grants: &mut [Grant],
    id: &str,
    fp: &Fingerprint,
    now: u64,
) -> Result<Grant, String> {
    let Some(g) = grants.iter_mut().find(|g| g.id == id) else {
        return Err(format!("grant {id} is gone (revoked, expired or used up)"));
    };
    if now >= g.expires {
        return Err(format!("grant {id} expired"));
    }
    if g.uses_left() == 0 {
        return Err(format!("grant {id} is used up"));
    }
    let diff = differences(&g.fingerprint, fp);
    if !diff.is_empty() {
        return Err(format!("grant {id} does not cover it: {}", diff.join("; ")));
    }
    g.used += 1;
    Ok(g.clone())
}

/// A new grant's id: short, from the creation time and a few random bytes.
#[must_use]
pub fn new_id(now: u64, random: u32) -> String {
    format!("g{:x}{:04x}", now & 0xf_ffff, random & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> Fingerprint {
        Fingerprint {
            project: "/p/wrangler.jsonc".into(),
            command: "deploy".into(),
            class: "production".into(),
            environment: "production".into(),
            target: "shop-production".into(),
            worker: Some("shop-production".into()),
            routes: vec!["shop.example.com/*".into()],
            ..Fingerprint::default()
        }
    }

    fn grant(expires: u64, uses: u32) -> Grant {
        Grant {
            id: "g1".into(),
            owner: "ann".into(),
            reason: None,
            created: 1000,
            expires,
            uses,
            used: 0,
            what: "wrangler deploy".into(),
            fingerprint: fp(),
        }
    }

    #[test]
    fn the_same_plan_matches_until_it_expires() {
        let grants = [grant(2800, 1)];
        assert_eq!(find(&grants, &fp(), 1000), Match::Granted("g1".into()));
        assert_eq!(find(&grants, &fp(), 2799), Match::Granted("g1".into()));
        match find(&grants, &fp(), 2800) {
            Match::Differs { id, parts } => {
                assert_eq!(id, "g1");
                assert_eq!(parts, vec!["it expired".to_owned()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_added_route_is_named() {
        let grants = [grant(2800, 1)];
        let mut now = fp();
        now.routes.push("admin.example.com/*".into());
        match find(&grants, &now, 1500) {
            Match::Differs { parts, .. } => {
                assert_eq!(
                    parts,
                    vec!["routes (added `admin.example.com/*`)".to_owned()]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_added_migration_file_is_named() {
        let mut granted = fp();
        granted.migrations = vec!["0001_init.sql".into()];
        let mut now = granted.clone();
        now.migrations.push("0002_drop.sql".into());
        assert_eq!(
            differences(&granted, &now),
            vec!["migration files (added `0002_drop.sql`)".to_owned()]
        );
    }

    #[test]
    fn consume_uses_each_use_once_and_not_after_expiry() {
        let mut grants = vec![grant(2800, 2)];
        assert_eq!(
            consume(&mut grants, "g1", &fp(), 1100).unwrap().uses_left(),
            1
        );
        assert_eq!(
            consume(&mut grants, "g1", &fp(), 1200).unwrap().uses_left(),
            0
        );
        assert!(
            consume(&mut grants, "g1", &fp(), 1300)
                .unwrap_err()
                .contains("used up")
        );
        let mut fresh = vec![grant(2800, 2)];
        assert!(
            consume(&mut fresh, "g1", &fp(), 2800)
                .unwrap_err()
                .contains("expired")
        );
        assert!(
            consume(&mut fresh, "g2", &fp(), 1000)
                .unwrap_err()
                .contains("gone")
        );
    }

    #[test]
    fn prune_drops_expired_and_used_up() {
        let mut used = grant(5000, 1);
        used.id = "g2".into();
        used.used = 1;
        let (keep, gone) = prune(vec![grant(2800, 1), used], 3000);
        assert!(keep.is_empty());
        assert_eq!(gone.len(), 2);
        let (keep, _) = prune(vec![grant(2800, 1)], 2000);
        assert_eq!(keep.len(), 1);
    }

    /// A project with Worker `shop` and one route, the grants `store` and the clock at `now`.
    fn project(store: Store, now: u64) -> Project {
        Project {
            dir: "/p".into(),
            policy: crate::policy::Policy::default(),
            env: crate::context::Env::default(),
            cloudflare_env: None,
            name_override: None,
            wrangler: crate::classify::Wrangler::Four,
            open_next: false,
            config: Some(Ok(crate::wrangler::config::Config {
                path: "/p/wrangler.jsonc".into(),
                value: serde_json::json!({"name": "shop", "routes": ["shop.example.com/*"]}).into(),
                redirected: false,
            })),
            default_config: None,
            dotenv: DotenvPlan::Untouched,
            dotenv_files: Vec::new(),
            dotenv_problem: None,
            plan_files: crate::core::plan::PlanFiles::default(),
            grants: Grants { now, store },
        }
    }

    fn agent() -> Context {
        Context {
            terminal: false,
            agent: Some("CLAUDECODE"),
            ci: None,
        }
    }

    fn argv(words: &[&str]) -> Invocation {
        let args: Vec<std::ffi::OsString> = words.iter().map(Into::into).collect();
        crate::wrangler::argv::parse(&args)
    }

    /// The grant a human made for `words` in [`project`] at 1000, for 30 minutes.
    fn granted(words: &[&str]) -> Grant {
        let p = project(Store::Absent, 1000);
        let inv = argv(words);
        let a = crate::core::assess::assess(&inv, &p, &agent());
        let plan = crate::core::plan::plan(&inv, &p, &a.operation, a.worker.as_deref());
        Grant {
            fingerprint: fingerprint(&inv, &p, &plan),
            ..grant(1000 + DEFAULT_FOR, 1)
        }
    }

    fn decided(words: &[&str], store: Store, now: u64, ctx: &Context) -> Ruling {
        crate::core::assess::assess(&argv(words), &project(store, now), ctx).ruling
    }

    #[test]
    fn the_decision_runs_a_granted_call_until_the_clock_passes_expiry() {
        let g = granted(&["deploy", "--env", "production"]);
        let store = Store::Read(vec![g]);
        // However it is spelled.
        for words in [
            &["deploy", "--env", "production"][..],
            &["deploy", "-e", "production"],
            &["deploy", "--env=production"],
        ] {
            let r = decided(words, store.clone(), 1000 + DEFAULT_FOR - 1, &agent());
            assert_eq!(r.by, DecidedBy::Grant("g1".into()), "{words:?}");
            assert!(matches!(r.decision, Decision::Run { .. }));
        }
        let r = decided(
            &["deploy", "--env", "production"],
            store.clone(),
            1000 + DEFAULT_FOR,
            &agent(),
        );
        assert_eq!(r.by, DecidedBy::Agent);
        let Decision::Refuse { reason, hint } = r.decision else {
            panic!("{r:?}")
        };
        assert!(
            reason.contains("grant g1 does not cover it: it expired"),
            "{reason}"
        );
        assert!(hint.ends_with(PLACEHOLDER), "{hint}");
        // Another environment, another Worker: not covered.
        let r = decided(&["deploy", "--env", "canary"], store, 1500, &agent());
        assert_eq!(r.by, DecidedBy::Agent);
    }

    #[test]
    fn never_in_ci_never_over_other_refusals_and_not_from_an_ignored_store() {
        let store = Store::Read(vec![granted(&["deploy"])]);
        let mut ci = agent();
        ci.ci = Some(crate::context::CiRun {
            provider: crate::context::Provider::GithubActions,
            repository: "a/b".into(),
            git_ref: "refs/heads/main".into(),
            event: "push".into(),
            workflow: None,
            inconsistencies: Vec::new(),
            identities: Vec::new(),
        });
        let r = decided(&["deploy"], store.clone(), 1500, &ci);
        assert_eq!(r.by, DecidedBy::Agent);
        let Decision::Refuse { hint, .. } = r.decision else {
            panic!()
        };
        assert!(
            !hint.contains(PLACEHOLDER),
            "no grant offered in CI: {hint}"
        );
        // A credential in a --env-file stays refused.
        let mut p = project(store.clone(), 1500);
        p.dotenv = DotenvPlan::Refuse {
            file: "/p/.env.x".into(),
            line: 1,
            var: "CLOUDFLARE_API_TOKEN",
        };
        let r = crate::core::assess::assess(&argv(&["deploy"]), &p, &agent()).ruling;
        assert!(matches!(r.decision, Decision::Refuse { .. }));
        let r = decided(
            &["deploy"],
            Store::Ignored("its mode is 644, not 600".into()),
            1500,
            &agent(),
        );
        let Decision::Refuse { reason, .. } = r.decision else {
            panic!()
        };
        assert!(reason.contains("grants store is ignored"), "{reason}");
        // A script without a terminal is covered too; a human at one still confirms.
        let script = Context {
            terminal: false,
            agent: None,
            ci: None,
        };
        assert_eq!(
            decided(&["deploy"], store.clone(), 1500, &script).by,
            DecidedBy::Grant("g1".into())
        );
        let human = Context {
            terminal: true,
            ..script
        };
        assert_eq!(
            decided(&["deploy"], store, 1500, &human).by,
            DecidedBy::HumanConfirms
        );
    }

    #[test]
    fn argument_values_are_kept_as_digests_and_differences_named() {
        let granted = arguments(&argv(&["deploy", "--var", "KEY:cfut_secret_value"]));
        assert!(granted.iter().all(|a| !a.contains("cfut_")), "{granted:?}");
        let now = arguments(&argv(&["deploy", "--var", "KEY:other"]));
        assert_eq!(
            arguments_diff(&granted, &now),
            Some("arguments (--var)".to_owned())
        );
        assert_eq!(arguments_diff(&granted, &granted), None);
    }

    #[test]
    fn an_agent_making_a_grant_is_seen() {
        for yes in [
            "safe-wrangler grant -- deploy",
            "cd x && /usr/local/bin/safe-wrangler grant --for 2h deploy",
            "'safe-wrangler' grant deploy",
            "echo y | safe-wrangler grant -- deploy --revoke",
        ] {
            assert!(makes_grant(yes), "{yes}");
        }
        for no in [
            "safe-wrangler grants",
            "safe-wrangler grant --revoke g1",
            "safe-wrangler grant --revoke-all",
            "wrangler deploy",
            "echo grant",
        ] {
            assert!(!makes_grant(no), "{no}");
        }
    }
}
