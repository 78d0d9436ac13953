//! Production, migration and dns work that runs (confirmed by a human, or approved CI) is run as
//! a child instead of exec'd, so its outcome can be recorded (issue 13, item 8). Everything else
//! keeps exec ([`crate::exec`]).
//!
//! The child must not notice the difference:
//! - argv, environment, stdin, stdout, stderr and the terminal are the same as with exec (the
//!   child shares our process group, so the terminal's Ctrl-C, Ctrl-\ and window changes reach it
//!   directly);
//! - a signal someone sends to us alone (`kill <our pid>`: `si_code` <= 0, from a process outside
//!   our process group) is forwarded to the child, as sudo does; a signal the terminal or a group
//!   kill sent is not forwarded again (the child already got it);
//! - when the child ends, we end the same way: its exit status, or death by the same signal
//!   (raised on ourselves with the default action and core dumps off).

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt as _;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction};

use crate::exec::Launch;

/// The signals forwarded to the child when they were sent to us alone.
const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// The running child's pid (0: none yet), for the signal handler.
static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid <= 0 || info.is_null() {
        return;
    }
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler; getpgid and kill are
    // async-signal-safe.
    unsafe {
        let code = (*info).si_code;
        if code > 0 {
            // From the kernel (the terminal's job control): the child got it too.
            return;
        }
        let sender = (*info).si_pid();
        if sender == pid || libc::getpgid(sender) == libc::getpgid(0) {
            // From the child or from our own process group (a group kill): already delivered.
            return;
        }
        libc::kill(pid, sig);
    }
}

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

/// The child's end and how long it ran.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    pub ended: Ended,
    pub duration: Duration,
}

impl Finished {
    /// The audit record's `result`: `{"exit": N}` or `{"signal": "SIGTERM"}`, with `duration_ms`.
    #[must_use]
    pub fn outcome(&self) -> crate::core::record::Outcome {
        let duration_ms = u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX);
        match self.ended {
            Ended::Exited(code) => crate::core::record::Outcome {
                exit: Some(i64::from(code)),
                signal: None,
                duration_ms,
            },
            Ended::Signaled(sig) => crate::core::record::Outcome {
                exit: None,
                signal: Some(
                    Signal::try_from(sig)
                        .map_or_else(|_| sig.to_string(), |s| s.as_str().to_owned()),
                ),
                duration_ms,
            },
        }
    }
}

/// Runs `launch` as a child with signals forwarded and waits for it.
///
/// # Errors
/// When the `.env` copies cannot be written or the program cannot be started.
pub fn run(launch: Launch) -> std::io::Result<Finished> {
    let mut args: Vec<OsString> = launch.args;
    let at = launch.insert_at.min(args.len());
    args.splice(at..at, launch.extra_args);
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    // Blocked until the pid is known, so a signal that arrives while starting is not lost.
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
    let action = SigAction::new(
        SigHandler::SigAction(forward),
        SaFlags::SA_RESTART | SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    for s in FORWARDED {
        // SAFETY: the handler only loads an atomic and calls async-signal-safe functions.
        let _ = unsafe { sigaction(s, &action) };
    }
    let started = Instant::now();
    // std resets the signal mask and dispositions in the child before exec.
    let mut cmd = std::process::Command::new(&launch.program);
    cmd.args(&args).env_clear().envs(launch.env);
    crate::exec::keep_sigpipe(&mut cmd);
    let spawned = cmd.spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
            return Err(e);
        }
    };
    CHILD.store(i32::try_from(child.id()).unwrap_or(0), Ordering::SeqCst);
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
    let status = child.wait()?;
    CHILD.store(0, Ordering::SeqCst);
    let duration = started.elapsed();
    let ended = match (status.code(), status.signal()) {
        (Some(code), _) => Ended::Exited(code),
        (None, Some(sig)) => Ended::Signaled(sig),
        (None, None) => Ended::Exited(1),
    };
    Ok(Finished { ended, duration })
}

/// Ends this process the way the child ended: its exit code, or death by its signal. Returns the
/// code to exit with when the signal did not end us (one whose default action is to ignore).
#[must_use]
pub fn mirror(ended: Ended) -> u8 {
    match ended {
        Ended::Exited(code) => u8::try_from(code & 0xff).unwrap_or(1),
        Ended::Signaled(sig) => {
            if let Ok(signal) = Signal::try_from(sig) {
                // No core file of ours for the child's crash.
                let _ =
                    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
                // SAFETY: restoring the default action.
                let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
                let mut set = SigSet::empty();
                set.add(signal);
                let _ =
                    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
                let _ = nix::sys::signal::raise(signal);
            }
            u8::try_from(128 + (sig & 0x7f)).unwrap_or(255)
        }
    }
}
