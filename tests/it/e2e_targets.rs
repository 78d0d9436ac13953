//! Issue 11 end to end: which targets are production, proved with the REAL wrangler 4.164.0
//! against the loopback fake API (`fake_api`), then held against what safe-wrangler decides.
//!
//! Each scenario first runs the real wrangler directly (with the human's stored OAuth login) and
//! reads the requests it sends, so the rule is what wrangler does, not what we think it does;
//! then runs the same words through safe-wrangler with no terminal and checks the decision
//! (a refusal reaches nothing; a preview call reaches what wrangler reached).

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_api::{
    self, D1_DATABASE_ID, FakeApi, FakeOptions, Request, WranglerRun, run_wrangler_with,
};
use crate::util::BIN;

const TIMEOUT: Duration = fake_api::WRANGLER_TIMEOUT;

const INDEX_JS: &str = "import { WorkflowEntrypoint } from \"cloudflare:workers\";\n\
export class Orders extends WorkflowEntrypoint { async run() {} }\n\
export default { async fetch() { return new Response(\"ok\"); } };\n";

/// A temp dir with `home/.config` (`XDG_CONFIG_HOME`, holding the OAuth login) and `work/`.
struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    fn new(config: &Value) -> Sandbox {
        let s = Sandbox {
            root: tempfile::tempdir().expect("temp dir"),
        };
        fs::create_dir_all(s.work()).expect("create work/");
        fake_api::write_oauth_login(&s.xdg());
        fs::write(s.work().join("index.js"), INDEX_JS).expect("write index.js");
        s.config(config);
        s
    }
    fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }
    fn xdg(&self) -> PathBuf {
        self.root.path().join("home/.config")
    }
    fn config(&self, config: &Value) {
        let text = serde_json::to_string_pretty(config).expect("serialise");
        fs::write(self.work().join("wrangler.json"), text).expect("write wrangler.json");
    }
    /// The real wrangler, directly.
    fn wrangler(&self, fake: &FakeApi, args: &[&str]) -> WranglerRun {
        let mut cmd = fake_api::wrangler_command(&self.work(), &self.xdg(), &fake.base_url());
        cmd.args(args);
        run_wrangler_with(cmd, None, TIMEOUT)
    }
    /// safe-wrangler in front of the real wrangler, with no controlling terminal.
    fn safe(&self, fake: &FakeApi, args: &[&str]) -> WranglerRun {
        let mut cmd = self.safe_command(fake, args);
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        run_wrangler_with(cmd, None, TIMEOUT)
    }
    fn safe_command(&self, fake: &FakeApi, args: &[&str]) -> Command {
        let real = fake_api::require_wrangler_real();
        let mut cmd =
            fake_api::isolated_command(Path::new(BIN), &self.work(), &self.xdg(), &fake.base_url());
        cmd.env("SAFE_WRANGLER_REAL", real).args(args);
        cmd
    }
    /// `safe-wrangler explain --json -- ARGS`.
    fn explain(&self, args: &[&str]) -> Value {
        let fake = fake(false);
        let mut full = vec!["explain", "--json", "--"];
        full.extend_from_slice(args);
        let run = self.safe(&fake, &full);
        run.assert_success("safe-wrangler explain");
        assert!(fake.requests().is_empty(), "explain made a request");
        serde_json::from_str(run.stdout.trim())
            .unwrap_or_else(|e| panic!("explain printed no JSON ({e}): {}", run.stdout))
    }
}

fn fake(worker_exists: bool) -> FakeApi {
    FakeApi::start(FakeOptions {
        worker_exists,
        ..FakeOptions::default()
    })
}

/// The Worker names of `PUT /accounts/<A>/workers/scripts/<name>` (uploads).
fn uploads(reqs: &[Request]) -> Vec<String> {
    reqs.iter()
        .filter(|r| r.method == "PUT")
        .filter_map(|r| {
            let segs: Vec<&str> = r.path.trim_matches('/').split('/').collect();
            match segs.as_slice() {
                ["accounts", _, "workers", "scripts", name] => Some((*name).to_owned()),
                _ => None,
            }
        })
        .collect()
}

/// `(workflow name, script_name)` of every `PUT /accounts/<A>/workflows/<name>`.
fn workflow_puts(reqs: &[Request]) -> Vec<(String, String)> {
    reqs.iter()
        .filter(|r| r.method == "PUT")
        .filter_map(|r| {
            let segs: Vec<&str> = r.path.trim_matches('/').split('/').collect();
            match segs.as_slice() {
                ["accounts", _, "workflows", name] => Some((
                    (*name).to_owned(),
                    r.json()?.get("script_name")?.as_str()?.to_owned(),
                )),
                _ => None,
            }
        })
        .collect()
}

#[track_caller]
fn assert_refused_without_requests(what: &str, run: &WranglerRun, fake: &FakeApi) {
    assert_eq!(run.code(), Some(77), "{what}: not refused\n{}", run.stderr);
    assert!(
        fake.requests().is_empty(),
        "{what}: a refused call reached the API:\n{}",
        fake.report()
    );
}

