//! Reading the policy files (the edge): the project file nearest the working directory upwards,
//! and the user's files. What they mean is decided in `core::policy`.

use std::path::{Path, PathBuf};

use crate::core::policy::{POLICY_NAMES, Policy, PolicyError, PolicyFile, combine, parse_file};

/// Finds and reads the policy: the project file nearest `dir` upwards, and the user file.
///
/// # Errors
/// A file that exists but cannot be read or used.
pub fn load(dir: &Path, user_files: &[PathBuf]) -> Result<Policy, PolicyError> {
    let read = |path: &Path, is_user: bool| -> Result<Option<(PathBuf, PolicyFile)>, PolicyError> {
        match crate::read_text(path) {
            Ok(text) => parse_file(path, &text, is_user).map(|f| Some((path.to_owned(), f))),
            // Absent means no entry at all: a symlink that leads nowhere (dangling, or a loop) is
            // a policy that cannot be read, not a missing one.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && std::fs::symlink_metadata(path).is_err() =>
            {
                Ok(None)
            }
            Err(e) if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) => {
                Err(PolicyError {
                    path: path.to_owned(),
                    message: format!("a symlink that leads to no readable file ({e})"),
                })
            }
            Err(e) => Err(PolicyError {
                path: path.to_owned(),
                message: e.to_string(),
            }),
        }
    };
    // The most important user file that exists gives the settings; a lock in any of them holds.
    let mut found = Vec::new();
    for path in user_files {
        if let Some(file) = read(path, true)? {
            found.push(file);
        }
    }
    // Unlocked, the most important file that exists gives the settings. Locked, the settings come
    // from the least movable file that holds the lock (the user database's home comes last in
    // `user_files`): a file an agent plants under its own `XDG_CONFIG_HOME` cannot replace them.
    let user = if found
        .iter()
        .any(|(_, f)| f.lock_project_policy == Some(true))
    {
        found
            .into_iter()
            .rev()
            .find(|(_, f)| f.lock_project_policy == Some(true))
    } else {
        found.into_iter().next()
    };
    let project_path = dir
        .ancestors()
        .flat_map(|d| POLICY_NAMES.iter().map(move |n| d.join(n)))
        .find(|p| std::fs::symlink_metadata(p).is_ok());
    let project = match project_path {
        Some(p) => read(&p, false)?,
        None => None,
    };
    Ok(combine(user, project))
}
