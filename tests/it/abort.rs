//! Nothing aborts (issue 10): a reader that goes away, a closed stderr or an internal error never
//! ends safe-wrangler with SIGABRT (134); each way in ends with the code it promises.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::util::{Out, Sandbox};

/// A pipe whose reader is already gone: every write to it fails with EPIPE.
fn broken_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer
}

fn run(mut cmd: Command, stdin: &str) -> Out {
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    Out(child.wait_with_output().unwrap())
}

fn refused_deploy(s: &Sandbox) -> Command {
    let mut cmd = s
        .shim(&["deploy"])
        .env("SAFE_WRANGLER_LOG", s.path("audit.log"))
        .cmd;
    cmd.env("CI", "true");
    cmd
}

#[test]
fn listing_verbs_end_quietly_when_the_reader_goes_away() {
    let s = Sandbox::new();
    for _ in 0..3 {
        let mut cmd = refused_deploy(&s);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        assert_eq!(cmd.status().unwrap().code(), Some(77));
    }
    for verb in [
        &["log"][..],
        &["doctor"],
        &["explain", "deploy"],
        &["scripts"],
        &["explain", "--help"],
        &["hook", "install", "claude"],
    ] {
        let mut cmd = s
            .safe(verb)
            .env("SAFE_WRANGLER_LOG", s.path("audit.log"))
            .cmd;
        cmd.stdout(broken_pipe()).stderr(Stdio::piped());
        let out = Out(cmd.spawn().unwrap().wait_with_output().unwrap());
        assert_eq!(out.code(), Some(0), "{verb:?}: {}", out.stderr());
        assert_eq!(out.stderr(), "", "{verb:?}");
    }
}

#[test]
fn a_refusal_still_exits_77_when_stderr_is_a_broken_pipe() {
    let s = Sandbox::new();
    let mut cmd = refused_deploy(&s);
    cmd.stdout(Stdio::null()).stderr(broken_pipe());
    assert_eq!(cmd.status().unwrap().code(), Some(77));
    assert!(s.wrangler_argv().is_none(), "wrangler must not run");
}

