//! The grants store (issue 14): one JSON file in the user's state directory,
//! `$XDG_STATE_HOME/safe-wrangler/grants.json` (default `~/.local/state/...`), beside the audit log.
//!
//! - Never through a symlink (`O_NOFOLLOW`), and only a plain file owned by this user with mode
//!   0600: any other store is ignored with a warning and grants nothing.
//! - Changed only under an exclusive `flock` on the store itself, read under a shared one, so a
//!   use is consumed atomically: two parallel calls cannot both use a single-use grant.
//! - Every grant, use, expiry and revocation is an audit record.
//!
//! What it does not stop: a process running as this user can write this file (or another state
//! directory) like any other of the user's files. A grant is a convenience for the human who
//! approves, not a wall against a process that already has the user's rights.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::context::Env;
use crate::core::grant::{Grant, Grants, Store};

/// Where the store lives for this environment.
#[must_use]
pub fn path(env: &Env) -> Option<PathBuf> {
    let state = match env.get("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(env.get("HOME").filter(|v| !v.is_empty())?).join(".local/state"),
    };
    Some(state.join("safe-wrangler/grants.json"))
}

/// Seconds since the epoch, now.
#[must_use]
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The file's contents on disk.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Contents {
    version: u32,
    grants: Vec<Grant>,
}

/// Why an open store may not be used: not a plain file, not ours, or not mode 0600.
fn unfit(file: &File) -> Option<String> {
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return Some(format!("cannot inspect it: {e}")),
    };
    if !meta.is_file() {
        return Some("it is not a plain file".to_owned());
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Some("it is not owned by you".to_owned());
    }
    if meta.mode() & 0o7777 != 0o600 {
        return Some(format!("its mode is {:o}, not 600", meta.mode() & 0o7777));
    }
    None
}

fn open_error(e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(nix::libc::ELOOP) {
        "it is a symlink".to_owned()
    } else {
        e.to_string()
    }
}

fn parse(text: &str) -> Result<Vec<Grant>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str::<Contents>(text)
        .map(|c| c.grants)
        .map_err(|_| "it is not a safe-wrangler grants store".to_owned())
}

/// The store as plain data for the core (read under a shared lock), with the clock.
#[must_use]
pub fn snapshot(env: &Env) -> Grants {
    Grants {
        now: now(),
        store: read(env),
    }
}

fn read(env: &Env) -> Store {
    let Some(path) = path(env) else {
        return Store::Absent;
    };
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Store::Absent,
        Err(e) => return Store::Ignored(format!("{}: {}", path.display(), open_error(&e))),
    };
    if let Some(why) = unfit(&file) {
        return Store::Ignored(format!("{}: {why}", path.display()));
    }
    let Ok(mut lock) = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockShared) else {
        return Store::Ignored(format!("{}: cannot lock it", path.display()));
    };
    let mut text = String::new();
    if let Err(e) = lock.read_to_string(&mut text) {
        return Store::Ignored(format!("{}: {e}", path.display()));
    }
    match parse(&text) {
        Ok(g) => Store::Read(g),
        Err(why) => Store::Ignored(format!("{}: {why}", path.display())),
    }
}

