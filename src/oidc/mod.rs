//! Approved CI proven, not asserted: an `approved_ci` rule with `"oidc": true` approves a run
//! only when the provider's signed identity token verifies and its claims match the rule.
//!
//! The environment variables a CI run is recognised by can be forged on any machine; a token
//! signed by GitHub (`https://token.actions.githubusercontent.com`) or by the GitLab instance the
//! rule names cannot. The pieces:
//! - [`gather`] (the edge, from `assess`): for a gated call in a consistent CI run, each
//!   `"oidc": true` rule that the environment says could approve it names a [`Source`]; each
//!   source's token is fetched and verified once ([`fetch::obtain`], [`verify::verify`]) into an
//!   [`Identity`]: plain data, verified claims or the reason there are none. Local, read and
//!   preview work, agents and calls no OIDC rule could approve never reach the network.
//! - [`check`] (the pure decision, from `policy::decide`): the rule's fields against the verified
//!   claims, giving a [`Proof`] (which claims proved what) or the reason to refuse. A failure
//!   never falls back to trusting the variables.
//!
//! Claims checked, GitHub: `repository` (and `repository_id`), `ref`, `event_name`, the workflow
//! (`workflow_ref` or `job_workflow_ref`), `environment`, `runner_environment`, and `run_id` =
//! `GITHUB_RUN_ID`. GitLab: `project_path` (and `project_id`), `ref` with `ref_type`,
//! `ref_protected`, `pipeline_source`, `environment`, `ci_config_ref_uri`, and `job_id` =
//! `CI_JOB_ID`.

pub mod fetch;
pub mod verify;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};

use crate::context::{CiRun, Context, Env, Provider};
use crate::policy::{ApprovedCi, Policy};
use crate::wrangler::Class;
use verify::Claims;

/// GitHub Actions' issuer: fixed for every repository on github.com, so a policy cannot be
/// pointed at another one.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The audience asked for (GitHub) and required in `aud`, unless the rule names another: a token
/// minted for another service (`sts.amazonaws.com`) is not accepted here.
pub const DEFAULT_AUDIENCE: &str = "safe-wrangler";

/// Test builds only (cargo feature `test-issuer`): replaces the issuer of every rule, so the
/// tests can run a fake issuer on 127.0.0.1. A normal build never reads it.
pub const TEST_ISSUER_VAR: &str = "SAFE_WRANGLER_TEST_ISSUER";

/// Where a rule's token comes from and whom it must be from; rules with the same source share one
/// token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub provider: Provider,
    /// The issuer as the policy gives it (GitHub's fixed one, GitLab's from the rule).
    pub issuer: String,
    pub audience: String,
    /// GitLab: the variable holding the job's `id_tokens` token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
}

impl Source {
    /// The source an `"oidc": true` rule names.
    #[must_use]
    pub fn of(rule: &ApprovedCi) -> Source {
        Source {
            provider: rule.provider,
            issuer: match rule.provider {
                Provider::GithubActions => GITHUB_ISSUER.to_owned(),
                Provider::GitlabCi => rule
                    .issuer
                    .as_deref()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_owned(),
            },
            audience: rule
                .audience
                .clone()
                .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            variable: match rule.provider {
                Provider::GithubActions => None,
                Provider::GitlabCi => rule.id_token_variable.clone(),
            },
        }
    }
}

/// The issuer a source is verified against: the policy's, or in test builds the override.
#[must_use]
pub fn issuer_url(source: &Source, env: &Env) -> String {
    #[cfg(feature = "test-issuer")]
    if let Some(url) = env.str(TEST_ISSUER_VAR).filter(|v| !v.is_empty()) {
        return url.trim_end_matches('/').to_owned();
    }
    let _ = env;
    source.issuer.clone()
}

/// One source's token, fetched and verified: plain data for the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub source: Source,
    /// The issuer it was verified against.
    pub issuer: String,
    /// The verified claims, or why the identity is not proven.
    pub verified: Result<Claims, String>,
}

