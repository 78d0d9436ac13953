//! The audit log: one JSON line per decision, written before wrangler runs (write-ahead), so a
//! refused call is recorded too; a prompt's record is written once the human has answered (or the
//! prompt was interrupted), with that outcome. Production, migration and dns work that runs is a
//! child of safe-wrangler: when it ends, its record is appended once more with `result` (exit
//! status or signal, and `duration_ms`).
//!
//! Location: `$SAFE_WRANGLER_LOG`, else `$XDG_STATE_HOME/safe-wrangler/audit.jsonl` (default
//! `~/.local/state/...`, with the user database's home when `HOME` is unset; a relative
//! `XDG_STATE_HOME` is ignored, as the XDG spec says), created with mode 0600 in a 0700 directory.
//! Each line is written with a single `write(2)` on an `O_APPEND` descriptor while holding an
//! exclusive `flock`, so parallel calls never interleave or lose lines; a file that ends without a
//! newline (a torn line: disk full, a writer killed mid-line) gets one first, so a record always
//! starts on a fresh line. The lock is waited for at most [`LOCK_WAIT`]. Past [`ROTATE_AT`] bytes
//! the file is renamed to `audit.jsonl.1` (replacing the previous one) and a new file begun.
//! Secrets in argv are redacted before anything is written.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::context::Env;
use crate::core::record::{self, AuditEntry};
use crate::{Assessment, World};

/// Where the log lives for this environment, if a home for it can be found.
#[must_use]
pub fn log_path(env: &Env) -> Option<PathBuf> {
    if let Some(p) = env.get("SAFE_WRANGLER_LOG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    // XDG: a relative path in an XDG variable is invalid and is ignored (a relative one would put
    // the log inside whatever project the call happens to run in).
    let state = match env
        .get("XDG_STATE_HOME")
        .map(Path::new)
        .filter(|v| v.is_absolute())
    {
        Some(x) => x.to_owned(),
        None => home(env)?.join(".local/state"),
    };
    Some(state.join("safe-wrangler/audit.jsonl"))
}

/// `HOME`, else the user database's home (as the policy lookup does).
fn home(env: &Env) -> Option<PathBuf> {
    if let Some(h) = env.get("HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(h));
    }
    crate::edge::userdb::my_home().filter(|d| d.is_absolute())
}

/// `t` as RFC 3339 UTC to the second (`2026-11-23T14:50:00Z`), as every line's `time`.
#[must_use]
pub fn rfc3339(t: SystemTime) -> String {
    record::rfc3339(t)
}

/// Parses an RFC 3339 UTC timestamp (the shape [`rfc3339`] writes, fractional seconds allowed).
#[must_use]
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    record::parse_rfc3339(s)
}

/// argv with secret values replaced by `<redacted>` (`--var` values, token shapes).
#[must_use]
pub fn redacted_argv(args: &[OsString]) -> Vec<String> {
    crate::display::redacted_words(args)
}

/// The record of a call stopped before any decision could be made because safe-wrangler keeps
/// calling itself (or the nesting counter is unreadable): exit 127, and wrangler never ran.
#[must_use]
pub fn loop_entry(world: &World, args: &[OsString], reason: &str) -> AuditEntry {
    AuditEntry::nesting_loop(
        rfc3339(SystemTime::now()),
        world.cwd.display().to_string(),
        args,
        reason,
    )
}

/// One log entry for a decision (`outcome`, written as `decision`, is `run`, `refuse`,
/// `confirmed`, `declined` or `interrupted`). A child run's end is added by the caller as
/// `result` on the same record appended again.
#[must_use]
pub fn entry(
    a: &Assessment,
    world: &World,
    args: &[OsString],
    wrangler: Option<&Path>,
    outcome: &str,
) -> AuditEntry {
    AuditEntry::call(
        a,
        rfc3339(SystemTime::now()),
        world.cwd.display().to_string(),
        args,
        wrangler.map(|w| w.display().to_string()),
        outcome,
        crate::oidc::report(a),
    )
}

