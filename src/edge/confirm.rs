//! The typed confirmation, on `/dev/tty` only: never stdin, which an agent or a pipe controls.
//!
//! The human sees the command, its class and target, and must type the target's name exactly.
//! A wrong answer, end of input, Ctrl-C or no answer within [`TIMEOUT`] refuses.
//!
//! SIGINT, SIGTERM and SIGHUP are blocked before the prompt is written and read through the same
//! poll loop as the terminal (a `signalfd`), so a Ctrl-C that arrives as the prompt appears is
//! never lost, and every way the prompt can end is reported as an [`Answer`] that is recorded
//! before the process exits.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// How long the prompt waits for an answer.
pub const TIMEOUT: Duration = Duration::from_mins(2);

/// Whether a human's terminal is here: `/dev/tty` opens and one of our standard streams is a
/// terminal (an agent that inherited a controlling terminal but talks through pipes is not).
#[must_use]
pub fn terminal_present() -> bool {
    let any_std_tty = [0, 1, 2]
        .iter()
        .any(|fd| nix::unistd::isatty(unsafe_borrow(*fd)).unwrap_or(false));
    any_std_tty
        && OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok()
}

fn unsafe_borrow(fd: i32) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: 0, 1 and 2 stay open for the life of the process (or isatty fails with EBADF).
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

/// The outcome of asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Confirmed,
    Declined(&'static str),
    /// Stopped by a signal (its name) or by the terminal going away (`terminal closed`).
    Interrupted(Interruption),
}

/// What stopped the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    Signal(Signal),
    TerminalClosed,
}

impl Interruption {
    /// The stable name written to the audit log (`SIGINT`, `SIGTERM`, `SIGHUP`, `terminal-closed`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Interruption::Signal(s) => s.as_str(),
            Interruption::TerminalClosed => "terminal-closed",
        }
    }
}

/// The signals the prompt turns into an [`Answer::Interrupted`].
const STOPPERS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Ends the process by `signal` with its default action, as if it had never been caught (after
/// the interruption has been recorded): the caller sees the signal it sent.
pub fn die_by(signal: Signal) {
    // SAFETY: restoring the default disposition is async-signal-safe and has no handler.
    let _ = unsafe {
        sigaction(
            signal,
            &SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty()),
        )
    };
    let mut set = SigSet::empty();
    set.add(signal);
    let _ = set.thread_unblock();
    let _ = nix::sys::signal::raise(signal);
}

/// Shows `summary` on the terminal and asks for `phrase` (shown as `shown`, its escaped form).
///
/// # Errors
/// When `/dev/tty` cannot be opened or written, or the signals cannot be watched.
pub fn ask(summary: &str, shown: &str, phrase: &str) -> std::io::Result<Answer> {
    let mut tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let mut stoppers = SigSet::empty();
    for s in STOPPERS {
        stoppers.add(s);
    }
    // Blocked before anything is shown, so a signal that arrives at any moment from here on
    // waits in the signalfd; the old mask is restored before returning (exec inherits masks).
    let old = stoppers.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
    let result = SignalFd::with_flags(&stoppers, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(std::io::Error::from)
        .and_then(|sfd| {
            let answer = prompt(&mut tty, &sfd, summary, shown, phrase)?;
            Ok(settle(answer, &sfd))
        });
    let _ = old.thread_set_mask();
    let result = result?;
    if result != Answer::Confirmed {
        let _ = writeln!(tty);
    }
    Ok(result)
}

/// The answer once no stopping signal is left waiting: a signal that came in while the prompt
/// ended (the SIGHUP of a terminal hang-up arrives with it) is taken from the signalfd here, so
/// unblocking it cannot kill the process before its record is written. When the terminal is
/// gone, a later hang-up signal is ignored for the same reason (there is no one left to ask).
fn settle(answer: Answer, sfd: &SignalFd) -> Answer {
    let pending = sfd
        .read_signal()
        .ok()
        .flatten()
        .and_then(|info| i32::try_from(info.ssi_signo).ok())
        .and_then(|n| Signal::try_from(n).ok());
    let answer = match (answer, pending) {
        (Answer::Interrupted(Interruption::Signal(s)), _) => {
            Answer::Interrupted(Interruption::Signal(s))
        }
        (_, Some(signal)) => Answer::Interrupted(Interruption::Signal(signal)),
        (answer, None) => answer,
    };
    if matches!(
        answer,
        Answer::Interrupted(Interruption::TerminalClosed | Interruption::Signal(Signal::SIGHUP))
            | Answer::Declined(_)
    ) {
        // SAFETY: installing SIG_IGN for SIGHUP has no handler to be unsafe about.
        let _ = unsafe {
            sigaction(
                Signal::SIGHUP,
                &SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty()),
            )
        };
    }
    answer
}

fn prompt(
    tty: &mut File,
    sfd: &SignalFd,
    summary: &str,
    shown: &str,
    phrase: &str,
) -> std::io::Result<Answer> {
    write!(
        tty,
        "{summary}\nType {shown} to confirm (anything else cancels): "
    )?;
    tty.flush()?;
    Ok(match read_line(tty, sfd, TIMEOUT) {
        Ok(Read::Line(line)) if line == phrase => Answer::Confirmed,
        Ok(Read::Line(_)) => Answer::Declined("the typed name did not match"),
        Ok(Read::End) => Answer::Declined("no answer (end of input)"),
        Ok(Read::Stopped(why)) => Answer::Interrupted(why),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Answer::Declined("no answer in time"),
        Err(e) => return Err(e),
    })
}

/// How reading the answer ended.
enum Read {
    Line(String),
    End,
    Stopped(Interruption),
}

/// Reads one line (without its newline) within `timeout`, watching `sfd` for signals.
fn read_line(tty: &mut File, sfd: &SignalFd, timeout: Duration) -> std::io::Result<Read> {
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        let ms = u16::try_from(left.as_millis().min(u128::from(u16::MAX))).unwrap_or(u16::MAX);
        let mut fds = [
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(tty.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
        let signalled = fds[0].any().unwrap_or(false);
        let tty_events = fds[1].revents().unwrap_or(PollFlags::empty());
        if signalled && let Ok(Some(info)) = sfd.read_signal() {
            let signal = i32::try_from(info.ssi_signo)
                .ok()
                .and_then(|n| Signal::try_from(n).ok())
                .unwrap_or(Signal::SIGINT);
            return Ok(Read::Stopped(Interruption::Signal(signal)));
        }
        if !tty_events.contains(PollFlags::POLLIN)
            && tty_events.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
        {
            return Ok(Read::Stopped(Interruption::TerminalClosed));
        }
        if !tty_events.contains(PollFlags::POLLIN) {
            continue;
        }
        let mut byte = [0u8; 1];
        match tty.read(&mut byte) {
            Ok(0) => return Ok(Read::End),
            Ok(_) if byte[0] == b'\n' => {
                let line = String::from_utf8_lossy(&buf)
                    .trim_end_matches('\r')
                    .to_owned();
                return Ok(Read::Line(line));
            }
            Ok(_) => buf.push(byte[0]),
            Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => {
                return Ok(Read::Stopped(Interruption::TerminalClosed));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if buf.len() > 4096 {
            return Ok(Read::Line(String::new()));
        }
    }
}
