//! `safe-wrangler grant` and `safe-wrangler grants` (issue 14): a human at a terminal approves one
//! planned change for an agent or a script, time-boxed and counted; anyone may list or revoke.
//!
//! The grant is made the way a human confirms a call: the plan is shown, and the same phrase is
//! typed on `/dev/tty`. So an agent cannot make one for itself: it has no terminal, or it carries
//! an agent marker, and in CI no grant is made or used (`approved_ci` is the CI path).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::json;

use crate::context::Context;
use crate::core::grant::{self, Grant};
use crate::edge::files::RealDisk;
use crate::edge::grants;
use crate::policy::Decision;
use crate::{World, display, exit};

/// What `grant` was asked to do.
#[derive(Debug, Default)]
pub struct Request {
    /// Seconds, checked by [`parse_for`].
    pub duration: Option<u64>,
    pub uses: Option<u32>,
    pub reason: Option<String>,
    pub revoke: Option<String>,
    pub revoke_all: bool,
    pub args: Vec<OsString>,
}

fn say(line: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "safe-wrangler: {}",
        display::escape(line)
    );
}

/// A line of our output; a failed write ends through the panic hook (quietly on a broken pipe,
/// else 74).
fn out(line: &str) {
    println!("{line}");
}

/// The user who approves.
fn owner() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => format!("uid {uid}"),
    }
}

/// `safe-wrangler grant ...`.
#[must_use]
pub fn run(world: &World, req: &Request) -> u8 {
    if req.revoke.is_some() || req.revoke_all {
        if !req.args.is_empty() {
            say("--revoke and --revoke-all take no wrangler arguments");
            return exit::USAGE;
        }
        return revoke(world, req.revoke.as_deref());
    }
    if req.args.is_empty() {
        say(
            "usage: safe-wrangler grant [--for DURATION] [--uses N] [--reason TEXT] [--] WRANGLER_ARGS...",
        );
        return exit::USAGE;
    }
    let seconds = req.duration.unwrap_or(grant::DEFAULT_FOR);
    let uses = req.uses.unwrap_or(1);
    if uses == 0 || uses > grant::MAX_USES {
        say(&format!("--uses {uses}: between 1 and {}", grant::MAX_USES));
        return exit::USAGE;
    }
    // Only a human at a terminal, outside CI, makes a grant.
    let ctx = Context::detect(&world.env, crate::confirm::terminal_present(), &RealDisk);
    if let Some(why) = not_a_human(&ctx) {
        say(&format!("refused: {why}"));
        return exit::REFUSED;
    }
    make(world, req, ctx, seconds, uses)
}

/// Why `ctx` may not make a grant: an agent, CI, or no terminal.
fn not_a_human(ctx: &Context) -> Option<String> {
    if let Some(evidence) = ctx.agent_evidence() {
        Some(format!(
            "an AI agent is calling ({evidence}); a grant is made by a human at their terminal"
        ))
    } else if let Some(ci) = &ctx.ci {
        Some(format!(
            "this is CI ({}); grants are never made or used in CI (use approved_ci in the policy)",
            ci.provider.as_str()
        ))
    } else if ctx.terminal {
        None
    } else {
        Some("a grant is made by a human at a terminal, and there is none".to_owned())
    }
}

