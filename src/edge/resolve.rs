//! Finding the real wrangler, never ourselves.
//!
//! Order (DESIGN.md): `SAFE_WRANGLER_REAL`; else the nearest `node_modules/.bin/wrangler` from the
//! working directory (after `--cwd`) up (when that is us, after `safe-wrangler protect`, the
//! original entry protect kept, else `node_modules/wrangler/bin/wrangler.js`); else PATH,
//! absolute entries only. A candidate is skipped
//! when it is this program: the same file (through any chain of symlinks), or a byte-for-byte copy
//! of it. Any error while comparing counts as "same" (fail closed), as in rustup.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where the original `node_modules/.bin/wrangler` is kept while protected.
pub const ORIGINAL: &str = ".wrangler.safe-wrangler-original";

/// Why no real wrangler could be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotFound {
    /// Nothing found anywhere.
    Missing,
    /// `SAFE_WRANGLER_REAL` names something unusable.
    BadOverride(String),
    /// `SAFE_WRANGLER_REAL` names something that exists but cannot be executed (exit 126).
    NotExecutable(String),
}

/// Identity of this program, measured once.
#[derive(Debug, Clone)]
pub struct SelfId {
    dev: u64,
    ino: u64,
    len: u64,
    path: PathBuf,
}

impl SelfId {
    /// Measures the program at `exe` (normally `std::env::current_exe()`).
    ///
    /// # Errors
    /// When `exe` cannot be inspected.
    pub fn of(exe: &Path) -> std::io::Result<SelfId> {
        let meta = fs::metadata(exe)?;
        Ok(SelfId {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            path: exe.to_owned(),
        })
    }

    /// Whether `candidate` is this program: same file, or a copy of it. Errors count as "same".
    #[must_use]
    pub fn is_me(&self, candidate: &Path) -> bool {
        let Ok(meta) = fs::metadata(candidate) else {
            return true;
        };
        if meta.dev() == self.dev && meta.ino() == self.ino {
            return true;
        }
        // Only a file of exactly our size can be a copy; wrangler's own bin is a small script.
        meta.len() == self.len && same_contents(&self.path, candidate).unwrap_or(true)
    }
}

