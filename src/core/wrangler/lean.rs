//! A lean reading of a wrangler config for the classifier (issue 17): one streaming pass that
//! keeps whole only the keys the classifier reads ([`KEPT`]) at the top level and in each
//! `[env.X]`, and reduces every other key to what [`super::Effective::has_remote_binding`] asks
//! of it (whether a `"remote": true` is anywhere inside). A 1 MB config then builds a few
//! kilobytes of tree instead of ~13 MB, and the `__proto__` check runs during the same pass.
//!
//! The full tree is still what `doctor` and `scripts` read ([`super::parse`]); a classifier
//! that starts reading another key must add it to [`KEPT`] (a unit test compares both readings
//! on the classifier's questions).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The keys of a scope (the top level or one `[env.X]`) the classifier reads whole: the Worker's
/// name, its routes, Email Routing addresses, exports and migrations (deleted, transferred and
/// Workflow classes), and every binding whose resource the classifier names (production data:
/// D1, KV with `preview_id`, R2, queues, Hyperdrive, Vectorize, Durable Objects with
/// `script_name`, Workflows). A key missing here answers as absent: a production target read as
/// preview. When in doubt, keep the key.
pub const KEPT: [&str; 19] = [
    "name",
    "routes",
    "route",
    "addresses",
    "exports",
    "migrations",
    "workflows",
    "d1_databases",
    "kv_namespaces",
    "r2_buckets",
    "queues",
    "hyperdrive",
    "vectorize",
    "durable_objects",
    // Production data reached through other bindings (issue 11's review): unsafe bindings by
    // type, Analytics Engine datasets, pipelines, and Workers called as services or tails.
    "unsafe",
    "analytics_engine_datasets",
    "pipelines",
    "services",
    "tail_consumers",
];

/// The lean value and whether a `__proto__` key was seen anywhere.
pub struct Lean {
    pub value: Value,
    pub proto: bool,
}

/// The key JavaScript's JSON parsers treat specially (see [`super::parse`]).
const PROTO: &str = "__proto__";

/// Whether a kept value holds a `__proto__` key.
fn has_proto(v: &Value) -> bool {
    match v {
        Value::Object(map) => map.contains_key(PROTO) || map.values().any(has_proto),
        Value::Array(items) => items.iter().any(has_proto),
        _ => false,
    }
}

/// A subtree that is not kept: whether it holds `"remote": true`, and whether `__proto__`.
#[derive(Default)]
struct Scan {
    remote: bool,
    proto: bool,
}

impl Scan {
    /// The stand-in for the dropped subtree: `{"remote": true}` keeps its answer to
    /// `has_remote_binding`; `null` answers no, as the subtree did.
    fn stand_in(&self) -> Value {
        if self.remote {
            let mut m = Map::new();
            m.insert("remote".into(), Value::Bool(true));
            Value::Object(m)
        } else {
            Value::Null
        }
    }
}

/// A map key, without an allocation when the input allows it.
enum Key {
    Proto,
    Remote,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct K;
        impl Visitor<'_> for K {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    PROTO => Key::Proto,
                    "remote" => Key::Remote,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(K)
    }
}

/// `true` and nothing else (what `has_remote_true` compares with), then scanned as usual.
struct RemoteValue(Scan, bool);

impl<'de> Deserialize<'de> for RemoteValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RemoteValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RemoteValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RemoteValue, E> {
                Ok(RemoteValue(Scan::default(), v))
            }
            scalars!(RemoteValue(Scan::default(), false));
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RemoteValue, A::Error> {
                Ok(RemoteValue(ScanVisitor.visit_seq(seq)?, false))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RemoteValue, A::Error> {
                Ok(RemoteValue(ScanVisitor.visit_map(map)?, false))
            }
        }
        d.deserialize_any(V)
    }
}

/// Every scalar visit answering `$out` (the scalar itself is not kept).
macro_rules! scalars {
    ($out:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($out)
        }
    };
}
use scalars;

struct ScanVisitor;

