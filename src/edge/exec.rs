//! Handing over to the real wrangler: exec, not spawn, so argv, stdin, stdout, stderr, the exit
//! code and signals are wrangler's own. Returns only when exec failed.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Everything the child gets.
#[derive(Debug)]
pub struct Launch {
    pub program: PathBuf,
    /// The user's argv, unchanged.
    pub args: Vec<OsString>,
    /// Where our own words go: before the user's `--`, else at the end.
    pub insert_at: usize,
    pub env: Vec<(OsString, OsString)>,
    /// Our own words (`--env-file=<copy>` per `.env` copy, see [`write_copies`]).
    pub extra_args: Vec<OsString>,
}

/// Whether the caller started us with SIGPIPE ignored. Rust's runtime ignores SIGPIPE before
/// `main` and `Command` resets it to the default for the program it runs, so this is read
/// earlier, by [`note_sigpipe`] from `.init_array`, and given back to wrangler: it inherits the
/// caller's disposition exactly as if it had been called directly.
static SIGPIPE_IGNORED: AtomicBool = AtomicBool::new(false);

/// Reads the SIGPIPE disposition the process started with. Registered in the binary's
/// `.init_array` (see `main.rs`), so it runs before Rust's runtime changes it.
pub extern "C" fn note_sigpipe() {
    // SAFETY: a null new action only queries the disposition; `old` is a plain C struct.
    let ignored = unsafe {
        let mut old: nix::libc::sigaction = std::mem::zeroed();
        nix::libc::sigaction(nix::libc::SIGPIPE, std::ptr::null(), &raw mut old) == 0
            && old.sa_sigaction == nix::libc::SIG_IGN
    };
    SIGPIPE_IGNORED.store(ignored, Ordering::Relaxed);
}

/// Replaces this process with wrangler. Returns the error when that is impossible.
#[must_use]
pub fn exec(launch: Launch) -> std::io::Error {
    let mut args = launch.args;
    let at = launch.insert_at.min(args.len());
    args.splice(at..at, launch.extra_args);
    let mut cmd = std::process::Command::new(&launch.program);
    cmd.args(&args).env_clear().envs(launch.env);
    keep_sigpipe(&mut cmd);
    cmd.exec()
}

/// Gives wrangler the SIGPIPE disposition the caller started us with (see [`SIGPIPE_IGNORED`]),
/// whether it is exec'd or run as a child ([`crate::edge::child`]).
pub fn keep_sigpipe(cmd: &mut std::process::Command) {
    if SIGPIPE_IGNORED.load(Ordering::Relaxed) {
        // SAFETY: runs just before execve (in this same process for exec, in the forked child
        // for a child run); `signal` with SIG_IGN installs no handler and allocates nothing, so
        // it is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::signal::signal(
                    nix::sys::signal::Signal::SIGPIPE,
                    nix::sys::signal::SigHandler::SigIgn,
                )
                .map(drop)
                .map_err(std::io::Error::from)
            });
        }
    }
}

