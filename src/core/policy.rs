//! The policy (who may do what) and `decide(Operation, Context, Policy) -> Ruling`.
//!
//! | class                      | human at a terminal | no terminal, agent | CI                     | approved CI          |
//! |----------------------------|---------------------|--------------------|------------------------|----------------------|
//! | local                      | run                 | run                | run                    | run                  |
//! | read, preview              | run                 | run                | run, preview token     | run, preview token   |
//! | production, migration      | confirm             | refuse             | refuse                 | run, class's token   |
//! | dns                        | confirm             | refuse             | refuse                 | run if rule names dns|
//!
//! Outside CI no Cloudflare credential reaches wrangler (the human's OAuth login is used). In a
//! recognised CI run, wrangler gets exactly one credential: `CLOUDFLARE_API_TOKEN` set from the
//! variable `ci_tokens` names for the class. An agent marker wins over everything: an agent is
//! refused, never prompted, even in CI or at a terminal.
//!
//! The policy file (`safe-wrangler.jsonc` or `.json`) lives in the project, found by walking up
//! from the working directory (after `--cwd`); a user file
//! (`$XDG_CONFIG_HOME/safe-wrangler/config.jsonc`) may lock it so it can only tighten.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::classify::{Operation, Targets};
use crate::context::{CiRun, Context, Provider};
use crate::wrangler::Class;

/// The policy file names searched in each directory, in order.
pub const POLICY_NAMES: [&str; 2] = ["safe-wrangler.jsonc", "safe-wrangler.json"];

/// One CI rule: which runs may do which classes of work with no human at the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovedCi {
    pub provider: Provider,
    /// `GITHUB_REPOSITORY` / `CI_PROJECT_PATH`.
    pub repository: String,
    /// `GITHUB_REF` / `refs/heads/$CI_COMMIT_REF_NAME`.
    pub refs: Vec<String>,
    /// `GITHUB_EVENT_NAME` / `CI_PIPELINE_SOURCE`; absent = any.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Workflow files from `GITHUB_WORKFLOW_REF`; absent = any (GitHub only).
    #[serde(default)]
    pub workflows: Option<Vec<String>>,
    /// What it approves; `dns` only when named.
    pub classes: Vec<Class>,
    /// Approve only a run whose provider-signed OIDC identity token verifies and whose claims
    /// match this rule (`crate::oidc`); the variables alone are then never enough.
    #[serde(default)]
    pub oidc: bool,
    /// GitLab with `oidc`: the instance's issuer URL (`https://gitlab.com`); GitHub's is fixed.
    #[serde(default)]
    pub issuer: Option<String>,
    /// With `oidc`: the token's required audience (default `safe-wrangler`).
    #[serde(default)]
    pub audience: Option<String>,
    /// GitLab with `oidc`: the variable the job's `id_tokens:` puts the token in.
    #[serde(default)]
    pub id_token_variable: Option<String>,
    /// With `oidc`: the `repository_id` (GitHub) or `project_id` (GitLab) claim.
    #[serde(default)]
    pub repository_id: Option<String>,
    /// With `oidc`: the `environment` claim (a GitHub Environment with required reviewers, or a
    /// GitLab protected environment, is a human approval inside CI).
    #[serde(default)]
    pub environment: Option<String>,
    /// GitHub with `oidc`: the `runner_environment` claim (`github-hosted`).
    #[serde(default)]
    pub runner_environment: Option<String>,
    /// GitLab with `oidc`: require the `ref_protected` claim to be true (the default) or not.
    #[serde(default)]
    pub ref_protected: Option<bool>,
}

/// Which variable holds the CI token for each class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CiTokens {
    pub production: Option<String>,
    pub migration: Option<String>,
    pub dns: Option<String>,
    pub preview: Option<String>,
}

impl CiTokens {
    /// The variables named, which hold credentials and so never reach wrangler themselves.
    #[must_use]
    pub fn variables(&self) -> Vec<&str> {
        [&self.production, &self.migration, &self.dns, &self.preview]
            .into_iter()
            .filter_map(|v| v.as_deref())
            .collect()
    }
}

/// A policy file as written (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    pub production_environments: Option<Vec<String>>,
    pub preview_environments: Option<Vec<String>>,
    pub production_workers: Option<Vec<String>>,
    pub pages_production_branches: Option<Vec<String>>,
    pub approved_ci: Option<Vec<ApprovedCi>>,
    pub ci_tokens: Option<CiTokens>,
    /// User file only: the project file may only tighten.
    pub lock_project_policy: Option<bool>,
}

/// The policy in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub targets: Targets,
    pub approved_ci: Vec<ApprovedCi>,
    pub ci_tokens: CiTokens,
    /// The files it came from, for explain.
    pub sources: Vec<PathBuf>,
}

