//! The typed confirmation in a real pseudo-terminal that is the process's controlling terminal.

use std::fs;
use std::process::Command;
use std::time::Duration;

use crate::util::{BIN, PtySession, Sandbox};

fn start(s: &Sandbox, args: &[&str], extra_env: &[(&str, &str)]) -> PtySession {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(s.project())
        .env_clear()
        .env("PATH", s.default_path())
        .env("HOME", s.home())
        .env("RECORD", s.record());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    PtySession::spawn(cmd)
}

const TIMEOUT: Duration = Duration::from_secs(20);

fn project_with_worker(s: &Sandbox) {
    fs::write(
        s.project().join("wrangler.jsonc"),
        "{ // the shop\n \"name\": \"shop\" }\n",
    )
    .unwrap();
}

#[test]
fn typing_the_worker_name_runs_wrangler() {
    let s = Sandbox::new();
    project_with_worker(&s);
    let mut p = start(&s, &["deploy", "--env", "production"], &[]);
    p.wait_for("Type shop-production to confirm");
    p.type_bytes(b"shop-production\n");
    let (code, text, _) = p.finish(TIMEOUT);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("production work"), "{text}");
    assert_eq!(s.wrangler_argv().unwrap().len(), 3);
}

#[test]
fn a_wrong_name_eof_or_ctrl_c_refuses() {
    for (answer, why) in [
        (&b"shop-staging\n"[..], "did not match"),
        (b"\x04", "end of input"),
        (b"\x03", "interrupted"),
    ] {
        let s = Sandbox::new();
        project_with_worker(&s);
        let mut p = start(&s, &["deploy"], &[]);
        p.wait_for("Type shop to confirm");
        p.type_bytes(answer);
        let (code, text, _) = p.finish(TIMEOUT);
        assert_eq!(code, Some(77), "{answer:?}: {text}");
        assert!(text.contains(why), "{answer:?}: {text}");
        assert!(s.wrangler_argv().is_none(), "{answer:?}: wrangler ran");
    }
}

#[test]
fn an_agent_with_a_terminal_is_refused_without_a_prompt() {
    let s = Sandbox::new();
    project_with_worker(&s);
    let p = start(&s, &["deploy"], &[("CODEX_THREAD_ID", "t-1")]);
    let (code, text, _) = p.finish(TIMEOUT);
    assert_eq!(code, Some(77), "{text}");
    assert!(!text.contains("to confirm"), "{text}");
    assert!(text.contains("CODEX_THREAD_ID"), "{text}");
}

/// The plan (what will change) and the resolved name are on screen before the question.
fn plan_then_question(p: &mut PtySession, question: &str, before: &[&str]) {
    p.wait_for(question);
    let text = p.text();
    let asked = text.find(question).unwrap();
    for needle in before {
        let at = text
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} on screen:\n{text}"));
        assert!(at < asked, "{needle:?} after the question:\n{text}");
    }
}

fn plan_shop(s: &Sandbox) {
    crate::cases::copy_dir(
        &crate::cases::cases_dir().join("projects/plan-shop"),
        &s.project(),
    );
}

#[test]
fn the_prompt_shows_the_sql_and_asks_for_the_database_name_not_the_binding() {
    for (answer, code) in [(&b"DB\n"[..], 77), (b"shop-prod\n", 0)] {
        let s = Sandbox::new();
        plan_shop(&s);
        let mut p = start(
            &s,
            &[
                "d1",
                "execute",
                "DB",
                "--remote",
                "--command",
                "DROP TABLE customers",
            ],
            &[],
        );
        plan_then_question(
            &mut p,
            "Type shop-prod to confirm",
            &[
                "database:    shop-prod (1111-prod), binding DB",
                "DESTRUCTIVE (drops a table, index, view or trigger): DROP TABLE customers",
            ],
        );
        p.type_bytes(answer);
        let (got, text, _) = p.finish(TIMEOUT);
        assert_eq!(got, Some(code), "{answer:?}: {text}");
        assert_eq!(s.wrangler_argv().is_some(), code == 0, "{answer:?}: {text}");
    }
}

#[test]
fn a_kv_write_asks_for_the_namespace_the_binding_means_not_the_binding() {
    for (answer, code) in [(&b"CACHE\n"[..], 77), (b"kvprod\n", 0)] {
        let s = Sandbox::new();
        plan_shop(&s);
        let mut p = start(
            &s,
            &[
                "kv",
                "key",
                "put",
                "k",
                "v",
                "--binding",
                "CACHE",
                "--remote",
            ],
            &[],
        );
        p.wait_for("Type kvprod to confirm");
        p.type_bytes(answer);
        let (got, text, _) = p.finish(TIMEOUT);
        assert_eq!(got, Some(code), "{answer:?}: {text}");
        assert_eq!(s.wrangler_argv().is_some(), code == 0, "{answer:?}: {text}");
    }
}

#[test]
fn the_prompt_shows_routes_migrations_and_bindings_of_a_deploy() {
    let s = Sandbox::new();
    plan_shop(&s);
    let mut p = start(&s, &["deploy"], &[]);
    plan_then_question(
        &mut p,
        "Type shop to confirm",
        &[
            "route:       shop.example.com/*",
            "route:       api.example.com (custom domain)",
            "cron:        */5 * * * *",
            "durable obj: deleted Room (migration v2: applied only where the Worker has not yet applied tag v2)",
            "binding:     d1_databases DB -> shop-prod 1111-prod",
        ],
    );
    p.type_bytes(b"\x04");
    let (code, text, _) = p.finish(TIMEOUT);
    assert_eq!(code, Some(77), "{text}");
}

#[test]
fn a_human_who_declined_is_offered_what_would_run_not_told_to_ask_a_human() {
    let s = Sandbox::new();
    plan_shop(&s);
    let mut p = start(&s, &["deploy"], &[]);
    p.wait_for("Type shop to confirm");
    p.type_bytes(b"no\n");
    let (code, text, _) = p.finish(TIMEOUT);
    assert_eq!(code, Some(77), "{text}");
    assert!(
        text.contains("instead: `safe-wrangler versions upload`"),
        "{text}"
    );
    assert!(!text.contains("ask a human"), "{text}");
}