/// Shows the plan, asks for the phrase, and stores the grant.
fn make(world: &World, req: &Request, ctx: Context, seconds: u64, uses: u32) -> u8 {
    let (a, project) = match crate::evaluate(world, &req.args, move |_, _| ctx, true) {
        Ok(x) => x,
        Err(e) => {
            say(&format!("bad policy file {e}"));
            return exit::CONFIG;
        }
    };
    let cmd = display::command_line("wrangler", &req.args);
    if !a.invocation.problems.is_empty() {
        let problems: Vec<String> = a
            .invocation
            .problems
            .iter()
            .map(crate::wrangler::argv::Problem::describe)
            .collect();
        say(&format!(
            "refused: `{cmd}` cannot be read exactly ({}), so it cannot be granted",
            problems.join("; ")
        ));
        return exit::REFUSED;
    }
    let phrase = match &a.ruling.decision {
        Decision::Confirm { phrase } => phrase.clone(),
        Decision::Run { .. } => {
            say(&format!(
                "nothing to grant: `{cmd}` is {} work and runs without one",
                a.operation.class.as_str()
            ));
            return exit::USAGE;
        }
        Decision::Refuse { reason, .. } => {
            say(&format!(
                "refused: `{cmd}`: {}; a grant never allows what is refused here",
                display::shown(reason)
            ));
            return exit::REFUSED;
        }
    };
    let plan = crate::core::plan::plan(&a.invocation, &project, &a.operation, a.worker.as_deref());
    let summary = format!(
        "safe-wrangler: grant `{cmd}`, {} work (rule {}) on environment {}, to an agent or a script: {} use{} within {}. It would change:\n{}  target:      {}",
        a.operation.class.as_str(),
        display::shown(&a.operation.rule),
        display::shown(crate::policy::environment_label(&a.operation.environment)),
        uses,
        if uses == 1 { "" } else { "s" },
        human(seconds),
        plan.prompt_text(),
        display::shown(&phrase),
    );
    match crate::confirm::ask(&summary, &display::shown(&phrase), &phrase) {
        Ok(crate::confirm::Answer::Confirmed) => {}
        Ok(crate::confirm::Answer::Declined(why)) => {
            say(&format!("not granted: {why}"));
            return exit::REFUSED;
        }
        Ok(crate::confirm::Answer::Interrupted(why)) => {
            say(&format!("not granted: interrupted ({})", why.name()));
            // A SIGTERM or SIGHUP ends the process as that signal would have.
            if let crate::confirm::Interruption::Signal(sig) = why
                && sig != nix::sys::signal::Signal::SIGINT
            {
                crate::confirm::die_by(sig);
            }
            return exit::REFUSED;
        }
        Err(e) => {
            say(&format!("not granted: cannot ask on the terminal: {e}"));
            return exit::REFUSED;
        }
    }
    let fingerprint = grant::fingerprint(&a.invocation, &project, &plan);
    store(world, req, fingerprint, &cmd, seconds, uses)
}

/// Stores a confirmed grant and says how to revoke it.
fn store(
    world: &World,
    req: &Request,
    fingerprint: grant::Fingerprint,
    cmd: &str,
    seconds: u64,
    uses: u32,
) -> u8 {
    let now = grants::now();
    let random = {
        use std::hash::BuildHasher as _;
        std::collections::hash_map::RandomState::new().hash_one((now, std::process::id()))
    };
    let mut made = Grant {
        id: grant::new_id(now, u32::try_from(random & 0xffff_ffff).unwrap_or(0)),
        owner: owner(),
        reason: req.reason.clone(),
        created: now,
        expires: now + seconds,
        uses,
        used: 0,
        what: cmd.to_owned(),
        fingerprint,
    };
    let stored = grants::change(&world.env, now, |all| {
        while all.iter().any(|g| g.id == made.id) {
            made.id.push('x');
        }
        all.push(made.clone());
        made.clone()
    });
    match stored {
        Ok(g) => {
            grants::record(&world.env, "grant-created", &g);
            out(&format!(
                "granted {}: `{cmd}`, {} use{} until {} ({}). Revoke it: safe-wrangler grant --revoke {}",
                g.id,
                g.uses,
                if g.uses == 1 { "" } else { "s" },
                time(g.expires),
                human(seconds),
                g.id
            ));
            0
        }
        Err(why) => {
            say(&format!("not granted: {why}"));
            1
        }
    }
}

/// `--revoke ID` (`Some`) or `--revoke-all` (`None`).
fn revoke(world: &World, id: Option<&str>) -> u8 {
    let now = grants::now();
    let removed = grants::change(&world.env, now, |all| {
        let (gone, keep): (Vec<Grant>, Vec<Grant>) = std::mem::take(all)
            .into_iter()
            .partition(|g| id.is_none_or(|id| g.id == id));
        *all = keep;
        gone
    });
    match removed {
        Ok(gone) => {
            for g in &gone {
                grants::record(&world.env, "grant-revoked", g);
                out(&format!("revoked {}: {}", g.id, g.what));
            }
            match (id, gone.is_empty()) {
                (Some(id), true) => {
                    say(&format!("no active grant {id}"));
                    1
                }
                (None, true) => {
                    out("no active grants");
                    0
                }
                _ => 0,
            }
        }
        Err(why) => {
            say(&why);
            1
        }
    }
}