/// What proved an approved run: the rule, the issuer, and the claims the rule checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proof {
    /// `approved_ci[N]`.
    pub rule: String,
    pub issuer: String,
    pub claims: BTreeMap<String, String>,
}

/// The identities a gated call needs: one per source of the `"oidc": true` rules that could
/// approve `class` for `run` by its environment. Nothing (and no network) otherwise.
#[must_use]
pub fn gather(
    policy: &Policy,
    run: &CiRun,
    class: Class,
    env: &Env,
    net: &dyn fetch::Net,
    now: u64,
) -> Vec<Identity> {
    let mut out: Vec<Identity> = Vec::new();
    if !run.inconsistencies.is_empty() || !class.needs_approval() {
        return out;
    }
    for rule in &policy.approved_ci {
        if !rule.oidc || crate::policy::mismatch(rule, run, class).is_some() {
            continue;
        }
        let source = Source::of(rule);
        if out.iter().any(|i| i.source == source) {
            continue;
        }
        let issuer = issuer_url(&source, env);
        let verified = fetch::obtain(&source, &issuer, env, net, now);
        out.push(Identity {
            source,
            issuer,
            verified,
        });
    }
    out
}

/// The gather step at the edge: fills `context`'s CI identities over the real network, for
/// gated work in CI with no agent, and only when an `"oidc": true` rule could approve it.
pub fn prove(context: &mut Context, policy: &Policy, class: Class, env: &Env) {
    if context.agent.is_some() || !class.needs_approval() {
        return;
    }
    if let Some(run) = context.ci.as_mut() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        run.identities = gather(policy, run, class, env, &fetch::Http, now);
    }
}

/// Records claim `name` as checked, or says why it does not match.
struct Checks<'a> {
    claims: &'a Claims,
    matched: BTreeMap<String, String>,
}

impl Checks<'_> {
    fn value(&self, name: &str) -> String {
        self.claims.text(name).unwrap_or_default()
    }

    /// `name` must be one of `allowed`.
    fn one_of(&mut self, name: &str, allowed: &[String], field: &str) -> Result<(), String> {
        let got = self.value(name);
        if !allowed.contains(&got) {
            return Err(format!(
                "the token's {name} {:?} is not in {field} {allowed:?}",
                crate::display::escape(&got)
            ));
        }
        self.matched.insert(name.to_owned(), got);
        Ok(())
    }

    /// `name` must equal `want` when the rule gives it.
    fn equals(&mut self, name: &str, want: Option<&str>, field: &str) -> Result<(), String> {
        match want {
            None => Ok(()),
            Some(w) => self.one_of(name, &[w.to_owned()], field),
        }
    }

    /// One of `names` (a workflow reference such as `owner/repo/path@ref` or GitLab's
    /// `host/group/project//path@ref`) must match a rule entry: the whole reference, the
    /// reference without `@ref`, or, when it starts with `here` (this repository), the path alone.
    fn workflow(
        &mut self,
        names: &[&str],
        entries: Option<&Vec<String>>,
        here: &str,
    ) -> Result<(), String> {
        let Some(entries) = entries else {
            return Ok(());
        };
        for name in names {
            let full = self.value(name);
            if full.is_empty() {
                continue;
            }
            let bare = full.split_once('@').map_or(full.as_str(), |(b, _)| b);
            let inside = bare.strip_prefix(here);
            if entries
                .iter()
                .any(|e| *e == full || e == bare || Some(e.as_str()) == inside)
            {
                self.matched.insert((*name).to_owned(), full);
                return Ok(());
            }
        }
        Err(format!(
            "the token's {} {:?} is not in workflows {entries:?}",
            names.join(" / "),
            names
                .iter()
                .map(|n| crate::display::escape(&self.value(n)))
                .collect::<Vec<_>>()
        ))
    }
}

