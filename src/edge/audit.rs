//! The audit log: one JSON line per guarded call, written *before* wrangler runs (write-ahead),
//! so a refused or interrupted call is recorded too.
//!
//! Location: `$SAFE_WRANGLER_LOG`, else `$XDG_STATE_HOME/safe-wrangler/audit.jsonl` (default
//! `~/.local/state/...`), created with mode 0600 in a 0700 directory. Each line is written with a
//! single `write(2)` on an `O_APPEND` descriptor while holding an exclusive `flock`, so parallel
//! calls never interleave or lose lines. Secrets in argv are redacted before anything is written.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::context::Env;
use crate::{Assessment, World};

/// Where the log lives for this environment, if a home for it can be found.
#[must_use]
pub fn log_path(env: &Env) -> Option<PathBuf> {
    if let Some(p) = env.get("SAFE_WRANGLER_LOG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let state = match env.get("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(env.get("HOME").filter(|v| !v.is_empty())?).join(".local/state"),
    };
    Some(state.join("safe-wrangler/audit.jsonl"))
}

/// `seconds since the epoch` as RFC 3339 UTC (`2026-11-23T14:50:00Z`), without a date crate.
#[must_use]
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses our own timestamps back (only the exact shape [`rfc3339`] writes).
#[must_use]
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // civil-to-days, the inverse of the above.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hour * 3600 + minute * 60 + second).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// argv with secret values replaced by `<redacted>` (`--var` values, token shapes).
#[must_use]
pub fn redacted_argv(args: &[OsString]) -> Vec<String> {
    crate::display::redacted_words(args)
}

/// The context in the log's terms.
fn context_json(a: &Assessment) -> Value {
    let kind = match (&a.context.agent, &a.context.ci, a.context.terminal) {
        (Some(_), _, _) => "agent",
        (None, Some(_), _) => "ci",
        (None, None, true) => "human",
        (None, None, false) => "no-terminal",
    };
    json!({
        "kind": kind,
        "agent_marker": a.context.agent,
        "ci_provider": a.context.ci.as_ref().map(|c| c.provider.as_str()),
        "ci_genuine": a.context.ci.as_ref().map(|c| c.inconsistencies.is_empty()),
        "approved_by": a.ruling.by.starts_with("approved_ci").then_some(a.ruling.by.as_str()),
    })
}

/// One log entry for a decision (`outcome` is `run`, `refuse`, `confirm`, `confirmed`,
/// `declined`).
#[must_use]
pub fn entry(
    a: &Assessment,
    world: &World,
    args: &[OsString],
    wrangler: Option<&Path>,
    outcome: &str,
) -> Value {
    let op = &a.operation;
    json!({
        "time": rfc3339(SystemTime::now()),
        "command": op.command,
        "class": op.class,
        "environment": op.environment,
        "production": op.production,
        "resources": { "worker": a.worker, "routes": op.routes },
        "decision": outcome,
        "rule": op.rule,
        "decided_by": a.ruling.by,
        "context": context_json(a),
        "cwd": world.cwd.display().to_string(),
        "wrangler": wrangler.map(|w| w.display().to_string()),
        "argv": redacted_argv(args),
    })
}

/// Appends one line to the log.
///
/// # Errors
/// When the log cannot be opened, locked or written.
pub fn append(path: &Path, line: &Value) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    // Never through a symlink, and never into a file that is not already a JSON-lines log (a
    // `SAFE_WRANGLER_LOG` pointing at a shell start-up file must not get lines appended).
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
    let mut text = line.to_string();
    text.push('\n');
    let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| std::io::Error::from(e))?;
    let mut f: &File = &lock;
    let _ = f.as_fd();
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Parses `30s`, `15m`, `2h`, `7d`, `1w`.
///
/// # Errors
/// A one-line reason.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("--since {s:?}: expected a number and a unit, e.g. 30m, 2h, 7d"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("--since {s:?}: the unit must be s, m, h, d or w")),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// `safe-wrangler log`.
#[must_use]
pub fn show(world: &World, since: Option<&str>, class: Option<&str>, json_out: bool) -> u8 {
    let esc = crate::display::escape;
    let cutoff = match since.map(parse_duration).transpose() {
        Ok(d) => d.map(|d| SystemTime::now().checked_sub(d).unwrap_or(UNIX_EPOCH)),
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
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            eprintln!(
                "safe-wrangler: cannot read {}: {e}",
                esc(&path.display().to_string())
            );
            return 1;
        }
    };
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let time = v["time"].as_str().and_then(parse_rfc3339);
        if let (Some(cut), Some(t)) = (cutoff, time)
            && t < cut
        {
            continue;
        }
        if class.is_some_and(|c| v["class"] != c) {
            continue;
        }
        if json_out {
            println!("{line}");
            continue;
        }
        let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
        let env = if s("environment").is_empty() {
            "(top level)".to_owned()
        } else {
            s("environment")
        };
        let who = match v["context"]["kind"].as_str() {
            Some("agent") => format!(
                "agent {}",
                v["context"]["agent_marker"].as_str().unwrap_or("")
            ),
            Some("ci") => format!("ci {}", v["context"]["ci_provider"].as_str().unwrap_or("")),
            Some(k) => k.to_owned(),
            None => String::new(),
        };
        let argv: Vec<&str> = v["argv"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        // The Worker and the project (the directory's name) say which call this was; a child
        // run's outcome says how it ended.
        let worker = v["resources"]["worker"].as_str().unwrap_or("-");
        let project = Path::new(&s("cwd"))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ended = match (
            v["outcome"]["exit"].as_i64(),
            v["outcome"]["signal"].as_str(),
        ) {
            (Some(code), _) => format!(" -> exit {code}"),
            (None, Some(sig)) => format!(" -> {sig}"),
            _ => String::new(),
        };
        println!(
            "{}  {:<9} {:<10} {:<12} {} in {}  {}{}  [{}; {}]  wrangler {}",
            s("time"),
            s("decision"),
            s("class"),
            esc(&env),
            esc(worker),
            esc(&project),
            esc(&s("command")),
            ended,
            esc(&who),
            esc(&s("decided_by")),
            esc(&argv.join(" ")),
        );
    }
    0
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
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }
}