/// A policy file that cannot be used: exit 78 with this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The parser's message quotes what it could not read (`invalid type: string "..."`),
        // which may be a pasted credential: every way this is shown gets it redacted and escaped.
        let text = format!("{}: {}", self.path.display(), self.message);
        f.write_str(&crate::display::shown(&text))
    }
}

/// Parses one policy file's text (JSON with comments).
///
/// # Errors
/// Unknown keys, wrong types or a parse error, with the line and column.
pub fn parse_file(path: &Path, text: &str, is_user_file: bool) -> Result<PolicyFile, PolicyError> {
    let err = |message: String| PolicyError {
        path: path.to_owned(),
        message,
    };
    // A byte order mark is accepted, as wrangler accepts one in its own config files.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let stripped = crate::wrangler::config::strip_jsonc(text);
    let file: PolicyFile = serde_json::from_str(&stripped).map_err(|e| err(e.to_string()))?;
    if !is_user_file && file.lock_project_policy.is_some() {
        return Err(err(
            "lock_project_policy belongs in the user file, not the project's".into(),
        ));
    }
    for (i, rule) in file.approved_ci.iter().flatten().enumerate() {
        if rule.repository.is_empty() {
            return Err(err(format!("approved_ci[{i}].repository is empty")));
        }
        if rule.refs.is_empty() {
            return Err(err(format!(
                "approved_ci[{i}].refs is empty: name the refs that may deploy"
            )));
        }
        if rule.classes.is_empty() {
            return Err(err(format!("approved_ci[{i}].classes is empty")));
        }
        if rule.provider == Provider::GitlabCi && rule.workflows.is_some() && !rule.oidc {
            return Err(err(format!(
                "approved_ci[{i}].workflows applies to github-actions, or gitlab-ci with \"oidc\": true"
            )));
        }
        check_oidc_fields(rule).map_err(|m| err(format!("approved_ci[{i}].{m}")))?;
    }
    Ok(file)
}

/// The OIDC fields of one rule make sense together (the message starts with the field's name).
fn check_oidc_fields(rule: &ApprovedCi) -> Result<(), String> {
    let github = rule.provider == Provider::GithubActions;
    let set = [
        ("issuer", rule.issuer.is_some()),
        ("audience", rule.audience.is_some()),
        ("id_token_variable", rule.id_token_variable.is_some()),
        ("repository_id", rule.repository_id.is_some()),
        ("environment", rule.environment.is_some()),
        ("runner_environment", rule.runner_environment.is_some()),
        ("ref_protected", rule.ref_protected.is_some()),
    ];
    for (field, present) in set {
        if present && !rule.oidc {
            return Err(format!("{field} needs \"oidc\": true"));
        }
        let wrong_provider = if github {
            matches!(field, "issuer" | "id_token_variable" | "ref_protected")
        } else {
            field == "runner_environment"
        };
        if present && wrong_provider {
            return Err(format!(
                "{field} does not apply to {}",
                rule.provider.as_str()
            ));
        }
    }
    if let Some(aud) = &rule.audience
        && (aud.is_empty() || aud.chars().any(char::is_control))
    {
        return Err("audience is empty or has control characters".to_owned());
    }
    if rule.oidc && !github {
        let issuer = rule.issuer.as_deref().unwrap_or_default();
        if !issuer.starts_with("https://") || issuer.len() <= "https://".len() {
            return Err(
                "issuer: a gitlab-ci rule with \"oidc\": true names its instance's https URL (e.g. \"https://gitlab.com\")"
                    .to_owned(),
            );
        }
        if rule.id_token_variable.as_deref().is_none_or(str::is_empty) {
            return Err(
                "id_token_variable: a gitlab-ci rule with \"oidc\": true names the variable of the job's id_tokens"
                    .to_owned(),
            );
        }
    }
    Ok(())
}