/// The rule's fields against the verified claims.
fn claims_match(rule: &ApprovedCi, claims: &Claims) -> Result<BTreeMap<String, String>, String> {
    let mut c = Checks {
        claims,
        matched: BTreeMap::new(),
    };
    let events = crate::policy::allowed_events(rule);
    match rule.provider {
        Provider::GithubActions => {
            c.equals("repository", Some(&rule.repository), "repository")?;
            c.equals(
                "repository_id",
                rule.repository_id.as_deref(),
                "repository_id",
            )?;
            c.one_of("ref", &rule.refs, "refs")?;
            c.one_of("event_name", &events, "events")?;
            c.workflow(
                &["workflow_ref", "job_workflow_ref"],
                rule.workflows.as_ref(),
                &format!("{}/", rule.repository),
            )?;
            c.equals("environment", rule.environment.as_deref(), "environment")?;
            c.equals(
                "runner_environment",
                rule.runner_environment.as_deref(),
                "runner_environment",
            )?;
            c.matched.insert("run_id".into(), c.value("run_id"));
        }
        Provider::GitlabCi => {
            c.equals("project_path", Some(&rule.repository), "repository")?;
            c.equals("project_id", rule.repository_id.as_deref(), "repository_id")?;
            let full_ref = match c.value("ref_type").as_str() {
                "branch" => format!("refs/heads/{}", c.value("ref")),
                "tag" => format!("refs/tags/{}", c.value("ref")),
                other => {
                    return Err(format!(
                        "the token's ref_type {:?} is neither branch nor tag",
                        crate::display::escape(other)
                    ));
                }
            };
            if !rule.refs.contains(&full_ref) {
                return Err(format!(
                    "the token's ref {:?} is not in refs {:?}",
                    crate::display::escape(&full_ref),
                    rule.refs
                ));
            }
            c.matched.insert("ref".into(), full_ref);
            // A protected ref unless the rule says `"ref_protected": false`: anyone who can push
            // a branch could otherwise run a pipeline that carries an approved ref name.
            if rule.ref_protected != Some(false) {
                c.equals("ref_protected", Some("true"), "ref_protected")?;
            }
            c.one_of("pipeline_source", &events, "events")?;
            c.equals("environment", rule.environment.as_deref(), "environment")?;
            // `gitlab.example.com/acme/shop//.gitlab-ci.yml@refs/heads/main`: the instance's host
            // (from the rule's issuer), the project, then the file.
            let host = rule.issuer.as_deref().unwrap_or_default();
            let host = host.strip_prefix("https://").unwrap_or(host);
            c.workflow(
                &["ci_config_ref_uri"],
                rule.workflows.as_ref(),
                &format!("{}/{}//", host.trim_end_matches('/'), rule.repository),
            )?;
            c.matched.insert("job_id".into(), c.value("job_id"));
        }
    }
    Ok(c.matched)
}

/// Whether the verified identity for `rule` proves the run the rule describes (pure).
///
/// # Errors
/// Why not, for the refusal.
pub fn check(rule: &ApprovedCi, run: &CiRun) -> Result<Proof, String> {
    let source = Source::of(rule);
    let identity = run
        .identities
        .iter()
        .find(|i| i.source == source)
        .ok_or("its CI identity token was not checked")?;
    let claims = identity
        .verified
        .as_ref()
        .map_err(|why| format!("CI identity not proven: {why}"))?;
    let matched =
        claims_match(rule, claims).map_err(|why| format!("CI identity does not match: {why}"))?;
    Ok(Proof {
        rule: String::new(),
        issuer: identity.issuer.clone(),
        claims: matched,
    })
}

/// What explain and the audit log say about the CI identity: `null` when none was checked,
/// else whether it was proven and by which claims (or why not).
#[must_use]
pub fn report(a: &crate::Assessment) -> Value {
    identity_json(a.context.ci.as_ref(), a.ruling.identity.as_ref())
}

