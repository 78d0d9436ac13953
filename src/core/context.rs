//! Who is calling: a human at a terminal, an agent, or CI.
//!
//! Pure over the environment, with two measurements handed in from the edge: whether a terminal
//! is present, and a file reader (GitHub's event file, the runner's temp directory).
//!
//! CI is recognised per provider from the provider's own variables, checked for consistency; a
//! bare `CI=true` is not CI. This is still only the environment, which anyone can forge: a
//! forged CI run can at most look like the CI run it copies. What truly proves a CI run is a
//! signed OIDC token from the provider checked against the provider's keys: policy rules with
//! `"oidc": true` demand one (`crate::oidc`), and its outcome is added to [`CiRun::identities`] by
//! the gather step.

use std::ffi::{OsStr, OsString};

use serde::Serialize;

/// The process environment as handed to us, in order, as `OsString`s (a non-UTF-8 value must not
/// slip past a UTF-8-only filter).
#[derive(Debug, Clone, Default)]
pub struct Env(pub Vec<(OsString, OsString)>);

impl Env {
    /// The value of `name`, if set (the last one wins, as with `getenv`).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_os_str())
    }

    /// The value as UTF-8, if set and valid.
    #[must_use]
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(OsStr::to_str)
    }

    /// Set and not empty.
    #[must_use]
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !v.is_empty())
    }
}

impl<K: Into<OsString>, V: Into<OsString>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Env(iter
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect())
    }
}

/// Variables that AI coding agents set in the shells they run commands in. Any of them, set to
/// any non-empty value, means "not a human": refuse, never prompt, even in CI or at a terminal.
/// Markers only ever tighten, so a false positive costs a refusal, never a run. Sources:
/// wrangler's own agent detection (am-i-vibing, `../shared/wrangler/env.md`) and the agents'
/// documentation: Claude Code (`CLAUDECODE`), Codex (`CODEX_THREAD_ID`, `CODEX_SANDBOX`,
/// `CODEX_SANDBOX_NETWORK_DISABLED`), Gemini CLI (`GEMINI_CLI`), Cursor's agent (`CURSOR_AGENT`),
/// opencode (`OPENCODE`), Amp (`AMP_CURRENT_THREAD_ID`), Augment (`AUGMENT_AGENT`), Qwen Code
/// (`QWEN_CODE`), GitHub Copilot's coding agent (`COPILOT_AGENT_*` is its prefix; the CLI sets
/// `COPILOT_CLI`), Replit's agent (`REPLIT_AGENT`), and the generic `AI_AGENT`.
pub const AGENT_MARKERS: &[&str] = &[
    "CLAUDECODE",
    "CODEX_THREAD_ID",
    "CODEX_SANDBOX",
    "CODEX_SANDBOX_NETWORK_DISABLED",
    "GEMINI_CLI",
    "CURSOR_AGENT",
    "AI_AGENT",
    "OPENCODE",
    "AMP_CURRENT_THREAD_ID",
    "AUGMENT_AGENT",
    "QWEN_CODE",
    "COPILOT_AGENT",
    "COPILOT_CLI",
    "REPLIT_AGENT",
];

/// A CI provider we can recognise and approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    GithubActions,
    GitlabCi,
}

impl Provider {
    /// The name used in the policy file.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GithubActions => "github-actions",
            Provider::GitlabCi => "gitlab-ci",
        }
    }
}

/// What a recognised CI run says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiRun {
    pub provider: Provider,
    /// `owner/repo` (GitHub) or the project path (GitLab).
    pub repository: String,
    /// `refs/heads/main`, `refs/tags/v1`, ...
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// `push`, `workflow_dispatch`, `pull_request` (GitHub); `push`, `web`, `schedule` (GitLab).
    pub event: String,
    /// The workflow file (`.github/workflows/deploy.yml`), GitHub only.
    pub workflow: Option<String>,
    /// Why the run does not look genuine; non-empty means it can never be approved.
    pub inconsistencies: Vec<String>,
    /// The identity tokens fetched and verified for `"oidc": true` rules (filled in by the gather
    /// step, only when such a rule could approve the call).
    #[serde(skip)]
    pub identities: Vec<crate::oidc::Identity>,
}

/// The caller, as far as the environment and the terminal tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context {
    /// A terminal we can prompt on (`/dev/tty`) with a human's stdio attached to it.
    pub terminal: bool,
    /// What says an AI agent is calling: the agent marker variable that is set, or the hook's
    /// own words (the hook knows it answers an agent, whatever the environment says).
    pub agent: Option<&'static str>,
    /// The CI provider's variables, if a provider announced itself.
    pub ci: Option<CiRun>,
}

