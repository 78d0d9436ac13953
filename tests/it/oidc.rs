//! Approved CI proven by an OIDC identity token, through the built binary: a fake issuer on
//! 127.0.0.1 serves the discovery document, the key set and GitHub's token endpoint, and signs
//! tokens with the test-only keys in `tests/fixtures/oidc/`. The binary reaches it through
//! `SAFE_WRANGLER_TEST_ISSUER`, which only builds with the `test-issuer` feature read
//! (`scripts/test.sh` runs `cargo test --features test-issuer`); a plain `cargo test` runs the
//! check that a normal build ignores it.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::{fs, thread};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::util::{Run, Sandbox};

/// Test-only keys (see `tests/fixtures/oidc/README.md`).
pub const KEY_1: &[u8] = include_bytes!("../fixtures/oidc/TEST-ONLY-key-1.pem");
pub const KEY_2: &[u8] = include_bytes!("../fixtures/oidc/TEST-ONLY-key-2.pem");
/// The bearer GitHub hands a job for its token endpoint (a dummy).
pub const REQUEST_TOKEN: &str = "request-token-not-real";
pub const RUN_ID: &str = "4242";
pub const DEPLOY_TOKEN: &str = "oidc-deploy-token-not-real";

/// How the token endpoint behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Normal,
    /// Answers only after this long (longer than safe-wrangler waits).
    Slow(Duration),
    /// `200` with a body that is not JSON.
    Garbage,
}

/// How a minted token's header and signature are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    /// RS256 with `key` under `kid`.
    Rs256,
    /// `alg: none`, no signature.
    None,
    /// HS256 with the published public key (as JSON) as the HMAC secret.
    Hs256WithPublicKey,
}

/// What the fake issuer does; tests change it between calls.
#[derive(Clone, Debug)]
pub struct IssuerConfig {
    pub signing_key: &'static [u8],
    pub kid: String,
    pub signing: Signing,
    /// `(key, kid)` published in the key set.
    pub published: Vec<(&'static [u8], String)>,
    /// Claims minted (the `aud` comes from the request unless set here); times are added.
    pub claims: Value,
    pub exp_in: i64,
    pub nbf_in: i64,
    pub endpoint: Endpoint,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        IssuerConfig {
            signing_key: KEY_1,
            kid: "k1".into(),
            signing: Signing::Rs256,
            published: vec![(KEY_1, "k1".into())],
            claims: github_claims(),
            exp_in: 300,
            nbf_in: -5,
            endpoint: Endpoint::Normal,
        }
    }
}

/// The claims GitHub puts in a token for `acme/shop`'s deploy workflow on main.
pub fn github_claims() -> Value {
    json!({
        "sub": "repo:acme/shop:environment:production",
        "repository": "acme/shop",
        "repository_id": "101",
        "repository_owner": "acme",
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "event_name": "push",
        "environment": "production",
        "runner_environment": "github-hosted",
        "workflow_ref": "acme/shop/.github/workflows/deploy.yml@refs/heads/main",
        "job_workflow_ref": "acme/shop/.github/workflows/deploy.yml@refs/heads/main",
        "run_id": RUN_ID,
        "run_attempt": "1"
    })
}

struct State {
    config: IssuerConfig,
    /// `(path with query, carried the request token)` of every request.
    requests: Vec<(String, bool)>,
}

