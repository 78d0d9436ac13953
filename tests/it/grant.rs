//! Break-glass grants (issue 14): made by a human on a real pseudo-terminal, used by an agent's
//! call through the wrapper (once), checked but not used by the hook, refused when the plan
//! changed (with the differing part named), revoked, and never taken from an unfit store.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{BIN, Out, PtySession, Sandbox};

const TIMEOUT: Duration = Duration::from_secs(20);

/// `safe-wrangler ARGS` on a pty that is its controlling terminal, as a human runs it.
fn on_terminal(s: &Sandbox, args: &[&str], extra_env: &[(&str, &str)]) -> PtySession {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(s.project())
        .env_clear()
        .env("PATH", s.default_path())
        .env("HOME", s.home())
        .env("XDG_CONFIG_HOME", s.home().join(".config"))
        .env("RECORD", s.record());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    PtySession::spawn(cmd)
}

/// A worker `shop` with one route and a D1 database with its migrations directory.
fn project(s: &Sandbox) {
    fs::write(
        s.project().join("wrangler.jsonc"),
        r#"{
  "name": "shop",
  "routes": ["shop.example.com/*"],
  "d1_databases": [{ "binding": "DB", "database_name": "shop-db", "database_id": "0000" }]
}
"#,
    )
    .unwrap();
    fs::create_dir_all(s.project().join("migrations")).unwrap();
    fs::write(
        s.project().join("migrations/0001_init.sql"),
        "CREATE TABLE t (id INTEGER);\n",
    )
    .unwrap();
}

/// A human grants `args` on the terminal by typing `phrase`; the grant's id.
fn grant(s: &Sandbox, args: &[&str], phrase: &str) -> String {
    grant_with(s, &[], args, phrase)
}

/// [`grant`] with `flags` (`--for`, `--uses`) before the wrangler arguments.
fn grant_with(s: &Sandbox, flags: &[&str], args: &[&str], phrase: &str) -> String {
    let mut words = vec!["grant", "--reason", "hotfix"];
    words.extend_from_slice(flags);
    words.push("--");
    words.extend_from_slice(args);
    let mut p = on_terminal(s, &words, &[]);
    p.wait_for(&format!("Type {phrase} to confirm"));
    p.type_bytes(format!("{phrase}\n").as_bytes());
    let (code, text, _) = p.finish(TIMEOUT);
    assert_eq!(code, Some(0), "{text}");
    let id = text
        .split("granted ")
        .nth(1)
        .and_then(|t| t.split(':').next())
        .unwrap_or_else(|| panic!("no id in {text}"));
    id.trim().to_owned()
}

/// `safe-wrangler grants --json`.
fn listed(s: &Sandbox) -> Vec<Value> {
    let out = s.safe(&["grants", "--json"]).output();
    out.assert_code(0);
    let v: Value = serde_json::from_str(out.stdout().trim()).unwrap();
    v["grants"].as_array().unwrap().clone()
}

/// An agent's call through the wrapper (no terminal, an agent marker).
fn agent(s: &Sandbox, args: &[&str]) -> Out {
    s.safe(args).env("CLAUDECODE", "1").output()
}