/// How long a call waits for another process's lock on the log. A lock held longer (a stuck
/// writer, `flock audit.jsonl sleep 600`) must not hang every wrangler call: past this the call
/// goes on and says the log could not be written.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// The size past which the log is rotated to `<log>.1` (the previous `.1` is replaced).
pub const ROTATE_AT: u64 = 64 << 20;

/// The rotated previous log beside `path`.
#[must_use]
pub fn previous(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".1");
    PathBuf::from(p)
}

/// Opens the log for appending: never through a symlink, and never a file that is not already a
/// JSON-lines log (a `SAFE_WRANGLER_LOG` pointing at a shell start-up file must not get lines).
fn open_log(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > 0 {
        let mut first = [0u8; 1];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut first, 0)?;
        if first[0] != b'{' {
            return Err(std::io::Error::other(
                "the file is not a safe-wrangler audit log",
            ));
        }
    }
    Ok(file)
}

/// Takes the exclusive lock within [`LOCK_WAIT`]. The wait is a blocking `flock` (the kernel
/// wakes waiters as the lock is released, so hundreds of parallel callers each get their turn)
/// cut short by an alarm: `SIGALRM` with a handler that does nothing and no `SA_RESTART`
/// interrupts the wait. Called from the guard, which has a single thread.
fn lock(file: File) -> std::io::Result<nix::fcntl::Flock<File>> {
    use nix::errno::Errno;
    use nix::fcntl::{Flock, FlockArg};
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => return Ok(l),
        Err((f, Errno::EWOULDBLOCK | Errno::EINTR)) => f,
        Err((_, e)) => return Err(e.into()),
    };
    let wake = SigAction::new(
        SigHandler::Handler(on_alarm),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing, which is async-signal-safe.
    let old = unsafe { sigaction(Signal::SIGALRM, &wake) }?;
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    nix::unistd::alarm::set(u32::try_from(LOCK_WAIT.as_secs()).unwrap_or(2));
    let mut file = file;
    let result = loop {
        match Flock::lock(file, FlockArg::LockExclusive) {
            Ok(l) => break Ok(l),
            // Another signal: wait on while time is left.
            Err((f, Errno::EINTR)) if std::time::Instant::now() < deadline => file = f,
            Err((_, Errno::EINTR)) => {
                break Err(std::io::Error::other(format!(
                    "another process has held its lock for over {} s",
                    LOCK_WAIT.as_secs()
                )));
            }
            Err((_, e)) => break Err(e.into()),
        }
    };
    nix::unistd::alarm::cancel();
    // SAFETY: puts back the disposition that was there before.
    let _ = unsafe { sigaction(Signal::SIGALRM, &old) };
    result
}

extern "C" fn on_alarm(_: nix::libc::c_int) {}

/// Appends one line to the log.
///
/// # Errors
/// When the log cannot be opened, locked within [`LOCK_WAIT`] or written.
pub fn append(path: &Path, line: &AuditEntry) -> std::io::Result<()> {
    use std::os::unix::fs::{FileExt, MetadataExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut text = line.to_json();
    text.push('\n');
    // A rotation by another caller replaces the file between our open and our lock: then the
    // lock is on the old file, so open again (a few times at most).
    for _ in 0..4 {
        let lock = lock(open_log(path)?)?;
        let meta = lock.metadata()?;
        match std::fs::symlink_metadata(path) {
            Ok(now) if now.ino() == meta.ino() && now.dev() == meta.dev() => {}
            _ => continue,
        }
        if meta.len() >= ROTATE_AT {
            std::fs::rename(path, previous(path))?;
            continue;
        }
        let mut bytes = Vec::with_capacity(text.len() + 1);
        if meta.len() > 0 {
            let mut last = [0u8; 1];
            lock.read_exact_at(&mut last, meta.len() - 1)?;
            if last[0] != b'\n' {
                bytes.push(b'\n');
            }
        }
        bytes.extend_from_slice(text.as_bytes());
        let mut f: &File = &lock;
        let _ = f.as_fd();
        // One write(2): a short write (disk full) leaves a torn line, which the next record
        // steps over with its leading newline; the error is reported to the caller.
        let n = f.write(&bytes)?;
        if n < bytes.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                format!("only {n} of {} bytes written", bytes.len()),
            ));
        }
        return Ok(());
    }
    Err(std::io::Error::other(
        "the file keeps being replaced by another process",
    ))
}

