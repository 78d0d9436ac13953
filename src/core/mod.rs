//! The decision core: wrangler's argv, the command table, the classifier, the caller's context,
//! the policy and its decision, which credentials reach wrangler (and the plan for its `.env`
//! files), credential shapes and how we display user input. Pure functions over values: every
//! file and OS read is done before, by the gather step (`tests/it/layout.rs` checks).

pub mod assess;
pub mod classify;
pub mod context;
pub mod credentials;
pub mod display;
pub mod grant;
pub mod plan;
pub mod policy;
pub mod record;
pub mod refusal;
pub mod secrets;
pub mod suggest;
pub mod wrangler;

/// The verbs safe-wrangler answers itself when called by its own name.
pub const OWN_VERBS: &[&str] = &[
    "explain", "plan", "doctor", "scripts", "log", "hook", "protect", "shim", "grant", "grants",
];

/// Verbs reserved for later use; checked against wrangler's commands now so that none of them can
/// ever shadow one.
pub const PLANNED_VERBS: &[&str] = &[];
