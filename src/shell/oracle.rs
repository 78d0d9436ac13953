//! Property tests of the shell reader, and a differential oracle: `bash -n` (bash's own parser,
//! run without executing anything) on generated command lines. Test-only; proptest runs with a
//! fixed seed, a bounded number of cases and no regression files.

use std::process::{Command, Stdio};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

use super::{Finding, MAX_DEPTH, find_wrangler, mentions, read};

/// A deterministic runner: fixed seed, `cases` cases, nothing written to disk.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5afe_3a9e),
        max_shrink_iters: 256,
        ..Config::default()
    })
}

/// Whether bash's parser accepts `text` (`bash -n -c TEXT`: parse, run nothing). `None` when
/// bash cannot be run here.
fn bash_accepts(text: &str) -> Option<bool> {
    let status = Command::new("bash")
        .args(["--norc", "--noprofile", "-n", "-c", text])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_clear()
        .status()
        .ok()?;
    // 0: parsed; 2: a syntax error; anything else (a signal, no bash): no answer.
    match status.code() {
        Some(0) => Some(true),
        Some(2) => Some(false),
        _ => None,
    }
}

/// What bash says of `text`, for a failure message.
fn bash_says(text: &str) -> String {
    Command::new("bash")
        .args(["--norc", "--noprofile", "-n", "-c", text])
        .env_clear()
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .unwrap_or_default()
}

const WORDS: &[&str] = &[
    "x",
    "deploy",
    "--env",
    "staging",
    "'a b'",
    "\"q $x\"",
    "\"$(echo hi)\"",
    "`echo hi`",
    "$HOME",
    "wr''angler",
    "\\;",
    "a=b",
    "fi",
    "done",
    "{",
    "}",
    "#c",
    "-c",
    "'wrangler deploy'",
];

const COMMANDS: &[&str] = &[
    "wrangler deploy",
    "wrangler whoami",
    "npx wrangler tail",
    "'wrangler' types",
    "echo",
    "ls",
    "cd app",
    "true",
    "export A=1",
    "bash -c 'wrangler deploy'",
    "pnpm exec wrangler dev",
    "cat",
];

/// Tokens that break (or may break) the grammar when dropped anywhere.
const BREAKERS: &[&str] = &[
    ")", "(", "}", "{ ", "fi", "then ", "'", "\"", ";;", "&&", "|", "done", "esac", "`", "$(",
    "<<<", ";", "\n", " ", "if ", "do ", "#", "\\",
];

fn simple() -> impl Strategy<Value = String> {
    (
        prop::sample::select(COMMANDS),
        prop::collection::vec(prop::sample::select(WORDS), 0..3),
    )
        .prop_map(|(cmd, words)| {
            let mut s = cmd.to_owned();
            for w in words {
                s.push(' ');
                s.push_str(w);
            }
            s
        })
}

/// A well-formed command line of bounded depth, from the constructs the reader understands.
fn line() -> impl Strategy<Value = String> {
    simple().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(&[" ; ", " && ", " || ", " | ", " & ", "\n"][..]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a}{op}{b}")),
            inner.clone().prop_map(|a| format!("( {a} )")),
            inner.clone().prop_map(|a| format!("{{ {a}; }}")),
            inner.clone().prop_map(|a| format!("echo \"$( {a} )\"")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("if {a}; then {b}; fi")),
            inner
                .clone()
                .prop_map(|a| format!("for v in a b; do {a}; done")),
            inner
                .clone()
                .prop_map(|a| format!("while false; do {a}; done")),
            inner
                .clone()
                .prop_map(|a| format!("case x in x) {a} ;; *) true ;; esac")),
            inner.clone().prop_map(|a| format!("{a} <<< word")),
            inner.clone().prop_map(|a| format!("{a} # comment )")),
            inner.clone().prop_map(|a| format!("{a} 2>/dev/null")),
            inner.clone().prop_map(|a| format!("! {a}")),
            inner.clone().prop_map(|a| format!("time {a}")),
            inner.clone().prop_map(|a| format!("f() {{ {a}; }}")),
            inner
                .clone()
                .prop_map(|a| format!("[[ -n $(  {a} ) ]] && (( 1 + 2 ))")),
            inner
                .clone()
                .prop_map(|a| format!("cat <<EOF\n$( {a} )\nEOF\ntrue")),
            inner.clone().prop_map(|a| format!("echo $'\\x41' && {a}")),
        ]
    })
}

/// A generated line, with up to two tokens dropped in at some bytes (which may break it).
fn maybe_broken() -> impl Strategy<Value = String> {
    (
        line(),
        prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(BREAKERS)),
            0..3,
        ),
    )
        .prop_map(|(mut text, breaks)| {
            for (at, token) in breaks {
                let at = at.index(text.len() + 1);
                text.insert_str(at, token);
            }
            text
        })
}