/// Parses a duration: a number and a unit, `30s`, `15m`, `2h`, `7d`, `1w` (humantime's forms:
/// also `90min`, `1h30m`, `1h 30m`, `500ms`, `2months`, `1y`, ...).
///
/// # Errors
/// A one-line reason naming `--since` (callers for other flags replace the name).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| match e {
        humantime::DurationError::UnknownUnit { .. } => {
            format!("--since {s:?}: the unit must be s, m, h, d or w")
        }
        humantime::DurationError::NumberOverflow => format!("--since {s:?}: too long"),
        _ => format!("--since {s:?}: expected a number and a unit, e.g. 30m, 2h, 7d"),
    })
}

/// `--since`: a duration back from `now` ([`parse_duration`]) or an RFC 3339 UTC time
/// (`2026-11-23T14:50:00Z`); the earliest time to show.
///
/// # Errors
/// A one-line reason.
pub fn parse_since(s: &str, now: SystemTime) -> Result<SystemTime, String> {
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    if s.as_bytes().get(4) == Some(&b'-') && s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return Err(format!(
            "--since {s:?}: expected an RFC 3339 UTC time such as 2026-11-23T14:50:00Z, or a duration such as 2h"
        ));
    }
    parse_duration(s).map(|d| now.checked_sub(d).map_or(UNIX_EPOCH, |t| t.max(UNIX_EPOCH)))
}

/// `safe-wrangler log`.
#[must_use]
pub fn show(world: &World, since: Option<&str>, class: Option<&str>, json_out: bool) -> u8 {
    let esc = crate::display::escape;
    let cutoff = match since.map(|s| parse_since(s, SystemTime::now())).transpose() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("safe-wrangler: {}", esc(&e));
            return crate::exit::USAGE;
        }
    };
    if let Some(c) = class
        && !crate::wrangler::Class::ALL.iter().any(|k| k.as_str() == c)
    {
        eprintln!(
            "safe-wrangler: --class {}: expected one of local, read, preview, production, migration, dns",
            esc(c)
        );
        return crate::exit::USAGE;
    }
    let Some(path) = log_path(&world.env) else {
        eprintln!("safe-wrangler: no audit log location (set SAFE_WRANGLER_LOG or HOME)");
        return crate::exit::USAGE;
    };
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let mut skipped = 0u64;
    let filter = Filter {
        cutoff,
        class,
        json_out,
    };
    // The rotated previous file first, then the current one.
    for file in [previous(&path), path.clone()] {
        let f = match File::open(&file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                eprintln!(
                    "safe-wrangler: cannot read {}: {e}",
                    esc(&file.display().to_string())
                );
                return 1;
            }
        };
        match stream(std::io::BufReader::new(f), &filter, &mut out) {
            Ok(n) => skipped += n,
            Err(Failure::Write(e)) => return cannot_write(&e),
            Err(Failure::Read(e)) => {
                eprintln!(
                    "safe-wrangler: cannot read {}: {e}",
                    esc(&file.display().to_string())
                );
                return 1;
            }
        }
    }
    if let Err(e) = out.flush() {
        return cannot_write(&e);
    }
    if skipped > 0 {
        eprintln!(
            "safe-wrangler: skipped {skipped} unreadable line{} in {} (torn or not JSON)",
            if skipped == 1 { "" } else { "s" },
            esc(&path.display().to_string())
        );
    }
    0
}

