//! `safe-wrangler doctor` and `safe-wrangler scripts` through the built binary, in temp projects
//! and temp HOMEs. Every credential planted here is a dummy built in the test; each must be
//! reported by where it is (`file:line` or variable name) and must never appear in stdout or stderr.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{BIN, Out, Sandbox};

// Dummy credential shapes (never real): scannable tokens, legacy tokens, a legacy Global API key
// (37 hex digits) and an Origin CA key.
fn user_token(fill: &str) -> String {
    format!("cfut_{}{}", fill.repeat(40 / fill.len()), "0badc0de")
}
fn account_token() -> String {
    format!("cfat_{}{}", "Qx7".repeat(13), "K1234abcd")
}
fn legacy_token(fill: &str) -> String {
    format!("{}_-", fill.repeat(38 / fill.len()))
}
fn global_key() -> String {
    format!("{}c0ffe", "0123456789abcdef".repeat(2))
}
fn origin_ca() -> String {
    format!("v1.0-{}-{}", "a1b2c3".repeat(4), "d4e5f6".repeat(24))
}

const POLICY: &str = r#"{
  "production_environments": ["", "production"],
  "approved_ci": [
    { "provider": "github-actions", "repository": "acme/shop", "refs": ["refs/heads/main"],
      "classes": ["production", "dns"] }
  ],
  "ci_tokens": { "production": "CF_DEPLOY_TOKEN" }
}
"#;

const OAUTH: &str = "oauth_token = \"dummy-oauth-not-real\"\nexpiration_time = \"2099-01-01T00:00:00Z\"\nrefresh_token = \"dummy-refresh-not-real\"\n";

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A project (and HOME) where every check passes: the shim first on PATH (the sandbox's default),
/// scripts through safe-wrangler, an OAuth login, a policy, and no environment inheriting routes.
fn clean(s: &Sandbox) {
    write(
        &s.project().join("wrangler.toml"),
        "name = \"shop\"\nroutes = [ { pattern = \"shop.example.com/*\", zone_name = \"example.com\" } ]\n\n[[d1_databases]]\nbinding = \"MAIN_DB\"\ndatabase_name = \"shop\"\ndatabase_id = \"00000000-0000-0000-0000-000000000000\"\n\n[env.staging]\nroutes = []\n",
    );
    write(
        &s.project().join("package.json"),
        "{\n  \"name\": \"shop\",\n  \"scripts\": {\n    \"deploy\": \"safe-wrangler deploy\",\n    \"build\": \"vite build\"\n  }\n}\n",
    );
    write(&s.project().join("safe-wrangler.jsonc"), POLICY);
    write(
        &s.home().join(".config/.wrangler/config/default.toml"),
        OAUTH,
    );
    write(&s.home().join(".bashrc"), "alias ll='ls -l'\n");
}

fn doctor(s: &Sandbox, json: bool) -> crate::util::Run {
    if json {
        s.safe(&["doctor", "--json"])
    } else {
        s.safe(&["doctor"])
    }
}

fn report(out: &Out) -> Value {
    serde_json::from_str(&out.stdout()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout()))
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report}"))
}

