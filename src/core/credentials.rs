//! Which Cloudflare credentials reach wrangler. Pure: the environment and the contents of the
//! project's `.env` files in, the child's environment and a plan for those files out.
//!
//! Outside CI wrangler must use the human's stored OAuth login, so every variable in
//! [`CREDENTIAL_VARS`] is removed from its environment. That is only half the job: at start-up
//! wrangler merges `.env`, `.env.local`, `.env.<env>`, `.env.<env>.local` (from the directory after
//! `--cwd`) into its environment, filling every variable that is unset *or empty*
//! (`../shared/wrangler/env.md`). So when one of those files mentions a credential variable we
//! hand wrangler, through `--env-file` (appended after the user's words: it is an array flag that
//! would swallow them), a copy of each file without its credential assignments and with every
//! credential variable set to the empty string at its end (dotenv keeps the last assignment, and
//! wrangler treats an empty credential as absent), so the OAuth login is used while every other
//! variable still reaches wrangler as written. The copies are real files in the project's own
//! `.wrangler/safe-wrangler/` (see [`COPY_DIR`]): wrangler's launcher starts a second Node process
//! that inherits no extra file descriptors, so an in-memory file cannot be handed over, and the
//! process is replaced by exec, so nothing could delete a temporary file afterwards. Files named by
//! the user's own `--env-file` cannot be swapped without rewriting the user's words, so a
//! credential in one of them refuses the call with the file and line to fix.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::context::Env;

/// The variables through which wrangler takes a Cloudflare credential. A global API key and email
/// outrank a token in wrangler, and the `CF_*` spellings are its deprecated aliases.
/// `CLOUDFLARE_API_HEADERS` is a JSON object of extra headers that wrangler 4.164 sets on every
/// API request *after* its own `Authorization` (`addCustomApiHeaders`, cli.js L62920-62966), so
/// `{"Authorization":"Bearer ..."}` (or `X-Auth-Key`/`X-Auth-Email`) replaces the OAuth login:
/// a credential by another name, removed everywhere, approved CI included (CI gets one token).
/// Two narrower credentials wrangler sends as `Authorization: Bearer` instead of the login:
/// `WRANGLER_BASIN_SQL_AUTH_TOKEN` (`r2 sql query`, L221159; it falls back to
/// `CLOUDFLARE_API_TOKEN`, never to OAuth) and `CF_PAGES_UPLOAD_JWT` (`pages project upload`,
/// L303117). Not here: `CLOUDFLARE_ACCESS_CLIENT_ID`/`_SECRET` and
/// `WRANGLER_CF_AUTHORIZATION_TOKEN` go only to hosts behind Cloudflare Access, never to the API.
pub const CREDENTIAL_VARS: &[&str] = &[
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_API_KEY",
    "CLOUDFLARE_EMAIL",
    "CLOUDFLARE_API_HEADERS",
    "WRANGLER_BASIN_SQL_AUTH_TOKEN",
    "CF_PAGES_UPLOAD_JWT",
    "CF_API_TOKEN",
    "CF_API_KEY",
    "CF_EMAIL",
];

/// The recursion counter safe-wrangler puts in wrangler's environment: a `wrangler` found on
/// PATH that leads back to safe-wrangler (a copy, a wrapper script) cannot loop forever.
pub const DEPTH_VAR: &str = "SAFE_WRANGLER_DEPTH";

/// How deep safe-wrangler may be nested before it stops. Wrangler never runs itself, so any
/// nesting is an accident; a little room is left for wrappers that call wrangler once.
pub const MAX_DEPTH: u32 = 4;

/// Whether `name` is one of the credential variables.
#[must_use]
pub fn is_credential(name: &str) -> bool {
    CREDENTIAL_VARS.contains(&name)
}

/// The child's environment: the caller's minus every credential variable and every variable in
/// `token_sources` (the policy's per-class CI token variables: a credential by another name),
/// with the recursion counter set to `depth`, and `CLOUDFLARE_API_TOKEN` set to `token` when one
/// is given (CI: exactly one credential).
#[must_use]
pub fn child_env(
    env: &Env,
    depth: u32,
    token: Option<&OsStr>,
    token_sources: &[&str],
) -> Vec<(OsString, OsString)> {
    let mut out: Vec<(OsString, OsString)> = env
        .0
        .iter()
        .filter(|(k, _)| {
            k.to_str()
                .is_none_or(|k| !is_credential(k) && k != DEPTH_VAR && !token_sources.contains(&k))
        })
        .cloned()
        .collect();
    out.push((DEPTH_VAR.into(), depth.to_string().into()));
    if let Some(token) = token {
        out.push(("CLOUDFLARE_API_TOKEN".into(), token.to_owned()));
    }
    out
}