/// Whether a reason is the reader failing to parse (as opposed to a fact known only at run time,
/// such as `--env $E`, which is uncertain on purpose).
fn syntax(reason: &str) -> bool {
    [
        "does not match",
        "is missing",
        "not closed",
        "unfinished",
        "unexpected",
        "malformed",
        "is outside",
        "has no",
        "nests more",
        "follows a",
        "holds a",
    ]
    .iter()
    .any(|p| reason.contains(p))
}

fn unparsed(findings: &[Finding]) -> bool {
    findings
        .iter()
        .any(|f| matches!(f, Finding::Uncertain { reason } if syntax(reason)))
}

fn uncertain(findings: &[Finding]) -> bool {
    findings
        .iter()
        .any(|f| matches!(f, Finding::Uncertain { .. }))
}

/// bash's parser against ours: where bash finds a syntax error in a line that mentions wrangler,
/// ours is uncertain (the hook denies it), never a clean list of calls; where bash accepts a line
/// built from what ours understands, ours parses it (it may still be uncertain of what runs, such
/// as an argument from an expansion).
#[test]
fn bash_n_agrees_with_the_reader() {
    // bash is part of every machine the tests run on (scripts/test.sh is a bash script): a
    // missing one is a failure, never a silent pass.
    assert_eq!(
        bash_accepts("true"),
        Some(true),
        "bash -n must run for the oracle"
    );
    let checked = std::cell::Cell::new([0_u32; 2]);
    runner(512)
        .run(&maybe_broken(), |text| {
            let Some(ok) = bash_accepts(&text) else {
                return Ok(());
            };
            let found = find_wrangler(&text);
            // `bash -n` does not parse the text expanded or run later (`bash -c '...'`,
            // backquotes, here-document bodies) nor check `[[ ... ]]` whole (bash 5.2 accepts
            // `[[ -n x ])]` with -n and fails it when run); the reader does, and is unsure of a
            // broken one. `$((` is arithmetic or a subshell by bash's own guess, which the reader
            // does not repeat (it is unsure). Only text without these is compared that way.
            let nested = ["bash ", "`", "<<", "[[", "$(("]
                .iter()
                .any(|t| text.contains(t));
            if ok {
                if !nested {
                    let [a, b] = checked.get();
                    checked.set([a + 1, b]);
                    prop_assert!(
                        !unparsed(&found),
                        "bash accepts {text:?}, the reader cannot parse it: {found:?}"
                    );
                }
            } else if mentions(text.as_bytes()) {
                let [a, b] = checked.get();
                checked.set([a, b + 1]);
                prop_assert!(
                    uncertain(&found),
                    "bash rejects {text:?} ({}), the reader is sure: {found:?}",
                    bash_says(&text)
                );
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // Both sides of the oracle were exercised.
    let [accepted, rejected] = checked.get();
    assert!(accepted > 50 && rejected > 10, "{accepted} {rejected}");
}

/// Text from the reader's own alphabet, or any text at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(super::tests::ALPHABET), 0..60)
            .prop_map(|t| t.concat()),
        any::<String>(),
        maybe_broken(),
    ]
}

#[test]
fn the_reader_never_panics_and_a_leading_call_is_never_clean() {
    runner(2000)
        .run(&text(), |text| {
            let reading = read(&text);
            if !mentions(text.as_bytes()) && !text.contains("$'") {
                prop_assert!(
                    reading
                        .findings
                        .iter()
                        .all(|f| matches!(f, Finding::Wrangler(_))),
                    "{text:?}: {:?}",
                    reading.findings
                );
            }
            for before in [
                "wrangler deploy ",
                "wrangler whoami; ",
                "npx wrangler deploy\n",
            ] {
                let line = format!("{before}{text}");
                prop_assert!(!find_wrangler(&line).is_empty(), "{line:?}");
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Nesting far deeper than [`MAX_DEPTH`] (2,000 levels of every construct that nests) is a clean
/// "uncertain", on a thread with a small stack: the reader's recursion is bounded, so the hook
/// never aborts on a stack overflow.
#[test]
fn deep_nesting_is_uncertain_on_a_small_stack() {
    const N: usize = 2000;
    let cases: Vec<String> = [
        ("(", ")"),
        ("( ", " )"),
        ("{ ", "; }"),
        ("echo $(", ")"),
        ("echo \"$(", ")\""),
        ("if true; then ", "; fi"),
        ("while true; do ", "; done"),
        ("echo ${a:-", "}"),
        ("cat <(", ")"),
        ("echo $((", "))"),
    ]
    .iter()
    .map(|(open, close)| format!("{}wrangler deploy{}", open.repeat(N), close.repeat(N)))
    .collect();
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            for text in &cases {
                let found = find_wrangler(text);
                assert!(
                    uncertain(&found),
                    "{}: {found:?}",
                    &text[..40.min(text.len())]
                );
            }
            // A little nesting is read.
            let shallow = format!(
                "{}wrangler deploy{}",
                "( ".repeat(MAX_DEPTH - 1),
                " )".repeat(MAX_DEPTH - 1)
            );
            assert!(!uncertain(&find_wrangler(&shallow)), "{shallow}");
        })
        .unwrap();
    worker.join().unwrap();
}
