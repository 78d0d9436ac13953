//! The audit log through the built binary: write-ahead lines, redaction, concurrency, an
//! unwritable log, and `safe-wrangler log`.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::util::{DUMMY_TOKEN, Sandbox};

fn lines(s: &Sandbox) -> Vec<serde_json::Value> {
    let path = s.home().join(".local/state/safe-wrangler/audit.jsonl");
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn every_call_is_logged_before_wrangler_runs_and_refusals_too() {
    let s = Sandbox::new();
    fs::write(s.project().join("wrangler.toml"), "name = \"shop\"\n").unwrap();
    let secret = format!("cfut_{}{}", "a".repeat(40), "0123abcd");
    s.shim(&["dev", "--var", "API_KEY:hunter2-secret"])
        .env("CLOUDFLARE_API_TOKEN", DUMMY_TOKEN)
        .output()
        .assert_code(0);
    s.shim(&["deploy", "--var", &format!("TOKEN:{secret}")])
        .env("CLAUDECODE", "1")
        .output()
        .assert_code(77);
    let log = lines(&s);
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["decision"], "run");
    assert_eq!(log[0]["class"], "local");
    assert_eq!(log[0]["command"], "dev");
    assert_eq!(log[0]["context"]["kind"], "no-terminal");
    assert!(
        log[0]["wrangler"]
            .as_str()
            .unwrap()
            .ends_with("real/wrangler")
    );
    assert_eq!(
        log[0]["argv"],
        serde_json::json!(["dev", "--var", "API_KEY:<redacted>"])
    );
    assert_eq!(log[1]["decision"], "refuse");
    assert_eq!(log[1]["class"], "production");
    assert_eq!(log[1]["decided_by"], "agent");
    assert_eq!(log[1]["context"]["agent_marker"], "CLAUDECODE");
    assert_eq!(log[1]["resources"]["worker"], "shop");
    assert!(log[1]["time"].as_str().unwrap().ends_with('Z'));
    let raw = fs::read_to_string(s.home().join(".local/state/safe-wrangler/audit.jsonl")).unwrap();
    for leaked in ["hunter2-secret", secret.as_str(), DUMMY_TOKEN] {
        assert!(!raw.contains(leaked), "{leaked} reached the log");
    }
    let mode = fs::metadata(s.home().join(".local/state/safe-wrangler/audit.jsonl"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn two_hundred_parallel_calls_leave_two_hundred_intact_lines() {
    let s = Sandbox::new();
    let log = s.path("shared.jsonl");
    let children: Vec<_> = (0..200)
        .map(|i| {
            let key = format!("key-{i}");
            let mut cmd = s
                .shim(&["kv", "key", "get", &key, "--binding", "KV"])
                .env("SAFE_WRANGLER_LOG", &log)
                .cmd;
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = fs::read_to_string(&log).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("torn line ({e}): {line}"));
        seen.insert(v["argv"][3].as_str().unwrap().to_owned());
    }
    assert_eq!(text.lines().count(), 200);
    assert_eq!(seen.len(), 200, "every call has its own line");
}

#[test]
fn an_unwritable_log_warns_but_never_blocks_local_work_and_refusals_go_to_stderr() {
    let s = Sandbox::new();
    // A directory's permission bits do not stop root (CI may run as root): a log path under a
    // regular file cannot be created by anyone.
    let blocker = s.path("not-a-dir");
    fs::write(&blocker, "").unwrap();
    for target in [blocker.join("audit.jsonl"), blocker.join("sub/audit.jsonl")] {
        let out = s
            .shim(&["whoami"])
            .env("SAFE_WRANGLER_LOG", &target)
            .output();
        out.assert_code(0);
        assert_eq!(
            out.stderr().matches("cannot write the audit log").count(),
            1,
            "{}",
            out.stderr()
        );
        let out = s
            .shim(&["deploy"])
            .env("SAFE_WRANGLER_LOG", &target)
            .output();
        out.assert_code(77);
        assert!(
            out.stderr().contains("audit: {"),
            "the refusal is still recorded: {}",
            out.stderr()
        );
    }
}

#[test]
fn the_log_never_appends_to_a_file_that_is_not_an_audit_log() {
    let s = Sandbox::new();
    let rc = s.path("bashrc");
    fs::write(&rc, "export PATH=$HOME/bin:$PATH\n").unwrap();
    let link = s.path("link.jsonl");
    std::os::unix::fs::symlink(s.path("target.jsonl"), &link).unwrap();
    for target in [&rc, &link] {
        let out = s
            .shim(&["whoami"])
            .env("SAFE_WRANGLER_LOG", target)
            .output();
        out.assert_code(0);
        assert!(
            out.stderr().contains("cannot write the audit log"),
            "{}",
            out.stderr()
        );
    }
    assert_eq!(
        fs::read_to_string(&rc).unwrap(),
        "export PATH=$HOME/bin:$PATH\n"
    );
    assert!(!s.path("target.jsonl").exists());
}

#[test]
fn the_log_verb_filters_by_class_and_time() {
    let s = Sandbox::new();
    s.shim(&["whoami"]).output().assert_code(0);
    s.shim(&["deploy"]).output().assert_code(77);
    s.shim(&["types"]).output().assert_code(0);
    let out = s.safe(&["log"]).output();
    out.assert_code(0);
    assert_eq!(out.stdout().lines().count(), 3, "{}", out.stdout());
    let out = s.safe(&["log", "--class", "production", "--json"]).output();
    out.assert_code(0);
    let only: Vec<serde_json::Value> = out
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["decision"], "refuse");
    let out = s.safe(&["log", "--since", "1h"]).output();
    assert_eq!(out.stdout().lines().count(), 3);
    // an entry from long ago is filtered out by --since
    let path = s.home().join(".local/state/safe-wrangler/audit.jsonl");
    let mut text = fs::read_to_string(&path).unwrap();
    let mut old: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    old["time"] = "2001-01-01T00:00:00Z".into();
    text = format!("{text}{old}\n");
    fs::write(&path, text).unwrap();
    assert_eq!(
        s.safe(&["log", "--since", "1d"])
            .output()
            .stdout()
            .lines()
            .count(),
        3
    );
    assert_eq!(s.safe(&["log"]).output().stdout().lines().count(), 4);
    let out = s.safe(&["log", "--since", "soon"]).output();
    out.assert_code(64);
    assert!(
        out.stderr()
            .contains("invalid value 'soon' for '--since <DURATION|TIME>'"),
        "{}",
        out.stderr()
    );
    let out = s.safe(&["log", "--class", "everything"]).output();
    out.assert_code(64);
    assert!(
        out.stderr()
            .contains("[possible values: local, read, preview, production, migration, dns]"),
        "{}",
        out.stderr()
    );
}

#[test]
fn origin_ca_keys_and_legacy_tokens_never_reach_the_log() {
    let s = Sandbox::new();
    let origin = format!("v1.0-{}", "ab12".repeat(20));
    let legacy = "A".repeat(40);
    s.shim(&[
        "deploy",
        "--var",
        &format!("ORIGIN:{origin}"),
        &format!("--token={legacy}"),
    ])
    .env("CLAUDECODE", "1")
    .output()
    .assert_code(77);
    let raw = fs::read_to_string(s.home().join(".local/state/safe-wrangler/audit.jsonl")).unwrap();
    assert!(!raw.contains(&origin) && !raw.contains(&legacy), "{raw}");
}

/// Lines written by earlier versions (and some damaged or from a later one), as a user's log
/// holds them.
const PREVIOUS: &str = include_str!("../fixtures/audit/previous.jsonl");

/// `log` with `args` over a log holding `text`: stdout, then stderr with the log's path named
/// `<log>`.
fn log_over(s: &Sandbox, text: &str, args: &[&str]) -> (String, String) {
    let path = s.home().join(".local/state/safe-wrangler/audit.jsonl");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    let out = s.safe(&[&["log"], args].concat()).output();
    out.assert_code(0);
    let err = out.stderr().replace(&path.display().to_string(), "<log>");
    (out.stdout(), err)
}

#[test]
fn log_reads_the_lines_of_previous_versions() {
    let s = Sandbox::new();
    let mut shown = String::new();
    for args in [
        &[][..],
        &["--class", "read"],
        &["--class", "production"],
        &["--since", "3650000d"],
    ] {
        let (out, err) = log_over(&s, PREVIOUS, args);
        let _ = writeln!(shown, "$ log {}\n{out}{err}", args.join(" "));
    }
    insta::assert_snapshot!("log_previous_lines", shown);
    // --json gives the lines that are JSON back byte for byte.
    let (out, err) = log_over(&s, PREVIOUS, &["--json"]);
    let readable: Vec<&str> = PREVIOUS
        .lines()
        .filter(|l| !l.is_empty() && serde_json::from_str::<serde_json::Value>(l).is_ok())
        .collect();
    assert_eq!(out, format!("{}\n", readable.join("\n")));
    assert_eq!(
        err,
        "safe-wrangler: skipped 2 unreadable lines in <log> (torn or not JSON)\n"
    );
}

#[test]
fn log_since_and_json_over_old_and_new_lines() {
    let s = Sandbox::new();
    let path = s.home().join(".local/state/safe-wrangler/audit.jsonl");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, PREVIOUS).unwrap();
    // New lines written by this build after the old ones.
    s.shim(&["whoami"]).output().assert_code(0);
    s.shim(&["deploy"]).output().assert_code(77);
    let text = fs::read_to_string(&path).unwrap();
    let new: Vec<&str> = text.lines().skip(PREVIOUS.lines().count()).collect();
    assert_eq!(new.len(), 2, "{text}");
    let json = |args: &[&str]| {
        let out = s.safe(&[&["log", "--json"], args].concat()).output();
        out.assert_code(0);
        out.stdout()
    };
    // A duration: the new lines, and the old ones whose time does not read (as before).
    let since = json(&["--since", "1h"]);
    let undated: Vec<&str> = PREVIOUS
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .is_ok_and(|v| v["time"] == "yesterday" || v.get("time").is_none())
        })
        .collect();
    assert_eq!(undated.len(), 3, "{undated:?}");
    let mut expected: Vec<&str> = undated.clone();
    expected.extend(&new);
    let mut got: Vec<&str> = since.lines().collect();
    got.sort_unstable();
    expected.sort_unstable();
    assert_eq!(got, expected);
    // An RFC 3339 time: the old lines from then on, the undated ones and the new ones, in order.
    let since = json(&["--since", "2026-11-29T07:30:00Z"]);
    let shown: Vec<serde_json::Value> = since
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let times: Vec<&str> = shown
        .iter()
        .map(|v| v["time"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        &times[..6],
        [
            "2026-11-29T07:30:00Z",
            "-",
            "2026-11-30T06:00:00Z",
            "2026-11-30T06:30:00Z",
            "yesterday",
            "-"
        ]
    );
    assert_eq!(times.len(), 9, "{since}");
    assert_eq!(&since.lines().skip(7).collect::<Vec<_>>(), &new);
    // With --class too; the text form reads both.
    let read = json(&["--since", "2026-11-29T07:30:00Z", "--class", "read"]);
    assert_eq!(read.lines().count(), 4, "{read}");
    assert_eq!(read.lines().last(), Some(new[0]));
    let out = s.safe(&["log", "--since", "2026-11-30T06:00:00Z"]).output();
    out.assert_code(0);
    let text = out.stdout();
    assert!(
        text.contains("2026-11-30T06:00:00Z  run       read"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.ends_with("[agent CURSOR_AGENT; agent]  wrangler deploy"))
    );
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains("refuse    production"),
        "{text}"
    );
    // A time or duration that does not read: exit 64 with the reason on stderr, nothing shown.
    for bad in [
        "2026-11-30",
        "2026-11-30T06:00:00+01:00",
        "soon",
        "5x",
        "1M2",
    ] {
        let out = s.safe(&["log", "--since", bad]).output();
        out.assert_code(64);
        let err = out.stderr();
        assert!(err.contains("--since") && err.contains(bad), "{bad}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.stdout().is_empty());
    }
}
