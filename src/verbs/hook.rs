//! `safe-wrangler hook <agent>`: a pre-tool-use hook for AI coding agents, and
//! `safe-wrangler hook install <agent> [--project | --user]`, which prints or writes the snippet
//! that registers it.
//!
//! The hook reads the agent's JSON on stdin, takes the shell command and working directory, finds
//! every wrangler invocation in it ([`crate::shell`]) and decides each with the same core as the
//! wrapper, as an agent (so production, migration and dns work is refused, never prompted).
//!
//! Protocols (researched from each agent's docs and source; see the README's per-agent section):
//! - allow is always *no output* and exit 0: an explicit "allow" would skip the agent's own
//!   approval prompt, which grants more than the user set up (and Codex rejects it);
//! - deny is one JSON object with only the documented fields (Codex fails open on any unknown
//!   field, on "allow" and on "ask", so we never send those); Gemini's `continue: false` would
//!   stop the whole agent, so we never send it;
//! - malformed input or an internal error blocks: exit 2 with the reason on stderr (Claude, Codex,
//!   Gemini and Copilot all treat that as a block), or a JSON deny for Cursor, which treats a
//!   failing hook as "allow" unless configured `failClosed`.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::World;
use crate::context::Context;
use crate::context::Env;
use crate::edge::jsonc::{Dialect, Document, EditError};
use crate::policy::Decision;
use crate::shell::{Finding, Invocation, Reading};

/// The agents we speak to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    Claude,
    Codex,
    Gemini,
    Copilot,
    Cursor,
}

impl Agent {
    /// Every agent, for usage messages.
    pub const ALL: [Agent; 5] = [
        Agent::Claude,
        Agent::Codex,
        Agent::Gemini,
        Agent::Copilot,
        Agent::Cursor,
    ];

    /// How the core's reasons say an agent is calling.
    #[must_use]
    pub fn evidence(self) -> &'static str {
        match self {
            Agent::Claude => "asked through `safe-wrangler hook claude`",
            Agent::Codex => "asked through `safe-wrangler hook codex`",
            Agent::Gemini => "asked through `safe-wrangler hook gemini`",
            Agent::Copilot => "asked through `safe-wrangler hook copilot`",
            Agent::Cursor => "asked through `safe-wrangler hook cursor`",
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
            Agent::Copilot => "copilot",
            Agent::Cursor => "cursor",
        }
    }

    /// The agent named `name` (`hook`'s hot path parses it without clap).
    #[must_use]
    pub fn parse(name: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// Variables that send wrangler's requests (and so the human's OAuth token) somewhere else, or
/// make it run another program: an agent setting one on the command line is denied.
const ENDPOINT_VARS: &[&str] = &[
    "CLOUDFLARE_API_BASE_URL",
    "CF_API_BASE_URL",
    "WRANGLER_AUTH_URL",
    "WRANGLER_TOKEN_URL",
    "WRANGLER_REVOKE_URL",
    "WRANGLER_AUTH_DOMAIN",
    "WRANGLER_C3_COMMAND",
];

/// The most stdin we read: a command line larger than this is not a command an agent runs.
const MAX_INPUT: u64 = 1 << 20;

/// What the agent is about to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The shell command line; `None` when the tool is not a shell (nothing for us to check).
    pub command: Option<String>,
    pub cwd: Option<PathBuf>,
}