/// Changes the store under an exclusive lock: `change` gets the grants still active at `now`
/// (expired and used-up ones are pruned first, each recorded in the audit log) and returns its
/// result; the store is then written back in place. Creates the store (0600, in a 0700
/// directory) when there is none.
///
/// # Errors
/// A one-line reason: no location, a store that is not fit (see the module doc), a lock or a
/// write that failed.
pub fn change<R>(
    env: &Env,
    now: u64,
    change: impl FnOnce(&mut Vec<Grant>) -> R,
) -> Result<R, String> {
    let path = path(env).ok_or("no place for the grants store (set XDG_STATE_HOME or HOME)")?;
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let shown = path.display().to_string();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(&path)
        .map_err(|e| format!("{shown}: {}", open_error(&e)))?;
    // A store we just created has 0600 whatever the umask took away.
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() == 0 && m.uid() == nix::unistd::geteuid().as_raw())
    {
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    if let Some(why) = unfit(&file) {
        return Err(format!("{shown} is ignored: {why}"));
    }
    let mut lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("{shown}: cannot lock it: {e}"))?;
    let mut text = String::new();
    lock.read_to_string(&mut text)
        .map_err(|e| format!("{shown}: {e}"))?;
    let grants = parse(&text).map_err(|why| format!("{shown} is ignored: {why}"))?;
    let (mut keep, gone) = crate::core::grant::prune(grants, now);
    for g in &gone {
        let event = if now >= g.expires {
            "grant-expired"
        } else {
            "grant-used-up"
        };
        record(env, event, g, json!({}));
    }
    let result = change(&mut keep);
    let contents = Contents {
        version: 1,
        grants: keep,
    };
    let mut out = serde_json::to_string_pretty(&contents).map_err(|e| e.to_string())?;
    out.push('\n');
    lock.set_len(0).map_err(|e| format!("{shown}: {e}"))?;
    lock.rewind().map_err(|e| format!("{shown}: {e}"))?;
    lock.write_all(out.as_bytes())
        .and_then(|()| lock.sync_data())
        .map_err(|e| format!("{shown}: {e}"))?;
    Ok(result)
}

/// One audit record about a grant (`grant-created`, `grant-used`, `grant-expired`,
/// `grant-used-up`, `grant-revoked`), in the log's own shape so `safe-wrangler log` shows it.
/// A log that cannot be written is said on stderr, with the record.
pub fn record(env: &Env, event: &str, g: &Grant, extra: Value) {
    let fp = &g.fingerprint;
    let mut line = json!({
        "time": crate::audit::rfc3339(SystemTime::now()),
        "command": fp.command,
        "class": fp.class,
        "environment": crate::secrets::redact(&fp.environment),
        "production": true,
        "resources": {
            "worker": fp.worker.as_deref().map(crate::secrets::redact),
            "routes": fp.routes.iter().map(|r| crate::secrets::redact(r)).collect::<Vec<_>>(),
        },
        "decision": event,
        "decided_by": crate::core::policy::DecidedBy::Grant(g.id.clone()),
        "grant": {
            "id": g.id,
            "owner": g.owner,
            "reason": g.reason.as_deref().map(crate::secrets::redact),
            "what": g.what,
            "expires": crate::audit::rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(g.expires)),
            "uses_left": g.uses_left(),
        },
    });
    if let (Some(map), Value::Object(more)) = (line.as_object_mut(), extra) {
        map.extend(more);
    }
    let result = match crate::audit::log_path(env) {
        Some(p) => crate::audit::append(&p, &line).map_err(|e| format!("{}: {e}", p.display())),
        None => Err("no location (set SAFE_WRANGLER_LOG or HOME)".to_owned()),
    };
    if let Err(why) = result {
        let _ = writeln!(
            std::io::stderr(),
            "safe-wrangler: {}",
            crate::display::escape(&format!(
                "warning: cannot write the audit log {why}; audit: {line}"
            ))
        );
    }
}

/// The wrapper's half of a grant: uses one use of grant `id` for the call `a` (its plan again, from
/// what the gather step read), under the store's lock, and records the use.
///
/// # Errors
/// Why the grant cannot be used (another call used it first, it expired or was revoked, the store
/// is unfit).
pub fn consume(
    env: &Env,
    id: &str,
    a: &crate::Assessment,
    project: &crate::core::assess::Project,
) -> Result<Grant, String> {
    let plan = crate::core::plan::plan(&a.invocation, project, &a.operation, a.worker.as_deref());
    let fp = crate::core::grant::fingerprint(&a.invocation, project, &plan);
    let at = now();
    let used = change(env, at, |grants| {
        crate::core::grant::consume(grants, id, &fp, at)
    })??;
    record(env, "grant-used", &used, json!({}));
    Ok(used)
}
