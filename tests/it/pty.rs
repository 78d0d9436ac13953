//! The typed confirmation in a real pseudo-terminal that is the process's controlling terminal.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{BIN, Sandbox};

struct Session {
    master: fs::File,
    output: Arc<Mutex<Vec<u8>>>,
    child: std::process::Child,
}

fn start(s: &Sandbox, args: &[&str], extra_env: &[(&str, &str)]) -> Session {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave: OwnedFd = pty.slave;
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(s.project())
        .env_clear()
        .env("PATH", s.default_path())
        .env("HOME", s.home())
        .env("RECORD", s.record())
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            // Make the pty (now on fd 0) our controlling terminal, so /dev/tty is it.
            if nix::libc::ioctl(0, nix::libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    drop(cmd);
    let master = fs::File::from(pty.master);
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut reader = master.try_clone().unwrap();
    let sink = Arc::clone(&output);
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    Session {
        master,
        output,
        child,
    }
}

impl Session {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }
    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    fn type_bytes(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
        self.master.flush().unwrap();
    }
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                let _ = self.master.as_raw_fd();
                return (status.code(), self.text());
            }
            assert!(Instant::now() < deadline, "still running: {}", self.text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn project_with_worker(s: &Sandbox) {
    fs::write(
        s.project().join("wrangler.jsonc"),
        "{ // the shop\n \"name\": \"shop\" }\n",
    )
    .unwrap();
}

#[test]
fn typing_the_worker_name_runs_wrangler() {
    let s = Sandbox::new();
    project_with_worker(&s);
    let mut p = start(&s, &["deploy", "--env", "production"], &[]);
    p.wait_for("Type shop-production to confirm");
    p.type_bytes(b"shop-production\n");
    let (code, text) = p.finish();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("production work"), "{text}");
    assert_eq!(s.wrangler_argv().unwrap().len(), 3);
}

#[test]
fn a_wrong_name_eof_or_ctrl_c_refuses() {
    for (answer, why) in [
        (&b"shop-staging\n"[..], "did not match"),
        (b"\x04", "end of input"),
        (b"\x03", "interrupted"),
    ] {
        let s = Sandbox::new();
        project_with_worker(&s);
        let mut p = start(&s, &["deploy"], &[]);
        p.wait_for("Type shop to confirm");
        p.type_bytes(answer);
        let (code, text) = p.finish();
        assert_eq!(code, Some(77), "{answer:?}: {text}");
        assert!(text.contains(why), "{answer:?}: {text}");
        assert!(s.wrangler_argv().is_none(), "{answer:?}: wrangler ran");
    }
}

#[test]
fn an_agent_with_a_terminal_is_refused_without_a_prompt() {
    let s = Sandbox::new();
    project_with_worker(&s);
    let p = start(&s, &["deploy"], &[("CODEX_THREAD_ID", "t-1")]);
    let (code, text) = p.finish();
    assert_eq!(code, Some(77), "{text}");
    assert!(!text.contains("to confirm"), "{text}");
    assert!(text.contains("CODEX_THREAD_ID"), "{text}");
}
