//! Thin: gather the world once, run, exit with the documented code.
use std::process::ExitCode;

fn main() -> ExitCode {
    safe_wrangler::fail::install();
    let world = safe_wrangler::World::from_process();
    ExitCode::from(safe_wrangler::run(&world))
}

/// Runs before Rust's runtime ignores SIGPIPE, to note the caller's disposition for wrangler.
#[used]
#[unsafe(link_section = ".init_array")]
static NOTE_SIGPIPE: extern "C" fn() = safe_wrangler::exec::note_sigpipe;