/// Takes the command and working directory out of the agent's JSON.
///
/// # Errors
/// A one-line reason when the input is not what the agent sends.
pub fn parse_input(agent: Agent, input: &[u8]) -> Result<ToolCall, String> {
    let v: Value =
        serde_json::from_slice(input).map_err(|e| format!("hook input is not JSON: {e}"))?;
    if !v.is_object() {
        return Err("hook input is not a JSON object".into());
    }
    let cwd = v.get("cwd").and_then(Value::as_str).map(PathBuf::from);
    let text = |x: &Value| -> Result<Option<String>, String> {
        match x {
            Value::String(s) => Ok(Some(s.clone())),
            Value::Null => Err("the shell tool call has no command".into()),
            _ => Err("the shell command is not a string".into()),
        }
    };
    let (tool, command, cwd) = match agent {
        Agent::Claude | Agent::Codex => {
            let tool = v
                .get("tool_name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let cmd = v.pointer("/tool_input/command").unwrap_or(&Value::Null);
            (tool == "Bash", cmd.clone(), cwd)
        }
        Agent::Gemini => {
            let tool = v
                .get("tool_name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let cmd = v.pointer("/tool_input/command").unwrap_or(&Value::Null);
            let dir = v.pointer("/tool_input/dir_path").and_then(Value::as_str);
            let cwd = match (cwd, dir) {
                (Some(c), Some(d)) => Some(c.join(d)),
                (c, _) => c,
            };
            (tool == "run_shell_command", cmd.clone(), cwd)
        }
        Agent::Copilot => {
            // camelCase `preToolUse` (toolArgs a JSON string, or an object) or the PascalCase,
            // Claude-compatible `PreToolUse`.
            if let Some(tool) = v.get("toolName").and_then(Value::as_str) {
                let args = match v.get("toolArgs") {
                    Some(Value::String(s)) => serde_json::from_str::<Value>(s)
                        .map_err(|e| format!("toolArgs is not JSON: {e}"))?,
                    Some(other) => other.clone(),
                    None => Value::Null,
                };
                let cmd = args.get("command").cloned().unwrap_or(Value::Null);
                (matches!(tool, "bash" | "powershell" | "shell"), cmd, cwd)
            } else {
                let tool = v
                    .get("tool_name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let cmd = v.pointer("/tool_input/command").unwrap_or(&Value::Null);
                (
                    matches!(tool, "Bash" | "bash" | "powershell"),
                    cmd.clone(),
                    cwd,
                )
            }
        }
        Agent::Cursor => (true, v.get("command").cloned().unwrap_or(Value::Null), cwd),
    };
    if !tool {
        return Ok(ToolCall { command: None, cwd });
    }
    Ok(ToolCall {
        command: text(&command)?,
        cwd,
    })
}

/// The hook's verdict on one command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny(String),
}

/// Decides a whole command line for `agent`, with the caller's environment and directory.
#[must_use]
pub fn judge(agent: Agent, command: &str, env: &Env, cwd: &Path, exe: Option<&Path>) -> Verdict {
    // A NUL ends the command early for a shell while we would read on; other control bytes
    // (escape sequences, backspaces) can hide words from a human reading the transcript.
    if let Some(c) = command
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Verdict::Deny(format!(
            "the command contains a control character (U+{:04X}); write it without control characters so it can be checked",
            u32::from(c)
        ));
    }
    let mut reasons = Vec::new();
    if crate::core::grant::makes_grant(command) {
        reasons.push("an agent cannot make a grant: `safe-wrangler grant` is for a human at their terminal (ask the human to run it)".to_owned());
    }
    let reading = crate::shell::read(command);
    if let Some(reason) = lost_protection_reason(&reading, cwd, exe) {
        reasons.push(reason);
    }
    if let Some(spec) = crate::shell::version_other_than_4(&reading.findings) {
        reasons.push(format!(
            "the command runs wrangler@{spec}: safe-wrangler knows wrangler 4, and older versions have other defaults (kv, r2 and d1 commands go to production unless --local); use wrangler@4"
        ));
    }
    for finding in reading.findings {
        // The line is denied already: the rest of it cannot change that (issue 17).
        if !reasons.is_empty() {
            break;
        }
        match finding {
            Finding::Uncertain { reason } => reasons.push(format!(
                "cannot tell what this command line does with wrangler ({reason}); run wrangler as a plain command so it can be checked"
            )),
            Finding::Wrangler(inv) => {
                if let Some(reason) = line_problem(&inv, env, cwd, exe) {
                    reasons.push(reason);
                    continue;
                }
                let mut call_env = if inv.env_cleared { Env::default() } else { env.clone() };
                call_env.0.retain(|(k, _)| !inv.unset.iter().any(|u| k == u.as_str()));
                for (k, v) in &inv.assignments {
                    call_env.0.push((k.into(), v.into()));
                }
                // The shell's own bookkeeping of `CLOUDFLARE_ENV` (export or not, `env -u`, `env
                // -i`, `read`, `printf -v`, loops) is more than we follow: when the line touches
                // it (as the reader says), decide with and without it and keep the stricter answer.
                let mut candidates = vec![call_env.clone()];
                if inv.cloudflare_env
                    || inv.env_cleared
                    || !inv.unset.is_empty()
                    || call_env.get("CLOUDFLARE_ENV").is_some()
                {
                    let mut without = call_env;
                    without.0.retain(|(k, _)| k != "CLOUDFLARE_ENV");
                    candidates.push(without);
                    candidates.push(env.clone());
                }
                // The shell expands a leading `~` (in `cd ~/x` and in arguments such as `--cwd ~/x`).
                let home = env.str("HOME");
                let dir = match &inv.cwd {
                    Some(d) => cwd.join(expand_tilde(d, home)),
                    None => cwd.to_path_buf(),
                };
                let args: Vec<OsString> = inv.argv.iter().map(|a| OsString::from(expand_tilde(a, home))).collect();
                if let Some(reason) = candidates.into_iter().find_map(|candidate| {
                    let world = World {
                        argv: std::iter::once(OsString::from("wrangler")).chain(args.iter().cloned()).collect(),
                        env: candidate,
                        cwd: dir.clone(),
                        exe: exe.map(Path::to_path_buf),
                    };
                    deny_reason(&world, &args, agent)
                }) {
                    reasons.push(reason);
                }
            }
        }
    }
    if reasons.is_empty() {
        Verdict::Allow
    } else {
        // Every part of a reason that came from the command line is redacted and escaped.
        Verdict::Deny(crate::display::shown(&format!(
            "safe-wrangler: {}",
            reasons.join(" | ")
        )))
    }
}

/// A project whose `node_modules/.bin` lost its protection: `npx wrangler` (any package runner or
/// a path to the `.bin` entry) and `npm run` / `pnpm run` / `yarn run` reach the real wrangler
/// unguarded there, whatever the command, so they are denied with the command that fixes it.
fn lost_protection_reason(reading: &Reading, cwd: &Path, exe: Option<&Path>) -> Option<String> {
    let runs_bin = reading.findings.iter().any(|f| {
        matches!(f, Finding::Wrangler(inv) if inv.via != crate::shell::via::DIRECT
            && inv.via != crate::shell::via::SAFE_WRANGLER
            && inv.via != crate::shell::via::NODE)
    });
    if !runs_bin && !reading.runs_script {
        return None;
    }
    let me = crate::resolve::SelfId::of(&std::fs::canonicalize(exe?).ok()?).ok()?;
    let bin = crate::protect::lost_protection(cwd, &me)?;
    Some(format!(
        "{} lost its protection (a single-package install such as `npm i wrangler@x` put wrangler's own link back), so npx and package.json scripts reach the real wrangler unguarded; run `safe-wrangler protect` first",
        crate::display::escape(&bin.join("wrangler").display().to_string())
    ))
}

/// What makes a wrangler call on the line wrong whatever the core would decide: a credential or
/// an endpoint given on the line, arguments only known at run time, or the real wrangler run by
/// its path.
fn line_problem(inv: &Invocation, env: &Env, cwd: &Path, exe: Option<&Path>) -> Option<String> {
    if let Some(name) = inv.credentials().first() {
        return Some(format!(
            "a Cloudflare credential is assigned on the command line ({name}); wrangler must use the OAuth login or CI's own token, never one passed by an agent"
        ));
    }
    if let Some((name, _)) = inv
        .assignments
        .iter()
        .find(|(k, _)| ENDPOINT_VARS.contains(&k.as_str()))
    {
        return Some(format!(
            "{name} is set on the command line: it sends wrangler's requests, with the human's OAuth login, to another server"
        ));
    }
    if inv.unknown_args {
        return Some(format!(
            "wrangler's arguments are filled in at run time ({}), so what it would do cannot be checked; run each wrangler command as a plain command",
            inv.wrappers.join(", ")
        ));
    }
    if let Some(program) = &inv.program
        && !leads_to_me(program, inv.via, inv.cwd.as_deref(), env, cwd, exe)
    {
        return Some(format!(
            "the command runs wrangler by its path ({program}), not through safe-wrangler, so nothing keeps credentials away from it or asks before production work; run it as plain `wrangler` (the guarded one on PATH)"
        ));
    }
    None
}

/// Whether a wrangler run by its path (`/usr/local/bin/wrangler`, `./node_modules/.bin/wrangler`)
/// is safe-wrangler: the path, from the directory the call runs in, is this very program (a
/// protected `.bin` entry, the shim). node's script never is; anything we cannot inspect is not.
fn leads_to_me(
    program: &str,
    via: &str,
    dir: Option<&str>,
    env: &Env,
    cwd: &Path,
    exe: Option<&Path>,
) -> bool {
    if via != crate::shell::via::PATH {
        return false;
    }
    let home = env.str("HOME");
    let dir = dir.map_or_else(|| cwd.to_path_buf(), |d| cwd.join(expand_tilde(d, home)));
    let path = dir.join(expand_tilde(program, home));
    let Some(me) = exe
        .and_then(|e| std::fs::canonicalize(e).ok())
        .and_then(|e| crate::resolve::SelfId::of(&e).ok())
    else {
        return false;
    };
    std::fs::metadata(&path).is_ok_and(|m| m.is_file()) && me.is_me(&path)
}

/// `~` or `~/...` at the start of a word, as the shell expands it (with `HOME`; kept as written
/// when there is none).
fn expand_tilde(word: &str, home: Option<&str>) -> String {
    match (word.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => word.to_owned(),
    }
}

/// Why the core would not run this call for an agent, if it would not: the one refusal renderer's
/// hook reason, with the plan summary and the suggestions that would run.
fn deny_reason(world: &World, args: &[OsString], agent: Agent) -> Option<String> {
    // The hook knows it answers an agent, whatever the environment says.
    let context =
        |env: &Env, _| Context::agent_hook(agent.evidence(), env, &crate::edge::files::RealDisk);
    let (a, project) = match crate::evaluate(world, args, context, false) {
        Ok(x) => x,
        Err(e) => return Some(format!("bad policy file {e}")),
    };
    let (reason, hint) = match &a.ruling.decision {
        Decision::Run { .. } => return None,
        Decision::Confirm { .. } => ("it needs a human", None),
        Decision::Refuse { reason, hint } => (reason.as_str(), Some(hint.as_str())),
    };
    Some(
        crate::core::refusal::Refusal::new(&a, &project, "wrangler", args, reason, hint)
            .hook_reason(),
    )
}

/// The JSON an agent reads as "deny".
#[must_use]
pub fn deny_output(agent: Agent, reason: &str) -> Value {
    match agent {
        Agent::Claude | Agent::Codex => json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }),
        Agent::Gemini => json!({ "decision": "deny", "reason": reason }),
        Agent::Copilot => {
            json!({ "permissionDecision": "deny", "permissionDecisionReason": reason })
        }
        Agent::Cursor => {
            json!({ "permission": "deny", "user_message": reason, "agent_message": reason })
        }
    }
}

