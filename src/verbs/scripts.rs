//! `safe-wrangler scripts [--write]`: the brokered package.json scripts, each calling
//! safe-wrangler, so that `npm run cf:...` is guarded like a call from the shell.
//!
//! `--write` adds the missing ones to the nearest package.json through the one JSON editor
//! ([`crate::edge::jsonc`], strict JSON as npm reads it): the new scripts are inserted after the
//! last one in the file's style, and the rest of the file (indentation, key order, line endings,
//! a byte-order mark, a final newline or its absence) stays byte for byte as it was. An existing
//! script of the same name is never changed, only reported.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::edge::jsonc::{self, Dialect, Document, EditError};
use crate::{World, display, exit};

/// The D1 binding used when the wrangler config names none.
pub const DEFAULT_D1_BINDING: &str = "DB";

/// The brokered scripts, in the order they are added: name and command.
#[must_use]
pub fn recommended(d1_binding: Option<&str>) -> Vec<(&'static str, String)> {
    let db = d1_binding.unwrap_or(DEFAULT_D1_BINDING);
    vec![
        ("cf:whoami", "safe-wrangler whoami".to_owned()),
        ("cf:types", "safe-wrangler types".to_owned()),
        (
            "cf:d1:local",
            format!("safe-wrangler d1 migrations apply {db} --local"),
        ),
        (
            "cf:deploy:preview",
            "safe-wrangler versions upload".to_owned(),
        ),
    ]
}

/// The brokered scripts for this project: `cf:d1:local` only when the config has a D1 binding, and
/// the preview upload on the project's first environment that is not a production one (in config
/// order), else at the top level (`versions upload` never moves traffic).
#[must_use]
pub fn for_project(
    config: Option<&Value>,
    production_environments: &[String],
) -> Vec<(&'static str, String)> {
    let d1 = config.and_then(d1_binding);
    let preview = config
        .and_then(|c| c.get("env"))
        .and_then(Value::as_object)
        .and_then(|envs| {
            envs.keys()
                .find(|e| !production_environments.contains(e) && is_shell_word(e))
        });
    recommended(d1)
        .into_iter()
        .filter(|(name, _)| *name != "cf:d1:local" || d1.is_some())
        .map(|(name, command)| match (name, preview) {
            ("cf:deploy:preview", Some(env)) => (name, format!("{command} --env {env}")),
            _ => (name, command),
        })
        .collect()
}

