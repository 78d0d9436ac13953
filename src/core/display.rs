//! Echoing user-supplied text safely: secrets redacted, control and bidi characters escaped, so
//! a refusal can neither leak a token nor rewrite the terminal.

use std::ffi::OsString;
use std::fmt::Write as _;

/// Flags whose value may carry a secret: `--var KEY:VALUE` (plain-text vars that people use for
/// secrets anyway), `--define`, and every wrangler 4.164 flag that takes a credential
/// (commands.json: tokens, keys, passwords, connection strings, secret values). Paths
/// (`--secrets-file`) and names (`--secret-name`) stay visible.
const SECRET_VALUE_FLAGS: &[&str] = &[
    "--var",
    "--define",
    "--token",
    "--value",
    "--access-client-secret",
    "--access-key-id",
    "--aws-access-key-id",
    "--aws-secret-access-key",
    "--catalog-token",
    "--connection-string",
    "--origin-password",
    "--password",
    "--page-token",
    "--private-key",
    "--r2-access-key-id",
    "--r2-secret-access-key",
    "--secret-access-key",
];

/// Whether a whole word is hidden, whatever the rest of it: a `VAR=value` assignment of a
/// credential variable (any value), or a value that starts like a scannable token (`cfut_`,
/// `cfat_`, `cfk_`) without being an exact one.
fn whole_word_secret(word: &str) -> bool {
    let body = word.rsplit(['=', ':']).next().unwrap_or(word);
    let prefixed = ["cfut_", "cfat_", "cfk_"]
        .iter()
        .any(|p| body.starts_with(p));
    let assignment = word
        .split_once('=')
        .is_some_and(|(k, _)| crate::credentials::is_credential(k));
    prefixed || assignment
}

/// Whether a word holds a Cloudflare credential: a whole-word one (see [`redact_word`]) or any
/// shape [`crate::secrets`] finds anywhere in it.
#[must_use]
pub fn looks_secret(word: &str) -> bool {
    whole_word_secret(word) || crate::secrets::contains_secret(word)
}

/// The user's argv, word by word, with secrets replaced by `<redacted>` (not yet escaped).
#[must_use]
pub fn redacted_words(args: &[OsString]) -> Vec<String> {
    let mut words = Vec::with_capacity(args.len());
    // `--var` and `--define` are array flags: every word after them up to the next flag is a
    // value.
    let mut redact_next = false;
    for arg in args {
        let word = arg.to_string_lossy().into_owned();
        if word.starts_with('-') {
            redact_next = false;
        }
        let (raw_flag, inline) = match word.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v)),
            _ => (word.as_str(), None),
        };
        // yargs reads `--connectionString` as `--connection-string`, and `-token` like `--token`.
        let kebab = if raw_flag.starts_with('-') {
            format!(
                "--{}",
                crate::wrangler::kebab(raw_flag.trim_start_matches('-'))
            )
        } else {
            raw_flag.to_owned()
        };
        let flag = kebab.as_str();
        let shown = if redact_next || whole_word_secret(&word) {
            redact_value(&word)
        } else if SECRET_VALUE_FLAGS.contains(&flag) && inline.is_some() {
            format!("{raw_flag}={}", redact_value(inline.unwrap_or_default()))
        } else {
            redact_word(&word)
        };
        redact_next = if word.starts_with('-') {
            SECRET_VALUE_FLAGS.contains(&flag)
        } else {
            redact_next
        };
        words.push(shown);
    }
    words
}

/// The user's argv as one shell-quoted line with secrets replaced by `<redacted>` and control
/// characters escaped.
#[must_use]
pub fn command_line(program: &str, args: &[OsString]) -> String {
    let words: Vec<String> = std::iter::once(program.to_owned())
        .chain(redacted_words(args))
        .map(|w| shell_words::quote(&w).into_owned())
        .collect();
    escape(&words.join(" "))
}

/// One argv word as it may be shown or logged (not yet escaped): the one argv-word redaction.
/// A whole-word secret ([`whole_word_secret`]) becomes `<redacted>`; otherwise every credential
/// [`crate::secrets::redact`] finds inside the word is replaced (in a SQL string, after a glued
/// short flag `-e<token>`, in `--flag=<token>`, `<token>.example.com/x`, `<token>@100`), and the
/// rest stays: a git SHA, a version id and a Worker name are shown as given.
#[must_use]
pub fn redact_word(word: &str) -> String {
    if whole_word_secret(word) {
        crate::secrets::REDACTED.to_owned()
    } else {
        crate::secrets::redact(word)
    }
}

/// `KEY:VALUE` -> `KEY:<redacted>`; anything else -> `<redacted>`.
fn redact_value(value: &str) -> String {
    match value.split_once(':') {
        Some((key, _)) if !key.is_empty() && !looks_secret(key) => format!("{key}:<redacted>"),
        _ => "<redacted>".to_owned(),
    }
}

/// A user-derived field (environment, Worker, target, reason) as it may be shown on a terminal:
/// credentials redacted ([`crate::secrets::redact`]), then [`escape`]d.
#[must_use]
pub fn shown(text: &str) -> String {
    escape(&crate::secrets::redact(text))
}