fn details(check: &Value) -> Vec<String> {
    check["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect()
}

#[track_caller]
fn assert_detail(report: &Value, id: &str, want: &str) {
    let c = check(report, id);
    assert!(
        details(c).iter().any(|d| d.contains(want)),
        "{id}: no detail with {want:?} in {c}"
    );
}

#[track_caller]
fn assert_never_echoed(out: &Out, secrets: &[String]) {
    for secret in secrets {
        // The whole value and any 16-character piece of it.
        let middle = &secret[secret.len() / 2 - 8..secret.len() / 2 + 8];
        for (stream, text) in [("stdout", out.stdout()), ("stderr", out.stderr())] {
            assert!(
                !text.contains(secret.as_str()) && !text.contains(middle),
                "{stream} echoes a planted credential:\n{text}"
            );
        }
    }
}

const IDS: [&str; 9] = [
    "shim-first",
    "npm-scripts",
    "env-credentials",
    "shell-startup",
    "project-secrets",
    "oauth-login",
    "policy",
    "production-targets",
    "grants",
];

#[test]
fn a_clean_project_passes() {
    let s = Sandbox::new();
    clean(&s);
    let out = doctor(&s, false).output();
    out.assert_code(0);
    let text = out.stdout();
    assert!(text.ends_with("all checks passed\n"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    assert!(!text.contains("dummy-oauth") && !text.contains("dummy-refresh"));

    let out = doctor(&s, true).output();
    out.assert_code(0);
    let r = report(&out);
    assert_eq!(r["ok"], true);
    let ids: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, IDS);
    for id in [
        "shim-first",
        "npm-scripts",
        "env-credentials",
        "shell-startup",
        "project-secrets",
        "oauth-login",
        "policy",
        "production-targets",
    ] {
        assert_eq!(check(&r, id)["status"], "ok", "{id}: {r}");
        assert!(check(&r, id).get("fix").is_none());
    }
    assert_detail(
        &r,
        "policy",
        "approved_ci[0]: github-actions acme/shop, refs refs/heads/main, classes production, dns",
    );
    assert_detail(
        &r,
        "policy",
        "dns work approved in CI: yes (approved_ci[0])",
    );
    assert_detail(
        &r,
        "production-targets",
        "production environments: (top level), production",
    );
    assert_detail(&r, "production-targets", "env.staging: not production");
    assert!(
        check(&r, "oauth-login")["summary"]
            .as_str()
            .unwrap()
            .contains("~/.config/.wrangler/config/default.toml")
    );
}

/// Dummy credentials planted in every place doctor must look.
struct Planted {
    env_token: String,
    env_account: String,
    /// Every planted value, for "never echoed".
    all: Vec<String>,
    /// The line of wrangler.toml holding one.
    toml_line: usize,
}

fn plant(s: &Sandbox) -> Planted {
    let env_token = user_token("Ev");
    let env_account = account_token();
    let bashrc_key = global_key();
    let fish_token = legacy_token("Fi");
    let dotenv_token = legacy_token("Dt");
    let production_token = user_token("Pr");
    let dev_vars_key = origin_ca();
    let toml_token = legacy_token("Tm");
    let example_value = "dummy-person@example.invalid".to_owned();
    write(
        &s.home().join(".bashrc"),
        &format!("alias ll='ls -l'\nexport CLOUDFLARE_API_KEY={bashrc_key}\n"),
    );
    write(
        &s.home().join(".config/fish/config.fish"),
        &format!("set -gx EDITOR vim\n\nset -gx CLOUDFLARE_API_TOKEN {fish_token}\n"),
    );
    write(
        &s.project().join(".env"),
        &format!("API_URL=http://localhost:8787\nCLOUDFLARE_API_TOKEN={dotenv_token}\n"),
    );
    write(
        &s.project().join(".env.production"),
        &format!("DEPLOY_TOKEN=\"{production_token}\"\n"),
    );
    write(
        &s.project().join(".dev.vars"),
        &format!("# origin certificates\nORIGIN_KEY={dev_vars_key}\n"),
    );
    write(
        &s.project().join(".env.example"),
        &format!("CLOUDFLARE_API_TOKEN=\nCLOUDFLARE_EMAIL={example_value}\n"),
    );
    let toml = fs::read_to_string(s.project().join("wrangler.toml")).unwrap();
    let toml = toml.replacen(
        "\n[[d1_databases]]",
        &format!("\n[vars]\nAPI_TOKEN = \"{toml_token}\"\n\n[[d1_databases]]"),
        1,
    );
    write(&s.project().join("wrangler.toml"), &toml);
    let toml_line = toml
        .lines()
        .position(|l| l.starts_with("API_TOKEN"))
        .unwrap()
        + 1;
    Planted {
        all: vec![
            "ci-token-not-real".to_owned(),
            env_token.clone(),
            env_account.clone(),
            bashrc_key,
            fish_token,
            dotenv_token,
            production_token,
            dev_vars_key,
            toml_token,
            example_value,
        ],
        env_token,
        env_account,
        toml_line,
    }
}

#[test]
fn every_planted_credential_is_reported_by_location_and_never_echoed() {
    let s = Sandbox::new();
    clean(&s);
    let Planted {
        env_token,
        env_account,
        all: planted,
        toml_line,
    } = plant(&s);

    let run = |json: bool| {
        doctor(&s, json)
            .env("CLOUDFLARE_API_TOKEN", &env_token)
            .env("ACCOUNT_TOKEN", &env_account)
            .env("CF_DEPLOY_TOKEN", "ci-token-not-real")
            .output()
    };

    let out = run(false);
    out.assert_code(1);
    assert_never_echoed(&out, &planted);
    let text = out.stdout();
    for want in [
        "FAIL  env-credentials",
        "CLOUDFLARE_API_TOKEN is set",
        "ACCOUNT_TOKEN holds a cf-account-token",
        "CF_DEPLOY_TOKEN is set",
        "FAIL  shell-startup",
        "~/.bashrc:2: CLOUDFLARE_API_KEY",
        "~/.config/fish/config.fish:3: CLOUDFLARE_API_TOKEN",
        "FAIL  project-secrets",
        ".env:2: CLOUDFLARE_API_TOKEN",
        ".env.production:1: a credential-shaped value (cf-user-token)",
        ".dev.vars:2: a credential-shaped value (cf-origin-ca-key)",
        &format!("wrangler.toml:{toml_line}: a credential-shaped value (cf-legacy-token)"),
        ".env.example:2: CLOUDFLARE_EMAIL",
        "fix: ",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    assert!(!text.contains(".env.example:1"), "{text}");

    let out = run(true);
    out.assert_code(1);
    assert_never_echoed(&out, &planted);
    let r = report(&out);
    assert_eq!(r["ok"], false);
    for (id, want) in [
        ("env-credentials", "CLOUDFLARE_API_TOKEN is set"),
        ("env-credentials", "ACCOUNT_TOKEN holds a cf-account-token"),
        ("shell-startup", "~/.bashrc:2: CLOUDFLARE_API_KEY"),
        (
            "shell-startup",
            "~/.config/fish/config.fish:3: CLOUDFLARE_API_TOKEN",
        ),
        ("project-secrets", ".env:2: CLOUDFLARE_API_TOKEN"),
        ("project-secrets", ".env.production:1:"),
        ("project-secrets", ".dev.vars:2:"),
        ("project-secrets", &format!("wrangler.toml:{toml_line}:")),
        ("project-secrets", ".env.example:2: CLOUDFLARE_EMAIL"),
    ] {
        assert_detail(&r, id, want);
    }
    for id in ["env-credentials", "shell-startup", "project-secrets"] {
        assert_eq!(check(&r, id)["status"], "fail");
        assert!(check(&r, id)["fix"].is_string());
    }
    // Without a git repository (no git on the sandbox's PATH) ignoring cannot be checked.
    assert_detail(
        &r,
        "project-secrets",
        "could not check whether .env is git-ignored",
    );
}

#[test]
fn the_shim_must_come_first_on_path() {
    let s = Sandbox::new();
    clean(&s);
    let path = std::env::join_paths([s.real_dir(), s.shims()]).unwrap();
    let out = doctor(&s, true).env("PATH", &path).output();
    out.assert_code(1);
    let r = report(&out);
    let c = check(&r, "shim-first");
    assert_eq!(c["status"], "fail");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("the shim comes later"),
        "{c}"
    );
    assert!(
        c["fix"].as_str().unwrap().contains(
            "export PATH=\"$HOME/.local/lib/safe-wrangler/shims:$HOME/.local/bin:$PATH\""
        ),
        "{c}"
    );
    assert_eq!(
        details(c),
        [
            format!(
                "1. {}: the real wrangler (or another program)",
                s.real_dir().join("wrangler").display()
            ),
            format!("2. {}: safe-wrangler", s.shims().join("wrangler").display()),
        ]
    );

    let out = doctor(&s, true).env("PATH", s.real_dir()).output();
    out.assert_code(1);
    let r = report(&out);
    assert!(
        check(&r, "shim-first")["summary"]
            .as_str()
            .unwrap()
            .contains("the shim is not on PATH")
    );
    // Relative PATH entries are not looked at, as in the lookup.
    let out = doctor(&s, true).env("PATH", "shims").output();
    out.assert_code(1);
    assert!(
        check(&report(&out), "shim-first")["summary"]
            .as_str()
            .unwrap()
            .starts_with("no `wrangler` on PATH")
    );
}

#[test]
fn package_json_scripts_that_call_wrangler_fail_unless_protected() {
    let s = Sandbox::new();
    clean(&s);
    write(
        &s.project().join("package.json"),
        "{\"scripts\": {\"build\": \"vite build\", \"deploy\": \"npm run build && wrangler deploy\", \"ship\": \"npx wrangler versions upload\"}}",
    );
    let out = doctor(&s, true).output();
    out.assert_code(1);
    let r = report(&out);
    let c = check(&r, "npm-scripts");
    assert_eq!(c["status"], "fail");
    assert!(c["fix"].as_str().unwrap().contains("safe-wrangler protect"));
    assert_eq!(
        details(c),
        [
            "package.json: scripts.deploy calls wrangler directly",
            "package.json: scripts.ship calls wrangler directly"
        ]
    );

    // node_modules/.bin/wrangler leading to safe-wrangler: the scripts are guarded after all.
    let bin = s.project().join("node_modules/.bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("wrangler")).unwrap();
    let out = doctor(&s, true).output();
    out.assert_code(0);
    let r = report(&out);
    assert_eq!(check(&r, "npm-scripts")["status"], "ok");
    assert_detail(&r, "npm-scripts", "leads to safe-wrangler (protected)");
}

#[test]
fn an_environment_inheriting_routes_fails() {
    let s = Sandbox::new();
    clean(&s);
    fs::remove_file(s.project().join("wrangler.toml")).unwrap();
    write(
        &s.project().join("wrangler.jsonc"),
        r#"{
  "name": "shop",
  "routes": [{ "pattern": "api.example.com", "custom_domain": true }],
  "env": {
    // Only `route`: the top level's `routes` still win.
    "staging": { "route": "staging.example.com/*" },
    "production": {},
    "preview": { "routes": [] }
  }
}"#,
    );
    let out = doctor(&s, true).output();
    out.assert_code(1);
    let r = report(&out);
    let c = check(&r, "production-targets");
    assert_eq!(c["status"], "fail");
    assert_detail(
        &r,
        "production-targets",
        "env.staging (not production) inherits the top level's routes: api.example.com (custom domain)",
    );
    assert_detail(
        &r,
        "production-targets",
        "env.production (production) inherits",
    );
    assert_detail(&r, "production-targets", "env.preview: not production");
    let fix = c["fix"].as_str().unwrap();
    assert!(
        fix.contains("add `\"routes\": []` (or its own routes) to env.staging"),
        "{fix}"
    );
    assert!(fix.starts_with("in wrangler.jsonc:"), "{fix}");
}

#[test]
fn dotenv_files_must_be_git_ignored() {
    let Some(git) = ["/usr/bin/git", "/bin/git", "/usr/local/bin/git"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
    else {
        eprintln!("git not installed: skipped");
        return;
    };
    let s = Sandbox::new();
    clean(&s);
    let status = Command::new(git)
        .args(["init", "-q"])
        .current_dir(s.project())
        .env_clear()
        .env("HOME", s.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(status.success());
    write(
        &s.project().join(".gitignore"),
        ".env\n.env.*\n!.env.example\n",
    );
    write(&s.project().join(".env"), "API_URL=http://localhost:8787\n");
    write(&s.project().join(".dev.vars"), "GREETING=hello\n");
    write(&s.project().join(".env.example"), "CLOUDFLARE_API_TOKEN=\n");
    let git_dir = Path::new(git).parent().unwrap();
    let path = std::env::join_paths([s.shims(), s.real_dir(), git_dir.to_owned()]).unwrap();
    let out = doctor(&s, true).env("PATH", &path).output();
    out.assert_code(1);
    let r = report(&out);
    let c = check(&r, "project-secrets");
    assert_eq!(c["status"], "fail", "{c}");
    assert_detail(&r, "project-secrets", ".dev.vars is not git-ignored");
    assert!(
        !details(c)
            .iter()
            .any(|d| d.starts_with(".env ") || d.starts_with(".env.example ")),
        "{c}"
    );

    write(&s.project().join(".gitignore"), ".env\n.dev.vars\n");
    let out = doctor(&s, true).env("PATH", &path).output();
    out.assert_code(0);
    assert_eq!(check(&report(&out), "project-secrets")["status"], "ok");
}

#[test]
fn missing_login_and_bad_policy_fail() {
    let s = Sandbox::new();
    clean(&s);
    fs::remove_file(s.home().join(".config/.wrangler/config/default.toml")).unwrap();
    write(
        &s.project().join("safe-wrangler.jsonc"),
        "{ \"approved_ci\": 3 }",
    );
    let out = doctor(&s, false).output();
    out.assert_code(1);
    let text = out.stdout();
    assert!(text.contains("FAIL  oauth-login: no wrangler OAuth login (looked for ~/.config/.wrangler/config/default.toml)"), "{text}");
    assert!(text.contains("fix: run `wrangler login`"), "{text}");
    assert!(
        text.contains("FAIL  policy: the policy file cannot be used: "),
        "{text}"
    );

    // The legacy ~/.wrangler wins when it exists, as in wrangler.
    write(&s.home().join(".wrangler/config/default.toml"), OAUTH);
    write(&s.project().join("safe-wrangler.jsonc"), POLICY);
    let out = doctor(&s, true).output();
    out.assert_code(0);
    let r = report(&out);
    assert!(
        check(&r, "oauth-login")["summary"]
            .as_str()
            .unwrap()
            .contains("~/.wrangler/config/default.toml")
    );
}

#[test]
fn no_policy_file_is_information() {
    let s = Sandbox::new();
    clean(&s);
    fs::remove_file(s.project().join("safe-wrangler.jsonc")).unwrap();
    let out = doctor(&s, true).output();
    out.assert_code(0);
    let r = report(&out);
    assert_eq!(check(&r, "policy")["status"], "info");
    assert_detail(
        &r,
        "production-targets",
        "production environments: (top level), production, prod",
    );
}

// ---- scripts ----------------------------------------------------------------------------------

const TABBED: &str = "{\n\t\"version\": \"0.0.1\",\n\t\"scripts\": {\n\t\t\"zeta\": \"vite\",\n\t\t\"cf:whoami\": \"npx wrangler whoami\",\n\t\t\"alpha\":   \"vitest\"\n\t},\n\t\"name\": \"odd\",\n\t\"private\": true\n}";

#[test]
fn scripts_prints_the_brokered_scripts() {
    let s = Sandbox::new();
    clean(&s);
    let out = s.safe(&["scripts"]).output();
    out.assert_code(0);
    let text = out.stdout();
    for want in [
        "\"cf:whoami\": \"safe-wrangler whoami\",",
        "\"cf:types\": \"safe-wrangler types\",",
        "\"cf:d1:local\": \"safe-wrangler d1 migrations apply MAIN_DB --local\",",
        "\"cf:deploy:preview\": \"safe-wrangler versions upload --env staging\"\n",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    // No wrangler config: no D1 script, the preview upload at the top level; package.json is
    // never needed to print.
    let s = Sandbox::new();
    let out = s.safe(&["scripts"]).output();
    out.assert_code(0);
    assert!(!out.stdout().contains("d1"), "{}", out.stdout());
    assert!(
        out.stdout()
            .contains("\"cf:deploy:preview\": \"safe-wrangler versions upload\"\n")
    );
}

#[test]
fn scripts_write_inserts_and_keeps_every_other_byte() {
    let s = Sandbox::new();
    write(&s.project().join("package.json"), TABBED);
    let sub = s.project().join("src/worker");
    fs::create_dir_all(&sub).unwrap();
    let out = s.safe(&["scripts", "--write"]).cwd(&sub).output();
    out.assert_code(0);
    let text = out.stdout();
    assert!(text.contains("kept     cf:whoami"), "{text}");
    assert!(text.contains("added    cf:types"), "{text}");
    assert!(
        text.contains("offer    cf:whoami: calls wrangler directly; point it at safe-wrangler (\"safe-wrangler whoami\"), or run `safe-wrangler protect`"),
        "{text}"
    );
    let written = fs::read_to_string(s.project().join("package.json")).unwrap();
    let expected = TABBED.replace(
        "\"alpha\":   \"vitest\"",
        "\"alpha\":   \"vitest\",\n\t\t\"cf:types\":   \"safe-wrangler types\",\n\t\t\"cf:deploy:preview\":   \"safe-wrangler versions upload\"",
    );
    assert_eq!(written, expected);
    assert!(
        written.contains("\"cf:whoami\": \"npx wrangler whoami\""),
        "the existing script is untouched"
    );

    // Idempotent: a second run changes nothing.
    let out = s.safe(&["scripts", "--write"]).output();
    out.assert_code(0);
    assert!(out.stdout().contains("present  cf:types"));
    assert_eq!(
        fs::read_to_string(s.project().join("package.json")).unwrap(),
        expected
    );
}

#[test]
fn scripts_write_creates_the_scripts_object() {
    let s = Sandbox::new();
    clean(&s);
    let original =
        "{\n    \"name\": \"shop\",\n    \"devDependencies\": { \"wrangler\": \"4.164.0\" }\n}\n";
    write(&s.project().join("package.json"), original);
    let out = s.safe(&["scripts", "--write"]).output();
    out.assert_code(0);
    let written = fs::read_to_string(s.project().join("package.json")).unwrap();
    assert_eq!(
        written,
        "{\n    \"name\": \"shop\",\n    \"devDependencies\": { \"wrangler\": \"4.164.0\" },\n    \"scripts\": {\n        \"cf:whoami\": \"safe-wrangler whoami\",\n        \"cf:types\": \"safe-wrangler types\",\n        \"cf:d1:local\": \"safe-wrangler d1 migrations apply MAIN_DB --local\",\n        \"cf:deploy:preview\": \"safe-wrangler versions upload --env staging\"\n    }\n}\n"
    );
}

#[test]
fn scripts_write_without_package_json_or_with_a_broken_one() {
    let s = Sandbox::new();
    let out = s.safe(&["scripts", "--write"]).output();
    out.assert_code(1);
    assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    assert!(out.stderr().contains("no package.json"));

    let broken = "{\n  \"name\": \"x\",\n}\n";
    write(&s.project().join("package.json"), broken);
    let out = s.safe(&["scripts", "--write"]).output();
    out.assert_code(78);
    let err = out.stderr();
    assert!(err.contains("package.json: not valid JSON"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert_eq!(
        fs::read_to_string(s.project().join("package.json")).unwrap(),
        broken
    );
}

#[test]
fn production_targets_lists_each_environment_with_the_class_of_a_deploy() {
    let s = Sandbox::new();
    clean(&s);
    fs::remove_file(s.project().join("wrangler.toml")).unwrap();
    write(
        &s.project().join("wrangler.toml"),
        "name = \"fil\"\n\
         d1_databases = [ { binding = \"DB\", database_name = \"main\", database_id = \"d1-main\" } ]\n\
         [env.mainnet]\nname = \"fil-mainnet\"\n\
         [env.calibration]\nname = \"fil-calibration\"\n\
         [env.dev]\nname = \"fil-dev\"\n\
         d1_databases = [ { binding = \"DB\", database_name = \"main\", database_id = \"d1-main\" } ]\n\
         [env.staging]\nname = \"fil-staging\"\n",
    );
    let out = doctor(&s, true).output();
    out.assert_code(1);
    let r = report(&out);
    let c = check(&r, "production-targets");
    assert_eq!(c["status"], "fail", "{c}");
    assert_detail(
        &r,
        "production-targets",
        "env.mainnet: undeclared, so production; `deploy --env mainnet` is production (undeclared-environment)",
    );
    assert_detail(
        &r,
        "production-targets",
        "env.dev: not production; `deploy --env dev` is production (production-data)",
    );
    assert_detail(
        &r,
        "production-targets",
        "env.staging: not production; `deploy --env staging` is preview (non-production-environment)",
    );
    let fix = c["fix"].as_str().unwrap();
    assert!(
        fix.contains(r#"add "calibration", "mainnet" to "production_environments", or to "preview_environments" if not production"#),
        "{fix}"
    );
    // Declared, the check passes and calibration is preview.
    let policy = POLICY.replacen(
        r#""production_environments": ["", "production"],"#,
        r#""production_environments": ["", "mainnet"], "preview_environments": ["calibration", "dev", "staging"],"#,
        1,
    );
    assert_ne!(policy, POLICY);
    write(&s.project().join("safe-wrangler.jsonc"), &policy);
    let r = report(&doctor(&s, true).output());
    assert_eq!(check(&r, "production-targets")["status"], "ok");
    assert_detail(
        &r,
        "production-targets",
        "env.calibration: not production; `deploy --env calibration` is preview (non-production-environment)",
    );
}

/// `CLOUDFLARE_API_HEADERS` sets headers on every API request after wrangler's own
/// `Authorization`, so it is a credential variable: reported when exported, in a shell start-up
/// file and in the project's `.env`, by name only (its value holds no recognisable token shape).
#[test]
fn api_headers_are_a_credential_variable() {
    let s = Sandbox::new();
    clean(&s);
    let value = r#"{"Authorization":"Bearer hunter2-headers-not-real"}"#;
    write(
        &s.project().join(".env"),
        &format!("A=1\nCLOUDFLARE_API_HEADERS={value}\n"),
    );
    write(
        &s.home().join(".bashrc"),
        &format!("export CLOUDFLARE_API_HEADERS='{value}'\n"),
    );
    let out = s
        .safe(&["doctor", "--json"])
        .env("CLOUDFLARE_API_HEADERS", value)
        .output();
    out.assert_code(1);
    assert_never_echoed(&out, &["hunter2-headers-not-real".to_owned()]);
    let r = report(&out);
    for (id, want) in [
        ("env-credentials", "CLOUDFLARE_API_HEADERS is set"),
        ("shell-startup", "~/.bashrc:1: CLOUDFLARE_API_HEADERS"),
        ("project-secrets", ".env:2: CLOUDFLARE_API_HEADERS"),
    ] {
        assert_eq!(check(&r, id)["status"], "fail", "{id}: {r}");
        assert_detail(&r, id, want);
    }
}
