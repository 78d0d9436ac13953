//! Generated inputs for the readers every decision and every printed line rest on (issue 10):
//! the one redaction (`secrets::redact`), wrangler's dotenv as we port it, and the credential-free
//! `.env` copies handed to wrangler. Deterministic (a fixed seed and no failure files), bounded,
//! quick.

use std::ffi::OsString;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use safe_wrangler::credentials::{CREDENTIAL_VARS, neutralize};
use safe_wrangler::display;
use safe_wrangler::secrets::{REDACTED, redact};
use safe_wrangler::wrangler::dotenv;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5afe_0e0f),
        ..Config::default()
    }
}

/// Text around a secret: anything, but not a word character next to the secret (a longer word is
/// not that secret).
fn before() -> impl Strategy<Value = String> {
    "(.{0,20}[ \t=:\"'(,;>\n])?"
}

fn after() -> impl Strategy<Value = String> {
    "([ \t\"'),;<\n].{0,20})?"
}

fn alnum(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".to_vec(),
        ),
        n,
    )
    .prop_map(|b| String::from_utf8(b).unwrap())
}

/// A scannable Cloudflare token: prefix, 40 alphanumerics, an 8-hex-digit checksum.
fn scannable() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("cfut_"), Just("cfat_"), Just("cfk_")],
        alnum(40),
        "[0-9a-f]{8}",
    )
        .prop_map(|(p, body, sum)| format!("{p}{body}{sum}"))
}

/// A name that says "Cloudflare credential", a separator, and a legacy 40-character token (any
/// of `[A-Za-z0-9_-]`, not necessarily mixed case).
fn named_legacy() -> impl Strategy<Value = (String, String)> {
    (
        prop_oneof![
            Just("CLOUDFLARE_API_TOKEN"),
            Just("CF_API_TOKEN"),
            Just("--token"),
            Just("\"api_token\""),
            Just("Authorization: Bearer"),
            Just("GITHUB_TOKEN"),
        ],
        prop_oneof![Just("="), Just(": "), Just(" "), Just("=\""), Just(": \"")],
        "[A-Za-z0-9_-]{40}",
    )
        .prop_map(|(name, sep, token)| (format!("{name}{sep}"), token))
}

proptest! {
    #![proptest_config(config(512))]

    /// Never panics, and what it returns it would return again.
    #[test]
    fn redaction_is_total_and_idempotent(text in "\\PC{0,200}") {
        let once = redact(&text);
        prop_assert_eq!(redact(&once), once);
    }

    /// Text with no run of credential characters long enough to be a credential comes back as it
    /// went in.
    #[test]
    fn short_runs_are_never_redacted(text in "([^A-Za-z0-9_+/=-]{1,3}[A-Za-z0-9_+/=-]{0,30}){0,12}") {
        prop_assert_eq!(redact(&text), text);
    }

    /// A scannable token is hidden wherever it is, with what surrounds it kept.
    #[test]
    fn scannable_tokens_are_always_hidden(a in before(), token in scannable(), b in after()) {
        let text = format!("{a}{token}{b}");
        let shown = redact(&text);
        prop_assert!(!shown.contains(&token[token.len() - 48..]), "{shown}");
        prop_assert_eq!(shown, format!("{a}{REDACTED}{b}"));
    }

    /// A legacy token behind a credential's name is hidden; the name stays.
    #[test]
    fn legacy_tokens_after_a_credential_name_are_hidden(
        a in before(),
        (name, token) in named_legacy(),
        b in after(),
    ) {
        let text = format!("{a}{name}{token}{b}");
        let shown = redact(&text);
        prop_assert!(!shown.contains(&token), "{shown}");
        prop_assert!(shown.contains(name.trim_end_matches(['"', ' ', '=', ':'])), "{shown}");
    }

    /// A git SHA after a name that is no credential's (`--commit-hash`) stays visible.
    #[test]
    fn git_shas_stay_visible(
        flag in prop_oneof![Just("--commit-hash "), Just("--commit-hash="), Just("--name "), Just("sha: ")],
        sha in "[0-9a-f]{40}",
    ) {
        let text = format!("wrangler pages deploy {flag}{sha}");
        prop_assert_eq!(redact(&text), text);
    }
}

/// A bare legacy token as it really looks: 40 of `[A-Za-z0-9]` with upper case, lower case and a
/// digit (its 40 characters are what must never show).
fn bare_legacy() -> impl Strategy<Value = String> {
    ("[A-Z]", "[a-z]", "[0-9]", alnum(37)).prop_map(|(u, l, d, rest)| format!("{u}{l}{d}{rest}"))
}