#[track_caller]
fn assert_class(explained: &Value, class: &str, rule: &str) {
    assert_eq!(explained["class"], class, "{explained}");
    assert_eq!(explained["rule"], rule, "{explained}");
}

/// No `[env.staging]` at all: wrangler deploys the top level whole as `<name>-staging`, so the
/// new Worker is bound to the production D1 database and takes the production Workflow over.
#[test]
fn e2e_targets_missing_env_section_reaches_production_data() {
    let s = Sandbox::new(&json!({
        "name": "shop",
        "main": "index.js",
        "compatibility_date": "2025-01-01",
        "d1_databases": [{"binding": "DB", "database_name": "shop-db", "database_id": D1_DATABASE_ID}],
        "workflows": [{"name": "orders", "binding": "ORDERS", "class_name": "Orders"}]
    }));
    let f = fake(false);
    s.wrangler(&f, &["deploy", "--env", "staging"])
        .assert_success(&f.report());
    let reqs = f.requests();
    assert_eq!(uploads(&reqs), ["shop-staging"], "{}", f.report());
    let upload = reqs
        .iter()
        .find(|r| r.method == "PUT" && r.path.ends_with("/workers/scripts/shop-staging"))
        .expect("upload");
    assert!(
        upload.body.contains(D1_DATABASE_ID),
        "the staging upload does not bind the production database:\n{}",
        upload.body
    );
    assert_eq!(
        workflow_puts(&reqs),
        [("orders".to_owned(), "shop-staging".to_owned())]
    );

    let e = s.explain(&["deploy", "--env", "staging"]);
    assert_class(&e, "production", "production-data");
    assert!(e["why"].as_str().unwrap().contains(D1_DATABASE_ID), "{e}");
    let f = fake(false);
    let run = s.safe(&f, &["deploy", "--env", "staging"]);
    assert_refused_without_requests("deploy --env staging", &run, &f);
}

/// A named staging Worker with its own data is preview: it runs with no human, and what it
/// reaches is the staging Worker only.
#[test]
fn e2e_targets_named_staging_worker_is_preview() {
    let s = Sandbox::new(&json!({
        "name": "app",
        "main": "index.js",
        "compatibility_date": "2025-01-01",
        "d1_databases": [{"binding": "DB", "database_name": "app-db", "database_id": D1_DATABASE_ID}],
        "env": {
            "production": {
                "d1_databases": [{"binding": "DB", "database_name": "app-db", "database_id": D1_DATABASE_ID}]
            },
            "staging": {
                "name": "app-staging",
                "d1_databases": [{"binding": "DB", "database_name": "app-db-staging",
                                  "database_id": "22222222-2222-4222-8222-222222222222"}]
            }
        }
    }));
    let e = s.explain(&["deploy", "--env", "staging"]);
    assert_class(&e, "preview", "non-production-environment");
    assert_eq!(e["worker"], "app-staging");
    let f = fake(false);
    s.safe(&f, &["deploy", "--env", "staging"])
        .assert_success(&f.report());
    assert_eq!(uploads(&f.requests()), ["app-staging"], "{}", f.report());

    // `--name app` is the production Worker: refused, nothing sent.
    let e = s.explain(&["deploy", "--env", "staging", "--name", "app"]);
    assert_eq!(e["class"], "production", "{e}");
    let f = fake(false);
    let run = s.safe(&f, &["deploy", "--env", "staging", "--name", "app"]);
    assert_refused_without_requests("deploy --env staging --name app", &run, &f);
}

/// An environment in neither list (`mainnet`) is production; wrangler would deploy it.
#[test]
fn e2e_targets_undeclared_environment_is_production() {
    let s = Sandbox::new(&json!({
        "name": "fil",
        "main": "index.js",
        "compatibility_date": "2025-01-01",
        "env": { "mainnet": { "name": "fil-mainnet" }, "calibration": { "name": "fil-calibration" } }
    }));
    let f = fake(false);
    s.wrangler(&f, &["deploy", "--env", "mainnet"])
        .assert_success(&f.report());
    assert_eq!(uploads(&f.requests()), ["fil-mainnet"]);

    let e = s.explain(&["deploy", "--env", "mainnet"]);
    assert_class(&e, "production", "undeclared-environment");
    assert!(
        e["why"]
            .as_str()
            .unwrap()
            .contains("add it to \"preview_environments\" in safe-wrangler.jsonc"),
        "{e}"
    );
    let f = fake(false);
    let run = s.safe(&f, &["deploy", "--env", "mainnet"]);
    assert_refused_without_requests("deploy --env mainnet", &run, &f);

    // Declared non-production in the project's policy, calibration runs.
    fs::write(
        s.work().join("safe-wrangler.jsonc"),
        r#"{ "production_environments": ["", "mainnet"], "preview_environments": ["calibration"] }"#,
    )
    .unwrap();
    let f = fake(false);
    s.safe(&f, &["deploy", "--env", "calibration"])
        .assert_success(&f.report());
    assert_eq!(uploads(&f.requests()), ["fil-calibration"]);
}