/// `safe-wrangler grants [--json]`: the active grants (expired ones are pruned and recorded).
#[must_use]
pub fn list(world: &World, as_json: bool) -> u8 {
    let now = grants::now();
    let active = match grants::snapshot(&world.env).store {
        grant::Store::Absent => Ok(Vec::new()),
        grant::Store::Ignored(why) => Err(format!("the grants store is ignored: {why}")),
        grant::Store::Read(_) => grants::change(&world.env, now, |all| all.clone()),
    };
    let active = match active {
        Ok(a) => a,
        Err(why) => {
            say(&why);
            return 1;
        }
    };
    if as_json {
        let rows: Vec<_> = active.iter().map(|g| listing(g, now)).collect();
        out(&json!({ "grants": rows }).to_string());
        return 0;
    }
    if active.is_empty() {
        out("no active grants");
    }
    for line in lines(&active, now) {
        out(&line);
    }
    0
}

/// One line per active grant, for `grants` and doctor.
#[must_use]
pub fn lines(active: &[Grant], now: u64) -> Vec<String> {
    active
        .iter()
        .map(|g| {
            format!(
                "{}  {}  owner {}  expires {} (in {})  uses left {}{}",
                g.id,
                g.what,
                display::shown(&g.owner),
                time(g.expires),
                human(g.expires.saturating_sub(now)),
                g.uses_left(),
                g.reason
                    .as_deref()
                    .map(|r| format!("  reason: {}", display::shown(r)))
                    .unwrap_or_default()
            )
        })
        .collect()
}

fn time(secs: u64) -> String {
    crate::audit::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// `90` -> `1m30s`, `1800` -> `30m`, `7200` -> `2h`.
fn human(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut t = String::new();
    if h > 0 {
        let _ = write!(t, "{h}h");
    }
    if m > 0 {
        let _ = write!(t, "{m}m");
    }
    if s > 0 || t.is_empty() {
        let _ = write!(t, "{s}s");
    }
    t
}

/// `--for`: `30m`, `2h`, `90s`, `1d`; more than zero and at most [`grant::MAX_FOR`].
///
/// # Errors
/// A one-line reason.
pub fn parse_for(text: &str) -> Result<u64, String> {
    let secs = crate::audit::parse_duration(text)
        .map_err(|e| e.replace("--since", "--for"))?
        .as_secs();
    if secs == 0 {
        return Err(format!(
            "--for {text:?}: a grant must last more than 0 seconds"
        ));
    }
    if secs > grant::MAX_FOR {
        return Err(format!("--for {text:?}: a grant lasts at most 24h"));
    }
    Ok(secs)
}

/// One row of `grants --json` and of doctor.
#[must_use]
pub fn listing(g: &Grant, now: u64) -> std::collections::BTreeMap<&'static str, serde_json::Value> {
    use serde_json::json;
    let mut m = std::collections::BTreeMap::new();
    m.insert("id", json!(g.id));
    m.insert("what", json!(g.what));
    m.insert("owner", json!(g.owner));
    let redact = crate::secrets::redact;
    m.insert("reason", json!(g.reason.as_deref().map(redact)));
    m.insert(
        "expires",
        json!(crate::audit::rfc3339(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(g.expires)
        )),
    );
    m.insert("expires_in_s", json!(g.expires.saturating_sub(now)));
    m.insert("uses_left", json!(g.uses_left()));
    m.insert("environment", json!(redact(&g.fingerprint.environment)));
    m.insert("target", json!(redact(&g.fingerprint.target)));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_bounded() {
        assert_eq!(parse_for("30m"), Ok(1800));
        assert_eq!(parse_for("24h"), Ok(86_400));
        assert!(parse_for("25h").is_err());
        assert!(parse_for("0m").is_err());
        assert!(parse_for("soon").unwrap_err().contains("--for"));
    }
}