/// The `.env` files wrangler loads by default, in its order, for the environment selected by
/// `--env` (`None` when it is not given; `Some("")` for `--env=`, which makes wrangler load `.env.`
/// and `.env..local`).
#[must_use]
pub fn default_env_files(dir: &Path, environment: Option<&str>) -> Vec<PathBuf> {
    crate::wrangler::dotenv::files(dir, None, environment)
}

/// The first assignment in a dotenv file that gives a credential variable a value, as wrangler's
/// dotenv parses it (a BOM, `KEY: value`, a quoted value over several lines, `KEY` and `=value`
/// on two lines included), with its line and which variable. An empty value is no credential
/// (wrangler treats it as unset); a value that expands (`$OTHER`) counts.
#[must_use]
pub fn find_credential(content: &[u8]) -> Option<(usize, &'static str)> {
    crate::wrangler::dotenv::assignments(content)
        .into_iter()
        .filter(|a| !a.value.is_empty())
        .find_map(|a| {
            CREDENTIAL_VARS
                .iter()
                .find(|v| **v == a.key)
                .map(|v| (a.line, *v))
        })
}

/// Where, inside the project directory, the credential-free copies of its `.env` files go:
/// wrangler's own state directory, which wrangler's templates already keep out of git (and a
/// `.gitignore` of ours in it makes sure). Each call overwrites the copies, so none accumulate.
pub const COPY_DIR: &str = ".wrangler/safe-wrangler";

/// The variable a dotenv line assigns (`[export ]NAME=value`, `NAME: value`) and the rest after
/// the `=`/`:`.
fn assignment(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    // `export` followed by any whitespace, as dotenv accepts it.
    let line = match line.strip_prefix("export") {
        Some(rest) if rest.starts_with(char::is_whitespace) => rest.trim_start(),
        _ => line,
    };
    let key_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .unwrap_or(line.len());
    let (key, rest) = line.split_at(key_end);
    let rest = rest.trim_start();
    let value = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':'))?;
    (!key.is_empty()).then_some((key, value))
}

/// Whether a dotenv line assigns a credential variable.
fn assigns_credential(line: &str) -> bool {
    assignment(line).is_some_and(|(key, _)| is_credential(key))
}

/// The file's contents without its credential assignments, and with every credential variable
/// assigned the empty string at the end (in case a line we kept still sets one, e.g. inside a
/// multi-line value). An assignment is every line dotenv reads it from (a quoted value over
/// several lines, `KEY` and `=value` on two), and any line that looks like one on its own. Lines
/// break where dotenv breaks them (`\n`, `\r\n`, a lone `\r`); a byte order mark before the
/// first line does not hide an assignment; every other byte (non-UTF-8 ones included) is copied
/// unchanged.
#[must_use]
pub fn neutralize(content: &[u8]) -> Vec<u8> {
    let spans: Vec<(usize, usize)> = crate::wrangler::dotenv::assignments(content)
        .into_iter()
        .filter(|a| is_credential(&a.key))
        .map(|a| (a.line, a.end_line))
        .collect();
    let mut out = Vec::with_capacity(content.len() + 160);
    let mut rest = content;
    let mut first = true;
    let mut number = 0;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(rest.len());
        let term = match (rest.get(end), rest.get(end + 1)) {
            (Some(b'\r'), Some(b'\n')) => 2,
            (Some(_), _) => 1,
            (None, _) => 0,
        };
        let (line, terminator) = (&rest[..end], &rest[end..end + term]);
        let text = String::from_utf8_lossy(line);
        let text = if first {
            text.trim_start_matches('\u{feff}')
        } else {
            &text
        };
        number += 1;
        if assigns_credential(text) || spans.iter().any(|(a, b)| (*a..=*b).contains(&number)) {
            out.extend_from_slice(b"# (a Cloudflare credential was removed here by safe-wrangler)");
            out.extend_from_slice(if term == 0 { b"\n" } else { terminator });
        } else {
            out.extend_from_slice(&rest[..end + term]);
        }
        rest = &rest[end + term..];
        first = false;
    }
    out.extend_from_slice(
        b"\n# safe-wrangler: Cloudflare credentials come from your OAuth login\n",
    );
    for var in CREDENTIAL_VARS {
        out.extend_from_slice(var.as_bytes());
        out.extend_from_slice(b"=\n");
    }
    out
}

/// What to do about the `.env` files wrangler would load.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DotenvPlan {
    /// No file wrangler loads mentions a credential: argv stays as the user wrote it.
    Untouched,
    /// Pass these contents (one per file, in wrangler's order) instead of the files.
    Replace(Vec<(PathBuf, Vec<u8>)>),
    /// A file the user named with `--env-file` holds a credential.
    Refuse {
        file: PathBuf,
        line: usize,
        var: &'static str,
    },
}

