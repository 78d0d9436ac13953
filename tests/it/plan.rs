//! `safe-wrangler plan`: text and JSON snapshots (insta) over the corpus fixtures in
//! `tests/cases/projects/`, run by the built binary with no terminal. The sandbox's path is
//! replaced by `[project]` so the snapshots hold whole outputs and nothing of this machine.

use crate::cases::{cases_dir, copy_dir};
use crate::util::Sandbox;
use std::fs;

/// (snapshot name, fixture, argv).
const PLANS: &[(&str, &str, &[&str])] = &[
    ("shop_deploy", "plan-shop", &["deploy"]),
    (
        "shop_deploy_staging",
        "plan-shop",
        &["deploy", "--env", "staging"],
    ),
    (
        "shop_d1_command",
        "plan-shop",
        &[
            "d1",
            "execute",
            "DB",
            "--remote",
            "--command",
            "DROP TABLE customers; SELECT 1",
        ],
    ),
    (
        "shop_d1_file",
        "plan-shop",
        &["d1", "execute", "DB", "--remote", "--file", "cleanup.sql"],
    ),
    (
        "shop_d1_migrations",
        "plan-shop",
        &["d1", "migrations", "apply", "DB", "--remote"],
    ),
    (
        "shop_d1_staging",
        "plan-shop",
        &[
            "d1",
            "migrations",
            "apply",
            "DB",
            "--remote",
            "-e",
            "staging",
        ],
    ),
    (
        "shop_secret_bulk",
        "plan-shop",
        &["secret", "bulk", "secrets.json"],
    ),
    (
        "shop_secret_put",
        "plan-shop",
        &["secret", "put", "API_KEY", "--env", "staging"],
    ),
    (
        "shop_versions_deploy",
        "plan-shop",
        &["versions", "deploy", "abc@90%", "def@10%", "-y"],
    ),
    ("shop_delete", "plan-shop", &["delete"]),
    (
        "shop_deploy_cli_route",
        "plan-shop",
        &[
            "deploy",
            "--route",
            "x.example.com/*",
            "--domain",
            "y.example.com",
        ],
    ),
    (
        "routes_deploy_staging",
        "routes",
        &["deploy", "--env", "staging"],
    ),
    ("do_delete_deploy", "do-delete", &["deploy"]),
    (
        "do_transfer_deploy_staging",
        "do-transfer",
        &["deploy", "--env", "staging"],
    ),
    ("exports_deleted_deploy", "exports-deleted", &["deploy"]),
    (
        "workflows_deploy_staging",
        "workflows",
        &["deploy", "--env", "staging"],
    ),
];

fn run(fixture: &str, argv: &[&str], json: bool) -> String {
    let s = Sandbox::new();
    copy_dir(&cases_dir().join("projects").join(fixture), &s.project());
    let mut r = s.safe(&["plan"]);
    if json {
        r = r.arg("--json");
    }
    let mut r = r.arg("--");
    for a in argv {
        r = r.arg(a);
    }
    let out = r.output();
    assert_eq!(out.code(), Some(0), "{argv:?}: {}", out.stderr());
    let project = s.project().display().to_string();
    let real = std::fs::canonicalize(s.project())
        .unwrap()
        .display()
        .to_string();
    out.stdout()
        .replace(&real, "[project]")
        .replace(&project, "[project]")
}

#[test]
fn plan_text_snapshots() {
    for (name, fixture, argv) in PLANS {
        insta::assert_snapshot!(format!("text_{name}"), run(fixture, argv, false));
    }
}

#[test]
fn plan_json_snapshots() {
    for (name, fixture, argv) in PLANS {
        let v: serde_json::Value = serde_json::from_str(run(fixture, argv, true).trim()).unwrap();
        for key in [
            "worker",
            "environment",
            "class",
            "routes",
            "database",
            "statements",
            "migrations",
            "secrets",
        ] {
            assert!(v.get(key).is_some(), "{name}: no {key}");
        }
        insta::assert_snapshot!(
            format!("json_{name}"),
            serde_json::to_string_pretty(&v).unwrap()
        );
    }
}

#[test]
fn plan_never_runs_wrangler_and_never_shows_a_secret_value() {
    let s = Sandbox::new();
    copy_dir(&cases_dir().join("projects/plan-shop"), &s.project());
    let out = s.safe(&["plan", "secret", "bulk", "secrets.json"]).output();
    assert_eq!(out.code(), Some(0));
    assert!(out.stdout().contains("STRIPE_KEY"), "{}", out.stdout());
    assert!(!out.stdout().contains("sk_dummy_value"), "{}", out.stdout());
    assert!(s.wrangler_argv().is_none(), "wrangler ran");
}

