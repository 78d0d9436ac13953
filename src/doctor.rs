//! `safe-wrangler doctor` (in progress).

use crate::World;

/// Runs the verb.
#[must_use]
pub fn run(world: &World, json: bool) -> u8 {
    let _ = (world, json);
    eprintln!("safe-wrangler: `doctor` is not implemented yet");
    crate::exit::USAGE
}
