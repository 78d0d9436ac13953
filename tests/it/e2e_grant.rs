//! End-to-end grant (issue 14): a human grants `deploy` at a real pseudo-terminal; an agent's
//! `deploy` (no terminal, an agent marker) then runs the REAL wrangler 4.164 once against the
//! loopback fake Cloudflare API, with the human's OAuth login; the second try is refused and makes
//! no request.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::fake_api::{self, Credential, FakeApi, FakeOptions, OAUTH_LABEL, WORKER_NAME};
use crate::util::{BIN, PtySession};

fn command(project: &Path, xdg: &Path, fake: &FakeApi, args: &[&str]) -> Command {
    let mut cmd = fake_api::isolated_command(Path::new(BIN), project, xdg, &fake.base_url());
    cmd.env("SAFE_WRANGLER_REAL", fake_api::require_wrangler_real())
        .args(args);
    cmd
}

/// An agent's call: no controlling terminal (its own session), an agent marker.
fn agent(project: &Path, xdg: &Path, fake: &FakeApi, args: &[&str]) -> fake_api::WranglerRun {
    let mut cmd = command(project, xdg, fake, args);
    cmd.env("CLAUDECODE", "1");
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    fake_api::run_wrangler_with(cmd, None, fake_api::WRANGLER_TIMEOUT)
}

/// The Worker uploads (`PUT /accounts/<A>/workers/scripts/<name>`) in the fake's log.
fn uploads(fake: &FakeApi) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .filter(|r| {
            let segs: Vec<&str> = r.path.trim_matches('/').split('/').collect();
            matches!(segs.as_slice(), ["accounts", _, "workers", "scripts", name] if *name == WORKER_NAME)
        })
        .count()
}

#[test]
fn e2e_an_agents_granted_production_deploy_reaches_the_api_once() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("work/p");
    fake_api::write_project(&project);
    let xdg = root.path().join("home/.config");
    fake_api::write_oauth_login(&xdg);
    let fake = FakeApi::start(FakeOptions {
        known_credentials: fake_api::default_credentials(),
        worker_exists: false,
        ..FakeOptions::default()
    });

    // Refused before any grant, and told what a human can run.
    let before = agent(&project, &xdg, &fake, &["deploy"]);
    assert_eq!(before.code(), Some(77), "{}", before.stderr);
    assert!(
        before.stderr.contains("safe-wrangler grant -- deploy"),
        "{}",
        before.stderr
    );
    assert!(fake.requests().is_empty(), "{}", fake.report());

    // The human grants it at a terminal, typing the phrase the prompt asks for.
    let mut p = PtySession::spawn(command(&project, &xdg, &fake, &["grant", "--", "deploy"]));
    p.wait_for(" to confirm");
    let text = p.text();
    let phrase = text
        .rsplit_once("Type ")
        .and_then(|(_, rest)| rest.split_once(" to confirm"))
        .map_or_else(
            || panic!("no phrase in {text}"),
            |(phrase, _)| phrase.to_owned(),
        );
    assert_eq!(phrase, WORKER_NAME);
    p.type_bytes(format!("{phrase}\n").as_bytes());
    let (code, text, _) = p.finish(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{text}");
    assert!(fake.requests().is_empty(), "granting made a request");

    // The agent's deploy runs the real wrangler once, with the human's OAuth login.
    let first = agent(&project, &xdg, &fake, &["deploy"]);
    first.assert_success("granted deploy");
    assert_eq!(uploads(&fake), 1, "{}", fake.report());
    for r in fake.requests() {
        assert_eq!(
            r.credential,
            Credential::bearer(OAUTH_LABEL),
            "{}",
            r.full_line()
        );
    }
    let seen = fake.requests().len();

    // Used up: refused, no request.
    let second = agent(&project, &xdg, &fake, &["deploy"]);
    assert_eq!(second.code(), Some(77), "{}", second.stderr);
    assert!(second.stderr.contains("used up"), "{}", second.stderr);
    assert_eq!(fake.requests().len(), seen, "{}", fake.report());
    assert_eq!(uploads(&fake), 1);
}
