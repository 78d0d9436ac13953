//! Who is calling: a human at a terminal, an agent, or CI. Pure over the environment; whether a
//! terminal is present is measured at the edge (`main`/`lib::run`) and passed in.

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
/// any non-empty value, means "not a human": refuse, never prompt. Markers only ever tighten, so
/// a false positive costs a refusal, never a run. Sources: wrangler's own agent detection
/// (`../shared/wrangler/env.md`, am-i-vibing) and the agents' documentation.
pub const AGENT_MARKERS: &[&str] = &[
    "CLAUDECODE",
    "CODEX_THREAD_ID",
    "CODEX_SANDBOX",
    "GEMINI_CLI",
    "CURSOR_AGENT",
    "AI_AGENT",
    "OPENCODE",
    "AMP_CURRENT_THREAD_ID",
    "AUGMENT_AGENT",
    "QWEN_CODE",
    "COPILOT_AGENT",
];

/// Variables by which CI providers announce themselves. Recognising CI here only ever tightens
/// (CI is refused production work until a policy approves it), so a bare `CI=true` counts.
pub const CI_MARKERS: &[(&str, &str)] = &[
    ("GITHUB_ACTIONS", "github-actions"),
    ("GITLAB_CI", "gitlab-ci"),
    ("CIRCLECI", "circleci"),
    ("BUILDKITE", "buildkite"),
    ("WORKERS_CI", "workers-builds"),
    ("CF_PAGES", "cloudflare-pages"),
    ("CI", "ci"),
    ("CONTINUOUS_INTEGRATION", "ci"),
    ("BUILD_ID", "ci"),
    ("RUN_ID", "ci"),
];

/// The caller, as far as the environment and the terminal tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context {
    /// A terminal we can prompt on (`/dev/tty`) with a human's stdio attached to it.
    pub terminal: bool,
    /// The agent marker variable that is set, if any.
    pub agent: Option<&'static str>,
    /// The CI provider recognised, if any.
    pub ci: Option<&'static str>,
}

impl Context {
    /// Reads the markers from `env`; `terminal` comes from the edge.
    #[must_use]
    pub fn detect(env: &Env, terminal: bool) -> Context {
        let agent = AGENT_MARKERS.iter().copied().find(|m| env.is_set(m));
        let ci = CI_MARKERS
            .iter()
            .find(|(var, _)| {
                env.str(var)
                    .is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
            })
            .map(|(_, provider)| *provider);
        Context {
            terminal,
            agent,
            ci,
        }
    }

    /// A short description for explain.
    #[must_use]
    pub fn describe(&self) -> String {
        match (self.agent, self.ci, self.terminal) {
            (Some(a), _, _) => format!("agent ({a} is set)"),
            (None, Some(ci), _) => format!("CI ({ci}, not approved)"),
            (None, None, true) => "human at a terminal".to_owned(),
            (None, None, false) => "no terminal".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        let env: Env = [("CLAUDECODE", "1"), ("CI", "true")].into_iter().collect();
        let ctx = Context::detect(&env, true);
        assert_eq!(ctx.agent, Some("CLAUDECODE"));
        assert_eq!(ctx.ci, Some("ci"));
        let env: Env = [("CLAUDECODE", ""), ("CI", "false")].into_iter().collect();
        let ctx = Context::detect(&env, false);
        assert_eq!((ctx.agent, ctx.ci), (None, None));
        let env: Env = [("GITHUB_ACTIONS", "true")].into_iter().collect();
        assert_eq!(Context::detect(&env, false).ci, Some("github-actions"));
    }
}