/// Combines the user file and the project file. Without a lock the project's fields replace the
/// user's; with `lock_project_policy` the project may only add production environments and
/// branches and keep a subset of the user's approvals, never add approvals or reroute tokens.
#[must_use]
pub fn combine(
    user: Option<(PathBuf, PolicyFile)>,
    project: Option<(PathBuf, PolicyFile)>,
) -> Policy {
    let mut policy = Policy::default();
    let locked = user
        .as_ref()
        .is_some_and(|(_, u)| u.lock_project_policy == Some(true));
    if let Some((path, u)) = user {
        policy.sources.push(path);
        apply(&mut policy, u);
    }
    let Some((path, p)) = project else {
        return policy;
    };
    policy.sources.push(path);
    if !locked {
        apply(&mut policy, p);
        return policy;
    }
    for env in p.production_environments.into_iter().flatten() {
        if !policy.targets.production_environments.contains(&env) {
            policy.targets.production_environments.push(env);
        }
    }
    for worker in p.production_workers.into_iter().flatten() {
        if !policy.targets.production_workers.contains(&worker) {
            policy.targets.production_workers.push(worker);
        }
    }
    // Locked, the project may only shrink the non-production names.
    if let Some(preview) = p.preview_environments {
        policy
            .targets
            .preview_environments
            .retain(|e| preview.contains(e));
    }
    for branch in p.pages_production_branches.into_iter().flatten() {
        if !policy.targets.pages_production_branches.contains(&branch) {
            policy.targets.pages_production_branches.push(branch);
        }
    }
    if let Some(project_rules) = p.approved_ci {
        policy.approved_ci.retain(|r| project_rules.contains(r));
    }
    policy
}

fn apply(policy: &mut Policy, file: PolicyFile) {
    if let Some(e) = file.production_environments {
        policy.targets.production_environments = e;
    }
    if let Some(e) = file.preview_environments {
        policy.targets.preview_environments = e;
    }
    if let Some(w) = file.production_workers {
        policy.targets.production_workers = w;
    }
    if let Some(b) = file.pages_production_branches {
        policy.targets.pages_production_branches = b;
    }
    if let Some(a) = file.approved_ci {
        policy.approved_ci = a;
    }
    if let Some(t) = file.ci_tokens {
        policy.ci_tokens = t;
    }
}

/// Which credential wrangler gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "variable")]
pub enum Credential {
    /// None: every Cloudflare credential removed (the human's OAuth login is used).
    None,
    /// `CLOUDFLARE_API_TOKEN` set from this variable, and nothing else.
    Token(String),
}

/// What to do with a call. Refusal is the default path: only `Run` reaches wrangler.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Decision {
    Run {
        credential: Credential,
    },
    /// Ask a human on `/dev/tty` to type `phrase`.
    Confirm {
        phrase: String,
    },
    Refuse {
        reason: String,
        hint: String,
    },
}

impl Decision {
    /// The stable name used in explain's JSON.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Run { .. } => "run",
            Decision::Confirm { .. } => "confirm",
            Decision::Refuse { .. } => "refuse",
        }
    }
}

/// The rule that made a decision: a stable id, written as [`DecidedBy::as_str`] renders it in
/// explain, the audit log, `log` and the hook (`decided_by`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecidedBy {
    /// An AI agent calls and the class needs no approval (`agent-allowed-class`).
    AgentAllowedClass,
    /// An AI agent calls and the class needs a human (`agent`).
    Agent,
    /// Not CI, and the class needs no approval (`local-machine`).
    LocalMachine,
    /// Approval needed and no terminal to ask at (`no-terminal`).
    NoTerminal,
    /// A human at the terminal types the target to confirm (`human-confirms`).
    HumanConfirms,
    /// Something claims to be CI and is not consistent (`ci-not-genuine`).
    CiNotGenuine,
    /// A local-only class in CI (`ci-local`).
    CiLocal,
    /// A preview class in CI, run with the CI token (`ci-preview-token`).
    CiPreviewToken,
    /// The `approved_ci` rule at this index approved the run (`approved_ci[N]`).
    ApprovedCi(usize),
    /// No `approved_ci` rule approved the run (`ci-not-approved`).
    CiNotApproved,
    /// The CI token variable for an approved run is unset (`ci-token-missing`).
    CiTokenMissing,
    /// A `.env` file sets a credential wrangler would use (`env-file-credential`).
    EnvFileCredential,
    /// A `.env` file wrangler would read cannot be read (`dotenv-unreadable`).
    DotenvUnreadable,
    /// The grant with this id covers the call (`grant:<id>`).
    Grant(String),
    /// safe-wrangler keeps calling itself; no decision was made (`nesting-loop`, log only).
    NestingLoop,
}

