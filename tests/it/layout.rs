//! The layout holds (issue 10): `core/` decides without touching the world. Its non-test code
//! names no file-system, process or Unix call and no edge or verb module.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_touches_no_files_processes_or_unix_calls() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/core"), &mut files);
    assert!(files.len() > 5, "src/core went missing");
    let forbidden = [
        "std::fs",
        "std::process",
        "nix::",
        "read_regular",
        "read_text",
        "canonicalize",
        ".is_file()",
        ".is_dir()",
        ".exists()",
        "crate::edge",
        "crate::verbs",
        "crate::cli",
        "crate::audit",
        "crate::confirm",
        "crate::exec",
        "crate::resolve",
        "crate::doctor",
        "crate::hook",
        "crate::protect",
        "crate::scripts",
        "crate::shell",
    ];
    let mut found = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        // Unit tests may build fixtures on disk.
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for word in forbidden {
                if line.contains(word) {
                    found.push(format!("{}:{}: {word}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "core/ touches the world:\n{}",
        found.join("\n")
    );
}