fn identity_json(run: Option<&CiRun>, proof: Option<&Proof>) -> Value {
    if let Some(p) = proof {
        return json!({ "proven": true, "rule": p.rule, "issuer": p.issuer, "claims": p.claims });
    }
    let Some(first) = run.and_then(|r| r.identities.first()) else {
        return Value::Null;
    };
    let reason = run
        .into_iter()
        .flat_map(|r| &r.identities)
        .find_map(|i| i.verified.as_ref().err())
        .cloned()
        .unwrap_or_else(|| {
            "the verified token's claims match no approved_ci rule for this work".to_owned()
        });
    json!({ "proven": false, "issuer": first.issuer, "reason": reason })
}

/// explain's text line about the CI identity (with its leading newline), or nothing when none
/// was checked.
#[must_use]
pub fn explain_line(a: &crate::Assessment) -> String {
    let text = if let Some(p) = &a.ruling.identity {
        let claims: Vec<String> = p.claims.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "proven by a token from {} ({})",
            p.issuer,
            claims.join(", ")
        )
    } else {
        match report(a).get("reason").and_then(Value::as_str) {
            Some(r) => format!("not proven: {r}"),
            None => return String::new(),
        }
    };
    format!("\nci identity: {}", crate::display::escape(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn github_rule() -> ApprovedCi {
        serde_json::from_value(json!({
            "provider": "github-actions", "repository": "acme/shop", "refs": ["refs/heads/main"],
            "workflows": [".github/workflows/deploy.yml"], "classes": ["production"], "oidc": true,
            "repository_id": "42", "environment": "production", "runner_environment": "github-hosted"
        }))
        .unwrap()
    }

    fn github_claims() -> Claims {
        let v = json!({
            "repository": "acme/shop", "repository_id": "42", "ref": "refs/heads/main",
            "event_name": "push", "environment": "production", "runner_environment": "github-hosted",
            "workflow_ref": "acme/shop/.github/workflows/deploy.yml@refs/heads/main",
            "job_workflow_ref": "acme/shop/.github/workflows/deploy.yml@refs/heads/main",
            "run_id": "4242"
        });
        Claims(serde_json::from_value::<BTreeMap<String, Value>>(v).unwrap())
    }

    #[test]
    fn each_github_claim_must_match_its_field() {
        let rule = github_rule();
        let proof = claims_match(&rule, &github_claims()).unwrap();
        assert_eq!(proof["environment"], "production");
        for (claim, value, words) in [
            ("repository", "evil/shop", "repository"),
            ("repository_id", "43", "repository_id"),
            ("ref", "refs/heads/feature", "refs"),
            ("event_name", "pull_request_target", "events"),
            ("environment", "staging", "environment"),
            ("runner_environment", "self-hosted", "runner_environment"),
        ] {
            let mut c = github_claims();
            c.0.insert(claim.into(), json!(value));
            let e = claims_match(&rule, &c).unwrap_err();
            assert!(e.contains(claim) && e.contains(words), "{claim}: {e}");
        }
        let mut c = github_claims();
        c.0.insert(
            "workflow_ref".into(),
            json!("acme/shop/.github/workflows/other.yml@refs/heads/main"),
        );
        c.0.insert(
            "job_workflow_ref".into(),
            json!("acme/tools/.github/workflows/deploy.yml@refs/tags/v1"),
        );
        assert!(claims_match(&rule, &c).unwrap_err().contains("workflows"));
        // A reusable workflow named in full (with or without its ref) matches job_workflow_ref.
        let mut reusable = rule.clone();
        reusable.workflows = Some(vec![
            "acme/tools/.github/workflows/deploy.yml@refs/tags/v1".into(),
        ]);
        assert_eq!(
            claims_match(&reusable, &c).unwrap()["job_workflow_ref"],
            "acme/tools/.github/workflows/deploy.yml@refs/tags/v1"
        );
        let mut missing = github_claims();
        missing.0.remove("environment");
        assert!(
            claims_match(&rule, &missing).is_err(),
            "a missing claim never matches"
        );
    }

    #[test]
    fn each_gitlab_claim_must_match_its_field() {
        let rule: ApprovedCi = serde_json::from_value(json!({
            "provider": "gitlab-ci", "repository": "acme/shop", "refs": ["refs/heads/main"],
            "classes": ["production"], "oidc": true, "issuer": "https://gitlab.example",
            "id_token_variable": "SW_ID_TOKEN", "repository_id": "7", "environment": "production",
            "workflows": [".gitlab-ci.yml"]
        }))
        .unwrap();
        let good = json!({
            "project_path": "acme/shop", "project_id": "7", "ref": "main", "ref_type": "branch",
            "ref_protected": "true", "pipeline_source": "push", "environment": "production",
            "ci_config_ref_uri": "gitlab.example/acme/shop//.gitlab-ci.yml@refs/heads/main",
            "job_id": "99"
        });
        let claims = |v: &Value| Claims(serde_json::from_value(v.clone()).unwrap());
        assert_eq!(
            claims_match(&rule, &claims(&good)).unwrap()["ref"],
            "refs/heads/main"
        );
        for (claim, value, words) in [
            ("project_path", "acme/other", "repository"),
            ("project_id", "8", "repository_id"),
            ("ref", "feature", "refs"),
            ("ref_type", "tag", "refs"),
            ("ref_protected", "false", "ref_protected"),
            ("pipeline_source", "merge_request_event", "events"),
            ("environment", "review/x", "environment"),
            (
                "ci_config_ref_uri",
                "gitlab.example/evil/x//.gitlab-ci.yml@refs/heads/main",
                "workflows",
            ),
            (
                "ci_config_ref_uri",
                "gitlab.example/evil/acme/shop//.gitlab-ci.yml@refs/heads/main",
                "workflows",
            ),
        ] {
            let mut v = good.clone();
            v[claim] = json!(value);
            let e = claims_match(&rule, &claims(&v)).unwrap_err();
            assert!(e.contains(words), "{claim}: {e}");
        }
        let mut open = rule;
        open.ref_protected = Some(false);
        let mut v = good;
        v["ref_protected"] = json!("false");
        assert!(claims_match(&open, &claims(&v)).is_ok());
    }

    #[test]
    fn oidc_fields_are_checked_when_the_policy_is_read() {
        let path = std::path::Path::new("safe-wrangler.jsonc");
        let file = |extra: &str, provider: &str| {
            format!(
                r#"{{"approved_ci": [{{"provider": "{provider}", "repository": "a/b", "refs": ["refs/heads/main"], "classes": ["production"]{extra}}}]}}"#
            )
        };
        let gitlab_ok =
            r#", "oidc": true, "issuer": "https://gitlab.example", "id_token_variable": "T""#;
        for (extra, provider) in [
            (
                r#", "oidc": true, "environment": "production""#,
                "github-actions",
            ),
            (gitlab_ok, "gitlab-ci"),
            (
                &format!(r#"{gitlab_ok}, "workflows": [".gitlab-ci.yml"], "ref_protected": false"#),
                "gitlab-ci",
            ),
        ] {
            let text = file(extra, provider);
            assert!(
                crate::policy::parse_file(path, &text, false).is_ok(),
                "{text}"
            );
        }
        for (extra, provider, words) in [
            (
                r#", "environment": "production""#,
                "github-actions",
                "environment needs \"oidc\": true",
            ),
            (
                r#", "oidc": true, "issuer": "https://x""#,
                "github-actions",
                "issuer does not apply",
            ),
            (
                r#", "oidc": true, "ref_protected": true"#,
                "github-actions",
                "ref_protected does not apply",
            ),
            (
                r#", "oidc": true, "id_token_variable": "T""#,
                "gitlab-ci",
                "issuer: a gitlab-ci rule",
            ),
            (
                r#", "oidc": true, "issuer": "http://gitlab.example", "id_token_variable": "T""#,
                "gitlab-ci",
                "https URL",
            ),
            (
                r#", "oidc": true, "issuer": "https://gitlab.example""#,
                "gitlab-ci",
                "id_token_variable",
            ),
            (
                r#", "oidc": true, "runner_environment": "github-hosted", "issuer": "https://g", "id_token_variable": "T""#,
                "gitlab-ci",
                "runner_environment does not apply",
            ),
            (
                r#", "workflows": [".gitlab-ci.yml"]"#,
                "gitlab-ci",
                "workflows applies to",
            ),
            (
                r#", "oidc": true, "audience": """#,
                "github-actions",
                "audience is empty",
            ),
            (r#", "oidc": "yes""#, "github-actions", "invalid type"),
        ] {
            let text = file(extra, provider);
            let e = crate::policy::parse_file(path, &text, false)
                .unwrap_err()
                .to_string();
            assert!(e.contains(words), "{text}: {e}");
        }
    }

    /// The decision reads the verified identity as plain data: proven runs get the class's
    /// token and the proof, anything else is refused with the reason, and a rule without
    /// `oidc` is untouched.
    #[test]
    fn decide_reads_the_identity_as_plain_data() {
        use crate::policy::{Credential, Decision, decide};
        let op = crate::classify::Operation {
            class: Class::Production,
            rule: "cmd:deploy".into(),
            command: "deploy".into(),
            environment: String::new(),
            production: true,
            remote: true,
            destructive: false,
            why: String::new(),
            facts: Vec::new(),
            routes: Vec::new(),
        };
        let policy = Policy {
            approved_ci: vec![github_rule()],
            ..Policy::default()
        };
        let run = |verified: Option<Result<Claims, String>>| Context {
            terminal: false,
            agent: None,
            ci: Some(CiRun {
                provider: Provider::GithubActions,
                repository: "acme/shop".into(),
                git_ref: "refs/heads/main".into(),
                event: "push".into(),
                workflow: Some(".github/workflows/other.yml".into()),
                inconsistencies: Vec::new(),
                identities: verified
                    .map(|v| Identity {
                        source: Source::of(&github_rule()),
                        issuer: GITHUB_ISSUER.into(),
                        verified: v,
                    })
                    .into_iter()
                    .collect(),
            }),
        };
        let proven = decide(&op, &run(Some(Ok(github_claims()))), &policy, "w");
        assert_eq!(
            proven.decision,
            Decision::Run {
                credential: Credential::Token("CLOUDFLARE_API_TOKEN".into())
            }
        );
        let proof = proven.identity.unwrap();
        assert_eq!(proof.rule, "approved_ci[0]");
        assert_eq!(proof.claims["run_id"], "4242");
        for (verified, words) in [
            (
                Some(Err("the token expired 90s ago".to_owned())),
                "CI identity not proven: the token expired",
            ),
            (None, "was not checked"),
        ] {
            let r = decide(&op, &run(verified), &policy, "w");
            let Decision::Refuse { hint, .. } = r.decision else {
                panic!("{r:?}")
            };
            assert!(hint.contains(words), "{hint}");
            assert_eq!(r.identity, None);
        }
        let mut plain = policy.clone();
        plain.approved_ci[0].oidc = false;
        plain.approved_ci[0].workflows = None;
        let r = decide(&op, &run(None), &plain, "w");
        assert_eq!(r.by, crate::core::policy::DecidedBy::ApprovedCi(0));
        assert_eq!(r.identity, None);
    }

    #[cfg(not(feature = "test-issuer"))]
    #[test]
    fn a_normal_build_ignores_the_issuer_override() {
        let env: Env = [(TEST_ISSUER_VAR, "http://127.0.0.1:9")]
            .into_iter()
            .collect();
        let source = Source::of(&github_rule());
        assert_eq!(issuer_url(&source, &env), GITHUB_ISSUER);
    }

    #[cfg(feature = "test-issuer")]
    #[test]
    fn a_test_build_takes_the_issuer_override() {
        let env: Env = [(TEST_ISSUER_VAR, "http://127.0.0.1:9/")]
            .into_iter()
            .collect();
        let source = Source::of(&github_rule());
        assert_eq!(issuer_url(&source, &env), "http://127.0.0.1:9");
    }
}
