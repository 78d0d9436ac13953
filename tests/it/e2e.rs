//! End-to-end: the REAL wrangler (`tests/e2e/wrangler-real`, installed by `scripts/e2e-setup.sh`)
//! against the loopback fake Cloudflare API (`fake_api`). For now `direct_*` only: wrangler run
//! directly, not through safe-wrangler, to prove the fake is good enough for each command to
//! complete (exit 0), and that the request log sees which credential was used.

use crate::fake_api::{
    self, Credential, D1_DATABASE_ID, ENV_TOKEN, ENV_TOKEN_LABEL, FakeApi, FakeOptions,
    KV_NAMESPACE_ID, OAUTH_LABEL, Request, VERSION_ID_2, WORKER_NAME, WranglerRun, acct, script,
};
use crate::util::Sandbox;

struct Direct {
    sandbox: Sandbox,
    fake: FakeApi,
}

impl Direct {
    fn new(opts: FakeOptions, triggers: bool) -> Direct {
        let sandbox = Sandbox::new();
        if triggers {
            fake_api::write_project_with_triggers(&sandbox.project());
        } else {
            fake_api::write_project(&sandbox.project());
        }
        let fake = FakeApi::start(opts);
        Direct { sandbox, fake }
    }

    fn xdg(&self) -> std::path::PathBuf {
        self.sandbox.home().join(".config")
    }

    /// The real wrangler with `CLOUDFLARE_API_TOKEN=ENV_TOKEN` (unless `token` is false).
    fn run(&self, args: &[&str], token: bool, stdin: Option<&[u8]>) -> WranglerRun {
        let mut cmd =
            fake_api::wrangler_command(&self.sandbox.project(), &self.xdg(), &self.fake.base_url());
        cmd.args(args);
        if token {
            cmd.env("CLOUDFLARE_API_TOKEN", ENV_TOKEN);
        }
        let run = fake_api::run_wrangler_with(cmd, stdin, fake_api::WRANGLER_TIMEOUT);
        eprintln!(
            "wrangler {} -> {:?} in {:.1?}, {} requests:\n{}\n--- stdout:\n{}\n--- stderr:\n{}",
            args.join(" "),
            run.code(),
            run.elapsed,
            self.fake.requests().len(),
            self.fake.report(),
            run.stdout,
            run.stderr
        );
        run.assert_success(&self.fake.report());
        run
    }

    /// Every request carried `cred`, and every one was answered by a specific route.
    #[track_caller]
    fn assert_all(&self, cred: &Credential) -> Vec<Request> {
        let reqs = self.fake.requests();
        assert!(!reqs.is_empty(), "no request reached the fake API");
        for r in &reqs {
            assert_eq!(
                &r.credential,
                cred,
                "{}\nlog:\n{}",
                r.full_line(),
                self.fake.report()
            );
            assert_ne!(
                r.route,
                "DEFAULT",
                "no specific route for {}\nlog:\n{}",
                r.full_line(),
                self.fake.report()
            );
        }
        reqs
    }

    /// The requests with this method and path (at least one).
    #[track_caller]
    fn find(&self, method: &str, path: &str) -> Vec<Request> {
        let found: Vec<Request> = self
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect();
        assert!(
            !found.is_empty(),
            "no {method} {path}\nlog:\n{}",
            self.fake.report()
        );
        found
    }
}

fn env_token() -> Credential {
    Credential::bearer(ENV_TOKEN_LABEL)
}

fn worker_exists() -> FakeOptions {
    FakeOptions {
        worker_exists: true,
        ..FakeOptions::default()
    }
}

#[test]
fn direct_whoami() {
    let d = Direct::new(FakeOptions::default(), false);
    let run = d.run(&["whoami"], true, None);
    d.assert_all(&env_token());
    d.find("GET", "/user");
    d.find("GET", "/accounts");
    assert!(run.stdout.contains(fake_api::ACCOUNT_ID), "{}", run.stdout);
}

#[test]
fn direct_whoami_with_oauth_login_only() {
    let d = Direct::new(FakeOptions::default(), false);
    fake_api::write_oauth_login(&d.xdg());
    let run = d.run(&["whoami"], false, None);
    d.assert_all(&Credential::bearer(OAUTH_LABEL));
    d.find("GET", "/accounts");
    assert!(run.stdout.contains("OAuth"), "{}", run.stdout);
}

