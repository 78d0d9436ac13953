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
/// wrangler run by its path is the real wrangler, unguarded (the project's `.env` token reaches
/// it, nobody is asked), unless the path leads to safe-wrangler itself (the shim, a protected
/// `node_modules/.bin` entry): every agent's hook denies the first and decides the second as usual.
#[test]
fn wrangler_by_its_path_is_denied_unless_it_is_safe_wrangler() {
    let s = Sandbox::new();
    project(&s);
    fs::write(
        s.project().join(".env"),
        "CLOUDFLARE_API_TOKEN=dummy-token-for-tests\n",
    )
    .unwrap();
    let real = s.real_dir().join("wrangler").display().to_string();
    crate::util::write_exe(
        &s.project().join("node_modules/wrangler/bin/wrangler.js"),
        "#!/usr/bin/env node\n",
    );
    fs::create_dir_all(s.project().join("node_modules/.bin")).unwrap();
    std::os::unix::fs::symlink(
        crate::util::BIN,
        s.project().join("node_modules/.bin/wrangler"),
    )
    .unwrap();
    let shim = s.shims().join("wrangler").display().to_string();
    let cwd = s.project().display().to_string();
    for agent in ["claude", "codex", "gemini", "copilot", "cursor"] {
        for command in [
            format!("{real} whoami"),
            format!("{real} versions upload --env staging"),
            format!("cd / && {real} whoami"),
            "node node_modules/wrangler/bin/wrangler.js whoami".to_owned(),
            "./missing/wrangler whoami".to_owned(),
        ] {
            let out = hook(&s, agent, &input(agent, &command, &cwd));
            let answer = format!("{}{}", out.stdout(), out.stderr());
            assert!(
                answer.contains("runs wrangler by its path"),
                "{agent} {command}: {answer}"
            );
        }
        for command in [
            format!("{shim} whoami"),
            "./node_modules/.bin/wrangler whoami".to_owned(),
            "node_modules/.bin/wrangler deploy --env staging".to_owned(),
        ] {
            let out = hook(&s, agent, &input(agent, &command, &cwd));
            out.assert_code(0);
            assert_eq!(out.stdout(), "", "{agent} {command}");
        }
    }
}

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

/// The versions of wrangler a line runs and whether it touches `CLOUDFLARE_ENV` come from the
/// shell reader's parse (issue 10), so every spelling the shell joins counts, and where the reader
/// cannot tell the stricter answer stands.
#[test]
fn versions_and_cloudflare_env_are_read_from_the_parse() {
    let s = Sandbox::new();
    project(&s);
    let cwd = s.project().display().to_string();
    let run = |command: &str| {
        let out = hook(&s, "claude", &input("claude", command, &cwd));
        out.assert_code(0);
        out.stdout().trim().to_owned()
    };
    for command in [
        "wrangler deploy --env staging",
        "npx wrangler@4 deploy --env staging",
        "pnpm dlx wrangler@^4.1 deploy --env staging",
        "bunx wrangler@latest deploy --env staging",
        "npx -p wrangler@4 wrangler deploy --env staging",
    ] {
        assert_eq!(run(command), "", "{command}: staging is a preview");
    }
    for (command, needle) in [
        ("npx wrangler@3 deploy --env staging", "wrangler@3"),
        (
            "pnpm dlx wrangler@^3.1 deploy --env staging",
            "wrangler@^3.1",
        ),
        (
            "npx -p wrangler@2 wrangler deploy --env staging",
            "wrangler@2",
        ),
        ("bunx wrangler@next deploy --env staging", "wrangler@next"),
        ("npx 'wrangler@3' deploy --env staging", "wrangler@3"),
        // The shell joins these; a search of the text does not.
        ("npx wr''angler@3 deploy --env staging", "wrangler@3"),
        ("npx \\wrangler@3 deploy --env staging", "wrangler@3"),
        (
            "npm i -D wrangler@3 && npx wrangler deploy --env staging",
            "wrangler@3",
        ),
        (
            "npx -p \"$PKG\" wrangler deploy --env staging",
            "wrangler@$PKG",
        ),
        (
            "export CLOUDFLARE_ENV=production; wrangler deploy",
            "production",
        ),
        (
            "export CLOUDFLARE_ENV=staging; read CLOUDFLARE_\"\"ENV <<< production; wrangler deploy",
            "production",
        ),
        (
            "export CLOUDFLARE_ENV=staging; n=CLOUDFLARE_ENV; read $n <<< production; wrangler deploy",
            "production",
        ),
        (
            "read CLOUDFLARE_ENV <<< staging; wrangler deploy",
            "production",
        ),
        (
            "for CLOUDFLARE_ENV in staging; do wrangler deploy; done",
            "production",
        ),
    ] {
        let out = run(command);
        assert!(out.contains("\"deny\""), "{command}: {out}");
        assert!(out.contains(needle), "{command}: {out}");
    }
}

