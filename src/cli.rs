//! safe-wrangler's own verbs. They exist only when called as `safe-wrangler`; through the
//! `wrangler` shim every word passes through. None may shadow a wrangler command (tested against
//! the command table).

use std::ffi::OsString;

use clap::Parser;
use serde::{Deserialize, Serialize};

use crate::policy::{self, Decision};
use crate::{World, assess, exit};

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
        /// Only entries newer than this (e.g. 30m, 2h, 7d).
        #[arg(long)]
        since: Option<String>,
        /// Only entries of this class.
        #[arg(long)]
        class: Option<String>,
        /// JSON lines instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Agent hooks: `hook <agent>` answers a pre-tool-use hook on stdin;
    /// `hook install <agent> [--project|--user]` prints or writes the settings snippet.
    Hook {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
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

/// Runs an own verb; `args` starts with the verb.
#[must_use]
pub fn run_own(world: &World, args: &[OsString]) -> u8 {
    let parsed = Own::try_parse_from(
        std::iter::once(OsString::from(crate::OWN_NAME)).chain(args.iter().cloned()),
    );
    let own = match parsed {
        Ok(own) => own,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return 0;
        }
        Err(e) => {
            let _ = e.print();
            return exit::USAGE;
        }
    };
    match own {
        Own::Explain { json, args } => explain(world, &args, json),
        Own::Doctor { json } => crate::doctor::run(world, json),
        Own::Scripts { write } => crate::scripts::run(world, write),
        Own::Log { since, class, json } => {
            crate::audit::show(world, since.as_deref(), class.as_deref(), json)
        }
        Own::Hook { args } => crate::hook::run(world, &args),
        Own::Protect { check, undo } => crate::protect::run(world, check, undo),
        Own::Shim { prefix } => crate::verbs::setup::run(world, prefix.as_deref()),
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
    pub decided_by: String,
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
        }
    }
}

#[allow(clippy::too_many_lines)] // one line per field of explain's output, JSON and text
fn explain(world: &World, args: &[OsString], as_json: bool) -> u8 {
    let a = match assess(world, args, crate::confirm::terminal_present) {
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
            crate::core::refusal::Refusal::new(&a, "wrangler", args, reason, hint).explain_reason()
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
        let value = Explanation::of(&a, reason.clone(), sources.clone(), config.as_deref());
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
        println!(
            "decision:    {} (by {}): {}",
            decision.name(),
            esc(&a.ruling.by),
            esc(&reason)
        );
    }
    0
}
