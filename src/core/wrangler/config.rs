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
    /// Shared: the gather step keeps one parse per file per process (issue 17), and a clone of
    /// a config is then a reference count, not a copy of the tree.
    pub value: std::sync::Arc<Value>,
    /// Found through [`REDIRECT_FILE`]: wrangler then uses the generated config's top level as it
    /// is (its name gets no `-<env>`).
    pub redirected: bool,
}

/// Why a config could not be used. Never contains file contents beyond the parser's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The parser's message quotes what it could not read (`invalid type: string "..."`),
        // which may be a pasted credential: every way this is shown gets it redacted and escaped.
        let text = format!("{}: {}", self.path.display(), self.message);
        f.write_str(&crate::display::shown(&text))
    }
}

/// Where build tools leave a pointer to the config they generated (`{"configPath": ...}`).
pub const REDIRECT_FILE: &str = ".wrangler/deploy/config.json";

/// Parses a config file's text (`path` names it in errors and tells TOML from JSON).
///
/// # Errors
/// When the text does not parse; the error names the file.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let err = |message: String| ConfigError {
        path: path.to_owned(),
        message,
    };
    // wrangler drops a UTF-8 byte order mark before parsing any of its formats.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value = if path.extension().is_some_and(|e| e == "toml") {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| err(first_line(&e.to_string())))?;
        serde_json::to_value(table).map_err(|e| err(e.to_string()))?
    } else {
        serde_json::from_str(&strip_jsonc(text)).map_err(|e| err(e.to_string()))?
    };
    // JavaScript's JSON parsers turn a `__proto__` key into the object's prototype, so wrangler
    // would see inherited fields that a plain reading does not: not something to guess about.
    if has_key(&value, "__proto__") {
        return Err(err(
            "the config uses a `__proto__` key, which JavaScript reads differently".into(),
        ));
    }
    Ok(Config {
        path: path.to_owned(),
        value: std::sync::Arc::new(value),
        redirected: false,
    })
}

/// [`parse`] for the classifier: the same answers to every question the classifier asks, from
/// one streaming pass that keeps only what it reads ([`super::lean`]); `doctor` and `scripts`
/// read the whole tree with [`parse`].
///
/// # Errors
/// As [`parse`].
pub fn parse_for_classifier(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let err = |message: String| ConfigError {
        path: path.to_owned(),
        message,
    };
    // As in [`parse`]: wrangler drops a UTF-8 byte order mark before parsing any of its formats.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lean = if path.extension().is_some_and(|e| e == "toml") {
        let de =
            toml::de::Deserializer::parse(text).map_err(|e| err(first_line(&e.to_string())))?;
        super::lean::read(de).map_err(|e| err(first_line(&e.to_string())))?
    } else {
        let read = |json: &str| -> Result<super::lean::Lean, serde_json::Error> {
            let mut de = serde_json::Deserializer::from_str(json);
            let lean = super::lean::read(&mut de)?;
            de.end()?;
            Ok(lean)
        };
        // Text that is plain JSON has no comment or trailing comma outside its strings, so
        // stripping would return it unchanged: skip the copy. Anything else (JSONC, or an error
        // to report with the stripped text's line and column) goes through `strip_jsonc`.
        match read(text) {
            Ok(lean) => lean,
            Err(_) => read(&strip_jsonc(text)).map_err(|e| err(e.to_string()))?,
        }
    };
    if lean.proto {
        return Err(err(
            "the config uses a `__proto__` key, which JavaScript reads differently".into(),
        ));
    }
    Ok(Config {
        path: path.to_owned(),
        value: std::sync::Arc::new(lean.value),
        redirected: false,
    })
}

fn has_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(map) => map.contains_key(key) || map.values().any(|x| has_key(x, key)),
        Value::Array(items) => items.iter().any(|x| has_key(x, key)),
        _ => false,
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_owned()
}

impl Config {
    /// The Worker name a command acting on `env` would use: the config's `name` with `-<env>`
    /// appended for a named environment (wrangler's naming; `--name` is the caller's).
    #[must_use]
    pub fn worker_name(&self, env: &str) -> Option<String> {
        // An environment may name its Worker itself (wrangler uploads to that name).
        if !env.is_empty()
            && let Some(own) = self
                .value
                .get("env")
                .and_then(|e| e.get(env))
                .and_then(|e| e.get("name"))
                .and_then(Value::as_str)
        {
            return Some(own.to_owned());
        }
        let base = self.value.get("name")?.as_str()?;
        if env.is_empty() || self.redirected {
            Some(base.to_owned())
        } else {
            Some(format!("{base}-{env}"))
        }
    }

