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