/// A credential somewhere inside one argv word, in the shapes wrangler's argv takes: glued to a
/// short flag, after `--flag=`, in a SQL string, before a host name or `@percent`, alone.
fn argv_word_with(token: String) -> impl Strategy<Value = String> {
    (0..7usize, "[a-zA-Z]", "[a-z][a-z-]{0,14}", 1..=100u32).prop_map(
        move |(shape, short, flag, n)| match shape {
            0 => format!("-{short}{token}"),
            1 => format!("--{flag}={token}"),
            2 => format!("UPDATE t SET tok='{token}' WHERE id = {n}"),
            3 => format!("{token}.example.com/*"),
            4 => format!("{token}@{n}"),
            5 => format!("--{flag}={token}@{n}"),
            _ => token.clone(),
        },
    )
}

fn any_token() -> impl Strategy<Value = String> {
    prop_oneof![scannable(), bare_legacy()]
}

proptest! {
    #![proptest_config(config(512))]

    /// The one argv-word redaction: a credential inside any word of argv never shows in what
    /// we print or log of it, whatever word shape carries it; redaction is idempotent.
    #[test]
    fn argv_words_never_show_a_credential(
        (token, word) in any_token().prop_flat_map(|t| (Just(t.clone()), argv_word_with(t))),
        before in proptest::collection::vec("[a-z][a-z0-9-]{0,10}", 0..3),
    ) {
        let mut args: Vec<OsString> = before.iter().map(OsString::from).collect();
        args.push(OsString::from(&word));
        let shown = display::redacted_words(&args).join(" ");
        let body = &token[token.len().saturating_sub(48)..][..40];
        prop_assert!(!shown.contains(body), "{word:?} -> {shown}");
        prop_assert!(shown.contains(REDACTED), "{shown}");
        prop_assert!(!display::redact_word(&word).contains(body));
        let line = display::command_line("wrangler", &args);
        prop_assert!(!line.contains(body), "{line}");
        let again: Vec<OsString> = display::redacted_words(&args).iter().map(OsString::from).collect();
        prop_assert_eq!(display::redacted_words(&again).join(" "), shown);
    }

    /// What is no credential stays as given: Worker names, a git SHA after `--commit-hash`, a
    /// version id at a percentage, a route on a Worker's host.
    #[test]
    fn argv_words_without_a_credential_stay_visible(
        name in "[a-z][a-z0-9-]{0,62}",
        sha in "[0-9a-f]{40}",
        version in "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        percent in 0..=100u32,
    ) {
        let words = [
            "versions".to_owned(),
            "deploy".to_owned(),
            format!("{version}@{percent}"),
            format!("--name={name}"),
            "--commit-hash".to_owned(),
            sha.clone(),
            format!("-c{sha}"),
            format!("{name}.example.com/*"),
            name.clone(),
        ];
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        prop_assert_eq!(display::redacted_words(&args), words.to_vec());
    }
}

/// One line of a dotenv file, shaped like the ones wrangler's dotenv has surprises for.
fn dotenv_line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        3 => proptest::sample::select(CREDENTIAL_VARS.to_vec()).prop_map(str::to_owned),
        2 => "[A-Z_][A-Z0-9_.-]{0,8}",
    ];
    let value = prop_oneof![
        "[A-Za-z0-9_$]{0,12}",
        "\"[A-Za-z0-9 #'\n]{0,12}\"",
        "'[A-Za-z0-9 #\"\n]{0,12}'",
        "`[A-Za-z0-9 \n]{0,12}`",
        "\"[A-Za-z0-9\n]{0,12}",
        Just("${CLOUDFLARE_API_TOKEN}".to_owned()),
    ];
    let sep = prop_oneof![Just("="), Just(" = "), Just(": "), Just(":"), Just("\n=")];
    prop_oneof![
        6 => (prop_oneof![Just(""), Just("export "), Just("  ")], key, sep, value)
            .prop_map(|(e, k, s, v)| format!("{e}{k}{s}{v}")),
        1 => "# [A-Za-z0-9 =]{0,12}",
        1 => Just(String::new()),
    ]
}

fn dotenv_file() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        proptest::collection::vec(dotenv_line(), 0..8),
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        any::<bool>(),
    )
        .prop_map(|(bom, lines, eol, last_eol)| {
            let mut text = if bom {
                "\u{feff}".to_owned()
            } else {
                String::new()
            };
            text.push_str(&lines.join(eol));
            if last_eol {
                text.push_str(eol);
            }
            text.into_bytes()
        })
}

