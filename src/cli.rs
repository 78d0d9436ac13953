//! safe-wrangler's own verbs. They exist only when called as `safe-wrangler`; through the
//! `wrangler` shim every word passes through. None may shadow a wrangler command (tested against
//! the command table).

use std::ffi::OsString;

use clap::builder::PossibleValue;
use clap::{Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::hook::{Agent, Scope};
use crate::policy::{self, Decision};
use crate::wrangler::Class;
use crate::{World, exit};

pub use crate::core::{OWN_VERBS, PLANNED_VERBS};

#[derive(Debug, Parser)]
#[command(
    name = "safe-wrangler",
    version,
    about = "A guard in front of Cloudflare's wrangler"
)]
enum Own {
    /// Print how a wrangler call would be classified and decided here; never runs wrangler.
    Explain {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// The wrangler arguments (put `--` before them if they start with a dash).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Print what a wrangler call would change (Worker, routes, bindings, SQL, secrets, ...),
    /// from argv, the config and local files; no network, never runs wrangler.
    Plan {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Also ask Cloudflare what is live (the version now serving, D1 migrations already
        /// applied) with read-only wrangler calls and your login.
        #[arg(long)]
        remote: bool,
        /// The wrangler arguments (put `--` before them if they start with a dash).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Check this shell and project against the safe-wrangler checklist; exit 1 when any fails.
    Doctor {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print (or add to package.json) the brokered scripts that call safe-wrangler.
    Scripts {
        /// Add them to package.json, keeping its formatting and key order.
        #[arg(long)]
        write: bool,
    },
    /// Show recent decisions from the audit log.
    Log {
        /// Only entries newer than this: a duration back from now (30m, 2h, 7d, 1h30m) or an
        /// RFC 3339 UTC time (2026-11-23T14:50:00Z).
        #[arg(long, value_name = "DURATION|TIME", value_parser = since)]
        since: Option<String>,
        /// Only entries of this class.
        #[arg(long)]
        class: Option<Class>,
        /// JSON lines instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Answer an AI agent's pre-tool-use hook (`hook <agent>`, its JSON on stdin), or register
    /// it (`hook install <agent>`).
    Hook(HookArgs),
    /// A human at a terminal approves one planned change for an agent or a script, time-boxed
    /// and single-use by default (the plan is shown and the same phrase typed).
    Grant {
        /// How long the grant lasts (e.g. 30m, 2h; default 30m, at most 24h).
        #[arg(long = "for", value_name = "DURATION", value_parser = grant_for)]
        duration: Option<u64>,
        /// How many calls it allows (default 1).
        #[arg(long)]
        uses: Option<u32>,
        /// Why, for the audit log and the list.
        #[arg(long)]
        reason: Option<String>,
        /// End one grant.
        #[arg(long, value_name = "ID", conflicts_with = "revoke_all")]
        revoke: Option<String>,
        /// End every grant.
        #[arg(long)]
        revoke_all: bool,
        /// The wrangler arguments (put `--` before them if they start with a dash).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// List the active grants.
    Grants {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make this project's `node_modules/.bin/wrangler` lead to safe-wrangler.
    Protect {
        /// Exit 1 when the project is not protected; change nothing.
        #[arg(long, conflicts_with = "undo")]
        check: bool,
        /// Restore the original `node_modules/.bin/wrangler`.
        #[arg(long)]
        undo: bool,
    },
    /// Create the `wrangler` PATH shim (as install.sh does) and print the PATH line.
    Shim {
        /// Put it under DIR/lib/safe-wrangler/shims (default: ~/.local).
        #[arg(long, value_name = "DIR")]
        prefix: Option<std::path::PathBuf>,
    },
}

/// `hook <agent>` or `hook install <agent> [--project | --user]`. Any misuse of `hook` other than
/// `hook install` blocks (see [`run_own`]): the words are an agent's hook command.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true,
    override_usage = "safe-wrangler hook <AGENT>\n       safe-wrangler hook install <AGENT> [--project | --user]",
    after_help = "An unknown agent or any other misuse of `hook <agent>` blocks (exit 2 with the \
                  reason on stderr), as a malformed input does: a hook never fails open."
)]
struct HookArgs {
    /// The agent whose pre-tool-use JSON is on stdin: no output and exit 0 allows, its deny
    /// answer on stdout denies.
    agent: Option<Agent>,
    #[command(subcommand)]
    install: Option<HookInstall>,
}

#[derive(Debug, Subcommand)]
enum HookInstall {
    /// Print the settings snippet that registers `hook <agent>`, or merge it into the agent's
    /// settings file (keeping everything else).
    Install {
        /// The agent whose settings get the hook.
        agent: Agent,
        /// Merge it into the project's settings file (names `safe-wrangler` as found on PATH).
        #[arg(long, conflicts_with = "user")]
        project: bool,
        /// Merge it into the user's settings file, under HOME.
        #[arg(long)]
        user: bool,
    },
}

impl ValueEnum for Agent {
    fn value_variants<'a>() -> &'a [Self] {
        &Agent::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let product = match self {
            Agent::Claude => "Claude Code",
            Agent::Codex => "OpenAI Codex CLI",
            Agent::Gemini => "Gemini CLI",
            Agent::Copilot => "GitHub Copilot CLI",
            Agent::Cursor => "Cursor",
        };
        Some(PossibleValue::new(self.name()).help(product))
    }
}

impl ValueEnum for Class {
    fn value_variants<'a>() -> &'a [Self] {
        &Class::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

/// `log --since`: checked by the audit log's own parser, which `log` runs again on the same text.
fn since(text: &str) -> Result<String, String> {
    crate::audit::parse_since(text, std::time::SystemTime::now())
        .map(|_| text.to_owned())
        .map_err(|e| unprefixed(&e, "--since", text))
}

/// `grant --for`: the grant's duration in seconds.
fn grant_for(text: &str) -> Result<u64, String> {
    crate::verbs::grant::parse_for(text).map_err(|e| unprefixed(&e, "--for", text))
}

/// A parser's reason without its own `--flag "text": ` prefix, which clap's message already says.
fn unprefixed(reason: &str, flag: &str, text: &str) -> String {
    reason
        .strip_prefix(&format!("{flag} {text:?}: "))
        .unwrap_or(reason)
        .to_owned()
}

/// What `safe-wrangler --help` adds below the verbs.
const HELP_AFTER: &str = "\
Every other word goes to the real wrangler, guarded: `safe-wrangler deploy ...` is
`wrangler deploy ...` with credentials kept away and production, migration and dns work confirmed
by a human at a terminal (or approved CI). Through the `wrangler` shim, --help and --version are
wrangler's own. `safe-wrangler --version` prints this version and the real wrangler's.";

/// `safe-wrangler --help`: our verbs, and that every other word goes to wrangler.
#[must_use]
pub fn help() -> u8 {
    use clap::CommandFactory as _;
    let text = Own::command()
        .after_help(HELP_AFTER)
        .override_usage("safe-wrangler <VERB> [ARGS]...\n       safe-wrangler <WRANGLER ARGS>...")
        .render_help();
    print!("{text}");
    0
}

/// Runs an own verb; `args` starts with the verb.
#[must_use]
pub fn run_own(world: &World, args: &[OsString]) -> u8 {
    let parsed = Own::try_parse_from(
        std::iter::once(OsString::from(crate::OWN_NAME)).chain(args.iter().cloned()),
    );
    let own = match parsed {
        Ok(own) => own,
        Err(e) if !e.use_stderr() => {
            // `--help` of a verb: print! ends a failed write through the panic hook (quietly on
            // a broken pipe, else one line and 74), as every verb's output does.
            print!("{e}");
            return 0;
        }
        // `hook ...` is an agent's hook command: clap's exit 2 with a usage text on stderr
        // would be read as a block by some agents and as "no objection" by others; block as
        // the hook blocks (`hook install ...` is a human's and is bad usage like any verb's).
        Err(_) if is_hook_call(args) => return hook_misused(args),
        Err(e) => {
            // clap quotes the words it did not accept: redacted and escaped like any word of
            // the user's that we show.
            let text: Vec<String> = e.to_string().lines().map(crate::display::shown).collect();
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("{}\n", text.join("\n")).as_bytes(),
            );
            return exit::USAGE;
        }
    };
    match own {
        Own::Explain { json, args } => explain(world, &args, json),
        Own::Plan { json, remote, args } => plan(world, &args, json, remote),
        Own::Doctor { json } => crate::doctor::run(world, json),
        Own::Scripts { write } => crate::scripts::run(world, write),
        Own::Log { since, class, json } => {
            crate::audit::show(world, since.as_deref(), class.map(Class::as_str), json)
        }
        Own::Hook(HookArgs {
            install:
                Some(HookInstall::Install {
                    agent,
                    project,
                    user,
                }),
            ..
        }) => {
            let scope = if project {
                Scope::Project
            } else if user {
                Scope::User
            } else {
                Scope::Print
            };
            crate::hook::install(world, agent, scope)
        }
        Own::Hook(HookArgs {
            agent: Some(agent), ..
        }) => crate::hook::answer(world, agent),
        Own::Hook(HookArgs { .. }) => hook_misused(args),
        Own::Protect { check, undo } => crate::protect::run(world, check, undo),
        Own::Shim { prefix } => crate::verbs::setup::run(world, prefix.as_deref()),
        Own::Grant {
            duration,
            uses,
            reason,
            revoke,
            revoke_all,
            args,
        } => crate::verbs::grant::run(
            world,
            &crate::verbs::grant::Request {
                duration,
                uses,
                reason,
                revoke,
                revoke_all,
                args,
            },
        ),
        Own::Grants { json } => crate::verbs::grant::list(world, json),
    }
}

/// Whether `args` (starting with the verb) is `hook ...` other than `hook install ...`.
fn is_hook_call(args: &[OsString]) -> bool {
    args.first().is_some_and(|v| v == "hook") && args.get(1).is_none_or(|w| w != "install")
}

/// The block for a `hook` command line that names no agent we know: the agent's own words are
/// `hook <agent>`, so one word is an unknown agent and anything else is misuse.
fn hook_misused(args: &[OsString]) -> u8 {
    match args.get(1..) {
        Some([word]) => crate::hook::misused(Some(&word.to_string_lossy())),
        _ => crate::hook::misused(None),
    }
}

/// `explain --json`: one object, the contract scripts read (README "safe-wrangler's own
/// commands"). Field order is the output order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explanation {
    pub command: String,
    pub class: crate::wrangler::Class,
    /// `""` is the top level.
    pub environment: String,
    pub production: bool,
    /// `run`, `confirm` or `refuse`.
    pub decision: String,
    pub decided_by: crate::core::policy::DecidedBy,
    /// The policy files in force.
    pub policy: Vec<String>,
    pub reason: String,
    pub rule: String,
    pub remote: bool,
    pub destructive: bool,
    pub why: String,
    pub context: ExplainedContext,
    /// Whether the CI identity was proven by an OIDC token, and by which claims.
    pub ci_identity: serde_json::Value,
    pub config: Option<String>,
    pub worker: Option<String>,
    pub routes: Vec<String>,
    pub facts: Vec<String>,
    /// What would run instead when this call does not run as asked: whole argvs (without the
    /// program, secrets redacted), each classified and decided `run` in the same context.
    pub instead: Vec<Vec<String>>,
}

/// The caller, in [`Explanation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainedContext {
    pub terminal: bool,
    pub agent: Option<String>,
    pub ci: Option<serde_json::Value>,
    pub description: String,
}

impl Explanation {
    /// The explanation of `a`, with the reason, policy sources and config already worded.
    fn of(
        a: &crate::Assessment,
        reason: String,
        sources: Vec<String>,
        config: Option<&str>,
        instead: &[Vec<String>],
    ) -> Self {
        let op = &a.operation;
        let redact = crate::secrets::redact;
        Explanation {
            command: op.command.clone(),
            class: op.class,
            environment: redact(&op.environment),
            production: op.production,
            decision: a.ruling.decision.name().to_owned(),
            decided_by: a.ruling.by.clone(),
            policy: sources,
            reason,
            rule: op.rule.clone(),
            remote: op.remote,
            destructive: op.destructive,
            why: redact(&op.why),
            context: ExplainedContext {
                terminal: a.context.terminal,
                agent: a.context.agent.map(str::to_owned),
                ci: a
                    .context
                    .ci
                    .as_ref()
                    .and_then(|c| serde_json::to_value(c).ok()),
                description: a.context.describe(),
            },
            ci_identity: crate::oidc::report(a),
            config: config.map(redact),
            worker: a.worker.as_deref().map(redact),
            routes: op.routes.clone(),
            facts: op.facts.iter().map(|f| redact(f)).collect(),
            instead: instead
                .iter()
                .map(|argv| {
                    let words: Vec<OsString> = argv.iter().map(OsString::from).collect();
                    crate::display::redacted_words(&words)
                })
                .collect(),
        }
    }
}

/// The caller as the wrapper would see it (the terminal is measured only when it matters).
fn detect(env: &crate::context::Env, gated: bool) -> crate::context::Context {
    crate::context::Context::detect(
        env,
        gated && crate::confirm::terminal_present(),
        &crate::edge::files::RealDisk,
    )
}

fn plan(world: &World, args: &[OsString], as_json: bool, remote: bool) -> u8 {
    let evaluated = crate::evaluate(world, args, detect, true);
    let (a, project) = match evaluated {
        Ok(x) => x,
        Err(e) => {
            eprintln!(
                "safe-wrangler: {}",
                crate::display::escape(&format!("bad policy file {e}"))
            );
            return exit::CONFIG;
        }
    };
    let plan = crate::core::plan::plan(&a.invocation, &project, &a.operation, a.worker.as_deref());
    let live = if remote {
        crate::edge::remote::ask(world, &a.invocation, &plan.migrations)
    } else {
        Vec::new()
    };
    if as_json {
        let mut value = serde_json::to_value(&plan).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("decision".into(), a.ruling.decision.name().into());
            if remote {
                map.insert(
                    "remote".into(),
                    serde_json::to_value(&live).unwrap_or_default(),
                );
            }
        }
        redact_strings(&mut value);
        println!("{value}");
    } else {
        let cmd = crate::display::command_line("wrangler", args);
        println!(
            "`{cmd}` is {} work (rule {}); nothing has run.",
            plan.class.as_str(),
            crate::display::shown(&a.operation.rule)
        );
        print!("{}", plan.text());
        for l in &live {
            let words: Vec<OsString> = l.command.iter().map(OsString::from).collect();
            println!(
                "  {:<13}{} (exit {})",
                "live:",
                crate::display::command_line("wrangler", &words),
                l.exit.map_or_else(|| "-".to_owned(), |c| c.to_string())
            );
            if let Some(pending) = &l.pending {
                println!(
                    "  {:<13}{}",
                    "not applied:",
                    if pending.is_empty() {
                        "none (every migration file is applied)".to_owned()
                    } else {
                        crate::display::shown(&pending.join(", "))
                    }
                );
            }
            for line in l.output.lines().take(40) {
                println!("  {:<13}{}", "", crate::display::shown(line));
            }
        }
        if a.operation.production {
            println!(
                "  {:<13}{}",
                "to confirm:",
                crate::display::shown(&plan.target)
            );
        }
    }
    0
}

/// Every string in `value` redacted, as every echo of user input (SQL, names and wrangler's own
/// output in a plan come from files and calls we do not control).
fn redact_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => *text = crate::secrets::redact(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_strings),
        _ => {}
    }
}

#[allow(clippy::too_many_lines)] // one line per field of explain's output, JSON and text
fn explain(world: &World, args: &[OsString], as_json: bool) -> u8 {
    let (a, project) = match crate::evaluate(world, args, detect, false) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "safe-wrangler: {}",
                crate::display::escape(&format!("bad policy file {e}"))
            );
            return exit::CONFIG;
        }
    };
    let op = &a.operation;
    let decision = &a.ruling.decision;
    // What would run instead, when this call does not run as asked (a refusal's come from the
    // one refusal renderer).
    let mut instead = match decision {
        Decision::Confirm { .. } => {
            crate::core::suggest::instead(args, &a.invocation, &project, op, &a.context)
        }
        _ => Vec::new(),
    };
    let reason = match decision {
        Decision::Run {
            credential: policy::Credential::None,
        } => op.why.clone(),
        Decision::Run {
            credential: policy::Credential::Token(var),
        } => {
            format!("{}; runs with CLOUDFLARE_API_TOKEN from {var}", op.why)
        }
        Decision::Confirm { phrase } => format!("a human must type {phrase} on the terminal"),
        Decision::Refuse { reason, hint } => {
            let refusal = crate::core::refusal::Refusal::new(
                &a,
                &project,
                "wrangler",
                args,
                reason,
                Some(hint),
            );
            let reason = refusal.explain_reason();
            instead = refusal.instead;
            reason
        }
    };
    // Every field that can come from user input is redacted (JSON escapes the rest itself).
    let redact = crate::secrets::redact;
    let reason = redact(&reason);
    let sources: Vec<String> = a
        .policy
        .sources
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let config = match &a.config {
        Some(Ok(p)) => Some(p.display().to_string()),
        Some(Err(e)) => Some(format!("unreadable: {e}")),
        None => None,
    };
    if as_json {
        let value = Explanation::of(
            &a,
            reason.clone(),
            sources.clone(),
            config.as_deref(),
            &instead,
        );
        match serde_json::to_string(&value) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("safe-wrangler: explain: {e}");
                return exit::SOFTWARE;
            }
        }
    } else {
        let esc = crate::display::shown;
        println!("command:     {}", esc(&op.command));
        println!(
            "class:       {} (rule {})",
            op.class.as_str(),
            esc(&op.rule)
        );
        println!(
            "environment: {}",
            esc(policy::environment_label(&op.environment))
        );
        println!("production:  {}", if op.production { "yes" } else { "no" });
        println!("why:         {}", esc(&op.why));
        let identity = crate::oidc::explain_line(&a);
        println!("context:     {}{identity}", a.context.describe());
        if let Some(c) = config {
            println!("config:      {}", esc(&c));
        }
        if let Some(w) = &a.worker {
            println!("worker:      {}", esc(w));
        }
        for fact in &op.facts {
            println!("fact:        {}", esc(fact));
        }
        if !sources.is_empty() {
            println!("policy:      {}", esc(&sources.join(", ")));
        }
        for argv in &instead {
            let words: Vec<OsString> = argv.iter().map(OsString::from).collect();
            println!(
                "instead:     {}",
                crate::display::command_line("wrangler", &words)
            );
        }
        println!(
            "decision:    {} (by {}): {}",
            decision.name(),
            esc(&a.ruling.by.as_str()),
            esc(&reason)
        );
    }
    0
}
