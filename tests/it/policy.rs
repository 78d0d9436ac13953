//! The policy file and CI approval through the built binary and the fake wrangler: realistic
//! GitHub Actions and GitLab CI runs, forged ones, token routing, bad policy files.

use std::fs;

use crate::util::{Run, Sandbox};

const DEPLOY_TOKEN: &str = "deploy-token-not-real";
const D1_TOKEN: &str = "d1-token-not-real";
const PREVIEW_TOKEN: &str = "preview-token-not-real";
const STRAY_TOKEN: &str = "stray-token-not-real";

const POLICY: &str = r#"{
  // Environments whose remote writes are production; "" is the top level.
  "production_environments": ["", "production"],
  "approved_ci": [
    {
      "provider": "github-actions",
      "repository": "acme/shop",
      "refs": ["refs/heads/main"],
      "events": ["push", "workflow_dispatch"],
      "workflows": [".github/workflows/deploy.yml"],
      "classes": ["production", "migration"]
    },
    {
      "provider": "gitlab-ci",
      "repository": "acme/shop",
      "refs": ["refs/heads/main"],
      "classes": ["production"]
    }
  ],
  "ci_tokens": { "production": "CF_DEPLOY_TOKEN", "migration": "CF_D1_TOKEN", "preview": "CF_PREVIEW_TOKEN" }
}
"#;

fn project(s: &Sandbox) {
    fs::write(
        s.project().join("wrangler.toml"),
        "name = \"shop\"\n[env.staging]\n",
    )
    .unwrap();
    fs::write(s.project().join("safe-wrangler.jsonc"), POLICY).unwrap();
}