/// Blocks when something is wrong with the hook itself: never fail open. Never panics: when
/// Cursor's JSON answer cannot be written, exit 2 is the block that remains.
fn block(agent: Option<Agent>, reason: &str) -> u8 {
    use std::io::Write as _;
    let reason = crate::display::escape(reason);
    if agent == Some(Agent::Cursor) {
        let answer = deny_output(Agent::Cursor, &format!("safe-wrangler hook: {reason}"));
        // Written to a closed stdout (reopened on /dev/null), the answer reaches no one and
        // exit 0 would be Cursor's "allow": exit 2 is the block that remains.
        if writeln!(std::io::stdout(), "{answer}")
            .and_then(|()| std::io::stdout().flush())
            .is_ok()
            && !stdout_is_null()
        {
            return 0;
        }
    }
    let _ = writeln!(std::io::stderr(), "safe-wrangler hook: {reason}");
    2
}

/// The agent being answered, for the panic handler (`Agent::ALL` index; `u8::MAX`: none yet).
static ANSWERING: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(u8::MAX);

/// A panic inside the hook is a block ([`crate::fail`]).
fn block_on_panic(message: &str) -> u8 {
    let agent = Agent::ALL
        .get(usize::from(
            ANSWERING.load(std::sync::atomic::Ordering::SeqCst),
        ))
        .copied();
    block(agent, &format!("internal error: {message}"))
}

