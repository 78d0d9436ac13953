//! `safe-wrangler protect` (in progress).

use crate::World;

/// Runs the verb.
#[must_use]
pub fn run(world: &World, check: bool, undo: bool) -> u8 {
    let _ = (world, check, undo);
    eprintln!("safe-wrangler: `protect` is not implemented yet");
    crate::exit::USAGE
}
