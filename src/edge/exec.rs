//! Handing over to the real wrangler: exec, not spawn, so argv, stdin, stdout, stderr, the exit
//! code and signals are wrangler's own. Returns only when exec failed.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::credentials::DotenvPlan;

/// Everything the child gets.
#[derive(Debug)]
pub struct Launch {
    pub program: PathBuf,
    /// The user's argv, unchanged.
    pub args: Vec<OsString>,
    /// Where our own words go: before the user's `--`, else at the end.
    pub insert_at: usize,
    pub env: Vec<(OsString, OsString)>,
    pub dotenv: DotenvPlan,
    /// The directory wrangler works in (after `--cwd`), where `.env` copies go.
    pub dir: PathBuf,
}

/// Replaces this process with wrangler. Returns the error when that is impossible.
#[must_use]
pub fn exec(launch: Launch) -> std::io::Error {
    let mut args = launch.args;
    if let DotenvPlan::Replace(files) = &launch.dotenv {
        let extra = match write_copies(&launch.dir, files) {
            Ok(extra) => extra,
            Err(e) => return e,
        };
        let at = launch.insert_at.min(args.len());
        args.splice(at..at, extra);
    }
    std::process::Command::new(&launch.program)
        .args(&args)
        .env_clear()
        .envs(launch.env)
        .exec()
}

/// One `--env-file=<copy>` per file: the credential-free copies, written into
/// [`crate::credentials::COPY_DIR`] of the directory wrangler works in (0700, files 0600, each
/// written under a temporary name and renamed into place so parallel calls never see half a file).
fn write_copies(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<Vec<OsString>> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let copies = dir.join(crate::credentials::COPY_DIR);
    // Never write (or even create a directory) through a symlink someone planted: `.wrangler` and
    // its `safe-wrangler` must be real directories, made here when missing.
    for d in [dir.join(".wrangler"), copies.clone()] {
        match std::fs::symlink_metadata(&d) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} is not a plain directory; refusing to write the .env copies through it",
                    d.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new().mode(0o700).create(&d)?;
            }
            Err(e) => return Err(e),
        }
    }
    let ignore = copies.join(".gitignore");
    if std::fs::symlink_metadata(&ignore).is_err() {
        std::fs::write(&ignore, "*\n")?;
    }
    let mut out = Vec::new();
    for (original, contents) in files {
        let name = original
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = copies.join(&name);
        let tmp = copies.join(format!(".{name}.{}", std::process::id()));
        // A fresh file (never an existing one or a symlink), renamed over the target, which
        // replaces whatever entry is there without following it.
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(contents)?;
        // No fdatasync: the copy is rewritten on every call and the rename below is what makes
        // it appear whole; a crash loses nothing a later call would not write again.
        std::fs::rename(&tmp, &target)?;
        let mut arg = OsString::from("--env-file=");
        arg.push(target.as_os_str());
        out.push(arg);
    }
    Ok(out)
}

/// The display name of the program for messages.
#[must_use]
pub fn shown(program: &Path) -> String {
    crate::display::escape(&program.display().to_string())
}
