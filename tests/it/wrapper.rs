//! The built binary in front of a fake wrangler: passthrough, credentials, refusal, lookup.

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;

use crate::util::{BIN, DUMMY_TOKEN, Sandbox, write_exe};

const CREDENTIALS: [&str; 9] = [
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_API_KEY",
    "CLOUDFLARE_EMAIL",
    "CLOUDFLARE_API_HEADERS",
    "WRANGLER_BASIN_SQL_AUTH_TOKEN",
    "CF_PAGES_UPLOAD_JWT",
    "CF_API_TOKEN",
    "CF_API_KEY",
    "CF_EMAIL",
];

#[test]
fn argv_reaches_wrangler_unchanged_and_in_order() {
    let s = Sandbox::new();
    let odd = OsString::from_vec(vec![b'n', 0xff, b'x']);
    let words = [
        "dev",
        "my script.js",
        "--var",
        "A:it's \"quoted\"",
        "--ip=::1",
        "--",
    ];
    let out = s.shim(&words).arg(&odd).output();
    out.assert_code(0);
    let expected: Vec<OsString> = words
        .iter()
        .map(OsString::from)
        .chain([odd.clone()])
        .collect();
    assert_eq!(s.wrangler_argv().unwrap(), expected);
}

#[test]
fn a_non_utf8_word_before_the_end_of_options_fails_closed() {
    // node decodes it to U+FFFD, so `--cwd`, `--config` or a script path could name a directory
    // we never looked at.
    let s = Sandbox::new();
    let odd = OsString::from_vec(vec![0xff]);
    for flag in ["--cwd", "--config", "--name"] {
        let out = s.shim(&["dev", flag]).arg(&odd).output();
        out.assert_code(77);
        assert!(out.stderr().contains("not UTF-8"), "{}", out.stderr());
    }
    assert!(s.wrangler_argv().is_none());
}

