//! Every way in decides alike (issue 10): for each case of the decision corpus, `explain`'s
//! decision, the wrapper's exit code (in front of the fake wrangler) and the hook's verdict agree,
//! for a caller without a terminal and for an agent.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::cases::{cases_dir, copy_dir, parse_cases};
use crate::util::{DUMMY_TOKEN, Out, Sandbox};

fn explain(s: &Sandbox, dir: &Path, argv: &[String], env: &[(String, String)]) -> Value {
    let mut run = s.safe(&["explain", "--json", "--"]).cwd(dir);
    for a in argv {
        run = run.arg(a);
    }
    for (k, v) in env {
        run = run.env(k, v);
    }
    let out = run.output();
    assert_eq!(out.code(), Some(0), "explain {argv:?}: {}", out.stderr());
    // The typed contract reads every answer back whole.
    let typed: safe_wrangler::cli::Explanation = serde_json::from_str(out.stdout().trim())
        .unwrap_or_else(|e| panic!("explain {argv:?}: {e}: {}", out.stdout()));
    let value: Value = serde_json::from_str(out.stdout().trim()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), value);
    value
}

fn wrapper(s: &Sandbox, dir: &Path, argv: &[String], env: &[(String, String)]) -> Out {
    let _ = fs::remove_dir_all(s.record());
    let mut run = s
        .shim(&[])
        .cwd(dir)
        .env("SAFE_WRANGLER_LOG", s.path("audit.log"));
    for a in argv {
        run = run.arg(a);
    }
    for (k, v) in env {
        run = run.env(k, v);
    }
    run.output()
}

fn hook(s: &Sandbox, dir: &Path, argv: &[String], env: &[(String, String)]) -> Out {
    let command = format!("wrangler {}", shell_words::join(argv));
    hook_line(s, dir, &command, env)
}

/// `safe-wrangler hook claude` asked about the command line `line`, run in `dir`.
fn hook_line(s: &Sandbox, dir: &Path, line: &str, env: &[(String, String)]) -> Out {
    let input = json!({"session_id": "s", "cwd": dir, "hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_input": {"command": line}})
    .to_string();
    let mut cmd = s.safe(&["hook", "claude"]).cwd(dir).cmd;
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    Out(child.wait_with_output().unwrap())
}

/// The wrapper's exit code agrees with `decision` (no terminal: never "confirm").
fn wrapper_agrees(s: &Sandbox, decision: &str, out: &Out) -> Result<(), String> {
    let ran = s.wrangler_argv().is_some();
    match (decision, out.code(), ran) {
        ("run", Some(0), true) | ("refuse", Some(77), false) => Ok(()),
        _ => Err(format!(
            "explain says {decision}, the wrapper exits {:?} (wrangler ran: {ran}): {}",
            out.code(),
            out.stderr()
        )),
    }
}