impl<'de> Visitor<'de> for ScanVisitor {
    type Value = Scan;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scan, E> {
        Ok(Scan::default())
    }
    scalars!(Scan::default());
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scan, D::Error> {
        d.deserialize_any(ScanVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scan, A::Error> {
        let mut out = Scan::default();
        while let Some(item) = seq.next_element::<Scan>()? {
            out.remote |= item.remote;
            out.proto |= item.proto;
        }
        Ok(out)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scan, A::Error> {
        let mut out = Scan::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Remote => {
                    let RemoteValue(inner, is_true) = map.next_value()?;
                    out.remote |= is_true || inner.remote;
                    out.proto |= inner.proto;
                }
                Key::Proto | Key::Other => {
                    out.proto |= matches!(key, Key::Proto);
                    let inner: Scan = map.next_value()?;
                    out.remote |= inner.remote;
                    out.proto |= inner.proto;
                }
            }
        }
        Ok(out)
    }
}

impl<'de> Deserialize<'de> for Scan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scan, D::Error> {
        d.deserialize_any(ScanVisitor)
    }
}

/// One scope (top level: `top`), as the classifier needs it.
struct Scope {
    top: bool,
}

/// A scope's value (or a stand-in when it is not an object) and whether `__proto__` was seen.
struct Scoped(Value, bool);