/// Spellings of the package runners that ran wrangler unseen before they were one table (issue
/// 10), checked against npm 11 and the pnpm and yarn docs: npm and pnpm read options before the
/// verb, yarn exec runs shell text, and npx runs in the current directory whatever `--prefix`
/// says (here the current project's staging deploys the production Worker; web's is a preview).
#[test]
fn runner_spellings_that_hid_a_call_are_denied() {
    let s = Sandbox::new();
    fs::write(
        s.project().join("wrangler.toml"),
        "name = \"shop\"\n[env.staging]\nname = \"shop\"\nroutes = []\n",
    )
    .unwrap();
    fs::create_dir_all(s.project().join("web")).unwrap();
    fs::write(
        s.project().join("web/wrangler.toml"),
        "name = \"web\"\n[env.staging]\nroutes = []\n",
    )
    .unwrap();
    let cwd = s.project().display().to_string();
    for command in [
        "npm -c 'wrangler deploy --env staging' exec",
        "pnpm --package=wrangler -c dlx 'wrangler deploy --env staging'",
        "pnpm -c exec 'wrangler deploy --env staging'",
        "yarn exec 'wrangler deploy --env staging'",
        "npx --prefix web wrangler deploy --env staging",
        "npm exe -- wrangler deploy --env staging",
    ] {
        let out = hook(&s, "claude", &input("claude", command, &cwd));
        out.assert_code(0);
        assert!(
            out.stdout().contains("\"deny\"") && out.stdout().contains("production"),
            "{command}: {}",
            out.stdout()
        );
    }
    let out = hook(
        &s,
        "claude",
        &input(
            "claude",
            "cd web && npx wrangler deploy --env staging",
            &cwd,
        ),
    );
    out.assert_code(0);
    assert_eq!(out.stdout(), "", "web's staging is a preview");
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

/// `safe-wrangler WORDS` with the agent's input on stdin.
fn hook_words(s: &Sandbox, words: &[&str], input: &str) -> Out {
    let mut cmd = s.safe(words).cmd;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    Out(child.wait_with_output().unwrap())
}

#[test]
fn a_misused_hook_command_blocks_as_the_hook_does_never_with_claps_usage() {
    let s = Sandbox::new();
    project(&s);
    let cwd = s.project().display().to_string();
    let deploy = input("claude", "npx wrangler deploy", &cwd);
    let unknown = |name: &str| {
        format!(
            "safe-wrangler hook: unknown agent {name:?}; expected one of claude, codex, gemini, copilot, cursor\n"
        )
    };
    let usage = "safe-wrangler hook: usage: safe-wrangler hook <claude|codex|gemini|copilot|cursor> (reads the agent's JSON on stdin)\n";
    let cases: [(&[&str], String); 9] = [
        (&["hook", "bogus"], unknown("bogus")),
        (&["hook", "Claude"], unknown("Claude")),
        // clap's own `help` subcommand is off: `hook help` is an unknown agent, not a help page.
        (&["hook", "help"], unknown("help")),
        (&["hook", "--project"], unknown("--project")),
        (&["hook", "-V"], unknown("-V")),
        (&["hook"], usage.to_owned()),
        (&["hook", "claude", "extra"], usage.to_owned()),
        (&["hook", "claude", "--json"], usage.to_owned()),
        (&["hook", "bogus", "install"], usage.to_owned()),
    ];
    for (words, expected) in cases {
        let out = hook_words(&s, words, &deploy);
        // Exit 2 is a block for Claude Code, Codex, Gemini and Copilot; clap's exit 2 would be
        // too, but with a usage text an agent reads as the reason, and 64 would fail open.
        out.assert_code(2);
        assert_eq!(out.stdout(), "", "{words:?}");
        assert_eq!(out.stderr(), expected, "{words:?}");
    }
}

#[test]
fn hook_install_misuse_is_bad_usage_and_changes_nothing() {
    let s = Sandbox::new();
    for (words, says) in [
        (
            &["hook", "install", "bogus"][..],
            "invalid value 'bogus' for '<AGENT>'\n  [possible values: claude, codex, gemini, copilot, cursor]",
        ),
        (
            &["hook", "install"],
            "the following required arguments were not provided",
        ),
        (
            &["hook", "install", "claude", "--project", "--user"],
            "'--project' cannot be used with '--user'",
        ),
        (
            &["hook", "install", "claude", "--global"],
            "unexpected argument '--global'",
        ),
    ] {
        let out = s.safe(words).output();
        out.assert_code(64);
        assert!(out.stderr().contains(says), "{words:?}: {}", out.stderr());
        assert_eq!(out.stdout(), "", "{words:?}");
    }
    let written = |dir: &std::path::Path| fs::read_dir(dir).unwrap().count();
    assert_eq!(written(&s.project()), 0, "nothing written in the project");
    assert_eq!(written(&s.home()), 0, "nothing written in HOME");
}

#[test]
fn hook_help_lists_the_agents_and_the_install_subcommand() {
    let s = Sandbox::new();
    for words in [&["hook", "--help"][..], &["help", "hook"]] {
        let out = s.safe(words).output();
        out.assert_code(0);
        let text = out.stdout();
        assert!(
            text.contains("safe-wrangler hook <AGENT>")
                && text.contains("safe-wrangler hook install <AGENT> [--project | --user]"),
            "{text}"
        );
        for (agent, product) in [
            ("claude", "Claude Code"),
            ("codex", "Codex"),
            ("gemini", "Gemini CLI"),
            ("copilot", "Copilot"),
            ("cursor", "Cursor"),
        ] {
            assert!(
                text.contains(&format!("- {agent}:")) && text.contains(product),
                "{agent}: {text}"
            );
        }
        assert!(text.contains("never fails open"), "{text}");
    }
    let out = s.safe(&["hook", "install", "--help"]).output();
    out.assert_code(0);
    assert!(
        out.stdout().contains("--project") && out.stdout().contains("--user"),
        "{}",
        out.stdout()
    );
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
        command.ends_with("safe-wrangler hook claude || exit 2") && command.starts_with('/'),
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
        v["hooks"]["PreToolUse"][1]["hooks"][0]["command"], "safe-wrangler hook claude || exit 2",
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

/// `hook install --user` edits the user's own settings in place: a commented, tab-indented
/// `~/.gemini/settings.json` keeps its comments, tabs, key order and mode, and gains only the
/// entry (issue 10: it used to be rewritten without the comments and re-indented).
#[test]
fn install_user_keeps_comments_and_tabs_in_gemini_settings() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    let settings = s.home().join(".gemini/settings.json");
    fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let original = "{\n\t// the model I pay for\n\t\"model\": {\n\t\t\"name\": \"gemini-3-pro-preview\" /* not flash */\n\t},\n\t\"hooks\": {\n\t\t\"BeforeTool\": [\n\t\t\t// lint first\n\t\t\t{\"matcher\": \"write_file\", \"hooks\": [{\"type\": \"command\", \"command\": \"lint\"}]}\n\t\t]\n\t}\n}\n";
    fs::write(&settings, original).unwrap();
    fs::set_permissions(&settings, fs::Permissions::from_mode(0o600)).unwrap();
    let out = s.safe(&["hook", "install", "gemini", "--user"]).output();
    out.assert_code(0);
    // Gemini CLI reads comments (strip-json-comments): no warning.
    assert_eq!(out.stderr(), "");
    let written = fs::read_to_string(&settings).unwrap();
    // The program is this binary by its absolute path (a JSON string in the file).
    let v: Value = serde_json::from_str(
        &written
            .replace("// the model I pay for", "")
            .replace("/* not flash */", "")
            .replace("// lint first", ""),
    )
    .unwrap();
    let command = v["hooks"]["BeforeTool"][1]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        command.ends_with("safe-wrangler hook gemini || exit 2"),
        "{command}"
    );
    let entry = format!(
        ",\n\t\t\t{{\n\t\t\t\t\"matcher\": \"^run_shell_command$\",\n\t\t\t\t\"hooks\": [\n\t\t\t\t\t{{\n\t\t\t\t\t\t\"name\": \"safe-wrangler\",\n\t\t\t\t\t\t\"type\": \"command\",\n\t\t\t\t\t\t\"command\": {},\n\t\t\t\t\t\t\"timeout\": 30000\n\t\t\t\t\t}}\n\t\t\t\t]\n\t\t\t}}",
        Value::String(command)
    );
    let expected = original.replace(
        "\"command\": \"lint\"}]}",
        &format!("\"command\": \"lint\"}}]}}{entry}"),
    );
    assert_eq!(written, expected);
    assert_eq!(
        fs::metadata(&settings).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Again: nothing changes, byte for byte.
    s.safe(&["hook", "install", "gemini", "--user"])
        .output()
        .assert_code(0);
    assert_eq!(fs::read_to_string(&settings).unwrap(), expected);
}

/// The same for a project's Claude settings with CRLF line ends and two-space indentation; an
/// older entry naming safe-wrangler by an absolute path is changed where it stands.
#[test]
fn install_project_keeps_comments_and_crlf_in_claude_settings() {
    let s = Sandbox::new();
    let settings = s.project().join(".claude/settings.json");
    fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let original = "{\r\n  /* team settings: ask before editing */\r\n  \"permissions\": { \"allow\": [\"Bash(npm test)\"] }, // reviewed\r\n  \"hooks\": {\r\n    \"PreToolUse\": [\r\n      {\r\n        \"matcher\": \"Bash\",\r\n        \"hooks\": [\r\n          { \"type\": \"command\", \"command\": \"/opt/old/safe-wrangler hook claude\", \"timeout\": 10 } // v0.1\r\n        ]\r\n      }\r\n    ]\r\n  }\r\n}";
    fs::write(&settings, original).unwrap();
    let out = s.safe(&["hook", "install", "claude", "--project"]).output();
    out.assert_code(0);
    // Kept, but Claude Code reads strict JSON: the user is told the hook will not run.
    assert!(
        out.stderr().contains("warning: Claude Code cannot read ")
            && out.stderr().contains(": it does not accept comments and skips the whole file, so the hook does not run until you change that"),
        "{}",
        out.stderr()
    );
    let expected = original
        .replace(
            "/opt/old/safe-wrangler hook claude",
            "safe-wrangler hook claude || exit 2",
        )
        .replace("\"timeout\": 10", "\"timeout\": 30");
    assert_eq!(fs::read_to_string(&settings).unwrap(), expected);

    // A file that does not parse: exit 78, one line naming it, the file untouched.
    let broken = "{\n  // half written\n  \"hooks\": {\n}\n";
    fs::write(&settings, broken).unwrap();
    // With safe-wrangler on PATH, so the only line is the reason.
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_safe-wrangler"))
        .parent()
        .unwrap();
    let out = s
        .safe(&["hook", "install", "claude", "--project"])
        .env("PATH", bin_dir)
        .output();
    out.assert_code(78);
    assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains(".claude/settings.json: not JSON")
            && out.stderr().contains("not changed"),
        "{}",
        out.stderr()
    );
    assert_eq!(fs::read_to_string(&settings).unwrap(), broken);
}