/// The block for a `hook` command that names no agent we know (`name`: its one word, if it has
/// just one): a misconfigured hook must never fail open.
#[must_use]
pub fn misused(name: Option<&str>) -> u8 {
    match name {
        Some(name) => block(
            None,
            &format!(
                "unknown agent {:?}; expected one of claude, codex, gemini, copilot, cursor",
                crate::secrets::redact(name)
            ),
        ),
        None => block(
            None,
            "usage: safe-wrangler hook <claude|codex|gemini|copilot|cursor> (reads the agent's JSON on stdin)",
        ),
    }
}

/// How long the hook may take before it blocks on its own: agents treat a hook that times out
/// as "no objection" (Claude Code, Gemini, Copilot), so we must answer first. Every timeout that
/// `hook install` writes is longer (30 s; Gemini counts in milliseconds).
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// `hook <agent>`: answers one pre-tool-use call read from stdin.
///
/// # Panics
/// Only on purpose, in debug builds with `SAFE_WRANGLER_DEBUG_PANIC` set (the panic hook turns it
/// into a block; tested).
#[must_use]
pub fn answer(world: &World, agent: Agent) -> u8 {
    if let Some(i) = Agent::ALL.iter().position(|a| *a == agent) {
        ANSWERING.store(
            u8::try_from(i).unwrap_or(u8::MAX),
            std::sync::atomic::Ordering::SeqCst,
        );
    }
    crate::fail::handler(block_on_panic);
    // A debug build's way to prove the deadline blocks and names the step (tests/it/abort.rs,
    // with SAFE_WRANGLER_DEBUG_STALL); release builds always wait DEADLINE.
    #[cfg(debug_assertions)]
    let secs = world
        .env
        .str("SAFE_WRANGLER_DEBUG_DEADLINE")
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEADLINE.as_secs());
    #[cfg(not(debug_assertions))]
    let secs = DEADLINE.as_secs();
    deadline::arm(agent, secs);
    crate::edge::gather::at(7);
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().take(MAX_INPUT + 1).read_to_end(&mut input) {
        return block(Some(agent), &format!("cannot read the hook input: {e}"));
    }
    if input.len() as u64 > MAX_INPUT {
        return block(Some(agent), "hook input larger than 1 MiB");
    }
    crate::edge::gather::at(0);
    let call = match parse_input(agent, &input) {
        Ok(c) => c,
        Err(e) => return block(Some(agent), &e),
    };
    let Some(command) = call.command else {
        return 0;
    };
    // A debug build's way to prove that an internal error blocks (tests/it/abort.rs); release
    // builds ignore it.
    #[cfg(debug_assertions)]
    assert!(
        !world.env.is_set("SAFE_WRANGLER_DEBUG_PANIC"),
        "SAFE_WRANGLER_DEBUG_PANIC is set"
    );
    let cwd = call.cwd.unwrap_or_else(|| world.cwd.clone());
    match judge(agent, &command, &world.env, &cwd, world.exe.as_deref()) {
        Verdict::Allow => 0,
        Verdict::Deny(reason) => {
            use std::io::Write as _;
            let answer = deny_output(agent, &reason);
            let written =
                writeln!(std::io::stdout(), "{answer}").and_then(|()| std::io::stdout().flush());
            if written.is_ok() && !stdout_is_null() {
                return 0;
            }
            // The answer did not reach the agent: exit 2 blocks on its own (for Cursor too: it
            // is all that is left).
            let _ = writeln!(std::io::stderr(), "safe-wrangler hook: {reason}");
            2
        }
    }
}

/// Whether our stdout is `/dev/null`, where a written answer reaches no one: so it is when the
/// agent closed it (the runtime reopens a closed stdout on `/dev/null`) or sent it there.
fn stdout_is_null() -> bool {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    let (Ok(out), Ok(null)) = (
        nix::sys::stat::fstat(std::io::stdout().as_fd()),
        std::fs::metadata("/dev/null"),
    ) else {
        return false;
    };
    null.file_type().is_char_device()
        && nix::sys::stat::SFlag::from_bits_truncate(out.st_mode) & nix::sys::stat::SFlag::S_IFMT
            == nix::sys::stat::SFlag::S_IFCHR
        && out.st_rdev == null.rdev()
}