proptest! {
    #![proptest_config(config(1024))]

    /// wrangler's dotenv, as ported, reads any bytes without panicking.
    #[test]
    fn dotenv_parse_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = dotenv::parse(&bytes);
        let _ = dotenv::assignments(&bytes);
    }

    /// The copy wrangler is given leaves it no credential: read as wrangler reads it (parse,
    /// then load with expansion against an environment without credentials), every credential
    /// variable is empty, which wrangler treats as absent.
    #[test]
    fn copies_leave_wrangler_no_credential(file in dotenv_file()) {
        let copy = neutralize(&file);
        // No credential the file assigns is written into the copy as one (text inside another
        // variable's multi-line value stays that variable's).
        let assigned: Vec<String> = dotenv::assignments(&file)
            .into_iter()
            .filter(|a| CREDENTIAL_VARS.contains(&a.key.as_str()) && !a.value.is_empty())
            .map(|a| a.value)
            .collect();
        prop_assert!(
            dotenv::assignments(&copy)
                .iter()
                .all(|a| !CREDENTIAL_VARS.contains(&a.key.as_str()) || !assigned.contains(&a.value)),
            "{}",
            String::from_utf8_lossy(&copy)
        );
        let vars = dotenv::parse(&copy);
        for var in CREDENTIAL_VARS {
            prop_assert_eq!(vars.get(var), Some(""), "{} in {:?}", var, String::from_utf8_lossy(&copy));
        }
        if let Ok(loaded) = dotenv::load(&[vars], |_| None) {
            for var in CREDENTIAL_VARS {
                prop_assert_eq!(loaded.get(var).unwrap_or(""), "", "{} expanded", var);
            }
        }
    }

    /// Every other variable reaches wrangler as written when the file's lines are one-line
    /// assignments (a removed line cannot close or open a quote then).
    #[test]
    fn copies_keep_every_other_variable(
        lines in proptest::collection::vec(
            (
                prop_oneof![
                    proptest::sample::select(CREDENTIAL_VARS.to_vec()).prop_map(str::to_owned),
                    "[A-Z][A-Z0-9_]{0,8}",
                ],
                prop_oneof!["[A-Za-z0-9_]{0,12}", "\"[A-Za-z0-9 #']{0,12}\"", "'[A-Za-z0-9 #]{0,12}'"],
            ),
            0..10,
        ),
        eol in prop_oneof![Just("\n"), Just("\r\n")],
    ) {
        let file = lines.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(eol);
        let before = dotenv::parse(file.as_bytes());
        let copy = neutralize(file.as_bytes());
        // No credential is written into the copy on disk, not even one wrangler would override.
        prop_assert!(
            dotenv::assignments(&copy).iter().all(|a| !CREDENTIAL_VARS.contains(&a.key.as_str()) || a.value.is_empty()),
            "{}",
            String::from_utf8_lossy(&copy)
        );
        let after = dotenv::parse(&copy);
        for (k, v) in before.iter().filter(|(k, _)| !CREDENTIAL_VARS.contains(k)) {
            prop_assert_eq!(after.get(k), Some(v), "{}", k);
        }
        for (k, _) in after.iter().filter(|(k, _)| !CREDENTIAL_VARS.contains(k)) {
            prop_assert!(before.get(k).is_some(), "{} appeared", k);
        }
    }
}

/// Characters that print nothing or reorder what follows (fd's set), besides control characters.
fn hidden(ch: char) -> bool {
    ch.is_control()
        || matches!(ch,
            '\u{ad}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}')
}

/// Text mixing ordinary words with the characters that could hide or reorder them.
fn shifty_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => "[a-z ./-]{1,6}",
            1 => proptest::sample::select(vec![
                "\u{1b}[2K", "\r", "\u{8}", "\u{0}", "\u{7f}", "\u{ad}", "\u{200b}", "\u{202e}",
                "\u{2066}", "\u{feff}", "\u{e0041}", "\u{85}", "\n", "\t",
            ])
            .prop_map(str::to_owned),
            1 => "\\PC{1,3}",
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config(512))]

    /// Whatever a user wrote, what we show of it has no character that hides or reorders text,
    /// and ordinary text is shown as written.
    #[test]
    fn shown_text_hides_nothing(text in shifty_text()) {
        let escaped = safe_wrangler::display::escape(&text);
        prop_assert!(!escaped.chars().any(hidden), "{:?} -> {:?}", text, escaped);
        let shown = safe_wrangler::display::shown(&text);
        prop_assert!(!shown.chars().any(hidden), "{:?} -> {:?}", text, shown);
        if !text.chars().any(hidden) && !text.contains('\\') {
            prop_assert_eq!(escaped, text);
        }
    }
}
