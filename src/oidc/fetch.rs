//! The network half of proving a CI run: getting the identity token and the issuer's keys.
//!
//! Called from the gather step at the edge, and only when an `"oidc": true` rule could approve a
//! gated call; everything here ends in plain data ([`super::Identity`]). The HTTP client is
//! behind [`Net`] so the order of requests and every failure can be tested without a network.
//!
//! - GitHub Actions: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud>` with
//!   `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` answers `{"value": "<jwt>"}` (the
//!   job needs `permissions: id-token: write`). GitLab CI: the token is already in the variable
//!   the rule names (an `id_tokens:` entry of the job).
//! - The issuer's discovery document (`<issuer>/.well-known/openid-configuration`) must name the
//!   same issuer, and its `jwks_uri` gives the keys.
//! - https only (except in builds with the test-only `test-issuer` feature), no redirects,
//!   [`CONNECT_TIMEOUT`] to connect and [`CALL_TIMEOUT`] for a whole request, answers up to
//!   [`MAX_BODY`]. Proxies come from the usual `HTTPS_PROXY`/`NO_PROXY` variables.

use std::time::Duration;

use serde_json::Value;

use super::Source;
use super::verify::{self, Claims};
use crate::context::{Env, Provider};

/// How long connecting to the token endpoint or the issuer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one whole request (connect, send, wait, read) may take: a slow endpoint refuses the
/// call after this instead of hanging a CI job.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The most we read of any answer (a token, a discovery document, a key set are a few KiB).
pub const MAX_BODY: u64 = 1 << 20;

/// A blocking HTTP GET: the body of a `200` answer, or why there is none (one short phrase).
pub trait Net {
    /// # Errors
    /// Connection, timeout, TLS or a status other than 200, in words.
    fn get(&self, url: &str, bearer: Option<&str>) -> Result<Vec<u8>, String>;
}

/// The real network: ureq over rustls.
pub struct Http;

impl Net for Http {
    fn get(&self, url: &str, bearer: Option<&str>) -> Result<Vec<u8>, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .https_only(!cfg!(feature = "test-issuer"))
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(CALL_TIMEOUT))
            .user_agent(concat!("safe-wrangler/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let mut request = agent.get(url).header("Accept", "application/json");
        if let Some(token) = bearer {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.call().map_err(|e| match e {
            ureq::Error::Timeout(_) => "timed out".to_owned(),
            ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
                format!("cannot connect ({e})")
            }
            ureq::Error::HostNotFound => "host not found".to_owned(),
            other => other.to_string(),
        })?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(format!("answered HTTP {status}"));
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::Timeout(_) => "timed out".to_owned(),
                other => format!("answer unreadable ({other})"),
            })
    }
}

/// `s` percent-encoded for a URL query value (RFC 3986 unreserved characters kept).
fn query_value(s: &str) -> String {
    use std::fmt::Write as _;
    s.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

fn json(bytes: &[u8], what: &str) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|_| format!("{what} is not JSON"))
}

/// The raw identity token for `source`, from the provider.
fn token(source: &Source, env: &Env, net: &dyn Net) -> Result<String, String> {
    match source.provider {
        Provider::GithubActions => {
            let (Some(url), Some(bearer)) = (
                env.str("ACTIONS_ID_TOKEN_REQUEST_URL")
                    .filter(|v| !v.is_empty()),
                env.str("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
                    .filter(|v| !v.is_empty()),
            ) else {
                return Err(
                    "ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN are not set: the job needs `permissions: id-token: write`"
                        .to_owned(),
                );
            };
            let sep = if url.contains('?') { '&' } else { '?' };
            let full = format!("{url}{sep}audience={}", query_value(&source.audience));
            let body = net
                .get(&full, Some(bearer))
                .map_err(|e| format!("GitHub's token endpoint {e}"))?;
            json(&body, "GitHub's token endpoint's answer")?
                .get("value")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| "GitHub's token endpoint answered no token".to_owned())
        }
        Provider::GitlabCi => {
            let var = source.variable.as_deref().unwrap_or_default();
            env.str(var)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    format!(
                        "{var} is not set: the job needs `id_tokens: {var}: aud: {}`",
                        source.audience
                    )
                })
        }
    }
}

/// The issuer's key set, found through its discovery document.
fn key_set(issuer: &str, net: &dyn Net) -> Result<Value, String> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let body = net
        .get(&url, None)
        .map_err(|e| format!("the issuer's discovery document {e}"))?;
    let doc = json(&body, "the issuer's discovery document")?;
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err("the issuer's discovery document names another issuer".to_owned());
    }
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or("the issuer's discovery document has no jwks_uri")?;
    let body = net
        .get(jwks_uri, None)
        .map_err(|e| format!("the issuer's key set {e}"))?;
    json(&body, "the issuer's key set")
}

