//! Fault injection: full and read-only disks (a small tmpfs in a private mount namespace), closed
//! pipes, torn lines, a held lock, concurrent calls in separate PID namespaces, signals at the
//! prompt, malformed policies. Whatever breaks, a refusal stays a refusal, wrangler never runs
//! without consent, and no record is lost: each is in the log or, when the log cannot be written,
//! the call says so (a refusal or a human's answer is then printed on stderr).
//!
//! The tests that need mounts or namespaces need root (CI runs as root). Elsewhere they print
//! why they were skipped on the test output (not captured), and under `CI` they fail instead.

use std::fs;
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::{BIN, DUMMY_TOKEN, Out, PtySession, Sandbox, write_exe};

/// Whether this test can inject its faults here. Not root: says so on the (uncaptured) test
/// output and skips, except in CI, where a skip would hide that the faults were never tried.
fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "faults::{test} needs root (mounts, namespaces); CI must run it as root"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED faults::{test}: needs root for tmpfs mounts and namespaces (not counted as run)"
    );
    false
}

/// Prints the figures of one fault run on the (uncaptured) test output.
fn figures(test: &str, calls: usize, faults: usize, lost: usize) {
    let _ = writeln!(
        std::io::stderr(),
        "faults::{test}: calls {calls}, faults {faults}, records lost {lost}"
    );
}

