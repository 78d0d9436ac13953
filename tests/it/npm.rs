//! The npm packages, installed the way a JavaScript developer installs them: the tarballs written
//! by `scripts/npm-pack.sh` (one static release build), installed with the real npm
//! (`npm install --no-audit --no-fund OUTDIR/*.tgz`, offline: our packages are local files) into
//! temp projects beside a small stand-in `wrangler` package that records every run. Also the
//! JS launcher's contract (override variable, missing platform package, exit codes and signals)
//! and the CI action's shell steps against a local release archive.
//!
//! `SAFE_WRANGLER_NPM_DIR` names a directory `scripts/npm-pack.sh` already filled (scripts/test.sh
//! packs once and passes it); without it the first test packs into the target directory.

use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::util::{Sandbox, write_exe};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const PLATFORM_PACKAGE: &str = "@safe-wrangler/linux-x64";

/// The wrangler stand-in: the real package's name, version and three bin names.
const STANDIN_PACKAGE_JSON: &str = r#"{ "name": "wrangler", "version": "4.164.0", "bin": { "wrangler": "bin/wrangler.js", "wrangler2": "bin/wrangler.js", "cf-wrangler": "bin/wrangler.js" } }"#;
const STANDIN_BIN: &str = "#!/usr/bin/env node\nrequire('fs').appendFileSync(process.env.RECORD_FILE, JSON.stringify(process.argv.slice(2)) + '\\n');\n";

/// The tarballs and release archives, packed once per test run.
fn packed() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("SAFE_WRANGLER_NPM_DIR") {
            return PathBuf::from(dir);
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm-pack");
        let _ = fs::remove_dir_all(&dir);
        let out = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/npm-pack.sh"))
            .arg(&dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "npm-pack.sh: {}", text(&out));
        dir
    })
}

fn tarballs() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = fs::read_dir(packed())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tgz"))
        .collect();
    all.sort();
    assert_eq!(
        all.len(),
        2,
        "expected the main and the linux-x64 package: {all:?}"
    );
    all
}

/// Runs the command in a new session: no controlling terminal, like an agent's or CI's shell.
fn no_terminal(c: &mut Command) {
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

struct Project {
    sandbox: Sandbox,
}

impl Project {
    /// A project with the wrangler stand-in installed and the packed safe-wrangler installed
    /// from its tarballs; nothing protected yet.
    fn installed() -> Project {
        let sandbox = Sandbox::new();
        let standin = sandbox.path("wrangler-standin");
        fs::create_dir_all(standin.join("bin")).unwrap();
        fs::write(standin.join("package.json"), STANDIN_PACKAGE_JSON).unwrap();
        fs::write(standin.join("bin/wrangler.js"), STANDIN_BIN).unwrap();
        fs::write(
            sandbox.project().join("package.json"),
            r#"{
  "name": "shop",
  "private": true,
  "scripts": {
    "deploy": "wrangler deploy",
    "whoami": "wrangler whoami",
    "postinstall": "safe-wrangler protect"
  },
  "devDependencies": { "wrangler": "file:../wrangler-standin" }
}
"#,
        )
        .unwrap();
        let p = Project { sandbox };
        // The install a README reader types (tarballs instead of the registry's packages).
        let mut args = vec!["install", "--no-audit", "--no-fund"];
        let tgz = tarballs();
        args.extend(tgz.iter().map(|t| t.to_str().unwrap()));
        let out = p.cmd("npm", &args).output().unwrap();
        assert!(out.status.success(), "npm install: {}", text(&out));
        p
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

    fn dir(&self) -> PathBuf {
        self.sandbox.project()
    }

    fn native(&self) -> PathBuf {
        fs::canonicalize(
            self.dir()
                .join("node_modules")
                .join(PLATFORM_PACKAGE)
                .join("bin/safe-wrangler"),
        )
        .unwrap()
    }

    fn launcher(&self) -> PathBuf {
        self.dir()
            .join("node_modules/safe-wrangler/bin/safe-wrangler.js")
    }

    /// A command in the project with only node and npm on PATH (no safe-wrangler anywhere but
    /// `node_modules`), npm offline with its own cache, and no controlling terminal.
    fn cmd(&self, program: &str, args: &[&str]) -> Command {
        assert!(
            Path::new("/usr/bin/npm").exists() && Path::new("/usr/bin/node").exists(),
            "these tests need node and npm in /usr/bin"
        );
        let mut c = Command::new(program);
        c.args(args)
            .current_dir(self.dir())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.sandbox.home())
            .env("XDG_CONFIG_HOME", self.sandbox.home().join(".config"))
            .env("SAFE_WRANGLER_LOG", self.sandbox.path("audit.jsonl"))
            .env("npm_config_cache", self.sandbox.path("npm-cache"))
            .env("npm_config_offline", "true")
            .env("npm_config_update_notifier", "false")
            .env("RECORD_FILE", self.record())
            .stdin(Stdio::null());
        no_terminal(&mut c);
        c
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.cmd(program, args).output().unwrap()
    }

    /// The Claude Code hook (as `hook install` registers it: the native binary) on `line`:
    /// exit code and stdout.
    fn hook(&self, line: &str) -> (Option<i32>, String) {
        let out = self.claude_asks(
            self.cmd(self.native().to_str().unwrap(), &["hook", "claude"]),
            line,
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// `hook` (a Claude Code hook command) given Claude Code's input for the command `line`.
    fn claude_asks(&self, mut hook: Command, line: &str) -> Output {
        let input = serde_json::json!({"session_id": "s", "cwd": self.dir(), "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": line}});
        let mut child = hook
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            &mut child.stdin.take().unwrap(),
            input.to_string().as_bytes(),
        )
        .unwrap();
        child.wait_with_output().unwrap()
    }

    /// The same as an AI agent (Claude Code's marker).
    fn agent(&self, program: &str, args: &[&str]) -> Output {
        self.cmd(program, args)
            .env("CLAUDECODE", "1")
            .output()
            .unwrap()
    }
}

