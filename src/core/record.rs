//! One line of the audit log, [`AuditEntry`]: what the writer appends (edge/audit.rs for calls
//! and loops, edge/grants.rs for grant events) and what `log` reads back. Pure: building an entry
//! and its timestamps touches nothing; the edge adds the time, the paths and the I/O.
//!
//! Three kinds of line share the one record, each built by its own constructor so that it always
//! has the same keys in the same order: a call's decision ([`AuditEntry::call`], with `signal`
//! when a prompt was interrupted and `result` when a child run ended), a grant event
//! ([`AuditEntry::grant`]) and a call stopped because safe-wrangler keeps calling itself
//! ([`AuditEntry::nesting_loop`]). Keys a kind does not have are left out, never written as
//! `null`; a value a kind always has but may lack is written as `null`.
//!
//! Reading is lenient, for lines written by earlier versions or damaged by hand: a missing key or
//! one of the wrong type reads as absent (`log` shows a blank), unknown keys are ignored.
//! Every field that comes from user input (environment, Worker, argv) passes through
//! [`crate::core::secrets::redact`] here, in the constructors.

use std::ffi::OsString;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::core::assess::Assessment;
use crate::core::grant::Grant;
use crate::core::secrets::redact;

/// One line of the audit log. The field order is the key order written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339 UTC to the second (`2026-11-23T14:50:00Z`), see [`rfc3339`].
    #[serde(default, deserialize_with = "lenient")]
    pub time: String,
    /// The command path (`d1 migrations apply`); not in a loop's line.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub command: Option<String>,
    /// The class (`read`, `production`, ...); not in a loop's line.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub class: Option<String>,
    /// The target environment, `""` for the top level (redacted); not in a loop's line.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub environment: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub production: Option<bool>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub resources: Option<Resources>,
    /// `run`, `refuse`, `confirmed`, `declined`, `interrupted`, or a grant event
    /// (`grant-created`, `grant-used`, `grant-expired`, `grant-used-up`, `grant-revoked`).
    #[serde(default, deserialize_with = "lenient")]
    pub decision: String,
    /// The classifier rule's id; not in a grant event.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub rule: Option<String>,
    /// [`DecidedBy`](crate::core::policy::DecidedBy)'s id; a string, so that `log` shows ids
    /// of other versions too.
    #[serde(default, deserialize_with = "lenient")]
    pub decided_by: String,
    /// Why a loop was stopped (a loop's line only).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub reason: Option<String>,
    /// Who called (a call's line only).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub context: Option<Caller>,
    /// The grant (a grant event only).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub grant: Option<GrantNote>,
    /// The working directory; not in a grant event.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub cwd: Option<String>,
    /// The real wrangler run (a call's line only): `Some(None)` is written as `null` (refused
    /// before one was looked for), and a `null` reads back as `Some(None)`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[allow(clippy::option_option)]
    pub wrangler: Option<Option<String>>,
    /// wrangler's argv, redacted; not in a grant event. Reading keeps the words that are strings.
    #[serde(
        default,
        deserialize_with = "words",
        skip_serializing_if = "Option::is_none"
    )]
    pub argv: Option<Vec<String>>,
    /// The signal that interrupted the prompt (`interrupted` only).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub signal: Option<String>,
    /// How a child run ended (its record appended again once it has).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub result: Option<Outcome>,
}

/// What the call touches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// The Worker's name (redacted); `null` when there is none.
    #[serde(default, deserialize_with = "lenient")]
    pub worker: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub routes: Vec<String>,
}

/// Who called, in the log's terms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Caller {
    /// `agent`, `ci`, `human` or `no-terminal`.
    #[serde(default, deserialize_with = "lenient")]
    pub kind: String,
    #[serde(default, deserialize_with = "lenient")]
    pub agent_marker: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub ci_provider: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub ci_genuine: Option<bool>,
    /// The `approved_ci[N]` rule that approved the run.
    #[serde(default, deserialize_with = "lenient")]
    pub approved_by: Option<String>,
    /// The OIDC identity's report (`oidc::report`), `null` when none was checked.
    #[serde(default)]
    pub ci_identity: Value,
}

/// A grant event's grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantNote {
    #[serde(default, deserialize_with = "lenient")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub owner: String,
    #[serde(default, deserialize_with = "lenient")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub what: String,
    /// RFC 3339, as [`AuditEntry::time`].
    #[serde(default, deserialize_with = "lenient")]
    pub expires: String,
    #[serde(default, deserialize_with = "lenient")]
    pub uses_left: u32,
}