pub struct FakeIssuer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn jwk(pem: &[u8], kid: &str) -> Value {
    let key = EncodingKey::from_rsa_pem(pem).unwrap();
    let mut v = serde_json::to_value(
        jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap(),
    )
    .unwrap();
    v["kid"] = json!(kid);
    v["use"] = json!("sig");
    v
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token as `config` says, for `issuer` and `audience`.
pub fn mint(config: &IssuerConfig, issuer: &str, audience: &str) -> String {
    let mut claims = json!({"iss": issuer, "aud": audience});
    for (k, v) in config.claims.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let t = now();
    claims["iat"] = json!(t + config.nbf_in.min(0));
    claims["nbf"] = json!(t + config.nbf_in);
    claims["exp"] = json!(t + config.exp_in);
    match config.signing {
        Signing::Rs256 => {
            let mut h = Header::new(Algorithm::RS256);
            h.kid = Some(config.kid.clone());
            jsonwebtoken::encode(
                &h,
                &claims,
                &EncodingKey::from_rsa_pem(config.signing_key).unwrap(),
            )
            .unwrap()
        }
        Signing::None => format!(
            "{}.{}.",
            b64(json!({"alg": "none", "typ": "JWT", "kid": config.kid})
                .to_string()
                .as_bytes()),
            b64(claims.to_string().as_bytes())
        ),
        Signing::Hs256WithPublicKey => {
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some(config.kid.clone());
            let public = serde_json::to_vec(&jwk(config.signing_key, &config.kid)).unwrap();
            jsonwebtoken::encode(&h, &claims, &EncodingKey::from_secret(&public).unwrap()).unwrap()
        }
    }
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn serve(mut stream: TcpStream, base: &str, state: &Mutex<State>, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let mut bearer = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if line.to_ascii_lowercase().starts_with("authorization:") {
            bearer = line
                .trim_end()
                .ends_with(&format!("Bearer {REQUEST_TOKEN}"));
        }
    }
    let target = first.split(' ').nth(1).unwrap_or_default().to_owned();
    let config = {
        let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
        s.requests.push((target.clone(), bearer));
        s.config.clone()
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    match path {
        "/.well-known/openid-configuration" => {
            let doc = json!({"issuer": base, "jwks_uri": format!("{base}/keys")});
            respond(&mut stream, 200, &doc.to_string());
        }
        "/keys" => {
            let keys: Vec<Value> = config
                .published
                .iter()
                .map(|(k, kid)| jwk(k, kid))
                .collect();
            respond(&mut stream, 200, &json!({"keys": keys}).to_string());
        }
        "/idtoken" if !bearer => respond(&mut stream, 401, "{}"),
        "/idtoken" => {
            let audience = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("audience="))
                .unwrap_or_default()
                .to_owned();
            match config.endpoint {
                Endpoint::Slow(d) => {
                    let until = std::time::Instant::now() + d;
                    while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
                        thread::sleep(Duration::from_millis(50));
                    }
                    let token = mint(&config, base, &audience);
                    respond(&mut stream, 200, &json!({"value": token}).to_string());
                }
                Endpoint::Garbage => respond(&mut stream, 200, "<html>rate limited</html>"),
                Endpoint::Normal => {
                    let token = mint(&config, base, &audience);
                    respond(&mut stream, 200, &json!({"value": token}).to_string());
                }
            }
        }
        _ => respond(&mut stream, 404, "{}"),
    }
}

impl FakeIssuer {
    pub fn start(config: IssuerConfig) -> FakeIssuer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            config,
            requests: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        let base = format!("http://{addr}");
        let thread = thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let (st, sp, base) = (Arc::clone(&st), Arc::clone(&sp), base.clone());
                        thread::spawn(move || serve(stream, &base, &st, &sp));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakeIssuer {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, change: impl FnOnce(&mut IssuerConfig)) {
        change(
            &mut self
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .config,
        );
    }

    pub fn requests(&self) -> Vec<(String, bool)> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .requests
            .clone()
    }

    pub fn clear(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .requests
            .clear();
    }

    /// The environment of a GitHub Actions job with `id-token: write`, pointed at this issuer.
    pub fn github_vars(&self) -> Vec<(String, String)> {
        vec![
            ("SAFE_WRANGLER_TEST_ISSUER".into(), self.base()),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
                format!("{}/idtoken?api-version=2.0", self.base()),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
                REQUEST_TOKEN.into(),
            ),
        ]
    }
}