impl DecidedBy {
    /// The fixed ids, for the variants that carry no data.
    const FIXED: [(DecidedBy, &'static str); 13] = [
        (DecidedBy::AgentAllowedClass, "agent-allowed-class"),
        (DecidedBy::Agent, "agent"),
        (DecidedBy::LocalMachine, "local-machine"),
        (DecidedBy::NoTerminal, "no-terminal"),
        (DecidedBy::HumanConfirms, "human-confirms"),
        (DecidedBy::CiNotGenuine, "ci-not-genuine"),
        (DecidedBy::CiLocal, "ci-local"),
        (DecidedBy::CiPreviewToken, "ci-preview-token"),
        (DecidedBy::CiNotApproved, "ci-not-approved"),
        (DecidedBy::CiTokenMissing, "ci-token-missing"),
        (DecidedBy::EnvFileCredential, "env-file-credential"),
        (DecidedBy::DotenvUnreadable, "dotenv-unreadable"),
        (DecidedBy::NestingLoop, "nesting-loop"),
    ];

    /// The stable id (`approved_ci[N]` and `grant:<id>` are built, the rest are fixed).
    #[must_use]
    pub fn as_str(&self) -> std::borrow::Cow<'static, str> {
        match self {
            DecidedBy::ApprovedCi(i) => format!("approved_ci[{i}]").into(),
            DecidedBy::Grant(id) => format!("grant:{id}").into(),
            fixed => Self::FIXED
                .iter()
                .find(|(v, _)| v == fixed)
                .map_or("", |(_, s)| s)
                .into(),
        }
    }

    /// The grant id when a grant decided.
    #[must_use]
    pub fn grant(&self) -> Option<&str> {
        match self {
            DecidedBy::Grant(id) => Some(id),
            _ => None,
        }
    }

    /// Whether an `approved_ci` rule approved the run.
    #[must_use]
    pub fn is_approved_ci(&self) -> bool {
        matches!(self, DecidedBy::ApprovedCi(_))
    }
}

impl std::fmt::Display for DecidedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl std::str::FromStr for DecidedBy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some((v, _)) = Self::FIXED.iter().find(|(_, id)| *id == s) {
            return Ok(v.clone());
        }
        if let Some(id) = s.strip_prefix("grant:")
            && !id.is_empty()
        {
            return Ok(DecidedBy::Grant(id.to_owned()));
        }
        s.strip_prefix("approved_ci[")
            .and_then(|rest| rest.strip_suffix(']'))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok())
            .map(DecidedBy::ApprovedCi)
            .ok_or_else(|| format!("unknown decided_by {s:?}"))
    }
}

impl Serialize for DecidedBy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for DecidedBy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A decision and the policy rule that made it (a stable id for explain and the audit log).
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    pub decision: Decision,
    pub by: DecidedBy,
    /// When an `"oidc": true` rule approved: the verified identity that proved the run.
    pub identity: Option<crate::oidc::Proof>,
}

fn ruling(decision: Decision, by: DecidedBy) -> Ruling {
    Ruling {
        decision,
        by,
        identity: None,
    }
}

/// The variable holding the CI token for `class`: `ci_tokens`, else `CLOUDFLARE_API_TOKEN`.
/// Read and preview work use the preview token.
#[must_use]
pub fn token_variable(tokens: &CiTokens, class: Class) -> String {
    let named = match class {
        Class::Local | Class::Read | Class::Preview => &tokens.preview,
        Class::Production => &tokens.production,
        Class::Migration => &tokens.migration,
        Class::Dns => &tokens.dns,
    };
    named
        .clone()
        .unwrap_or_else(|| "CLOUDFLARE_API_TOKEN".to_owned())
}

/// The events (GitHub `GITHUB_EVENT_NAME`, GitLab `CI_PIPELINE_SOURCE`) a rule approves.
/// Without `events`, only runs of pushed code: `pull_request_target`, `issue_comment` or a
/// merge-request pipeline also carry the approved ref but may run someone else's code.
#[must_use]
pub fn allowed_events(rule: &ApprovedCi) -> Vec<String> {
    rule.events.clone().unwrap_or_else(|| match rule.provider {
        Provider::GithubActions => vec!["push".into(), "workflow_dispatch".into()],
        Provider::GitlabCi => vec!["push".into(), "web".into()],
    })
}

/// Why `rule` does not approve `class` for `run` by its environment variables; `None` when it
/// does. An `"oidc": true` rule also needs [`crate::oidc::check`].
#[must_use]
pub fn mismatch(rule: &ApprovedCi, run: &CiRun, class: Class) -> Option<String> {
    if rule.provider != run.provider {
        return Some(format!(
            "provider is {}, not {}",
            run.provider.as_str(),
            rule.provider.as_str()
        ));
    }
    if rule.repository != run.repository {
        return Some(format!(
            "repository {:?} is not {:?}",
            run.repository, rule.repository
        ));
    }
    if !rule.refs.contains(&run.git_ref) {
        return Some(format!(
            "ref {:?} is not in refs {:?}",
            run.git_ref, rule.refs
        ));
    }
    let events = allowed_events(rule);
    if !events.contains(&run.event) {
        return Some(format!("event {:?} is not in events {events:?}", run.event));
    }
    // With `oidc` the workflow is checked on the token's claims, which also name a reusable
    // workflow (`job_workflow_ref`) that `GITHUB_WORKFLOW_REF` does not.
    if !rule.oidc
        && let Some(workflows) = &rule.workflows
        && !run.workflow.as_ref().is_some_and(|w| workflows.contains(w))
    {
        return Some(format!(
            "workflow {:?} is not in workflows {workflows:?}",
            run.workflow
        ));
    }
    if !rule.classes.contains(&class) {
        return Some(format!(
            "classes {:?} do not include {}",
            rule.classes,
            class.as_str()
        ));
    }
    None
}

