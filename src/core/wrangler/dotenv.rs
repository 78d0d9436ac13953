//! wrangler's `.env` files, read exactly as wrangler 4.164 reads them. Pure: bytes and names in,
//! variables out.
//!
//! At start-up, for every command, wrangler builds its environment from `.env` files
//! (`loadDotEnv`, `getDefaultEnvFiles` in `wrangler-dist/cli.js`): the `--env-file` values when
//! the flag is given, else `.env`, `.env.local`, and with `--env <e>` also `.env.<e>` and
//! `.env.<e>.local`, each resolved against the directory after `--cwd`. Only `--env` selects
//! files: a `CLOUDFLARE_ENV` from the real environment does not. Each file is parsed by the
//! bundled `dotenv@16.3.1` (its `LINE` regex: [`parse`]), later files override earlier ones, an
//! empty value is a value; then `dotenv-expand@12.0.2` expands `$VAR`/`${VAR:-default}` against
//! the real environment, which wins wherever it holds a non-empty value ([`load`]).
//!
//! We do not run a regex engine: the regex is matched by hand below, alternative by alternative
//! in the order a backtracking engine tries them, and `tests/it/dotenv.rs` runs wrangler's own
//! `parse` (taken from the installed package under the pinned Node) beside this one over
//! generated inputs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The `.env` files wrangler loads for one call, in its order (later ones override earlier).
/// `env_files` is `Some` when `--env-file` was given (even with no value: then nothing is
/// loaded); `env` is the `--env` value (`Some("")` for `--env=`, which loads `.env.` and
/// `.env..local`).
#[must_use]
pub fn files(dir: &Path, env_files: Option<&[&str]>, env: Option<&str>) -> Vec<PathBuf> {
    if let Some(given) = env_files {
        return given.iter().map(|f| dir.join(f)).collect();
    }
    let mut names = vec![".env".to_owned(), ".env.local".to_owned()];
    if let Some(env) = env {
        names.push(format!(".env.{env}"));
        names.push(format!(".env.{env}.local"));
    }
    names.into_iter().map(|n| dir.join(n)).collect()
}

/// Variables in the order a JavaScript object enumerates its keys: integer-like keys
/// (`"0"`..`"4294967294"` in canonical form) first in numeric order, then the others in the order
/// they were first set. The order decides what `dotenv-expand` sees as "already expanded".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    /// Integer-like keys, in numeric order.
    indices: BTreeMap<u32, (String, String)>,
    /// The other keys, in the order first set.
    names: Vec<(String, String)>,
    /// Where each of `names` is (so a large file is not read in quadratic time).
    at: HashMap<String, usize>,
}

/// Whether `key` is an array index to JavaScript (enumerated first, in numeric order).
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|n| *n != u32::MAX)
}

impl Vars {
    /// `obj[key] = value`. `__proto__` is not a key: assigning a string to it does nothing.
    pub fn set(&mut self, key: &str, value: String) {
        if key == "__proto__" {
            return;
        }
        if let Some(n) = array_index(key) {
            self.indices.insert(n, (key.to_owned(), value));
        } else if let Some(i) = self.at.get(key) {
            self.names[*i].1 = value;
        } else {
            self.at.insert(key.to_owned(), self.names.len());
            self.names.push((key.to_owned(), value));
        }
    }

    /// The value of `key`, if set.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        match array_index(key) {
            Some(n) => self.indices.get(&n).map(|(_, v)| v.as_str()),
            None => self.at.get(key).map(|i| self.names[*i].1.as_str()),
        }
    }

    /// The variables in enumeration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.indices
            .values()
            .chain(&self.names)
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many variables.
    #[must_use]
    pub fn len(&self) -> usize {
        self.indices.len() + self.names.len()
    }

    /// No variables.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One assignment the parser found, in file order, with the 1-based line its name is on and the
/// line its match ends on (a quoted value, or `KEY` and `=value` on two lines, spans several;
/// lines end at `\n`, `\r\n` or a lone `\r`, as dotenv counts them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub key: String,
    pub value: String,
    pub line: usize,
    pub end_line: usize,
}

