//! The sandbox every integration test runs in: a temp dir with its own HOME, a project dir, an
//! explicit PATH and a fake `wrangler` that records its argv, environment and any `--env-file`
//! it was handed, then exits with `$FAKE_EXIT`.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write;
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
        // Installed as npm installs wrangler 4: `wrangler` on PATH links to the package's
        // `bin/wrangler.js`, beside the package.json whose version safe-wrangler reads.
        let package = s.real_dir().join("node_modules/wrangler");
        write_exe(&package.join("bin/wrangler.js"), FAKE);
        fs::write(
            package.join("package.json"),
            r#"{"name": "wrangler", "version": "4.164.0"}"#,
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "node_modules/wrangler/bin/wrangler.js",
            s.real_dir().join("wrangler"),
        )
        .unwrap();
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
        // A program this test process just wrote (a stub, a copy of the binary) can be "busy"
        // for a moment: another test thread's fork may still hold its write descriptor until that
        // child execs. The kernel then refuses the exec with ETXTBSY; try again shortly.
        let mut tries = 0;
        loop {
            match self.cmd.output() {
                Err(e) if e.raw_os_error() == Some(nix::libc::ETXTBSY) && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                out => return Out(out.unwrap()),
            }
        }
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

/// A process on a new pseudo-terminal that is its controlling terminal (so `/dev/tty` is the
/// pty), with everything it writes collected.
pub struct PtySession {
    master: fs::File,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    child: std::process::Child,
    session: nix::unistd::Pid,
    reader: std::thread::JoinHandle<()>,
    started: std::time::Instant,
}

impl PtySession {
    /// Starts `cmd` on the pty: its stdin, stdout and stderr, and its controlling terminal.
    pub fn spawn(mut cmd: Command) -> PtySession {
        use std::io::Read;
        let size = nix::pty::Winsize {
            ws_row: 40,
            ws_col: 160,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
        let slave = pty.slave;
        cmd.stdin(Stdio::from(slave.try_clone().expect("dup pty")))
            .stdout(Stdio::from(slave.try_clone().expect("dup pty")))
            .stderr(Stdio::from(slave));
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                // The pty (fd 0 now) becomes the controlling terminal.
                if nix::libc::ioctl(0, nix::libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let started = std::time::Instant::now();
        let child = cmd.spawn().expect("spawn on a pty");
        drop(cmd); // closes our copies of the slave
        let session = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid fits i32"));
        let master = fs::File::from(pty.master);
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut source = master.try_clone().expect("dup pty master");
        let sink = std::sync::Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = source.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend_from_slice(&buf[..n]);
            }
        });
        PtySession {
            master,
            output,
            child,
            session,
            reader,
            started,
        }
    }

    /// The process (the session leader) on the terminal.
    pub fn pid(&self) -> nix::unistd::Pid {
        self.session
    }

    /// Everything shown on the terminal so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(
            &self
                .output
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }

    fn kill(&self) {
        let _ = nix::sys::signal::killpg(self.session, nix::sys::signal::Signal::SIGKILL);
    }

    /// Waits until the terminal shows `needle`; panics (after killing the session) if it does not
    /// within 30 s or the process ends first.
    pub fn wait_for(&mut self, needle: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !self.text().contains(needle) {
            if std::time::Instant::now() > deadline
                || self.child.try_wait().ok().flatten().is_some()
            {
                self.kill();
                let _ = self.child.wait();
                panic!("no {needle:?}; the terminal showed:\n{}", self.text());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Types `bytes` on the terminal.
    pub fn type_bytes(&mut self, bytes: &[u8]) {
        self.master
            .write_all(bytes)
            .and_then(|()| self.master.flush())
            .expect("type into the pty");
    }

    /// Waits for the process to end (killing the session after `timeout`), then kills what is left
    /// of its session and drains the terminal: exit code, everything shown, time taken.
    pub fn finish(
        self,
        timeout: std::time::Duration,
    ) -> (Option<i32>, String, std::time::Duration) {
        let (status, text, elapsed) = self.finish_status(timeout);
        (status.code(), text, elapsed)
    }

    /// [`PtySession::finish`] with the whole exit status (death by a signal included).
    pub fn finish_status(
        mut self,
        timeout: std::time::Duration,
    ) -> (std::process::ExitStatus, String, std::time::Duration) {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if self.started.elapsed() > timeout {
                self.kill();
                let _ = self.child.wait();
                panic!(
                    "timed out after {timeout:?}; the terminal showed:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        };
        let elapsed = self.started.elapsed();
        // Leftover children (esbuild's service) would keep the pty open.
        self.kill();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !self.reader.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        (status, self.text(), elapsed)
    }
}
