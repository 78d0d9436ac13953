//! The decision core: wrangler's argv, the command table, the classifier, the caller's context,
//! the policy and its decision, credential shapes and how we display user input. Pure functions
//! over values (the reads it still does are being moved into the gather step, issue 10).

pub mod assess;
pub mod classify;
pub mod context;
pub mod display;
pub mod grant;
pub mod plan;
pub mod policy;
pub mod secrets;
pub mod suggest;
pub mod wrangler;
