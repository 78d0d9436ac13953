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
}

/// Replaces this process with wrangler. Returns the error when that is impossible.
#[must_use]
pub fn exec(launch: Launch) -> std::io::Error {
    let mut args = launch.args;
    if let DotenvPlan::Replace(files) = &launch.dotenv {
        let extra = match in_memory_files(files) {
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

/// One `--env-file=/proc/self/fd/N` per file, each an in-memory copy that survives exec.
#[cfg(target_os = "linux")]
fn in_memory_files(files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<Vec<OsString>> {
    use nix::sys::memfd::{MFdFlags, memfd_create};
    use std::io::Write;
    use std::os::fd::IntoRawFd;
    let mut out = Vec::new();
    for (path, contents) in files {
        let name = format!(
            "safe-wrangler{}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        // No MFD_CLOEXEC: the descriptor must stay open in wrangler after exec.
        let fd = memfd_create(name.as_str(), MFdFlags::empty())?;
        let mut file = std::fs::File::from(fd);
        file.write_all(contents)?;
        let raw = file.into_raw_fd();
        out.push(OsString::from(format!("--env-file=/proc/self/fd/{raw}")));
    }
    Ok(out)
}

#[cfg(not(target_os = "linux"))]
fn in_memory_files(_files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<Vec<OsString>> {
    Err(std::io::Error::other(
        "a project .env file holds a Cloudflare credential, and this platform cannot hide it from wrangler; remove it from the file",
    ))
}

/// The display name of the program for messages.
#[must_use]
pub fn shown(program: &Path) -> String {
    crate::display::escape(&program.display().to_string())
}