fn same_contents(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (mut fa, mut fb) = (fs::File::open(a)?, fs::File::open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let na = read_full(&mut fa, &mut ba)?;
        let nb = read_full(&mut fb, &mut bb)?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn is_executable_file(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds the real wrangler.
///
/// # Errors
/// [`NotFound`] when there is none, or the override is unusable.
pub fn find_real(
    override_path: Option<&OsStr>,
    dir: &Path,
    path_var: Option<&OsStr>,
    me: &SelfId,
) -> Result<PathBuf, NotFound> {
    if let Some(o) = override_path.filter(|o| !o.is_empty()) {
        let p = dir.join(o);
        if !is_executable_file(&p) {
            let shown = p.display();
            return Err(match fs::metadata(&p) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    NotFound::BadOverride(format!("SAFE_WRANGLER_REAL={shown} does not exist"))
                }
                Err(e) => NotFound::NotExecutable(format!(
                    "SAFE_WRANGLER_REAL={shown} cannot be executed: {e}"
                )),
                Ok(m) if m.is_dir() => NotFound::NotExecutable(format!(
                    "SAFE_WRANGLER_REAL={shown} cannot be executed: it is a directory"
                )),
                Ok(m) if !m.is_file() => NotFound::NotExecutable(format!(
                    "SAFE_WRANGLER_REAL={shown} cannot be executed: it is not a regular file"
                )),
                Ok(m) => NotFound::NotExecutable(format!(
                    "SAFE_WRANGLER_REAL={shown} cannot be executed: it has no execute permission (mode {:o}); chmod +x it or point SAFE_WRANGLER_REAL at the real wrangler",
                    m.permissions().mode() & 0o7777
                )),
            });
        }
        if me.is_me(&p) {
            return Err(NotFound::BadOverride(format!(
                "SAFE_WRANGLER_REAL={} is safe-wrangler itself, not the real wrangler",
                p.display()
            )));
        }
        return Ok(p);
    }
    // The nearest node_modules with a wrangler in it. When `safe-wrangler protect` made its
    // `.bin/wrangler` lead to us, the original entry it kept, else the package's own bin script.
    for modules in dir.ancestors().map(|d| d.join("node_modules")) {
        let candidates = [
            modules.join(".bin/wrangler"),
            modules.join(".bin").join(ORIGINAL),
            modules.join("wrangler/bin/wrangler.js"),
        ];
        if !candidates.iter().any(|c| c.exists()) {
            continue;
        }
        if let Some(p) = candidates
            .into_iter()
            .find(|p| is_executable_file(p) && !me.is_me(p))
        {
            return Ok(p);
        }
    }
    on_path(path_var, "wrangler")
        .find(|p| is_executable_file(p) && !me.is_me(p))
        .ok_or(NotFound::Missing)
}

/// The one PATH walk: `name` in each absolute entry of `path_var`, in order, each path once.
/// Relative and empty entries (the current directory) are skipped, as sudo-rs does: a project
/// could plant a `wrangler` there.
pub fn on_path<'a>(
    path_var: Option<&'a OsStr>,
    name: &'a str,
) -> impl Iterator<Item = PathBuf> + 'a {
    let mut seen: Vec<PathBuf> = Vec::new();
    std::env::split_paths(path_var.unwrap_or_default())
        .filter(|d| d.is_absolute())
        .map(move |d| d.join(name))
        .filter(move |p| {
            let fresh = !seen.contains(p);
            if fresh {
                seen.push(p.clone());
            }
            fresh
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn the_path_walk_takes_absolute_entries_once() {
        let path = OsStr::new("bin::/usr/bin:./x:/opt/w:/usr/bin");
        let found: Vec<PathBuf> = on_path(Some(path), "wrangler").collect();
        assert_eq!(
            found,
            [
                PathBuf::from("/usr/bin/wrangler"),
                PathBuf::from("/opt/w/wrangler")
            ]
        );
        assert_eq!(on_path(None, "wrangler").count(), 0);
    }

    fn exe(dir: &Path, name: &str, body: &str) -> PathBuf {
        fs::create_dir_all(dir).unwrap();
        let p = dir.join(name);
        fs::write(&p, body).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn skips_self_links_and_copies() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("bin");
        let shims = t.path().join("shims");
        let real = t.path().join("real");
        for d in [&bin, &shims, &real] {
            fs::create_dir(d).unwrap();
        }
        let me_path = exe(&bin, "safe-wrangler", "#!/bin/sh\n# me\n");
        symlink(&me_path, shims.join("wrangler")).unwrap();
        let copy = t.path().join("copy");
        fs::create_dir(&copy).unwrap();
        fs::copy(&me_path, copy.join("wrangler")).unwrap();
        let real_w = exe(&real, "wrangler", "#!/bin/sh\n# real wrangler\n");
        let me = SelfId::of(&me_path).unwrap();
        let path =
            std::env::join_paths([&shims, &copy, &PathBuf::from("relative"), &real]).unwrap();
        assert_eq!(find_real(None, t.path(), Some(&path), &me), Ok(real_w));
        let only_shim = std::env::join_paths([&shims, &copy]).unwrap();
        assert_eq!(
            find_real(None, t.path(), Some(&only_shim), &me),
            Err(NotFound::Missing)
        );
    }

    #[test]
    fn a_protected_node_modules_leads_to_the_kept_original_then_the_package_script() {
        let t = tempfile::tempdir().unwrap();
        let me_path = exe(t.path(), "me", "#!/bin/sh\n# me, the guard\n");
        let me = SelfId::of(&me_path).unwrap();
        let bin = t.path().join("node_modules/.bin");
        fs::create_dir_all(&bin).unwrap();
        symlink(&me_path, bin.join("wrangler")).unwrap();
        let script = exe(
            &t.path().join("node_modules/wrangler/bin"),
            "wrangler.js",
            "#!/usr/bin/env node\n",
        );
        assert_eq!(find_real(None, t.path(), None, &me), Ok(script.clone()));
        symlink("../wrangler/bin/wrangler.js", bin.join(ORIGINAL)).unwrap();
        assert_eq!(find_real(None, t.path(), None, &me), Ok(bin.join(ORIGINAL)));
    }

    #[test]
    fn node_modules_then_override() {
        let t = tempfile::tempdir().unwrap();
        let nm = t.path().join("node_modules/.bin");
        fs::create_dir_all(&nm).unwrap();
        let local = exe(&nm, "wrangler", "#!/bin/sh\n# local\n");
        let sub = t.path().join("a/b");
        fs::create_dir_all(&sub).unwrap();
        let me_path = exe(t.path(), "me", "#!/bin/sh\n# me, longer\n");
        let me = SelfId::of(&me_path).unwrap();
        assert_eq!(find_real(None, &sub, None, &me), Ok(local.clone()));
        assert!(matches!(
            find_real(Some(OsStr::new("me")), t.path(), None, &me),
            Err(NotFound::BadOverride(_))
        ));
        assert_eq!(
            find_real(Some(local.as_os_str()), &sub, None, &me),
            Ok(local)
        );
    }
}