fn hook_input(agent: &str, command: &str, cwd: &str) -> String {
    match agent {
        "cursor" => json!({"conversation_id": "c", "hook_event_name": "beforeShellExecution", "command": command, "cwd": cwd}),
        "gemini" => json!({"session_id": "s", "cwd": cwd, "hook_event_name": "BeforeTool", "tool_name": "run_shell_command", "tool_input": {"command": command}}),
        "copilot" => json!({"sessionId": "s", "timestamp": 1_704_614_600_000_u64, "cwd": cwd, "toolName": "bash", "toolArgs": json!({"command": command}).to_string()}),
        _ => json!({"session_id": "s", "cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}}),
    }
    .to_string()
}

#[test]
fn a_hook_that_cannot_write_its_answer_blocks_with_exit_2() {
    let s = Sandbox::new();
    let cwd = s.project().display().to_string();
    for agent in ["claude", "cursor"] {
        let mut cmd = s.safe(&["hook", agent]).cmd;
        cmd.stdout(broken_pipe()).stderr(Stdio::piped());
        let out = run(cmd, &hook_input(agent, "npx wrangler deploy", &cwd));
        assert_eq!(out.code(), Some(2), "{agent}: {}", out.stderr());
        assert!(out.stderr().contains("safe-wrangler hook: "), "{agent}");
    }
}

/// An agent that closed the hook's stdout, or sent it to /dev/null, reads no answer: a denial
/// must then block by exit code alone, never exit 0 with the answer lost.
#[test]
fn a_hook_whose_stdout_is_closed_or_null_blocks_with_exit_2() {
    let s = Sandbox::new();
    let cwd = s.project().display().to_string();
    for agent in ["claude", "codex", "gemini", "copilot", "cursor"] {
        let input = hook_input(agent, "npx wrangler deploy", &cwd);
        let mut null = s.safe(&["hook", agent]).cmd;
        null.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut closed = s
            .run(
                Path::new("/bin/sh"),
                &["-c", "exec \"$0\" hook \"$1\" >&-", crate::util::BIN, agent],
            )
            .cmd;
        closed.stderr(Stdio::piped());
        for (how, cmd) in [("null", null), ("closed", closed)] {
            let out = run(cmd, &input);
            assert_eq!(out.code(), Some(2), "{agent} {how}: {}", out.stderr());
            assert!(
                out.stderr().contains("safe-wrangler hook: "),
                "{agent} {how}"
            );
        }
        // An allowed call still gets no objection.
        let mut allowed = s.safe(&["hook", agent]).cmd;
        allowed.stdout(Stdio::null()).stderr(Stdio::piped());
        let out = run(allowed, &hook_input(agent, "ls", &cwd));
        assert_eq!(out.code(), Some(0), "{agent}: {}", out.stderr());
    }
}

/// A Cursor block: what goes wrong, the environment that makes it go wrong, the hook input.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], String);

/// Cursor's blocks for bad input, an internal error and the deadline are JSON denials; with its
/// stdout closed or on /dev/null that JSON reaches no one, and exit 0 would be Cursor's "allow".
#[test]
fn cursors_own_blocks_exit_2_when_stdout_is_closed_or_null() {
    let s = Sandbox::new();
    let cwd = s.project().display().to_string();
    let cases: [Case; 3] = [
        ("malformed input", &[], json!({"cwd": cwd}).to_string()),
        (
            "internal error",
            &[("SAFE_WRANGLER_DEBUG_PANIC", "1")],
            hook_input("cursor", "ls", &cwd),
        ),
        (
            "deadline",
            &[
                ("SAFE_WRANGLER_DEBUG_STALL", "1"),
                ("SAFE_WRANGLER_DEBUG_DEADLINE", "1"),
            ],
            hook_input("cursor", "wrangler whoami", &cwd),
        ),
    ];
    for (what, env, input) in &cases {
        let mut null = s.safe(&["hook", "cursor"]).cmd;
        null.stdout(Stdio::null());
        let closed = s
            .run(
                Path::new("/bin/sh"),
                &["-c", "exec \"$0\" hook cursor >&-", crate::util::BIN],
            )
            .cmd;
        for (how, mut cmd) in [("null", null), ("closed", closed)] {
            cmd.envs(env.iter().copied()).stderr(Stdio::piped());
            let out = run(cmd, input);
            assert_eq!(out.code(), Some(2), "{what} {how}: {}", out.stderr());
            assert!(
                out.stderr().contains("safe-wrangler hook: "),
                "{what} {how}: {}",
                out.stderr()
            );
        }
    }
}

#[test]
fn a_panic_inside_the_hook_is_a_block() {
    let s = Sandbox::new();
    let cwd = s.project().display().to_string();
    // Claude: exit 2 with the reason on stderr.
    let mut cmd = s
        .safe(&["hook", "claude"])
        .env("SAFE_WRANGLER_DEBUG_PANIC", "1")
        .cmd;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = run(cmd, &hook_input("claude", "ls", &cwd));
    assert_eq!(out.code(), Some(2), "{}", out.stderr());
    assert_eq!(out.stdout(), "");
    assert!(out.stderr().contains("internal error"), "{}", out.stderr());
    // Cursor treats a failing hook as "allow": the block is its JSON deny.
    let mut cmd = s
        .safe(&["hook", "cursor"])
        .env("SAFE_WRANGLER_DEBUG_PANIC", "1")
        .cmd;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = run(cmd, &hook_input("cursor", "ls", &cwd));
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let v: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
    assert_eq!(v["permission"], "deny");
}

#[test]
fn the_hook_deadline_blocks_and_names_what_took_long() {
    let s = Sandbox::new();
    let cwd = s.project().display().to_string();
    for agent in ["claude", "cursor"] {
        // A debug build stalls while "reading the policy files" and gives up after 1 s.
        let mut cmd = s
            .safe(&["hook", agent])
            .env("SAFE_WRANGLER_DEBUG_STALL", "1")
            .env("SAFE_WRANGLER_DEBUG_DEADLINE", "1")
            .cmd;
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = run(cmd, &hook_input(agent, "wrangler whoami", &cwd));
        if agent == "cursor" {
            assert_eq!(out.code(), Some(0), "{}", out.stderr());
            let v: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
            assert_eq!(v["permission"], "deny");
            assert!(
                v["user_message"]
                    .as_str()
                    .unwrap()
                    .contains("reading the policy files"),
                "{v}"
            );
        } else {
            assert_eq!(out.code(), Some(2), "{}", out.stderr());
            assert_eq!(out.stdout(), "");
            assert!(
                out.stderr()
                    .contains("took too long to decide: more than 1 s reading the policy files"),
                "{}",
                out.stderr()
            );
        }
    }
}

/// Our own output that cannot be written (a full disk) is one line on stderr and exit 74, never an
/// "internal error"; the wrapper's refusal keeps 77.
#[test]
fn output_that_cannot_be_written_is_one_line_and_exit_74() {
    let s = Sandbox::new();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for verb in [
        &["explain", "deploy"][..],
        &["plan", "deploy"],
        &["doctor"],
        &["scripts"],
        &["--version"],
        &["--help"],
        &["explain", "--help"],
        &["help", "explain"],
        &["hook", "install", "claude"],
        &["grants", "--json"],
    ] {
        let mut cmd = s.safe(verb).cmd;
        cmd.stdout(full()).stderr(Stdio::piped());
        let out = Out(cmd.spawn().unwrap().wait_with_output().unwrap());
        assert_eq!(out.code(), Some(74), "{verb:?}: {}", out.stderr());
        assert_eq!(
            out.stderr().trim_end(),
            "safe-wrangler: cannot write to stdout: No space left on device (os error 28)",
            "{verb:?}"
        );
    }
    let mut cmd = refused_deploy(&s);
    cmd.stdout(full()).stderr(full());
    assert_eq!(cmd.status().unwrap().code(), Some(77));
    assert!(s.wrangler_argv().is_none(), "wrangler must not run");
    // log, with the line that refusal wrote to show.
    let mut cmd = s
        .safe(&["log"])
        .env("SAFE_WRANGLER_LOG", s.path("audit.log"))
        .cmd;
    cmd.stdout(full()).stderr(Stdio::piped());
    let out = Out(cmd.spawn().unwrap().wait_with_output().unwrap());
    assert_eq!(out.code(), Some(74), "log: {}", out.stderr());
    assert_eq!(
        out.stderr().trim_end(),
        "safe-wrangler: cannot write to stdout: No space left on device (os error 28)"
    );
}
