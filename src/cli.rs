//! safe-wrangler's own verbs. They exist only when called as `safe-wrangler`; through the
//! `wrangler` shim every word passes through. None may shadow a wrangler command (tested against
//! the command table).

use std::ffi::OsString;

use clap::Parser;
use serde_json::json;

use crate::policy::{self, Decision};
use crate::{World, exit};

/// The verbs safe-wrangler answers itself when called by its own name.
pub const OWN_VERBS: &[&str] = &[
    "explain", "plan", "doctor", "scripts", "log", "hook", "protect", "grant", "grants",
];

/// Verbs reserved for later use; checked against wrangler's commands now so that none of them can
/// ever shadow one.
pub const PLANNED_VERBS: &[&str] = &[];

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
    /// A human at a terminal approves one planned change for an agent or a script, time-boxed
    /// and single-use by default (the plan is shown and the same phrase typed).
    Grant {
        /// How long the grant lasts (e.g. 30m, 2h; default 30m, at most 24h).
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
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
    use std::io::Write as _;
    let text = Own::command()
        .after_help(HELP_AFTER)
        .override_usage("safe-wrangler <VERB> [ARGS]...\n       safe-wrangler <WRANGLER ARGS>...")
        .render_help();
    let _ = write!(std::io::stdout(), "{text}");
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
        Own::Plan { json, args } => plan(world, &args, json),
        Own::Doctor { json } => crate::doctor::run(world, json),
        Own::Scripts { write } => crate::scripts::run(world, write),
        Own::Log { since, class, json } => {
            crate::audit::show(world, since.as_deref(), class.as_deref(), json)
        }
        Own::Hook { args } => crate::hook::run(world, &args),
        Own::Protect { check, undo } => crate::protect::run(world, check, undo),
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

/// The caller as the wrapper would see it (the terminal is measured only when it matters).
fn detect(env: &crate::context::Env, gated: bool) -> crate::context::Context {
    crate::context::Context::detect(
        env,
        gated && crate::confirm::terminal_present(),
        &crate::context::RealDisk,
    )
}

fn plan(world: &World, args: &[OsString], as_json: bool) -> u8 {
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
    if as_json {
        let mut value = serde_json::to_value(&plan).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("decision".into(), json!(a.ruling.decision.name()));
        }
        println!("{value}");
    } else {
        let cmd = crate::display::command_line("wrangler", args);
        println!(
            "`{cmd}` is {} work (rule {}); nothing has run.",
            plan.class.as_str(),
            crate::display::escape(&a.operation.rule)
        );
        print!("{}", plan.text());
        if a.operation.production {
            println!(
                "  {:<13}{}",
                "to confirm:",
                crate::display::escape(&plan.target)
            );
        }
    }
    0
}

// One print per field of explain's contract (text and JSON side by side).
#[allow(clippy::too_many_lines)]
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
            let cmd = crate::display::command_line("wrangler", args);
            let hint = crate::core::grant::fill(&hint.replace("{cmd}", &cmd), args);
            format!("{reason}; instead: {hint}")
        }
    };
    // What would run instead, when this call does not run as asked.
    let instead = if matches!(decision, Decision::Run { .. }) {
        Vec::new()
    } else {
        crate::core::suggest::instead(args, &a.invocation, &project, op, &a.context)
    };
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
        let value = json!({
            "command": op.command,
            "class": op.class,
            "environment": op.environment,
            "production": op.production,
            "decision": decision.name(),
            "decided_by": a.ruling.by,
            "policy": sources,
            "reason": reason,
            "rule": op.rule,
            "remote": op.remote,
            "destructive": op.destructive,
            "why": op.why,
            "context": {
                "terminal": a.context.terminal,
                "agent": a.context.agent,
                "ci": a.context.ci,
                "description": a.context.describe(),
            },
            "config": config,
            "worker": a.worker,
            "routes": op.routes,
            "facts": op.facts,
            "instead": instead,
        });
        println!("{value}");
    } else {
        let esc = crate::display::escape;
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
        println!("context:     {}", a.context.describe());
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
            esc(&a.ruling.by),
            esc(&reason)
        );
    }
    0
}
