//! The decision corpus in `tests/cases/*.cases`, run through the built binary's
//! `explain --json` in a sandbox with no terminal (format in `tests/cases/ordinary.cases`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::Sandbox;

pub struct Case {
    pub file: String,
    pub line_no: usize,
    pub line: String,
    pub class: String,
    pub expect: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
    pub argv: Vec<String>,
}

pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

pub fn parse_cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cases"))
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (i, line) in fs::read_to_string(&file).unwrap().lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (head, argv) = line
                .split_once(" :: ")
                .unwrap_or_else(|| panic!("{name}:{}: no ` :: `", i + 1));
            let mut words = head.split_whitespace();
            let class = words.next().unwrap().to_owned();
            let (mut expect, mut env) = (Vec::new(), Vec::new());
            for w in words {
                let (k, v) = w.split_once('=').unwrap_or((w, ""));
                if k.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    env.push((k.to_owned(), v.to_owned()));
                } else {
                    expect.push((k.to_owned(), v.to_owned()));
                }
            }
            let mut argv =
                shell_words::split(argv).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            // `""` alone stands for no arguments at all.
            if argv == [""] {
                argv.clear();
            }
            out.push(Case {
                file: name.clone(),
                line_no: i + 1,
                line: line.to_owned(),
                class,
                expect,
                env,
                argv,
            });
        }
    }
    out
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
#[allow(clippy::too_many_lines)]
fn decision_corpus() {
    let cases = parse_cases();
    assert!(
        cases.len() > 100,
        "the corpus went missing: {} cases",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut rules_seen = std::collections::BTreeSet::new();
    let mut suggestions = 0;
    for case in &cases {
        let s = Sandbox::new();
        let mut dir = s.project();
        for (k, v) in &case.expect {
            match k.as_str() {
                "project" => copy_dir(&cases_dir().join("projects").join(v), &s.project()),
                "cwd" => dir = s.project().join(v),
                _ => {}
            }
        }
        fs::create_dir_all(&dir).unwrap();
        let mut run = s.safe(&["explain", "--json", "--"]).cwd(&dir);
        for a in &case.argv {
            run = run.arg(a);
        }
        for (k, v) in &case.env {
            run = run.env(k, v);
        }
        let out = run.output();
        let at = format!("{}:{}: {}", case.file, case.line_no, case.line);
        if out.code() != Some(0) {
            failures.push(format!("{at}\n    exit {:?}: {}", out.code(), out.stderr()));
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
        rules_seen.insert(v["rule"].as_str().unwrap_or_default().to_owned());
        let mut wrong = Vec::new();
        if v["class"] != case.class.as_str() {
            wrong.push(format!("class {} (expected {})", v["class"], case.class));
        }
        let production = ["production", "migration", "dns"].contains(&case.class.as_str());
        if v["production"] != production {
            wrong.push(format!("production {}", v["production"]));
        }
        for (k, want) in &case.expect {
            if k == "why" {
                if !v["why"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(want.as_str())
                {
                    wrong.push(format!("why does not name {want:?}"));
                }
                continue;
            }
            let field = match k.as_str() {
                "env" => "environment",
                "rule" => "rule",
                "decision" => "decision",
                _ => continue,
            };
            if v[field] != want.as_str() {
                wrong.push(format!("{field} {} (expected {want:?})", v[field]));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!("{at}\n    {}\n    {}", wrong.join("; "), v["why"]));
        }
        assert!(s.wrangler_argv().is_none(), "{at}: explain ran wrangler");
        // Every `instead:` suggestion is itself a call that runs, in the same place and context.
        for suggestion in v["instead"].as_array().into_iter().flatten() {
            suggestions += 1;
            let mut run = s.safe(&["explain", "--json", "--"]).cwd(&dir);
            for a in suggestion.as_array().unwrap() {
                run = run.arg(a.as_str().unwrap());
            }
            for (k, val) in &case.env {
                run = run.env(k, val);
            }
            let out = run.output();
            let got: serde_json::Value =
                serde_json::from_str(out.stdout().trim()).unwrap_or_default();
            if got["decision"] != "run" {
                failures.push(format!(
                    "{at}\n    suggestion {suggestion} is {} ({}): {}",
                    got["decision"], got["class"], got["why"]
                ));
            }
        }
    }
    // Every classifier rule is exercised by at least one case.
    let missing: Vec<String> = safe_wrangler::classify::Rule::FIXED
        .iter()
        .map(|r| r.id())
        .filter(|id| !rules_seen.contains(id))
        .collect();
    assert!(missing.is_empty(), "rules with no corpus case: {missing:?}");
    assert!(
        suggestions > 20,
        "only {suggestions} instead: suggestions in the corpus"
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