/// JavaScript's `\s` (and what `String.prototype.trim` removes): includes the BOM, so a file
/// starting with a BOM still assigns its first variable.
fn js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// A line terminator for `^`, `$` and `.` in a JavaScript regex.
fn js_line_end(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// `\w` (ASCII only without the `u` flag), `.` or `-`: a character of a variable name.
fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The text as Node's `readFileSync(path, "utf8")` gives it (invalid bytes become U+FFFD, a BOM
/// is kept), with `\r\n` and lone `\r` turned into `\n` as `parse` does first.
fn normalized(content: &[u8]) -> Vec<char> {
    let text = String::from_utf8_lossy(content);
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

/// The end of the run of `\s` starting at `at`.
fn spaces(t: &[char], at: usize) -> usize {
    at + t[at..].iter().take_while(|c| js_space(**c)).count()
}

/// Where the tail of `LINE`, `\s*(?:#.*)?(?:$|$)`, ends when tried at `at` (with the `m` flag),
/// or `None` when it cannot match there.
fn tail(t: &[char], at: usize) -> Option<usize> {
    let w = spaces(t, at);
    if t.get(w) == Some(&'#') {
        return Some(w + t[w..].iter().take_while(|c| !js_line_end(**c)).count());
    }
    if w == t.len() || js_line_end(t[w]) {
        return Some(w);
    }
    (at..w).rev().find(|i| js_line_end(t[*i]))
}

/// `\s*Q(?:\\Q|[^Q])*Q` followed by the tail, tried at `at`: the value's end and the match's end.
/// A backtracking engine closes the quote at the first unescaped `Q`, then at each escaped `Q`
/// before it, last first.
fn quoted(t: &[char], at: usize, q: char) -> Option<(usize, usize)> {
    let open = spaces(t, at);
    if t.get(open) != Some(&q) {
        return None;
    }
    let mut i = open + 1;
    loop {
        if i + 1 < t.len() && t[i] == '\\' && t[i + 1] == q {
            i += 2;
        } else if i < t.len() && t[i] != q {
            i += 1;
        } else {
            break;
        }
    }
    let last = i.min(t.len().saturating_sub(1));
    (open + 1..=last)
        .rev()
        .filter(|c| t.get(*c) == Some(&q))
        .find_map(|c| tail(t, c + 1).map(|end| (c + 1, end)))
}

/// The rest of `LINE` after the name, tried at `at`: `(?:\s*=\s*?|:\s+?)(VALUE)?` and the tail.
/// Returns the value's span (if the group matched) and the match's end.
fn after_key(t: &[char], at: usize) -> Option<(Option<(usize, usize)>, usize)> {
    // `\s*=` (only the whole run of spaces can be followed by `=`), else `:` and one space; the
    // lazy `\s*?`/`\s+?` then take as few spaces as possible, and with that the rest always
    // matches (an unquoted value stops only at `#`, a line end or the end, where the tail
    // matches), so longer runs are never tried.
    let eq = spaces(t, at);
    let start = if t.get(eq) == Some(&'=') {
        eq + 1
    } else if t.get(at) == Some(&':') && t.get(at + 1).is_some_and(|c| js_space(*c)) {
        at + 2
    } else {
        return None;
    };
    for q in ['\'', '"', '`'] {
        if let Some((end, m)) = quoted(t, start, q) {
            return Some((Some((start, end)), m));
        }
    }
    let run = t[start..]
        .iter()
        .take_while(|c| !matches!(c, '#' | '\r' | '\n'))
        .count();
    if run > 0 {
        // The greedy run stops at `#`, `\n` or the end, where the tail matches at once.
        let end = start + run;
        return tail(t, end).map(|m| (Some((start, end)), m));
    }
    tail(t, start).map(|m| (None, m))
}

/// One match of `LINE` starting at `s` (which must be at a line start): the name's span, the
/// value's span and the match's end.
#[allow(clippy::type_complexity)]
fn line_at(t: &[char], s: usize) -> Option<((usize, usize), Option<(usize, usize)>, usize)> {
    let lead = spaces(t, s);
    let key_at = |k: usize| -> Option<((usize, usize), Option<(usize, usize)>, usize)> {
        let len = t[k..].iter().take_while(|c| key_char(**c)).count();
        if len == 0 {
            return None;
        }
        let (value, end) = after_key(t, k + len)?;
        Some(((k, k + len), value, end))
    };
    // `(?:export\s+)?` is tried first; then `export` is read as the name itself.
    let word: Vec<char> = "export".chars().collect();
    if t[lead..].starts_with(&word) {
        let after = lead + word.len();
        let name = spaces(t, after);
        if name > after
            && let Some(found) = key_at(name)
        {
            return Some(found);
        }
    }
    key_at(lead)
}

/// `value.trim()`, then ``value.replace(/^(['"`])([\s\S]*)\1$/mg, "$2")`` (a quote at a line
/// start closed by the same quote at a line end, the `m` flag's lines), then, when the trimmed
/// value started with `"`, `\n` and `\r` escapes become the characters.
fn unquote(raw: &[char]) -> String {
    let start = raw.iter().take_while(|c| js_space(**c)).count();
    let end = raw.len()
        - raw[start..]
            .iter()
            .rev()
            .take_while(|c| js_space(**c))
            .count();
    let v = &raw[start..end];
    let first = v.first().copied();
    let mut out: Vec<char> = Vec::with_capacity(v.len());
    let mut from = 0;
    let mut s = 0;
    while s < v.len() {
        let line_start = s == 0 || js_line_end(v[s - 1]);
        if line_start && matches!(v[s], '\'' | '"' | '`') {
            let q = v[s];
            let close = (s + 1..v.len())
                .rev()
                .find(|j| v[*j] == q && (j + 1 == v.len() || js_line_end(v[j + 1])));
            if let Some(j) = close {
                out.extend_from_slice(&v[from..s]);
                out.extend_from_slice(&v[s + 1..j]);
                from = j + 1;
                s = j + 1;
                continue;
            }
        }
        s += 1;
    }
    out.extend_from_slice(&v[from..]);
    let mut text: String = out.into_iter().collect();
    if first == Some('"') {
        text = text.replace("\\n", "\n").replace("\\r", "\r");
    }
    text
}

/// Every assignment in `content`, in file order, as dotenv's `parse` finds them.
#[must_use]
pub fn assignments(content: &[u8]) -> Vec<Assignment> {
    let t = normalized(content);
    let mut out = Vec::new();
    let mut from = 0;
    let mut line = 1;
    let mut counted = 0;
    while from <= t.len() {
        let found = (from..=t.len())
            .filter(|s| *s == 0 || js_line_end(t[s - 1]))
            .find_map(|s| line_at(&t, s));
        let Some(((k0, k1), value, end)) = found else {
            break;
        };
        line += t[counted..k0].iter().filter(|c| **c == '\n').count();
        counted = k0;
        out.push(Assignment {
            key: t[k0..k1].iter().collect(),
            value: value.map(|(a, b)| unquote(&t[a..b])).unwrap_or_default(),
            line,
            end_line: line + t[k0..end].iter().filter(|c| **c == '\n').count(),
        });
        // A match is never empty (the name has at least one character).
        from = end;
    }
    out
}

/// `dotenv.parse(content)`: the file's variables, the last assignment of a name winning.
#[must_use]
pub fn parse(content: &[u8]) -> Vars {
    let mut vars = Vars::default();
    for a in assignments(content) {
        vars.set(&a.key, a.value);
    }
    vars
}

/// Expanding the files' values would stop wrangler: a name that is also a property every
/// JavaScript object inherits (`constructor`, `toString`, ...) makes `dotenv-expand` throw or loop
/// forever, and a reference chain that keeps growing never ends. We report it instead of
/// guessing what wrangler would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck(pub String);

/// The names `Object.prototype` provides: `obj[name]` is truthy for them even when unset.
const INHERITED: &[&str] = &[
    "constructor",
    "__defineGetter__",
    "__defineSetter__",
    "hasOwnProperty",
    "__lookupGetter__",
    "__lookupSetter__",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toString",
    "valueOf",
    "__proto__",
    "toLocaleString",
];

/// How many substitutions one value may take before we call it endless.
const MAX_STEPS: usize = 10_000;

/// `str.replace(pattern, replacement)` with a string pattern: the first occurrence, with `$$`,
/// `$&`, `` $` `` and `$'` in the replacement substituted as JavaScript does.
fn js_replace(s: &str, pattern: &str, replacement: &str) -> String {
    let Some(at) = s.find(pattern) else {
        return s.to_owned();
    };
    let mut out = String::with_capacity(s.len() + replacement.len());
    out.push_str(&s[..at]);
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('$') => out.push('$'),
            Some('&') => out.push_str(pattern),
            Some('`') => out.push_str(&s[..at]),
            Some('\'') => out.push_str(&s[at + pattern.len()..]),
            _ => {
                out.push('$');
                continue;
            }
        }
        chars.next();
    }
    out.push_str(&s[at + pattern.len()..]);
    out
}

