//! `safe-wrangler protect [--check | --undo]`: close the npx and npm-script route.
//!
//! `npx wrangler ...` and package.json scripts (`wrangler deploy`, run with `node_modules/.bin`
//! first on PATH) reach `node_modules/.bin/wrangler` directly, shim or not. `protect` keeps each
//! bin the wrangler package installs ([`BINS`]: `wrangler`, `wrangler2`, `cf-wrangler`) aside as
//! `.<name>.safe-wrangler-original` (a symlink for npm and yarn, a small shell script for pnpm,
//! copied as it is) and puts a symlink to safe-wrangler in its place; `--undo` puts every kept
//! entry back. safe-wrangler finds the real wrangler through the kept [`ORIGINAL`] (see
//! `resolve`). `npm install` recreates the original link, so add
//! `"postinstall": "safe-wrangler protect"` to package.json to stay protected.

use std::fs;
use std::path::{Path, PathBuf};

use crate::World;
use crate::display::escape;
use crate::resolve::SelfId;

pub use crate::resolve::ORIGINAL;

/// The nearest `node_modules/.bin` (from `dir` upwards) that has a `wrangler` entry.
#[must_use]
pub fn find_bin_dir(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("node_modules/.bin"))
        .find(|b| fs::symlink_metadata(b.join("wrangler")).is_ok())
}

/// Whether every wrangler bin present in `bin` leads to safe-wrangler.
#[must_use]
pub fn is_protected(bin: &Path, me: &SelfId) -> bool {
    let leads_to_me =
        |name: &str| fs::metadata(bin.join(name)).is_ok() && me.is_me(&bin.join(name));
    leads_to_me("wrangler")
        && BINS
            .iter()
            .all(|n| fs::symlink_metadata(bin.join(n)).is_err() || leads_to_me(n))
}

/// The `node_modules/.bin` of a project that was protected once (the original is still kept
/// beside it) but whose `wrangler` is wrangler's own again: a single-package install
/// (`npm i wrangler@x`, `pnpm add`) relinks it and runs no postinstall.
#[must_use]
pub fn lost_protection(dir: &Path, me: &SelfId) -> Option<PathBuf> {
    let bin = find_bin_dir(dir)?;
    (fs::symlink_metadata(bin.join(ORIGINAL)).is_ok() && !is_protected(&bin, me)).then_some(bin)
}

/// The second name the wrangler package installs in `node_modules/.bin`.
pub const SECOND_BIN: &str = "wrangler2";

/// Every name the wrangler package installs in `node_modules/.bin` (`wrangler2` runs the same
/// script as `wrangler`; `cf-wrangler` is its newer launcher).
pub const BINS: [&str; 3] = ["wrangler", SECOND_BIN, "cf-wrangler"];

/// Where the original entry `name` is kept while protected ([`ORIGINAL`] for `wrangler`).
#[must_use]
pub fn original_of(name: &str) -> String {
    format!(".{name}.safe-wrangler-original")
}

/// Points `bin/name` at `target` in one step (a temporary link, under a fresh name, renamed over
/// the entry).
fn relink(bin: &Path, name: &str, target: &Path) -> std::io::Result<()> {
    tempfile::Builder::new()
        .prefix(&format!(".{name}.safe-wrangler-"))
        .make_in(bin, |tmp| std::os::unix::fs::symlink(target, tmp))?
        .persist(bin.join(name))
        .map_err(|e| e.error)
}

