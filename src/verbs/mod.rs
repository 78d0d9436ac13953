//! safe-wrangler's own verbs besides `explain` and `log` (in `cli`): doctor, hook, protect,
//! scripts.

pub mod doctor;
pub mod grant;
pub mod hook;
pub mod protect;
pub mod scripts;
pub mod setup;
