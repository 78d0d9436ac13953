//! `safe-wrangler hook` (in progress).

use crate::World;

/// Runs the verb.
#[must_use]
pub fn run(world: &World, args: &[String]) -> u8 {
    let _ = (world, args);
    eprintln!("safe-wrangler: `hook` is not implemented yet");
    crate::exit::USAGE
}