/// The hook's deadline: `alarm(2)` and a `SIGALRM` handler (no thread: no stack mapping, no
/// clone per call). The answers are prepared before the alarm is armed, one per gather step, so
/// the handler only picks one by an atomic load, writes it and ends the process
/// (async-signal-safe calls only).
mod deadline {
    use std::sync::OnceLock;

    use super::{Agent, deny_output};

    /// Per gather step: the file descriptor, the bytes and the exit code of the block.
    static ANSWERS: OnceLock<Vec<(i32, Vec<u8>, i32)>> = OnceLock::new();

    /// The block for a deadline hit during `step`, as [`super::block`] would write it.
    fn answer(agent: Agent, secs: u64, step: &str, stdout_null: bool) -> (i32, Vec<u8>, i32) {
        let reason = format!("took too long to decide: more than {secs} s {step}");
        // Cursor's JSON on a stdout that reaches no one would end as exit 0, its "allow".
        if agent == Agent::Cursor && !stdout_null {
            let json = deny_output(Agent::Cursor, &format!("safe-wrangler hook: {reason}"));
            (1, format!("{json}\n").into_bytes(), 0)
        } else {
            (2, format!("safe-wrangler hook: {reason}\n").into_bytes(), 2)
        }
    }

    extern "C" fn on_alarm(_: nix::libc::c_int) {
        let step = crate::edge::gather::step_index();
        if let Some(answers) = ANSWERS.get()
            && let Some((fd, bytes, code)) = answers.get(step).or_else(|| answers.first())
        {
            // SAFETY: write(2) and _exit(2) are async-signal-safe; `bytes` lives in a static
            // that is never written again once set.
            unsafe {
                nix::libc::write(*fd, bytes.as_ptr().cast(), bytes.len());
                nix::libc::_exit(*code);
            }
        }
        // SAFETY: as above.
        unsafe { nix::libc::_exit(2) }
    }

    /// Prepares the answers and arms the alarm. When the handler cannot be installed the alarm
    /// is not armed (the default action would kill the hook, which agents read as "allow").
    pub(super) fn arm(agent: Agent, secs: u64) {
        use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
        let stdout_null = super::stdout_is_null();
        let _ = ANSWERS.set(
            crate::edge::gather::steps()
                .iter()
                .map(|step| answer(agent, secs, step, stdout_null))
                .collect(),
        );
        let action = SigAction::new(
            SigHandler::Handler(on_alarm),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler only makes async-signal-safe calls (see `on_alarm`).
        if unsafe { sigaction(Signal::SIGALRM, &action) }.is_ok() {
            nix::unistd::alarm::set(u32::try_from(secs).unwrap_or(u32::MAX));
        }
    }
}

/// Where each agent keeps its hook settings: (project file, user file relative to HOME).
fn settings_files(agent: Agent) -> (&'static str, &'static str) {
    match agent {
        Agent::Claude => (".claude/settings.json", ".claude/settings.json"),
        Agent::Codex => (".codex/hooks.json", ".codex/hooks.json"),
        Agent::Gemini => (".gemini/settings.json", ".gemini/settings.json"),
        Agent::Copilot => (
            ".github/hooks/safe-wrangler.json",
            ".copilot/hooks/safe-wrangler.json",
        ),
        Agent::Cursor => (".cursor/hooks.json", ".cursor/hooks.json"),
    }
}

/// How each agent reads its settings file, where we know it: (its name, comments accepted,
/// trailing commas accepted). Claude Code reads strict JSON (a comment makes it report "Invalid or
/// malformed JSON" and drop the file); Codex parses `hooks.json` with `serde_json` (a failure is a
/// warning and no hooks); Gemini CLI runs `JSON.parse(stripJsonComments(text))`, which allows
/// comments but not trailing commas. Copilot's and Cursor's readers are not public.
fn reader(agent: Agent) -> Option<(&'static str, bool, bool)> {
    match agent {
        Agent::Claude => Some(("Claude Code", false, false)),
        Agent::Codex => Some(("Codex", false, false)),
        Agent::Gemini => Some(("Gemini CLI", true, false)),
        Agent::Copilot | Agent::Cursor => None,
    }
}

/// The settings fragment registering the hook, with `command` as the program to run.
#[must_use]
pub fn snippet(agent: Agent, program: &str) -> Value {
    let command = hook_command(program, agent);
    match agent {
        Agent::Claude | Agent::Codex => json!({
            "hooks": { "PreToolUse": [ { "matcher": "Bash", "hooks": [ { "type": "command", "command": command, "timeout": 30 } ] } ] }
        }),
        Agent::Gemini => json!({
            "hooks": { "BeforeTool": [ { "matcher": "^run_shell_command$", "hooks": [ { "name": "safe-wrangler", "type": "command", "command": command, "timeout": 30000 } ] } ] }
        }),
        Agent::Copilot => json!({
            "version": 1,
            "hooks": { "preToolUse": [ { "type": "command", "matcher": "bash", "bash": command, "timeoutSec": 30 } ] }
        }),
        Agent::Cursor => json!({
            "version": 1,
            "hooks": { "beforeShellExecution": [ { "command": command, "timeout": 30, "failClosed": true } ] }
        }),
    }
}

/// Adds `addition` (a snippet) into `existing` settings: arrays under `hooks.<event>` are
/// appended to unless an entry with the same command is already there; other keys are kept.
#[must_use]
pub fn merge(mut existing: Value, addition: &Value) -> Value {
    let Some(obj) = existing.as_object_mut() else {
        return addition.clone();
    };
    for (key, value) in addition.as_object().into_iter().flatten() {
        if key != "hooks" {
            obj.entry(key.clone()).or_insert_with(|| value.clone());
            continue;
        }
        let hooks = obj.entry("hooks").or_insert_with(|| json!({}));
        let Some(hooks) = hooks.as_object_mut() else {
            continue;
        };
        for (event, entries) in value.as_object().into_iter().flatten() {
            let list = hooks.entry(event.clone()).or_insert_with(|| json!([]));
            let Some(list) = list.as_array_mut() else {
                continue;
            };
            for entry in entries.as_array().into_iter().flatten() {
                // The same command installed earlier (perhaps with another timeout, or naming
                // safe-wrangler by another path) is replaced, not kept beside the new entry.
                // Every such entry is replaced (two, from a hand edit or a merge, would leave
                // one naming a path that may not exist here: with `|| exit 2`, a block on every
                // call); the editor changes entries where they stand but does not remove any.
                let ours = hook_commands(entry);
                let mut found = false;
                for e in list.iter_mut() {
                    if !ours.is_empty() && hook_commands(e) == ours {
                        *e = entry.clone();
                        found = true;
                    }
                }
                if !found {
                    list.push(entry.clone());
                }
            }
        }
    }
    existing
}

/// The commands a settings entry runs, with a safe-wrangler hook command named by any path
/// (`/usr/local/bin/safe-wrangler hook claude`, written by an older `--project` install,
/// `"$CLAUDE_PROJECT_DIR"/node_modules/...`, or a quoted path), with or without `|| exit 2`, read
/// as the bare command (`safe-wrangler hook claude`): all are the same hook.
fn hook_commands(entry: &Value) -> Vec<String> {
    commands(entry)
        .into_iter()
        .map(|c| {
            let c = c.strip_suffix(FAIL_CLOSED).unwrap_or(c);
            let mut words = c.rsplitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some(agent), Some("hook"), Some(program))
                    if Path::new(program.trim_end_matches(['\'', '"'])).file_name()
                        == Some(std::ffi::OsStr::new(crate::OWN_NAME)) =>
                {
                    format!("{} hook {agent}", crate::OWN_NAME)
                }
                _ => c.to_owned(),
            }
        })
        .collect()
}