/// `triggers deploy` registers Workflows (here from `exports`, inherited by the environment)
/// and applies Email Routing addresses, like deploy.
#[test]
fn e2e_targets_triggers_deploy_claims_workflows_and_email() {
    let s = Sandbox::new(&json!({
        "name": "shop",
        "main": "index.js",
        "compatibility_date": "2025-01-01",
        "exports": { "Orders": { "type": "workflow", "name": "orders" } },
        "addresses": ["support@example.com"],
        "env": { "staging": { "name": "shop-staging" } }
    }));
    let f = fake(true);
    s.wrangler(&f, &["triggers", "deploy", "--env", "staging"])
        .assert_success(&f.report());
    let reqs = f.requests();
    assert_eq!(
        workflow_puts(&reqs),
        [("orders".to_owned(), "shop-staging".to_owned())],
        "{}",
        f.report()
    );
    let plan = reqs
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/email/routing/rules/plan"))
        .unwrap_or_else(|| panic!("no Email Routing plan request:\n{}", f.report()));
    assert!(
        plan.body.contains("support@example.com") && plan.body.contains("shop-staging"),
        "{}",
        plan.body
    );
    let rule = reqs
        .iter()
        .find(|r| r.method == "POST" && r.route == "email_routing_rule")
        .unwrap_or_else(|| panic!("no Email Routing rule created:\n{}", f.report()));
    assert!(
        rule.body.contains("support@example.com") && rule.body.contains("shop-staging"),
        "the rule does not send support@example.com to the staging Worker: {}",
        rule.body
    );

    let e = s.explain(&["triggers", "deploy", "--env", "staging"]);
    assert_class(&e, "dns", "email-addresses");
    assert!(
        e["facts"].to_string().contains("orders"),
        "the Workflow is not named: {e}"
    );
    let f = fake(true);
    let run = s.safe(&f, &["triggers", "deploy", "--env", "staging"]);
    assert_refused_without_requests("triggers deploy --env staging", &run, &f);
}

/// `deploy sub/index.js` searches for the config from `sub/sub` upwards (each name all the way
/// up before the next: a `wrangler.jsonc` in `sub/sub` would lose to `sub/wrangler.json`).
#[test]
fn e2e_targets_script_argument_config_search() {
    let s = Sandbox::new(
        &json!({"name": "top", "main": "index.js", "compatibility_date": "2025-01-01"}),
    );
    let sub = s.work().join("sub");
    fs::create_dir_all(sub.join("sub")).unwrap();
    fs::write(sub.join("index.js"), INDEX_JS).unwrap();
    fs::write(
        sub.join("wrangler.json"),
        r#"{"name":"in-sub","compatibility_date":"2025-01-01"}"#,
    )
    .unwrap();
    // A BOM before the JSON: wrangler reads it.
    fs::write(
        sub.join("sub/wrangler.json"),
        "\u{feff}{\"name\":\"in-sub-sub\",\"compatibility_date\":\"2025-01-01\"}",
    )
    .unwrap();
    let f = fake(false);
    s.wrangler(&f, &["deploy", "sub/index.js"])
        .assert_success(&f.report());
    assert_eq!(uploads(&f.requests()), ["in-sub-sub"]);
    let e = s.explain(&["deploy", "sub/index.js"]);
    assert_eq!(e["worker"], "in-sub-sub", "{e}");
}

/// `d1 ... --no-local` stays local; `kv ... --remote --preview` writes the preview namespace and
/// runs as preview.
#[test]
fn e2e_targets_data_commands_local_and_preview() {
    let s = Sandbox::new(&json!({
        "name": "shop",
        "main": "index.js",
        "compatibility_date": "2025-01-01",
        "d1_databases": [{"binding": "DB", "database_name": "shop-db", "database_id": D1_DATABASE_ID}],
        "kv_namespaces": [{"binding": "KV", "id": "kvprod00000000000000000000000001",
                           "preview_id": "kvprev00000000000000000000000001"}]
    }));
    let f = fake(false);
    s.safe(
        &f,
        &["d1", "execute", "DB", "--command", "SELECT 1", "--no-local"],
    )
    .assert_success("d1 --no-local");
    assert!(f.requests().is_empty(), "{}", f.report());

    let e = s.explain(&[
        "kv",
        "key",
        "put",
        "k",
        "v",
        "--binding",
        "KV",
        "--remote",
        "--preview",
    ]);
    assert_class(&e, "preview", "kv-preview-namespace");
    let f = fake(false);
    s.safe(
        &f,
        &[
            "kv",
            "key",
            "put",
            "k",
            "v",
            "--binding",
            "KV",
            "--remote",
            "--preview",
        ],
    )
    .assert_success(&f.report());
    let puts: Vec<String> = f
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        puts,
        [fake_api::acct(
            "/storage/kv/namespaces/kvprev00000000000000000000000001/values/k"
        )]
    );
}