/// One `--env-file=<copy>` per file: the credential-free copies, written into
/// [`crate::credentials::COPY_DIR`] of the directory wrangler works in (0700, files 0600). Each is
/// written under a fresh random name created with `O_EXCL` beside its target and renamed into
/// place, so parallel calls (even in separate PID namespaces sharing a project) never collide or
/// see half a file; a copy already holding exactly those bytes is kept (see `already_there`).
/// On any failure nothing is left behind: the temporary file, and the
/// directories and `.gitignore` made by this call, are removed.
///
/// # Errors
/// The directory cannot be made or written (read-only, full), or is not a plain directory.
pub fn write_copies(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<Vec<OsString>> {
    let mut made = Vec::new();
    let result = write_copies_in(dir, files, &mut made);
    if result.is_err() {
        for d in made.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
    result
}

fn write_copies_in(
    dir: &Path,
    files: &[(PathBuf, Vec<u8>)],
    made: &mut Vec<PathBuf>,
) -> std::io::Result<Vec<OsString>> {
    use std::os::unix::fs::DirBuilderExt;
    let copies = dir.join(crate::credentials::COPY_DIR);
    // Never write (or even create a directory) through a symlink someone planted: `.wrangler` and
    // its `safe-wrangler` must be real directories, made here when missing.
    for d in [dir.join(".wrangler"), copies.clone()] {
        match std::fs::symlink_metadata(&d) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} is not a plain directory",
                    d.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::DirBuilder::new().mode(0o700).create(&d) {
                    Ok(()) => made.push(d),
                    // A parallel call made it first: go on only if it is a plain directory.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        if !std::fs::symlink_metadata(&d)?.file_type().is_dir() {
                            return Err(std::io::Error::other(format!(
                                "{} is not a plain directory",
                                d.display()
                            )));
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    // The `.gitignore` that keeps the copies out of git; an empty one (left by a full disk) is
    // written again.
    let ignore = copies.join(".gitignore");
    match std::fs::symlink_metadata(&ignore) {
        Ok(meta) if !meta.file_type().is_file() || meta.len() > 0 => {}
        _ => put(&copies, &ignore, b"*\n")?,
    }
    let mut out = Vec::new();
    for (original, contents) in files {
        let name = original.file_name().unwrap_or(original.as_os_str());
        let target = copies.join(name);
        if !already_there(&copies, &target, contents) {
            put(&copies, &target, contents)?;
        }
        let mut arg = OsString::from("--env-file=");
        arg.push(target.as_os_str());
        out.push(arg);
    }
    Ok(out)
}

/// Whether `target` already is exactly the copy we would write, so writing it again can be
/// skipped: `dir` is a plain directory owned by us, `target` (opened with `O_NOFOLLOW`, never a
/// symlink) is a regular file with one link, owned by us, mode 0600, holding exactly `contents`.
/// Any doubt (an error, another owner, mode, size or byte) answers no, and the copy is written.
fn already_there(dir: &Path, target: &Path, contents: &[u8]) -> bool {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let me = nix::unistd::geteuid().as_raw();
    let plain_dir = std::fs::symlink_metadata(dir)
        .is_ok_and(|m| m.file_type().is_dir() && m.uid() == me && m.mode() & 0o022 == 0);
    if !plain_dir {
        return false;
    }
    // O_NONBLOCK: a FIFO planted in its place must not hang us (it fails the checks below).
    let Ok(mut file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(target)
    else {
        return false;
    };
    let Ok(meta) = file.metadata() else {
        return false;
    };
    if !meta.file_type().is_file()
        || meta.uid() != me
        || meta.nlink() != 1
        || meta.permissions().mode() & 0o7777 != 0o600
        || meta.len() != contents.len() as u64
    {
        return false;
    }
    let mut held = Vec::with_capacity(contents.len() + 1);
    // One byte more than expected: a file that grew since the fstat is not ours.
    file.by_ref()
        .take(contents.len() as u64 + 1)
        .read_to_end(&mut held)
        .is_ok_and(|_| held == contents)
}

/// Writes `contents` to `target` in `dir` through a fresh temporary file (random name, `O_EXCL`,
/// so never through a planted link; mode 0600) renamed over it, which replaces whatever entry is
/// there without following it. The temporary file is removed on any failure.
fn put(dir: &Path, target: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    // No fdatasync: the rename is what makes the copy appear whole, and a copy a crash left short
    // or empty differs from what the next call would write, so that call writes it.
    file.write_all(contents)?;
    file.persist(target).map(drop).map_err(|e| e.error)
}

/// The display name of the program for messages.
#[must_use]
pub fn shown(program: &Path) -> String {
    crate::display::escape(&program.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parallel calls in a fresh project (no `.wrangler` yet) all get their copies: the one that
    /// loses the race to make a directory uses the one the winner made.
    #[test]
    fn parallel_first_calls_all_write_their_copies() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let files = vec![(PathBuf::from(".env"), b"A=1\n".to_vec())];
            let barrier = std::sync::Barrier::new(8);
            let results: Vec<std::io::Result<Vec<OsString>>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            write_copies(dir.path(), &files)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for r in results {
                assert_eq!(r.unwrap().len(), 1);
            }
        }
    }
}
