//! The sandbox every integration test runs in: a temp dir with its own HOME, a project dir, an
//! explicit PATH and a fake `wrangler` that records its argv, environment and any `--env-file`
//! it was handed, then exits with `$FAKE_EXIT`.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_safe-wrangler");

/// A dummy credential: never a real token.
pub const DUMMY_TOKEN: &str = "test-token-not-real";

/// The fake wrangler: argv NUL-separated, the environment (`env -0`), and the contents of every
/// `--env-file=` argument, into `$RECORD/`.
const FAKE: &str = r#"#!/bin/sh
rec="${RECORD:?}"
/bin/mkdir -p "$rec"
: > "$rec/argv"
: > "$rec/env-files"
for a in "$@"; do
  printf '%s\0' "$a" >> "$rec/argv"
  case "$a" in
    --env-file=*) f="${a#--env-file=}"; printf '== %s\n' "$f" >> "$rec/env-files"; /bin/cat "$f" >> "$rec/env-files" ;;
  esac
done
/usr/bin/env -0 > "$rec/env"
if [ -n "$FAKE_SIGNAL" ]; then kill -s "$FAKE_SIGNAL" $$; fi
exit "${FAKE_EXIT:-0}"
"#;

pub struct Sandbox {
    pub root: tempfile::TempDir,
}

pub fn write_exe(path: &Path, body: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let root = tempfile::tempdir().unwrap();
        let s = Sandbox { root };
        fs::create_dir_all(s.project()).unwrap();
        fs::create_dir_all(s.home()).unwrap();
        write_exe(&s.real_dir().join("wrangler"), FAKE);
        let shim = s.shims().join("wrangler");
        fs::create_dir_all(s.shims()).unwrap();
        std::os::unix::fs::symlink(BIN, &shim).unwrap();
        s
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }
    pub fn project(&self) -> PathBuf {
        self.path("project")
    }
    pub fn home(&self) -> PathBuf {
        self.path("home")
    }
    pub fn real_dir(&self) -> PathBuf {
        self.path("real")
    }
    pub fn shims(&self) -> PathBuf {
        self.path("shims")
    }
    pub fn record(&self) -> PathBuf {
        self.path("record")
    }

    /// The default PATH: the shim first, then the fake wrangler.
    pub fn default_path(&self) -> OsString {
        std::env::join_paths([self.shims(), self.real_dir()]).unwrap()
    }

    /// `safe-wrangler ARGS` in the project dir, with no controlling terminal.
    pub fn safe(&self, args: &[&str]) -> Run {
        self.run(Path::new(BIN), args)
    }

    /// `wrangler ARGS` through the shim.
    pub fn shim(&self, args: &[&str]) -> Run {
        self.run(&self.shims().join("wrangler"), args)
    }

    pub fn run(&self, program: &Path, args: &[&str]) -> Run {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(self.project())
            .env_clear()
            .env("PATH", self.default_path())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("RECORD", self.record())
            .stdin(Stdio::null());
        // No controlling terminal: like an agent's or CI's shell.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        Run { cmd }
    }

    /// Whether the fake wrangler ran (and then its argv).
    pub fn wrangler_argv(&self) -> Option<Vec<OsString>> {
        use std::os::unix::ffi::OsStringExt;
        let bytes = fs::read(self.record().join("argv")).ok()?;
        Some(
            bytes
                .split(|b| *b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| OsString::from_vec(w.to_vec()))
                .collect(),
        )
    }

    /// The environment the fake wrangler saw.
    pub fn wrangler_env(&self) -> Vec<(String, String)> {
        let bytes = fs::read(self.record().join("env")).expect("wrangler did not run");
        bytes
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .filter_map(|w| {
                let s = String::from_utf8_lossy(w).into_owned();
                s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect()
    }

    pub fn wrangler_env_files(&self) -> String {
        fs::read_to_string(self.record().join("env-files")).unwrap_or_default()
    }
}

#[must_use]
pub struct Run {
    pub cmd: Command,
}

impl Run {
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Run {
        self.cmd.env(k, v);
        self
    }
    pub fn env_remove(mut self, k: &str) -> Run {
        self.cmd.env_remove(k);
        self
    }
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Run {
        self.cmd.arg(a);
        self
    }
    pub fn cwd(mut self, d: &Path) -> Run {
        self.cmd.current_dir(d);
        self
    }
    pub fn output(mut self) -> Out {
        let out = self.cmd.output().unwrap();
        Out(out)
    }
}

pub struct Out(pub Output);

impl Out {
    pub fn code(&self) -> Option<i32> {
        self.0.status.code()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}