/// The first reference in `s` (`${...}` or `$NAME`, not after a backslash): its text and the
/// expression inside.
fn reference(s: &str) -> Option<(String, String)> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('$') {
        if i > 0 && b[i - 1] == b'\\' {
            continue;
        }
        if b.get(i + 1) == Some(&b'{') {
            let inner = &s[i + 2..];
            if let Some(close) = inner.find(['{', '}'])
                && close > 0
                && inner.as_bytes()[close] == b'}'
            {
                return Some((s[i..i + 3 + close].to_owned(), inner[..close].to_owned()));
            }
        }
        let rest = &b[i + 1..];
        if rest
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            let len = rest
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            return Some((s[i..=i + len].to_owned(), s[i + 1..=i + len].to_owned()));
        }
    }
    None
}

/// The operator in a `${...}` expression: the leftmost of `:+`, `+`, `:-`, `-`.
fn operator(expr: &str) -> Option<&'static str> {
    expr.char_indices().find_map(|(i, _)| {
        let r = &expr[i..];
        [":+", "+", ":-", "-"]
            .into_iter()
            .find(|op| r.starts_with(op))
    })
}

/// `dotenv-expand`'s `expandValue`. `real` looks a name up in the real environment.
fn expand_value(
    value: &str,
    real: &impl Fn(&str) -> Option<String>,
    running: &Vars,
) -> Result<String, Stuck> {
    // `{ ...runningParsed, ...processEnv }[key]`
    let lookup = |key: &str| -> Result<Option<String>, Stuck> {
        if let Some(v) = real(key) {
            return Ok(Some(v));
        }
        if let Some(v) = running.get(key) {
            return Ok(Some(v.to_owned()));
        }
        if INHERITED.contains(&key) {
            return Err(Stuck(format!("a reference to `{key}`")));
        }
        Ok(None)
    };
    let mut result = value.to_owned();
    let mut seen: Vec<String> = Vec::new();
    let mut steps = 0;
    while let Some((template, expr)) = reference(&result) {
        steps += 1;
        if steps > MAX_STEPS || result.len() > 1 << 20 {
            return Err(Stuck("references that never finish expanding".into()));
        }
        seen.push(result.clone());
        let op = operator(&expr);
        // `expression.split(null)` splits at the text "null", and `join(null)` joins with it.
        let sep = op.unwrap_or("null");
        let mut parts = expr.split(sep);
        let key = parts.next().unwrap_or_default().to_owned();
        let rest: Vec<&str> = parts.collect();
        let found = lookup(&key)?.filter(|v| !v.is_empty());
        let replacement = if matches!(op, Some(":+" | "+")) {
            if found.is_some() {
                rest.join(sep)
            } else {
                String::new()
            }
        } else {
            match found {
                Some(v) if !seen.contains(&v) => v,
                _ => rest.join(sep),
            }
        };
        result = js_replace(&result, &template, &replacement);
        if running.get(&key) == Some(result.as_str()) {
            break;
        }
    }
    Ok(result)
}