fn audit(s: &Sandbox) -> Vec<Value> {
    let text = fs::read_to_string(s.home().join(".local/state/safe-wrangler/audit.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const DEPLOY: &[&str] = &["deploy", "--env", "production"];

#[test]
fn a_human_grants_with_the_phrase_and_the_plan_is_shown() {
    let s = Sandbox::new();
    project(&s);
    let mut p = on_terminal(&s, &["grant", "--", "deploy", "-e", "production"], &[]);
    p.wait_for("Type shop-production to confirm");
    let text = p.text();
    assert!(text.contains("shop.example.com/*"), "{text}");
    assert!(text.contains("1 use within 30m"), "{text}");
    p.type_bytes(b"shop-production\n");
    let (code, text, _) = p.finish(TIMEOUT);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("safe-wrangler grant --revoke g"), "{text}");
    let list = listed(&s);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["uses_left"], 1);
    assert_eq!(list[0]["environment"], "production");
    let store = s.home().join(".local/state/safe-wrangler/grants.json");
    assert_eq!(
        fs::metadata(&store).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(s.wrangler_argv().is_none(), "granting never runs wrangler");
    assert!(audit(&s).iter().any(|r| r["decision"] == "grant-created"));
    // doctor lists it, with its owner and expiry.
    let out = s.safe(&["doctor", "--json"]).output();
    let v: Value = serde_json::from_str(out.stdout().trim()).unwrap();
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "grants")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "info", "{check}");
    let detail = check["details"][0].as_str().unwrap();
    assert!(detail.contains(list[0]["id"].as_str().unwrap()), "{detail}");
    assert!(
        detail.contains("owner ") && detail.contains("expires "),
        "{detail}"
    );
}

#[test]
fn a_wrong_phrase_grants_nothing() {
    let s = Sandbox::new();
    project(&s);
    let mut p = on_terminal(&s, &["grant", "--", "deploy", "-e", "production"], &[]);
    p.wait_for("Type shop-production to confirm");
    p.type_bytes(b"shop\n");
    let (code, text, _) = p.finish(TIMEOUT);
    assert_eq!(code, Some(77), "{text}");
    assert!(text.contains("not granted"), "{text}");
    assert!(listed(&s).is_empty());
}

#[test]
fn no_terminal_or_an_agent_marker_cannot_grant() {
    let s = Sandbox::new();
    project(&s);
    let out = s
        .safe(&["grant", "--", "deploy", "-e", "production"])
        .output();
    out.assert_code(77);
    assert!(out.stderr().contains("no"), "{}", out.stderr());
    let p = on_terminal(
        &s,
        &["grant", "--", "deploy", "-e", "production"],
        &[("CLAUDECODE", "1")],
    );
    let (code, text, _) = p.finish(TIMEOUT);
    assert_eq!(code, Some(77), "{text}");
    assert!(!text.contains("to confirm"), "{text}");
    assert!(text.contains("CLAUDECODE"), "{text}");
    assert!(listed(&s).is_empty());
}

#[test]
fn a_bad_duration_is_bad_usage_before_anything_is_asked() {
    let s = Sandbox::new();
    project(&s);
    for (value, says) in [
        ("48h", "a grant lasts at most 24h"),
        ("0m", "a grant must last more than 0 seconds"),
        ("soon", "invalid value 'soon' for '--for <DURATION>'"),
    ] {
        // On a terminal, so only the duration can be what is wrong.
        let p = on_terminal(&s, &["grant", "--for", value, "--", "deploy"], &[]);
        let (code, text, _) = p.finish(TIMEOUT);
        assert_eq!(code, Some(64), "{value}: {text}");
        assert!(text.contains(says), "{value}: {text}");
        assert!(!text.contains("to confirm"), "{value}: {text}");
    }
    assert!(listed(&s).is_empty());
}

#[test]
fn a_single_use_grant_runs_the_agents_call_once() {
    let s = Sandbox::new();
    project(&s);
    // Before: refused, and told what a human can run.
    let out = agent(&s, &["deploy", "-e", "production"]);
    out.assert_code(77);
    assert!(
        out.stderr()
            .contains("safe-wrangler grant -- deploy -e production"),
        "{}",
        out.stderr()
    );
    let id = grant(&s, DEPLOY, "shop-production");
    // Spelled another way, the same change.
    let out = agent(&s, &["deploy", "-e=production"]);
    out.assert_code(0);
    assert!(s.wrangler_argv().is_some());
    let used = audit(&s);
    assert!(
        used.iter()
            .any(|r| r["decided_by"] == format!("grant:{id}") && r["decision"] == "run"),
        "{used:?}"
    );
    assert!(used.iter().any(|r| r["decision"] == "grant-used"));
    fs::remove_dir_all(s.record()).unwrap();
    let out = agent(&s, DEPLOY);
    out.assert_code(77);
    assert!(out.stderr().contains("used up"), "{}", out.stderr());
    assert!(s.wrangler_argv().is_none());
}

