//! Reading files for the gather step and the verbs: only regular files of sane size, the wrangler
//! config as wrangler finds it, and the disk view context detection gets. The parsers they feed
//! (`wrangler::config::parse`, the policy, dotenv) are pure and live in `core`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::context::Disk;
use crate::wrangler::config::{
    self, CONFIG_NAMES, Config, ConfigError, REDIRECT_FILE, strip_jsonc,
};

/// The most we read of any project or user file (configs, `.env`, policies, event files).
pub(crate) const MAX_FILE: u64 = 8 << 20;

/// Reads a file only if it is a regular file of sane size: a FIFO or a device named as a config,
/// `.env` or event file must never make safe-wrangler (or a hook) wait forever.
///
/// # Errors
/// Not a regular file, too large, or unreadable.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(std::io::Error::other("larger than 8 MiB"));
    }
    std::fs::read(path)
}

/// [`read_regular`] as UTF-8 text.
///
/// # Errors
/// As [`read_regular`], or not UTF-8.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_regular(path)?).map_err(|_| std::io::Error::other("not UTF-8 text"))
}

/// The real file system, as context detection sees it.
pub struct RealDisk;

impl Disk for RealDisk {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        crate::edge::gather::at(6);
        let read = crate::edge::gather::read_cached(Path::new(path));
        crate::edge::gather::at(0);
        read
    }
    fn is_dir(&self, path: &str) -> bool {
        Path::new(path).is_dir()
    }
}

/// The config path wrangler would use, if any. `redirect`: the command honours
/// [`REDIRECT_FILE`] (deploy, versions, triggers, preview, dev, pages), which `--config` disables.
#[must_use]
pub fn locate_config(dir: &Path, config_flag: Option<&str>, redirect: bool) -> Option<PathBuf> {
    find_config(dir, config_flag, redirect).map(|(path, _)| path)
}

/// [`locate_config`] and whether the path came through [`REDIRECT_FILE`] (it differs from the
/// config the user's own search finds), from one upward search.
#[must_use]
pub fn find_config(
    dir: &Path,
    config_flag: Option<&str>,
    redirect: bool,
) -> Option<(PathBuf, bool)> {
    if let Some(flag) = config_flag.filter(|f| !f.is_empty()) {
        return Some((dir.join(flag), false));
    }
    let user = CONFIG_NAMES
        .iter()
        .find_map(|name| dir.ancestors().map(|d| d.join(name)).find(|p| p.is_file()));
    if redirect
        && let Some(pointer) = dir
            .ancestors()
            .map(|d| d.join(REDIRECT_FILE))
            .find(|p| p.is_file())
    {
        // It counts only beside the user's config (wrangler errors otherwise) or with none.
        let project = pointer
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent);
        let beside = match (&user, project) {
            (Some(u), Some(p)) => u.parent() == Some(p),
            (None, _) => true,
            (Some(_), None) => false,
        };
        if beside {
            // An unreadable pointer is reported as an unreadable config by [`load_config`].
            let found = redirect_target(&pointer).unwrap_or(pointer);
            let redirected = user.as_ref() != Some(&found);
            return Some((found, redirected));
        }
    }
    user.map(|u| (u, false))
}

fn redirect_target(pointer: &Path) -> Option<PathBuf> {
    let text = String::from_utf8(read_regular(pointer).ok()?).ok()?;
    let value: Value = serde_json::from_str(&strip_jsonc(&text)).ok()?;
    let target = value.get("configPath")?.as_str()?;
    Some(pointer.parent()?.join(target))
}

