//! Production, migration and dns work that runs is a child of safe-wrangler: its exit status or
//! death by a signal is mirrored exactly, signals sent to safe-wrangler reach it, and the audit log
//! records how it ended (`result`). Local, read and preview work is still exec'd (same process).

use std::os::unix::process::ExitStatusExt as _;
use std::process::Command;
use std::time::Duration;

use crate::util::{BIN, PtySession, Sandbox, write_exe};

const TIMEOUT: Duration = Duration::from_secs(30);

fn start(s: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> PtySession {
    std::fs::write(s.project().join("wrangler.jsonc"), r#"{"name": "shop"}"#).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(s.project())
        .env_clear()
        .env("PATH", s.default_path())
        .env("HOME", s.home())
        .env("RECORD", s.record())
        .env("SAFE_WRANGLER_LOG", s.path("audit.jsonl"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    PtySession::spawn(cmd)
}

fn audit(s: &Sandbox) -> Vec<serde_json::Value> {
    std::fs::read_to_string(s.path("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_confirmed_deploy_that_fails_exits_with_wranglers_code_and_records_it() {
    let s = Sandbox::new();
    let mut p = start(&s, &["deploy"], &[("FAKE_EXIT", "3")]);
    p.wait_for("Type shop to confirm");
    p.type_bytes(b"shop\n");
    let (code, text, _) = p.finish(TIMEOUT);
    assert_eq!(code, Some(3), "{text}");
    assert!(s.wrangler_argv().is_some());
    let lines = audit(&s);
    let last = lines.last().unwrap();
    assert_eq!(last["decision"], "confirmed", "{lines:?}");
    assert_eq!(last["result"]["exit"], 3, "{last}");
    assert!(last["result"]["duration_ms"].is_u64(), "{last}");
    // `log` shows the Worker, the project and how it ended.
    let out = s
        .safe(&["log"])
        .env("SAFE_WRANGLER_LOG", s.path("audit.jsonl"))
        .output();
    let shown = out.stdout();
    let last_line = shown.lines().last().unwrap_or_default();
    assert!(
        last_line.contains("confirmed") && last_line.contains("shop in project  deploy -> exit 3"),
        "{shown}"
    );
    // The decision itself was written before wrangler ran (issue 12's answer, `decision`), and
    // the same record once more when it ended, with `result`: two lines, nothing else.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["decision"], "confirmed", "{lines:?}");
    assert!(lines[0].get("result").is_none(), "{lines:?}");
    assert_eq!(lines[0]["argv"], last["argv"], "{lines:?}");
}

#[test]
fn a_child_killed_by_a_signal_kills_us_with_the_same_signal() {
    let s = Sandbox::new();
    let mut p = start(&s, &["deploy"], &[("FAKE_SIGNAL", "TERM")]);
    p.wait_for("Type shop to confirm");
    p.type_bytes(b"shop\n");
    let (status, text, _) = p.finish_status(TIMEOUT);
    assert_eq!(status.signal(), Some(15), "{status:?}: {text}");
    let last = audit(&s).pop().unwrap();
    assert_eq!(last["result"]["signal"], "SIGTERM", "{last}");
}

#[test]
fn a_signal_sent_to_us_reaches_wrangler() {
    let s = Sandbox::new();
    // A wrangler that waits, and on SIGTERM says so and exits 42.
    write_exe(
        &s.real_dir().join("wrangler"),
        "#!/bin/sh\ntrap 'echo got-term; exit 42' TERM\necho waiting\nwhile :; do /bin/sleep 0.05; done\n",
    );
    let mut p = start(&s, &["deploy"], &[]);
    p.wait_for("Type shop to confirm");
    p.type_bytes(b"shop\n");
    p.wait_for("waiting");
    nix::sys::signal::kill(p.pid(), nix::sys::signal::Signal::SIGTERM).unwrap();
    let (code, text, _) = p.finish(TIMEOUT);
    assert_eq!(code, Some(42), "{text}");
    assert!(text.contains("got-term"), "{text}");
    assert_eq!(audit(&s).pop().unwrap()["result"]["exit"], 42);
}

#[test]
fn local_work_is_still_exec_d() {
    let s = Sandbox::new();
    write_exe(
        &s.real_dir().join("wrangler"),
        "#!/bin/sh\necho $$ > \"$RECORD.pid\"\n",
    );
    let mut cmd = s.safe(&["types"]).cmd;
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let recorded = std::fs::read_to_string(s.path("record.pid")).unwrap();
    assert_eq!(
        recorded.trim(),
        pid.to_string(),
        "wrangler ran as our child"
    );
}
