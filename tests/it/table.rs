//! The command table and safe-wrangler's own verbs against `../shared/wrangler/commands.json`
//! (wrangler's own command registry).

use std::collections::BTreeSet;
use std::path::Path;

fn commands_json() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wrangler/commands.json");
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
