//! `safe-wrangler scripts [--write]`: the brokered package.json scripts, each calling
//! safe-wrangler, so that `npm run cf:...` is guarded like a call from the shell.
//!
//! `--write` adds the missing ones to the nearest package.json by inserting text: the rest of the
//! file (indentation, key order, line endings, a final newline or its absence) stays byte for
//! byte as it was. An existing script of the same name is never changed, only reported. The JSON
//! is validated with `serde_json` first; [`members`] then finds byte positions in text that is
//! known to be valid, and the result is parsed once more before it is written.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

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

/// One member of a JSON object: byte ranges in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Member {
    /// The key with its quotes.
    key: (usize, usize),
    /// The value.
    value: (usize, usize),
}

/// A JSON object: the positions of its braces and members.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

/// Positions in JSON text that `serde_json` has already accepted. Returns `None` rather than
/// panicking on anything unexpected.
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self
            .b
            .get(self.i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.i += 1;
        }
    }

    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.i;
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        loop {
            match self.b.get(self.i)? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some((start, self.i));
                }
                _ => self.i += 1,
            }
        }
    }

    fn value(&mut self) -> Option<(usize, usize)> {
        let start = self.i;
        match self.b.get(self.i)? {
            b'"' => {
                self.string()?;
            }
            b'{' => {
                self.object()?;
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        self.value()?;
                        self.ws();
                        match self.b.get(self.i)? {
                            b',' => {
                                self.i += 1;
                                self.ws();
                            }
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
            }
            _ => {
                while self.b.get(self.i).is_some_and(|c| {
                    !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                }) {
                    self.i += 1;
                }
            }
        }
        (self.i > start).then_some((start, self.i))
    }

    fn object(&mut self) -> Option<Object> {
        let open = self.i;
        if self.b.get(self.i) != Some(&b'{') {
            return None;
        }
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Some(Object {
                open,
                close: self.i - 1,
                members,
            });
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return None;
            }
            self.i += 1;
            self.ws();
            let value = self.value()?;
            members.push(Member { key, value });
            self.ws();
            match self.b.get(self.i)? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(Object {
                        open,
                        close: self.i - 1,
                        members,
                    });
                }
                _ => return None,
            }
        }
    }
}

/// The top-level object of `text` (after an optional byte-order mark and blanks).
fn members(text: &str) -> Option<Object> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
    };
    if text.starts_with('\u{feff}') {
        s.i = 3;
    }
    s.ws();
    s.object()
}

fn key_of(text: &str, m: &Member) -> Option<String> {
    serde_json::from_str(text.get(m.key.0..m.key.1)?).ok()
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// The blanks that start the line holding byte `at`, if only blanks precede it on that line.
fn indent_before(text: &str, at: usize) -> Option<&str> {
    let line_start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let lead = text.get(line_start..at)?;
    lead.bytes()
        .all(|b| b == b' ' || b == b'\t')
        .then_some(lead)
}

/// How new members are written: separator before each (with its comma), the text between key
/// and value, and for a new object the indentation inside it and before its closing brace.
struct Style {
    newline: &'static str,
    colon: String,
    unit: String,
}

impl Style {
    fn of(text: &str, top: &Object) -> Style {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let colon = top
            .members
            .first()
            .and_then(|m| text.get(m.key.1..m.value.0))
            .map_or_else(|| ": ".to_owned(), str::to_owned);
        let unit = top
            .members
            .first()
            .and_then(|m| indent_before(text, m.key.0))
            .filter(|u| !u.is_empty())
            .map_or_else(|| "  ".to_owned(), str::to_owned);
        Style {
            newline,
            colon,
            unit,
        }
    }
}

/// `entries` as the members of a new object whose `{` sits on a line indented by `outer`; on one
/// line when the file itself is on one line.
fn new_object(style: &Style, outer: Option<&str>, entries: &[(String, String)]) -> String {
    let pairs: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}{}{}", quoted(k), style.colon, quoted(v)))
        .collect();
    match outer {
        None => format!("{{{}}}", pairs.join(", ")),
        Some(outer) => {
            let inner = format!("{}{}{outer}{}", ",", style.newline, style.unit);
            format!(
                "{{{nl}{outer}{unit}{}{nl}{outer}}}",
                pairs.join(&inner),
                nl = style.newline,
                unit = style.unit
            )
        }
    }
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
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value =
        serde_json::from_str(body).map_err(|e| BadPackage(format!("not valid JSON: {e}")))?;
    let Value::Object(map) = &value else {
        return Err(BadPackage("the top level is not a JSON object".to_owned()));
    };
    let existing = match map.get("scripts") {
        None => None,
        Some(Value::Object(s)) => Some(s),
        Some(_) => return Err(BadPackage("\"scripts\" is not a JSON object".to_owned())),
    };
    let mut outcomes = Vec::new();
    let mut missing: Vec<(String, String)> = Vec::new();
    for (name, command) in scripts {
        match existing.and_then(|s| s.get(*name)) {
            None => {
                outcomes.push(Outcome::Added(name));
                missing.push(((*name).to_owned(), command.clone()));
            }
            Some(Value::String(c)) if c == command => outcomes.push(Outcome::Present(name)),
            Some(_) => outcomes.push(Outcome::Kept(name)),
        }
    }
    if missing.is_empty() {
        return Ok((text.to_owned(), outcomes));
    }
    let unexpected = || BadPackage("its layout could not be read (please report this)".to_owned());
    let top = members(text).ok_or_else(unexpected)?;
    let style = Style::of(text, &top);
    let one_line = !text
        .get(top.open..=top.close)
        .ok_or_else(unexpected)?
        .contains('\n');
    // The last `scripts` member is the one JSON parsers keep.
    let scripts_member = top
        .members
        .iter()
        .rev()
        .find(|m| key_of(text, m).as_deref() == Some("scripts"));
    let placement = if let Some(m) = scripts_member {
        let mut s = Scanner {
            b: text.as_bytes(),
            i: m.value.0,
        };
        s.object()
            .and_then(|obj| insertion(text, &obj, m, &style, one_line, &missing))
    } else {
        new_member(text, &top, &style, one_line, &missing)
    };
    let (at, insert, replace_to) = placement.ok_or_else(unexpected)?;
    let mut out = String::with_capacity(text.len() + insert.len());
    out.push_str(text.get(..at).ok_or_else(unexpected)?);
    out.push_str(&insert);
    out.push_str(text.get(replace_to..).ok_or_else(unexpected)?);
    // Parse the result once more: it must be valid and hold every script.
    let check: Value = serde_json::from_str(out.strip_prefix('\u{feff}').unwrap_or(&out))
        .map_err(|_| unexpected())?;
    let all_there = scripts
        .iter()
        .all(|(name, _)| check.get("scripts").and_then(|s| s.get(*name)).is_some());
    if !all_there {
        return Err(unexpected());
    }
    Ok((out, outcomes))
}