/// The command of the first hook entry in the agent's `--project` settings file.
fn installed_command(s: &Sandbox, agent: &str) -> String {
    let (file, pointer) = match agent {
        "claude" => (
            ".claude/settings.json",
            "/hooks/PreToolUse/0/hooks/0/command",
        ),
        "codex" => (".codex/hooks.json", "/hooks/PreToolUse/0/hooks/0/command"),
        "gemini" => (
            ".gemini/settings.json",
            "/hooks/BeforeTool/0/hooks/0/command",
        ),
        "copilot" => (
            ".github/hooks/safe-wrangler.json",
            "/hooks/preToolUse/0/bash",
        ),
        _ => unreachable!(),
    };
    let v: Value =
        serde_json::from_str(&fs::read_to_string(s.project().join(file)).unwrap()).unwrap();
    v.pointer(pointer).unwrap().as_str().unwrap().to_owned()
}

/// An installed hook entry run as the agent runs it: its command through a shell (`bash -c`),
/// in the project, with no safe-wrangler on PATH unless `path` says so, the agent's project
/// variable set, and the agent's input on stdin.
fn run_entry(s: &Sandbox, command: &str, path: &str, agent: &str, line: &str) -> Out {
    run_entry_in(s, "bash", command, path, agent, line)
}

/// [`run_entry`] through another shell (`sh`: Claude Code runs hooks with `sh -c`).
fn run_entry_in(
    s: &Sandbox,
    shell: &str,
    command: &str,
    path: &str,
    agent: &str,
    line: &str,
) -> Out {
    let project = s.project();
    // Gemini CLI replaces `$GEMINI_PROJECT_DIR` in the text with the directory, shell-quoted.
    let command = command.replace("$GEMINI_PROJECT_DIR", &format!("'{}'", project.display()));
    let mut cmd = std::process::Command::new(shell);
    cmd.args(["-c", &command])
        .current_dir(&project)
        .env_clear()
        .env("PATH", path)
        .env("HOME", s.home())
        .env("CLAUDE_PROJECT_DIR", &project)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(input(agent, line, project.to_str().unwrap()).as_bytes());
    Out(child.wait_with_output().unwrap())
}