/// Every variable a GitHub Actions runner sets that we look at, plus the event file and temp dir.
fn github(s: &Sandbox, run: Run, git_ref: &str, event: &str) -> Run {
    let event_file = s.path("event.json");
    fs::write(
        &event_file,
        r#"{"repository":{"full_name":"acme/shop"},"ref":"refs/heads/main"}"#,
    )
    .unwrap();
    fs::create_dir_all(s.path("runner-temp")).unwrap();
    run.env("CI", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_REPOSITORY_OWNER", "acme")
        .env("GITHUB_RUN_ID", "9876543210")
        .env("GITHUB_RUN_NUMBER", "42")
        .env("GITHUB_REF", git_ref)
        .env("GITHUB_REF_NAME", git_ref.rsplit('/').next().unwrap())
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", &event_file)
        .env("GITHUB_WORKFLOW", "deploy")
        .env(
            "GITHUB_WORKFLOW_REF",
            format!("acme/shop/.github/workflows/deploy.yml@{git_ref}"),
        )
        .env("GITHUB_WORKSPACE", s.project())
        .env("RUNNER_TEMP", s.path("runner-temp"))
        .env("RUNNER_OS", "Linux")
        .env("CF_DEPLOY_TOKEN", DEPLOY_TOKEN)
        .env("CF_D1_TOKEN", D1_TOKEN)
        .env("CF_PREVIEW_TOKEN", PREVIEW_TOKEN)
        .env("CLOUDFLARE_API_TOKEN", STRAY_TOKEN)
        .env("CLOUDFLARE_API_KEY", STRAY_TOKEN)
        .env("CLOUDFLARE_EMAIL", "ci@example.com")
        .env(
            "CLOUDFLARE_API_HEADERS",
            format!(r#"{{"Authorization":"Bearer {STRAY_TOKEN}"}}"#),
        )
}

fn gitlab(s: &Sandbox, run: Run, branch: &str) -> Run {
    run.env("CI", "true")
        .env("GITLAB_CI", "true")
        .env("CI_SERVER_URL", "https://gitlab.example.com")
        .env("CI_PROJECT_PATH", "acme/shop")
        .env("CI_PROJECT_DIR", s.project())
        .env("CI_JOB_ID", "555")
        .env("CI_PIPELINE_ID", "777")
        .env("CI_COMMIT_REF_NAME", branch)
        .env("CI_COMMIT_BRANCH", branch)
        .env("CI_PIPELINE_SOURCE", "push")
        .env("CF_DEPLOY_TOKEN", DEPLOY_TOKEN)
        .env("CF_PREVIEW_TOKEN", PREVIEW_TOKEN)
}

/// The Cloudflare credentials wrangler saw: (variable, value) for every value that is a dummy.
fn credentials_seen(s: &Sandbox) -> Vec<(String, String)> {
    s.wrangler_env()
        .into_iter()
        .filter(|(_, v)| v.ends_with("-not-real"))
        .collect()
}

fn only_token(value: &str) -> Vec<(String, String)> {
    vec![("CLOUDFLARE_API_TOKEN".to_owned(), value.to_owned())]
}

#[test]
fn approved_github_actions_gets_exactly_the_class_token() {
    let s = Sandbox::new();
    project(&s);
    github(&s, s.shim(&["deploy"]), "refs/heads/main", "push")
        .output()
        .assert_code(0);
    assert_eq!(credentials_seen(&s), only_token(DEPLOY_TOKEN));
    assert!(
        !s.wrangler_env()
            .iter()
            .any(|(k, _)| k == "CLOUDFLARE_API_KEY"
                || k == "CLOUDFLARE_EMAIL"
                || k == "CLOUDFLARE_API_HEADERS")
    );
    github(
        &s,
        s.shim(&["d1", "migrations", "apply", "DB", "--remote"]),
        "refs/heads/main",
        "push",
    )
    .output()
    .assert_code(0);
    assert_eq!(credentials_seen(&s), only_token(D1_TOKEN));
    github(
        &s,
        s.shim(&["versions", "upload"]),
        "refs/heads/feature",
        "pull_request",
    )
    .output()
    .assert_code(0);
    assert_eq!(
        credentials_seen(&s),
        only_token(PREVIEW_TOKEN),
        "preview work in CI runs with the preview token"
    );
    github(&s, s.shim(&["types"]), "refs/heads/feature", "pull_request")
        .output()
        .assert_code(0);
    assert_eq!(
        credentials_seen(&s),
        vec![],
        "local work gets no credential at all"
    );
}

#[test]
fn unapproved_github_runs_are_refused_and_say_which_field_did_not_match() {
    for (git_ref, event, args, needle) in [
        (
            "refs/heads/feature",
            "push",
            &["deploy"][..],
            "ref \"refs/heads/feature\" is not in refs",
        ),
        (
            "refs/heads/main",
            "pull_request",
            &["deploy"],
            "event \"pull_request\" is not in events",
        ),
        (
            "refs/heads/main",
            "push",
            &["triggers", "deploy", "--routes", "x.example.com/*"],
            "do not include dns",
        ),
    ] {
        let s = Sandbox::new();
        project(&s);
        let out = github(&s, s.shim(args), git_ref, event).output();
        out.assert_code(77);
        assert!(out.stderr().contains(needle), "{needle}: {}", out.stderr());
        assert!(out.stderr().contains("approved_ci[0]"), "{}", out.stderr());
        assert!(s.wrangler_argv().is_none());
        assert!(!out.stderr().contains("-not-real"), "no token in a refusal");
    }
}

#[test]
fn forged_ci_and_agents_in_ci_are_refused() {
    let s = Sandbox::new();
    project(&s);
    // GITHUB_ACTIONS=true with nothing else
    let out = s
        .shim(&["deploy"])
        .env("GITHUB_ACTIONS", "true")
        .env("CF_DEPLOY_TOKEN", DEPLOY_TOKEN)
        .output();
    out.assert_code(77);
    assert!(
        out.stderr()
            .contains("does not look like a genuine github-actions run"),
        "{}",
        out.stderr()
    );
    // every variable right, but the event file names another repository
    let out = github(&s, s.shim(&["deploy"]), "refs/heads/main", "push")
        .env("GITHUB_REPOSITORY", "evil/fork")
        .output();
    out.assert_code(77);
    // a bare CI=true is no CI: no terminal here, so refused like any unattended call
    let out = s.shim(&["deploy"]).env("CI", "true").output();
    out.assert_code(77);
    assert!(
        out.stderr().contains("no-terminal") || out.stderr().contains("terminal"),
        "{}",
        out.stderr()
    );
    // an agent inside an approved run
    let out = github(&s, s.shim(&["deploy"]), "refs/heads/main", "push")
        .env("CLAUDECODE", "1")
        .output();
    out.assert_code(77);
    assert!(out.stderr().contains("CLAUDECODE"), "{}", out.stderr());
    assert!(s.wrangler_argv().is_none());
}

#[test]
fn approved_gitlab_ci() {
    let s = Sandbox::new();
    project(&s);
    gitlab(&s, s.shim(&["deploy"]), "main")
        .output()
        .assert_code(0);
    assert_eq!(credentials_seen(&s), only_token(DEPLOY_TOKEN));
    let s = Sandbox::new();
    project(&s);
    let out = gitlab(&s, s.shim(&["deploy"]), "feature").output();
    out.assert_code(77);
    assert!(
        out.stderr()
            .contains("approved_ci[1]: ref \"refs/heads/feature\""),
        "{}",
        out.stderr()
    );
    let out = gitlab(
        &s,
        s.shim(&["d1", "migrations", "apply", "DB", "--remote"]),
        "main",
    )
    .output();
    out.assert_code(77);
    assert!(
        out.stderr().contains("do not include migration"),
        "{}",
        out.stderr()
    );
}

#[test]
fn an_approved_class_whose_token_is_missing_is_refused() {
    let s = Sandbox::new();
    project(&s);
    let out = github(&s, s.shim(&["deploy"]), "refs/heads/main", "push")
        .env_remove("CF_DEPLOY_TOKEN")
        .output();
    out.assert_code(77);
    assert!(out.stderr().contains("CF_DEPLOY_TOKEN"), "{}", out.stderr());
}

#[test]
fn explain_shows_the_context_and_the_rule_that_decided() {
    let s = Sandbox::new();
    project(&s);
    let out = github(
        &s,
        s.safe(&["explain", "--json", "deploy"]),
        "refs/heads/main",
        "push",
    )
    .output();
    out.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
    assert_eq!(v["decision"], "run");
    assert_eq!(v["decided_by"], "approved_ci[0]");
    assert_eq!(v["context"]["ci"]["provider"], "github-actions");
    assert!(v["reason"].as_str().unwrap().contains("CF_DEPLOY_TOKEN"));
    assert!(!out.stdout().contains("-not-real"));
    assert!(s.wrangler_argv().is_none());
}

#[test]
fn bad_policy_files_exit_78_with_file_and_line() {
    for (text, needle) in [
        (
            "{\n  \"production_enviroments\": []\n}",
            "unknown field `production_enviroments`",
        ),
        (
            "{\n  \"approved_ci\": [{\"provider\": \"jenkins\"}]\n}",
            "line 2",
        ),
        ("{ \"ci_tokens\": { \"production\": 5 } }", "invalid type"),
        ("{ \"lock_project_policy\": true }", "user file"),
        ("not json", "line 1"),
    ] {
        let s = Sandbox::new();
        fs::write(s.project().join("safe-wrangler.jsonc"), text).unwrap();
        for args in [&["whoami"][..], &["explain", "deploy"]] {
            let out = s.safe(args).output();
            out.assert_code(78);
            let err = out.stderr();
            assert!(
                err.contains("safe-wrangler.jsonc") && err.contains(needle),
                "{text}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        assert!(s.wrangler_argv().is_none());
    }
}

#[test]
fn a_locked_user_policy_keeps_a_project_from_approving_itself() {
    let s = Sandbox::new();
    project(&s);
    let user = s.home().join(".config/safe-wrangler/config.jsonc");
    fs::create_dir_all(user.parent().unwrap()).unwrap();
    fs::write(
        &user,
        r#"{ "lock_project_policy": true, "ci_tokens": { "production": "CF_DEPLOY_TOKEN" } }"#,
    )
    .unwrap();
    let out = github(&s, s.shim(&["deploy"]), "refs/heads/main", "push").output();
    out.assert_code(77);
    assert!(
        out.stderr().contains("approves no CI run"),
        "{}",
        out.stderr()
    );
    // Pointing XDG_CONFIG_HOME elsewhere does not lift the lock (nor does a project file that
    // declares every environment non-production).
    fs::write(
        s.project().join("safe-wrangler.jsonc"),
        r#"{ "production_environments": [] }"#,
    )
    .unwrap();
    let out = s
        .safe(&["explain", "--json", "deploy"])
        .env("XDG_CONFIG_HOME", s.path("nowhere"))
        .output();
    let v: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
    assert_eq!(v["class"], "production", "{v}");
    // Nor does a user file planted under another XDG_CONFIG_HOME, with or without a lock of its
    // own: the settings come from the locked file in the real home.
    for planted in [
        r#"{ "production_environments": ["nothing"] }"#,
        r#"{ "lock_project_policy": true, "production_environments": ["nothing"] }"#,
    ] {
        let evil = s.path("evil/safe-wrangler/config.jsonc");
        fs::create_dir_all(evil.parent().unwrap()).unwrap();
        fs::write(&evil, planted).unwrap();
        let out = s
            .safe(&["explain", "--json", "deploy"])
            .env("XDG_CONFIG_HOME", s.path("evil"))
            .output();
        let v: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
        assert_eq!(v["class"], "production", "{planted}: {v}");
    }
}

#[test]
fn production_environments_come_from_the_policy() {
    let s = Sandbox::new();
    fs::write(s.project().join("wrangler.toml"), "name = \"shop\"\n").unwrap();
    fs::write(
        s.project().join("safe-wrangler.json"),
        r#"{"production_environments": ["", "live"], "pages_production_branches": ["release"]}"#,
    )
    .unwrap();
    for (args, class) in [
        (&["deploy", "--env", "live"][..], "production"),
        // Named in neither list: production (issue 11); staging is in the default preview list.
        (&["deploy", "--env", "production"], "production"),
        (&["deploy", "--env", "staging"], "preview"),
        (&["pages", "deploy", "dist", "--branch", "main"], "preview"),
        (
            &["pages", "deploy", "dist", "--branch", "release"],
            "production",
        ),
    ] {
        let mut run = s.safe(&["explain", "--json", "--"]);
        for a in args {
            run = run.arg(a);
        }
        let v: serde_json::Value = serde_json::from_str(run.output().stdout().trim()).unwrap();
        assert_eq!(v["class"], class, "{args:?}");
    }
}

/// The core decides a missing CI token (issue 10): explain says refuse, as the wrapper does.
#[test]
fn a_missing_ci_token_is_refused_by_explain_and_the_wrapper() {
    let s = Sandbox::new();
    project(&s);
    let out = github(
        &s,
        s.safe(&["explain", "--json", "deploy"]),
        "refs/heads/main",
        "push",
    )
    .env_remove("CF_DEPLOY_TOKEN")
    .output();
    out.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
    assert_eq!(v["decision"], "refuse", "{v}");
    assert_eq!(v["decided_by"], "ci-token-missing", "{v}");
    let out = github(&s, s.shim(&["deploy"]), "refs/heads/main", "push")
        .env_remove("CF_DEPLOY_TOKEN")
        .output();
    out.assert_code(77);
    assert!(
        out.stderr().contains(
            "CF_DEPLOY_TOKEN, which holds the token for production work in CI, is not set"
        ),
        "{}",
        out.stderr()
    );
    assert!(s.wrangler_argv().is_none());
}

/// Approved CI runs production work as a child too: its exit status is mirrored and the audit
/// log's record for the `run` decision gains how it ended (`result`).
#[test]
fn approved_ci_work_records_how_wrangler_ended() {
    let s = Sandbox::new();
    project(&s);
    let log = s.path("audit.jsonl");
    github(&s, s.shim(&["deploy"]), "refs/heads/main", "push")
        .env("SAFE_WRANGLER_LOG", &log)
        .env("FAKE_EXIT", "3")
        .output()
        .assert_code(3);
    let lines: Vec<serde_json::Value> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["decision"], "run", "{lines:?}");
    assert!(lines[0].get("result").is_none(), "{lines:?}");
    assert_eq!(lines[1]["decision"], "run", "{lines:?}");
    assert_eq!(lines[1]["result"]["exit"], 3, "{lines:?}");
    assert!(
        lines[1]["decided_by"]
            .as_str()
            .is_some_and(|d| d.starts_with("approved_ci")),
        "{lines:?}"
    );
}

/// A policy error quotes the value it could not read (`invalid type: string "..."`): a credential
/// pasted into the policy is redacted wherever the error is shown (wrapper, explain and its JSON
/// form, doctor, the agent hook), a scannable token and a bare legacy one alike.
#[test]
fn a_policy_error_never_prints_a_credential() {
    let scannable = format!("cfut_{}{}", "Ab3".repeat(13) + "x", "0123abcd");
    let legacy = "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n".to_owned();
    for token in [scannable, legacy] {
        let s = Sandbox::new();
        fs::write(
            s.project().join("safe-wrangler.jsonc"),
            format!("{{ \"ci_tokens\": \"{token}\" }}"),
        )
        .unwrap();
        let hook_input = serde_json::json!({"session_id": "s", "cwd": s.project(),
            "hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_input": {"command": "wrangler deploy"}})
        .to_string();
        let runs = [
            ("wrapper", s.safe(&["whoami"]).output()),
            ("explain", s.safe(&["explain", "deploy"]).output()),
            (
                "explain --json",
                s.safe(&["explain", "--json", "--", "deploy"]).output(),
            ),
            ("doctor", s.safe(&["doctor"]).output()),
            ("doctor --json", s.safe(&["doctor", "--json"]).output()),
            ("hook", hook_out(&s, &hook_input)),
        ];
        for (way, out) in runs {
            let text = format!("{}{}", out.stdout(), out.stderr());
            assert!(text.contains("invalid type"), "{way}: {text}");
            assert!(
                !text.contains(&token[8..32]),
                "{way} printed the token: {text}"
            );
        }
        assert!(s.wrangler_argv().is_none());
    }
}

/// `safe-wrangler hook claude` with `input` on stdin.
fn hook_out(s: &Sandbox, input: &str) -> crate::util::Out {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut cmd = s.safe(&["hook", "claude"]).cmd;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    crate::util::Out(child.wait_with_output().unwrap())
}