/// Runs the verb.
#[must_use]
pub fn run(world: &World, check: bool, undo: bool) -> u8 {
    let say = |line: &str| eprintln!("safe-wrangler: {line}");
    let Some(exe) = world.exe.as_deref().and_then(|e| fs::canonicalize(e).ok()) else {
        say("cannot find safe-wrangler's own executable");
        return 1;
    };
    let Ok(me) = SelfId::of(&exe) else {
        say("cannot inspect safe-wrangler's own executable");
        return 1;
    };
    let Some(bin) = find_bin_dir(&world.cwd) else {
        say(
            "no node_modules/.bin/wrangler here or above: install wrangler first (npm i -D wrangler)",
        );
        return 1;
    };
    let shown = escape(&bin.join("wrangler").display().to_string());
    let protected = is_protected(&bin, &me);
    if check {
        if protected {
            println!("protected: {shown} leads to safe-wrangler");
            return 0;
        }
        say(&format!(
            "not protected: {shown} runs the real wrangler directly (npx wrangler, npm scripts); fix: safe-wrangler protect"
        ));
        return 1;
    }
    let result = if undo {
        unprotect(&bin, protected)
    } else {
        protect(&bin, protected, &exe)
    };
    match result {
        Ok(message) => {
            println!("{}", escape(&message));
            0
        }
        Err(e) => {
            say(&escape(&format!("{}: {e}", bin.display())));
            1
        }
    }
}

fn protect(bin: &Path, protected: bool, exe: &Path) -> std::io::Result<String> {
    let link = bin.join("wrangler");
    if protected {
        return Ok(format!(
            "already protected: {} leads to safe-wrangler",
            link.display()
        ));
    }
    for name in BINS {
        let entry = bin.join(name);
        if fs::symlink_metadata(&entry).is_err() {
            continue;
        }
        let original = bin.join(original_of(name));
        // An entry that already leads to a safe-wrangler (this build, or another build at
        // another install path) is not the original: keep the original already saved.
        let ours = fs::read_link(&entry).is_ok_and(|t| {
            t.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(crate::OWN_NAME))
                || fs::canonicalize(&entry).is_ok_and(|c| c == exe)
        });
        if !(ours && fs::symlink_metadata(&original).is_ok()) {
            // Replace any stale copy: the entry the package manager just (re)created is the
            // current original. Copy it (a symlink as a symlink, a pnpm script with its mode)
            // rather than moving it, so the name never goes missing.
            if fs::symlink_metadata(&original).is_ok() {
                fs::remove_file(&original)?;
            }
            match fs::read_link(&entry) {
                Ok(target) => std::os::unix::fs::symlink(target, &original)?,
                Err(_) => {
                    fs::copy(&entry, &original)?;
                }
            }
        }
        relink(bin, name, exe)?;
    }
    Ok(format!(
        "protected: {} now leads to safe-wrangler (the original is kept as {ORIGINAL}); add \"postinstall\": \"safe-wrangler protect\" to package.json to stay protected after npm install",
        link.display()
    ))
}

fn unprotect(bin: &Path, protected: bool) -> std::io::Result<String> {
    let link = bin.join("wrangler");
    let original = bin.join(ORIGINAL);
    if !protected {
        return Ok(format!("not protected: {} left as it is", link.display()));
    }
    if fs::symlink_metadata(&original).is_err() {
        return Err(std::io::Error::other(format!(
            "the original {ORIGINAL} is missing; reinstall wrangler (npm install) to restore it"
        )));
    }
    // `wrangler` last: an older protection's `wrangler2` is restored from its original.
    for name in BINS.into_iter().rev() {
        let entry = bin.join(name);
        let kept = bin.join(original_of(name));
        if fs::symlink_metadata(&kept).is_ok() {
            fs::rename(&kept, &entry)?;
        } else if name == SECOND_BIN && fs::symlink_metadata(&entry).is_ok() {
            // Protected by an older safe-wrangler, which kept only `wrangler`: `wrangler2` runs
            // the same script, so it gets the same entry back.
            if let Ok(target) = fs::read_link(&original) {
                relink(bin, name, &target)?;
            } else {
                let tmp = tempfile::Builder::new()
                    .prefix(&format!(".{name}.safe-wrangler-"))
                    .make_in(bin, |tmp| fs::copy(&original, tmp))?;
                tmp.persist(&entry).map_err(|e| e.error)?;
            }
        }
    }
    Ok(format!("restored the original {}", link.display()))
}