/// Where and what to insert for a new `"scripts"` member at the end of the top-level object:
/// `(at, text, resume_at)`, as in [`insertion`].
fn new_member(
    text: &str,
    top: &Object,
    style: &Style,
    one_line: bool,
    missing: &[(String, String)],
) -> Option<(usize, String, usize)> {
    let outer = if one_line {
        None
    } else {
        Some(
            top.members
                .last()
                .and_then(|m| indent_before(text, m.key.0))
                .unwrap_or(&style.unit),
        )
    };
    let object = new_object(style, outer, missing);
    let member = format!("{}{}{object}", quoted("scripts"), style.colon);
    Some(match top.members.last() {
        Some(last) => {
            let sep = separator(text, top)?;
            (last.value.1, format!("{sep}{member}"), last.value.1)
        }
        None if one_line => (top.open + 1, member, top.close),
        None => (
            top.open + 1,
            format!(
                "{nl}{unit}{member}{nl}",
                nl = style.newline,
                unit = style.unit
            ),
            top.close,
        ),
    })
}

/// The separator between an object's members, comma included (`,\n\t\t`, `, `), copied from
/// the last two members, else built from the blanks before the only one.
fn separator<'t>(text: &'t str, obj: &Object) -> Option<std::borrow::Cow<'t, str>> {
    let n = obj.members.len();
    if n >= 2 {
        return text
            .get(obj.members[n - 2].value.1..obj.members[n - 1].key.0)
            .map(std::borrow::Cow::Borrowed);
    }
    let first = obj.members.first()?;
    let lead = text.get(obj.open + 1..first.key.0)?;
    // `{"dev": "vite"}` gets `, `; a minified `{"dev":"vite"}` gets `,`.
    if lead.is_empty() && text.get(first.key.1..first.value.0)?.ends_with(' ') {
        return Some(", ".into());
    }
    Some(format!(",{lead}").into())
}

/// Where and what to insert into an existing `scripts` object: `(at, text, resume_at)`; the
/// bytes `at..resume_at` (only blanks inside an empty object) are replaced.
fn insertion(
    text: &str,
    obj: &Object,
    member: &Member,
    style: &Style,
    one_line: bool,
    missing: &[(String, String)],
) -> Option<(usize, String, usize)> {
    if let Some(last) = obj.members.last() {
        let sep = separator(text, obj)?;
        let colon = text.get(last.key.1..last.value.0)?;
        let mut insert = String::new();
        for (k, v) in missing {
            let _ = write!(insert, "{sep}{}{colon}{}", quoted(k), quoted(v));
        }
        return Some((last.value.1, insert, last.value.1));
    }
    let outer = if one_line {
        None
    } else {
        Some(indent_before(text, member.key.0).unwrap_or(&style.unit))
    };
    let object = new_object(style, outer, missing);
    // Replace the whole empty object `{ }` (only blanks inside) with the new one.
    Some((obj.open, object, obj.close + 1))
}

/// The nearest package.json from `dir` upwards.
#[must_use]
pub fn find_package(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("package.json"))
        .find(|p| p.is_file())
}

/// Writes `text` through the existing file at `path` (after it was checked to be a valid
/// package.json): the same inode, so hard links stay linked and the owner and mode stay as they
/// are. A file without write permission is refused (root could write it anyway: we do not).
fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{FileExt, PermissionsExt};
    if serde_json::from_str::<serde_json::Value>(text).is_err() {
        return Err(std::io::Error::other(
            "the edited text is not valid JSON (nothing written)",
        ));
    }
    let meta = fs::metadata(path)?;
    if meta.permissions().mode() & 0o222 == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "the file is read-only; make it writable (chmod u+w) and run again",
        ));
    }
    let file = fs::OpenOptions::new().write(true).open(path)?;
    file.write_all_at(text.as_bytes(), 0)?;
    file.set_len(text.len() as u64)?;
    file.sync_all()
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
        && let Err(e) = replace_file(&path, &new_text)
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