#[test]
fn npx_safe_wrangler_works_after_npm_installing_the_tarballs() {
    let p = Project::installed();
    // Installing named tarballs does not run the project's own postinstall (npm runs it only for
    // a plain `npm install`), so nothing is protected yet.
    let out = p.run("npx", &["safe-wrangler", "protect", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let out = p.run(
        "npx",
        &["safe-wrangler", "explain", "--json", "--", "deploy"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["class"], "production");
    assert_eq!(json["decision"], "refuse", "no terminal: {json}");

    let out = p.run("npx", &["safe-wrangler", "protect"]);
    assert!(out.status.success(), "{}", text(&out));
    // Every bin name of the wrangler package leads to the native binary, never the launcher.
    for name in ["wrangler", "wrangler2", "cf-wrangler"] {
        let link = p.dir().join("node_modules/.bin").join(name);
        assert_eq!(fs::canonicalize(&link).unwrap(), p.native(), "{name}");
    }

    // An agent's npx and npm-script deploys are refused; the stand-in never runs.
    for bin in ["wrangler", "cf-wrangler"] {
        let out = p.agent("npx", &[bin, "deploy"]);
        assert_eq!(out.status.code(), Some(77), "npx {bin}: {}", text(&out));
    }
    let out = p.agent("npm", &["run", "deploy"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("refused"), "{}", text(&out));
    assert!(p.ran().is_empty(), "the real wrangler ran: {:?}", p.ran());

    // Read work passes through to the real one, from npx and from a script.
    let out = p.agent("npx", &["wrangler", "whoami"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = p.agent("npm", &["run", "whoami"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(p.ran(), vec![r#"["whoami"]"#, r#"["whoami"]"#]);

    // A single-package install (like `npm i wrangler@x`) puts wrangler's own links back and runs
    // no postinstall: doctor names the lost protection and the one command that fixes it.
    let out = p.run(
        "npm",
        &["install", "--no-audit", "--no-fund", "../wrangler-standin"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = p.run("npx", &["safe-wrangler", "protect", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = p.run("npx", &["safe-wrangler", "doctor", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "npm-scripts")
        .unwrap();
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["summary"]
            .as_str()
            .unwrap()
            .contains("lost its protection"),
        "{check}"
    );
    assert_eq!(check["fix"], "safe-wrangler protect", "{check}");
    // The agent hook denies npx and npm scripts there, even for read work, with the fix: every
    // spelling of a script the shell reader knows (yarn and bun run scripts without `run`).
    for line in [
        "npm run whoami",
        "npx wrangler whoami",
        "cd . && pnpm run deploy",
        "npm test",
        "yarn deploy",
        "bun run deploy",
        "npm --prefix . run whoami",
        "n''pm run whoami",
    ] {
        let (code, stdout) = p.hook(line);
        assert_eq!(code, Some(0), "{line}: {stdout}");
        assert!(stdout.contains("\"deny\""), "{line}: {stdout}");
        assert!(stdout.contains("lost its protection"), "{line}: {stdout}");
        assert!(
            stdout.contains("run `safe-wrangler protect` first"),
            "{line}: {stdout}"
        );
    }
    let (code, stdout) = p.hook("wrangler whoami && npm ls && pnpm deploy --help");
    assert_eq!(
        (code, stdout.as_str()),
        (Some(0), ""),
        "the shim still guards a plain wrangler"
    );
    let out = p.run("npx", &["safe-wrangler", "protect"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        p.agent("npx", &["wrangler", "deploy"]).status.code(),
        Some(77)
    );
    let (code, stdout) = p.hook("npm run whoami");
    assert_eq!(
        (code, stdout.as_str()),
        (Some(0), ""),
        "protected again: allowed"
    );

    // A plain `npm install` keeps it protected through the project's postinstall, which finds
    // safe-wrangler in node_modules/.bin.
    fs::remove_dir_all(p.dir().join("node_modules/.bin")).unwrap();
    let out = p.run("npm", &["install", "--no-audit", "--no-fund"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = p.run("npx", &["safe-wrangler", "protect", "--check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        fs::canonicalize(p.dir().join("node_modules/.bin/wrangler")).unwrap(),
        p.native()
    );
}

#[test]
fn hook_install_and_shim_name_the_native_binary() {
    let p = Project::installed();
    let out = p.run("npx", &["safe-wrangler", "hook", "install", "claude"]);
    assert!(out.status.success(), "{}", text(&out));
    let expected = format!("{} hook claude", p.native().display());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&expected),
        "{}",
        text(&out)
    );

    // The project's entry, committed for every teammate, names the native binary under
    // `$CLAUDE_PROJECT_DIR` (the platform package by a glob): it runs with no safe-wrangler on
    // PATH and without the launcher's Node start-up.
    let out = p.run(
        "npx",
        &["safe-wrangler", "hook", "install", "claude", "--project"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let settings: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(p.dir().join(".claude/settings.json")).unwrap())
            .unwrap();
    let command = settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        command,
        r#""$CLAUDE_PROJECT_DIR"/node_modules/@safe-wrangler/*/bin/safe-wrangler hook claude || exit 2"#
    );
    let mut entry = p.cmd("bash", &["-c", &command]);
    entry.env("CLAUDE_PROJECT_DIR", p.dir());
    let out = p.claude_asks(entry, "npx wrangler deploy");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"permissionDecision\":\"deny\""),
        "{}",
        text(&out)
    );

    let prefix = p.sandbox.path("local");
    let out = p.run(
        "npx",
        &[
            "safe-wrangler",
            "shim",
            "--prefix",
            prefix.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let shims = prefix.join("lib/safe-wrangler/shims");
    assert_eq!(
        fs::canonicalize(shims.join("wrangler")).unwrap(),
        p.native()
    );
    let line = format!(
        "export PATH=\"{}:{}:$PATH\"",
        shims.display(),
        p.native().parent().unwrap().display()
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&line),
        "{}",
        text(&out)
    );
    // The shim guards: an agent's deploy through it is refused.
    let out = p
        .cmd(shims.join("wrangler").to_str().unwrap(), &["deploy"])
        .env("CLAUDECODE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(77), "{}", text(&out));
    // Running it again replaces the link, and never something that is not a link.
    assert!(
        p.run(
            "npx",
            &[
                "safe-wrangler",
                "shim",
                "--prefix",
                prefix.to_str().unwrap()
            ]
        )
        .status
        .success()
    );
    fs::remove_file(shims.join("wrangler")).unwrap();
    fs::write(shims.join("wrangler"), "mine").unwrap();
    let out = p.run(
        "npx",
        &[
            "safe-wrangler",
            "shim",
            "--prefix",
            prefix.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(fs::read_to_string(shims.join("wrangler")).unwrap(), "mine");
}

#[test]
fn the_launcher_passes_argv_exit_codes_and_signals_through() {
    let p = Project::installed();
    let stub = p.sandbox.path("stub/safe-wrangler");
    let argv_file = p.sandbox.path("stub-argv");
    write_exe(
        &stub,
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nif [ -n \"$STUB_SIGNAL\" ]; then kill -s \"$STUB_SIGNAL\" $$; fi\nif [ -n \"$STUB_WAIT\" ]; then trap 'echo forwarded > \"$STUB_WAIT\"; exit 3' TERM; touch \"$STUB_WAIT.ready\"; while :; do sleep 0.05; done; fi\nexit \"${{STUB_EXIT:-0}}\"\n",
            argv_file.display()
        ),
    );
    let launcher = p.launcher();
    let launcher = launcher.to_str().unwrap();
    let with_stub = |c: &mut Command| {
        c.env("SAFE_WRANGLER_BINARY", &stub);
    };

    // argv (spaces, a leading dash) and the exit code
    let mut c = p.cmd(launcher, &["deploy", "--env", "a b", "-x"]);
    with_stub(&mut c);
    let out = c.env("STUB_EXIT", "42").output().unwrap();
    assert_eq!(out.status.code(), Some(42), "{}", text(&out));
    assert_eq!(
        fs::read_to_string(&argv_file).unwrap(),
        "deploy\n--env\na b\n-x\n"
    );

    // dying of a signal: the launcher dies of the same one
    let mut c = p.cmd(launcher, &["dev"]);
    with_stub(&mut c);
    let out = c.env("STUB_SIGNAL", "TERM").output().unwrap();
    assert_eq!(
        out.status.signal(),
        Some(libc_sigterm()),
        "{:?}",
        out.status
    );

    // a signal sent to the launcher reaches the binary
    let wait = p.sandbox.path("stub-wait");
    let mut c = p.cmd(launcher, &["dev"]);
    with_stub(&mut c);
    let mut child = c
        .env("STUB_WAIT", &wait)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let ready = PathBuf::from(format!("{}.ready", wait.display()));
    while !ready.exists() {
        assert!(child.try_wait().unwrap().is_none(), "the stub exited early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    // Bounded, so a launcher that drops the signal fails the test instead of hanging it (the
    // stub loops until it gets SIGTERM).
    let mut waited = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if waited == 1500 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = child.wait();
            panic!("the launcher did not pass SIGTERM on to the binary");
        }
        waited += 1;
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(3), "{status:?}");
    assert_eq!(fs::read_to_string(&wait).unwrap(), "forwarded\n");

    // an override that does not exist is named
    let out = p
        .cmd(launcher, &["whoami"])
        .env("SAFE_WRANGLER_BINARY", p.sandbox.path("nowhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("nowhere"), "{}", text(&out));
}

fn libc_sigterm() -> i32 {
    nix::sys::signal::Signal::SIGTERM as i32
}

#[test]
fn the_launcher_names_a_missing_platform_package() {
    let p = Project::installed();
    let launcher = p.launcher();
    let launcher = launcher.to_str().unwrap();
    // A platform with no package at all (process.arch faked before the launcher runs).
    let fake = p.sandbox.path("fake-arch.js");
    fs::write(
        &fake,
        "Object.defineProperty(process, 'arch', { value: 'mips' });\n",
    )
    .unwrap();
    let out = p.run(
        "node",
        &["--require", fake.to_str().unwrap(), launcher, "whoami"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no prebuilt binary for linux-mips"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("SAFE_WRANGLER_BINARY"),
        "{}",
        text(&out)
    );

    // This platform, its package left out (as `npm install --omit=optional` does).
    fs::remove_dir_all(p.dir().join("node_modules").join(PLATFORM_PACKAGE)).unwrap();
    let out = p.run("npx", &["safe-wrangler", "explain", "--", "deploy"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let wanted = format!("npm install {PLATFORM_PACKAGE}@{VERSION}");
    assert!(text(&out).contains(&wanted), "{}", text(&out));
    assert!(p.ran().is_empty());
}

/// The action's steps as GitHub runs them: its environment files and a release directory
/// laid out like a GitHub release (`vVERSION/NAME.tar.gz` and `.sha256`), read over file://.
struct Runner {
    sandbox: Sandbox,
}

impl Runner {
    fn new() -> Runner {
        let sandbox = Sandbox::new();
        let release = sandbox.path(&format!("release/v{VERSION}"));
        fs::create_dir_all(&release).unwrap();
        for suffix in [".tar.gz", ".tar.gz.sha256"] {
            let name = format!("safe-wrangler-{VERSION}-linux-x64{suffix}");
            fs::copy(packed().join(&name), release.join(&name)).unwrap();
        }
        fs::create_dir_all(sandbox.path("runner-temp")).unwrap();
        for f in ["github-path", "github-output", "step-summary"] {
            fs::write(sandbox.path(f), "").unwrap();
        }
        Runner { sandbox }
    }

    fn step(&self, script: &str, env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scripts/action")
                .join(script),
        );
        c.current_dir(self.sandbox.project())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.sandbox.home())
            .env("RUNNER_TEMP", self.sandbox.path("runner-temp"))
            .env("GITHUB_PATH", self.sandbox.path("github-path"))
            .env("GITHUB_OUTPUT", self.sandbox.path("github-output"))
            .env("GITHUB_STEP_SUMMARY", self.sandbox.path("step-summary"))
            .env(
                "SW_BASE_URL",
                format!("file://{}", self.sandbox.path("release").display()),
            )
            .env("SW_VERSION", VERSION)
            .stdin(Stdio::null());
        no_terminal(&mut c);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    fn file(&self, name: &str) -> String {
        fs::read_to_string(self.sandbox.path(name)).unwrap()
    }
}

#[test]
fn the_action_installs_a_verified_release_and_puts_the_shim_first() {
    let r = Runner::new();
    let out = r.step("install.sh", &[]);
    assert!(out.status.success(), "{}", text(&out));
    let outputs = r.file("github-output");
    let binary = outputs
        .lines()
        .find_map(|l| l.strip_prefix("binary="))
        .unwrap()
        .to_owned();
    // GitHub puts each $GITHUB_PATH line in front in turn: the shim directory, written last, wins.
    let path_lines: Vec<String> = r.file("github-path").lines().map(str::to_owned).collect();
    assert_eq!(path_lines.len(), 2, "{path_lines:?}");
    let shim = Path::new(&path_lines[1]).join("wrangler");
    assert_eq!(
        fs::canonicalize(&shim).unwrap(),
        fs::canonicalize(&binary).unwrap()
    );
    assert_eq!(
        Path::new(&path_lines[0]),
        Path::new(&binary).parent().unwrap()
    );
    let path = format!("{}:{}:/usr/bin:/bin", path_lines[1], path_lines[0]);
    let mut wrangler = Command::new("wrangler");
    no_terminal(&mut wrangler);
    let out = wrangler
        .arg("deploy")
        .env_clear()
        .env("PATH", &path)
        .env("CLAUDECODE", "1")
        .env("HOME", r.sandbox.home())
        .current_dir(r.sandbox.project())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(77), "{}", text(&out));

    // protect, in a project whose node_modules/.bin/wrangler is the real one
    let bin = r.sandbox.project().join("node_modules/.bin");
    write_exe(
        &r.sandbox
            .project()
            .join("node_modules/wrangler/bin/wrangler.js"),
        "#!/bin/sh\nexit 0\n",
    );
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("../wrangler/bin/wrangler.js", bin.join("wrangler")).unwrap();
    let out = r.step("protect.sh", &[("SW_BINARY", &binary)]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        fs::canonicalize(bin.join("wrangler")).unwrap(),
        fs::canonicalize(&binary).unwrap()
    );

    // doctor's checklist lands in the job summary; its findings fail the step only when strict
    let out = r.step("summary.sh", &[("SW_BINARY", &binary)]);
    assert!(out.status.success(), "{}", text(&out));
    let summary = r.file("step-summary");
    assert!(
        summary.starts_with("### safe-wrangler doctor\n"),
        "{summary}"
    );
    assert!(summary.contains("shim-first"), "{summary}");
    let strict = r.step(
        "summary.sh",
        &[("SW_BINARY", &binary), ("SW_STRICT", "true")],
    );
    assert_eq!(
        strict.status.code(),
        Some(1),
        "shim not on this PATH: {}",
        text(&strict)
    );
}

#[test]
fn the_action_refuses_an_archive_whose_checksum_does_not_match() {
    let r = Runner::new();
    let wrong = "0".repeat(64);
    let out = r.step("install.sh", &[("SW_SHA256", &wrong)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("checksum mismatch"), "{}", text(&out));
    assert!(r.file("github-path").is_empty());
    assert!(!r.sandbox.path("runner-temp/safe-wrangler").exists());

    // The release's own .sha256 altered: refused too.
    let sums = r.sandbox.path(&format!(
        "release/v{VERSION}/safe-wrangler-{VERSION}-linux-x64.tar.gz.sha256"
    ));
    fs::write(&sums, format!("{wrong}  x.tar.gz\n")).unwrap();
    let out = r.step("install.sh", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // The right pinned checksum installs.
    let right = fs::read_to_string(
        packed().join(format!("safe-wrangler-{VERSION}-linux-x64.tar.gz.sha256")),
    )
    .unwrap();
    let right = right.split_whitespace().next().unwrap();
    let out = r.step("install.sh", &[("SW_SHA256", right)]);
    assert!(out.status.success(), "{}", text(&out));

    // A version that is not one is refused before anything is fetched.
    let out = r.step("install.sh", &[("SW_VERSION", "1.0/../../x")]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
}