#[test]
fn two_parallel_calls_against_one_use_run_once() {
    let s = Sandbox::new();
    project(&s);
    grant(&s, DEPLOY, "shop-production");
    let spawn = || {
        s.safe(DEPLOY)
            .env("CLAUDECODE", "1")
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..4).map(|_| spawn()).collect();
    let codes: Vec<Option<i32>> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code())
        .collect();
    assert_eq!(
        codes.iter().filter(|c| **c == Some(0)).count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == Some(77)).count(),
        3,
        "{codes:?}"
    );
}

#[test]
fn an_added_route_refuses_and_names_it() {
    let s = Sandbox::new();
    project(&s);
    grant(&s, DEPLOY, "shop-production");
    let cfg = fs::read_to_string(s.project().join("wrangler.jsonc")).unwrap();
    fs::write(
        s.project().join("wrangler.jsonc"),
        cfg.replace(
            r#"["shop.example.com/*"]"#,
            r#"["shop.example.com/*", "admin.example.com/*"]"#,
        ),
    )
    .unwrap();
    let out = agent(&s, DEPLOY);
    out.assert_code(77);
    assert!(
        out.stderr()
            .contains("routes (added `admin.example.com/*`)"),
        "{}",
        out.stderr()
    );
    assert!(s.wrangler_argv().is_none());
    assert_eq!(listed(&s)[0]["uses_left"], 1, "a refusal uses nothing");
}

#[test]
fn an_added_migration_file_refuses_and_names_it() {
    let s = Sandbox::new();
    project(&s);
    let apply = ["d1", "migrations", "apply", "DB", "--remote"];
    grant(&s, &apply, "shop-db");
    fs::write(
        s.project().join("migrations/0002_drop.sql"),
        "DROP TABLE t;\n",
    )
    .unwrap();
    let out = agent(&s, &apply);
    out.assert_code(77);
    assert!(
        out.stderr()
            .contains("migration files (added `0002_drop.sql`)"),
        "{}",
        out.stderr()
    );
    fs::remove_file(s.project().join("migrations/0002_drop.sql")).unwrap();
    agent(&s, &apply).assert_code(0);
}

#[test]
fn revoke_ends_a_grant() {
    let s = Sandbox::new();
    project(&s);
    let id = grant(&s, DEPLOY, "shop-production");
    let other = grant(&s, &["deploy"], "shop");
    let out = s.safe(&["grant", "--revoke", &id]).output();
    out.assert_code(0);
    assert!(out.stdout().contains(&format!("revoked {id}")));
    agent(&s, DEPLOY).assert_code(77);
    assert_eq!(listed(&s).len(), 1);
    s.safe(&["grant", "--revoke", &id]).output().assert_code(1);
    s.safe(&["grant", "--revoke-all"]).output().assert_code(0);
    assert!(listed(&s).is_empty());
    agent(&s, &["deploy"]).assert_code(77);
    let records = audit(&s);
    for g in [&id, &other] {
        assert!(
            records
                .iter()
                .any(|r| r["decision"] == "grant-revoked" && r["grant"]["id"] == **g),
            "{records:?}"
        );
    }
}

#[test]
fn a_store_that_is_not_0600_grants_nothing() {
    let s = Sandbox::new();
    project(&s);
    grant(&s, DEPLOY, "shop-production");
    let store = s.home().join(".local/state/safe-wrangler/grants.json");
    fs::set_permissions(&store, fs::Permissions::from_mode(0o644)).unwrap();
    let out = agent(&s, DEPLOY);
    out.assert_code(77);
    assert!(
        out.stderr().contains("grants store is ignored"),
        "{}",
        out.stderr()
    );
    // A symlink to a good store is no store either.
    fs::set_permissions(&store, fs::Permissions::from_mode(0o600)).unwrap();
    let real = s.path("elsewhere.json");
    fs::rename(&store, &real).unwrap();
    std::os::unix::fs::symlink(&real, &store).unwrap();
    let out = agent(&s, DEPLOY);
    out.assert_code(77);
    assert!(out.stderr().contains("symlink"), "{}", out.stderr());
    assert!(s.wrangler_argv().is_none());
}

