//! install.sh in a temp HOME, with the binary this test run built.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::BIN;

fn install(home: &Path, extra: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    Command::new("bash")
        .arg(script)
        .args(["--binary", BIN])
        .args(extra)
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap()
}

#[test]
fn installs_idempotently_prints_the_path_line_and_uninstalls() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    for _ in 0..2 {
        let out = install(h, &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = format!(
            "export PATH=\"{0}/.local/lib/safe-wrangler/shims:{0}/.local/bin:$PATH\"",
            h.display()
        );
        assert!(stdout.contains(&line), "{stdout}");
        // Progress, then the next steps.
        for needle in [
            "[1/3]",
            "[3/3]",
            "wrangler login",
            "safe-wrangler doctor",
            "safe-wrangler hook install claude --project",
            "safe-wrangler protect",
            "\"postinstall\": \"safe-wrangler protect\"",
        ] {
            assert!(stdout.contains(needle), "{needle}: {stdout}");
        }
    }
    let bin = h.join(".local/bin/safe-wrangler");
    let shim = h.join(".local/lib/safe-wrangler/shims/wrangler");
    assert_eq!(fs::read(&bin).unwrap(), fs::read(BIN).unwrap());
    assert_eq!(
        fs::canonicalize(&shim).unwrap(),
        fs::canonicalize(&bin).unwrap()
    );
    // the installed shim answers as wrangler and finds no real wrangler in an empty PATH
    let out = Command::new(&shim)
        .arg("whoami")
        .env_clear()
        .env("PATH", h.join("nothing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    // no shell start-up file was written
    let entries: Vec<String> = fs::read_dir(h)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, vec![".local".to_owned()]);
    let out = install(h, &["--uninstall"]);
    assert!(out.status.success());
    assert!(!bin.exists() && fs::symlink_metadata(&shim).is_err());
    let out = install(h, &["--bogus"]);
    assert_eq!(out.status.code(), Some(64));
}