#[test]
fn a_global_wrangler_3_makes_data_commands_remote() {
    // wrangler 3's kv, r2 and d1 commands wrote to production unless told --local.
    let s = Sandbox::new();
    let pkg = s.path("global/lib/node_modules/wrangler");
    write_exe(&pkg.join("bin/wrangler.js"), "#!/bin/sh\nexit 0\n");
    fs::write(
        pkg.join("package.json"),
        r#"{"name":"wrangler","version":"3.114.17"}"#,
    )
    .unwrap();
    let bin = s.path("global/bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(pkg.join("bin/wrangler.js"), bin.join("wrangler")).unwrap();
    let path = std::env::join_paths([s.shims(), bin]).unwrap();
    let out = s
        .shim(&["kv", "key", "put", "k", "v", "--binding", "KV"])
        .env("PATH", &path)
        .output();
    out.assert_code(77);
    assert!(out.stderr().contains("remote"), "{}", out.stderr());
    s.shim(&["kv", "key", "put", "k", "v", "--binding", "KV", "--local"])
        .env("PATH", &path)
        .output()
        .assert_code(0);
}

#[test]
fn help_and_version_pass_through_the_shim_untouched() {
    let s = Sandbox::new();
    for args in [
        &["--help"][..],
        &["--version"],
        &["deploy", "--help"],
        &["explain", "--json"],
    ] {
        let out = s.shim(args).output();
        // `wrangler explain` is not a wrangler command: unknown, so refused (fail closed), but
        // it is never answered by safe-wrangler itself.
        if args[0] == "explain" {
            out.assert_code(77);
            assert!(!out.stdout().contains("\"class\""));
            continue;
        }
        out.assert_code(0);
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        assert_eq!(s.wrangler_argv().unwrap(), argv);
    }
}

#[test]
fn exit_codes_and_signals_pass_through() {
    let s = Sandbox::new();
    let out = s.shim(&["whoami"]).env("FAKE_EXIT", "3").output();
    assert_eq!(out.code(), Some(3));
    let out = s.shim(&["whoami"]).env("FAKE_SIGNAL", "TERM").output();
    assert_eq!(
        out.0.status.signal(),
        Some(15),
        "exec, not spawn: wrangler's own death is ours"
    );
}

#[test]
fn every_credential_variable_is_removed() {
    let s = Sandbox::new();
    // An Access service token goes only to hosts behind Cloudflare Access, never to the API: kept.
    let mut run = s
        .shim(&["whoami"])
        .env("CLOUDFLARE_ACCOUNT_ID", "acct")
        .env("CLOUDFLARE_ACCESS_CLIENT_ID", "access-id");
    for v in CREDENTIALS {
        run = run.env(v, DUMMY_TOKEN);
    }
    run.output().assert_code(0);
    let env = s.wrangler_env();
    for v in CREDENTIALS {
        assert!(!env.iter().any(|(k, _)| k == v), "{v} reached wrangler");
    }
    assert!(!env.iter().any(|(_, val)| val.contains(DUMMY_TOKEN)));
    assert!(env.contains(&("CLOUDFLARE_ACCOUNT_ID".into(), "acct".into())));
    assert!(env.contains(&("CLOUDFLARE_ACCESS_CLIENT_ID".into(), "access-id".into())));
    assert!(env.contains(&("SAFE_WRANGLER_DEPTH".into(), "1".into())));
}

#[test]
fn production_without_a_terminal_is_refused_and_wrangler_never_runs() {
    let s = Sandbox::new();
    for args in [
        &["deploy"][..],
        &["d1", "migrations", "apply", "DB", "--remote"],
        &["publish"],
        &["deploy", "-eproduction"],
    ] {
        let out = s
            .shim(args)
            .env("CLOUDFLARE_API_TOKEN", DUMMY_TOKEN)
            .output();
        out.assert_code(77);
        assert!(s.wrangler_argv().is_none(), "{args:?}: wrangler ran");
        let err = out.stderr();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert!(
            lines[0].contains("refused") && lines[0].contains(args[0]),
            "{err}"
        );
        assert!(lines[1].contains("instead"), "{err}");
        assert!(!err.contains(DUMMY_TOKEN));
    }
}

#[test]
fn agents_are_refused_even_for_a_human_looking_call() {
    let s = Sandbox::new();
    let out = s
        .safe(&["deploy", "--env", "production"])
        .env("CLAUDECODE", "1")
        .output();
    out.assert_code(77);
    assert!(out.stderr().contains("CLAUDECODE"));
    assert!(
        out.stderr().contains("wrangler versions upload"),
        "refusals teach: {}",
        out.stderr()
    );
    assert!(s.wrangler_argv().is_none());
}

#[test]
fn refusals_never_echo_secrets_or_control_characters() {
    let s = Sandbox::new();
    let out = s
        .safe(&[
            "deploy",
            "--var",
            "KEY:hunter2-secret",
            "--name",
            "a\x1b[2Jb",
        ])
        .output();
    out.assert_code(77);
    let err = out.stderr();
    assert!(!err.contains("hunter2-secret"), "{err}");
    assert!(!err.contains('\x1b'), "{err}");
}

#[test]
fn local_work_runs() {
    let s = Sandbox::new();
    for args in [
        &["dev"][..],
        &["types"],
        &["deploy", "--dry-run", "--outdir", "out"],
        &["d1", "migrations", "apply", "DB", "--local"],
        &["kv", "key", "put", "k", "v", "--binding", "KV"],
        &["whoami"],
        &["versions", "upload"],
    ] {
        s.shim(args)
            .env("CLOUDFLARE_API_TOKEN", DUMMY_TOKEN)
            .output()
            .assert_code(0);
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        assert_eq!(s.wrangler_argv().unwrap(), argv);
    }
}

#[test]
fn explain_reports_and_never_runs_wrangler() {
    let s = Sandbox::new();
    fs::write(s.project().join("wrangler.toml"), "name = \"shop\"\n").unwrap();
    let out = s
        .safe(&["explain", "--json", "--", "deploy", "--env", "production"])
        .output();
    out.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
    assert_eq!(v["class"], "production");
    assert_eq!(v["environment"], "production");
    assert_eq!(v["production"], true);
    assert_eq!(v["decision"], "refuse");
    assert_eq!(v["command"], "deploy");
    assert!(v["reason"].as_str().unwrap().contains("terminal"));
    let out = s
        .safe(&[
            "explain",
            "--json",
            "d1",
            "execute",
            "DB",
            "--command",
            "select 1",
        ])
        .output();
    let v: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
    assert_eq!(
        (v["class"].as_str(), v["decision"].as_str()),
        (Some("local"), Some("run"))
    );
    let out = s.safe(&["explain", "deploy"]).output();
    out.assert_code(0);
    assert!(out.stdout().contains("decision:    refuse"));
    assert!(s.wrangler_argv().is_none());
}

#[test]
fn explain_bad_usage_is_64() {
    let s = Sandbox::new();
    s.safe(&["explain", "--no-such-flag-for-explain"])
        .output()
        .assert_code(0);
    let out = s.safe(&["explain", "--json=maybe"]).output();
    out.assert_code(64);
}

#[test]
fn real_wrangler_lookup_skips_the_shim_in_every_shape() {
    let s = Sandbox::new();
    // shim dir first (the default PATH)
    s.shim(&["whoami"]).output().assert_code(0);
    // the binary copied under the name wrangler, first in PATH
    let copy = s.path("copy/wrangler");
    fs::create_dir_all(copy.parent().unwrap()).unwrap();
    fs::copy(BIN, &copy).unwrap();
    // a symlink to a symlink to the binary
    let twice = s.path("twice");
    fs::create_dir_all(&twice).unwrap();
    std::os::unix::fs::symlink(s.shims().join("wrangler"), twice.join("wrangler")).unwrap();
    let path = std::env::join_paths([
        copy.parent().unwrap().to_path_buf(),
        twice.clone(),
        s.shims(),
        s.real_dir(),
    ])
    .unwrap();
    let _ = fs::remove_dir_all(s.record());
    s.run(&copy, &["whoami"])
        .env("PATH", &path)
        .output()
        .assert_code(0);
    assert!(
        s.wrangler_argv().is_some(),
        "the copy found the real wrangler"
    );
    let _ = fs::remove_dir_all(s.record());
    s.run(&twice.join("wrangler"), &["whoami"])
        .env("PATH", &path)
        .output()
        .assert_code(0);
    assert!(
        s.wrangler_argv().is_some(),
        "the double symlink found the real wrangler"
    );
    // PATH with only the shim (and the copy): not found, no loop
    let only =
        std::env::join_paths([s.shims(), copy.parent().unwrap().to_path_buf(), twice]).unwrap();
    let out = s.shim(&["whoami"]).env("PATH", &only).output();
    out.assert_code(127);
    assert!(
        out.stderr().contains("npm i -D wrangler"),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_wrapper_script_that_leads_back_stops_at_the_recursion_limit() {
    let s = Sandbox::new();
    let loop_dir = s.path("loop");
    write_exe(
        &loop_dir.join("wrangler"),
        &format!("#!/bin/sh\nexec {BIN} \"$@\"\n"),
    );
    let path = std::env::join_paths([s.shims(), loop_dir]).unwrap();
    let out = s.shim(&["whoami"]).env("PATH", &path).output();
    out.assert_code(127);
    assert!(
        out.stderr().contains("keeps calling itself"),
        "{}",
        out.stderr()
    );
    let out = s
        .shim(&["whoami"])
        .env("SAFE_WRANGLER_DEPTH", "not-a-number")
        .output();
    out.assert_code(127);
}

#[test]
fn missing_wrangler_is_127_with_the_install_hint() {
    let s = Sandbox::new();
    let out = s.safe(&["whoami"]).env("PATH", s.shims()).output();
    out.assert_code(127);
    assert_eq!(out.stderr().lines().count(), 1);
    assert!(out.stderr().contains("npm i -D wrangler"));
    let out = s
        .safe(&["whoami"])
        .env("SAFE_WRANGLER_REAL", s.path("nope"))
        .output();
    out.assert_code(127);
    let out = s.safe(&["whoami"]).env("SAFE_WRANGLER_REAL", BIN).output();
    out.assert_code(127);
    assert!(out.stderr().contains("safe-wrangler itself"));
}

/// README: 126 when the real wrangler was found but could not be executed. An existing file
/// without execute permission, or a directory, named by `SAFE_WRANGLER_REAL` is found: one line
/// with the path and why, and nothing runs.
#[test]
fn an_override_that_cannot_be_executed_is_126_with_the_path_and_why() {
    let s = Sandbox::new();
    let file = s.path("not-executable");
    fs::write(&file, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let out = s
        .safe(&["whoami"])
        .env("SAFE_WRANGLER_REAL", &file)
        .output();
    out.assert_code(126);
    assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains(&file.display().to_string()),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("no execute permission"),
        "{}",
        out.stderr()
    );
    assert!(s.wrangler_argv().is_none());
    let out = s
        .safe(&["whoami"])
        .env("SAFE_WRANGLER_REAL", s.home())
        .output();
    out.assert_code(126);
    assert!(out.stderr().contains("is a directory"), "{}", out.stderr());
    // Through the shim, for an agent, the same.
    let out = s
        .shim(&["whoami"])
        .env("SAFE_WRANGLER_REAL", &file)
        .env("AI_AGENT", "test")
        .output();
    out.assert_code(126);
}

#[test]
fn node_modules_bin_wins_over_path_and_follows_cwd_flag() {
    let s = Sandbox::new();
    let app = s.project().join("app");
    let local = app.join("node_modules/.bin/wrangler");
    write_exe(&local, "#!/bin/sh\nprintf local > \"$RECORD.local\"\n");
    s.shim(&["whoami"])
        .cwd(&app.join("node_modules"))
        .output()
        .assert_code(0);
    assert!(s.path("record.local").exists());
    fs::remove_file(s.path("record.local")).unwrap();
    s.shim(&["--cwd", "app", "whoami"]).output().assert_code(0);
    assert!(
        s.path("record.local").exists(),
        "--cwd is where wrangler looks, so are we"
    );
}

#[test]
fn dotenv_credentials_are_blanked_through_appended_env_files() {
    let s = Sandbox::new();
    fs::write(
        s.project().join(".env"),
        format!("KEEP=1\nCLOUDFLARE_API_TOKEN={DUMMY_TOKEN}\n"),
    )
    .unwrap();
    fs::write(s.project().join(".env.staging"), "STAGE=2\n").unwrap();
    s.shim(&["whoami", "--env", "staging", "--", "tail"])
        .output()
        .assert_code(0);
    let argv = s.wrangler_argv().unwrap();
    let words: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(&words[..3], &["whoami", "--env", "staging"]);
    assert!(
        words[3].ends_with("/.wrangler/safe-wrangler/.env"),
        "{words:?}"
    );
    assert!(
        words[4].ends_with("/.wrangler/safe-wrangler/.env.staging"),
        "{words:?}"
    );
    assert_eq!(
        &words[5..],
        &["--", "tail"],
        "our words go before the user's --"
    );
    let files = s.wrangler_env_files();
    assert!(
        files.contains("KEEP=1") && files.contains("STAGE=2"),
        "{files}"
    );
    assert!(files.trim_end().ends_with("CF_EMAIL="), "{files}");
    assert!(
        !files.contains(DUMMY_TOKEN),
        "the copies hold no credential: {files}"
    );
    let copy = s.project().join(".wrangler/safe-wrangler/.env");
    assert_eq!(
        fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::read_to_string(s.project().join(".wrangler/safe-wrangler/.gitignore")).unwrap(),
        "*\n"
    );
    assert!(
        fs::read_to_string(s.project().join(".env"))
            .unwrap()
            .contains(DUMMY_TOKEN),
        "the original is untouched"
    );
    // without a credential in the files, argv is untouched
    fs::write(s.project().join(".env"), "KEEP=1\n").unwrap();
    s.shim(&["whoami"]).output().assert_code(0);
    assert_eq!(s.wrangler_argv().unwrap(), vec![OsString::from("whoami")]);
}

#[test]
fn the_env_copies_are_never_written_through_a_planted_symlink() {
    let s = Sandbox::new();
    fs::write(
        s.project().join(".env"),
        format!("CLOUDFLARE_API_TOKEN={DUMMY_TOKEN}\n"),
    )
    .unwrap();
    let elsewhere = s.path("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::create_dir_all(s.project().join(".wrangler")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, s.project().join(".wrangler/safe-wrangler")).unwrap();
    let out = s.shim(&["whoami"]).output();
    assert_ne!(out.code(), Some(0), "{}", out.stderr());
    assert!(
        out.stderr().contains("not a plain directory"),
        "{}",
        out.stderr()
    );
    assert!(
        s.wrangler_argv().is_none(),
        "wrangler must not run without its .env copies"
    );
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written through the link"
    );
    // `.wrangler` itself a link: nothing is created behind it either.
    fs::remove_dir_all(s.project().join(".wrangler")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, s.project().join(".wrangler")).unwrap();
    assert_ne!(s.shim(&["whoami"]).output().code(), Some(0));
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing created through the link"
    );
}

/// A second call finds its copy already right and leaves it in place (same inode); a copy that
/// was changed (bytes, mode) or replaced by a symlink to a file holding a token is written anew as
/// before, never through the link, and wrangler never sees the token.
#[test]
fn an_unchanged_env_copy_is_kept_and_a_tampered_one_rewritten() {
    use std::os::unix::fs::MetadataExt;
    let s = Sandbox::new();
    fs::write(
        s.project().join(".env"),
        format!("KEEP=1\nCLOUDFLARE_API_TOKEN={DUMMY_TOKEN}\n"),
    )
    .unwrap();
    let copy = s.project().join(".wrangler/safe-wrangler/.env");
    let call = |why: &str| {
        s.shim(&["whoami"]).output().assert_code(0);
        let files = s.wrangler_env_files();
        assert!(files.contains("KEEP=1"), "{why}: {files}");
        assert!(!files.contains(DUMMY_TOKEN), "{why}: {files}");
        let meta = fs::symlink_metadata(&copy).unwrap();
        assert!(meta.file_type().is_file(), "{why}");
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600, "{why}");
        let body = fs::read_to_string(&copy).unwrap();
        assert!(
            body.contains("KEEP=1") && !body.contains(DUMMY_TOKEN),
            "{why}: {body}"
        );
        (meta.ino(), body)
    };
    let (first, good) = call("first call");
    let (second, _) = call("second call");
    assert_eq!(first, second, "an unchanged copy is not written again");

    // Different bytes: written again with the right ones.
    fs::write(&copy, format!("CLOUDFLARE_API_TOKEN={DUMMY_TOKEN}\n")).unwrap();
    let tampered = fs::symlink_metadata(&copy).unwrap().ino();
    let (ino, body) = call("different bytes");
    assert_ne!(ino, tampered, "a changed copy is replaced");
    assert_eq!(body, good);

    // Same bytes, another mode: written again, 0600.
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o644)).unwrap();
    let loose = fs::symlink_metadata(&copy).unwrap().ino();
    let (ino, _) = call("mode 0644");
    assert_ne!(ino, loose, "a copy with another mode is replaced");

    // Replaced by a symlink to a file holding a token: the link is replaced by a plain copy and
    // the file it pointed at is untouched.
    let bait = s.path("bait.env");
    fs::write(&bait, format!("CLOUDFLARE_API_TOKEN={DUMMY_TOKEN}\n")).unwrap();
    fs::set_permissions(&bait, fs::Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(&copy).unwrap();
    std::os::unix::fs::symlink(&bait, &copy).unwrap();
    let (_, body) = call("symlink to a token file");
    assert_eq!(body, good);
    assert_eq!(
        fs::read_to_string(&bait).unwrap(),
        format!("CLOUDFLARE_API_TOKEN={DUMMY_TOKEN}\n"),
        "nothing written through the link"
    );
    // A symlink to a file holding exactly the right bytes is replaced too (never kept).
    fs::write(&bait, &good).unwrap();
    fs::remove_file(&copy).unwrap();
    std::os::unix::fs::symlink(&bait, &copy).unwrap();
    call("symlink to a right-looking file");
    assert!(
        !fs::symlink_metadata(&copy)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn a_credential_in_a_user_env_file_refuses_with_file_and_line() {
    let s = Sandbox::new();
    fs::write(
        s.project().join("ci.env"),
        format!("A=1\nCF_API_TOKEN={DUMMY_TOKEN}\n"),
    )
    .unwrap();
    let out = s.shim(&["whoami", "--env-file", "ci.env"]).output();
    out.assert_code(77);
    assert!(
        out.stderr().contains("ci.env:2 sets CF_API_TOKEN"),
        "{}",
        out.stderr()
    );
    assert!(!out.stderr().contains(DUMMY_TOKEN));
    assert!(s.wrangler_argv().is_none());
}

#[test]
fn an_unreadable_config_never_panics() {
    let s = Sandbox::new();
    fs::write(s.project().join("wrangler.toml"), "name = [").unwrap();
    let out = s.safe(&["explain", "deploy"]).output();
    out.assert_code(0);
    assert!(out.stdout().contains("unreadable"), "{}", out.stdout());
    s.shim(&["deploy"]).output().assert_code(77);
    s.shim(&["types"]).output().assert_code(0);
}
