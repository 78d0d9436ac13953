//! `safe-wrangler hook <agent>`: golden outputs per agent protocol, fail-closed errors, and
//! `hook install`.

use std::fs;
use std::io::Write;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::util::{Out, Sandbox};

fn hook(s: &Sandbox, agent: &str, input: &str) -> Out {
    let mut cmd = s.safe(&["hook", agent]).cmd;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // The hook may answer (and exit) before reading everything, e.g. for an unknown agent.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    Out(child.wait_with_output().unwrap())
}

fn project(s: &Sandbox) {
    fs::write(
        s.project().join("wrangler.toml"),
        "name = \"shop\"\n[env.staging]\nroutes = []\n",
    )
    .unwrap();
}

/// Each agent's input for a shell command in `cwd`.
fn input(agent: &str, command: &str, cwd: &str) -> String {
    match agent {
        "claude" | "codex" => json!({"session_id": "s", "cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}}),
        "gemini" => json!({"session_id": "s", "cwd": cwd, "hook_event_name": "BeforeTool", "tool_name": "run_shell_command", "tool_input": {"command": command}}),
        "copilot" => json!({"sessionId": "s", "timestamp": 1_704_614_600_000_u64, "cwd": cwd, "toolName": "bash", "toolArgs": json!({"command": command}).to_string()}),
        "cursor" => json!({"conversation_id": "c", "hook_event_name": "beforeShellExecution", "command": command, "cwd": cwd}),
        _ => unreachable!(),
    }
    .to_string()
}

#[test]
fn golden_deny_outputs_per_agent() {
    let s = Sandbox::new();
    project(&s);
    let cwd = s.project().display().to_string();
    for agent in ["claude", "codex", "gemini", "copilot", "cursor"] {
        let out = hook(
            &s,
            agent,
            &input(agent, "cd . && npx wrangler deploy", &cwd),
        );
        out.assert_code(0);
        let v: Value = serde_json::from_str(out.stdout().trim())
            .unwrap_or_else(|e| panic!("{agent}: {e}: {}", out.stdout()));
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let reason = match agent {
            "claude" | "codex" => {
                assert_eq!(
                    keys,
                    ["hookSpecificOutput"],
                    "{agent}: only documented fields"
                );
                let h = &v["hookSpecificOutput"];
                assert_eq!(h.as_object().unwrap().len(), 3);
                assert_eq!(h["hookEventName"], "PreToolUse");
                assert_eq!(h["permissionDecision"], "deny");
                h["permissionDecisionReason"].as_str().unwrap().to_owned()
            }
            "gemini" => {
                assert_eq!(keys, ["decision", "reason"], "never `continue`");
                assert_eq!(v["decision"], "deny");
                v["reason"].as_str().unwrap().to_owned()
            }
            "copilot" => {
                assert_eq!(keys, ["permissionDecision", "permissionDecisionReason"]);
                assert_eq!(v["permissionDecision"], "deny");
                v["permissionDecisionReason"].as_str().unwrap().to_owned()
            }
            _ => {
                assert_eq!(keys, ["permission", "user_message", "agent_message"]);
                assert_eq!(v["permission"], "deny");
                v["agent_message"].as_str().unwrap().to_owned()
            }
        };
        assert!(
            reason.contains("wrangler deploy") && reason.contains("production"),
            "{agent}: {reason}"
        );
        assert!(
            reason.contains("versions upload"),
            "a refusal teaches: {reason}"
        );
        assert!(
            !out.stdout().contains("\"ask\"") && !out.stdout().contains("\"allow\""),
            "{agent}"
        );
    }
}

#[test]
fn allowed_work_and_other_tools_get_no_output() {
    let s = Sandbox::new();
    project(&s);
    let cwd = s.project().display().to_string();
    for agent in ["claude", "codex", "gemini", "copilot", "cursor"] {
        for command in [
            "ls -la && git status",
            "npx wrangler dev",
            "pnpm exec wrangler d1 migrations apply DB --local",
            "wrangler deploy --env staging",
            "grep -r wrangler README.md",
        ] {
            let out = hook(&s, agent, &input(agent, command, &cwd));
            out.assert_code(0);
            assert_eq!(out.stdout(), "", "{agent} {command}");
        }
    }
    let read =
        json!({"tool_name": "Read", "tool_input": {"file_path": "wrangler.toml"}}).to_string();
    assert_eq!(hook(&s, "claude", &read).stdout(), "");
}

#[test]
fn command_lines_that_hide_or_smuggle_are_denied() {
    let s = Sandbox::new();
    project(&s);
    // ~/shop: a project whose staging environment deploys the production Worker.
    let home_shop = s.home().join("shop");
    fs::create_dir_all(&home_shop).unwrap();
    fs::write(
        home_shop.join("wrangler.toml"),
        "name = \"shop\"\n[env.staging]\nname = \"shop\"\nroutes = []\n",
    )
    .unwrap();
    let cwd = s.project().display().to_string();
    for (command, needle) in [
        (
            "CLOUDFLARE_API_TOKEN=hunter2-value wrangler whoami",
            "CLOUDFLARE_API_TOKEN",
        ),
        (
            // Wrangler sets these headers after its own Authorization: the token wins.
            r#"CLOUDFLARE_API_HEADERS='{"Authorization":"Bearer Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n"}' wrangler versions upload"#,
            "CLOUDFLARE_API_HEADERS",
        ),
        ("w=wrangler; $w deploy", "cannot tell"),
        ("eval \"wrangler deploy\"", "cannot tell"),
        (
            "bash -c 'cd app && npx wrangler d1 migrations apply DB --remote'",
            "migration",
        ),
        ("CLOUDFLARE_ENV=production wrangler deploy", "production"),
        ("echo $(wrangler deploy)", "production"),
        ("ls | xargs wrangler r2 object put", "run time"),
        // The shell's view of CLOUDFLARE_ENV is more than the hook follows: stricter of both.
        ("CLOUDFLARE_ENV=staging; wrangler deploy", "production"),
        (
            "export CLOUDFLARE_ENV=staging; env -u CLOUDFLARE_ENV wrangler deploy",
            "production",
        ),
        (
            "CLOUDFLARE_ENV=staging env -i PATH=/usr/bin wrangler deploy",
            "production",
        ),
        (
            "export CLOUDFLARE_ENV=staging; printf -v CLOUDFLARE_ENV production; wrangler deploy",
            "production",
        ),
        (
            "export CLOUDFLARE_ENV=staging; read CLOUDFLARE_ENV </dev/null; wrangler deploy",
            "production",
        ),
        ("wrangler deploy -v", "production"),
        ("npx wrangler2 deploy", "production"),
        ("node node_modules/wrangler/ deploy", "production"),
        (
            "CLOUDFLARE_API_BASE_URL=http://127.0.0.1:1/client/v4 wrangler whoami",
            "another server",
        ),
        ("npx wrangler@3 kv key put k v --binding KV", "wrangler@3"),
        (
            "npx wrangler@3.114.0 r2 object delete b/k",
            "wrangler@3.114.0",
        ),
        (
            "cd ~/shop && npx wrangler@4 deploy -e staging",
            "production",
        ),
        ("npx wrangler deploy -e staging --cwd ~/shop", "production"),
    ] {
        let out = hook(&s, "claude", &input("claude", command, &cwd));
        out.assert_code(0);
        let v: Value =
            serde_json::from_str(out.stdout().trim()).unwrap_or_else(|e| panic!("{command}: {e}"));
        let reason = v["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap();
        assert!(reason.contains(needle), "{command}: {reason}");
        assert!(
            !reason.contains("hunter2-value")
                && !reason.contains("Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n"),
            "never repeat a credential: {reason}"
        );
    }
}

/// bash's `cd` looks a relative directory up in CDPATH first: `CDPATH=/x cd sub` may enter
/// `/x/sub`, a production project, while the hook would read `./sub` (found in review).
#[test]
fn a_relative_cd_while_cdpath_is_set_is_uncertain() {
    let s = Sandbox::new();
    let sub = s.project().join("sub");
    fs::create_dir_all(&sub).unwrap();
    fs::write(
        sub.join("wrangler.toml"),
        "name = \"shop\"\n[env.staging]\nname = \"shop-staging\"\n",
    )
    .unwrap();
    let cwd = s.project().display().to_string();
    let run = |command: &str, cdpath: Option<&str>| {
        let mut cmd = s.safe(&["hook", "claude"]).env_remove("CDPATH");
        if let Some(v) = cdpath {
            cmd = cmd.env("CDPATH", v);
        }
        let mut cmd = cmd.cmd;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(input("claude", command, &cwd).as_bytes());
        Out(child.wait_with_output().unwrap())
    };
    // Without CDPATH (or with it unset on the line, or with an anchored path) the call is read.
    for (command, cdpath) in [
        ("cd sub && wrangler deploy --env staging", None),
        (
            "unset CDPATH; cd sub && wrangler deploy --env staging",
            Some("/x"),
        ),
        ("CDPATH=/x cd ./sub && wrangler deploy --env staging", None),
        (
            "CDPATH= cd sub && wrangler deploy --env staging",
            Some("/x"),
        ),
    ] {
        let out = run(command, cdpath);
        out.assert_code(0);
        assert_eq!(out.stdout(), "", "{command} (CDPATH {cdpath:?})");
    }
    for (command, cdpath) in [
        ("CDPATH=/x cd sub && wrangler deploy --env staging", None),
        (
            "export CDPATH=/x; cd sub && wrangler deploy --env staging",
            None,
        ),
        (
            "CDPATH=$HOME; pushd sub && wrangler deploy --env staging",
            None,
        ),
        ("cd sub && wrangler deploy --env staging", Some("/x")),
    ] {
        let out = run(command, cdpath);
        out.assert_code(0);
        let v: Value = serde_json::from_str(out.stdout().trim()).unwrap();
        let reason = v["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(
            v["hookSpecificOutput"]["permissionDecision"], "deny",
            "{command}"
        );
        assert!(reason.contains("CDPATH"), "{command}: {reason}");
    }
}

#[test]
fn a_fifo_named_as_a_file_never_makes_the_hook_wait() {
    let s = Sandbox::new();
    project(&s);
    let fifo = s.project().join("f");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let cwd = s.project().display().to_string();
    for command in [
        "npx wrangler deploy --config f",
        "GITHUB_ACTIONS=true GITHUB_EVENT_PATH=f npx wrangler deploy",
        "npx wrangler whoami --env-file f",
    ] {
        let out = hook(&s, "claude", &input("claude", command, &cwd));
        out.assert_code(0);
        if command.contains("deploy") {
            assert!(out.stdout().contains("deny"), "{command}: {}", out.stdout());
        }
    }
}

#[test]
fn malformed_input_blocks_and_never_fails_open() {
    let s = Sandbox::new();
    for (agent, input) in [
        ("claude", "not json"),
        ("codex", "[]"),
        (
            "gemini",
            r#"{"tool_name":"run_shell_command","tool_input":{}}"#,
        ),
        ("copilot", r#"{"toolName":"bash","toolArgs":"{not json"}"#),
    ] {
        let out = hook(&s, agent, input);
        out.assert_code(2);
        assert_eq!(out.stdout(), "", "{agent}");
        assert!(
            out.stderr().starts_with("safe-wrangler hook: "),
            "{agent}: {}",
            out.stderr()
        );
    }
    // Cursor treats a failing hook as allow unless failClosed: answer with a JSON deny instead.
    let out = hook(&s, "cursor", "not json");
    out.assert_code(0);
    let v: Value = serde_json::from_str(out.stdout().trim()).unwrap();
    assert_eq!(v["permission"], "deny");
    // An unknown agent name is a misconfigured hook: block too.
    hook(&s, "claud", "{}").assert_code(2);
}

#[test]
fn install_prints_and_merges_settings_idempotently() {
    let s = Sandbox::new();
    let out = s.safe(&["hook", "install", "claude"]).output();
    out.assert_code(0);
    let v: Value = serde_json::from_str(&out.stdout()).unwrap();
    let command = v["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        command.ends_with("safe-wrangler hook claude") && command.starts_with('/'),
        "{command}"
    );
    let settings = s.project().join(".claude/settings.json");
    fs::create_dir_all(settings.parent().unwrap()).unwrap();
    fs::write(
        &settings,
        r#"{ "model": "opus", "hooks": { "PreToolUse": [ { "matcher": "Edit", "hooks": [] } ] } }"#,
    )
    .unwrap();
    for _ in 0..2 {
        s.safe(&["hook", "install", "claude", "--project"])
            .output()
            .assert_code(0);
    }
    let v: Value = serde_json::from_str(&fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(v["model"], "opus");
    // The project's file names the command on PATH, not this machine's path.
    assert_eq!(
        v["hooks"]["PreToolUse"][1]["hooks"][0]["command"], "safe-wrangler hook claude",
        "{v}"
    );
    let entries = v["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{v}");
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["model", "hooks"],
        "key order kept"
    );
    for agent in ["codex", "gemini", "copilot", "cursor"] {
        s.safe(&["hook", "install", agent, "--user"])
            .output()
            .assert_code(0);
    }
    let gemini: Value =
        serde_json::from_str(&fs::read_to_string(s.home().join(".gemini/settings.json")).unwrap())
            .unwrap();
    assert_eq!(
        gemini["hooks"]["BeforeTool"][0]["matcher"],
        "^run_shell_command$"
    );
    let cursor: Value =
        serde_json::from_str(&fs::read_to_string(s.home().join(".cursor/hooks.json")).unwrap())
            .unwrap();
    assert_eq!(
        cursor["hooks"]["beforeShellExecution"][0]["failClosed"],
        true
    );
    assert!(s.home().join(".copilot/hooks/safe-wrangler.json").exists());
    assert!(s.home().join(".codex/hooks.json").exists());
    fs::write(&settings, "{ broken").unwrap();
    s.safe(&["hook", "install", "claude", "--project"])
        .output()
        .assert_code(78);
    s.safe(&["hook", "install", "nobody"])
        .output()
        .assert_code(64);
}
