//! The pure pipeline for one call: [`Invocation`] and [`Project`] (what the gather step read) and
//! the caller's [`Context`] in, an [`Assessment`] out. No file, process or terminal is touched
//! here, so explain, the hook and the wrapper get the same answer for the same inputs.

use crate::classify::{self, Operation};
use crate::context::{Context, Env};
use crate::credentials::DotenvPlan;
use crate::policy::{self, Credential, Decision, Ruling};
use crate::wrangler::argv::Invocation;
use crate::wrangler::config::{Config, ConfigError};

/// Everything outside the argv that the decision depends on, read once.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory wrangler would work in (after `--cwd`).
    pub dir: std::path::PathBuf,
    /// The policy in force.
    pub policy: policy::Policy,
    /// The caller's environment (credentials and markers are judged on it).
    pub env: Env,
    /// `CLOUDFLARE_ENV` as wrangler will see it: the real one, else from the `.env` files it
    /// loads (`Some("")`: files that disagree, read as the top level).
    pub cloudflare_env: Option<String>,
    /// The Worker name `WRANGLER_CI_OVERRIDE_NAME` gives (real, else from the `.env` files).
    pub name_override: Option<String>,
    /// The installed wrangler is not wrangler 4 (its data commands default to remote).
    pub legacy_wrangler: bool,
    /// The config consulted, or why it could not be read; `None` when none was needed or found.
    pub config: Option<Result<Config, ConfigError>>,
    /// What to do about the `.env` files wrangler would load (a credential in one the user named
    /// with `--env-file` is a refusal).
    pub dotenv: DotenvPlan,
    /// Local files the plan shows (SQL, migrations, secret names); empty unless a plan is made.
    pub plan_files: crate::core::plan::PlanFiles,
    /// The grants store and the clock, read only for work that needs approval (issue 14).
    pub grants: crate::core::grant::Grants,
}

/// Everything the pure core says about one call.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub invocation: Invocation,
    pub operation: Operation,
    pub context: Context,
    pub ruling: Ruling,
    /// The policy in force.
    pub policy: policy::Policy,
    /// The directory wrangler would work in (after `--cwd`).
    pub dir: std::path::PathBuf,
    /// The config file consulted for the target's name, or why it could not be read.
    pub config: Option<Result<std::path::PathBuf, ConfigError>>,
    /// The Worker the call acts on, when known.
    pub worker: Option<String>,
    /// What to do about the `.env` files wrangler would load.
    pub dotenv: DotenvPlan,
}

/// The classification of `inv` in `project`.
#[must_use]
pub fn operation(inv: &Invocation, project: &Project) -> Operation {
    classify::classify(
        inv,
        project.cloudflare_env.as_deref(),
        project.name_override.as_deref(),
        project.legacy_wrangler,
        project.config.as_ref(),
        &project.policy.targets,
    )
}

/// Whether the call needs approval (a human or approved CI): then the config and the terminal
/// are worth reading.
#[must_use]
pub fn gated(inv: &Invocation, project: &Project) -> bool {
    operation(inv, project).class.needs_approval()
}

/// The Worker a call acts on, in wrangler's precedence: `--name`, else `WRANGLER_CI_OVERRIDE_NAME`
/// (real or from `.env`), else the config's name for the environment. The one precedence used by
/// the classifier's facts, the prompt and the audit line.
#[must_use]
pub fn worker(
    inv: &Invocation,
    name_override: Option<&str>,
    environment: &str,
    config: Option<&Result<Config, ConfigError>>,
) -> Option<String> {
    classify::explicit_worker(inv, name_override)
        .map(str::to_owned)
        .or_else(|| match config {
            Some(Ok(cfg)) => cfg.worker_name(environment),
            _ => None,
        })
}

/// Classifies and decides. Total: every refusal, including a credential in a `--env-file` and a
/// missing CI token, is decided here.
#[must_use]
pub fn assess(inv: &Invocation, project: &Project, context: &Context) -> Assessment {
    let operation = operation(inv, project);
    let worker = worker(
        inv,
        project.name_override.as_deref(),
        &operation.environment,
        project.config.as_ref(),
    );
    let phrase = crate::core::plan::target(inv, project, &operation, worker.as_deref());
    let ruling = decide(&operation, context, project, &phrase);
    let ruling =
        crate::core::grant::cover(ruling, inv, project, &operation, worker.as_deref(), context);
    Assessment {
        invocation: inv.clone(),
        context: context.clone(),
        ruling,
        policy: project.policy.clone(),
        dir: project.dir.clone(),
        config: project
            .config
            .as_ref()
            .map(|c| c.as_ref().map(|cfg| cfg.path.clone()).map_err(Clone::clone)),
        worker,
        dotenv: project.dotenv.clone(),
        operation,
    }
}

/// [`policy::decide`], then what the project itself rules out.
pub fn decide(op: &Operation, ctx: &Context, project: &Project, phrase: &str) -> Ruling {
    let ruling = policy::decide(op, ctx, &project.policy, phrase);
    if let Decision::Run {
        credential: Credential::Token(var),
    } = &ruling.decision
        && op.class.needs_approval()
        && project.env.get(var).is_none_or(std::ffi::OsStr::is_empty)
    {
        return Ruling {
            decision: Decision::Refuse {
                reason: format!(
                    "{var}, which holds the token for {} work in CI, is not set",
                    op.class.as_str()
                ),
                hint: "set it from your CI secrets for this job, or ask a human to run: {cmd}"
                    .to_owned(),
            },
            by: "ci-token-missing".to_owned(),
        };
    }
    if let DotenvPlan::Refuse { file, line, var } = &project.dotenv
        && !matches!(ruling.decision, Decision::Refuse { .. })
    {
        return Ruling {
            decision: Decision::Refuse {
                reason: format!(
                    "{}:{line} sets {var}, and wrangler would use it instead of your OAuth login",
                    file.display()
                ),
                hint: "remove the credential from that file (keep tokens in CI secrets), then run {cmd} again".to_owned(),
            },
            by: "env-file-credential".to_owned(),
        };
    }
    ruling
}