/// How a child run ended: `{"exit": N}` or `{"signal": "SIGTERM"}`, with `duration_ms`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub exit: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub signal: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub duration_ms: u64,
}

impl AuditEntry {
    /// A call's decision: `outcome` (written as `decision`) is `run`, `refuse`, `confirmed`,
    /// `declined` or `interrupted`; `wrangler` is the real wrangler when one was found;
    /// `ci_identity` is the OIDC report.
    #[must_use]
    pub fn call(
        a: &Assessment,
        time: String,
        cwd: String,
        args: &[OsString],
        wrangler: Option<String>,
        outcome: &str,
        ci_identity: Value,
    ) -> AuditEntry {
        let op = &a.operation;
        let kind = match (&a.context.agent, &a.context.ci, a.context.terminal) {
            (Some(_), _, _) => "agent",
            (None, Some(_), _) => "ci",
            (None, None, true) => "human",
            (None, None, false) => "no-terminal",
        };
        AuditEntry {
            time,
            command: Some(op.command.clone()),
            class: Some(op.class.as_str().to_owned()),
            environment: Some(redact(&op.environment)),
            production: Some(op.production),
            resources: Some(Resources {
                worker: a.worker.as_deref().map(redact),
                routes: op.routes.clone(),
            }),
            decision: outcome.to_owned(),
            rule: Some(op.rule.clone()),
            decided_by: a.ruling.by.as_str().into_owned(),
            context: Some(Caller {
                kind: kind.to_owned(),
                agent_marker: a.context.agent.map(str::to_owned),
                ci_provider: a
                    .context
                    .ci
                    .as_ref()
                    .map(|c| c.provider.as_str().to_owned()),
                ci_genuine: a.context.ci.as_ref().map(|c| c.inconsistencies.is_empty()),
                approved_by: a
                    .ruling
                    .by
                    .is_approved_ci()
                    .then(|| a.ruling.by.as_str().into_owned()),
                ci_identity,
            }),
            cwd: Some(cwd),
            wrangler: Some(wrangler),
            argv: Some(crate::core::display::redacted_words(args)),
            ..AuditEntry::default()
        }
    }

    /// A call stopped before any decision because safe-wrangler keeps calling itself (or the
    /// nesting counter is unreadable): exit 127, and wrangler never ran.
    #[must_use]
    pub fn nesting_loop(time: String, cwd: String, args: &[OsString], reason: &str) -> AuditEntry {
        AuditEntry {
            time,
            decision: "refuse".to_owned(),
            rule: Some("nesting-loop".to_owned()),
            decided_by: crate::core::policy::DecidedBy::NestingLoop
                .as_str()
                .into_owned(),
            reason: Some(reason.to_owned()),
            cwd: Some(cwd),
            argv: Some(crate::core::display::redacted_words(args)),
            ..AuditEntry::default()
        }
    }

    /// A grant event (`grant-created`, `grant-used`, `grant-expired`, `grant-used-up`,
    /// `grant-revoked`) about `g`, in a call's shape so `log` shows it.
    #[must_use]
    pub fn grant(time: String, event: &str, g: &Grant) -> AuditEntry {
        let fp = &g.fingerprint;
        AuditEntry {
            time,
            command: Some(fp.command.clone()),
            class: Some(fp.class.clone()),
            environment: Some(redact(&fp.environment)),
            production: Some(true),
            resources: Some(Resources {
                worker: fp.worker.as_deref().map(redact),
                routes: fp.routes.iter().map(|r| redact(r)).collect(),
            }),
            decision: event.to_owned(),
            decided_by: crate::core::policy::DecidedBy::Grant(g.id.clone())
                .as_str()
                .into_owned(),
            grant: Some(GrantNote {
                id: g.id.clone(),
                owner: g.owner.clone(),
                reason: g.reason.as_deref().map(redact),
                what: g.what.clone(),
                expires: rfc3339(UNIX_EPOCH + Duration::from_secs(g.expires)),
                uses_left: g.uses_left(),
            }),
            ..AuditEntry::default()
        }
    }

    /// The line, without its newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Plain strings, numbers and maps with string keys: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads one line back, leniently: `None` only when it is not JSON (torn, or not a log line
    /// at all). A JSON value that is not an object (or repeats a key) reads as an empty entry,
    /// as `log` has always shown it.
    #[must_use]
    pub fn read(line: &str) -> Option<AuditEntry> {
        if line.trim_start().starts_with('{')
            && let Ok(entry) = serde_json::from_str(line)
        {
            return Some(entry);
        }
        serde_json::from_str::<serde::de::IgnoredAny>(line)
            .is_ok()
            .then(AuditEntry::default)
    }