    /// The names of the config's `[env.X]` sections.
    #[must_use]
    pub fn environments(&self) -> Vec<String> {
        self.value
            .get("env")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The config as wrangler resolves it for environment `env` ("" = top level).
    #[must_use]
    pub fn effective<'a>(&'a self, env: &str) -> Effective<'a> {
        let section = if env.is_empty() {
            None
        } else {
            self.value.get("env").and_then(|e| e.get(env))
        };
        Effective {
            top: &self.value,
            env: section,
            named: !env.is_empty(),
        }
    }
}

/// One route a deploy would publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub pattern: String,
    pub custom_domain: bool,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.custom_domain {
            write!(f, "{} (custom domain)", self.pattern)
        } else {
            f.write_str(&self.pattern)
        }
    }
}

/// The config for one environment, with wrangler's inheritance rules
/// (`../shared/wrangler/config.md` section 3).
#[derive(Debug, Clone, Copy)]
pub struct Effective<'a> {
    top: &'a Value,
    env: Option<&'a Value>,
    named: bool,
}

impl<'a> Effective<'a> {
    /// An inheritable key: the environment's own value, else the top level's (and whether it
    /// was inherited while a named environment is selected).
    fn inherited(&self, key: &str) -> (Option<&'a Value>, bool) {
        match self.env.and_then(|e| e.get(key)) {
            Some(v) => (Some(v), false),
            None => (self.top.get(key), self.named),
        }
    }

    /// The routes a deploy publishes: `routes ?? [route]`, each key inherited separately (so an
    /// environment that sets only `route` still deploys the top level's `routes`). The flag says
    /// whether they come from the top level while a named environment is selected.
    #[must_use]
    pub fn routes(&self) -> (Vec<Route>, bool) {
        let (routes, routes_inherited) = self.inherited("routes");
        let (single, single_inherited) = self.inherited("route");
        let (list, inherited) = match (routes, single) {
            (Some(Value::Array(list)), _) => (list.iter().collect::<Vec<_>>(), routes_inherited),
            (Some(other), _) if !other.is_null() => (vec![other], routes_inherited),
            // `routes ?? (route ? [route] : [])`: an empty `route = ""` publishes nothing.
            (_, Some(r)) if !r.is_null() && r.as_str() != Some("") => (vec![r], single_inherited),
            _ => (Vec::new(), false),
        };
        let routes = list.into_iter().filter_map(route_of).collect::<Vec<_>>();
        let inherited = inherited && !routes.is_empty();
        (routes, inherited)
    }

    /// Email Routing addresses (top level only).
    #[must_use]
    pub fn addresses(&self) -> Vec<String> {
        self.top
            .get("addresses")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Durable Object classes that a deploy would delete (`migrations[].deleted_classes`).
    #[must_use]
    pub fn deleted_classes(&self) -> Vec<String> {
        let mut out = self.migration_field("deleted_classes");
        // The declarative form: `exports: { Name: { type: "durable-object", state: "deleted" } }`.
        out.extend(self.exported_deletes());
        out
    }

    /// Durable Object classes a deploy takes over from another Worker, with their data
    /// (`migrations[].transferred_classes`, entries `{from, from_script, to}`).
    #[must_use]
    pub fn transferred_classes(&self) -> Vec<String> {
        let (migrations, _) = self.inherited("migrations");
        migrations
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("transferred_classes").and_then(Value::as_array))
            .flatten()
            .map(|t| {
                let from = t.get("from").and_then(Value::as_str).unwrap_or("?");
                let script = t.get("from_script").and_then(Value::as_str).unwrap_or("?");
                format!("{from} from {script}")
            })
            .chain(self.exported_moves())
            .collect()
    }

    /// Durable Object moves written in `exports` (inherited): `state: "expecting-transfer"`
    /// with `transfer_from` (takes the class and its data from that Worker) and
    /// `state: "transferred"` with `transferred_to` (hands them to that Worker).
    #[must_use]
    pub fn exported_moves(&self) -> Vec<String> {
        let (exports, _) = self.inherited("exports");
        let Some(Value::Object(map)) = exports else {
            return Vec::new();
        };
        map.iter()
            .filter_map(|(name, e)| {
                let field = |f: &str| e.get(f).and_then(Value::as_str).unwrap_or("?").to_owned();
                match e.get("state").and_then(Value::as_str)? {
                    "expecting-transfer" => Some(format!("{name} from {}", field("transfer_from"))),
                    "transferred" => Some(format!("{name} to {}", field("transferred_to"))),
                    _ => None,
                }
            })
            .collect()
    }