#[test]
fn direct_deploy() {
    let d = Direct::new(FakeOptions::default(), false);
    let run = d.run(&["deploy"], true, None);
    d.assert_all(&env_token());
    let put = d.find("PUT", &script(""));
    assert!(
        put[0].content_type.starts_with("multipart/"),
        "{:?}",
        put[0].content_type
    );
    assert!(put[0].body.contains("hello from sw-e2e"));
    assert!(
        run.stdout.contains("fake-subdomain.workers.dev"),
        "{}",
        run.stdout
    );
}

#[test]
fn direct_deploy_with_routes_custom_domain_and_cron() {
    let d = Direct::new(FakeOptions::default(), true);
    d.run(&["deploy"], true, None);
    d.assert_all(&env_token());
    d.find("PUT", &script(""));
    let routes = d.find("PUT", &script("/routes"));
    assert!(
        routes[0].body.contains("shop.example.com/*"),
        "{}",
        routes[0].body
    );
    let domains = d.find("PUT", &script("/domains/records"));
    assert!(
        domains[0].body.contains("api.example.com"),
        "{}",
        domains[0].body
    );
    let crons = d.find("PUT", &script("/schedules"));
    assert!(crons[0].body.contains("*/5 * * * *"), "{}", crons[0].body);
}

#[test]
fn direct_versions_upload() {
    let d = Direct::new(worker_exists(), false);
    d.run(&["versions", "upload"], true, None);
    d.assert_all(&env_token());
    let up = d.find("POST", &script("/versions"));
    assert!(up[0].body.contains("hello from sw-e2e"));
    // An upload is not a deployment.
    assert!(
        !d.fake
            .requests()
            .iter()
            .any(|r| (r.method == "POST" && r.path == script("/deployments")) || r.method == "PUT"),
        "{}",
        d.fake.report()
    );
}

#[test]
fn direct_versions_deploy() {
    let d = Direct::new(worker_exists(), false);
    let spec = format!("{VERSION_ID_2}@100%");
    d.run(&["versions", "deploy", &spec, "-y"], true, None);
    d.assert_all(&env_token());
    let dep = d.find("POST", &script("/deployments"));
    let body = dep[0].json().expect("JSON deployment body");
    assert_eq!(body["versions"][0]["version_id"], VERSION_ID_2, "{body}");
    assert_eq!(body["versions"][0]["percentage"], 100, "{body}");
}

#[test]
fn direct_d1_migrations_apply_remote() {
    let d = Direct::new(FakeOptions::default(), false);
    d.run(&["d1", "migrations", "apply", "DB", "--remote"], true, None);
    d.assert_all(&env_token());
    let q = d.find(
        "POST",
        &acct(&format!("/d1/database/{D1_DATABASE_ID}/query")),
    );
    let all: String = q.iter().map(|r| r.body.as_str()).collect();
    assert!(all.contains("CREATE TABLE IF NOT EXISTS items"), "{all}");
    assert!(all.contains(fake_api::migration_name()), "{all}");
}

#[test]
fn direct_d1_execute_remote() {
    let d = Direct::new(FakeOptions::default(), false);
    d.run(
        &["d1", "execute", "DB", "--remote", "--command", "SELECT 1"],
        true,
        None,
    );
    d.assert_all(&env_token());
    let q = d.find(
        "POST",
        &acct(&format!("/d1/database/{D1_DATABASE_ID}/query")),
    );
    assert_eq!(q.len(), 1, "{}", d.fake.report());
    assert_eq!(q[0].json().expect("JSON")["sql"], "SELECT 1");
}

#[test]
fn direct_kv_key_put_remote() {
    let d = Direct::new(FakeOptions::default(), false);
    d.run(
        &["kv", "key", "put", "k", "v", "--binding", "KV", "--remote"],
        true,
        None,
    );
    d.assert_all(&env_token());
    d.find(
        "PUT",
        &acct(&format!(
            "/storage/kv/namespaces/{KV_NAMESPACE_ID}/values/k"
        )),
    );
}

#[test]
fn direct_secret_put() {
    let d = Direct::new(FakeOptions::default(), false);
    d.run(
        &["secret", "put", "MY_SECRET"],
        true,
        Some(b"secret-value-not-real\n"),
    );
    d.assert_all(&env_token());
    let put = d.find("PUT", &script("/secrets"));
    let body = put[0].json().expect("JSON secret body");
    assert_eq!(body["name"], "MY_SECRET", "{body}");
    assert_eq!(body["text"], "secret-value-not-real", "{body}");
}

#[test]
fn direct_delete() {
    let d = Direct::new(worker_exists(), false);
    d.run(&["delete"], true, None);
    d.assert_all(&env_token());
    d.find("DELETE", &acct(&format!("/workers/services/{WORKER_NAME}")));
}