/// Reads and parses a config file.
///
/// # Errors
/// When the file cannot be read or does not parse; the error names the file.
pub fn load_config(path: &Path) -> Result<Config, ConfigError> {
    let text = read_text(path).map_err(|e| ConfigError {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    config::parse(path, &text)
}

/// [`load_config`] for the classifier ([`config::parse_for_classifier`]).
///
/// # Errors
/// As [`load_config`].
pub fn load_config_for_classifier(path: &Path) -> Result<Config, ConfigError> {
    let text = read_text(path).map_err(|e| ConfigError {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    config::parse_for_classifier(path, &text)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::{Path, PathBuf};

    use crate::classify::{Targets, Wrangler, classify};
    use crate::core::wrangler::lean::tests::answers;
    use crate::wrangler::config::{Config, ConfigError, parse, parse_for_classifier};

    /// Every config file under `dir` (the decision corpus's projects), skipping `node_modules`.
    fn configs(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() && e.file_name() != "node_modules" {
                configs(&p, out);
            } else if p.is_file()
                && e.file_name() != "package.json"
                && p.extension()
                    .is_some_and(|x| x == "toml" || x == "json" || x == "jsonc")
            {
                out.push(p);
            }
        }
    }

    fn call(words: &[&str]) -> crate::wrangler::argv::Invocation {
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        crate::wrangler::argv::parse(&args)
    }

    /// The gated and config-dependent commands the classifier answers from the config.
    const COMMANDS: [&[&str]; 12] = [
        &["deploy"],
        &["deploy", "--dry-run"],
        &["versions", "upload"],
        &["versions", "deploy"],
        &["triggers", "deploy"],
        &["secret", "put", "TOKEN"],
        &["secret", "bulk"],
        &["kv", "key", "put", "k", "v", "--binding", "KV", "--preview"],
        &["kv", "key", "put", "k", "v", "--binding", "KV", "--remote"],
        &["d1", "execute", "DB", "--remote", "--command=DELETE FROM t"],
        &["dev"],
        &["delete"],
    ];

    /// Every classifier answer for one config file, lean against full; the number compared.
    fn compare(file: &Path, full: &Config, lean: &Config, targets: &[Targets]) -> usize {
        let mut envs: Vec<String> = ["", "missing", "production", "staging", "preview"]
            .map(str::to_owned)
            .to_vec();
        envs.extend(full.environments());
        let full_r: Result<Config, ConfigError> = Ok(full.clone());
        let lean_r: Result<Config, ConfigError> = Ok(lean.clone());
        let mut checked = 0;
        for env in &envs {
            let where_ = format!("{} [{env}]", file.display());
            assert_eq!(answers(full, env), answers(lean, env), "{where_}");
            for cmd in COMMANDS {
                let mut words = cmd.to_vec();
                if !env.is_empty() {
                    words.extend(["--env", env.as_str()]);
                }
                let (by_flag, plain) = (call(&words), call(cmd));
                for t in targets {
                    for (inv, cf_env) in [(&by_flag, None), (&plain, Some(env.as_str()))] {
                        for default in [false, true] {
                            let (fd, ld) = if default {
                                (Some(&full_r), Some(&lean_r))
                            } else {
                                (None, None)
                            };
                            let a = classify(
                                inv,
                                cf_env,
                                None,
                                &Wrangler::Four,
                                false,
                                Some(&full_r),
                                fd,
                                t,
                            );
                            let b = classify(
                                inv,
                                cf_env,
                                None,
                                &Wrangler::Four,
                                false,
                                Some(&lean_r),
                                ld,
                                t,
                            );
                            assert_eq!(a, b, "{where_} {words:?} CLOUDFLARE_ENV={cf_env:?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        checked
    }

    /// The lean reading the gather step uses gives the classifier the same answers as the full
    /// tree for every config in the corpus (issue 11's production data, Workflows, deleted and
    /// transferred classes, addresses, routes, names, environments, remote bindings), for every
    /// gated command in every environment, with and without the project's policy targets.
    #[test]
    fn corpus_configs_classify_alike_lean_and_full() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/projects");
        let mut files = Vec::new();
        configs(&root, &mut files);
        assert!(files.len() > 40, "the corpus's configs: {}", files.len());
        let mut checked = 0;
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            match (parse(file, &text), parse_for_classifier(file, &text)) {
                (Ok(full), Ok(lean)) => {
                    let dir = file.parent().unwrap_or(Path::new("."));
                    let mut targets = vec![Targets::default()];
                    if let Ok(p) = crate::edge::policy_files::load(dir, &[]) {
                        targets.push(p.targets);
                    }
                    checked += compare(file, &full, &lean, &targets);
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "{}", file.display()),
                (a, b) => panic!("{}: full {a:?} lean {b:?}", file.display()),
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