impl<'de> de::DeserializeSeed<'de> for Scope {
    type Value = Scoped;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scoped, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scope {
    type Value = Scoped;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scoped, E> {
        Ok(Scoped(Value::Bool(v), false))
    }
    scalars!(Scoped(Value::Null, false));
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scoped, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scoped, A::Error> {
        // A list where a table belongs answers every question as `null` does.
        let scan = ScanVisitor.visit_seq(seq)?;
        Ok(Scoped(Value::Null, scan.proto))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scoped, A::Error> {
        let mut out = Map::new();
        let mut proto = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == PROTO {
                proto = true;
            }
            let value = if KEPT.contains(&key.as_str()) {
                let v: Value = map.next_value()?;
                proto |= has_proto(&v);
                v
            } else if self.top && key == "env" {
                let Scoped(v, p) = map.next_value_seed(Envs)?;
                proto |= p;
                v
            } else {
                let scan: Scan = map.next_value()?;
                proto |= scan.proto;
                scan.stand_in()
            };
            out.insert(key, value);
        }
        Ok(Scoped(Value::Object(out), proto))
    }
}

/// The `env` table: each environment is a scope of its own.
struct Envs;

impl<'de> de::DeserializeSeed<'de> for Envs {
    type Value = Scoped;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scoped, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Envs {
    type Value = Scoped;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scoped, E> {
        Ok(Scoped(Value::Bool(v), false))
    }
    scalars!(Scoped(Value::Null, false));
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scoped, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scoped, A::Error> {
        // A list where a table belongs answers every question as `null` does.
        let scan = ScanVisitor.visit_seq(seq)?;
        Ok(Scoped(Value::Null, scan.proto))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scoped, A::Error> {
        let mut out = Map::new();
        let mut proto = false;
        while let Some(key) = map.next_key::<String>()? {
            proto |= key == PROTO;
            let Scoped(v, p) = map.next_value_seed(Scope { top: false })?;
            proto |= p;
            out.insert(key, v);
        }
        Ok(Scoped(Value::Object(out), proto))
    }
}

/// Reads a config's top level through `d` the lean way.
///
/// # Errors
/// The deserializer's (a syntax error in the file).
pub fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Lean, D::Error> {
    let Scoped(value, proto) = de::DeserializeSeed::deserialize(Scope { top: true }, d)?;
    Ok(Lean { value, proto })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use crate::wrangler::config::{Config, parse, parse_for_classifier};

    /// Every question the classifier asks of a config, for one environment.
    pub(crate) fn answers(cfg: &Config, env: &str) -> String {
        let eff = cfg.effective(env);
        let own_name = cfg
            .value
            .get("env")
            .and_then(|e| e.get(env))
            .and_then(|e| e.get("name"))
            .cloned();
        let kv: Vec<_> = ["KV", "CACHE", "SESSIONS", "missing"]
            .iter()
            .map(|b| eff.kv_preview_id(b))
            .collect();
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {kv:?} {own_name:?}",
            cfg.worker_name(env),
            cfg.environments(),
            eff.routes(),
            eff.addresses(),
            eff.deleted_classes(),
            eff.transferred_classes(),
            eff.workflows(),
            eff.has_remote_binding(),
            eff.stateful_resources(Some("own")),
            eff.stateful_resources(None),
            eff.durable_object_scripts(),
        )
    }

    fn same(name: &str, text: &str) {
        let path = Path::new(name);
        match (parse(path, text), parse_for_classifier(path, text)) {
            (Ok(full), Ok(lean)) => {
                for env in ["", "staging", "dev", "production", "missing", "__proto__"] {
                    assert_eq!(
                        answers(&full, env),
                        answers(&lean, env),
                        "{name} {text} [{env}]"
                    );
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{text}"),
            (a, b) => panic!("{text}: full {:?} lean {:?}", a.is_ok(), b.is_ok()),
        }
    }

    #[test]
    fn lean_reading_answers_as_the_full_tree() {
        let json = [
            r#"{"name":"shop","routes":["a.example.com/*",{"pattern":"b.example.com","custom_domain":true}],
               "kv_namespaces":[{"binding":"KV","id":"x","remote":true}],
               "env":{"staging":{"route":"s.example.com/*","d1_databases":[{"binding":"DB","remote":false}]},
                      "dev":{"name":"own","services":[{"binding":"S","deep":{"remote":true}}],"env":{"remote":true}},
                      "production":[{"remote":true}]}}"#,
            r#"{"name":"shop","addresses":["a@example.com"],"exports":{"A":{"type":"durable-object","state":"deleted"}},
               "migrations":[{"deleted_classes":["B"],"transferred_classes":[{"from":"C","from_script":"old","to":"C"}]}],
               "workflows":[{"name":"w","remote":true}],"remote":true,"vars":{"remote":"true"}}"#,
            r#"{"name":"shop","vars":{"x":{"__proto__":{}}}}"#,
            r#"{"name":"shop","env":{"__proto__":{}}}"#,
            r#"{"name":"shop","env":"staging"}"#,
            r#"{"name":"a","name":"b","env":{"staging":{"name":"x"},"staging":{}}}"#,
            r#"["not", "an", {"object": {"remote": true}}]"#,
            r#""text""#,
            r#"{"name":"shop",} // trailing comma and comment"#,
            r#"{"name":"shop"} trailing"#,
            r#"{"name":"shop","#,
            "\u{feff}{\"name\":\"bom\",\"routes\":[\"a.example.com/*\"]}",
            r#"{"name":"shop","env":{"dev":{"r2_buckets":[{"binding":"B","remote":1}],"vectorize":[[{"remote":true}]]}}}"#,
            r#"{"name":"shop","d1_databases":[{"binding":"DB","database_id":"d1","database_name":"n"}],
               "kv_namespaces":[{"binding":"KV","id":"k","preview_id":"p"}],"r2_buckets":[{"bucket_name":"b"}],
               "queues":{"producers":[{"queue":"q1"}],"consumers":[{"queue":"q2"}]},"hyperdrive":[{"id":"h"}],
               "vectorize":[{"index_name":"v"}],"durable_objects":{"bindings":[{"name":"D","class_name":"C","script_name":"other"},{"class_name":"Own"}]},
               "workflows":[{"name":"wf","binding":"W"}],"exports":{"Flow":{"type":"workflow"},"X":{"type":"workflow","name":"named"}},
               "env":{"staging":{"name":"shop-stg","kv_namespaces":[{"binding":"KV","id":"k2","preview_id":"p2"}],
                                  "durable_objects":{"bindings":[{"class_name":"C","script_name":"shop"}]}},
                      "production":{"d1_databases":[{"binding":"DB","database_name":"prod-db"}],"queues":{"producers":[{"queue":"pq"}]}}}}"#,
        ];
        for text in json {
            same("wrangler.jsonc", text);
        }
        let toml = [
            "name = \"shop\"\nroutes = [\"a.example.com/*\"]\n[[kv_namespaces]]\nbinding = \"KV\"\nremote = true\n[env.staging]\nroute = \"s.example.com/*\"\n[env.dev]\nname = \"own\"\n[[env.dev.d1_databases]]\nbinding = \"DB\"\nremote = true\n",
            "name = \"shop\"\n[vars]\n__proto__ = 1\n",
            "name = \"shop\"\ncompatibility_date = 2025-01-01\n[[migrations]]\ndeleted_classes = [\"A\"]\n",
            "name = = \"broken\"\n",
            "\u{feff}name = \"bom\"\nroute = \"a.example.com/*\"\n",
        ];
        for text in toml {
            same("wrangler.toml", text);
        }
    }
}