/// The longest line `log` reads into memory: a longer one is skipped as unreadable.
const MAX_LINE: usize = 16 << 20;

/// What `log` shows.
struct Filter<'a> {
    cutoff: Option<SystemTime>,
    class: Option<&'a str>,
    json_out: bool,
}

/// Reads `input` line by line (never the whole file), writing the lines `filter` keeps; returns
/// how many lines could not be read (torn, not UTF-8, not JSON, or longer than [`MAX_LINE`]).
/// Why `log` stopped: its input could not be read, or its output could not be written.
#[derive(Debug)]
enum Failure {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// `log`'s output failed: a reader that went away (`log | head`) stops quietly; anything else
/// (a full disk) is one line and [`crate::Exit::Output`].
fn cannot_write(e: &std::io::Error) -> u8 {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return 0;
    }
    let _ = writeln!(
        std::io::stderr(),
        "safe-wrangler: cannot write to stdout: {e}"
    );
    crate::Exit::Output.code()
}

fn stream(
    mut input: impl std::io::BufRead,
    filter: &Filter<'_>,
    out: &mut impl Write,
) -> Result<u64, Failure> {
    let mut skipped = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut too_long = false;
        let mut saw_any = false;
        loop {
            let buf = input.fill_buf().map_err(Failure::Read)?;
            if buf.is_empty() {
                break;
            }
            saw_any = true;
            let newline = buf.iter().position(|&b| b == b'\n');
            let (chunk, done) = match newline {
                Some(i) => (&buf[..i], i + 1),
                None => (buf, buf.len()),
            };
            if line.len() + chunk.len() > MAX_LINE {
                too_long = true;
            } else {
                line.extend_from_slice(chunk);
            }
            input.consume(done);
            if newline.is_some() {
                break;
            }
        }
        if !saw_any {
            return Ok(skipped);
        }
        if line.is_empty() && !too_long {
            continue;
        }
        let parsed = (!too_long)
            .then(|| std::str::from_utf8(&line).ok())
            .flatten()
            .and_then(|t| AuditEntry::read(t).map(|e| (t, e)));
        let Some((text, e)) = parsed else {
            skipped += 1;
            continue;
        };
        show_line(text, &e, filter, out).map_err(Failure::Write)?;
    }
}

fn show_line(
    line: &str,
    e: &AuditEntry,
    filter: &Filter<'_>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let esc = crate::display::escape;
    if let (Some(cut), Some(t)) = (filter.cutoff, e.when())
        && t < cut
    {
        return Ok(());
    }
    if filter.class.is_some_and(|c| e.class.as_deref() != Some(c)) {
        return Ok(());
    }
    if filter.json_out {
        return writeln!(out, "{line}");
    }
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let env = match e.environment.as_deref() {
        None | Some("") => "(top level)".to_owned(),
        Some(env) => env.to_owned(),
    };
    let who = match &e.context {
        Some(c) if c.kind == "agent" => {
            format!("agent {}", c.agent_marker.as_deref().unwrap_or(""))
        }
        Some(c) if c.kind == "ci" => format!("ci {}", c.ci_provider.as_deref().unwrap_or("")),
        Some(c) => c.kind.clone(),
        None => String::new(),
    };
    let argv = e.argv.as_deref().unwrap_or_default().join(" ");
    let decision = match &e.signal {
        Some(sig) => format!("{} ({sig})", e.decision),
        None => e.decision.clone(),
    };
    // The Worker and the project (the directory's name) say which call this was; a child run's
    // `result` says how it ended.
    let worker = e
        .resources
        .as_ref()
        .and_then(|r| r.worker.as_deref())
        .unwrap_or("-");
    let project = Path::new(&s(&e.cwd))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ended = match e.result.as_ref().map(|r| (r.exit, r.signal.as_deref())) {
        Some((Some(code), _)) => format!(" -> exit {code}"),
        Some((None, Some(sig))) => format!(" -> {}", esc(sig)),
        _ => String::new(),
    };
    writeln!(
        out,
        "{}  {:<9} {:<10} {:<12} {} in {}  {}{}  [{}; {}]  wrangler {}",
        esc(&e.time),
        esc(&decision),
        esc(&s(&e.class)),
        esc(&env),
        esc(worker),
        esc(&project),
        esc(&s(&e.command)),
        ended,
        esc(&who),
        esc(&e.decided_by),
        esc(&argv),
    )
}

