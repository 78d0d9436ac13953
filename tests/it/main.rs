#![allow(unreachable_pub, dead_code)]
//! One integration test crate: the built binary in temp dirs (util), with a fake wrangler
//! (wrapper), a real pseudo-terminal (pty), and the command table against wrangler's own list
//! (table).
mod abort;
mod agree;
mod audit;
mod cases;
mod doctor;
mod e2e;
mod e2e_grant;
mod e2e_guard;
mod fake_api;
mod grant;
mod hook;
mod install;
mod outcome;
mod own;
mod plan;
mod policy;
mod protect;
mod pty;
mod table;
mod util;
mod wrapper;
