//! decide(Operation, Context) -> Decision. Pure and table-shaped.
//!
//! | class                       | human at a terminal | no terminal | agent  | CI (not approved) |
//! |-----------------------------|---------------------|-------------|--------|-------------------|
//! | local, read, preview        | run                 | run         | run    | run               |
//! | production, migration, dns  | confirm             | refuse      | refuse | refuse            |
//!
//! Credentials are removed in every case (`credentials`). An agent marker wins over a terminal:
//! an agent never gets a prompt it could answer itself. The policy file and approved CI arrive
//! with the policy issue; until then nothing is approved.

use serde::Serialize;

use crate::classify::Operation;
use crate::context::Context;
use crate::wrangler::Class;

/// What to do with a call. Refusal is the default path: only `Run` reaches wrangler.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "lowercase")]
pub enum Decision {
    Run,
    /// Ask a human on `/dev/tty` to type `phrase`.
    Confirm {
        phrase: String,
    },
    Refuse {
        reason: String,
    },
}

impl Decision {
    /// The stable name used in explain's JSON.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Run => "run",
            Decision::Confirm { .. } => "confirm",
            Decision::Refuse { .. } => "refuse",
        }
    }
}

/// Decides one call. `target` is what a human must type to confirm (a Worker name, or the
/// environment when nothing better is known).
pub fn decide(op: &Operation, ctx: &Context, target: &str) -> Decision {
    if !op.class.needs_approval() {
        return Decision::Run;
    }
    if let Some(marker) = ctx.agent {
        return Decision::Refuse {
            reason: format!(
                "an AI agent is calling ({marker} is set) and {} work needs a human",
                op.class.as_str()
            ),
        };
    }
    if let Some(ci) = ctx.ci {
        return Decision::Refuse {
            reason: format!("CI ({ci}) is not approved for {} work", op.class.as_str()),
        };
    }
    if !ctx.terminal {
        return Decision::Refuse {
            reason: format!(
                "{} work needs a human at a terminal, and there is none",
                op.class.as_str()
            ),
        };
    }
    Decision::Confirm {
        phrase: target.to_owned(),
    }
}

/// The target label for a human: the environment, or "production" for the top level.
#[must_use]
pub fn environment_label(environment: &str) -> &str {
    if environment.is_empty() {
        "production"
    } else {
        environment
    }
}

/// What would work instead, for the refusal's second line: a safer command when one exists.
#[must_use]
pub fn alternative(op: &Operation) -> Option<&'static str> {
    Some(match (op.command.as_str(), op.class) {
        ("deploy" | "versions deploy", _) => "upload a preview version: wrangler versions upload",
        ("d1 migrations apply" | "d1 execute", _) => {
            "try it against the local database first: add --local"
        }
        (cmd, _) if cmd.starts_with("kv ") || cmd.starts_with("r2 object") => {
            "work on local data: add --local"
        }
        (_, Class::Dns) => {
            "deploy without routes or domains to a preview: wrangler versions upload"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(class: Class) -> Operation {
        Operation {
            class,
            rule: "test".into(),
            command: "deploy".into(),
            environment: String::new(),
            production: class.needs_approval(),
            remote: true,
            destructive: false,
            why: String::new(),
            facts: Vec::new(),
            routes: Vec::new(),
        }
    }

    fn ctx(terminal: bool, agent: Option<&'static str>, ci: Option<&'static str>) -> Context {
        Context {
            terminal,
            agent,
            ci,
        }
    }

    #[test]
    fn table() {
        let human = ctx(true, None, None);
        let none = ctx(false, None, None);
        let agent_tty = ctx(true, Some("CLAUDECODE"), None);
        let ci_tty = ctx(true, None, Some("github-actions"));
        for class in Class::ALL {
            let gated = class.needs_approval();
            for c in [&human, &none, &agent_tty, &ci_tty] {
                let d = decide(&op(class), c, "w");
                match (gated, c.terminal && c.agent.is_none() && c.ci.is_none()) {
                    (false, _) => assert_eq!(d, Decision::Run, "{class:?} {c:?}"),
                    (true, true) => assert_eq!(d, Decision::Confirm { phrase: "w".into() }),
                    (true, false) => {
                        assert!(matches!(d, Decision::Refuse { .. }), "{class:?} {c:?}");
                    }
                }
            }
        }
    }
}