/// A project's hook entry works for every teammate and never fails open: where npm installed
/// safe-wrangler in the project, Claude Code's and Gemini CLI's entries name its native binary
/// under the directory the agent expands (no PATH needed); every other entry runs it from PATH;
/// and each (Cursor's carries `failClosed`) ends in `|| exit 2`, so a binary that is missing
/// blocks with a reason on stderr instead of exiting 127, which agents read as "no objection".
#[test]
fn project_hooks_find_the_project_binary_and_block_when_it_is_missing() {
    let s = Sandbox::new();
    project(&s);
    let native = s
        .project()
        .join("node_modules/@safe-wrangler/linux-x64/bin/safe-wrangler");
    fs::create_dir_all(native.parent().unwrap()).unwrap();
    fs::copy(crate::util::BIN, &native).unwrap();
    // An entry from an older install (by PATH, no `|| exit 2`) is replaced, not kept beside.
    let settings = s.project().join(".claude/settings.json");
    fs::create_dir_all(settings.parent().unwrap()).unwrap();
    fs::write(
        &settings,
        r#"{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "safe-wrangler hook claude", "timeout": 30}]}]}}"#,
    )
    .unwrap();
    for agent in ["claude", "codex", "gemini", "copilot"] {
        let out = s.safe(&["hook", "install", agent, "--project"]).output();
        out.assert_code(0);
    }
    let v: Value = serde_json::from_str(&fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        installed_command(&s, "claude"),
        r#""$CLAUDE_PROJECT_DIR"/node_modules/@safe-wrangler/*/bin/safe-wrangler hook claude || exit 2"#
    );
    assert_eq!(
        installed_command(&s, "gemini"),
        "$GEMINI_PROJECT_DIR/node_modules/@safe-wrangler/*/bin/safe-wrangler hook gemini || exit 2"
    );
    assert_eq!(
        installed_command(&s, "codex"),
        "safe-wrangler hook codex || exit 2"
    );
    assert_eq!(
        installed_command(&s, "copilot"),
        "safe-wrangler hook copilot || exit 2"
    );

    let no_sw = "/usr/bin:/bin";
    let bin_dir = std::path::Path::new(crate::util::BIN)
        .parent()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let with_sw = format!("{bin_dir}:/usr/bin:/bin");
    // Through the project's binary, with no safe-wrangler on PATH: a deploy is denied, `ls` passes.
    for agent in ["claude", "gemini"] {
        let command = installed_command(&s, agent);
        let out = run_entry(&s, &command, no_sw, agent, "wrangler deploy");
        out.assert_code(0);
        assert!(
            out.stdout().contains("\"deny\""),
            "{agent}: {}",
            out.stdout()
        );
        let out = run_entry(&s, &command, no_sw, agent, "ls");
        out.assert_code(0);
        assert_eq!(out.stdout(), "", "{agent}");
    }
    // By PATH, where it is there.
    for agent in ["codex", "copilot"] {
        let command = installed_command(&s, agent);
        let out = run_entry(&s, &command, &with_sw, agent, "wrangler deploy");
        out.assert_code(0);
        assert!(
            out.stdout().contains("\"deny\""),
            "{agent}: {}",
            out.stdout()
        );
        let out = run_entry(&s, &command, &with_sw, agent, "ls");
        out.assert_code(0);
    }
    // Missing: every entry blocks (exit 2, a reason on stderr: Codex blocks on exit 2 only
    // with one), even for a command that would have passed.
    fs::remove_dir_all(s.project().join("node_modules")).unwrap();
    for agent in ["claude", "gemini", "codex", "copilot"] {
        let command = installed_command(&s, agent);
        let out = run_entry(&s, &command, no_sw, agent, "ls");
        out.assert_code(2);
        assert!(
            out.stderr().contains("safe-wrangler")
                && (out.stderr().contains("not found") || out.stderr().contains("No such file")),
            "{agent}: {}",
            out.stderr()
        );
    }

    // Without the project's binary, Claude Code's entry runs safe-wrangler from PATH, and the
    // installer says when it is not there.
    let out = s
        .safe(&["hook", "install", "claude", "--project"])
        .env("PATH", no_sw)
        .output();
    out.assert_code(0);
    assert!(out.stderr().contains("not on PATH"), "{}", out.stderr());
    assert_eq!(
        installed_command(&s, "claude"),
        "safe-wrangler hook claude || exit 2"
    );
    let v: Value = serde_json::from_str(&fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 1, "{v}");
}