    /// Durable Object classes `exports` deletes (`state: "deleted"`, inherited).
    #[must_use]
    pub fn exported_deletes(&self) -> Vec<String> {
        let (exports, _) = self.inherited("exports");
        let Some(Value::Object(map)) = exports else {
            return Vec::new();
        };
        map.iter()
            .filter(|(_, e)| e.get("state").and_then(Value::as_str) == Some("deleted"))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The section non-inheritable keys (bindings) come from: the named environment's own
    /// section, or the top level when the environment is the top level or has no `[env.X]`
    /// section at all (wrangler then deploys the top level whole, bindings included).
    fn bindings_scope(&self) -> &'a Value {
        match (self.named, self.env) {
            (true, Some(section)) => section,
            _ => self.top,
        }
    }

    /// Workflows this environment registers: its `workflows` bindings and the `exports` entries
    /// of type `workflow` (inherited from the top level). Their names are account-wide: deploying
    /// one that another Worker owns reassigns it (wrangler only warns, and without a terminal
    /// goes on).
    #[must_use]
    pub fn workflows(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .bindings_scope()
            .get("workflows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|w| w.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let (exports, _) = self.inherited("exports");
        if let Some(Value::Object(map)) = exports {
            for (key, e) in map {
                if e.get("type").and_then(Value::as_str) == Some("workflow") {
                    let name = e.get("name").and_then(Value::as_str).unwrap_or(key);
                    if !out.iter().any(|w| w == name) {
                        out.push(name.to_owned());
                    }
                }
            }
        }
        out
    }

    /// The stateful resources this environment's bindings reach, as `(kind, identity)`: D1
    /// databases (by id and by name: wrangler looks a missing id up by name), KV namespaces, R2
    /// buckets, queues (dead-letter queues too), Hyperdrive configs, Vectorize indexes, Analytics
    /// Engine datasets, pipelines, Workers bound as services or tail consumers, Durable Objects
    /// (`script_name`, else `own_worker`, with the class), Workflows and `unsafe.bindings` by type.
    /// A binding whose target cannot be compared is `(UNCOMPARABLE, what)`.
    #[must_use]
    pub fn stateful_resources(&self, own_worker: Option<&str>) -> Vec<(&'static str, String)> {
        let scope = self.bindings_scope();
        let mut out = Vec::new();
        for (key, fields, kind) in STATEFUL_BINDINGS {
            let kind: &'static str = kind;
            for b in list_at(scope, key) {
                if let Some(id) = fields
                    .iter()
                    .find_map(|f| b.get(*f).and_then(Value::as_str))
                    .filter(|id| !id.is_empty())
                {
                    out.push((kind, id.to_owned()));
                }
            }
        }
        for b in list_at(scope, "d1_databases") {
            let field = |f: &str| {
                b.get(f)
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            };
            let (id, name) = (field("database_id"), field("database_name"));
            if let Some(id) = &id {
                out.push(("D1 database", id.clone()));
            }
            if let Some(name) = name {
                out.push(("D1 database named", name));
            } else if id.is_none() {
                let binding = field("binding").unwrap_or_else(|| "?".into());
                out.push((
                    UNCOMPARABLE,
                    format!("the D1 binding {binding} has neither database_id nor database_name"),
                ));
            }
        }
        for b in list_at(scope, "unsafe.bindings") {
            out.push(unsafe_resource(b));
        }
        for b in list_at(scope, "durable_objects.bindings") {
            let Some(class) = b.get("class_name").and_then(Value::as_str) else {
                continue;
            };
            let script = b
                .get("script_name")
                .and_then(Value::as_str)
                .or(own_worker)
                .unwrap_or("?");
            out.push(("Durable Object", format!("{class} of the Worker {script}")));
        }
        for w in self.workflows() {
            out.push(("Workflow", w));
        }
        out
    }

    /// The `preview_id` of this environment's KV binding `binding` (what `kv ... --preview`
    /// writes).
    #[must_use]
    pub fn kv_preview_id(&self, binding: &str) -> Option<String> {
        list_at(self.bindings_scope(), "kv_namespaces")
            .find(|b| b.get("binding").and_then(Value::as_str) == Some(binding))?
            .get("preview_id")?
            .as_str()
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
    }

    /// The Workers that this environment's Durable Object bindings name with `script_name`.
    #[must_use]
    pub fn durable_object_scripts(&self) -> Vec<(String, String)> {
        list_at(self.bindings_scope(), "durable_objects.bindings")
            .filter_map(|b| {
                Some((
                    b.get("class_name")?.as_str()?.to_owned(),
                    b.get("script_name")?.as_str()?.to_owned(),
                ))
            })
            .collect()
    }

    /// The string entries of one list field across all migrations (inherited).
    fn migration_field(&self, field: &str) -> Vec<String> {
        let (migrations, _) = self.inherited("migrations");
        migrations
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get(field).and_then(Value::as_array))
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect()
    }