/// Decides one call. `target` is what a human must type to confirm.
pub fn decide(op: &Operation, ctx: &Context, policy: &Policy, target: &str) -> Ruling {
    let class = op.class;
    let ask_human = format!("ask a human to run it in their terminal: {}", "{cmd}");
    if let Some(evidence) = ctx.agent_evidence() {
        if !class.needs_approval() {
            return ruling(
                Decision::Run {
                    credential: Credential::None,
                },
                DecidedBy::AgentAllowedClass,
            );
        }
        let reason = format!(
            "an AI agent is calling ({evidence}) and {} work needs a human",
            class.as_str()
        );
        return ruling(
            Decision::Refuse {
                reason,
                hint: ask_human,
            },
            DecidedBy::Agent,
        );
    }
    let Some(run) = &ctx.ci else {
        if !class.needs_approval() {
            return ruling(
                Decision::Run {
                    credential: Credential::None,
                },
                DecidedBy::LocalMachine,
            );
        }
        if !ctx.terminal {
            let reason = format!(
                "{} work needs a human at a terminal, and there is none",
                class.as_str()
            );
            return ruling(
                Decision::Refuse {
                    reason,
                    hint: ask_human,
                },
                DecidedBy::NoTerminal,
            );
        }
        return ruling(
            Decision::Confirm {
                phrase: target.to_owned(),
            },
            DecidedBy::HumanConfirms,
        );
    };
    decide_ci(class, run, policy, &ask_human)
}

/// The CI half of [`decide`]: a recognised provider, no agent.
fn decide_ci(class: Class, run: &CiRun, policy: &Policy, ask_human: &str) -> Ruling {
    let provider = run.provider.as_str();
    if !run.inconsistencies.is_empty() {
        // Something claims to be CI and is not consistent: never trusted with any token.
        if !class.needs_approval() {
            return ruling(
                Decision::Run {
                    credential: Credential::None,
                },
                DecidedBy::CiNotGenuine,
            );
        }
        let reason = format!(
            "this does not look like a genuine {provider} run ({})",
            run.inconsistencies.join("; ")
        );
        return ruling(
            Decision::Refuse {
                reason,
                hint: ask_human.to_owned(),
            },
            DecidedBy::CiNotGenuine,
        );
    }
    if class == Class::Local {
        return ruling(
            Decision::Run {
                credential: Credential::None,
            },
            DecidedBy::CiLocal,
        );
    }
    if !class.needs_approval() {
        let var = token_variable(&policy.ci_tokens, class);
        return ruling(
            Decision::Run {
                credential: Credential::Token(var),
            },
            DecidedBy::CiPreviewToken,
        );
    }
    let mut why_not = Vec::new();
    for (i, rule) in policy.approved_ci.iter().enumerate() {
        let verdict = match mismatch(rule, run, class) {
            Some(why) => Err(why),
            None if rule.oidc => crate::oidc::check(rule, run).map(Some),
            None => Ok(None),
        };
        match verdict {
            Ok(proof) => {
                let var = token_variable(&policy.ci_tokens, class);
                let by = DecidedBy::ApprovedCi(i);
                let rule = by.to_string();
                let mut approved = ruling(
                    Decision::Run {
                        credential: Credential::Token(var),
                    },
                    by,
                );
                approved.identity = proof.map(|p| crate::oidc::Proof { rule, ..p });
                return approved;
            }
            Err(why) => why_not.push(format!("approved_ci[{i}]: {why}")),
        }
    }
    let reason = format!("{provider} is not approved for {} work", class.as_str());
    let hint = if why_not.is_empty() {
        format!("this project's policy approves no CI run; {ask_human}")
    } else {
        format!("{}; or {ask_human}", why_not.join("; "))
    };
    ruling(Decision::Refuse { reason, hint }, DecidedBy::CiNotApproved)
}