/// The commands a settings entry runs (`command` or Copilot's `bash`, at any depth).
fn commands(entry: &Value) -> Vec<&str> {
    match entry {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| match (k.as_str(), v) {
                ("command" | "bash", Value::String(c)) => vec![c.as_str()],
                _ => commands(v),
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(commands).collect(),
        _ => Vec::new(),
    }
}

/// Where an npm install of safe-wrangler keeps the native binary, under a project: the one
/// platform package npm installed (`@safe-wrangler/linux-x64`, ...), matched by a shell glob so the
/// committed command works for teammates on other platforms.
const PROJECT_BINARY: &str = "node_modules/@safe-wrangler/*/bin/safe-wrangler";

/// The program a hook entry runs. A project's settings file is committed and used by every
/// teammate: where safe-wrangler is installed in the project (npm, hoisted) and the agent expands
/// a project directory in the command (Claude Code's `$CLAUDE_PROJECT_DIR`, Gemini CLI's
/// `$GEMINI_PROJECT_DIR`, which it replaces with the directory already quoted), the entry names
/// the native binary under that directory; otherwise the command as found on PATH. The user's
/// own file and the printed snippet name this binary absolutely (agents run hooks from varying
/// directories and PATHs).
fn hook_program(world: &World, agent: Agent, project: bool) -> String {
    if !project {
        return world
            .exe
            .as_deref()
            .and_then(|e| std::fs::canonicalize(e).ok())
            .map_or_else(
                || crate::OWN_NAME.to_owned(),
                |p| shell_word(&p.display().to_string()),
            );
    }
    let project_dir = match agent {
        Agent::Claude => Some("\"$CLAUDE_PROJECT_DIR\""),
        Agent::Gemini => Some("$GEMINI_PROJECT_DIR"),
        Agent::Codex | Agent::Copilot | Agent::Cursor => None,
    };
    if let Some(dir) = project_dir
        && installed_in(&world.cwd)
    {
        return format!("{dir}/{PROJECT_BINARY}");
    }
    let on_path =
        crate::edge::resolve::on_path(world.env.get("PATH"), crate::OWN_NAME).any(|p| p.is_file());
    if !on_path {
        eprintln!(
            "safe-wrangler: warning: safe-wrangler is not on PATH here; the hook runs `safe-wrangler` from PATH, so add its directory to PATH (see install.sh)"
        );
    }
    crate::OWN_NAME.to_owned()
}

/// `path` as one shell word: as it is when every character is plain, else single-quoted. The
/// agents run the command through a shell, so a path with a space (`/home/u/My Projects/...`)
/// would be split and the command would not be found (with `|| exit 2`, every call blocked).
fn shell_word(path: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+@%=:,".contains(c);
    if !path.is_empty() && path.chars().all(plain) {
        path.to_owned()
    } else {
        format!("'{}'", path.replace('\'', r"'\''"))
    }
}

/// Whether npm installed safe-wrangler's native binary under `dir` where [`PROJECT_BINARY`]
/// finds it (one platform package; pnpm's default layout and Yarn Plug'n'Play keep it elsewhere).
fn installed_in(dir: &Path) -> bool {
    let Some((scope, rest)) = PROJECT_BINARY.split_once("/*/") else {
        return false;
    };
    std::fs::read_dir(dir.join(scope))
        .is_ok_and(|entries| entries.flatten().any(|e| e.path().join(rest).is_file()))
}

/// The command of a hook entry: `program hook <agent>`, and for the agents that run it through a
/// shell and block only on exit 2, `|| exit 2`: a program that is missing (127), cannot run (126)
/// or dies blocks instead of failing open. Cursor's entry carries `failClosed` instead.
fn hook_command(program: &str, agent: Agent) -> String {
    let command = format!("{program} hook {}", agent.name());
    if agent == Agent::Cursor {
        command
    } else {
        format!("{command}{FAIL_CLOSED}")
    }
}

/// What a hook command ends with so that any failure to run it blocks.
const FAIL_CLOSED: &str = " || exit 2";

/// Where `hook install` puts the snippet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Print it on stdout; change nothing.
    Print,
    /// The project's settings file, under the current directory.
    Project,
    /// The user's settings file, under `HOME`.
    User,
}

