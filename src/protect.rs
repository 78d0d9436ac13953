//! `safe-wrangler protect [--check | --undo]`: close the npx and npm-script route.
//!
//! `npx wrangler ...` and package.json scripts (`wrangler deploy`, run with `node_modules/.bin`
//! first on PATH) reach `node_modules/.bin/wrangler` directly, shim or not. `protect` moves that
//! entry aside to [`ORIGINAL`] (a symlink for npm and yarn, a small shell script for pnpm) and puts
//! a symlink to safe-wrangler in its place; safe-wrangler then finds the real wrangler through the
//! moved entry (see `resolve`). `npm install` recreates the original link, so add
//! `"postinstall": "safe-wrangler protect"` to package.json to stay protected.

use std::fs;
use std::path::{Path, PathBuf};

use crate::World;
use crate::display::escape;
use crate::resolve::SelfId;

/// Where the original `node_modules/.bin/wrangler` is kept while protected.
pub const ORIGINAL: &str = ".wrangler.safe-wrangler-original";

/// The nearest `node_modules/.bin` (from `dir` upwards) that has a `wrangler` entry.
#[must_use]
pub fn find_bin_dir(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("node_modules/.bin"))
        .find(|b| fs::symlink_metadata(b.join("wrangler")).is_ok())
}

/// Whether `bin/wrangler` leads to safe-wrangler.
#[must_use]
pub fn is_protected(bin: &Path, me: &SelfId) -> bool {
    let leads_to_me =
        |name: &str| fs::metadata(bin.join(name)).is_ok() && me.is_me(&bin.join(name));
    // The wrangler package installs more bins running the same script (`wrangler2`, and
    // `cf-wrangler` since 4.164).
    leads_to_me("wrangler")
        && OTHER_BINS
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

/// Every other name the wrangler package installs in `node_modules/.bin` for the same script:
/// each is repointed with `wrangler`, or `npx cf-wrangler deploy` would run the real one.
pub const OTHER_BINS: &[&str] = &[SECOND_BIN, "cf-wrangler"];

/// Points `bin/name` at `target` in one step (a temporary link renamed over the entry).
fn relink(bin: &Path, name: &str, target: &Path) -> std::io::Result<()> {
    let tmp = bin.join(format!(".{name}.safe-wrangler-tmp"));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, bin.join(name))
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
    let original = bin.join(ORIGINAL);
    // A link made by another safe-wrangler build (another install path) is not the original:
    // keep the original we already saved and only repoint the link.
    let other_build = fs::read_link(&link).is_ok_and(|t| {
        t.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(crate::OWN_NAME))
    }) && fs::symlink_metadata(&original).is_ok();
    if !other_build {
        // Replace any stale copy: the entry npm just (re)created is the current original. Copy
        // it (a symlink as a symlink) rather than moving it, so `wrangler` never goes missing.
        if fs::symlink_metadata(&original).is_ok() {
            fs::remove_file(&original)?;
        }
        match fs::read_link(&link) {
            Ok(target) => std::os::unix::fs::symlink(target, &original)?,
            Err(_) => {
                fs::copy(&link, &original)?;
            }
        }
    }
    relink(bin, "wrangler", exe)?;
    for name in OTHER_BINS {
        if fs::symlink_metadata(bin.join(name)).is_ok() {
            relink(bin, name, exe)?;
        }
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
    if let Ok(target) = fs::read_link(&original) {
        for name in OTHER_BINS {
            if fs::symlink_metadata(bin.join(name)).is_ok() {
                relink(bin, name, &target)?;
            }
        }
    }
    fs::rename(&original, &link)?;
    Ok(format!("restored the original {}", link.display()))
}