#[cfg(test)]
#[allow(clippy::duration_suboptimal_units)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for secs in [0u64, 951_782_400, 1_795_000_000, 4_102_444_800] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t), "{secs}");
        }
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn log_streams_and_counts_unreadable_lines() {
        let good = r#"{"time":"2026-01-01T00:00:00Z","decision":"run","class":"read"}"#;
        // A torn line cut inside a multi-byte character, a line glued to nothing, a blank line.
        let mut input = format!("{good}\n").into_bytes();
        input.extend_from_slice(&"{\"argv\":\"é\"".as_bytes()[..9]);
        input.extend_from_slice(format!("\n\n{good}\nnot json\n{good}").as_bytes());
        let filter = Filter {
            cutoff: None,
            class: None,
            json_out: true,
        };
        let mut out = Vec::new();
        let reader = std::io::BufReader::with_capacity(7, input.as_slice());
        assert_eq!(stream(reader, &filter, &mut out).unwrap(), 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{good}\n{good}\n{good}\n")
        );
    }

    #[test]
    fn log_escapes_every_field_it_shows() {
        let line = r#"{"time":"\u001b[2J2026","class":"read\u001b]0;x\u0007","decision":"run"}"#;
        let filter = Filter {
            cutoff: None,
            class: None,
            json_out: false,
        };
        let mut out = Vec::new();
        assert_eq!(stream(line.as_bytes(), &filter, &mut out).unwrap(), 0);
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains(['\u{1b}', '\u{7}']), "{text:?}");
        assert!(text.starts_with("\\u{1b}[2J2026  run"), "{text:?}");
    }

    #[test]
    fn records_start_on_a_fresh_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "{\"torn\":").unwrap();
        let line = |decision: &str| AuditEntry {
            time: "2026-01-01T00:00:00Z".into(),
            decision: decision.into(),
            ..AuditEntry::default()
        };
        append(&path, &line("run")).unwrap();
        append(&path, &line("refuse")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let (a, b) = (line("run").to_json(), line("refuse").to_json());
        assert_eq!(text, format!("{{\"torn\":\n{a}\n{b}\n"));
    }

    #[test]
    fn a_full_size_log_is_rotated_keeping_the_previous_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        // A sparse file of the limit's size that reads as a log.
        let f = File::create(&path).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, b"{\"old\":1}\n", 0).unwrap();
        f.set_len(ROTATE_AT).unwrap();
        let new = AuditEntry {
            decision: "run".into(),
            ..AuditEntry::default()
        };
        append(&path, &new).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", new.to_json())
        );
        assert_eq!(std::fs::metadata(previous(&path)).unwrap().len(), ROTATE_AT);
    }

    #[test]
    fn a_relative_state_home_is_ignored() {
        let env: Env = [("XDG_STATE_HOME", "state"), ("HOME", "/h")]
            .into_iter()
            .collect();
        assert_eq!(
            log_path(&env),
            Some(PathBuf::from("/h/.local/state/safe-wrangler/audit.jsonl"))
        );
        // No HOME: the user database's home, as the policy lookup does.
        let env: Env = [("XDG_STATE_HOME", "state")].into_iter().collect();
        let user = nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .unwrap();
        assert_eq!(
            log_path(&env),
            Some(user.dir.join(".local/state/safe-wrangler/audit.jsonl"))
        );
        let env: Env = [("XDG_STATE_HOME", "/s")].into_iter().collect();
        assert_eq!(
            log_path(&env),
            Some(PathBuf::from("/s/safe-wrangler/audit.jsonl"))
        );
    }

    /// The old hand-written parser: digits, then exactly one of s, m, h, d, w.
    fn before(s: &str) -> Option<Duration> {
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: u64 = num.parse().ok()?;
        let secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => return None,
        };
        Some(Duration::from_secs(n.saturating_mul(secs)))
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("0m"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("007m"), Ok(Duration::from_secs(420)));
        // Newly accepted with humantime.
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90min"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2hours"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1y"), Ok(Duration::from_secs(31_557_600)));
        // Still refused, with the same one-line reasons.
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 5 m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in [
            "", "soon", "m", "-5m", "+5m", "5", "1.", "5 m x", "30m!", "1h-5m",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(
                e == format!("--since {bad:?}: expected a number and a unit, e.g. 30m, 2h, 7d")
                    || e == format!("--since {bad:?}: the unit must be s, m, h, d or w"),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            parse_duration("5x").unwrap_err(),
            "--since \"5x\": the unit must be s, m, h, d or w"
        );
        assert_eq!(
            parse_duration("soon").unwrap_err(),
            "--since \"soon\": expected a number and a unit, e.g. 30m, 2h, 7d"
        );
    }

    proptest::proptest! {
        // Deterministic: a fixed seed, no failure files.
        #![proptest_config(proptest::test_runner::Config {
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0xa0d1),
            ..proptest::test_runner::Config::default()
        })]
        /// Every duration the hand-written parser accepted reads the same (up to the size where
        /// it saturated and humantime says "too long").
        #[test]
        fn every_old_duration_reads_the_same(n in 0u64..=u64::from(u32::MAX), unit in "[smhdw]") {
            let text = format!("{n}{unit}");
            proptest::prop_assert_eq!(parse_duration(&text).ok(), before(&text));
        }

        /// And what it refused, humantime refuses too, but for its own longer units and forms.
        #[test]
        fn what_was_refused_stays_refused(text in "[0-9a-z .+-]{0,6}") {
            if before(&text).is_none()
                && let Ok(d) = parse_duration(&text)
            {
                // A bare 0, a fraction, spaces, another unit, or several parts.
                let extra = text == "0"
                    || text.contains(['.', ' '])
                    || text.contains(|c: char| c.is_ascii_alphabetic() && !"smhdw".contains(c))
                    || text.matches(|c: char| c.is_ascii_alphabetic()).count() > 1;
                proptest::prop_assert!(extra, "{text:?} -> {d:?}");
            }
        }
    }

    #[test]
    fn since_takes_a_duration_or_a_time() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(parse_since("2h", now), Ok(now - Duration::from_secs(7200)));
        assert_eq!(
            parse_since("2026-11-23T14:50:00Z", now),
            Ok(UNIX_EPOCH + Duration::from_secs(1_795_445_400))
        );
        assert_eq!(
            parse_since("2026-11-23T14:50:00.5Z", now),
            Ok(UNIX_EPOCH + Duration::from_millis(1_795_445_400_500))
        );
        assert_eq!(parse_since("100000000d", now), Ok(UNIX_EPOCH));
        for bad in [
            "2026-11-23",
            "2026-11-23T14:50:00+01:00",
            "2026-13-01T00:00:00Z",
        ] {
            let e = parse_since(bad, now).unwrap_err();
            assert!(e.contains("RFC 3339") && !e.contains('\n'), "{e}");
        }
        assert!(parse_since("soon", now).is_err());
    }
}

