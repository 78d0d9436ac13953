//! `safe-wrangler shim [--prefix DIR]`: the set-up step for a binary that did not come from
//! install.sh (npm, `cargo install`, a release tarball). It creates the `wrangler` PATH shim where
//! install.sh puts it (`DIR/lib/safe-wrangler/shims/wrangler`, DIR defaulting to `~/.local`), a
//! symlink to this very executable (never to the npm package's JS launcher, which would cost a
//! Node start-up per call), and prints the PATH line, exactly as install.sh does. It never edits
//! shell start-up files. (The verb is not `setup`: `wrangler setup` is a wrangler command.)

use std::fs;
use std::path::{Path, PathBuf};

use crate::World;
use crate::display::escape;

/// The shim directory under a prefix, as install.sh lays it out.
#[must_use]
pub fn shim_dir(prefix: &Path) -> PathBuf {
    prefix.join("lib/safe-wrangler/shims")
}

/// Runs the verb.
#[must_use]
pub fn run(world: &World, prefix: Option<&Path>) -> u8 {
    let say = |line: &str| eprintln!("safe-wrangler: {}", escape(line));
    let Some(exe) = world.exe.as_deref().and_then(|e| fs::canonicalize(e).ok()) else {
        say("cannot find safe-wrangler's own executable");
        return 1;
    };
    let prefix = match prefix {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => world.cwd.join(p),
        None => {
            let home = world
                .env
                .get("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from)
                .or_else(crate::edge::userdb::my_home);
            let Some(home) = home else {
                say("HOME is not set: give a directory with --prefix");
                return crate::exit::USAGE;
            };
            home.join(".local")
        }
    };
    let dir = shim_dir(&prefix);
    let shim = dir.join("wrangler");
    if let Err(e) = link(&dir, &shim, &exe) {
        say(&format!("cannot create {}: {e}", shim.display()));
        return 1;
    }
    let bin_dir = exe.parent().unwrap_or(Path::new("/"));
    println!(
        "safe-wrangler: installed the shim {} (leads to {})",
        escape(&shim.display().to_string()),
        escape(&exe.display().to_string())
    );
    println!(
        "Add this line to your shell profile (~/.bashrc, ~/.zshrc) so the shim comes before any other wrangler:"
    );
    println!(
        "  export PATH=\"{}:{}:$PATH\"",
        escape(&dir.display().to_string()),
        escape(&bin_dir.display().to_string())
    );
    0
}

/// Creates `dir` and points `shim` at `exe` in one step (a temporary link renamed over it), so an
/// existing shim is never missing for a moment. Anything at `shim` that is not a symlink is left
/// alone: it is not ours to replace.
fn link(dir: &Path, shim: &Path, exe: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    if let Ok(meta) = fs::symlink_metadata(shim)
        && !meta.file_type().is_symlink()
    {
        return Err(std::io::Error::other(
            "it exists and is not a symlink; remove it first",
        ));
    }
    tempfile::Builder::new()
        .prefix(".wrangler.")
        .make_in(dir, |tmp| std::os::unix::fs::symlink(exe, tmp))?
        .persist(shim)
        .map(drop)
        .map_err(|e| e.error)
}