    /// Whether any binding of this environment is marked `"remote": true` (then `dev` starts a
    /// remote proxy session). Bindings are not inherited: a named environment has its own.
    #[must_use]
    pub fn has_remote_binding(&self) -> bool {
        let Value::Object(map) = self.bindings_scope() else {
            return false;
        };
        map.iter()
            .filter(|(k, _)| k.as_str() != "env")
            .any(|(_, v)| has_remote_true(v))
    }
}

/// Stateful bindings by config key (a dotted path into the section), the fields that identify
/// the resource (first present wins), and what to call it.
/// D1 bindings are read apart (by id and by name), see [`Effective::stateful_resources`].
const STATEFUL_BINDINGS: [(&str, &[&str], &str); 11] = [
    ("kv_namespaces", &["id"], "KV namespace"),
    ("r2_buckets", &["bucket_name"], "R2 bucket"),
    ("queues.producers", &["queue"], "queue"),
    ("queues.consumers", &["queue"], "queue"),
    ("queues.consumers", &["dead_letter_queue"], "queue"),
    ("hyperdrive", &["id"], "Hyperdrive config"),
    ("vectorize", &["index_name"], "Vectorize index"),
    (
        "analytics_engine_datasets",
        &["dataset", "binding"],
        "Analytics Engine dataset",
    ),
    ("pipelines", &["pipeline"], "pipeline"),
    ("services", &["service"], WORKER),
    ("tail_consumers", &["service"], WORKER),
];

/// The kind of a resource that is a Worker (a service binding or a tail consumer).
pub const WORKER: &str = "Worker";

/// The kind of a binding whose target cannot be compared (production, fail closed).
pub const UNCOMPARABLE: &str = "uncomparable";

/// The resource an `unsafe.bindings` entry reaches, by its `type` and the field wrangler sends
/// for it; any other type, or one without its field, is [`UNCOMPARABLE`].
fn unsafe_resource(b: &Value) -> (&'static str, String) {
    let ty = b.get("type").and_then(Value::as_str).unwrap_or("?");
    let (field, kind) = match ty {
        "d1" => ("id", "D1 database"),
        "kv_namespace" => ("namespace_id", "KV namespace"),
        "r2_bucket" => ("bucket_name", "R2 bucket"),
        "queue" => ("queue_name", "queue"),
        "hyperdrive" => ("id", "Hyperdrive config"),
        "vectorize" => ("index_name", "Vectorize index"),
        "analytics_engine" => ("dataset", "Analytics Engine dataset"),
        "pipelines" => ("pipeline", "pipeline"),
        "service" => ("service", WORKER),
        _ => ("", UNCOMPARABLE),
    };
    match b
        .get(field)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
    {
        Some(id) if kind != UNCOMPARABLE => (kind, id.to_owned()),
        _ => {
            let name = b.get("name").and_then(Value::as_str).unwrap_or("?");
            (
                UNCOMPARABLE,
                format!(
                    "the unsafe binding {name} (type {ty:?}) reaches a target safe-wrangler cannot compare"
                ),
            )
        }
    }
}

/// The array at a dotted path, or nothing.
fn list_at<'v>(scope: &'v Value, path: &str) -> impl Iterator<Item = &'v Value> {
    path.split('.')
        .try_fold(scope, |v, k| v.get(k))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn has_remote_true(v: &Value) -> bool {
    match v {
        Value::Object(map) => {
            map.get("remote") == Some(&Value::Bool(true)) || map.values().any(has_remote_true)
        }
        Value::Array(items) => items.iter().any(has_remote_true),
        _ => false,
    }
}

