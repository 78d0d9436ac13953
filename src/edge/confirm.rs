//! The typed confirmation, on `/dev/tty` only: never stdin, which an agent or a pipe controls.
//!
//! The human sees the command, its class and target, and must type the target's name exactly.
//! A wrong answer, end of input, Ctrl-C or no answer within [`TIMEOUT`] refuses.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

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
}

extern "C" fn on_interrupt(_: nix::libc::c_int) {}

/// Shows `summary` on the terminal and asks for `phrase` (shown as `shown`, its escaped form).
///
/// # Errors
/// When `/dev/tty` cannot be opened or written.
pub fn ask(summary: &str, shown: &str, phrase: &str) -> std::io::Result<Answer> {
    let mut tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    // Ctrl-C interrupts the read instead of killing us, so it is recorded as a refusal (77).
    let action = SigAction::new(
        SigHandler::Handler(on_interrupt),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing, which is async-signal-safe.
    let _ = unsafe { sigaction(Signal::SIGINT, &action) };
    write!(
        tty,
        "{summary}\nType {shown} to confirm (anything else cancels): "
    )?;
    tty.flush()?;
    let answer = read_line(&mut tty, TIMEOUT);
    let result = match answer {
        Ok(Some(line)) if line == phrase => Answer::Confirmed,
        Ok(Some(_)) => Answer::Declined("the typed name did not match"),
        Ok(None) => Answer::Declined("no answer (end of input)"),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Answer::Declined("no answer in time"),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Answer::Declined("interrupted"),
        Err(e) => return Err(e),
    };
    if result != Answer::Confirmed {
        let _ = writeln!(tty);
    }
    Ok(result)
}

/// Reads one line (without its newline) within `timeout`; `None` at end of input.
fn read_line(tty: &mut File, timeout: Duration) -> std::io::Result<Option<String>> {
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        let ms = u16::try_from(left.as_millis().min(u128::from(u16::MAX))).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Err(std::io::ErrorKind::Interrupted.into()),
            Err(e) => return Err(e.into()),
        }
        let mut byte = [0u8; 1];
        match tty.read(&mut byte) {
            Ok(0) => return Ok(None),
            Ok(_) if byte[0] == b'\n' => {
                let line = String::from_utf8_lossy(&buf)
                    .trim_end_matches('\r')
                    .to_owned();
                return Ok(Some(line));
            }
            Ok(_) => buf.push(byte[0]),
            Err(e) => return Err(e),
        }
        if buf.len() > 4096 {
            return Ok(Some(String::new()));
        }
    }
}