#[test]
fn explain_the_wrapper_and_the_hook_agree_on_every_corpus_case() {
    let cases = parse_cases();
    assert!(cases.len() > 100, "the corpus went missing");
    let mut failures = Vec::new();
    for case in &cases {
        let s = Sandbox::new();
        let mut dir = s.project();
        for (k, v) in &case.expect {
            match k.as_str() {
                "project" => copy_dir(&cases_dir().join("projects").join(v), &s.project()),
                "cwd" => dir = s.project().join(v),
                _ => {}
            }
        }
        fs::create_dir_all(&dir).unwrap();
        let at = format!("{}:{}: {}", case.file, case.line_no, case.line);
        // A caller with no terminal.
        let decision = explain(&s, &dir, &case.argv, &case.env)["decision"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = wrapper(&s, &dir, &case.argv, &case.env);
        if let Err(e) = wrapper_agrees(&s, &decision, &out) {
            failures.push(format!("{at}\n    {e}"));
        }
        // An agent: explain and the wrapper with a marker set, the hook on its own.
        let mut agent_env = case.env.clone();
        agent_env.push(("AI_AGENT".to_owned(), "test".to_owned()));
        let decision = explain(&s, &dir, &case.argv, &agent_env)["decision"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = wrapper(&s, &dir, &case.argv, &agent_env);
        if let Err(e) = wrapper_agrees(&s, &decision, &out) {
            failures.push(format!("{at}\n    agent: {e}"));
        }
        if case.argv.is_empty() {
            continue; // a bare `wrangler` is no call the hook sees differently
        }
        let out = hook(&s, &dir, &case.argv, &case.env);
        let denied = !out.stdout().trim().is_empty();
        // The hook cannot follow the shell's bookkeeping of CLOUDFLARE_ENV (exported or not), so
        // when it is set it also decides without it and keeps the stricter answer: stricter only.
        let stricter_by_design = denied && case.env.iter().any(|(k, _)| k == "CLOUDFLARE_ENV");
        if out.code() != Some(0) || (denied != (decision == "refuse") && !stricter_by_design) {
            failures.push(format!(
                "{at}\n    agent: explain says {decision}, the hook {} (exit {:?}): {}{}",
                if denied { "denies" } else { "allows" },
                out.code(),
                out.stdout(),
                out.stderr()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The issue's example: a credential in a `--env-file` was refused only by the wrapper.
#[test]
fn a_credential_in_an_env_file_is_refused_by_every_way_in() {
    let s = Sandbox::new();
    fs::write(
        s.project().join("ci.env"),
        format!("A=1\nCF_API_TOKEN={DUMMY_TOKEN}\n"),
    )
    .unwrap();
    let argv: Vec<String> = ["whoami", "--env-file", "ci.env"]
        .map(String::from)
        .to_vec();
    let v = explain(&s, &s.project(), &argv, &[]);
    assert_eq!(v["decision"], "refuse", "{v}");
    assert_eq!(v["decided_by"], "env-file-credential");
    assert!(!v.to_string().contains(DUMMY_TOKEN));
    let out = wrapper(&s, &s.project(), &argv, &[]);
    out.assert_code(77);
    assert!(
        out.stderr().contains("ci.env:2 sets CF_API_TOKEN"),
        "{}",
        out.stderr()
    );
    let out = hook(&s, &s.project(), &argv, &[]);
    out.assert_code(0);
    assert!(
        out.stdout().contains("ci.env:2 sets CF_API_TOKEN"),
        "{}",
        out.stdout()
    );
    assert!(!out.stdout().contains(DUMMY_TOKEN));
}

/// One redaction for every field from user input (issue 10): a token given as `--env` or `--name`
/// shows in no refusal, explain output, audit line or hook answer; a git SHA given to
/// `--commit-hash` is no credential and stays visible.
#[test]
fn every_way_in_redacts_the_same_fields() {
    let token = "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n";
    let s = Sandbox::new();
    fs::write(s.project().join("wrangler.toml"), "name = \"shop\"\n").unwrap();
    let log = s.path("audit.log");
    for argv in [
        vec![
            "d1",
            "execute",
            "DB",
            "--remote",
            "--command",
            "x",
            "--env",
            token,
        ],
        vec!["deploy", "--name", token],
        vec!["deploy", &format!("--name={token}")],
    ] {
        let argv: Vec<String> = argv.into_iter().map(String::from).collect();
        let v = explain(&s, &s.project(), &argv, &[]);
        assert!(
            !v.to_string().contains(token),
            "explain --json {argv:?}: {v}"
        );
        let mut run = s.safe(&["explain", "--"]);
        for a in &argv {
            run = run.arg(a);
        }
        let out = run.output();
        assert!(
            !out.stdout().contains(token),
            "explain {argv:?}: {}",
            out.stdout()
        );
        let out = wrapper(&s, &s.project(), &argv, &[]);
        out.assert_code(77);
        assert!(
            !out.stderr().contains(token),
            "refusal {argv:?}: {}",
            out.stderr()
        );
        assert!(out.stderr().contains("<redacted>"), "{}", out.stderr());
        let out = hook(&s, &s.project(), &argv, &[]);
        assert!(
            out.stdout().contains("deny"),
            "hook {argv:?}: {}",
            out.stdout()
        );
        assert!(
            !out.stdout().contains(token),
            "hook {argv:?}: {}",
            out.stdout()
        );
    }
    let audit = fs::read_to_string(&log).unwrap();
    assert_eq!(audit.lines().count(), 3, "{audit}");
    assert!(!audit.contains(token), "{audit}");

    let sha = "0123456789abcdef0123456789abcdef01234567";
    let argv: Vec<String> = [
        "pages",
        "deploy",
        "dist",
        "--project-name",
        "site",
        "--commit-hash",
        sha,
    ]
    .map(String::from)
    .to_vec();
    let out = wrapper(&s, &s.project(), &argv, &[]);
    out.assert_code(77);
    assert!(out.stderr().contains(sha), "{}", out.stderr());
    assert!(fs::read_to_string(&log).unwrap().contains(sha));
}

/// A credential inside an argv word is redacted wherever argv is shown or logged, not only a
/// word that is wholly one: inside a SQL string, glued to a short flag (`-e<token>`), before a
/// host name (`--route <token>.example.com/x`) and before `@percent` (`versions deploy`). A
/// version id and a git SHA stay visible.
#[test]
fn a_credential_inside_an_argv_word_is_redacted_everywhere() {
    let legacy = "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n";
    let scannable = format!("cfut_{legacy}0123abcd");
    let s = Sandbox::new();
    fs::write(s.project().join("wrangler.toml"), "name = \"shop\"\n").unwrap();
    let log = s.path("audit.log");
    let cases: Vec<Vec<String>> = vec![
        vec![
            "d1".into(),
            "execute".into(),
            "DB".into(),
            "--remote".into(),
            "--command".into(),
            format!("UPDATE t SET tok='{legacy}'"),
        ],
        vec!["deploy".into(), format!("-e{scannable}")],
        vec!["deploy".into(), format!("-e{legacy}")],
        vec![
            "deploy".into(),
            "--route".into(),
            format!("{legacy}.example.com/x"),
        ],
        vec![
            "versions".into(),
            "deploy".into(),
            format!("{legacy}@100"),
            "--yes".into(),
        ],
        vec!["deploy".into(), format!("--route={legacy}.example.com/*")],
    ];
    for argv in &cases {
        let v = explain(&s, &s.project(), argv, &[]);
        let mut shown = vec![("explain --json", v.to_string())];
        let mut run = s.safe(&["explain", "--"]);
        for a in argv {
            run = run.arg(a);
        }
        shown.push(("explain", run.output().stdout()));
        let mut run = s.safe(&["plan", "--"]);
        for a in argv {
            run = run.arg(a);
        }
        let out = run.output();
        shown.push(("plan", format!("{}{}", out.stdout(), out.stderr())));
        let out = wrapper(&s, &s.project(), argv, &[]);
        out.assert_code(77);
        shown.push(("refusal", out.stderr()));
        let out = hook(&s, &s.project(), argv, &[]);
        assert!(
            out.stdout().contains("deny"),
            "hook {argv:?}: {}",
            out.stdout()
        );
        shown.push(("hook", out.stdout()));
        for (way, text) in shown {
            assert!(
                !text.contains(legacy),
                "{way} {argv:?} shows the token:\n{text}"
            );
            assert!(text.contains("<redacted>"), "{way} {argv:?}:\n{text}");
        }
    }
    let audit = fs::read_to_string(&log).unwrap();
    assert_eq!(audit.lines().count(), cases.len(), "{audit}");
    assert!(!audit.contains(legacy), "{audit}");

    let version = "00000000-0000-4000-8000-000000000001";
    let argv = ["versions", "deploy", &format!("{version}@100"), "--yes"]
        .map(String::from)
        .to_vec();
    let out = wrapper(&s, &s.project(), &argv, &[]);
    out.assert_code(77);
    assert!(
        out.stderr().contains(&format!("{version}@100")),
        "{}",
        out.stderr()
    );
    assert!(!out.stderr().contains("<redacted>"), "{}", out.stderr());
}

/// Every script line the hook sees as a wrangler call, doctor flags (one shell reader): the five
/// spellings of issue 10, and every line of the hook corpus the hook denies (but those through
/// safe-wrangler, guarded already).
#[test]
fn doctor_flags_every_script_the_hook_sees_as_a_wrangler_call() {
    let s = Sandbox::new();
    let corpus =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hook-corpus.txt"))
            .unwrap();
    let mut lines: Vec<String> = [
        "node node_modules/wrangler/bin/wrangler.js deploy",
        "wr''angler deploy",
        "timeout 60 wrangler deploy",
        "sudo -E wrangler deploy",
        "wrangler deploy",
    ]
    .map(String::from)
    .to_vec();
    lines.extend(
        corpus
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(String::from),
    );
    let mut scripts = serde_json::Map::new();
    let mut denied = 0;
    for (i, line) in lines.iter().enumerate() {
        let out = hook_line(&s, &s.project(), line, &[]);
        out.assert_code(0);
        // A call through safe-wrangler is guarded already: the hook decides it, doctor does not
        // flag it.
        if out.stdout().contains("\"deny\"") && !line.contains("safe-wrangler") {
            denied += 1;
            scripts.insert(format!("s{i}"), Value::String(line.clone()));
        } else {
            assert!(
                i >= 5 || line.contains("safe-wrangler"),
                "the hook allows {line:?}"
            );
        }
    }
    assert!(
        denied > 100,
        "the corpus went missing: {denied} denied lines"
    );
    fs::write(
        s.project().join("package.json"),
        json!({ "scripts": scripts }).to_string(),
    )
    .unwrap();
    let out = s.safe(&["doctor", "--json"]).output();
    let report: Value = serde_json::from_str(&out.stdout()).unwrap();
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "npm-scripts")
        .unwrap();
    let flagged: Vec<&str> = check["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    let missed: Vec<String> = scripts
        .iter()
        .filter(|(name, _)| {
            !flagged
                .contains(&format!("package.json: scripts.{name} calls wrangler directly").as_str())
        })
        .map(|(_, line)| line.as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        missed.is_empty(),
        "doctor misses {} of {denied}: {missed:#?}",
        missed.len()
    );
}

/// A word our own verbs do not accept is quoted back by the usage error (and by the hook's
/// "unknown agent" block): redacted and escaped there too.
#[test]
fn usage_errors_redact_and_escape_the_words_they_quote() {
    let token = "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n";
    let s = Sandbox::new();
    let flag = format!("--{token}");
    let json = format!("--json={token}");
    for argv in [
        vec!["doctor", token],
        vec!["log", &flag],
        vec!["log", "--since", token],
        vec!["hook", "install", token],
        vec!["explain", &json, "--", "deploy"],
        vec!["grants", "a\u{202e}b"],
        vec!["hook", token],
    ] {
        let out = s.safe(&argv).output();
        let code = if argv[..2] == ["hook", token] { 2 } else { 64 };
        assert_eq!(out.code(), Some(code), "{argv:?}: {}", out.stderr());
        assert!(
            !out.stderr().contains(token) && !out.stderr().contains('\u{202e}'),
            "{argv:?}: {}",
            out.stderr()
        );
        assert!(
            out.stderr().contains("<redacted>") || out.stderr().contains("\\u{202e}"),
            "{argv:?}: {}",
            out.stderr()
        );
    }
}

/// A word the shell builds from bytes that are not UTF-8 (`$'\xff'`) reaches wrangler as those
/// bytes, where explain and the wrapper refuse it (fail closed): the hook denies it too, where
/// it read a replacement character and allowed `wrangler whoami $'\xff'` as read work.
#[test]
fn an_argument_that_is_not_utf8_is_refused_by_every_way_in() {
    use std::os::unix::ffi::OsStrExt as _;
    let s = Sandbox::new();
    let bad = std::ffi::OsStr::from_bytes(b"\xff");
    let out = s
        .safe(&["explain", "--json", "--", "whoami"])
        .arg(bad)
        .output();
    let v: Value = serde_json::from_str(out.stdout().trim()).unwrap();
    assert_eq!(v["decision"], "refuse", "{v}");
    let out = s.shim(&["whoami"]).arg(bad).output();
    out.assert_code(77);
    for spelled in [r"$'\xff'", r"$'\377'"] {
        let command = format!("wrangler whoami {spelled}");
        let out = hook_line(&s, &s.project(), &command, &[]);
        out.assert_code(0);
        assert!(
            out.stdout().contains("\"deny\""),
            "{spelled}: {}",
            out.stdout()
        );
    }
    // Valid UTF-8 spelled with escapes is an ordinary argument.
    let out = hook_line(&s, &s.project(), r"wrangler whoami $'\xc3\xa9'", &[]);
    assert_eq!(out.stdout(), "", "{}", out.stderr());
}
