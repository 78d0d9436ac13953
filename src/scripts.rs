//! `safe-wrangler scripts` (in progress).

use crate::World;

/// Runs the verb.
#[must_use]
pub fn run(world: &World, write: bool) -> u8 {
    let _ = (world, write);
    eprintln!("safe-wrangler: `scripts` is not implemented yet");
    crate::exit::USAGE
}