/// The records in a log file and its rotated predecessor `<log>.1` (complete JSON lines only).
fn records(log: &Path) -> Vec<Value> {
    let mut bytes = fs::read(log.with_extension("jsonl.1")).unwrap_or_default();
    bytes.extend(fs::read(log).unwrap_or_default());
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

/// Whether a record's argv holds `word`.
fn mentions(record: &Value, word: &str) -> bool {
    record["argv"]
        .as_array()
        .is_some_and(|a| a.iter().any(|w| w == word))
}

/// A small tmpfs mounted at `dir` in a private mount namespace, held open by a shell that can
/// remount it read-only; other processes reach it through `/proc/<pid>/root`.
struct Tmpfs {
    holder: Child,
    input: ChildStdin,
    output: std::io::BufReader<ChildStdout>,
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(dir).unwrap();
        let script = r#"mount -t tmpfs -o "size=$1,mode=0755" tmpfs "$0" || exit 1
echo ready
while read -r cmd; do mount -o "remount,$cmd" "$0" && echo done || echo failed; done"#;
        let mut holder = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", script])
            .arg(dir)
            .arg(size)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare");
        let input = holder.stdin.take().unwrap();
        let mut output = std::io::BufReader::new(holder.stdout.take().unwrap());
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "cannot mount a tmpfs in a mount namespace"
        );
        Tmpfs {
            holder,
            input,
            output,
            dir: dir.to_owned(),
        }
    }

    /// `rel` inside the tmpfs, as seen from outside the namespace.
    fn path(&self, rel: &str) -> PathBuf {
        let inner = self.dir.strip_prefix("/").unwrap();
        PathBuf::from(format!("/proc/{}/root", self.holder.id()))
            .join(inner)
            .join(rel)
    }

    fn remount(&mut self, how: &str) {
        writeln!(self.input, "{how}").unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "done", "remount {how}");
    }

    /// Fills the tmpfs to the last byte (the filler is `fill`).
    fn fill(&self) {
        let mut f = fs::File::create(self.path("fill")).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        for n in [512, 64, 1] {
            while f.write_all(&chunk[..n]).is_ok() {}
        }
    }

    /// `safe-wrangler ARGS` run inside the namespace, in `rel` of the tmpfs.
    fn call(&self, s: &Sandbox, rel: &str, args: &[&str]) -> crate::util::Run {
        let pid = self.holder.id().to_string();
        let dir = self.dir.join(rel);
        let mut words = vec![
            "-t",
            &pid,
            "-m",
            "--",
            "/bin/sh",
            "-c",
            "cd \"$0\" && exec \"$@\"",
        ];
        let dir = dir.to_str().unwrap().to_owned();
        words.push(&dir);
        words.push(BIN);
        words.extend_from_slice(args);
        s.run(Path::new("/usr/bin/nsenter"), &words)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// A project whose `.env` holds a credential, so every call writes `.env` copies.
const DOTENV: &str = "A=1\nCLOUDFLARE_API_TOKEN=test-token-not-real\n";

#[test]
fn a_full_disk_loses_no_record_and_refusals_stay_refusals() {
    if !root_or_skip("a_full_disk_loses_no_record_and_refusals_stay_refusals") {
        return;
    }
    let s = Sandbox::new();
    let disk = Tmpfs::mount(&s.path("disk"), "64k");
    let log = disk.path("state/audit.jsonl");
    let call = |i: usize| {
        let name = format!("call-{i}");
        let refuse = i.is_multiple_of(2);
        let run = if refuse {
            s.safe(&["deploy", "--name", &name]).env("CLAUDECODE", "1")
        } else {
            s.safe(&["dev", "--name", &name])
        };
        (name, refuse, run.env("SAFE_WRANGLER_LOG", &log).output())
    };
    let mut outs: Vec<(String, bool, Out)> = vec![call(0)];
    disk.fill();
    outs.extend((1..13).map(call));
    fs::remove_file(disk.path("fill")).unwrap();
    outs.extend((13..19).map(call));

    let kept = records(&log);
    let (mut faults, mut lost) = (0, 0);
    for (name, refuse, out) in &outs {
        out.assert_code(if *refuse { 77 } else { 0 });
        let in_log = kept.iter().any(|r| mentions(r, name));
        let err = out.stderr();
        let warned = err.contains("warning: cannot write the audit log");
        faults += usize::from(warned);
        let printed = err
            .lines()
            .any(|l| l.starts_with("safe-wrangler: audit: {") && l.contains(name.as_str()));
        // A refusal is kept in the log or printed; a run that could not be logged said so.
        let kept_somewhere = in_log || if *refuse { printed } else { warned };
        lost += usize::from(!kept_somewhere);
        assert!(kept_somewhere, "{name}: {err}");
    }
    assert!(faults > 0, "the disk never filled: no fault was injected");
    // Every record written after the disk had room again is whole and readable.
    for (name, _, _) in &outs[13..] {
        assert!(kept.iter().any(|r| mentions(r, name)), "{name} missing");
    }
    let shown = s
        .safe(&["log", "--json"])
        .env("SAFE_WRANGLER_LOG", &log)
        .output();
    shown.assert_code(0);
    assert_eq!(
        shown.stdout().lines().count(),
        kept.len(),
        "{}",
        shown.stderr()
    );
    figures("full-disk", outs.len(), faults, lost);
}

#[test]
fn read_only_and_full_projects_stop_before_the_run_record_and_leave_nothing() {
    if !root_or_skip("read_only_and_full_projects_stop_before_the_run_record_and_leave_nothing") {
        return;
    }
    let s = Sandbox::new();
    let mut disk = Tmpfs::mount(&s.path("proj"), "64k");
    fs::write(disk.path(".env"), DOTENV).unwrap();
    let log = s.path("audit.jsonl");
    let mut calls = 0;
    for how in ["ro", "full"] {
        if how == "ro" {
            disk.remount("ro");
        } else {
            disk.remount("rw");
            disk.fill();
        }
        let out = disk
            .call(&s, "", &["dev"])
            .env("SAFE_WRANGLER_LOG", &log)
            .output();
        calls += 1;
        out.assert_code(126);
        let err = out.stderr();
        assert!(
            err.contains("cannot write the .env copies in"),
            "{how}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{how}: {err}");
        assert!(s.wrangler_argv().is_none(), "{how}: wrangler ran");
        assert!(
            records(&log).is_empty(),
            "{how}: a record for a call that never ran"
        );
        assert!(
            fs::symlink_metadata(disk.path(".wrangler")).is_err(),
            "{how}: leftovers"
        );
    }
    // Room again, and an empty .gitignore (left by an older version on a full disk): rewritten.
    fs::remove_file(disk.path("fill")).unwrap();
    fs::create_dir_all(disk.path(".wrangler/safe-wrangler")).unwrap();
    fs::write(disk.path(".wrangler/safe-wrangler/.gitignore"), "").unwrap();
    disk.call(&s, "", &["dev"])
        .env("SAFE_WRANGLER_LOG", &log)
        .output()
        .assert_code(0);
    calls += 1;
    assert_eq!(
        fs::read_to_string(disk.path(".wrangler/safe-wrangler/.gitignore")).unwrap(),
        "*\n"
    );
    let mut left: Vec<String> = fs::read_dir(disk.path(".wrangler/safe-wrangler"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".env", ".gitignore"]);
    assert!(!s.wrangler_env_files().contains(DUMMY_TOKEN));
    assert_eq!(records(&log).len(), 1);
    figures("read-only-and-full-project", calls, 2, 0);
}

/// How many calls run at once, each in its own PID namespace (where each is PID 1).
const CALLS: usize = 24;

#[test]
fn concurrent_calls_in_separate_pid_namespaces_share_a_project() {
    if !root_or_skip("concurrent_calls_in_separate_pid_namespaces_share_a_project") {
        return;
    }
    let s = Sandbox::new();
    fs::write(s.project().join(".env"), DOTENV).unwrap();
    let log = s.path("audit.jsonl");
    let children: Vec<Child> = (0..CALLS)
        .map(|i| {
            let mut run = s.run(Path::new("/usr/bin/unshare"), &["-p", "-f", BIN, "dev"]);
            run.cmd
                .env("SAFE_WRANGLER_LOG", &log)
                .env("RECORD", s.path(&format!("record-{i}")))
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            run.cmd.spawn().unwrap()
        })
        .collect();
    let mut failed = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            failed.push(format!("{i}: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let files = fs::read_to_string(s.path(&format!("record-{i}/env-files"))).unwrap();
        assert!(
            files.contains("A=1") && !files.contains(DUMMY_TOKEN),
            "{files}"
        );
    }
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(records(&log).len(), CALLS);
    let mut left: Vec<String> = fs::read_dir(s.project().join(".wrangler/safe-wrangler"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".env", ".gitignore"], "temporary files left behind");
    figures("pid-namespaces", CALLS, 0, 0);
}

#[test]
fn a_torn_line_swallows_no_record_and_log_says_what_it_skipped() {
    let s = Sandbox::new();
    let log = s.path("audit.jsonl");
    let call = |name: &str| {
        s.safe(&["dev", "--name", name])
            .env("SAFE_WRANGLER_LOG", &log)
            .output()
            .assert_code(0);
    };
    call("first");
    // A writer killed mid-line, cut inside a multi-byte character.
    let mut f = fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&"{\"argv\":[\"caf\u{e9}".as_bytes()[..14])
        .unwrap();
    drop(f);
    call("second");
    call("third");
    let kept = records(&log);
    assert_eq!(kept.len(), 3);
    assert!(mentions(&kept[1], "second") && mentions(&kept[2], "third"));
    let out = s
        .safe(&["log", "--json"])
        .env("SAFE_WRANGLER_LOG", &log)
        .output();
    out.assert_code(0);
    assert_eq!(out.stdout().lines().count(), 3);
    assert!(
        out.stderr().contains("skipped 1 unreadable line"),
        "{}",
        out.stderr()
    );
    figures("torn-line", 3, 1, 0);
}

/// How many rounds the randomised parts run (`SAFE_WRANGLER_FAULT_ROUNDS`, default small so CI
/// stays quick; raise it for a longer soak).
fn rounds(default: usize) -> usize {
    std::env::var("SAFE_WRANGLER_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writers of ~1 MB records, half of them killed at staggered moments: whatever fragments the killed ones
/// leave, every caller that finished has its whole record, readable.
#[test]
fn writers_killed_mid_line_hide_no_other_record() {
    let s = Sandbox::new();
    let log = s.path("audit.jsonl");
    let writers = rounds(16);
    let big = "x".repeat(100_000);
    let mut children: Vec<(String, Child)> = (0..writers)
        .map(|i| {
            let name = format!("writer-{i}");
            let mut run = s
                .safe(&["dev", "--name", &name])
                .env("SAFE_WRANGLER_LOG", &log)
                .env("RECORD", s.path(&format!("record-{i}")));
            for _ in 0..10 {
                run = run.arg(&big);
            }
            run.cmd.stdout(Stdio::null()).stderr(Stdio::piped());
            (name, run.cmd.spawn().unwrap())
        })
        .collect();
    // Killed at staggered moments, so some die while writing their line.
    for (i, (_, child)) in children.iter_mut().enumerate().step_by(2) {
        std::thread::sleep(Duration::from_millis(u64::try_from(i % 7).unwrap()));
        let _ = child.kill();
    }
    let (mut finished, mut warned) = (Vec::new(), 0);
    for (name, child) in children {
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            continue;
        }
        // A caller that could not write its record says so (a fault, not a loss).
        if String::from_utf8_lossy(&out.stderr).contains("cannot write the audit log") {
            warned += 1;
        } else {
            finished.push(name);
        }
    }
    let kept = records(&log);
    let mut bytes = fs::read(log.with_extension("jsonl.1")).unwrap_or_default();
    bytes.extend(fs::read(&log).unwrap_or_default());
    let lines = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let lost: Vec<&String> = finished
        .iter()
        .filter(|n| !kept.iter().any(|r| mentions(r, n)))
        .collect();
    assert!(lost.is_empty(), "records hidden: {lost:?}");
    let (killed, torn) = (writers - finished.len() - warned, lines - kept.len());
    let _ = writeln!(
        std::io::stderr(),
        "faults::killed-writers: killed {killed}, lock waits over the limit {warned}, torn lines {torn}"
    );
    figures(
        "killed-writers",
        writers,
        killed + warned + torn,
        lost.len(),
    );
}

#[test]
fn a_held_lock_makes_the_call_warn_and_go_on() {
    let s = Sandbox::new();
    let log = s.path("audit.jsonl");
    s.safe(&["dev"])
        .env("SAFE_WRANGLER_LOG", &log)
        .output()
        .assert_code(0);
    let held = nix::fcntl::Flock::lock(
        fs::File::open(&log).unwrap(),
        nix::fcntl::FlockArg::LockExclusive,
    )
    .unwrap();
    let out = s
        .safe(&["deploy", "--name", "locked-out"])
        .env("CLAUDECODE", "1")
        .env("SAFE_WRANGLER_LOG", &log)
        .output();
    out.assert_code(77);
    let err = out.stderr();
    assert!(err.contains("held its lock"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("safe-wrangler: audit: {") && l.contains("locked-out")),
        "{err}"
    );
    drop(held);
    s.safe(&["dev"])
        .env("SAFE_WRANGLER_LOG", &log)
        .output()
        .assert_code(0);
    assert_eq!(records(&log).len(), 2);
    figures("held-lock", 3, 1, 0);
}

/// A pipe whose reading end is already closed.
fn closed_pipe() -> Stdio {
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    Stdio::from(write)
}

#[test]
fn closed_pipes_never_fail_open() {
    let s = Sandbox::new();
    let log = s.path("audit.jsonl");
    let run = |args: &[&str], agent: bool| {
        let mut run = s.safe(args).env("SAFE_WRANGLER_LOG", &log);
        if agent {
            run = run.env("CLAUDECODE", "1");
        }
        run.cmd.stdout(closed_pipe()).stderr(closed_pipe());
        run.cmd.status().unwrap()
    };
    // A refusal that cannot even be shown is still a refusal, and still recorded.
    let status = run(&["deploy", "--name", "closed"], true);
    assert!(!status.success(), "{status:?}");
    assert!(s.wrangler_argv().is_none(), "wrangler ran");
    assert!(records(&log).iter().any(|r| mentions(r, "closed")));
    // A run still reaches wrangler, whose exit code comes back.
    let status = run(&["dev"], false);
    assert_eq!(status.code(), Some(0));
    assert!(s.wrangler_argv().is_some());
    // `log` into a closed pipe stops quietly.
    let status = run(&["log"], false);
    assert_eq!(status.code(), Some(0), "log: {status:?}");
    let status = run(&["log", "--json"], false);
    assert_eq!(status.code(), Some(0), "log --json: {status:?}");
    // Every other verb ends (never hangs on a pipe nobody reads) and never runs wrangler. That
    // they also end without a panic is asserted once the verbs' own EPIPE handling lands.
    fs::remove_dir_all(s.record()).unwrap();
    let verbs: [&[&str]; 6] = [
        &["explain", "deploy"],
        &["explain", "--json", "deploy"],
        &["doctor"],
        &["scripts"],
        &["protect", "--check"],
        &["hook", "install", "claude"],
    ];
    for verb in verbs {
        // Returning at all is the check: a verb blocked on the pipe would hang the test.
        let _ = run(verb, false);
    }
    assert!(s.wrangler_argv().is_none(), "a verb ran wrangler");
    figures("closed-pipes", 4 + verbs.len(), 4 + verbs.len(), 0);
}

fn worker_project(s: &Sandbox) {
    fs::write(
        s.project().join("wrangler.jsonc"),
        "{ \"name\": \"shop\" }\n",
    )
    .unwrap();
}

fn prompt(s: &Sandbox, log: &Path) -> PtySession {
    let mut cmd = Command::new(BIN);
    cmd.args(["deploy"])
        .current_dir(s.project())
        .env_clear()
        .env("PATH", s.default_path())
        .env("HOME", s.home())
        .env("RECORD", s.record())
        .env("SAFE_WRANGLER_LOG", log);
    PtySession::spawn(cmd)
}

const PTY_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn signals_at_the_prompt_are_recorded_as_interrupted() {
    use nix::sys::signal::{Signal, kill};
    let mut calls = 0;
    for sig in [Signal::SIGTERM, Signal::SIGHUP] {
        let s = Sandbox::new();
        worker_project(&s);
        let log = s.path("audit.jsonl");
        let mut p = prompt(&s, &log);
        p.wait_for("Type shop to confirm");
        kill(p.pid(), sig).unwrap();
        let (code, text, _) = p.finish(PTY_TIMEOUT);
        calls += 1;
        assert_eq!(code, None, "{sig}: ends by the signal: {text}");
        assert!(s.wrangler_argv().is_none(), "{sig}: wrangler ran");
        let kept = records(&log);
        assert_eq!(kept.len(), 1, "{sig}: {kept:?}");
        assert_eq!(kept[0]["decision"], "interrupted");
        assert_eq!(kept[0]["signal"], sig.as_str());
    }
    // Ctrl-C typed the moment anything appears: never lost, always recorded.
    for _ in 0..rounds(6) {
        let s = Sandbox::new();
        worker_project(&s);
        let log = s.path("audit.jsonl");
        let mut p = prompt(&s, &log);
        p.wait_for("production work");
        p.type_bytes(b"\x03");
        let (code, text, _) = p.finish(PTY_TIMEOUT);
        calls += 1;
        assert_eq!(code, Some(77), "{text}");
        let kept = records(&log);
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(
            (&kept[0]["decision"], &kept[0]["signal"]),
            (&Value::from("interrupted"), &Value::from("SIGINT"))
        );
    }
    figures("prompt-signals", calls, calls, 0);
}

/// The terminal goes away while the prompt waits (the last terminal window closed): recorded as
/// `interrupted` (by the SIGHUP the kernel sends, or the hang-up itself), and wrangler never runs.
#[test]
fn a_closed_terminal_at_the_prompt_is_recorded_as_interrupted() {
    use std::io::Read;
    let s = Sandbox::new();
    worker_project(&s);
    let log = s.path("audit.jsonl");
    let pty = nix::pty::openpty(None, None).unwrap();
    // The child must not inherit the master, or closing ours would not hang the terminal up.
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("deploy")
        .current_dir(s.project())
        .env_clear()
        .env("PATH", s.default_path())
        .env("HOME", s.home())
        .env("RECORD", s.record())
        .env("SAFE_WRANGLER_LOG", &log)
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave));
    // SAFETY: setsid and ioctl are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            if nix::libc::ioctl(0, nix::libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut master = fs::File::from(pty.master);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("to confirm") {
        let n = master.read(&mut buf).unwrap_or(0);
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    drop(master);
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(s.wrangler_argv().is_none(), "wrangler ran");
    let kept = records(&log);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["decision"], "interrupted");
    let how = kept[0]["signal"].as_str().unwrap_or_default();
    assert!(matches!(how, "SIGHUP" | "terminal-closed"), "{how}");
    figures("closed-terminal", 1, 1, 0);
}

