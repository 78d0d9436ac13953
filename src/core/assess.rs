//! The pure pipeline for one call: [`Invocation`] and [`Project`] (what the gather step read) and
//! the caller's [`Context`] in, an [`Assessment`] out. No file, process or terminal is touched
//! here, so explain, the hook and the wrapper get the same answer for the same inputs.

use crate::classify::{self, Operation};
use crate::context::{Context, Env};
use crate::credentials::DotenvPlan;
use crate::policy::{self, Credential, Decision, Ruling};
use crate::wrangler::argv::Invocation;
use crate::wrangler::config::{Config, ConfigError};
use std::path::PathBuf;

/// Everything outside the argv that the decision depends on, read once.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory wrangler would work in (after `--cwd`).
    pub dir: std::path::PathBuf,
    /// The policy in force.
    pub policy: policy::Policy,
    /// The caller's environment (credentials and markers are judged on it).
    pub env: Env,
    /// `CLOUDFLARE_ENV` as wrangler will see it: from the `.env` files it loads, read as its
    /// dotenv reads them (the real environment's non-empty value winning), else the real one.
    pub cloudflare_env: Option<String>,
    /// The Worker name `WRANGLER_CI_OVERRIDE_NAME` gives (real, else from the `.env` files).
    pub name_override: Option<String>,
    /// The wrangler that would run, for a data command whose class its version changes
    /// (wrangler 3's default to remote); [`crate::classify::Wrangler::Four`] otherwise.
    pub wrangler: crate::classify::Wrangler,
    /// The working directory is an `OpenNext` project (`next.config.*`, `open-next.config.*` and
    /// `@opennextjs/cloudflare` installed there) and `OPEN_NEXT_DEPLOY` is unset: wrangler hands
    /// `deploy` to `opennextjs-cloudflare deploy` with the words after `deploy`.
    pub open_next: bool,
    /// The config consulted, or why it could not be read; `None` when none was needed or found.
    pub config: Option<Result<Config, ConfigError>>,
    /// The project's default config (found from the working directory without `--config` or a
    /// redirect), when the config consulted is another file: its production Workers and data
    /// stay production whatever config a call points at.
    pub default_config: Option<Result<Config, ConfigError>>,
    /// What to do about the `.env` files wrangler would load (a credential in one the user named
    /// with `--env-file` is a refusal).
    pub dotenv: DotenvPlan,
    /// The `.env` files wrangler would load that exist, with their contents, in its load order
    /// (each read once, by the gather step).
    pub dotenv_files: Vec<(PathBuf, Vec<u8>)>,
    /// Why what wrangler would load from its `.env` files cannot be known; the call is refused.
    pub dotenv_problem: Option<DotenvProblem>,
    /// Local files the plan shows (SQL, migrations, secret names); empty unless a plan is made.
    pub plan_files: crate::core::plan::PlanFiles,
    /// The grants store and the clock, read only for work that needs approval (issue 14).
    pub grants: crate::core::grant::Grants,
}

/// Why we cannot know what wrangler would load from its `.env` files: each refuses the call
/// (`dotenv-unreadable`), whoever calls, except help and version (printed before any is loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DotenvProblem {
    /// wrangler would load `file`, but we cannot read it whole (`why`: too large, a FIFO, a
    /// device or socket, unreadable).
    Unreadable { file: PathBuf, why: String },
    /// `DOTENV_KEY` is set, so dotenv would load this encrypted `<file>.vault` instead.
    Vault(PathBuf),
    /// Expanding the values would stop or hang wrangler ([`crate::wrangler::dotenv::Stuck`]).
    Stuck(String),
}

impl DotenvProblem {
    /// The refusal's reason.
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            DotenvProblem::Unreadable { file, why } => format!(
                "wrangler would load the .env file {}, but {why}",
                file.display()
            ),
            DotenvProblem::Vault(vault) => format!(
                "wrangler would load {} (DOTENV_KEY is set), an encrypted file safe-wrangler cannot read",
                vault.display()
            ),
            DotenvProblem::Stuck(what) => format!(
                "wrangler cannot expand the values in its .env files ({what}); it would stop or hang"
            ),
        }
    }
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
        &project.wrangler,
        project.open_next,
        project.config.as_ref(),
        project.default_config.as_ref(),
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
    // Help and version print before wrangler loads any `.env` file; every other call loads them,
    // and one we cannot read whole could hold a credential or a target: refused, whoever calls.
    let prints_help = matches!(
        op.rule.as_str(),
        "help-or-version" | "no-command" | "namespace-help"
    );
    if let Some(problem) = &project.dotenv_problem
        && !prints_help
    {
        return Ruling {
            decision: Decision::Refuse {
                reason: problem.reason(),
                hint: "fix or remove that file, or name the files to load with --env-file, then run {cmd} again".to_owned(),
            },
            by: policy::DecidedBy::DotenvUnreadable,
            identity: None,
        };
    }
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
            by: policy::DecidedBy::CiTokenMissing,
            identity: None,
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
            by: policy::DecidedBy::EnvFileCredential,
            identity: None,
        };
    }
    ruling
}
