//! The home directory the system's user database gives for a uid.
//!
//! `getpwuid` goes through glibc's NSS, which a statically linked glibc binary (the npm package's
//! linux build) cannot load: it may find nothing, or warn, for a user a plain `/etc/passwd` names.
//! So `/etc/passwd` is read first, the way the `files` NSS module would, and the system call is
//! the fallback for users that live elsewhere (LDAP, systemd-homed, ...).

use std::path::PathBuf;

/// `/etc/passwd` is a few kilobytes; a bigger one is not read (the system call answers instead).
const PASSWD_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The home directory of `uid`: `/etc/passwd` first, then `getpwuid`.
#[must_use]
pub fn home_of(uid: u32) -> Option<PathBuf> {
    read_passwd("/etc/passwd")
        .and_then(|text| home_in_passwd(&text, uid))
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                .ok()
                .flatten()
                .map(|u| u.dir)
        })
}

/// The home directory of the current real user.
#[must_use]
pub fn my_home() -> Option<PathBuf> {
    home_of(nix::unistd::getuid().as_raw())
}

fn read_passwd(path: &str) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(PASSWD_MAX_BYTES).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The sixth field of the first `name:pw:uid:gid:gecos:home:shell` line with this uid. Lines
/// that are comments, NIS markers (`+`/`-`) or malformed are skipped; an empty or relative home
/// is no answer.
fn home_in_passwd(text: &str, uid: u32) -> Option<PathBuf> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('+') && !l.starts_with('-'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() == 7)
        .find(|f| f[2].parse::<u32>().ok() == Some(uid))
        .map(|f| PathBuf::from(f[5]))
        .filter(|home| home.is_absolute())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "# comment\nroot:x:0:0:root:/root:/bin/bash\n+nis::::::\nbroken:line\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh\nrel:x:1001:1001::home/rel:/bin/sh\ntwin:x:1000:1000::/home/twin:/bin/sh\n";

    #[test]
    fn finds_the_first_line_with_the_uid() {
        assert_eq!(home_in_passwd(PASSWD, 0), Some(PathBuf::from("/root")));
        assert_eq!(
            home_in_passwd(PASSWD, 1000),
            Some(PathBuf::from("/home/alice"))
        );
    }

    #[test]
    fn unknown_malformed_and_relative_give_nothing() {
        assert_eq!(home_in_passwd(PASSWD, 4242), None);
        assert_eq!(home_in_passwd(PASSWD, 1001), None);
        assert_eq!(home_in_passwd("", 0), None);
    }

    #[test]
    fn agrees_with_the_system_call_for_this_user() {
        let uid = nix::unistd::getuid();
        let system = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.dir);
        if let Some(system) = system {
            assert_eq!(my_home(), Some(system));
        }
    }
}