#[test]
fn malformed_and_unreadable_policies_stop_the_call() {
    type Make<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Make); 5] = [
        ("[,]", &|p| {
            fs::write(p, "{ \"production_environments\": [,] }").unwrap();
        }),
        ("[\"a\",,]", &|p| {
            fs::write(p, "{\n \"production_environments\": [\"a\",,]\n}").unwrap();
        }),
        ("{,}", &|p| fs::write(p, "{,}").unwrap()),
        ("dangling symlink", &|p| {
            std::os::unix::fs::symlink("nowhere.jsonc", p).unwrap();
        }),
        ("looping symlink", &|p| {
            std::os::unix::fs::symlink(p, p.with_file_name("loop")).unwrap();
            std::os::unix::fs::symlink(p.with_file_name("loop"), p).unwrap();
        }),
    ];
    for (what, make) in cases {
        let s = Sandbox::new();
        make(&s.project().join("safe-wrangler.jsonc"));
        let out = s.safe(&["deploy"]).env("CLAUDECODE", "1").output();
        out.assert_code(78);
        let err = out.stderr();
        assert!(err.contains("safe-wrangler.jsonc"), "{what}: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(s.wrangler_argv().is_none(), "{what}");
    }
    // A byte order mark is accepted, as wrangler accepts one in its config.
    let s = Sandbox::new();
    fs::write(
        s.project().join("safe-wrangler.jsonc"),
        "\u{feff}{ \"production_environments\": [\"live\"] }",
    )
    .unwrap();
    let out = s
        .safe(&["explain", "--json", "deploy", "--env", "live"])
        .output();
    out.assert_code(0);
    let v: Value = serde_json::from_str(&out.stdout()).unwrap();
    assert_eq!(v["production"], true);
}