/// `--user` (and the printed snippet) name this binary by its absolute path, which the agents
/// hand to a shell: a path with a space or a quote (an npm install under `~/My Projects/`) is
/// quoted, so the entry runs the hook instead of blocking every call with `/home/u/My: not
/// found`; installing again replaces the older, unquoted entry.
#[test]
fn user_hooks_quote_a_binary_path_with_spaces_and_quotes() {
    let s = Sandbox::new();
    project(&s);
    let native = s.path("My Projects/it's/safe-wrangler");
    fs::create_dir_all(native.parent().unwrap()).unwrap();
    fs::copy(crate::util::BIN, &native).unwrap();
    let settings = s.home().join(".claude/settings.json");
    fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let old = format!("{} hook claude || exit 2", native.display());
    fs::write(
        &settings,
        json!({"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": old, "timeout": 30}]}]}}).to_string(),
    )
    .unwrap();
    for agent in ["claude", "codex", "gemini", "copilot"] {
        s.run(&native, &["hook", "install", agent, "--user"])
            .output()
            .assert_code(0);
    }
    let printed: Value = serde_json::from_str(
        &s.run(&native, &["hook", "install", "claude"])
            .output()
            .stdout(),
    )
    .unwrap();
    let v: Value = serde_json::from_str(&fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 1, "{v}");
    let command = v["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        printed["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
        command
    );
    let quoted = native.display().to_string().replace('\'', r"'\''");
    assert_eq!(command, format!("'{quoted}' hook claude || exit 2"));
    let files = [
        (
            "codex",
            ".codex/hooks.json",
            "/hooks/PreToolUse/0/hooks/0/command",
        ),
        (
            "gemini",
            ".gemini/settings.json",
            "/hooks/BeforeTool/0/hooks/0/command",
        ),
        (
            "copilot",
            ".copilot/hooks/safe-wrangler.json",
            "/hooks/preToolUse/0/bash",
        ),
    ];
    let mut commands = vec![("claude", command)];
    for (agent, file, pointer) in files {
        let v: Value =
            serde_json::from_str(&fs::read_to_string(s.home().join(file)).unwrap()).unwrap();
        commands.push((
            agent,
            v.pointer(pointer).unwrap().as_str().unwrap().to_owned(),
        ));
    }
    for shell in ["sh", "bash"] {
        for (agent, command) in &commands {
            let out = run_entry_in(
                &s,
                shell,
                command,
                "/usr/bin:/bin",
                agent,
                "wrangler deploy",
            );
            out.assert_code(0);
            assert!(
                out.stdout().contains("\"deny\""),
                "{shell} {agent}: {}",
                out.stderr()
            );
            let out = run_entry_in(&s, shell, command, "/usr/bin:/bin", agent, "ls");
            out.assert_code(0);
            assert_eq!(out.stdout(), "", "{shell} {agent}");
        }
    }
}

