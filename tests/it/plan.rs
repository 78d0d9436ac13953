//! `safe-wrangler plan`: text and JSON snapshots (insta) over the corpus fixtures in
//! `tests/cases/projects/`, run by the built binary with no terminal. The sandbox's path is
//! replaced by `[project]` so the snapshots hold whole outputs and nothing of this machine.

use crate::cases::{cases_dir, copy_dir};
use crate::util::Sandbox;

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
    ("do_transfer_deploy_staging", "do-transfer", &["deploy", "--env", "staging"]),
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