#[test]
fn the_hook_allows_a_granted_line_without_using_it() {
    let s = Sandbox::new();
    project(&s);
    let cwd = s.project().display().to_string();
    let hook = |command: &str| {
        let input = json!({"session_id": "s", "cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}});
        let mut child = s
            .safe(&["hook", "claude"])
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes());
        Out(child.wait_with_output().unwrap())
    };
    let denied = hook("npx wrangler deploy --env production");
    assert!(denied.stdout().contains("\"deny\""), "{}", denied.stdout());
    assert!(
        denied.stdout().contains("safe-wrangler grant --"),
        "{}",
        denied.stdout()
    );
    // The agent cannot make the grant itself through its shell.
    let own = hook("safe-wrangler grant -- deploy --env production");
    assert!(own.stdout().contains("\"deny\""), "{}", own.stdout());
    assert!(own.stdout().contains("an agent cannot make a grant"));
    assert!(
        !hook("safe-wrangler grant --revoke-all")
            .stdout()
            .contains("\"deny\"")
    );
    grant(&s, DEPLOY, "shop-production");
    for _ in 0..2 {
        let allowed = hook("npx wrangler deploy --env production");
        allowed.assert_code(0);
        assert!(
            !allowed.stdout().contains("\"deny\""),
            "{}",
            allowed.stdout()
        );
    }
    assert_eq!(listed(&s)[0]["uses_left"], 1, "the hook only checks");
    // The wrapper then uses it.
    agent(&s, DEPLOY).assert_code(0);
    assert!(listed(&s).is_empty());
    let denied = hook("npx wrangler deploy --env production");
    assert!(denied.stdout().contains("\"deny\""), "{}", denied.stdout());
}

#[test]
fn grants_never_apply_in_ci() {
    let s = Sandbox::new();
    project(&s);
    grant(&s, DEPLOY, "shop-production");
    let out = s
        .safe(DEPLOY)
        .env("GITLAB_CI", "true")
        .env("CI_PROJECT_PATH", "a/b")
        .env("CLAUDECODE", "1")
        .output();
    out.assert_code(77);
    assert!(
        !out.stderr().contains("safe-wrangler grant"),
        "{}",
        out.stderr()
    );
    assert_eq!(listed(&s)[0]["uses_left"], 1);
}

#[test]
fn a_grant_with_two_uses_runs_twice_and_is_listed() {
    let s = Sandbox::new();
    project(&s);
    let id = grant_with(
        &s,
        &["--uses", "2", "--for", "2h"],
        DEPLOY,
        "shop-production",
    );
    let out = s.safe(&["grants"]).output();
    out.assert_code(0);
    let text = out.stdout();
    assert!(text.contains(&id), "{text}");
    assert!(text.contains("uses left 2"), "{text}");
    assert!(text.contains("reason: hotfix"), "{text}");
    assert!(
        text.contains("(in 1h59m") || text.contains("(in 2h"),
        "{text}"
    );
    agent(&s, DEPLOY).assert_code(0);
    assert_eq!(listed(&s)[0]["uses_left"], 1);
    agent(&s, DEPLOY).assert_code(0);
    agent(&s, DEPLOY).assert_code(77);
    assert!(listed(&s).is_empty(), "used up and pruned");
    assert!(
        audit(&s)
            .iter()
            .any(|r| r["decision"] == "grant-used-up" && r["grant"]["id"] == id.as_str())
    );
}