/// What the edge lets context detection look at on disk.
pub trait Disk {
    /// A file's contents, if readable.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// Whether a directory exists.
    fn is_dir(&self, path: &str) -> bool;
}

fn numeric(v: Option<&str>) -> bool {
    v.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

fn github(env: &Env, disk: &dyn Disk) -> CiRun {
    let get = |k: &str| env.str(k).unwrap_or_default().to_owned();
    let repository = get("GITHUB_REPOSITORY");
    let mut problems = Vec::new();
    if repository.is_empty() {
        problems.push("GITHUB_REPOSITORY is not set".to_owned());
    }
    if !numeric(env.str("GITHUB_RUN_ID")) {
        problems.push("GITHUB_RUN_ID is not a number".to_owned());
    }
    match env.str("RUNNER_TEMP") {
        Some(dir) if disk.is_dir(dir) => {}
        _ => problems.push("RUNNER_TEMP is not a directory".to_owned()),
    }
    let event_repo = env
        .str("GITHUB_EVENT_PATH")
        .and_then(|p| disk.read(p))
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .map(|v| v["repository"]["full_name"].as_str().map(str::to_owned));
    match event_repo {
        None => problems.push("GITHUB_EVENT_PATH is not a readable JSON file".to_owned()),
        Some(r) if r.as_deref() != Some(repository.as_str()) => {
            problems.push("the event file's repository is not GITHUB_REPOSITORY".to_owned());
        }
        Some(_) => {}
    }
    // GITHUB_WORKFLOW_REF = owner/repo/.github/workflows/deploy.yml@refs/heads/main
    let workflow = env.str("GITHUB_WORKFLOW_REF").and_then(|w| {
        let path = w.strip_prefix(&format!("{repository}/"))?;
        Some(path.split_once('@').map_or(path, |(p, _)| p).to_owned())
    });
    CiRun {
        provider: Provider::GithubActions,
        repository,
        git_ref: get("GITHUB_REF"),
        event: get("GITHUB_EVENT_NAME"),
        workflow,
        inconsistencies: problems,
        identities: Vec::new(),
    }
}

fn gitlab(env: &Env, disk: &dyn Disk) -> CiRun {
    let get = |k: &str| env.str(k).unwrap_or_default().to_owned();
    let repository = get("CI_PROJECT_PATH");
    let mut problems = Vec::new();
    if repository.is_empty() {
        problems.push("CI_PROJECT_PATH is not set".to_owned());
    }
    for var in ["CI_JOB_ID", "CI_PIPELINE_ID"] {
        if !numeric(env.str(var)) {
            problems.push(format!("{var} is not a number"));
        }
    }
    match env.str("CI_PROJECT_DIR") {
        Some(dir) if disk.is_dir(dir) => {}
        _ => problems.push("CI_PROJECT_DIR is not a directory".to_owned()),
    }
    let git_ref = match (
        env.str("CI_COMMIT_TAG"),
        env.str("CI_COMMIT_BRANCH"),
        env.str("CI_COMMIT_REF_NAME"),
    ) {
        (Some(tag), _, _) if !tag.is_empty() => format!("refs/tags/{tag}"),
        (_, Some(branch), _) if !branch.is_empty() => format!("refs/heads/{branch}"),
        (_, _, Some(name)) if !name.is_empty() => format!("refs/heads/{name}"),
        _ => {
            problems.push("CI_COMMIT_REF_NAME is not set".to_owned());
            String::new()
        }
    };
    CiRun {
        provider: Provider::GitlabCi,
        repository,
        git_ref,
        event: get("CI_PIPELINE_SOURCE"),
        workflow: None,
        inconsistencies: problems,
        identities: Vec::new(),
    }
}

impl Context {
    /// Reads the markers from `env`; `terminal` and `disk` come from the edge.
    #[must_use]
    pub fn detect(env: &Env, terminal: bool, disk: &dyn Disk) -> Context {
        let agent = AGENT_MARKERS.iter().copied().find(|m| env.is_set(m));
        let ci = if env.str("GITHUB_ACTIONS") == Some("true") {
            Some(github(env, disk))
        } else if env.str("GITLAB_CI") == Some("true") {
            Some(gitlab(env, disk))
        } else {
            None
        };
        Context {
            terminal,
            agent,
            ci,
        }
    }

    /// The caller as the agent hook sees it: an agent (`evidence` says how we know), never at a
    /// terminal; CI is read from `env` as usual.
    #[must_use]
    pub fn agent_hook(evidence: &'static str, env: &Env, disk: &dyn Disk) -> Context {
        Context {
            terminal: false,
            agent: Some(evidence),
            ..Context::detect(env, false, disk)
        }
    }

    /// How we know an agent is calling: "CLAUDECODE is set", or the hook's words.
    #[must_use]
    pub fn agent_evidence(&self) -> Option<String> {
        self.agent.map(|a| {
            if AGENT_MARKERS.contains(&a) {
                format!("{a} is set")
            } else {
                a.to_owned()
            }
        })
    }

    /// A short description for explain and the audit log.
    #[must_use]
    pub fn describe(&self) -> String {
        match (self.agent, &self.ci, self.terminal) {
            (Some(_), _, _) => format!("agent ({})", self.agent_evidence().unwrap_or_default()),
            (None, Some(ci), _) if !ci.inconsistencies.is_empty() => {
                format!(
                    "CI ({}, not genuine: {})",
                    ci.provider.as_str(),
                    ci.inconsistencies.join("; ")
                )
            }
            (None, Some(ci), _) => format!(
                "CI ({} {} {} {})",
                ci.provider.as_str(),
                ci.repository,
                ci.git_ref,
                ci.event
            ),
            (None, None, true) => "human at a terminal".to_owned(),
            (None, None, false) => "no terminal".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct FakeDisk(HashMap<&'static str, &'static str>);
    impl Disk for FakeDisk {
        fn read(&self, path: &str) -> Option<Vec<u8>> {
            self.0.get(path).map(|s| s.as_bytes().to_vec())
        }
        fn is_dir(&self, path: &str) -> bool {
            path == "/runner/tmp" || path == "/builds/acme/shop"
        }
    }

    fn disk() -> FakeDisk {
        FakeDisk(
            [("/event.json", r#"{"repository":{"full_name":"acme/shop"}}"#)]
                .into_iter()
                .collect(),
        )
    }

    #[test]
    fn markers_and_bare_ci() {
        let env: Env = [("CLAUDECODE", "1"), ("CI", "true")].into_iter().collect();
        let ctx = Context::detect(&env, true, &disk());
        assert_eq!(ctx.agent, Some("CLAUDECODE"));
        assert_eq!(ctx.ci, None, "a bare CI=true is not CI");
        let env: Env = [("CLAUDECODE", "")].into_iter().collect();
        assert_eq!(Context::detect(&env, false, &disk()).agent, None);
    }

    #[test]
    fn github_actions_genuine_and_forged() {
        let full: Env = [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_RUN_ID", "123"),
            ("RUNNER_TEMP", "/runner/tmp"),
            ("GITHUB_EVENT_PATH", "/event.json"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_EVENT_NAME", "push"),
            (
                "GITHUB_WORKFLOW_REF",
                "acme/shop/.github/workflows/deploy.yml@refs/heads/main",
            ),
        ]
        .into_iter()
        .collect();
        let ci = Context::detect(&full, false, &disk()).ci.unwrap();
        assert!(ci.inconsistencies.is_empty(), "{ci:?}");
        assert_eq!(ci.workflow.as_deref(), Some(".github/workflows/deploy.yml"));
        let bare: Env = [("GITHUB_ACTIONS", "true")].into_iter().collect();
        let ci = Context::detect(&bare, false, &disk()).ci.unwrap();
        assert_eq!(ci.inconsistencies.len(), 4, "{ci:?}");
        let mut other = full.clone();
        other
            .0
            .push(("GITHUB_REPOSITORY".into(), "evil/fork".into()));
        let ci = Context::detect(&other, false, &disk()).ci.unwrap();
        assert_eq!(
            ci.inconsistencies,
            vec!["the event file's repository is not GITHUB_REPOSITORY"]
        );
    }

    #[test]
    fn gitlab() {
        let env: Env = [
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "acme/shop"),
            ("CI_JOB_ID", "7"),
            ("CI_PIPELINE_ID", "8"),
            ("CI_PROJECT_DIR", "/builds/acme/shop"),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_PIPELINE_SOURCE", "push"),
        ]
        .into_iter()
        .collect();
        let ci = Context::detect(&env, false, &disk()).ci.unwrap();
        assert!(ci.inconsistencies.is_empty(), "{ci:?}");
        assert_eq!(ci.git_ref, "refs/heads/main");
    }
}