#[test]
fn a_wrapper_loop_leaves_one_run_and_one_loop_record() {
    let s = Sandbox::new();
    let log = s.path("audit.jsonl");
    let wrapper = s.path("loop/wrangler");
    write_exe(&wrapper, &format!("#!/bin/sh\nexec '{BIN}' \"$@\"\n"));
    let out = s
        .safe(&["dev", "--name", "looped"])
        .env("SAFE_WRANGLER_REAL", &wrapper)
        .env("SAFE_WRANGLER_LOG", &log)
        .output();
    out.assert_code(127);
    let kept = records(&log);
    let decisions: Vec<&str> = kept.iter().filter_map(|r| r["decision"].as_str()).collect();
    assert_eq!(decisions, ["run", "refuse"], "{kept:?}");
    assert_eq!(kept[1]["rule"], "nesting-loop");
}

#[test]
fn credential_lines_after_a_bom_or_with_cr_ends_never_reach_wrangler() {
    let s = Sandbox::new();
    fs::write(
        s.project().join(".env"),
        format!("\u{feff}CLOUDFLARE_API_TOKEN={DUMMY_TOKEN}\rB=\u{e9}\r"),
    )
    .unwrap();
    s.safe(&["dev"]).output().assert_code(0);
    let files = s.wrangler_env_files();
    assert!(!files.contains(DUMMY_TOKEN), "{files}");
    assert!(files.contains("\rB=\u{e9}\r"), "{files}");
}

