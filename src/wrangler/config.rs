//! The wrangler config file a call would use (`../shared/wrangler/config.md`).
//!
//! Lookup: `--config` (relative to the directory after `--cwd`); else an upward search in which
//! `wrangler.json` is searched all the way to `/` before `wrangler.jsonc`, and that before
//! `wrangler.toml` (so an ancestor's `wrangler.json` beats the working directory's
//! `wrangler.toml`, as in wrangler). TOML is converted to the same JSON value as JSON/JSONC, so the
//! classifier reads one shape.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The names wrangler searches for, in order (each all the way up before the next).
pub const CONFIG_NAMES: [&str; 3] = ["wrangler.json", "wrangler.jsonc", "wrangler.toml"];

/// A config file that was found and parsed.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub value: Value,
}

/// Why a config could not be used. Never contains file contents beyond the parser's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// The config path wrangler would use, if any.
#[must_use]
pub fn locate(dir: &Path, config_flag: Option<&str>) -> Option<PathBuf> {
    if let Some(flag) = config_flag.filter(|f| !f.is_empty()) {
        return Some(dir.join(flag));
    }
    CONFIG_NAMES
        .iter()
        .find_map(|name| dir.ancestors().map(|d| d.join(name)).find(|p| p.is_file()))
}

/// Reads and parses a config file.
///
/// # Errors
/// When the file cannot be read or does not parse; the error names the file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let err = |message: String| ConfigError {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let value = if path.extension().is_some_and(|e| e == "toml") {
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| err(first_line(&e.to_string())))?;
        serde_json::to_value(table).map_err(|e| err(e.to_string()))?
    } else {
        serde_json::from_str(&strip_jsonc(&text)).map_err(|e| err(e.to_string()))?
    };
    Ok(Config {
        path: path.to_owned(),
        value,
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_owned()
}

impl Config {
    /// The Worker name a command acting on `env` would use: `--name`, else the config's `name`
    /// with `-<env>` appended for a named environment (wrangler's naming).
    #[must_use]
    pub fn worker_name(&self, env: &str) -> Option<String> {
        let base = self.value.get("name")?.as_str()?;
        if env.is_empty() {
            Some(base.to_owned())
        } else {
            Some(format!("{base}-{env}"))
        }
    }
}

/// JSONC to JSON: removes `//` and `/* */` comments and trailing commas, leaving strings alone.
/// Byte offsets of everything else are kept (comments become spaces) so parser line and column
/// numbers still point into the original file.
#[must_use]
pub fn strip_jsonc(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            out.push(b);
            i += 1;
            while i < bytes.len() {
                out.push(bytes[i]);
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    out.push(bytes[i + 1]);
                    i += 2;
                    continue;
                }
                i += 1;
                if bytes[i - 1] == b'"' {
                    break;
                }
            }
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            out.extend_from_slice(b"  ");
            i += 2;
            while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                out.push(if bytes[i] == b'\n' { b'\n' } else { b' ' });
                i += 1;
            }
            if i < bytes.len() {
                out.extend_from_slice(b"  ");
                i += 2;
            }
        } else if b == b','
            && next_significant(bytes, i + 1).is_some_and(|c| c == b'}' || c == b']')
        {
            out.push(b' ');
            i += 1;
        } else {
            out.push(b);
            i += 1;
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes, so this stays valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// The next byte after `from` that is not whitespace or inside a comment.
fn next_significant(bytes: &[u8], mut i: usize) -> Option<u8> {
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b => return Some(b),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonc_comments_and_trailing_commas() {
        let text = "{\n // c\n \"name\": \"a//b\", /* x */ \"n\": [1, 2,],\n}";
        let v: Value = serde_json::from_str(&strip_jsonc(text)).unwrap();
        assert_eq!(v["name"], "a//b");
        assert_eq!(v["n"][1], 2);
    }

    #[test]
    fn json_beats_toml_from_an_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let child = dir.path().join("child");
        std::fs::create_dir(&child).unwrap();
        std::fs::write(dir.path().join("wrangler.json"), r#"{"name":"parent"}"#).unwrap();
        std::fs::write(child.join("wrangler.toml"), "name = \"child\"").unwrap();
        let found = locate(&child, None).unwrap();
        assert_eq!(found, dir.path().join("wrangler.json"));
        let cfg = load(&child.join("wrangler.toml")).unwrap();
        assert_eq!(cfg.worker_name("staging").as_deref(), Some("child-staging"));
    }

    #[test]
    fn parse_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wrangler.toml");
        std::fs::write(&p, "name = ").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.to_string().starts_with(&p.display().to_string()));
    }
}