/// Plans for the files wrangler would load: the user's `--env-file`s if any, else the defaults.
/// `read` returns a file's contents, `None` when it does not exist or cannot be read.
pub fn plan_dotenv(
    user_files: &[&str],
    dir: &Path,
    environment: Option<&str>,
    read: impl Fn(&Path) -> Option<Vec<u8>>,
) -> DotenvPlan {
    if !user_files.is_empty() {
        for f in user_files {
            let path = dir.join(f);
            if let Some((line, var)) = read(&path).as_deref().and_then(find_credential) {
                return DotenvPlan::Refuse {
                    file: path,
                    line,
                    var,
                };
            }
        }
        return DotenvPlan::Untouched;
    }
    let files: Vec<(PathBuf, Vec<u8>)> = default_env_files(dir, environment)
        .into_iter()
        .filter_map(|p| read(&p).map(|c| (p, c)))
        .collect();
    if files.iter().any(|(_, c)| find_credential(c).is_some()) {
        DotenvPlan::Replace(
            files
                .into_iter()
                .map(|(p, c)| (p, neutralize(&c)))
                .collect(),
        )
    } else {
        DotenvPlan::Untouched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn child_env_drops_every_credential() {
        let mut env: Env = CREDENTIAL_VARS
            .iter()
            .map(|v| (*v, "test-token-not-real"))
            .collect();
        env.0.push(("PATH".into(), "/usr/bin".into()));
        env.0.push((DEPTH_VAR.into(), "2".into()));
        let out = child_env(&env, 3, None, &[]);
        assert_eq!(
            out,
            vec![
                ("PATH".into(), "/usr/bin".into()),
                (DEPTH_VAR.into(), "3".into())
            ]
        );
        env.0
            .push(("CF_DEPLOY_TOKEN".into(), "ci-token-not-real".into()));
        let out = child_env(
            &env,
            1,
            Some(OsStr::new("ci-token-not-real")),
            &["CF_DEPLOY_TOKEN"],
        );
        let creds: Vec<_> = out
            .iter()
            .filter(|(_, v)| v.to_str().is_some_and(|v| v.ends_with("-not-real")))
            .collect();
        assert_eq!(
            creds,
            vec![&("CLOUDFLARE_API_TOKEN".into(), "ci-token-not-real".into())]
        );
    }

    #[test]
    fn credential_lines_are_dropped_and_others_kept() {
        let text = "export CF_API_TOKEN = x\n  CLOUDFLARE_EMAIL: a@b\nCLOUDFLARE_API_TOKENS=keep\nX=CLOUDFLARE_API_TOKEN=y\n";
        let out = String::from_utf8(neutralize(text.as_bytes())).unwrap();
        assert!(!out.contains("= x") && !out.contains("a@b"), "{out}");
        assert!(
            out.contains("CLOUDFLARE_API_TOKENS=keep\nX=CLOUDFLARE_API_TOKEN=y\n"),
            "{out}"
        );
    }

    #[test]
    fn credential_lines_after_a_bom_and_with_cr_ends_and_other_bytes_unchanged() {
        let text = b"\xef\xbb\xbfCLOUDFLARE_API_TOKEN=t1\rA=\xff\xfe\rCF_API_KEY=t2\r\nB=2";
        let out = neutralize(text);
        assert!(!out.windows(2).any(|w| w == b"t1" || w == b"t2"), "{out:?}");
        assert!(out.starts_with(
            b"# (a Cloudflare credential was removed here by safe-wrangler)\rA=\xff\xfe\r# (a"
        ));
        assert!(out.windows(5).any(|w| w == b"\r\nB=2"));
    }

    #[test]
    fn dotenv_plans() {
        let dir = Path::new("/p");
        let files: HashMap<PathBuf, &str> = [
            (
                dir.join(".env"),
                "A=1\nCLOUDFLARE_API_TOKEN=test-token-not-real\n",
            ),
            (dir.join(".env.staging"), "B=2\n"),
            (dir.join("other.env"), "# nothing\nCF_API_KEY=x"),
        ]
        .into_iter()
        .collect();
        let read = |p: &Path| files.get(p).map(|s| s.as_bytes().to_vec());
        let DotenvPlan::Replace(out) = plan_dotenv(&[], dir, Some("staging"), read) else {
            panic!()
        };
        assert_eq!(out.len(), 2);
        let first = String::from_utf8(out[0].1.clone()).unwrap();
        assert!(
            first.starts_with("A=1\n# (a Cloudflare credential was removed"),
            "{first}"
        );
        assert!(!first.contains("test-token-not-real"), "{first}");
        assert!(first.ends_with("CF_EMAIL=\n"));
        assert_eq!(
            plan_dotenv(&[], dir, None, |_| Some(b"X=1".to_vec())),
            DotenvPlan::Untouched
        );
        assert_eq!(
            plan_dotenv(&["other.env"], dir, None, read),
            DotenvPlan::Refuse {
                file: dir.join("other.env"),
                line: 2,
                var: "CF_API_KEY"
            }
        );
    }
}
