//! `safe-wrangler protect` with real npm installs in temp projects. The wrangler package is a
//! small stand-in (same package name and bin, installed by npm from a local directory, offline)
//! that records its argv, so "the real wrangler never ran" is observable.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::util::{BIN, Sandbox};

const FAKE_PACKAGE_JSON: &str = r#"{ "name": "wrangler", "version": "4.164.0", "bin": { "wrangler": "bin/wrangler.js", "wrangler2": "bin/wrangler.js", "cf-wrangler": "bin/cf-wrangler.js" } }"#;
const FAKE_BIN: &str = "#!/usr/bin/env node\nrequire('fs').appendFileSync(process.env.RECORD_FILE, JSON.stringify(process.argv.slice(2)) + '\\n');\n";

struct Project {
    sandbox: Sandbox,
}

impl Project {
    fn new() -> Project {
        let sandbox = Sandbox::new();
        let pkg = sandbox.path("wrangler-standin");
        fs::create_dir_all(pkg.join("bin")).unwrap();
        fs::write(pkg.join("package.json"), FAKE_PACKAGE_JSON).unwrap();
        fs::write(pkg.join("bin/wrangler.js"), FAKE_BIN).unwrap();
        fs::write(pkg.join("bin/cf-wrangler.js"), FAKE_BIN).unwrap();
        // safe-wrangler itself, on PATH for the postinstall script
        let tools = sandbox.path("tools");
        fs::create_dir_all(&tools).unwrap();
        std::os::unix::fs::symlink(BIN, tools.join("safe-wrangler")).unwrap();
        fs::write(
            sandbox.project().join("package.json"),
            r#"{
  "name": "shop",
  "private": true,
  "scripts": {
    "deploy": "wrangler deploy",
    "dev": "wrangler dev",
    "postinstall": "safe-wrangler protect"
  },
  "devDependencies": { "wrangler": "file:../wrangler-standin" }
}
"#,
        )
        .unwrap();
        Project { sandbox }
    }

    fn record(&self) -> PathBuf {
        self.sandbox.path("wrangler-ran.jsonl")
    }

    fn ran(&self) -> Vec<String> {
        fs::read_to_string(self.record())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn bin(&self) -> PathBuf {
        self.sandbox.project().join("node_modules/.bin")
    }

    /// A command in the project with node, npm and safe-wrangler on PATH and nothing else.
    fn cmd(&self, program: &str, args: &[&str]) -> Output {
        let node_dir = Path::new("/usr/bin");
        assert!(
            node_dir.join("npm").exists() && node_dir.join("node").exists(),
            "these tests need node and npm in /usr/bin"
        );
        let path = std::env::join_paths([
            self.sandbox.path("tools"),
            node_dir.to_path_buf(),
            PathBuf::from("/bin"),
        ])
        .unwrap();
        Command::new(program)
            .args(args)
            .current_dir(self.sandbox.project())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.sandbox.home())
            .env("XDG_CONFIG_HOME", self.sandbox.home().join(".config"))
            .env("npm_config_cache", self.sandbox.path("npm-cache"))
            .env("npm_config_offline", "true")
            .env("npm_config_audit", "false")
            .env("npm_config_fund", "false")
            .env("npm_config_update_notifier", "false")
            .env("RECORD_FILE", self.record())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn install(&self) {
        let out = self.cmd("npm", &["install"]);
        assert!(
            out.status.success(),
            "npm install: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn npx_and_npm_scripts_are_guarded_after_a_real_npm_install() {
    let p = Project::new();
    p.install();
    // postinstall ran `safe-wrangler protect`
    let check = p.cmd(BIN, &["protect", "--check"]);
    assert!(check.status.success(), "{}", text(&check));
    assert_eq!(
        fs::canonicalize(p.bin().join("wrangler")).unwrap(),
        fs::canonicalize(BIN).unwrap()
    );

    let out = p.cmd("npx", &["wrangler", "deploy"]);
    assert_eq!(out.status.code(), Some(77), "{}", text(&out));
    // the package's second bin name is covered too
    let out = p.cmd("npx", &["wrangler2", "deploy"]);
    assert_eq!(out.status.code(), Some(77), "{}", text(&out));
    let out = p.cmd("npm", &["run", "deploy"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("refused"), "{}", text(&out));
    assert!(p.ran().is_empty(), "the real wrangler ran: {:?}", p.ran());

    let out = p.cmd("npx", &["wrangler", "dev", "--port", "0"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = p.cmd("npm", &["run", "dev"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(p.ran(), vec![r#"["dev","--port","0"]"#, r#"["dev"]"#]);

    // a fresh install (the .bin link is recreated by npm) stays protected through postinstall
    fs::remove_dir_all(p.sandbox.project().join("node_modules")).unwrap();
    p.install();
    assert!(p.cmd(BIN, &["protect", "--check"]).status.success());
    assert_eq!(
        p.cmd("npx", &["wrangler", "deploy"]).status.code(),
        Some(77)
    );
}

#[test]
fn protect_is_idempotent_and_undo_restores_the_original() {
    let p = Project::new();
    p.install();
    let first = p.cmd(BIN, &["protect"]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("already protected"));
    let undo = p.cmd(BIN, &["protect", "--undo"]);
    assert!(undo.status.success(), "{}", text(&undo));
    assert_eq!(
        fs::read_link(p.bin().join("wrangler")).unwrap(),
        Path::new("../wrangler/bin/wrangler.js")
    );
    assert_eq!(
        fs::read_link(p.bin().join("wrangler2")).unwrap(),
        Path::new("../wrangler/bin/wrangler.js")
    );
    assert_eq!(
        fs::read_link(p.bin().join("cf-wrangler")).unwrap(),
        Path::new("../wrangler/bin/cf-wrangler.js")
    );
    let check = p.cmd(BIN, &["protect", "--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(text(&check).contains("not protected"), "{}", text(&check));
    // unprotected: npx reaches the real wrangler directly (the hole protect closes)
    assert!(p.cmd("npx", &["wrangler", "deploy"]).status.success());
    assert_eq!(p.ran(), vec![r#"["deploy"]"#]);
    assert!(p.cmd(BIN, &["protect"]).status.success());
    assert!(p.cmd(BIN, &["protect", "--check"]).status.success());
}

#[test]
fn protect_without_node_modules_says_what_to_do() {
    let s = Sandbox::new();
    let out = s.safe(&["protect", "--check"]).output();
    out.assert_code(1);
    assert!(
        out.stderr().contains("npm i -D wrangler"),
        "{}",
        out.stderr()
    );
}

#[test]
fn protecting_over_another_safe_wrangler_build_keeps_the_real_original() {
    let p = Project::new();
    p.install();
    // Another build, installed elsewhere, took over the link since.
    let other = p.sandbox.path("old/safe-wrangler");
    crate::util::write_exe(&other, "#!/bin/sh\nexit 3\n");
    let link = p.bin().join("wrangler");
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&other, &link).unwrap();
    let out = p.cmd(BIN, &["protect"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        fs::read_link(p.bin().join(".wrangler.safe-wrangler-original")).unwrap(),
        Path::new("../wrangler/bin/wrangler.js"),
        "the original is still the real wrangler"
    );
    assert!(p.cmd("npx", &["wrangler", "dev"]).status.success());
    assert_eq!(p.ran(), vec![r#"["dev"]"#]);
}

/// pnpm puts small shell scripts in `node_modules/.bin` instead of symlinks: each is kept with its
/// mode, every name leads to safe-wrangler, and `--undo` puts back the very same files.
#[test]
fn a_pnpm_layout_keeps_and_restores_every_bin() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    let bin = s.project().join("node_modules/.bin");
    fs::create_dir_all(&bin).unwrap();
    let script = |name: &str| {
        format!("#!/bin/sh\n# pnpm shim\nexec node \"$basedir/../wrangler/bin/{name}.js\" \"$@\"\n")
    };
    let names = [
        ("wrangler", "wrangler"),
        ("wrangler2", "wrangler"),
        ("cf-wrangler", "cf-wrangler"),
    ];
    for (name, target) in names {
        crate::util::write_exe(&bin.join(name), &script(target));
    }
    let out = s.safe(&["protect"]).output();
    out.assert_code(0);
    for (name, target) in names {
        let entry = bin.join(name);
        assert_eq!(
            fs::canonicalize(&entry).unwrap(),
            fs::canonicalize(BIN).unwrap(),
            "{name}"
        );
        let kept = bin.join(format!(".{name}.safe-wrangler-original"));
        assert_eq!(fs::read_to_string(&kept).unwrap(), script(target), "{name}");
        assert_eq!(
            fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }
    s.safe(&["protect", "--check"]).output().assert_code(0);
    s.safe(&["protect", "--undo"]).output().assert_code(0);
    for (name, target) in names {
        let entry = bin.join(name);
        assert!(
            !fs::symlink_metadata(&entry).unwrap().is_symlink(),
            "{name}"
        );
        assert_eq!(
            fs::read_to_string(&entry).unwrap(),
            script(target),
            "{name}"
        );
        assert!(fs::symlink_metadata(bin.join(format!(".{name}.safe-wrangler-original"))).is_err());
    }
    s.safe(&["protect", "--check"]).output().assert_code(1);
}