/// Characters that print nothing or reorder what follows: fd's set (`src/sanitize.rs`) of
/// invisible and format characters, besides the control characters.
fn invisible(ch: char) -> bool {
    matches!(ch,
        '\u{ad}'                       // soft hyphen
        | '\u{180e}'                   // Mongolian vowel separator
        | '\u{200b}'..='\u{200f}'      // zero width, LRM/RLM
        | '\u{202a}'..='\u{202e}'      // bidi embeddings and overrides
        | '\u{2060}'..='\u{206f}'      // word joiner, invisible operators, bidi isolates
        | '\u{feff}'                   // BOM / zero-width no-break space
        | '\u{fff9}'..='\u{fffb}'      // interlinear annotation
        | '\u{e0000}'..='\u{e007f}'    // tag characters
    )
}

/// Escapes control, bidi and invisible characters (`\u{..}`), keeping ordinary text.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_control() || invisible(ch) {
            let _ = write!(out, "\\u{{{:x}}}", ch as u32);
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(words: &[&str]) -> String {
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        command_line("wrangler", &args)
    }

    #[test]
    fn redacts_secrets() {
        let tok = format!("cfut_{}{}", "a".repeat(40), "0123abcd");
        assert_eq!(
            line(&["deploy", "--var", "API_KEY:hunter2"]),
            "wrangler deploy --var 'API_KEY:<redacted>'"
        );
        assert_eq!(
            line(&["deploy", "--var=API_KEY:hunter2"]),
            "wrangler deploy '--var=API_KEY:<redacted>'"
        );
        assert!(!line(&["deploy", &tok]).contains("cfut_"));
        assert!(!line(&["CLOUDFLARE_API_TOKEN=abc"]).contains("abc"));
        let creds = line(&[
            "tunnel",
            "run",
            "x",
            "--token",
            "eyJhbGciOi.payload.sig",
            "--connection-string=postgres://u:PW@h/db",
        ]);
        assert!(
            !creds.contains("eyJhbGciOi") && !creds.contains("PW@"),
            "{creds}"
        );
        let single = line(&["tunnel", "run", "x", "-token=eyJhbGciOi.payload.sig"]);
        assert!(!single.contains("eyJhbGciOi"), "{single}");
        let camel = line(&[
            "hyperdrive",
            "create",
            "h",
            "--password",
            "hunter2",
            "--originPassword=hunter3",
            "--connectionString",
            "postgres://u:hunter4@h",
        ]);
        assert!(!camel.contains("hunter"), "{camel}");
        let many = line(&[
            "deploy",
            "--var",
            "A:x",
            "B:supersecret",
            "--define",
            "K:a",
            "K2:hunter3",
            "--env",
            "p",
            "q",
        ]);
        assert!(
            !many.contains("supersecret") && !many.contains("hunter3"),
            "{many}"
        );
        assert!(many.ends_with("--env p q"), "{many}");
        assert_eq!(
            line(&["deploy", "--env", "production"]),
            "wrangler deploy --env production"
        );
    }

    #[test]
    fn escapes_control_and_bidi() {
        assert_eq!(escape("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
        for invisible in ['\u{ad}', '\u{200b}', '\u{2060}', '\u{feff}', '\u{e0041}'] {
            assert!(
                escape(&format!("a{invisible}b")).starts_with("a\\u{"),
                "{invisible:?}"
            );
        }
        assert_eq!(escape("résumé 文档 🦀"), "résumé 文档 🦀");
    }

    #[test]
    fn a_git_sha_is_shown_and_a_token_is_not() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let token = "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n";
        assert_eq!(
            line(&["pages", "deploy", "--commit-hash", sha]),
            format!("wrangler pages deploy --commit-hash {sha}")
        );
        assert!(!line(&["deploy", "--env", token]).contains(token));
        assert!(!line(&["deploy", &format!("--name={token}")]).contains(token));
        assert_eq!(
            shown(&format!("environment {token:?}")),
            "environment \"<redacted>\""
        );
        assert_eq!(shown(sha), sha);
        // Inside a word: the token goes, the rest of the word stays.
        let scannable = format!("cfut_{token}0123abcd");
        for (word, want) in [
            (format!("-e{scannable}"), "-e<redacted>".to_owned()),
            (format!("-e{token}"), "-e<redacted>".to_owned()),
            (
                format!("{token}.example.com/x"),
                "<redacted>.example.com/x".to_owned(),
            ),
            (format!("{token}@100"), "<redacted>@100".to_owned()),
            (format!("--name={token}"), "--name=<redacted>".to_owned()),
            (
                format!("UPDATE t SET tok='{token}'"),
                "UPDATE t SET tok='<redacted>'".to_owned(),
            ),
        ] {
            assert_eq!(redact_word(&word), want, "{word}");
            let args = [OsString::from("x"), OsString::from(&word)];
            assert_eq!(redacted_words(&args), ["x".to_owned(), want], "{word}");
        }
        for visible in [
            format!("-c{sha}"),
            format!("{sha}@100"),
            "--name=my-very-long-worker-name-for-production1".to_owned(),
        ] {
            assert_eq!(redact_word(&visible), visible);
        }
        assert_eq!(
            shown("my-very-long-worker-name-for-production1"),
            "my-very-long-worker-name-for-production1"
        );
    }
}