    /// When the entry was written, if its `time` reads as RFC 3339.
    #[must_use]
    pub fn when(&self) -> Option<SystemTime> {
        parse_rfc3339(&self.time)
    }
}

impl std::fmt::Display for AuditEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_json())
    }
}

/// `t` as RFC 3339 UTC to the second (`2026-11-23T14:50:00Z`); before the epoch reads as the
/// epoch.
#[must_use]
pub fn rfc3339(t: SystemTime) -> String {
    let t = if t < UNIX_EPOCH { UNIX_EPOCH } else { t };
    humantime::format_rfc3339_seconds(t).to_string()
}

/// An RFC 3339 UTC timestamp (`2026-11-23T14:50:00Z`, optionally with fractional seconds).
#[must_use]
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(s).ok()
}

/// A field of the wrong type reads as its default (absent).
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(T::deserialize(v).unwrap_or_default())
}

/// A key whose presence counts even when its value is `null` (or of the wrong type).
#[allow(clippy::option_option, clippy::unnecessary_wraps)]
fn present<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(Some(Option::<T>::deserialize(v).unwrap_or_default()))
}

/// `argv`: the words that are strings (an array of anything else reads as no words).
fn words<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => Some(
            items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    })
}

#[cfg(test)]
#[allow(clippy::duration_suboptimal_units)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_keep_their_shape_and_round_trip() {
        for secs in [0u64, 951_782_400, 1_795_000_000, 4_102_444_800] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(rfc3339(t).len(), 20);
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t), "{secs}");
        }
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        // Sub-second precision is never written.
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_795_000_000_999)),
            "2026-11-18T11:06:40Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00Z"
        );
        for bad in [
            "",
            "yesterday",
            "2026-11-23",
            "2026-13-01T00:00:00Z",
            "2026-11-23T14:50:00+01:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn lines_read_leniently() {
        let e = AuditEntry::read(r#"{"time":"t","argv":["a",1,"b"],"class":5,"resources":{"worker":false},"result":{"exit":"x","signal":"SIGKILL"},"new":{"x":1}}"#).unwrap();
        assert_eq!(e.argv, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(e.class, None);
        assert_eq!(e.resources.unwrap().worker, None);
        let r = e.result.unwrap();
        assert_eq!((r.exit, r.signal.as_deref()), (None, Some("SIGKILL")));
        assert_eq!(AuditEntry::read("[1,\"x\"]"), Some(AuditEntry::default()));
        assert_eq!(
            AuditEntry::read("{\"a\":1,\"a\":2}"),
            Some(AuditEntry::default())
        );
        assert_eq!(AuditEntry::read("{\"time\":\"2026-"), None);
        assert_eq!(AuditEntry::read("not json"), None);
    }

    #[test]
    fn an_entry_of_each_kind_writes_only_its_keys() {
        let keys = |e: &AuditEntry| -> Vec<String> {
            let v: serde_json::Map<String, Value> = serde_json::from_str(&e.to_json()).unwrap();
            v.keys().cloned().collect()
        };
        let stop = AuditEntry::nesting_loop("t".into(), "/p".into(), &["deploy".into()], "why");
        assert_eq!(
            keys(&stop),
            [
                "time",
                "decision",
                "rule",
                "decided_by",
                "reason",
                "cwd",
                "argv"
            ]
        );
        let g = Grant {
            id: "g1".into(),
            owner: "o".into(),
            reason: None,
            created: 0,
            expires: 60,
            uses: 1,
            used: 0,
            what: "w".into(),
            fingerprint: crate::core::grant::Fingerprint::default(),
        };
        assert_eq!(
            keys(&AuditEntry::grant("t".into(), "grant-used", &g)),
            [
                "time",
                "command",
                "class",
                "environment",
                "production",
                "resources",
                "decision",
                "decided_by",
                "grant"
            ]
        );
        assert_eq!(AuditEntry::read(&stop.to_json()), Some(stop));
        // A token typed as a grant's reason is not logged.
        let token = format!("cfut_{}{}", "b".repeat(40), "89abcdef");
        let g = Grant {
            reason: Some(format!("rotate {token}")),
            ..g
        };
        let line = AuditEntry::grant("t".into(), "grant-created", &g).to_json();
        assert!(
            !line.contains(&token) && line.contains("rotate <redacted>"),
            "{line}"
        );
    }
}
