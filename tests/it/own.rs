//! Called as `safe-wrangler`, help and version are ours; through the `wrangler` shim they are
//! wrangler's. And the one line that tells a caller whose credential we removed to log in.

use crate::util::{Sandbox, write_exe};

#[test]
fn help_is_ours_when_called_by_our_name() {
    for word in ["--help", "-h", "help"] {
        let s = Sandbox::new();
        let out = s.safe(&[word]).output();
        assert_eq!(out.code(), Some(0), "{word}: {}", out.stderr());
        let text = out.stdout();
        assert!(
            text.contains("Every other word goes to the real wrangler"),
            "{word}: {text}"
        );
        assert!(
            text.contains("plan ") && text.contains("explain "),
            "{word}: {text}"
        );
        assert!(s.wrangler_argv().is_none(), "{word}: wrangler ran");
    }
    let s = Sandbox::new();
    let out = s.safe(&["help", "plan"]).output();
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    assert!(out.stdout().contains("--json"), "{}", out.stdout());
}

#[test]
fn version_is_ours_and_the_real_wranglers() {
    for word in ["--version", "-V", "version"] {
        let s = Sandbox::new();
        write_exe(
            &s.real_dir().join("wrangler"),
            "#!/bin/sh\n[ \"$1\" = --version ] && [ -z \"$CLOUDFLARE_API_TOKEN\" ] && echo ' 4.164.0' && exit 0\nexit 3\n",
        );
        let out = s
            .safe(&[word])
            .env("CLOUDFLARE_API_TOKEN", crate::util::DUMMY_TOKEN)
            .output();
        assert_eq!(out.code(), Some(0), "{word}: {}", out.stderr());
        let text = out.stdout();
        assert!(
            text.starts_with(&format!("safe-wrangler {}\n", env!("CARGO_PKG_VERSION"))),
            "{word}: {text}"
        );
        assert!(text.contains("\nwrangler 4.164.0 ("), "{word}: {text}");
    }
}

#[test]
fn through_the_shim_help_and_version_are_wranglers() {
    for word in ["--help", "-h", "--version", "-v"] {
        let s = Sandbox::new();
        let out = s.shim(&[word]).output();
        assert_eq!(out.code(), Some(0), "{word}: {}", out.stderr());
        let argv = s.wrangler_argv().expect("wrangler ran");
        assert_eq!(argv, [std::ffi::OsString::from(word)]);
    }
    // After a command, --help is wrangler's too.
    let s = Sandbox::new();
    let out = s.safe(&["deploy", "--help"]).output();
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    assert!(s.wrangler_argv().is_some());
}

#[test]
fn a_removed_credential_without_an_oauth_login_says_run_wrangler_login() {
    let note = "no OAuth login: run `wrangler login` once";
    // Token removed, no login: one line, naming the variable and never its value.
    let s = Sandbox::new();
    let out = s
        .shim(&["whoami"])
        .env("CLOUDFLARE_API_TOKEN", crate::util::DUMMY_TOKEN)
        .output();
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let err = out.stderr();
    assert_eq!(err.matches(note).count(), 1, "{err}");
    assert!(err.contains("CLOUDFLARE_API_TOKEN"), "{err}");
    assert!(!err.contains(crate::util::DUMMY_TOKEN), "{err}");
    // A credential in .env is removed too.
    let s = Sandbox::new();
    std::fs::write(
        s.project().join(".env"),
        format!("CLOUDFLARE_API_TOKEN={}\n", crate::util::DUMMY_TOKEN),
    )
    .unwrap();
    let out = s.shim(&["whoami"]).output();
    assert!(out.stderr().contains(note), "{}", out.stderr());
    // With a stored login, or nothing removed, or local work: nothing said.
    let s = Sandbox::new();
    let login = s.home().join(".config/.wrangler/config/default.toml");
    std::fs::create_dir_all(login.parent().unwrap()).unwrap();
    std::fs::write(&login, "oauth_token = \"dummy\"\n").unwrap();
    let out = s
        .shim(&["whoami"])
        .env("CLOUDFLARE_API_TOKEN", crate::util::DUMMY_TOKEN)
        .output();
    assert!(!out.stderr().contains(note), "{}", out.stderr());
    let s = Sandbox::new();
    assert!(!s.shim(&["whoami"]).output().stderr().contains(note));
    let out = s
        .shim(&["types"])
        .env("CLOUDFLARE_API_TOKEN", crate::util::DUMMY_TOKEN)
        .output();
    assert!(!out.stderr().contains(note), "{}", out.stderr());
}

/// `scripts --write` goes through the same editor as `hook install`: a package.json with CRLF
/// line ends, four-space indentation and no final newline gains the scripts in that style and
/// keeps every other byte.
#[test]
fn scripts_write_keeps_crlf_and_four_space_indentation() {
    let s = Sandbox::new();
    let pkg = s.project().join("package.json");
    let original = "{\r\n    \"name\": \"shop\",\r\n    \"scripts\": {\r\n        \"dev\": \"vite\",\r\n        \"test\": \"vitest\"\r\n    },\r\n    \"private\": true\r\n}";
    std::fs::write(&pkg, original).unwrap();
    let out = s.safe(&["scripts", "--write"]).output();
    out.assert_code(0);
    let expected = original.replace(
        "\"test\": \"vitest\"",
        "\"test\": \"vitest\",\r\n        \"cf:whoami\": \"safe-wrangler whoami\",\r\n        \"cf:types\": \"safe-wrangler types\",\r\n        \"cf:deploy:preview\": \"safe-wrangler versions upload\"",
    );
    assert_eq!(std::fs::read_to_string(&pkg).unwrap(), expected);
    s.safe(&["scripts", "--write"]).output().assert_code(0);
    assert_eq!(std::fs::read_to_string(&pkg).unwrap(), expected);
}