/// `instead` of `explain --json` (no terminal) in a copy of `fixture`.
fn instead(fixture: &str, argv: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let s = Sandbox::new();
    if !fixture.is_empty() {
        copy_dir(&cases_dir().join("projects").join(fixture), &s.project());
    }
    let mut r = s.safe(&["explain", "--json", "--"]);
    for a in argv {
        r = r.arg(a);
    }
    for (k, v) in env {
        r = r.env(k, v);
    }
    let out = r.output();
    let v: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
    v["instead"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a.as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn suggestions_are_built_from_the_callers_argv_and_config() {
    // A preview version keeps the caller's environment (else wrangler uploads to another Worker).
    assert_eq!(
        instead(
            "plan-shop",
            &["versions", "deploy", "abc@100", "-y", "-e", "production"],
            &[]
        ),
        ["versions upload -e production"]
    );
    // Another environment only when the config defines it and it would run: plan-shop's staging
    // deletes Durable Object classes (migration), so it is not offered; routes' `clean` is not a
    // declared preview environment (production, issue 11); filecoin's declared `calibration` is.
    assert_eq!(instead("plan-shop", &["deploy"], &[]), ["versions upload"]);
    assert_eq!(instead("routes", &["deploy"], &[]), ["versions upload"]);
    assert_eq!(
        instead("filecoin-declared", &["deploy"], &[]),
        ["deploy --env calibration", "versions upload"]
    );
    // A refused `deploy --env staging` is not told to deploy to staging.
    assert!(
        !instead("routes", &["deploy", "--env", "staging"], &[])
            .iter()
            .any(|s| s.contains("staging") && s.starts_with("deploy")),
    );
    // A project without environments gets no `--env` at all.
    let plain = instead("", &["deploy"], &[]);
    assert!(plain.iter().all(|s| !s.contains("--env")), "{plain:?}");
    // --remote becomes --local (and the result runs: not the same advice again).
    assert_eq!(
        instead(
            "plan-shop",
            &[
                "d1",
                "execute",
                "DB",
                "--remote",
                "--command",
                "DELETE FROM t"
            ],
            &[]
        ),
        ["d1 execute DB --command DELETE FROM t --local"]
    );
    assert_eq!(
        instead(
            "",
            &["d1", "migrations", "apply", "DB", "--remote", "--", "x"],
            &[]
        ),
        ["d1 migrations apply DB --local -- x"]
    );
    // An agent gets the same suggestions: they are preview or local work.
    assert_eq!(
        instead(
            "plan-shop",
            &["deploy", "-e", "staging"],
            &[("CLAUDECODE", "1")]
        ),
        ["versions upload -e staging"]
    );
}

#[test]
fn a_refusal_prints_whole_command_lines_that_run() {
    let s = Sandbox::new();
    copy_dir(&cases_dir().join("projects/routes"), &s.project());
    // `clean` declared a preview environment, so deploying there is offered (it would run).
    fs::write(
        s.project().join("safe-wrangler.jsonc"),
        r#"{ "preview_environments": ["clean"] }"#,
    )
    .unwrap();
    let out = s.safe(&["deploy", "--env", "canary"]).output();
    assert_eq!(out.code(), Some(77));
    let err = out.stderr();
    let line = err.lines().find(|l| l.contains("instead:")).unwrap();
    assert_eq!(
        line,
        "safe-wrangler: instead: `safe-wrangler deploy --env clean`; or `safe-wrangler versions upload --env canary`; or ask a human to run it in their terminal: safe-wrangler deploy --env canary; or a human can grant this one change at their terminal: safe-wrangler grant -- deploy --env canary"
    );
}

#[test]
fn the_hooks_deny_reason_carries_the_plan_summary_and_the_suggestions() {
    use std::io::Write;
    let s = Sandbox::new();
    copy_dir(&cases_dir().join("projects/plan-shop"), &s.project());
    let input = serde_json::json!({
        "session_id": "s",
        "cwd": s.project().display().to_string(),
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "npx wrangler d1 execute DB --remote --command 'DROP TABLE customers'"},
    })
    .to_string();
    let mut cmd = s.safe(&["hook", "claude"]).cmd;
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = v["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains(
            "It would change: database shop-prod; destructive SQL: DROP TABLE customers."
        ),
        "{reason}"
    );
    assert!(
        reason.contains(
            "Instead: `wrangler d1 execute DB --command 'DROP TABLE customers' --local`; or ask a human"
        ),
        "{reason}"
    );
}
