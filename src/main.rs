//! Thin: gather the world once, run, exit with the documented code.
use std::process::ExitCode;

fn main() -> ExitCode {
    safe_wrangler::fail::install();
    let world = safe_wrangler::World::from_process();
    ExitCode::from(safe_wrangler::run(&world))
}