fn route_of(v: &Value) -> Option<Route> {
    match v {
        Value::String(s) => Some(Route {
            pattern: s.clone(),
            custom_domain: false,
        }),
        Value::Object(map) => Some(Route {
            pattern: map
                .get("pattern")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            custom_domain: map.get("custom_domain") == Some(&Value::Bool(true)),
        }),
        _ => None,
    }
}

/// JSONC to JSON: removes `//` and `/* */` comments and trailing commas (only a comma that
/// follows a value: `[,]`, `[1,,]` and `{,}` stay malformed and fail to parse), leaving strings
/// alone. Byte offsets of everything else are kept (comments become spaces) so parser line and
/// column numbers still point into the original file.
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
            && !matches!(last_before(&out), None | Some(b'[' | b'{' | b',' | b':'))
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

/// The last byte of `out` that is not whitespace (comments are already spaces there).
fn last_before(out: &[u8]) -> Option<u8> {
    out.iter()
        .rev()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .copied()
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
    use crate::edge::files::{load_config as load, locate_config as locate};

    #[test]
    fn a_config_error_never_shows_a_credential() {
        let token = format!("cfut_{}{}", "Ab3".repeat(13) + "x", "0123abcd");
        let e = ConfigError {
            path: "wrangler.json".into(),
            message: format!("invalid type: string \"{token}\"\u{1b}[2J, expected a sequence"),
        };
        assert_eq!(
            e.to_string(),
            "wrangler.json: invalid type: string \"<redacted>\"\\u{1b}[2J, expected a sequence"
        );
    }

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
        let found = locate(&child, None, false).unwrap();
        assert_eq!(found, dir.path().join("wrangler.json"));
        let cfg = load(&child.join("wrangler.toml")).unwrap();
        assert_eq!(cfg.worker_name("staging").as_deref(), Some("child-staging"));
    }

    #[test]
    fn routes_inheritance_as_wrangler_does_it() {
        let cfg = Config {
            path: PathBuf::from("wrangler.toml"),
            redirected: false,
            value: toml::from_str::<toml::Table>(
                r#"
name = "shop"
routes = [ { pattern = "shop.example.com/*", zone_name = "example.com" }, { pattern = "api.example.com", custom_domain = true } ]
[env.staging]
route = "staging.example.com/*"
[env.clean]
routes = []
[env.dev]
kv_namespaces = [ { binding = "KV", id = "x", remote = true } ]
"#,
            )
            .map(|t| serde_json::to_value(t).unwrap())
            .unwrap()
            .into(),
        };
        let (top, inherited) = cfg.effective("").routes();
        assert_eq!((top.len(), inherited), (2, false));
        let (staging, inherited) = cfg.effective("staging").routes();
        assert_eq!(
            staging, top,
            "an env with only `route` still deploys the top-level routes"
        );
        assert!(inherited);
        assert!(cfg.effective("clean").routes().0.is_empty());
        assert_eq!(cfg.effective("undefined").routes().0.len(), 2);
        assert!(cfg.effective("dev").has_remote_binding());
        assert!(!cfg.effective("").has_remote_binding());
        assert_eq!(top[1].to_string(), "api.example.com (custom domain)");
    }

    #[test]
    fn redirected_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("wrangler.jsonc"), r#"{"name":"user"}"#).unwrap();
        std::fs::create_dir_all(dir.path().join(".wrangler/deploy")).unwrap();
        std::fs::create_dir_all(dir.path().join("dist")).unwrap();
        std::fs::write(
            dir.path().join("dist/wrangler.json"),
            r#"{"name":"generated"}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join(REDIRECT_FILE),
            r#"{"configPath": "../../dist/wrangler.json"}"#,
        )
        .unwrap();
        let p = locate(dir.path(), None, true).unwrap();
        assert_eq!(
            load(&p).unwrap().worker_name("").as_deref(),
            Some("generated")
        );
        let p = locate(dir.path(), None, false).unwrap();
        assert_eq!(load(&p).unwrap().worker_name("").as_deref(), Some("user"));
        let p = locate(dir.path(), Some("wrangler.jsonc"), true).unwrap();
        assert_eq!(load(&p).unwrap().worker_name("").as_deref(), Some("user"));
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
