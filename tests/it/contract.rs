//! The outputs other programs and people read, pinned whole as insta snapshots (reviewed, in
//! `tests/it/snapshots/it__contract__*.snap`): `explain --json` for one case of each decision
//! (run, confirm, each refusal reason) and each class, the wrapper's text for each refusal reason,
//! a `doctor` report (text and `--json`), and each agent's hook answer (allow and deny).
//!
//! Everything runs the built binary in a sandbox with a controlled HOME and PATH. What varies
//! from run to run is replaced by insta filters: the sandbox's temp path by `[sandbox]` and our
//! version by `[version]`; nothing else is removed. A mismatch fails the test (insta fails an
//! assertion that differs from the committed snapshot; CI and `scripts/test.sh` run with
//! `INSTA_UPDATE=no`, so no `.snap.new` is written there either).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::cases::{cases_dir, copy_dir};
use crate::util::{BIN, Out, PtySession, Sandbox};

/// `text` as a regex that matches it literally (the characters `regex::escape` escapes).
fn literal(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Runs `f` with filters for what varies in `s`: its path (as given and canonical) and our
/// version.
fn with_filters(s: &Sandbox, f: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    let root = s.root.path();
    let canonical = fs::canonicalize(root).unwrap();
    // The longer first: a canonical path may contain the given one (or the other way round).
    let mut paths = [root.display().to_string(), canonical.display().to_string()];
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in paths {
        settings.add_filter(&literal(&p), "[sandbox]");
    }
    settings.add_filter(
        &literal(&format!("safe-wrangler {}", env!("CARGO_PKG_VERSION"))),
        "safe-wrangler [version]",
    );
    settings.bind(f);
}

/// A dummy GitHub Actions run of `acme/shop` on main (looks genuine, proves nothing by OIDC).
fn github(s: &Sandbox) -> Vec<(String, String)> {
    let event = s.path("event.json");
    fs::write(&event, r#"{"repository":{"full_name":"acme/shop"}}"#).unwrap();
    fs::create_dir_all(s.path("runner-temp")).unwrap();
    [
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("GITHUB_REPOSITORY", "acme/shop".to_owned()),
        ("GITHUB_RUN_ID", "1".to_owned()),
        ("GITHUB_REF", "refs/heads/main".to_owned()),
        ("GITHUB_EVENT_NAME", "push".to_owned()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("RUNNER_TEMP", s.path("runner-temp").display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A policy that approves GitHub Actions on acme/shop's main for production work, with its token
/// in `CF_DEPLOY_TOKEN`.
const CI_POLICY: &str = r#"{"approved_ci":[{"provider":"github-actions","repository":"acme/shop","refs":["refs/heads/main"],"classes":["production"]}],"ci_tokens":{"production":"CF_DEPLOY_TOKEN"}}"#;

/// A dummy credential (never a real token).
const DUMMY: &str = "test-token-not-real-0123456789abcdefghij";

/// How each case is set up: a corpus fixture, extra files, environment.
struct Setup {
    fixture: &'static str,
    files: &'static [(&'static str, &'static str)],
    env: &'static [(&'static str, &'static str)],
    ci: bool,
}

const PLAIN: Setup = Setup {
    fixture: "plain",
    files: &[],
    env: &[],
    ci: false,
};

/// (snapshot name, set-up, wrangler argv): one case per decision and per refusal reason, and
/// every class among them.
const EXPLAINED: &[(&str, Setup, &[&str])] = &[
    ("run_local", PLAIN, &["dev"]),
    ("run_read", PLAIN, &["whoami"]),
    ("run_preview", PLAIN, &["deploy", "--env", "staging"]),
    (
        "run_agent_allowed_class",
        Setup {
            env: &[("CLAUDECODE", "1")],
            ..PLAIN
        },
        &["versions", "upload"],
    ),
    (
        "run_approved_ci",
        Setup {
            files: &[("safe-wrangler.json", CI_POLICY)],
            env: &[("CF_DEPLOY_TOKEN", DUMMY)],
            ci: true,
            ..PLAIN
        },
        &["deploy"],
    ),
    ("refuse_no_terminal_production", PLAIN, &["deploy"]),
    (
        "refuse_agent_migration",
        Setup {
            fixture: "plan-shop",
            env: &[("CLAUDECODE", "1")],
            ..PLAIN
        },
        &["d1", "migrations", "apply", "DB", "--remote"],
    ),
    (
        "refuse_ci_not_approved_dns",
        Setup { ci: true, ..PLAIN },
        &["deploy", "--domain", "api.example.com"],
    ),
    (
        "refuse_ci_not_genuine",
        Setup {
            env: &[("GITHUB_ACTIONS", "true")],
            ..PLAIN
        },
        &["deploy"],
    ),
    (
        "refuse_ci_token_missing",
        Setup {
            files: &[("safe-wrangler.json", CI_POLICY)],
            ci: true,
            ..PLAIN
        },
        &["deploy"],
    ),
    (
        "refuse_env_file_credential",
        Setup {
            files: &[(
                "ci.env",
                "CLOUDFLARE_API_TOKEN=test-token-not-real-0123456789abcdefghij\n",
            )],
            ..PLAIN
        },
        &["whoami", "--env-file", "ci.env"],
    ),
    (
        "refuse_dotenv_unreadable",
        Setup {
            fixture: "dotenv-stuck",
            ..PLAIN
        },
        &["types"],
    ),
];

/// A sandbox set up as `setup` says, and the environment to run in.
fn prepared(setup: &Setup) -> (Sandbox, Vec<(String, String)>) {
    let s = Sandbox::new();
    copy_dir(
        &cases_dir().join("projects").join(setup.fixture),
        &s.project(),
    );
    for (name, text) in setup.files {
        fs::write(s.project().join(name), text).unwrap();
    }
    let mut env: Vec<(String, String)> = setup
        .env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    if setup.ci {
        env.extend(github(&s));
    }
    (s, env)
}

/// `explain --json` as pretty JSON (the fields in their output order).
fn pretty(line: &str) -> String {
    let v: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn explain_json_for_each_decision_and_refusal_reason() {
    let mut decisions = std::collections::BTreeSet::new();
    let mut classes = std::collections::BTreeSet::new();
    for (name, setup, argv) in EXPLAINED {
        let (s, env) = prepared(setup);
        let mut run = s.safe(&["explain", "--json", "--"]);
        for a in *argv {
            run = run.arg(a);
        }
        for (k, v) in &env {
            run = run.env(k, v);
        }
        let out = run.output();
        out.assert_code(0);
        let v: Value = serde_json::from_str(out.stdout().trim()).unwrap();
        decisions.insert(format!("{} {}", v["decision"], v["decided_by"]));
        classes.insert(v["class"].as_str().unwrap().to_owned());
        assert!(!out.stdout().contains(DUMMY), "{name}: the token is echoed");
        with_filters(&s, || {
            insta::assert_snapshot!(format!("explain_{name}"), pretty(&out.stdout()));
        });
    }
    // The confirmation: only with a terminal.
    let s = Sandbox::new();
    copy_dir(&cases_dir().join("projects/plain"), &s.project());
    let mut cmd = Command::new(BIN);
    cmd.args(["explain", "--json", "deploy"])
        .current_dir(s.project())
        .env_clear()
        .env("PATH", s.default_path())
        .env("HOME", s.home())
        .env("XDG_CONFIG_HOME", s.home().join(".config"))
        .env("RECORD", s.record());
    let (code, text, _) = PtySession::spawn(cmd).finish(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{text}");
    let v: Value = serde_json::from_str(text.trim()).unwrap();
    decisions.insert(format!("{} {}", v["decision"], v["decided_by"]));
    classes.insert(v["class"].as_str().unwrap().to_owned());
    with_filters(&s, || {
        insta::assert_snapshot!("explain_confirm_production", pretty(&text));
    });
    // The set is what the names say: every class, and each refusal reason once.
    assert_eq!(
        classes.into_iter().collect::<Vec<_>>(),
        ["dns", "local", "migration", "preview", "production", "read"]
    );
    assert_eq!(
        decisions.into_iter().collect::<Vec<_>>(),
        [
            r#""confirm" "human-confirms""#,
            r#""refuse" "agent""#,
            r#""refuse" "ci-not-approved""#,
            r#""refuse" "ci-not-genuine""#,
            r#""refuse" "ci-token-missing""#,
            r#""refuse" "dotenv-unreadable""#,
            r#""refuse" "env-file-credential""#,
            r#""refuse" "no-terminal""#,
            r#""run" "agent-allowed-class""#,
            r#""run" "approved_ci[0]""#,
            r#""run" "local-machine""#,
        ]
    );
}

/// `exit: N`, then stdout and stderr under their names (empty ones too: that is the answer).
fn shown(out: &Out) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.code()
            .map_or_else(|| "signal".to_owned(), |c| c.to_string()),
        out.stdout(),
        out.stderr()
    )
}

#[test]
fn the_wrappers_text_for_each_refusal_reason() {
    let mut seen = 0;
    for (name, setup, argv) in EXPLAINED {
        let Some(reason) = name.strip_prefix("refuse_") else {
            continue;
        };
        let (s, env) = prepared(setup);
        let mut run = s.shim(argv);
        for (k, v) in &env {
            run = run.env(k, v);
        }
        let out = run.output();
        out.assert_code(77);
        assert!(s.wrangler_argv().is_none(), "{name}: wrangler ran");
        assert!(!out.stderr().contains(DUMMY), "{name}: the token is echoed");
        seen += 1;
        with_filters(&s, || {
            insta::assert_snapshot!(format!("refusal_{reason}"), shown(&out));
        });
    }
    assert_eq!(seen, 7, "one per refusal reason");
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A project as found in the wild: routes, D1, a staging environment that inherits production's
/// routes, a policy, an OAuth login, one script that calls wrangler itself and a `.env` holding a
/// (dummy) token.
fn doctor_project(s: &Sandbox) {
    write(
        &s.project().join("wrangler.toml"),
        "name = \"shop\"\nmain = \"src/index.js\"\ncompatibility_date = \"2025-01-01\"\nroutes = [ { pattern = \"shop.example.com/*\", zone_name = \"example.com\" } ]\n\n[[d1_databases]]\nbinding = \"DB\"\ndatabase_name = \"shop\"\ndatabase_id = \"00000000-0000-0000-0000-000000000000\"\n\n[env.staging]\nvars = { MODE = \"staging\" }\n",
    );
    write(
        &s.project().join("package.json"),
        "{\n  \"name\": \"shop\",\n  \"scripts\": {\n    \"deploy\": \"safe-wrangler deploy\",\n    \"deploy:staging\": \"npx wrangler deploy --env staging\",\n    \"build\": \"vite build\"\n  }\n}\n",
    );
    write(
        &s.project().join(".env"),
        &format!("MODE=dev\nCLOUDFLARE_API_TOKEN={DUMMY}\n"),
    );
    write(
        &s.project().join("safe-wrangler.jsonc"),
        "// production is the top level and `production`\n{ \"production_environments\": [\"\", \"production\"] }\n",
    );
    write(
        &s.home().join(".config/.wrangler/config/default.toml"),
        "oauth_token = \"dummy-oauth-not-real\"\nexpiration_time = \"2099-01-01T00:00:00Z\"\nrefresh_token = \"dummy-refresh-not-real\"\n",
    );
    write(&s.home().join(".bashrc"), "alias ll='ls -l'\n");
}

#[test]
fn a_doctor_report_text_and_json() {
    let s = Sandbox::new();
    doctor_project(&s);
    let text = s.safe(&["doctor"]).output();
    let json = s.safe(&["doctor", "--json"]).output();
    text.assert_code(1);
    json.assert_code(1);
    for out in [&text, &json] {
        assert!(!out.stdout().contains(DUMMY) && !out.stdout().contains("dummy-oauth"));
    }
    with_filters(&s, || {
        insta::assert_snapshot!("doctor_text", shown(&text));
        insta::assert_snapshot!("doctor_json", pretty(&json.stdout()));
    });
}

/// Each agent's input for a shell command in `cwd`.
fn hook_input(agent: &str, command: &str, cwd: &str) -> String {
    match agent {
        "claude" | "codex" => serde_json::json!({"session_id": "s", "cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}}),
        "gemini" => serde_json::json!({"session_id": "s", "cwd": cwd, "hook_event_name": "BeforeTool", "tool_name": "run_shell_command", "tool_input": {"command": command}}),
        "copilot" => serde_json::json!({"sessionId": "s", "timestamp": 1_704_614_600_000_u64, "cwd": cwd, "toolName": "bash", "toolArgs": serde_json::json!({"command": command}).to_string()}),
        "cursor" => serde_json::json!({"conversation_id": "c", "hook_event_name": "beforeShellExecution", "command": command, "cwd": cwd}),
        _ => unreachable!(),
    }
    .to_string()
}

#[test]
fn each_agents_hook_answer_allow_and_deny() {
    use std::io::Write as _;
    let s = Sandbox::new();
    copy_dir(&cases_dir().join("projects/plain"), &s.project());
    let cwd = s.project().display().to_string();
    for agent in ["claude", "codex", "gemini", "copilot", "cursor"] {
        for (verdict, command) in [
            ("allow", "npx wrangler deploy --env staging && git status"),
            ("deny", "npm run build && npx wrangler deploy"),
        ] {
            let mut cmd = s.safe(&["hook", agent]).cmd;
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(hook_input(agent, command, &cwd).as_bytes())
                .unwrap();
            let out = Out(child.wait_with_output().unwrap());
            out.assert_code(0);
            if verdict == "deny" {
                // One JSON object on one line: what the agent parses.
                assert_eq!(out.stdout().lines().count(), 1, "{agent}");
                serde_json::from_str::<Value>(&out.stdout()).unwrap();
            }
            with_filters(&s, || {
                insta::assert_snapshot!(format!("hook_{agent}_{verdict}"), shown(&out));
            });
        }
    }
}