/// Two entries of the same hook (a hand edit, a merge of two branches) are both replaced: an
/// older one naming a path that does not exist here would otherwise block every call.
#[test]
fn install_replaces_every_older_entry_of_the_same_hook() {
    let s = Sandbox::new();
    let settings = s.project().join(".claude/settings.json");
    fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let original = "{\n  \"hooks\": {\n    \"PreToolUse\": [\n      { \"matcher\": \"Bash\", \"hooks\": [ { \"type\": \"command\", \"command\": \"safe-wrangler hook claude\", \"timeout\": 30 } ] },\n      { \"matcher\": \"Edit\", \"hooks\": [] },\n      { \"matcher\": \"Bash\", \"hooks\": [ { \"type\": \"command\", \"command\": \"/opt/gone/safe-wrangler hook claude || exit 2\", \"timeout\": 30 } ] }\n    ]\n  }\n}\n";
    fs::write(&settings, original).unwrap();
    s.safe(&["hook", "install", "claude", "--project"])
        .output()
        .assert_code(0);
    let expected = original
        .replace(
            "\"/opt/gone/safe-wrangler hook claude || exit 2\"",
            "\"safe-wrangler hook claude || exit 2\"",
        )
        .replace(
            "\"safe-wrangler hook claude\"",
            "\"safe-wrangler hook claude || exit 2\"",
        );
    assert_eq!(fs::read_to_string(&settings).unwrap(), expected);
}