#[test]
fn a_control_byte_in_a_hook_command_is_blocked() {
    let s = Sandbox::new();
    let input = serde_json::json!({"tool_name": "Bash", "tool_input": {"command": "echo hi\u{0}; wrangler deploy"}});
    let mut child = Command::new(BIN)
        .args(["hook", "claude"])
        .current_dir(s.project())
        .env_clear()
        .env("PATH", s.default_path())
        .env("HOME", s.home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"deny\"") && text.contains("control character"),
        "{text}"
    );
}

#[test]
fn wrangler_inherits_the_callers_sigpipe_disposition() {
    let s = Sandbox::new();
    let real = s.path("sigpipe/wrangler");
    let seen = s.path("sigign");
    write_exe(
        &real,
        &format!(
            "#!/bin/sh\nwhile read -r k v; do [ \"$k\" = SigIgn: ] && echo \"$v\" > '{}'; done < /proc/self/status\nexit 0\n",
            seen.display()
        ),
    );
    // SIGPIPE is signal 13: bit 12 of the ignored-signal mask.
    let ignored = |caller_ignores: bool| {
        let trap = if caller_ignores { "trap '' PIPE; " } else { "" };
        s.run(
            Path::new("/bin/sh"),
            &["-c", &format!("{trap}exec '{BIN}' dev")],
        )
        .env("SAFE_WRANGLER_REAL", &real)
        .output()
        .assert_code(0);
        let line = fs::read_to_string(&seen).unwrap();
        let mask = u64::from_str_radix(line.trim(), 16).unwrap();
        mask & (1 << 12) != 0
    };
    assert!(ignored(true));
    assert!(!ignored(false));
}