/// The lines the writer produces for realistic calls, pinned by snapshots taken from the
/// hand-built (`json!`) writer before the typed record replaced it: same keys, same order, same
/// values. Only the call's time and the temp directory are normalised.
#[cfg(test)]
mod compat {
    use super::*;
    use crate::core::context::{Context, Disk};

    /// A runner's disk: every directory exists, every file reads as the event of a push to acme/shop.
    struct Runner;
    impl Disk for Runner {
        fn read(&self, _: &str) -> Option<Vec<u8>> {
            Some(br#"{"repository": {"full_name": "acme/shop"}}"#.to_vec())
        }
        fn is_dir(&self, _: &str) -> bool {
            true
        }
    }

    /// `text` with the leading `"time"` value fixed and the project directory named `<dir>`.
    fn normalised(text: &str, dir: &Path) -> String {
        let text = text.replace(&dir.display().to_string(), "<dir>");
        let prefix = "{\"time\":\"";
        assert!(text.starts_with(prefix), "{text}");
        let stamp = &text[prefix.len()..prefix.len() + 20];
        assert!(parse_rfc3339(stamp).is_some(), "{stamp}");
        format!("{prefix}<time>{}", &text[prefix.len() + 20..])
    }

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("wrangler.toml"),
            "name = \"shop\"\nmain = \"src/index.js\"\nroutes = [\"shop.example.com/*\"]\n\n[env.staging]\nname = \"shop-staging\"\n\n[env.production]\nroutes = [\"example.com/*\"]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("safe-wrangler.json"),
            r#"{"approved_ci": [{"provider": "github-actions", "repository": "acme/shop", "refs": ["refs/heads/main"], "classes": ["production", "dns"]}]}"#,
        )
        .unwrap();
        dir
    }

    fn world(dir: &Path, env: &[(&str, &str)]) -> World {
        let mut all = vec![("HOME", "/nonexistent-home"), ("PATH", "/usr/bin:/bin")];
        all.extend_from_slice(env);
        World {
            argv: Vec::new(),
            env: all.into_iter().collect(),
            cwd: dir.to_owned(),
            exe: None,
        }
    }

    fn github(genuine: bool) -> Vec<(&'static str, &'static str)> {
        let mut env = vec![
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_RUN_ID", "123"),
            ("CLOUDFLARE_API_TOKEN", "dummy-not-a-token"),
        ];
        if genuine {
            env.extend([
                ("RUNNER_TEMP", "/runner/tmp"),
                ("GITHUB_EVENT_PATH", "/e.json"),
            ]);
        }
        env
    }

    /// A caller's environment, whether a terminal is there, and wrangler's argv.
    type Case<'a> = (Vec<(&'a str, &'a str)>, bool, Vec<String>);

    /// Every kind of line the wrapper writes for a call, over several callers and commands.
    pub(super) fn call_lines(dir: &Path) -> Vec<String> {
        let token = format!("cfut_{}{}", "b".repeat(40), "89abcdef");
        let cases: Vec<Case> = vec![
            (vec![("CLAUDECODE", "1")], false, vec!["deploy".into()]),
            (vec![("CLAUDECODE", "1")], false, vec!["whoami".into()]),
            (
                vec![],
                true,
                vec!["deploy".into(), "--env".into(), "production".into()],
            ),
            (
                vec![],
                false,
                vec!["tail".into(), "--env".into(), "staging".into()],
            ),
            (
                vec![],
                true,
                vec![
                    "deploy".into(),
                    "--env".into(),
                    token.clone(),
                    "--var".into(),
                    "KEY:hunter2".into(),
                ],
            ),
            (vec![], false, vec!["dev".into()]),
            (github(true), false, vec!["deploy".into()]),
            (github(false), false, vec!["deploy".into()]),
            (github(true), false, vec!["versions".into(), "list".into()]),
            (
                vec![("CLAUDECODE", "1")],
                false,
                vec![
                    "d1".into(),
                    "execute".into(),
                    "DB".into(),
                    "--remote".into(),
                ],
            ),
        ];
        let mut lines = Vec::new();
        for (env, terminal, argv) in cases {
            let world = world(dir, &env);
            let args: Vec<OsString> = argv.iter().map(OsString::from).collect();
            let (a, _) = crate::evaluate(
                &world,
                &args,
                |env, _| {
                    let mut c = Context::detect(env, terminal, &Runner);
                    c.terminal = terminal;
                    c
                },
                false,
            )
            .unwrap();
            let wrangler = Path::new("/usr/lib/node_modules/wrangler/bin/wrangler.js");
            for (outcome, real) in [
                ("run", Some(wrangler)),
                ("refuse", None),
                ("confirmed", Some(wrangler)),
                ("declined", Some(wrangler)),
            ] {
                lines.push(entry(&a, &world, &args, real, outcome).to_string());
            }
            let mut line = entry(&a, &world, &args, Some(wrangler), "interrupted");
            line.signal = Some("SIGINT".into());
            lines.push(line.to_string());
            for ended in [
                crate::edge::child::Ended::Exited(0),
                crate::edge::child::Ended::Exited(1),
                crate::edge::child::Ended::Signaled(15),
            ] {
                let finished = crate::edge::child::Finished {
                    ended,
                    duration: Duration::from_millis(1234),
                };
                let mut line = entry(&a, &world, &args, Some(wrangler), "confirmed");
                line.result = Some(finished.outcome());
                lines.push(line.to_string());
            }
        }
        let world = world(dir, &[]);
        let args: Vec<OsString> = vec!["deploy".into(), "--var".into(), "K:secret".into()];
        for why in [
            "safe-wrangler keeps calling itself (nesting depth 8)",
            "SAFE_WRANGLER_DEPTH is not a number",
        ] {
            lines.push(loop_entry(&world, &args, why).to_string());
        }
        lines
    }

    /// The grant events, as `grants::record` appends them.
    pub(super) fn grant_lines(dir: &Path) -> Vec<String> {
        let log = dir.join("grant-audit.jsonl");
        let env: Env = [("SAFE_WRANGLER_LOG", log.to_str().unwrap())]
            .into_iter()
            .collect();
        let token = format!("cfut_{}{}", "b".repeat(40), "89abcdef");
        let fp = |environment: &str, worker: Option<&str>| crate::core::grant::Fingerprint {
            project: "/p/wrangler.toml".into(),
            command: "deploy".into(),
            class: "production".into(),
            environment: environment.into(),
            target: "shop".into(),
            worker: worker.map(str::to_owned),
            routes: vec!["example.com/*".into()],
            ..Default::default()
        };
        let grant = |reason: Option<&str>, used: u32, fingerprint| crate::core::grant::Grant {
            id: "g7k2".into(),
            owner: "alice".into(),
            reason: reason.map(str::to_owned),
            created: 1_795_000_000,
            expires: 1_795_001_800,
            uses: 2,
            used,
            what: "wrangler deploy --env production".into(),
            fingerprint,
        };
        let cases = [
            (
                "grant-created",
                grant(Some("hotfix #12"), 0, fp("production", Some("shop"))),
            ),
            ("grant-used", grant(None, 1, fp("", None))),
            ("grant-expired", grant(None, 1, fp(&token, Some(&token)))),
            (
                "grant-used-up",
                grant(Some("x"), 2, fp("production", Some("shop"))),
            ),
            (
                "grant-revoked",
                grant(None, 0, fp("production", Some("shop"))),
            ),
        ];
        for (event, g) in &cases {
            crate::edge::grants::record(&env, event, g);
        }
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_lines_written_keep_their_shape() {
        let dir = project();
        let mut all = call_lines(dir.path());
        all.extend(grant_lines(dir.path()));
        // The typed reader holds every key of every kind: read back, each line is written again
        // byte for byte.
        for line in &all {
            assert_eq!(&AuditEntry::read(line).unwrap().to_json(), line);
        }
        let text: Vec<String> = all.iter().map(|l| normalised(l, dir.path())).collect();
        // No secret reaches the log.
        assert!(
            !text
                .iter()
                .any(|l| l.contains("hunter2") || l.contains("cfut_"))
        );
        insta::assert_snapshot!("audit_lines", text.join("\n"));
    }
}
