//! One refusal renderer for every way in: the wrapper's two stderr lines, the hook's reason and
//! explain's `reason`. Every part that can come from user input (the command line, the
//! environment, the why, the reason) is redacted and escaped here, once.

use std::ffi::OsString;

use crate::core::assess::Assessment;
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
    /// What to do instead (the policy's hint, with the command filled in).
    pub hint: String,
    /// A safer command that does the same job, when there is one.
    pub alternative: Option<&'static str>,
}

impl Refusal {
    /// The refusal of `a`'s call (`program args`) for `reason`, with `hint` (`{cmd}` stands for
    /// the command line).
    #[must_use]
    pub fn new(
        a: &Assessment,
        program: &str,
        args: &[OsString],
        reason: &str,
        hint: &str,
    ) -> Refusal {
        let op = &a.operation;
        let cmd = command_line(program, args);
        Refusal {
            hint: shown(hint).replace("{cmd}", &cmd),
            cmd,
            class: op.class.as_str(),
            rule: shown(&op.rule),
            environment: shown(policy::environment_label(&op.environment)),
            why: shown(&op.why),
            reason: shown(reason),
            alternative: policy::alternative(op),
        }
    }

    /// What to do instead, the alternative first.
    fn instead(&self) -> String {
        match self.alternative {
            Some(alt) => format!("{alt}; or {}", self.hint),
            None => self.hint.clone(),
        }
    }

    /// The wrapper's two lines on stderr (without the `safe-wrangler: ` prefix).
    #[must_use]
    pub fn wrapper_lines(&self) -> [String; 2] {
        [
            format!(
                "refused `{}`: {} ({}; rule {}, environment {}): {}",
                self.cmd, self.class, self.why, self.rule, self.environment, self.reason
            ),
            format!("instead: {}", self.instead()),
        ]
    }

    /// The agent hook's reason.
    #[must_use]
    pub fn hook_reason(&self) -> String {
        format!(
            "`{}` is {} work (rule {}): {}. Instead: {}",
            self.cmd,
            self.class,
            self.rule,
            self.reason,
            self.instead()
        )
    }

    /// explain's `reason`.
    #[must_use]
    pub fn explain_reason(&self) -> String {
        format!("{}; instead: {}", self.reason, self.hint)
    }
}
