//! The command table and safe-wrangler's own verbs against `../shared/wrangler/commands.json`
//! (wrangler's own command registry).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared wrangler facts: `../shared/wrangler` next to the repository, or
/// `$SAFE_WRANGLER_SHARED` (a checkout elsewhere, such as a git worktree).
fn shared() -> PathBuf {
    std::env::var_os("SAFE_WRANGLER_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wrangler"),
        PathBuf::from,
    )
}

fn commands_json() -> serde_json::Value {
    let p = shared().join("commands.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn joined(v: &serde_json::Value) -> String {
    v.as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_table_has_exactly_wranglers_commands() {
    let json = commands_json();
    let theirs: BTreeSet<String> = json["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| joined(&c["path"]))
        .collect();
    let ours: BTreeSet<String> = safe_wrangler::wrangler::COMMANDS
        .iter()
        .map(|c| c.path.to_owned())
        .collect();
    assert_eq!(
        theirs.difference(&ours).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "missing from our table"
    );
    assert_eq!(
        ours.difference(&theirs).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "not in wrangler"
    );
    assert_eq!(
        json["wrangler_version"],
        safe_wrangler::wrangler::WRANGLER_VERSION
    );
}

#[test]
fn own_verbs_shadow_no_wrangler_command() {
    let json = commands_json();
    let mut top: BTreeSet<String> = BTreeSet::new();
    for key in ["commands", "namespaces", "alias_commands"] {
        for c in json[key].as_array().unwrap() {
            top.insert(c["path"][0].as_str().unwrap().to_owned());
        }
    }
    assert!(top.contains("deploy"), "sanity: the list is wrangler's");
    for verb in safe_wrangler::cli::OWN_VERBS
        .iter()
        .chain(safe_wrangler::cli::PLANNED_VERBS)
    {
        assert!(
            !top.contains(*verb),
            "`{verb}` would shadow `wrangler {verb}`"
        );
    }
}

/// The committed table is exactly what `scripts/gen-table.py` writes from the shared facts (flags
/// and classes, not only command paths), formatted as `cargo fmt` leaves it.
#[test]
fn the_table_is_regenerated_whole() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(root.join("scripts/gen-table.py"))
        .env("SAFE_WRANGLER_SHARED", shared())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("table.rs");
    std::fs::write(&generated, &out.stdout).unwrap();
    let fmt = Command::new("rustfmt")
        .args(["--edition", "2024"])
        .arg(&generated)
        .status()
        .unwrap();
    assert!(fmt.success());
    let committed = std::fs::read_to_string(root.join("src/core/wrangler/table.rs")).unwrap();
    let generated = std::fs::read_to_string(&generated).unwrap();
    assert!(
        committed == generated,
        "src/core/wrangler/table.rs differs from what scripts/gen-table.py writes; regenerate it"
    );
}