/// The environment wrangler ends up with, as far as the files go: every variable the files set
/// (`files` in load order, each already [`parse`]d), after `dotenv-expand` against the real
/// environment. A variable the real environment holds non-empty keeps that value. Variables the
/// files do not mention are the real environment's, unchanged.
///
/// # Errors
/// Expansion would stop wrangler ([`Stuck`]).
pub fn load(files: &[Vars], real: impl Fn(&str) -> Option<String>) -> Result<Vars, Stuck> {
    let mut parsed = Vars::default();
    for file in files {
        for (k, v) in file.iter() {
            parsed.set(k, v.to_owned());
        }
    }
    let mut running = Vars::default();
    let mut out = Vars::default();
    for (key, value) in parsed.iter() {
        let from_real = match real(key) {
            Some(v) => Some(v),
            None if INHERITED.contains(&key) => {
                return Err(Stuck(format!("a variable named `{key}`")));
            }
            None => None,
        };
        let value = match from_real {
            Some(r) if !r.is_empty() && r != value => r,
            _ => expand_value(value, &real, &running)?,
        };
        let value = value.replace("\\$", "$");
        running.set(key, value.clone());
        out.set(key, value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Vec<(String, String)> {
        parse(text.as_bytes())
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn one(k: &str, v: &str) -> Vec<(String, String)> {
        vec![(k.to_owned(), v.to_owned())]
    }

    #[test]
    fn the_issue_cases() {
        assert_eq!(
            p("\u{FEFF}CLOUDFLARE_ENV=production"),
            one("CLOUDFLARE_ENV", "production")
        );
        assert_eq!(p("KEY: value"), one("KEY", "value"));
        assert_eq!(p("KEY:value"), vec![]);
        assert_eq!(p("KEY=\"a\nb\""), one("KEY", "a\nb"));
        assert_eq!(p("KEY\n=value"), one("KEY", "value"));
        assert_eq!(p("A=staging\r\nA="), one("A", ""));
        assert_eq!(
            p("A=x\rB=y"),
            vec![("A".into(), "x".into()), ("B".into(), "y".into())]
        );
        assert_eq!(p("export A = 'a#b' # c"), one("A", "a#b"));
        assert_eq!(p("A=\"x\\ny\""), one("A", "x\ny"));
        assert_eq!(p("A='x\\ny'"), one("A", "x\\ny"));
        assert_eq!(p("A=x#y"), one("A", "x"));
        assert_eq!(
            p("__proto__=x\n2=b\n1=a"),
            vec![("1".into(), "a".into()), ("2".into(), "b".into())]
        );
    }

    /// The cases the line reader this module replaced (`credentials::dotenv_value`) was tested on,
    /// read by the port. One answer differs on purpose: `KEY=#c` gives the empty value, which
    /// wrangler keeps as a value (the old reader called it unset).
    #[test]
    fn the_former_line_reader_cases() {
        let v = |text: &str| {
            parse(text.as_bytes())
                .get("CLOUDFLARE_ENV")
                .map(str::to_owned)
        };
        assert_eq!(
            v("CLOUDFLARE_ENV=production#staging"),
            Some("production".into())
        );
        assert_eq!(v("CLOUDFLARE_ENV=#staging"), Some(String::new()));
        assert_eq!(
            v("CLOUDFLARE_ENV=staging\nexport\tCLOUDFLARE_ENV=production"),
            Some("production".into())
        );
        assert_eq!(
            v("CLOUDFLARE_ENV=staging\rCLOUDFLARE_ENV=production"),
            Some("production".into())
        );
        assert_eq!(v("CLOUDFLARE_ENV='a#b'"), Some("a#b".into()));
        assert_eq!(
            v("\u{feff}CLOUDFLARE_ENV=production"),
            Some("production".into())
        );
    }

    #[test]
    fn load_order_and_precedence() {
        let files = [
            parse(b"CLOUDFLARE_ENV=staging\nB=1"),
            parse(b"CLOUDFLARE_ENV="),
        ];
        let none = |_: &str| None;
        let out = load(&files, none).unwrap();
        assert_eq!(out.get("CLOUDFLARE_ENV"), Some(""));
        let real = |k: &str| (k == "B").then(|| "2".to_owned());
        assert_eq!(load(&files, real).unwrap().get("B"), Some("2"));
        let files = [parse(b"A=${STAGE:-staging}\nB=$A-x\nC=\\$A")];
        let out = load(&files, none).unwrap();
        assert_eq!(out.get("B"), Some("staging-x"));
        assert_eq!(out.get("C"), Some("$A"));
        assert!(load(&[parse(b"constructor=1")], none).is_err());
        assert_eq!(files_for(Some(&[]), Some("x")), Vec::<PathBuf>::new());
        assert_eq!(
            files_for(None, Some("")),
            ["/p/.env", "/p/.env.local", "/p/.env.", "/p/.env..local"]
                .map(PathBuf::from)
                .to_vec()
        );
    }

    fn files_for(given: Option<&[&str]>, env: Option<&str>) -> Vec<PathBuf> {
        files(Path::new("/p"), given, env)
    }
}