/// What a human types to confirm: the resource the call acts on (database, bucket, Pages
/// project, KV namespace), else the Worker, else the environment.
#[must_use]
pub fn confirm_phrase(
    op: &Operation,
    inv: &crate::wrangler::argv::Invocation,
    worker: Option<&str>,
) -> String {
    let first = inv
        .positionals
        .first()
        .map(String::as_str)
        .filter(|p| !p.is_empty());
    let resource = match op.command.split(' ').next().unwrap_or_default() {
        "d1" | "queues" | "hyperdrive" | "vectorize" => first.map(str::to_owned),
        "r2" => first.map(|p| p.split('/').next().unwrap_or(p).to_owned()),
        "pages" => inv
            .value("project-name")
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
        "kv" => inv
            .value("binding")
            .or_else(|| inv.value("namespace-id"))
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
        _ => None,
    };
    // Nothing better known: the environment's name, and for the top level a word to type.
    resource
        .or_else(|| worker.map(str::to_owned))
        .unwrap_or_else(|| {
            if op.environment.is_empty() {
                "top-level".to_owned()
            } else {
                op.environment.clone()
            }
        })
}

/// The environment for a human to read: its name, or "(top level)".
#[must_use]
pub fn environment_label(environment: &str) -> &str {
    if environment.is_empty() {
        "(top level)"
    } else {
        environment
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decided_by_has_its_stable_string_through_serde() {
        let all = [
            (DecidedBy::AgentAllowedClass, "agent-allowed-class"),
            (DecidedBy::Agent, "agent"),
            (DecidedBy::LocalMachine, "local-machine"),
            (DecidedBy::NoTerminal, "no-terminal"),
            (DecidedBy::HumanConfirms, "human-confirms"),
            (DecidedBy::CiNotGenuine, "ci-not-genuine"),
            (DecidedBy::CiLocal, "ci-local"),
            (DecidedBy::CiPreviewToken, "ci-preview-token"),
            (DecidedBy::ApprovedCi(0), "approved_ci[0]"),
            (DecidedBy::ApprovedCi(12), "approved_ci[12]"),
            (DecidedBy::CiNotApproved, "ci-not-approved"),
            (DecidedBy::CiTokenMissing, "ci-token-missing"),
            (DecidedBy::EnvFileCredential, "env-file-credential"),
            (DecidedBy::DotenvUnreadable, "dotenv-unreadable"),
            (DecidedBy::Grant("g-7f3a".into()), "grant:g-7f3a"),
            (DecidedBy::NestingLoop, "nesting-loop"),
        ];
        for (by, id) in &all {
            assert_eq!(by.as_str(), *id);
            assert_eq!(by.to_string(), *id);
            let json = serde_json::to_string(by).unwrap();
            assert_eq!(json, format!("\"{id}\""));
            assert_eq!(serde_json::from_str::<DecidedBy>(&json).unwrap(), *by);
            assert_eq!(id.parse::<DecidedBy>().as_ref(), Ok(by));
        }
        // Every data-less variant's id is listed above, and each id names one variant.
        for (by, id) in &DecidedBy::FIXED {
            assert!(all.contains(&(by.clone(), id)), "{id}");
        }
        assert_eq!(DecidedBy::FIXED.len() + 3, all.len());
        for bad in [
            "",
            "Agent",
            "grant:",
            "approved_ci[]",
            "approved_ci[x]",
            "approved_ci[-1]",
            "approved_ci[1",
        ] {
            assert!(bad.parse::<DecidedBy>().is_err(), "{bad:?}");
            assert!(
                serde_json::from_str::<DecidedBy>(&format!("\"{bad}\"")).is_err(),
                "{bad:?}"
            );
        }
    }

    fn op(class: Class) -> Operation {
        Operation {
            class,
            rule: "test".into(),
            command: "deploy".into(),
            environment: String::new(),
            production: class.needs_approval(),
            remote: true,
            destructive: false,
            why: String::new(),
            facts: Vec::new(),
            routes: Vec::new(),
        }
    }

    fn ci(inconsistent: bool) -> CiRun {
        CiRun {
            provider: Provider::GithubActions,
            repository: "acme/shop".into(),
            git_ref: "refs/heads/main".into(),
            event: "push".into(),
            workflow: Some(".github/workflows/deploy.yml".into()),
            inconsistencies: if inconsistent {
                vec!["forged".into()]
            } else {
                Vec::new()
            },
            identities: Vec::new(),
        }
    }

    fn rule(classes: &[Class]) -> ApprovedCi {
        ApprovedCi {
            provider: Provider::GithubActions,
            repository: "acme/shop".into(),
            refs: vec!["refs/heads/main".into()],
            events: Some(vec!["push".into()]),
            workflows: Some(vec![".github/workflows/deploy.yml".into()]),
            classes: classes.to_vec(),
            oidc: false,
            issuer: None,
            audience: None,
            id_token_variable: None,
            repository_id: None,
            environment: None,
            runner_environment: None,
            ref_protected: None,
        }
    }

    fn approving(classes: &[Class]) -> Policy {
        Policy {
            approved_ci: vec![rule(classes)],
            ci_tokens: CiTokens {
                production: Some("CF_DEPLOY_TOKEN".into()),
                migration: Some("CF_D1_TOKEN".into()),
                dns: None,
                preview: Some("CF_PREVIEW_TOKEN".into()),
            },
            ..Policy::default()
        }
    }

    /// One line per context x class: r = run without credentials, p = run with the preview
    /// token, t = run with the class's token, c = confirm, x = refuse. Columns: local, read,
    /// preview, production, migration, dns.
    #[test]
    fn table() {
        let human = Context {
            terminal: true,
            agent: None,
            ci: None,
        };
        let no_tty = Context {
            terminal: false,
            agent: None,
            ci: None,
        };
        let agent = Context {
            terminal: true,
            agent: Some("CLAUDECODE"),
            ci: Some(ci(false)),
        };
        let genuine = Context {
            terminal: false,
            agent: None,
            ci: Some(ci(false)),
        };
        let forged = Context {
            terminal: true,
            agent: None,
            ci: Some(ci(true)),
        };
        let none = Policy::default();
        let prod_mig = approving(&[Class::Production, Class::Migration]);
        let all = approving(&[Class::Production, Class::Migration, Class::Dns]);
        let rows: [(&Context, &Policy, &str); 8] = [
            (&human, &none, "rrrccc"),
            (&no_tty, &none, "rrrxxx"),
            (&agent, &all, "rrrxxx"),
            (&genuine, &none, "rppxxx"),
            (&genuine, &prod_mig, "rppttx"),
            (&genuine, &all, "rppttt"),
            (&forged, &all, "rrrxxx"),
            (&human, &all, "rrrccc"),
        ];
        for (ctx, policy, expected) in rows {
            let got: String = Class::ALL
                .iter()
                .map(|c| match decide(&op(*c), ctx, policy, "w").decision {
                    Decision::Run {
                        credential: Credential::None,
                    } => 'r',
                    Decision::Run {
                        credential: Credential::Token(v),
                    } if v == "CF_PREVIEW_TOKEN"
                        || v == "CLOUDFLARE_API_TOKEN" && *c <= Class::Preview =>
                    {
                        'p'
                    }
                    Decision::Run {
                        credential: Credential::Token(_),
                    } => 't',
                    Decision::Confirm { .. } => 'c',
                    Decision::Refuse { .. } => 'x',
                })
                .collect();
            assert_eq!(got, expected, "{}", ctx.describe());
        }
    }

    #[test]
    fn tokens_per_class_and_refusals_that_teach() {
        let ctx = Context {
            terminal: false,
            agent: None,
            ci: Some(ci(false)),
        };
        let policy = approving(&[Class::Production, Class::Migration]);
        let r = decide(&op(Class::Production), &ctx, &policy, "w");
        assert_eq!(
            r.decision,
            Decision::Run {
                credential: Credential::Token("CF_DEPLOY_TOKEN".into())
            }
        );
        assert_eq!(r.by, DecidedBy::ApprovedCi(0));
        let r = decide(&op(Class::Dns), &ctx, &policy, "w");
        let Decision::Refuse { hint, .. } = r.decision else {
            panic!()
        };
        assert!(hint.contains("approved_ci[0]: classes"), "{hint}");
        let mut feature = ci(false);
        feature.git_ref = "refs/heads/feature".into();
        let ctx = Context {
            terminal: false,
            agent: None,
            ci: Some(feature),
        };
        let Decision::Refuse { hint, .. } =
            decide(&op(Class::Production), &ctx, &policy, "w").decision
        else {
            panic!()
        };
        assert!(
            hint.contains("ref \"refs/heads/feature\" is not in refs"),
            "{hint}"
        );
        assert_eq!(
            token_variable(&CiTokens::default(), Class::Production),
            "CLOUDFLARE_API_TOKEN"
        );
    }

    #[test]
    fn without_events_only_pushed_code_is_approved() {
        let mut open = rule(&[Class::Production]);
        open.events = None;
        let mut run = ci(false);
        assert_eq!(mismatch(&open, &run, Class::Production), None);
        for event in ["pull_request_target", "issue_comment", "pull_request"] {
            run.event = event.into();
            assert!(
                mismatch(&open, &run, Class::Production).is_some(),
                "{event}"
            );
        }
    }

    #[test]
    fn policy_files_parse_strictly() {
        let p = Path::new("safe-wrangler.jsonc");
        let good = r#"{
          // comment
          "production_environments": ["", "production"],
          "approved_ci": [{ "provider": "github-actions", "repository": "acme/shop", "refs": ["refs/heads/main"], "classes": ["production"] }],
          "ci_tokens": { "production": "CF_DEPLOY_TOKEN" },
        }"#;
        assert!(parse_file(p, good, false).is_ok());
        let bom = format!("\u{feff}{good}");
        assert!(parse_file(p, &bom, false).is_ok(), "a BOM is accepted");
        for (bad, needle) in [
            (
                r#"{"production_enviroments": []}"#,
                "unknown field `production_enviroments`",
            ),
            (
                r#"{"approved_ci": [{"provider": "jenkins", "repository": "a", "refs": ["r"], "classes": ["production"]}]}"#,
                "unknown variant `jenkins`",
            ),
            (
                "{\n\"approved_ci\": [{\"provider\": \"github-actions\", \"repository\": \"a\", \"refs\": [\"r\"], \"classes\": [\"everything\"]}]}",
                "line 2",
            ),
            (r#"{"production_environments": "prod"}"#, "invalid type"),
            (
                r#"{"approved_ci": [{"provider": "github-actions", "repository": "a", "refs": [], "classes": ["production"]}]}"#,
                "refs is empty",
            ),
            (r#"{"lock_project_policy": true}"#, "user file"),
            ("{ nope", "line 1"),
            (r#"{ "production_environments": [,] }"#, "line 1"),
            ("{\n \"production_environments\": [\"a\",,]\n}", "line 2"),
            ("{ , }", "line 1"),
        ] {
            let e = parse_file(p, bad, false).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
            assert!(e.starts_with("safe-wrangler.jsonc: "), "{e}");
        }
    }

    #[test]
    fn a_locked_user_policy_only_tightens() {
        let user = PolicyFile {
            approved_ci: Some(vec![rule(&[Class::Production])]),
            ci_tokens: Some(CiTokens {
                production: Some("CF_DEPLOY_TOKEN".into()),
                ..CiTokens::default()
            }),
            lock_project_policy: Some(true),
            ..PolicyFile::default()
        };
        let mut evil = rule(&[Class::Production, Class::Dns]);
        evil.refs.push("refs/heads/anything".into());
        let project = PolicyFile {
            production_environments: Some(vec!["live".into()]),
            approved_ci: Some(vec![evil]),
            ci_tokens: Some(CiTokens {
                production: Some("CF_PREVIEW_TOKEN".into()),
                ..CiTokens::default()
            }),
            ..PolicyFile::default()
        };
        let p = combine(
            Some(("u".into(), user.clone())),
            Some(("p".into(), project.clone())),
        );
        assert!(p.approved_ci.is_empty(), "the project cannot add approvals");
        assert_eq!(p.ci_tokens.production.as_deref(), Some("CF_DEPLOY_TOKEN"));
        assert!(p.targets.production_environments.contains(&String::new()));
        assert!(
            p.targets
                .production_environments
                .contains(&"live".to_owned())
        );
        let mut unlocked = user;
        unlocked.lock_project_policy = None;
        let p = combine(Some(("u".into(), unlocked)), Some(("p".into(), project)));
        assert_eq!(p.targets.production_environments, vec!["live".to_owned()]);
    }

    #[test]
    fn a_locked_project_can_only_shrink_the_non_production_names() {
        let user = PolicyFile {
            preview_environments: Some(vec!["staging".into(), "calibration".into()]),
            lock_project_policy: Some(true),
            ..PolicyFile::default()
        };
        let project = PolicyFile {
            preview_environments: Some(vec!["staging".into(), "mainnet".into()]),
            production_workers: Some(vec!["legacy".into()]),
            ..PolicyFile::default()
        };
        let p = combine(
            Some(("u".into(), user.clone())),
            Some(("p".into(), project.clone())),
        );
        assert_eq!(p.targets.preview_environments, vec!["staging".to_owned()]);
        assert_eq!(p.targets.production_workers, vec!["legacy".to_owned()]);
        assert!(p.targets.is_production_environment("mainnet"));
        assert!(p.targets.is_production_environment("calibration"));
        assert!(!p.targets.is_production_environment("staging"));
        let mut unlocked = user;
        unlocked.lock_project_policy = None;
        let p = combine(Some(("u".into(), unlocked)), Some(("p".into(), project)));
        assert!(!p.targets.is_production_environment("mainnet"));
        // Listed in both: production wins.
        let both = combine(
            None,
            Some((
                "p".into(),
                PolicyFile {
                    production_environments: Some(vec!["qa".into()]),
                    ..PolicyFile::default()
                },
            )),
        );
        assert!(both.targets.is_production_environment("qa"));
        assert!(both.targets.is_production_environment(""));
    }
}
