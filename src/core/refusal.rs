//! One refusal renderer for every way in: the wrapper's two stderr lines, the hook's reason and
//! explain's `reason`. Every part that can come from user input (the command line, the
//! environment, the why, the reason, the plan summary, the suggestions) is redacted and escaped
//! here, once. What to do instead is the `instead:` suggestions ([`crate::core::suggest`]: whole
//! command lines built from the caller's argv and config, each of which would itself run here),
//! then the policy's hint when there is one (with the grant command a human can run, when a grant
//! could cover the call).

use std::ffi::OsString;

use crate::core::assess::{Assessment, Project};
use crate::core::grant::PLACEHOLDER;
use crate::display::{command_line, shown};
use crate::policy;

/// A refusal, its parts ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The command line as the user typed it (redacted, quoted, escaped).
    pub cmd: String,
    pub class: &'static str,
    pub rule: String,
    pub environment: String,
    pub why: String,
    pub reason: String,
    /// The suggested calls that would run here (argv without the program), as classified.
    pub instead: Vec<Vec<String>>,
    /// The same suggestions as command lines to show (program first; redacted, quoted, escaped).
    pub suggestions: Vec<String>,
    /// What else to do (the policy's hint, with the command filled in); `None` when the human at
    /// the terminal has just decided (not told to ask a human).
    pub hint: Option<String>,
    /// What the call would change, in one line ([`crate::core::plan::Plan::summary`]).
    pub changes: String,
}

impl Refusal {
    /// The refusal of `a`'s call (`program args`, decided on `project`) for `reason`, with `hint`
    /// (`{cmd}` stands for the command line, `{grant}` for the grant command a human can run for
    /// it).
    #[must_use]
    pub fn new(
        a: &Assessment,
        project: &Project,
        program: &str,
        args: &[OsString],
        reason: &str,
        hint: Option<&str>,
    ) -> Refusal {
        let op = &a.operation;
        let cmd = command_line(program, args);
        let instead = crate::core::suggest::instead(args, &a.invocation, project, op, &a.context);
        let suggestions = instead
            .iter()
            .map(|argv| {
                let words: Vec<OsString> = argv.iter().map(OsString::from).collect();
                command_line(program, &words)
            })
            .collect();
        let changes =
            crate::core::plan::plan(&a.invocation, project, op, a.worker.as_deref()).summary();
        Refusal {
            hint: hint.map(|h| {
                shown(h)
                    .replace("{cmd}", &cmd)
                    .replace(PLACEHOLDER, &crate::core::grant::command(args))
            }),
            cmd,
            class: op.class.as_str(),
            rule: shown(&op.rule),
            environment: shown(policy::environment_label(&op.environment)),
            why: shown(&op.why),
            reason: shown(reason),
            instead,
            suggestions,
            changes,
        }
    }

    /// What to do instead: the suggestions that would run, then the hint.
    fn instead_line(&self) -> String {
        let mut options: Vec<String> = self.suggestions.iter().map(|s| format!("`{s}`")).collect();
        options.extend(self.hint.clone());
        if options.is_empty() {
            options.push("nothing ran; run it again and type the name to go ahead".to_owned());
        }
        options.join("; or ")
    }

    /// The wrapper's two lines on stderr (without the `safe-wrangler: ` prefix).
    #[must_use]
    pub fn wrapper_lines(&self) -> [String; 2] {
        [
            format!(
                "refused `{}`: {} ({}; rule {}, environment {}): {}",
                self.cmd, self.class, self.why, self.rule, self.environment, self.reason
            ),
            format!("instead: {}", self.instead_line()),
        ]
    }

    /// The agent hook's reason: the same plan summary and suggestions a human sees.
    #[must_use]
    pub fn hook_reason(&self) -> String {
        let changes = if self.changes.is_empty() {
            String::new()
        } else {
            format!(" It would change: {}.", self.changes)
        };
        format!(
            "`{}` is {} work (rule {}): {}.{changes} Instead: {}",
            self.cmd,
            self.class,
            self.rule,
            self.reason,
            self.instead_line()
        )
    }

    /// explain's `reason` (the suggestions are explain's own `instead` field).
    #[must_use]
    pub fn explain_reason(&self) -> String {
        match &self.hint {
            Some(hint) => format!("{}; instead: {hint}", self.reason),
            None => self.reason.clone(),
        }
    }
}