/// Gets the token for `source`, verifies it against `issuer`'s keys at `now`, and checks that it
/// belongs to this very run (GitHub `run_id` = `GITHUB_RUN_ID`, GitLab `job_id` = `CI_JOB_ID`):
/// a token copied from another run of the same workflow does not prove this one.
///
/// # Errors
/// Why the run's identity is not proven, for the refusal. Never contains a token.
pub fn obtain(
    source: &Source,
    issuer: &str,
    env: &Env,
    net: &dyn Net,
    now: u64,
) -> Result<Claims, String> {
    let token = token(source, env, net)?;
    let jwks = key_set(issuer, net)?;
    let claims = verify::verify(&token, &jwks, issuer, &source.audience, now)?;
    let (claim, var) = match source.provider {
        Provider::GithubActions => ("run_id", "GITHUB_RUN_ID"),
        Provider::GitlabCi => ("job_id", "CI_JOB_ID"),
    };
    let ours = env.str(var).unwrap_or_default();
    match claims.text(claim) {
        Some(theirs) if theirs == ours => Ok(claims),
        theirs => Err(format!(
            "the token's {claim} {:?} is not this run's {var} {ours:?}",
            crate::display::escape(&theirs.unwrap_or_default())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Answers from a table and records the URLs asked for (and whether a bearer came along).
    struct FakeNet {
        answers: Vec<(&'static str, Result<Vec<u8>, String>)>,
        asked: RefCell<Vec<(String, bool)>>,
    }
    impl Net for FakeNet {
        fn get(&self, url: &str, bearer: Option<&str>) -> Result<Vec<u8>, String> {
            self.asked
                .borrow_mut()
                .push((url.to_owned(), bearer.is_some()));
            self.answers
                .iter()
                .find(|(prefix, _)| url.starts_with(prefix))
                .map_or_else(|| Err("answered HTTP 404".to_owned()), |(_, a)| a.clone())
        }
    }

    fn github() -> Source {
        Source {
            provider: Provider::GithubActions,
            issuer: super::super::GITHUB_ISSUER.to_owned(),
            audience: "safe wrangler/x".to_owned(),
            variable: None,
        }
    }

    #[test]
    fn github_token_request_and_failures_in_order() {
        let env: Env = [
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                "https://tokens.example/idtoken?api-version=2.0",
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-not-real"),
        ]
        .into_iter()
        .collect();
        let net = FakeNet {
            answers: vec![("https://tokens.example/", Ok(b"<html>".to_vec()))],
            asked: RefCell::new(Vec::new()),
        };
        let e = obtain(&github(), "https://issuer.example", &env, &net, 0).unwrap_err();
        assert_eq!(e, "GitHub's token endpoint's answer is not JSON");
        assert_eq!(
            net.asked.borrow().as_slice(),
            [(
                "https://tokens.example/idtoken?api-version=2.0&audience=safe%20wrangler%2Fx"
                    .to_owned(),
                true
            )]
        );
        let net = FakeNet {
            answers: vec![
                ("https://tokens.example/", Ok(br#"{"value":"a.b.c"}"#.to_vec())),
                ("https://issuer.example/.well-known/", Ok(br#"{"issuer":"https://elsewhere.example","jwks_uri":"https://issuer.example/keys"}"#.to_vec())),
            ],
            asked: RefCell::new(Vec::new()),
        };
        let e = obtain(&github(), "https://issuer.example", &env, &net, 0).unwrap_err();
        assert_eq!(e, "the issuer's discovery document names another issuer");
        assert!(!net.asked.borrow()[1].1, "no bearer sent to the issuer");
        let e = obtain(
            &github(),
            "https://issuer.example",
            &Env::default(),
            &net,
            0,
        )
        .unwrap_err();
        assert!(e.contains("id-token: write"), "{e}");
    }

    #[test]
    fn gitlab_token_from_the_named_variable() {
        let source = Source {
            provider: Provider::GitlabCi,
            issuer: "https://gitlab.example".to_owned(),
            audience: "safe-wrangler".to_owned(),
            variable: Some("SAFE_WRANGLER_ID_TOKEN".to_owned()),
        };
        let net = FakeNet {
            answers: Vec::new(),
            asked: RefCell::new(Vec::new()),
        };
        let e = obtain(&source, "https://gitlab.example", &Env::default(), &net, 0).unwrap_err();
        assert!(e.contains("SAFE_WRANGLER_ID_TOKEN is not set"), "{e}");
        assert!(net.asked.borrow().is_empty());
        let env: Env = [("SAFE_WRANGLER_ID_TOKEN", "a.b.c")].into_iter().collect();
        let e = obtain(&source, "https://gitlab.example", &env, &net, 0).unwrap_err();
        assert_eq!(e, "the issuer's discovery document answered HTTP 404");
    }
}