/// A word that needs no quoting in a shell command line.
fn is_shell_word(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with('-')
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The first D1 binding of the config's top level, when it is a plain identifier (it is put into
/// a shell command line).
#[must_use]
pub fn d1_binding(config: &Value) -> Option<&str> {
    let binding = config
        .get("d1_databases")?
        .as_array()?
        .first()?
        .get("binding")?
        .as_str()?;
    let mut bytes = binding.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    (first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')).then_some(binding)
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// What `--write` did with each recommended script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Added(&'static str),
    /// Already there with the same command.
    Present(&'static str),
    /// A script of that name exists with another command (or is not a string): left alone.
    Kept(&'static str),
}

/// Why package.json cannot be edited (exit 78).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPackage(pub String);

/// The new text of package.json with the missing `scripts` added, and what happened to each.
/// Pure: text in, text out.
///
/// # Errors
/// [`BadPackage`] when the text is not valid JSON, not an object, or `scripts` is not an object.
pub fn add_scripts(
    text: &str,
    scripts: &[(&'static str, String)],
) -> Result<(String, Vec<Outcome>), BadPackage> {
    let doc = Document::parse(text, Dialect::Json).map_err(|e| match e {
        EditError::Syntax(e) => BadPackage(format!("not valid JSON: {e}")),
        EditError::Layout => BadPackage(e.to_string()),
    })?;
    let Value::Object(map) = doc.value() else {
        return Err(BadPackage("the top level is not a JSON object".to_owned()));
    };
    let existing = match map.get("scripts") {
        None => None,
        Some(Value::Object(s)) => Some(s),
        Some(_) => return Err(BadPackage("\"scripts\" is not a JSON object".to_owned())),
    };
    let mut outcomes = Vec::new();
    let mut missing = serde_json::Map::new();
    for (name, command) in scripts {
        match existing.and_then(|s| s.get(*name)) {
            None => {
                outcomes.push(Outcome::Added(name));
                missing.insert((*name).to_owned(), Value::String(command.clone()));
            }
            Some(Value::String(c)) if c == command => outcomes.push(Outcome::Present(name)),
            Some(_) => outcomes.push(Outcome::Kept(name)),
        }
    }
    if missing.is_empty() {
        return Ok((text.to_owned(), outcomes));
    }
    let mut new = map.clone();
    let Value::Object(all) = new
        .entry("scripts")
        .or_insert_with(|| Value::Object(serde_json::Map::new()))
    else {
        return Err(BadPackage(EditError::Layout.to_string()));
    };
    all.extend(missing);
    let out = doc
        .edited(&Value::Object(new))
        .map_err(|e| BadPackage(e.to_string()))?;
    Ok((out, outcomes))
}

/// The nearest package.json from `dir` upwards.
#[must_use]
pub fn find_package(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("package.json"))
        .find(|p| p.is_file())
}

/// Runs the verb.
#[must_use]
pub fn run(world: &World, write: bool) -> u8 {
    let say = |line: &str| eprintln!("safe-wrangler: {}", display::escape(line));
    let config = crate::edge::files::locate_config(&world.cwd, None, false)
        .map(|p| crate::edge::files::load_config(&p));
    let production =
        crate::edge::policy_files::load(&world.cwd, &crate::user_policy_paths(&world.env))
            .map_or_else(
                |_| crate::classify::Targets::default().production_environments,
                |p| p.targets.production_environments,
            );
    let value = match &config {
        Some(Ok(cfg)) => Some(&*cfg.value),
        _ => None,
    };
    let scripts = for_project(value, &production);
    if !write {
        println!(
            "Brokered scripts for package.json \"scripts\" (each calls safe-wrangler; `safe-wrangler scripts --write` adds them):"
        );
        for (i, (name, command)) in scripts.iter().enumerate() {
            let comma = if i + 1 < scripts.len() { "," } else { "" };
            let line = format!("  {}: {}{comma}", quoted(name), quoted(command));
            println!("{}", display::escape(&line));
        }
        return 0;
    }
    let Some(path) = find_package(&world.cwd) else {
        say(
            "no package.json here or in a parent directory: create one (npm init -y), then run `safe-wrangler scripts --write` again",
        );
        return 1;
    };
    let shown = path.display().to_string();
    let text = match fs::read(&path).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(_)) => {
            say(&format!("{shown}: not valid JSON: not UTF-8"));
            return exit::CONFIG;
        }
        Err(e) => {
            say(&format!("cannot read {shown}: {e}"));
            return 1;
        }
    };
    let (new_text, outcomes) = match add_scripts(&text, &scripts) {
        Ok(r) => r,
        Err(BadPackage(why)) => {
            say(&format!("{shown}: {why}"));
            return exit::CONFIG;
        }
    };
    if new_text != text
        && let Err(e) = jsonc::write(&path, &new_text)
    {
        say(&format!("cannot write {shown}: {e}"));
        return 1;
    }
    for outcome in &outcomes {
        let line = match outcome {
            Outcome::Added(name) => format!("added    {name}"),
            Outcome::Present(name) => format!("present  {name}"),
            Outcome::Kept(name) => format!(
                "kept     {name}: {shown} already has a script of that name with another command; not changed"
            ),
        };
        println!("{}", display::escape(&line));
    }
    // Existing scripts that call wrangler directly: offer the safe-wrangler spelling (never
    // rewritten without the user: a script is theirs).
    let existing: Value = serde_json::from_str(&new_text).unwrap_or_default();
    for (name, command) in existing
        .get("scripts")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let Some(command) = command.as_str() else {
            continue;
        };
        if !crate::doctor::calls_wrangler(command) {
            continue;
        }
        let line = format!(
            "offer    {name}: calls wrangler directly; point it at safe-wrangler ({}), or run `safe-wrangler protect`",
            quoted(&safe_spelling(command))
        );
        println!("{}", display::escape(&line));
    }
    0
}

/// A script's command with `wrangler` (and `npx wrangler`) spelled `safe-wrangler`, for the offer.
fn safe_spelling(command: &str) -> String {
    let words: Vec<&str> = command.split(' ').collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    for w in words {
        if w == "wrangler" {
            if out.last() == Some(&"npx") {
                out.pop();
            }
            out.push("safe-wrangler");
        } else {
            out.push(w);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scripts() -> Vec<(&'static str, String)> {
        recommended(None)
    }

    fn added(text: &str) -> String {
        add_scripts(text, &scripts()).unwrap().0
    }

    #[test]
    fn appends_after_the_last_script_in_its_style() {
        let text = "{\n\t\"name\": \"x\",\n\t\"scripts\": {\n\t\t\"build\": \"vite build\",\n\t\t\"dev\":\"vite\"\n\t},\n\t\"version\": \"1.0.0\"\n}";
        let out = added(text);
        let expected = "{\n\t\"name\": \"x\",\n\t\"scripts\": {\n\t\t\"build\": \"vite build\",\n\t\t\"dev\":\"vite\",\n\t\t\"cf:whoami\":\"safe-wrangler whoami\",\n\t\t\"cf:types\":\"safe-wrangler types\",\n\t\t\"cf:d1:local\":\"safe-wrangler d1 migrations apply DB --local\",\n\t\t\"cf:deploy:preview\":\"safe-wrangler versions upload\"\n\t},\n\t\"version\": \"1.0.0\"\n}";
        assert_eq!(out, expected);
        // Idempotent.
        let (again, outcomes) = add_scripts(&out, &scripts()).unwrap();
        assert_eq!(again, out);
        assert!(outcomes.iter().all(|o| matches!(o, Outcome::Present(_))));
    }

    #[test]
    fn creates_scripts_when_absent() {
        let text = "{\r\n    \"version\": \"1.0.0\",\r\n    \"name\": \"x\"\r\n}\r\n";
        let out = added(text);
        assert!(out.starts_with("{\r\n    \"version\": \"1.0.0\",\r\n    \"name\": \"x\",\r\n    \"scripts\": {\r\n        \"cf:whoami\": \"safe-wrangler whoami\",\r\n"));
        assert!(out.ends_with("\"safe-wrangler versions upload\"\r\n    }\r\n}\r\n"));
        assert_eq!(
            added("{}"),
            "{\"scripts\": {\"cf:whoami\": \"safe-wrangler whoami\", \"cf:types\": \"safe-wrangler types\", \"cf:d1:local\": \"safe-wrangler d1 migrations apply DB --local\", \"cf:deploy:preview\": \"safe-wrangler versions upload\"}}"
        );
        let out = added("{\n}\n");
        assert!(
            out.starts_with("{\n  \"scripts\": {\n    \"cf:whoami\""),
            "{out}"
        );
        assert!(out.ends_with("upload\"\n  }\n}\n"), "{out}");
    }

    #[test]
    fn fills_an_empty_scripts_object() {
        let text = "{\n  \"name\": \"x\",\n  \"scripts\": {},\n  \"private\": true\n}\n";
        let out = added(text);
        assert!(out.starts_with("{\n  \"name\": \"x\",\n  \"scripts\": {\n    \"cf:whoami\": \"safe-wrangler whoami\",\n"), "{out}");
        assert!(
            out.ends_with("upload\"\n  },\n  \"private\": true\n}\n"),
            "{out}"
        );
        let one = added("{\"scripts\":{ }}");
        assert!(
            one.starts_with("{\"scripts\":{\"cf:whoami\":\"safe-wrangler whoami\", "),
            "{one}"
        );
    }

    #[test]
    fn a_single_existing_script_sets_the_style() {
        let text = "{\"scripts\": {\"dev\": \"vite\"}}";
        assert!(added(text).starts_with("{\"scripts\": {\"dev\": \"vite\", \"cf:whoami\": "));
        assert!(
            added("{\"scripts\":{\"dev\":\"vite\"}}")
                .starts_with("{\"scripts\":{\"dev\":\"vite\",\"cf:whoami\":")
        );
        let text = "{\n  \"scripts\": {\n      \"dev\": \"vite\"\n  }\n}";
        assert!(added(text).contains(
            "\"dev\": \"vite\",\n      \"cf:whoami\": \"safe-wrangler whoami\",\n      \"cf:types\""
        ));
    }

    #[test]
    fn never_overwrites() {
        let text = "{\"scripts\": {\"cf:whoami\": \"wrangler whoami\", \"cf:types\": 3}}";
        let (out, outcomes) = add_scripts(text, &scripts()).unwrap();
        assert!(out.starts_with(
            "{\"scripts\": {\"cf:whoami\": \"wrangler whoami\", \"cf:types\": 3, \"cf:d1:local\""
        ));
        assert_eq!(
            outcomes,
            [
                Outcome::Kept("cf:whoami"),
                Outcome::Kept("cf:types"),
                Outcome::Added("cf:d1:local"),
                Outcome::Added("cf:deploy:preview")
            ]
        );
    }

    #[test]
    fn tricky_values_are_skipped_correctly() {
        let text = "\u{feff}{\"a\": \"}\\\"{\", \"b\": [1, {\"c\": [ ]}, \"]\"], \"n\": -1.5e3, \"scripts\": {\"x\": \"y\"}, \"t\": true}";
        let out = added(text);
        assert!(out.starts_with("\u{feff}{\"a\": \"}\\\"{\", \"b\": [1, {\"c\": [ ]}, \"]\"], \"n\": -1.5e3, \"scripts\": {\"x\": \"y\", \"cf:whoami\""));
        assert!(out.ends_with("\"safe-wrangler versions upload\"}, \"t\": true}"));
    }

    #[test]
    fn rejects_what_is_not_a_package() {
        for bad in ["{", "[]", "{\"scripts\": []}", "{\"a\": 1,}", "// c\n{}"] {
            assert!(add_scripts(bad, &scripts()).is_err(), "{bad}");
        }
    }

    #[test]
    fn scripts_follow_the_config() {
        let prod = crate::classify::Targets::default().production_environments;
        let names = |v: Option<&Value>| -> Vec<String> {
            for_project(v, &prod)
                .into_iter()
                .map(|(n, c)| format!("{n}={c}"))
                .collect()
        };
        assert_eq!(
            names(None),
            [
                "cf:whoami=safe-wrangler whoami",
                "cf:types=safe-wrangler types",
                "cf:deploy:preview=safe-wrangler versions upload"
            ]
        );
        let v = serde_json::json!({"d1_databases": [{"binding": "DB2"}], "env": {"production": {}, "qa": {}, "staging": {}}});
        assert_eq!(
            names(Some(&v)),
            [
                "cf:whoami=safe-wrangler whoami",
                "cf:types=safe-wrangler types",
                "cf:d1:local=safe-wrangler d1 migrations apply DB2 --local",
                "cf:deploy:preview=safe-wrangler versions upload --env qa"
            ]
        );
        let odd = serde_json::json!({"env": {"a b": {}}});
        assert!(names(Some(&odd))[2].ends_with("versions upload"));
    }

    #[test]
    fn d1_binding_from_config() {
        let v = serde_json::json!({"d1_databases": [{"binding": "MAIN_DB"}, {"binding": "B"}]});
        assert_eq!(d1_binding(&v), Some("MAIN_DB"));
        assert_eq!(
            recommended(d1_binding(&v))[2].1,
            "safe-wrangler d1 migrations apply MAIN_DB --local"
        );
        let odd = serde_json::json!({"d1_databases": [{"binding": "x; rm -rf /"}]});
        assert_eq!(d1_binding(&odd), None);
        assert_eq!(d1_binding(&serde_json::json!({})), None);
    }
}