/// `hook install <agent>`: prints the snippet, or merges it into the project's or the user's
/// settings file.
#[must_use]
pub fn install(world: &World, agent: Agent, scope: Scope) -> u8 {
    let target = match scope {
        Scope::Print => None,
        Scope::Project => Some(world.cwd.join(settings_files(agent).0)),
        Scope::User => {
            if let Some(home) = world.env.get("HOME").filter(|h| !h.is_empty()) {
                Some(Path::new(home).join(settings_files(agent).1))
            } else {
                eprintln!("safe-wrangler: HOME is not set");
                return crate::exit::USAGE;
            }
        }
    };
    let program = hook_program(world, agent, scope == Scope::Project);
    let fragment = snippet(agent, &program);
    let Some(path) = target else {
        println!(
            "{}",
            serde_json::to_string_pretty(&fragment).unwrap_or_default()
        );
        return 0;
    };
    let shown = || crate::display::escape(&path.display().to_string());
    // The file is edited in place of being rewritten: its comments and layout stay as they are.
    // (the text the file will hold, whether it changes)
    let (text, changed) = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let edited = Document::parse(&text, Dialect::Jsonc).and_then(|doc| {
                let merged = merge(doc.value().clone(), &fragment);
                doc.edited(&merged)
            });
            match edited {
                Ok(new) => {
                    let changed = new != text;
                    (new, changed)
                }
                Err(EditError::Syntax(e)) => {
                    eprintln!("safe-wrangler: {}: not JSON ({e}); not changed", shown());
                    return crate::exit::CONFIG;
                }
                Err(e) => {
                    eprintln!("safe-wrangler: {}: {e}; not changed", shown());
                    return crate::exit::CONFIG;
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
            format!(
                "{}\n",
                serde_json::to_string_pretty(&merge(json!({}), &fragment)).unwrap_or_default()
            ),
            true,
        ),
        Err(e) => {
            eprintln!("safe-wrangler: {}: {e}", shown());
            return 1;
        }
    };
    let written = if changed {
        crate::edge::jsonc::write(&path, &text)
    } else {
        Ok(())
    };
    // The file is the user's: we keep its comments, but say when the agent cannot read them.
    let strict = reader(agent).and_then(|(name, comments, trailing_commas)| {
        let what = crate::edge::jsonc::refused_by(&text, comments, trailing_commas)?;
        Some((name, what))
    });
    match written {
        Ok(()) => {
            println!(
                "safe-wrangler: registered the {} hook in {}",
                agent.name(),
                crate::display::escape(&path.display().to_string())
            );
            if agent == Agent::Codex {
                println!(
                    "safe-wrangler: Codex runs a new hook only after you trust it: open /hooks in Codex"
                );
            }
            if let Some((name, what)) = strict {
                eprintln!(
                    "safe-wrangler: warning: {name} cannot read {}: it does not accept {what} and skips the whole file, so the hook does not run until you change that",
                    crate::display::escape(&path.display().to_string())
                );
            }
            0
        }
        Err(e) => {
            eprintln!(
                "safe-wrangler: {}: {e}",
                crate::display::escape(&path.display().to_string())
            );
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_per_agent() {
        let claude = br#"{"session_id":"s","cwd":"/p","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"npx wrangler deploy"}}"#;
        assert_eq!(
            parse_input(Agent::Claude, claude),
            Ok(ToolCall {
                command: Some("npx wrangler deploy".into()),
                cwd: Some("/p".into())
            })
        );
        let gemini = br#"{"cwd":"/p","tool_name":"run_shell_command","tool_input":{"command":"wrangler dev","dir_path":"app"}}"#;
        assert_eq!(
            parse_input(Agent::Gemini, gemini).unwrap().cwd,
            Some(PathBuf::from("/p/app"))
        );
        let copilot =
            br#"{"cwd":"/p","toolName":"bash","toolArgs":"{\"command\":\"wrangler whoami\"}"}"#;
        assert_eq!(
            parse_input(Agent::Copilot, copilot)
                .unwrap()
                .command
                .as_deref(),
            Some("wrangler whoami")
        );
        let copilot_obj = br#"{"cwd":"/p","toolName":"bash","toolArgs":{"command":"ls"}}"#;
        assert_eq!(
            parse_input(Agent::Copilot, copilot_obj)
                .unwrap()
                .command
                .as_deref(),
            Some("ls")
        );
        let cursor =
            br#"{"hook_event_name":"beforeShellExecution","command":"wrangler deploy","cwd":"/p"}"#;
        assert_eq!(
            parse_input(Agent::Cursor, cursor)
                .unwrap()
                .command
                .as_deref(),
            Some("wrangler deploy")
        );
        let other_tool = br#"{"tool_name":"Read","tool_input":{"file_path":"x"}}"#;
        assert_eq!(
            parse_input(Agent::Claude, other_tool).unwrap().command,
            None
        );
        for bad in [
            &b"not json"[..],
            b"[]",
            br#"{"tool_name":"Bash","tool_input":{}}"#,
            br#"{"tool_name":"Bash","tool_input":{"command":5}}"#,
        ] {
            assert!(
                parse_input(Agent::Claude, bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn installed_timeouts_outlast_the_hooks_own_deadline_and_control_bytes_block() {
        for agent in [
            Agent::Claude,
            Agent::Codex,
            Agent::Gemini,
            Agent::Copilot,
            Agent::Cursor,
        ] {
            let text = snippet(agent, "safe-wrangler").to_string();
            let (key, scale) = match agent {
                Agent::Gemini => ("\"timeout\":", 1000),
                Agent::Copilot => ("\"timeoutSec\":", 1),
                _ => ("\"timeout\":", 1),
            };
            let at = text.find(key).expect(key) + key.len();
            let n: u64 = text[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(n / scale > DEADLINE.as_secs(), "{agent:?}: {text}");
        }
        let env = Env::default();
        for cmd in ["echo hi\0; wrangler deploy", "ls \u{1b}[8m", "true\u{7f}"] {
            let v = judge(Agent::Claude, cmd, &env, Path::new("/"), None);
            assert!(
                matches!(&v, Verdict::Deny(r) if r.contains("control character")),
                "{cmd:?}"
            );
        }
        assert_eq!(
            judge(
                Agent::Claude,
                "ls -l\n\techo ok\r\n",
                &env,
                Path::new("/"),
                None
            ),
            Verdict::Allow
        );
    }

    #[test]
    fn reinstalling_replaces_an_entry_with_an_old_timeout() {
        let mut old = snippet(Agent::Gemini, "safe-wrangler");
        old["hooks"]["BeforeTool"][0]["hooks"][0]["timeout"] = json!(5000);
        let merged = merge(old, &snippet(Agent::Gemini, "safe-wrangler"));
        assert_eq!(merged, snippet(Agent::Gemini, "safe-wrangler"));
    }

    #[test]
    fn a_project_install_replaces_the_absolute_path_an_older_one_wrote() {
        let old = snippet(Agent::Claude, "/opt/tools/safe-wrangler");
        let merged = merge(old, &snippet(Agent::Claude, "safe-wrangler"));
        assert_eq!(merged, snippet(Agent::Claude, "safe-wrangler"));
        // Another program's hook is kept.
        let other = snippet(Agent::Claude, "/opt/tools/other-guard");
        let merged = merge(other, &snippet(Agent::Claude, "safe-wrangler"));
        assert_eq!(merged["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn merge_keeps_other_settings_and_is_idempotent() {
        let existing =
            json!({"model": "x", "hooks": {"PreToolUse": [{"matcher": "Edit", "hooks": []}]}});
        let add = snippet(Agent::Claude, "/bin/safe-wrangler");
        let once = merge(existing, &add);
        let twice = merge(once.clone(), &add);
        assert_eq!(once, twice);
        assert_eq!(once["model"], "x");
        assert_eq!(once["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn merge_replaces_every_older_entry_of_the_same_hook() {
        let mut existing = snippet(Agent::Claude, "/opt/gone/safe-wrangler");
        let stale = existing["hooks"]["PreToolUse"][0].clone();
        let mut by_path = stale.clone();
        by_path["hooks"][0]["command"] = json!("safe-wrangler hook claude");
        existing["hooks"]["PreToolUse"] = json!([by_path, {"matcher": "Edit", "hooks": []}, stale]);
        let add = snippet(Agent::Claude, "safe-wrangler");
        let merged = merge(existing, &add);
        let new = add["hooks"]["PreToolUse"][0].clone();
        assert_eq!(
            merged["hooks"]["PreToolUse"],
            json!([new.clone(), {"matcher": "Edit", "hooks": []}, new]),
        );
    }
}