#[test]
fn scripts_write_keeps_hard_links_and_refuses_a_read_only_file() {
    let s = Sandbox::new();
    let pkg = s.project().join("package.json");
    fs::write(&pkg, "{\n  \"name\": \"shop\"\n}\n").unwrap();
    let link = s.path("package-link.json");
    fs::hard_link(&pkg, &link).unwrap();
    fs::set_permissions(&pkg, fs::Permissions::from_mode(0o640)).unwrap();
    s.safe(&["scripts", "--write"]).output().assert_code(0);
    let text = fs::read_to_string(&link).unwrap();
    assert!(
        text.contains("\"scripts\""),
        "the hard link was split: {text}"
    );
    assert_eq!(
        fs::metadata(&pkg).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // Read-only: refused with the reason, not rewritten (root could write it; we do not).
    let before = "{\n  \"name\": \"other\"\n}\n";
    fs::write(&pkg, before).unwrap();
    fs::set_permissions(&pkg, fs::Permissions::from_mode(0o444)).unwrap();
    let out = s.safe(&["scripts", "--write"]).output();
    out.assert_code(1);
    assert!(out.stderr().contains("read-only"), "{}", out.stderr());
    assert_eq!(fs::read_to_string(&pkg).unwrap(), before);
}

/// The real wrangler reads a credential from a `.env` line after a byte order mark and from
/// lines ended by a lone CR; through safe-wrangler neither reaches the API.
#[test]
fn e2e_bom_and_cr_dotenv_credentials_never_reach_the_api() {
    use crate::fake_api::{self, FakeApi, FakeOptions};
    let wrangler = fake_api::require_wrangler_real();
    for body in [
        format!("\u{feff}CLOUDFLARE_API_TOKEN={DUMMY_TOKEN}\n"),
        format!("X=1\rCLOUDFLARE_API_TOKEN={DUMMY_TOKEN}\r"),
    ] {
        let s = Sandbox::new();
        fs::write(s.project().join(".env"), &body).unwrap();
        let xdg = s.home().join(".config");
        let carried = |program: &Path| {
            let fake = FakeApi::start(FakeOptions::default());
            let mut cmd = fake_api::isolated_command(program, &s.project(), &xdg, &fake.base_url());
            cmd.args(["whoami"])
                .env("SAFE_WRANGLER_REAL", &wrangler)
                .env("SAFE_WRANGLER_LOG", s.path("audit.jsonl"))
                .process_group(0);
            let _ = fake_api::run_wrangler_with(cmd, None, fake_api::WRANGLER_TIMEOUT);
            fake.requests()
                .iter()
                .filter(|r| r.credential != fake_api::Credential::None)
                .count()
        };
        assert!(
            carried(&wrangler) > 0,
            "{body:?}: wrangler itself ignores it"
        );
        assert_eq!(carried(Path::new(BIN)), 0, "{body:?}: reached the API");
    }
}
