//! Thin: gather the world once, run, exit with the documented code.
use std::process::ExitCode;

fn main() -> ExitCode {
    let world = safe_wrangler::World::from_process();
    ExitCode::from(safe_wrangler::run(&world))
}