impl Drop for FakeIssuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An `"oidc": true` rule for acme/shop's deploy workflow on main in the production environment.
pub const GITHUB_POLICY: &str = r#"{
  "approved_ci": [{
    "provider": "github-actions",
    "repository": "acme/shop",
    "refs": ["refs/heads/main"],
    "events": ["push"],
    "workflows": [".github/workflows/deploy.yml"],
    "classes": ["production"],
    "oidc": true,
    "repository_id": "101",
    "environment": "production",
    "runner_environment": "github-hosted"
  }],
  "ci_tokens": { "production": "CF_DEPLOY_TOKEN" }
}"#;

/// The variables a GitHub Actions runner sets, consistent with each other, for acme/shop on main.
pub fn github_env(dir: &std::path::Path) -> Vec<(String, String)> {
    let event = dir.join("event.json");
    fs::write(&event, r#"{"repository":{"full_name":"acme/shop"}}"#).unwrap();
    let temp = dir.join("runner-temp");
    fs::create_dir_all(&temp).unwrap();
    [
        ("CI", "true"),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GITHUB_RUN_ID", RUN_ID),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_EVENT_NAME", "push"),
        (
            "GITHUB_WORKFLOW_REF",
            "acme/shop/.github/workflows/deploy.yml@refs/heads/main",
        ),
        ("CF_DEPLOY_TOKEN", DEPLOY_TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([
        ("GITHUB_EVENT_PATH".to_owned(), event.display().to_string()),
        ("RUNNER_TEMP".to_owned(), temp.display().to_string()),
    ])
    .collect()
}

fn with_vars(mut run: Run, vars: &[(String, String)]) -> Run {
    for (k, v) in vars {
        run = run.env(k, v);
    }
    run
}

fn sandbox(policy: &str) -> Sandbox {
    let s = Sandbox::new();
    fs::write(s.project().join("wrangler.toml"), "name = \"shop\"\n").unwrap();
    fs::write(s.project().join("safe-wrangler.jsonc"), policy).unwrap();
    s
}

/// `explain --json -- ARGS` in a GitHub Actions job with `extra` variables.
fn explain(s: &Sandbox, extra: &[(String, String)], args: &[&str]) -> Value {
    let mut run = s.safe(&["explain", "--json", "--"]);
    for a in args {
        run = run.arg(a);
    }
    let run = with_vars(with_vars(run, &github_env(s.root.path())), extra);
    let out = run.output();
    out.assert_code(0);
    serde_json::from_str(out.stdout().trim()).unwrap()
}

#[cfg(feature = "test-issuer")]
mod with_test_issuer {
    use super::*;

    #[track_caller]
    fn assert_refused_because(v: &Value, words: &str) {
        assert_eq!(v["decision"], "refuse", "{v:#}");
        assert_eq!(v["ci_identity"]["proven"], false, "{v:#}");
        let reason = v["reason"].as_str().unwrap();
        assert!(reason.contains(words), "wanted {words:?} in: {reason}");
        assert!(!reason.contains(REQUEST_TOKEN));
    }

    #[test]
    fn oidc_verified_run_deploys_with_the_class_token_and_says_which_claims_proved_it() {
        let issuer = FakeIssuer::start(IssuerConfig::default());
        let s = sandbox(GITHUB_POLICY);
        let v = explain(&s, &issuer.github_vars(), &["deploy"]);
        assert_eq!(v["decision"], "run", "{v:#}");
        assert_eq!(v["decided_by"], "approved_ci[0]");
        let id = &v["ci_identity"];
        assert_eq!(id["proven"], true, "{v:#}");
        assert_eq!(id["issuer"], issuer.base());
        for (claim, value) in [
            ("repository", "acme/shop"),
            ("repository_id", "101"),
            ("ref", "refs/heads/main"),
            ("event_name", "push"),
            ("environment", "production"),
            ("runner_environment", "github-hosted"),
            ("run_id", RUN_ID),
            (
                "workflow_ref",
                "acme/shop/.github/workflows/deploy.yml@refs/heads/main",
            ),
        ] {
            assert_eq!(id["claims"][claim], value, "{claim}: {v:#}");
        }
        // The token was asked for with our audience and the job's bearer; keys by discovery.
        let paths: Vec<String> = issuer.requests().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "/idtoken?api-version=2.0&audience=safe-wrangler",
                "/.well-known/openid-configuration",
                "/keys"
            ]
        );
        assert!(
            issuer.requests()[0].1,
            "the request token was sent to the token endpoint"
        );
        assert!(
            !issuer.requests()[1].1 && !issuer.requests()[2].1,
            "and never to the issuer"
        );

        // The guarded call itself: wrangler runs with exactly the class's token, and the audit
        // line says the identity was proven.
        let log = s.path("audit.jsonl");
        let out = with_vars(
            with_vars(s.shim(&["deploy"]), &github_env(s.root.path())),
            &issuer.github_vars(),
        )
        .env("SAFE_WRANGLER_LOG", &log)
        .output();
        out.assert_code(0);
        let seen: Vec<(String, String)> = s
            .wrangler_env()
            .into_iter()
            .filter(|(_, v)| v.ends_with("-not-real"))
            .filter(|(k, _)| k.starts_with("CLOUDFLARE"))
            .collect();
        assert_eq!(
            seen,
            [("CLOUDFLARE_API_TOKEN".to_owned(), DEPLOY_TOKEN.to_owned())]
        );
        let text = fs::read_to_string(&log).unwrap();
        let line: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(line["context"]["ci_identity"]["proven"], true, "{line:#}");
        assert_eq!(
            line["context"]["ci_identity"]["claims"]["environment"],
            "production"
        );
        assert!(
            !text.contains(REQUEST_TOKEN) && !text.contains("eyJ"),
            "no token in the log"
        );
        // explain's text form says it too.
        let out = with_vars(
            with_vars(s.safe(&["explain", "deploy"]), &github_env(s.root.path())),
            &issuer.github_vars(),
        )
        .output();
        assert!(
            out.stdout().contains("ci identity: proven by a token from"),
            "{}",
            out.stdout()
        );
    }

    /// One change to the fake issuer's behaviour.
    type Change = fn(&mut IssuerConfig);

    #[test]
    fn oidc_bad_tokens_refuse_with_the_reason() {
        let issuer = FakeIssuer::start(IssuerConfig::default());
        let s = sandbox(GITHUB_POLICY);
        let rows: Vec<(&str, Change, &str)> = vec![
            ("expired", |c| c.exp_in = -600, "expired"),
            ("not yet valid", |c| c.nbf_in = 600, "not valid for another"),
            (
                "wrong audience",
                |c| c.claims["aud"] = json!("sts.amazonaws.com"),
                "audience",
            ),
            (
                "wrong issuer",
                |c| c.claims["iss"] = json!("https://token.actions.githubusercontent.com"),
                "issuer",
            ),
            ("unknown kid", |c| c.kid = "k9".into(), "no key \"k9\""),
            (
                "rotated away",
                |c| c.published = vec![(KEY_2, "k2".into())],
                "no key \"k1\"",
            ),
            (
                "other key under the kid",
                |c| c.signing_key = KEY_2,
                "does not verify",
            ),
            ("alg none", |c| c.signing = Signing::None, "only RS256"),
            (
                "HS256 with the public key",
                |c| c.signing = Signing::Hs256WithPublicKey,
                "only RS256",
            ),
            (
                "another run's token",
                |c| c.claims["run_id"] = json!("1"),
                "run_id",
            ),
        ];
        for (name, change, words) in rows {
            issuer.set(|c| {
                *c = IssuerConfig::default();
                change(c);
            });
            let v = explain(&s, &issuer.github_vars(), &["deploy"]);
            assert_eq!(v["decided_by"], "ci-not-approved", "{name}");
            assert_refused_because(&v, words);
        }
        // After a rotation the new key verifies (the issuer publishes both for a while).
        issuer.set(|c| {
            *c = IssuerConfig::default();
            c.signing_key = KEY_2;
            c.kid = "k2".into();
            c.published = vec![(KEY_1, "k1".into()), (KEY_2, "k2".into())];
        });
        assert_eq!(
            explain(&s, &issuer.github_vars(), &["deploy"])["decision"],
            "run"
        );
    }

    #[test]
    fn oidc_each_claim_must_match_its_rule_field() {
        let issuer = FakeIssuer::start(IssuerConfig::default());
        let s = sandbox(GITHUB_POLICY);
        for (claim, value) in [
            ("repository", json!("evil/shop")),
            ("repository_id", json!("666")),
            ("ref", json!("refs/heads/feature")),
            ("event_name", json!("pull_request_target")),
            ("environment", json!("staging")),
            ("runner_environment", json!("self-hosted")),
        ] {
            issuer.set(|c| {
                *c = IssuerConfig::default();
                c.claims[claim] = value.clone();
            });
            let v = explain(&s, &issuer.github_vars(), &["deploy"]);
            assert_refused_because(&v, &format!("the token's {claim}"));
        }
        issuer.set(|c| {
            *c = IssuerConfig::default();
            for k in ["workflow_ref", "job_workflow_ref"] {
                c.claims[k] = json!("acme/shop/.github/workflows/other.yml@refs/heads/main");
            }
        });
        let v = explain(&s, &issuer.github_vars(), &["deploy"]);
        assert_refused_because(&v, "is not in workflows");
    }

    #[test]
    fn oidc_token_endpoint_down_slow_or_garbage_refuses() {
        let issuer = FakeIssuer::start(IssuerConfig::default());
        let s = sandbox(GITHUB_POLICY);
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let mut down = issuer.github_vars();
        down[1].1 = format!("http://{closed}/idtoken?api-version=2.0");
        assert_refused_because(&explain(&s, &down, &["deploy"]), "cannot connect");
        issuer.set(|c| c.endpoint = Endpoint::Garbage);
        assert_refused_because(&explain(&s, &issuer.github_vars(), &["deploy"]), "not JSON");
        issuer.set(|c| c.endpoint = Endpoint::Slow(Duration::from_secs(30)));
        assert_refused_because(
            &explain(&s, &issuer.github_vars(), &["deploy"]),
            "timed out",
        );
        // Without `id-token: write` the job has no token endpoint at all.
        let v = explain(&s, &issuer.github_vars()[..1], &["deploy"]);
        assert_refused_because(&v, "id-token: write");
    }

    #[test]
    fn oidc_is_never_fetched_for_work_it_could_not_approve() {
        let issuer = FakeIssuer::start(IssuerConfig::default());
        let s = sandbox(GITHUB_POLICY);
        for args in [
            &["types"][..],
            &["whoami"],
            &["versions", "upload"],
            &["d1", "migrations", "apply", "DB", "--remote"],
        ] {
            let v = explain(&s, &issuer.github_vars(), args);
            assert_eq!(v["ci_identity"], Value::Null, "{args:?}: {v:#}");
        }
        let mut agent = issuer.github_vars();
        agent.push(("CLAUDECODE".into(), "1".into()));
        assert_eq!(explain(&s, &agent, &["deploy"])["decided_by"], "agent");
        let mut feature = issuer.github_vars();
        feature.push(("GITHUB_REF".into(), "refs/heads/feature".into()));
        let v = explain(&s, &feature, &["deploy"]);
        assert!(
            v["reason"]
                .as_str()
                .unwrap()
                .contains("ref \"refs/heads/feature\""),
            "{v:#}"
        );
        assert!(issuer.requests().is_empty(), "{:?}", issuer.requests());
    }

    #[test]
    fn oidc_gitlab_token_from_the_jobs_id_tokens_variable() {
        let issuer = FakeIssuer::start(IssuerConfig::default());
        let policy = r#"{
          "approved_ci": [{
            "provider": "gitlab-ci", "repository": "acme/shop", "refs": ["refs/heads/main"],
            "classes": ["production"], "oidc": true, "issuer": "https://gitlab.example.com",
            "id_token_variable": "SAFE_WRANGLER_ID_TOKEN", "environment": "production",
            "workflows": [".gitlab-ci.yml"]
          }],
          "ci_tokens": { "production": "CF_DEPLOY_TOKEN" }
        }"#;
        let s = sandbox(policy);
        let gitlab_claims = json!({
            "project_path": "acme/shop", "project_id": "7", "ref": "main", "ref_type": "branch",
            "ref_protected": "true", "pipeline_source": "push", "environment": "production",
            "ci_config_ref_uri": "gitlab.example.com/acme/shop//.gitlab-ci.yml@refs/heads/main",
            "job_id": "555"
        });
        let vars = |claims: &Value| -> Vec<(String, String)> {
            let config = IssuerConfig {
                claims: claims.clone(),
                ..IssuerConfig::default()
            };
            [
                ("GITLAB_CI", "true"),
                ("CI_PROJECT_PATH", "acme/shop"),
                ("CI_JOB_ID", "555"),
                ("CI_PIPELINE_ID", "777"),
                ("CI_COMMIT_BRANCH", "main"),
                ("CI_COMMIT_REF_NAME", "main"),
                ("CI_PIPELINE_SOURCE", "push"),
                ("GITHUB_ACTIONS", ""),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .chain([
                (
                    "CI_PROJECT_DIR".to_owned(),
                    s.project().display().to_string(),
                ),
                ("SAFE_WRANGLER_TEST_ISSUER".to_owned(), issuer.base()),
                (
                    "SAFE_WRANGLER_ID_TOKEN".to_owned(),
                    mint(&config, &issuer.base(), "safe-wrangler"),
                ),
            ])
            .collect()
        };
        let v = explain(&s, &vars(&gitlab_claims), &["deploy"]);
        assert_eq!(v["decision"], "run", "{v:#}");
        assert_eq!(v["ci_identity"]["claims"]["ref"], "refs/heads/main");
        assert_eq!(v["ci_identity"]["claims"]["job_id"], "555");
        let paths: Vec<String> = issuer.requests().into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["/.well-known/openid-configuration", "/keys"]);
        let mut unprotected = gitlab_claims.clone();
        unprotected["ref_protected"] = json!("false");
        assert_refused_because(
            &explain(&s, &vars(&unprotected), &["deploy"]),
            "ref_protected",
        );
        let mut other_job = gitlab_claims;
        other_job["job_id"] = json!("1");
        assert_refused_because(&explain(&s, &vars(&other_job), &["deploy"]), "CI_JOB_ID");
    }
}

/// A normal build never reads `SAFE_WRANGLER_TEST_ISSUER`: it names GitHub's real issuer, and
/// it neither asks the fake for anything nor reaches GitHub (https only: the token endpoint on
/// plain http is refused before any connection).
#[cfg(not(feature = "test-issuer"))]
#[test]
fn a_normal_build_ignores_the_test_issuer_override() {
    let issuer = FakeIssuer::start(IssuerConfig::default());
    let s = sandbox(GITHUB_POLICY);
    let v = explain(&s, &issuer.github_vars(), &["deploy"]);
    assert_eq!(v["decision"], "refuse", "{v:#}");
    assert_eq!(v["ci_identity"]["proven"], false);
    assert_eq!(
        v["ci_identity"]["issuer"],
        "https://token.actions.githubusercontent.com"
    );
    assert!(issuer.requests().is_empty(), "{:?}", issuer.requests());
}
