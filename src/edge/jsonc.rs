//! The one editor for users' JSON files: `hook install` (agents' settings, JSONC) and
//! `scripts --write` (package.json, strict JSON).
//!
//! A file is read into `jsonc-parser`'s concrete syntax tree, which keeps every byte (comments,
//! blanks, commas). The caller says what the file's *value* should become ([`Document::edited`]);
//! the editor compares the old value with the new one and changes only the text that must change:
//! a scalar that differs is replaced where it stands, a new member or array element is inserted
//! after the last one in the file's own style (its newline, indentation unit, `key: value` spacing
//! and trailing commas), and a container that differs is edited inside, recursively. Everything
//! else, comments included, stays byte for byte: key order, CRLF, a byte-order mark, a final
//! newline or its absence.
//!
//! The edits are splices of text at positions the tree gives, not tree mutations: the crate's own
//! insertion reflows a one-line object onto several lines and trims blank lines, which is more
//! than we may change in a user's file. The result is parsed again and must read as the intended
//! value, or nothing is written.
//!
//! [`write`] replaces the file atomically (a temporary file beside it, renamed over it) with the
//! old file's permission bits, owner where we may set it, and through a symlink to its target.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstNode, CstRootNode};
use serde_json::Value;

/// Which syntax a file may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Strict JSON (package.json: npm reads it with `JSON.parse`).
    Json,
    /// JSON with `//` and `/* */` comments and trailing commas (agents' settings files).
    Jsonc,
}

impl Dialect {
    fn options(self) -> ParseOptions {
        let jsonc = self == Dialect::Jsonc;
        ParseOptions {
            allow_comments: jsonc,
            allow_trailing_commas: jsonc,
            allow_loose_object_property_names: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
            allow_bare_decimal_point_numbers: false,
            allow_non_finite_numbers: false,
            allow_extended_string_escapes: false,
        }
    }

    /// The value of `body` as the file's readers see it (`serde_json`'s error on failure, with
    /// the line and column of the original text).
    fn value(self, body: &str) -> Result<Value, String> {
        let parsed = match self {
            Dialect::Json => serde_json::from_str(body),
            Dialect::Jsonc => serde_json::from_str(&crate::wrangler::config::strip_jsonc(body)),
        };
        parsed.map_err(|e| e.to_string())
    }
}

const BOM: &str = "\u{feff}";

/// A parsed file: its text, its tree and its value.
pub struct Document {
    dialect: Dialect,
    bom: bool,
    /// The text after the byte-order mark.
    body: String,
    value: Value,
    /// Kept alive for as long as the document: the tree's nodes hold weak references to it.
    root: CstRootNode,
    style: Style,
}

/// Why a file cannot be edited: a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The text is not valid in its dialect (`serde_json`'s message, with line and column).
    Syntax(String),
    /// The editor could not place the change (a bug of ours): nothing is written.
    Layout,
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditError::Syntax(e) => f.write_str(e),
            EditError::Layout => f.write_str("its layout could not be read (please report this)"),
        }
    }
}

/// How the file writes what we add.
#[derive(Debug, Clone)]
struct Style {
    newline: &'static str,
    /// One level of indentation.
    unit: String,
    /// The text between a key and its value (`: `, `:`, ` : `).
    colon: String,
    /// The file ends its multi-line objects and arrays with a comma.
    trailing_commas: bool,
    /// The root value spans several lines: new containers are written on several lines too.
    multiline: bool,
}

/// A child of a container with its byte range in the body.
#[derive(Clone)]
struct Placed {
    node: CstNode,
    start: usize,
    end: usize,
}

/// The children of `node` (which starts at `start`) with their positions.
fn placed_children(node: &CstNode, start: usize) -> Vec<Placed> {
    let mut at = start;
    node.children()
        .into_iter()
        .map(|child| {
            let len = child.to_string().len();
            let placed = Placed {
                node: child,
                start: at,
                end: at + len,
            };
            at += len;
            placed
        })
        .collect()
}

fn is_blank(node: &CstNode) -> bool {
    node.is_whitespace() || node.is_newline()
}

/// A value, member or element: not whitespace, a comment or a token.
fn is_entry(node: &CstNode) -> bool {
    !node.is_trivia() && !node.is_token()
}

/// One change to the body: `start..end` becomes `text`.
struct Splice {
    start: usize,
    end: usize,
    text: String,
}

impl Document {
    /// Reads `text` (with or without a byte-order mark) in `dialect`.
    ///
    /// # Errors
    /// [`EditError::Syntax`] when the text is not valid in `dialect`.
    pub fn parse(text: &str, dialect: Dialect) -> Result<Document, EditError> {
        let (bom, body) = match text.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let value = dialect.value(body).map_err(EditError::Syntax)?;
        let root = CstRootNode::parse(body, &dialect.options())
            .map_err(|e| EditError::Syntax(e.to_string()))?;
        if root.to_string() != body {
            return Err(EditError::Layout);
        }
        let style = Style::of(&root, body);
        Ok(Document {
            dialect,
            bom,
            body: body.to_owned(),
            value,
            root,
            style,
        })
    }

    /// The file's value.
    #[must_use]
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The file's text changed as little as possible so that it reads as `new`. Members are never
    /// removed and arrays never shortened: an edit that would need it is refused.
    ///
    /// # Errors
    /// [`EditError::Layout`] when the change cannot be placed or the result would not read as
    /// `new` (nothing should be written then).
    pub fn edited(&self, new: &Value) -> Result<String, EditError> {
        let mut splices = Vec::new();
        let start = placed_children(&CstNode::Container(self.root.clone().into()), 0)
            .into_iter()
            .find(|p| is_entry(&p.node))
            .ok_or(EditError::Layout)?;
        self.patch(&start, &self.value, new, &mut splices)?;
        let mut out = String::with_capacity(self.body.len() + 256);
        if self.bom {
            out.push_str(BOM);
        }
        let mut at = 0;
        // Stable: splices at one position stay in the order they were made.
        splices.sort_by_key(|s| s.start);
        for s in &splices {
            if s.start < at {
                return Err(EditError::Layout);
            }
            out.push_str(self.body.get(at..s.start).ok_or(EditError::Layout)?);
            out.push_str(&s.text);
            at = s.end;
        }
        out.push_str(self.body.get(at..).ok_or(EditError::Layout)?);
        // The result must read as intended, in the same dialect, with the same tree.
        match Document::parse(&out, self.dialect) {
            Ok(doc) if doc.value == *new => Ok(out),
            _ => Err(EditError::Layout),
        }
    }

    /// Edits `node` (whose value is `old`) so that it reads as `new`.
    fn patch(
        &self,
        node: &Placed,
        old: &Value,
        new: &Value,
        out: &mut Vec<Splice>,
    ) -> Result<(), EditError> {
        if old == new {
            return Ok(());
        }
        match (old, new) {
            (Value::Object(o), Value::Object(n)) if node.node.as_object().is_some() => {
                if o.keys().any(|k| !n.contains_key(k)) {
                    return Err(EditError::Layout);
                }
                let kids = placed_children(&node.node, node.start);
                let mut added = Vec::new();
                for (key, value) in n {
                    let Some(before) = o.get(key) else {
                        added.push((Some(key.as_str()), value));
                        continue;
                    };
                    if before == value {
                        continue;
                    }
                    // The last member of a name is the one JSON readers keep.
                    let prop = kids
                        .iter()
                        .rev()
                        .find(|p| {
                            p.node.as_object_prop().is_some_and(|prop| {
                                prop.name().and_then(|n| n.decoded_value().ok()).as_deref()
                                    == Some(key.as_str())
                            })
                        })
                        .ok_or(EditError::Layout)?;
                    let inner = placed_children(&prop.node, prop.start);
                    // The value is the first entry after the colon.
                    let colon = inner
                        .iter()
                        .position(|p| p.node.token_char() == Some(':'))
                        .ok_or(EditError::Layout)?;
                    let value_node = inner[colon + 1..]
                        .iter()
                        .find(|p| is_entry(&p.node))
                        .ok_or(EditError::Layout)?;
                    self.patch(value_node, before, value, out)?;
                }
                if !added.is_empty() {
                    self.append(&kids, &added, out)?;
                }
                Ok(())
            }
            (Value::Array(o), Value::Array(n))
                if node.node.as_array().is_some() && n.len() >= o.len() =>
            {
                let kids = placed_children(&node.node, node.start);
                let elements: Vec<&Placed> = kids.iter().filter(|p| is_entry(&p.node)).collect();
                if elements.len() != o.len() {
                    return Err(EditError::Layout);
                }
                for ((element, before), after) in elements.iter().zip(o).zip(n) {
                    self.patch(element, before, after, out)?;
                }
                let added: Vec<(Option<&str>, &Value)> =
                    n[o.len()..].iter().map(|v| (None, v)).collect();
                if !added.is_empty() {
                    self.append(&kids, &added, out)?;
                }
                Ok(())
            }
            // Shortening an array is not an edit we make.
            (Value::Array(o), Value::Array(n)) if n.len() < o.len() => Err(EditError::Layout),
            _ => {
                let indent = self.line_indent(node.start);
                let text = self.render(new, &indent, self.style.multiline);
                out.push(Splice {
                    start: node.start,
                    end: node.end,
                    text,
                });
                Ok(())
            }
        }
    }

    /// Adds `items` (members with their key, or array elements) at the end of the container whose
    /// children are `kids`.
    fn append(
        &self,
        kids: &[Placed],
        items: &[(Option<&str>, &Value)],
        out: &mut Vec<Splice>,
    ) -> Result<(), EditError> {
        let (Some(open), Some(close)) = (kids.first(), kids.last()) else {
            return Err(EditError::Layout);
        };
        if kids.len() < 2 {
            return Err(EditError::Layout);
        }
        let inner = &kids[1..kids.len() - 1];
        let entries: Vec<&Placed> = inner.iter().filter(|p| is_entry(&p.node)).collect();
        let has_newline = inner.iter().any(|p| p.node.is_newline());
        let outer = self.line_indent(open.start);
        let colon = entries
            .last()
            .and_then(|last| self.colon_of(last))
            .unwrap_or_else(|| self.style.colon.clone());
        let Some(last) = entries.last() else {
            self.fill_empty(open, close, inner, items, &colon, out);
            return Ok(());
        };
        let comma_after_last = inner
            .iter()
            .skip_while(|p| p.start < last.end)
            .take_while(|p| p.node.is_trivia() || p.node.is_comma())
            .any(|p| p.node.is_comma());
        // After the last thing before the closing brace: the last entry, its comma, or a comment.
        let at = inner
            .iter()
            .rev()
            .find(|p| !is_blank(&p.node))
            .map_or(last.end, |p| p.end);
        // A container on one line whose last entry spans several (`[{` ... `}]`) gets entries
        // written like that one: after `, ` and over several lines.
        let spans_lines = self
            .body
            .get(last.start..last.end)
            .is_some_and(|t| t.contains('\n'));
        let (indent, lead) = if has_newline {
            let indent = self
                .indent_if_first(last.start)
                .unwrap_or_else(|| format!("{outer}{}", self.style.unit));
            (indent.clone(), format!("{}{indent}", self.style.newline))
        } else {
            (
                self.line_indent(last.start),
                self.one_line_gap(&entries, open, &colon),
            )
        };
        let rendered = self.items(items, &colon, &indent, has_newline || spans_lines);
        if !comma_after_last {
            out.push(Splice {
                start: last.end,
                end: last.end,
                text: ",".to_owned(),
            });
        }
        let mut text = String::new();
        for (i, item) in rendered.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&lead);
            text.push_str(item);
        }
        if comma_after_last {
            // The container ends with a comma: so do the entries added to it.
            text.push(',');
        }
        out.push(Splice {
            start: at,
            end: at,
            text,
        });
        Ok(())
    }

    /// Fills an empty container (`{}`, `{ }`, `{\n}`, or one holding only comments) with `items`.
    fn fill_empty(
        &self,
        open: &Placed,
        close: &Placed,
        inner: &[Placed],
        items: &[(Option<&str>, &Value)],
        colon: &str,
        out: &mut Vec<Splice>,
    ) {
        let has_newline = inner.iter().any(|p| p.node.is_newline());
        let outer = self.line_indent(open.start);
        let only_blanks = inner.iter().all(|p| is_blank(&p.node));
        let multiline = if only_blanks {
            self.style.multiline
        } else {
            has_newline
        };
        let indent = format!("{outer}{}", self.style.unit);
        let rendered = self.items(items, colon, &indent, multiline);
        if only_blanks {
            let text = if multiline {
                let comma = if self.style.trailing_commas { "," } else { "" };
                format!(
                    "{}{comma}{nl}{outer}",
                    self.joined(&rendered, multiline, &indent),
                    nl = self.style.newline
                )
            } else {
                self.joined(&rendered, false, "").trim_start().to_owned()
            };
            out.push(Splice {
                start: open.end,
                end: close.start,
                text,
            });
        } else {
            // After the last comment inside; the blanks before the closing brace stay.
            let at = inner
                .iter()
                .rev()
                .find(|p| !is_blank(&p.node))
                .map_or(open.end, |p| p.end);
            let mut text = self.joined(&rendered, multiline, &indent);
            if multiline && self.style.trailing_commas {
                text.push(',');
            }
            out.push(Splice {
                start: at,
                end: at,
                text,
            });
        }
    }

    /// The blanks between entries of a one-line container, copied from it (`, ` or `,`).
    fn one_line_gap(&self, entries: &[&Placed], open: &Placed, colon: &str) -> String {
        let between = match entries {
            [.., a, b] => self
                .body
                .get(a.end..b.start)
                .map(|t| t.trim_start_matches(|c: char| c.is_whitespace()))
                .and_then(|t| t.strip_prefix(',')),
            [first] => self.body.get(open.end..first.start),
            [] => None,
        };
        match between {
            Some(gap) if !gap.is_empty() && gap.chars().all(|c| c == ' ' || c == '\t') => {
                gap.to_owned()
            }
            _ if colon.ends_with(' ') => " ".to_owned(),
            _ => String::new(),
        }
    }

    /// Each item written as it will stand (a member with its key).
    fn items(
        &self,
        items: &[(Option<&str>, &Value)],
        colon: &str,
        indent: &str,
        multiline: bool,
    ) -> Vec<String> {
        items
            .iter()
            .map(|(key, value)| {
                let value = self.render(value, indent, multiline);
                match key {
                    Some(key) => format!("{}{colon}{value}", quoted(key)),
                    None => value,
                }
            })
            .collect()
    }

    /// Items joined into the text inserted into a container: each on its own line at `indent`,
    /// or after `, ` on one line.
    fn joined(&self, rendered: &[String], multiline: bool, indent: &str) -> String {
        let mut text = String::new();
        for (i, item) in rendered.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            if multiline {
                text.push_str(self.style.newline);
                text.push_str(indent);
            } else {
                text.push(' ');
            }
            text.push_str(item);
        }
        text
    }

    /// `value` written in the file's style, for a place whose line is indented by `indent`.
    fn render(&self, value: &Value, indent: &str, multiline: bool) -> String {
        let inner = format!("{indent}{}", self.style.unit);
        let (open, close, items): (char, char, Vec<String>) = match value {
            Value::Object(map) if !map.is_empty() => (
                '{',
                '}',
                map.iter()
                    .map(|(k, v)| {
                        format!(
                            "{}{}{}",
                            quoted(k),
                            self.style.colon,
                            self.render(v, &inner, multiline)
                        )
                    })
                    .collect(),
            ),
            Value::Array(list) if !list.is_empty() => (
                '[',
                ']',
                list.iter()
                    .map(|v| self.render(v, &inner, multiline))
                    .collect(),
            ),
            other => return serde_json::to_string(other).unwrap_or_default(),
        };
        if multiline {
            let comma = if self.style.trailing_commas { "," } else { "" };
            format!(
                "{open}{}{comma}{nl}{indent}{close}",
                self.joined(&items, true, &inner),
                nl = self.style.newline
            )
        } else {
            format!("{open}{}{close}", items.join(", "))
        }
    }

    /// The text between a member's key and its value, when it is only blanks and the colon.
    fn colon_of(&self, member: &Placed) -> Option<String> {
        let kids = placed_children(&member.node, member.start);
        let key = kids.iter().find(|p| is_entry(&p.node))?;
        let value = kids
            .iter()
            .skip_while(|p| p.start <= key.start)
            .find(|p| is_entry(&p.node))?;
        let text = self.body.get(key.end..value.start)?;
        (text.trim_matches([' ', '\t']) == ":").then(|| text.to_owned())
    }

    /// The blanks at the start of the line holding byte `at`.
    fn line_indent(&self, at: usize) -> String {
        let line_start = self.body[..at].rfind('\n').map_or(0, |i| i + 1);
        self.body[line_start..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect()
    }

    /// The blanks before byte `at` on its line, when only blanks precede it there.
    fn indent_if_first(&self, at: usize) -> Option<String> {
        let line_start = self.body[..at].rfind('\n').map_or(0, |i| i + 1);
        let lead = &self.body[line_start..at];
        lead.chars()
            .all(|c| c == ' ' || c == '\t')
            .then(|| lead.to_owned())
    }
}

impl Style {
    fn of(root: &CstRootNode, body: &str) -> Style {
        let newline = if body.contains("\r\n") { "\r\n" } else { "\n" };
        let root_kids = placed_children(&CstNode::Container(root.clone().into()), 0);
        let value = root_kids.iter().find(|p| is_entry(&p.node));
        let multiline = value.is_some_and(|v| body[v.start..v.end].contains('\n'));
        let first_member = value.and_then(|v| {
            placed_children(&v.node, v.start)
                .into_iter()
                .find(|p| p.node.as_object_prop().is_some())
        });
        let unit = first_member
            .as_ref()
            .and_then(|m| {
                let line_start = body[..m.start].rfind('\n').map(|i| i + 1)?;
                let lead = &body[line_start..m.start];
                (!lead.is_empty() && lead.chars().all(|c| c == ' ' || c == '\t'))
                    .then(|| lead.to_owned())
            })
            .or_else(|| {
                // No member to copy: the first indented line (a comment, say).
                body.lines().find_map(|line| {
                    let rest = line.trim_start_matches([' ', '\t']);
                    (rest.len() < line.len() && !rest.trim().is_empty())
                        .then(|| line[..line.len() - rest.len()].to_owned())
                })
            })
            .unwrap_or_else(|| "  ".to_owned());
        let colon = first_member
            .as_ref()
            .and_then(|m| {
                let kids = placed_children(&m.node, m.start);
                let key = kids.iter().find(|p| is_entry(&p.node))?;
                let value = kids
                    .iter()
                    .skip_while(|p| p.start <= key.start)
                    .find(|p| is_entry(&p.node))?;
                let text = body.get(key.end..value.start)?;
                (text.trim_matches([' ', '\t']) == ":").then(|| text.to_owned())
            })
            .unwrap_or_else(|| ": ".to_owned());
        Style {
            newline,
            unit,
            colon,
            trailing_commas: value.is_some_and(|v| uses_trailing_commas(&v.node)),
            multiline,
        }
    }
}

/// Whether a multi-line object or array of the file ends with a comma after its last entry.
fn uses_trailing_commas(node: &CstNode) -> bool {
    let kids = node.children();
    let entries: Vec<usize> = kids
        .iter()
        .enumerate()
        .filter(|(_, k)| is_entry(k))
        .map(|(i, _)| i)
        .collect();
    if (node.as_object().is_some() || node.as_array().is_some())
        && kids.iter().any(CstNode::is_newline)
        && let Some(&last) = entries.last()
        && kids[last + 1..]
            .iter()
            .take_while(|k| k.is_trivia() || k.is_comma())
            .any(CstNode::is_comma)
    {
        return true;
    }
    kids.iter().filter(|k| is_entry(k)).any(|k| {
        let value = k
            .as_object_prop()
            .and_then(|p| p.value())
            .unwrap_or_else(|| k.clone());
        (value.as_object().is_some() || value.as_array().is_some()) && uses_trailing_commas(&value)
    })
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// What a reader of `text` that accepts only strict JSON, plus comments and trailing commas where
/// it says so, would stumble on: a byte-order mark, comments or trailing commas. `None` when it
/// reads the text.
#[must_use]
pub fn refused_by(text: &str, comments: bool, trailing_commas: bool) -> Option<&'static str> {
    if text.starts_with(BOM) {
        return Some("a byte-order mark");
    }
    let reads = |comments, trailing_commas| {
        let options = ParseOptions {
            allow_comments: comments,
            allow_trailing_commas: trailing_commas,
            ..Dialect::Json.options()
        };
        jsonc_parser::parse_to_value(text, &options).is_ok()
    };
    if !comments && !reads(false, true) {
        return Some("comments");
    }
    if !trailing_commas && !reads(true, false) {
        return Some("trailing commas");
    }
    None
}

/// Writes `text` to `path`, creating its parent directories.
///
/// The file is replaced atomically: written to a temporary file in the same directory and renamed
/// over it, with the old file's permission bits (and owner, where we may set it). A symlink is
/// followed and its target replaced. A file without write permission is refused (root could write
/// it anyway: we do not). A file with other hard links is written in place instead, so the links
/// stay one file (an atomic rename would split them).
///
/// # Errors
/// The I/O error, with nothing changed.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let existing = match fs::metadata(&target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(meta) = &existing {
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        if meta.permissions().mode() & 0o222 == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the file is read-only; make it writable (chmod u+w) and run again",
            ));
        }
        if meta.nlink() > 1 {
            return write_in_place(&target, text);
        }
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".safe-wrangler-")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    if let Some(meta) = &existing {
        tmp.as_file().set_permissions(fs::Permissions::from_mode(
            meta.permissions().mode() & 0o7777,
        ))?;
        // Best effort: only root may give a file away; anyone may keep their own.
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

/// Writes through the existing file (the same inode): for a file with other hard links.
fn write_in_place(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = fs::OpenOptions::new().write(true).open(path)?;
    file.write_all_at(text.as_bytes(), 0)?;
    file.set_len(text.len() as u64)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::{Agent, merge, snippet};
    use serde_json::json;

    /// The text after merging `addition` into `text` the way `hook install` does.
    fn install(text: &str, addition: &Value) -> String {
        let doc = Document::parse(text, Dialect::Jsonc).unwrap();
        doc.edited(&merge(doc.value().clone(), addition)).unwrap()
    }

    fn edit(text: &str, dialect: Dialect, new: &Value) -> Result<String, EditError> {
        Document::parse(text, dialect)?.edited(new)
    }

    #[test]
    fn a_commented_tab_indented_settings_file_keeps_its_comments_and_tabs() {
        let text =
            "{\n\t// my model\n\t\"model\": \"pro\", /* why */\n\t\"theme\": \"dark\" // last\n}";
        let out = install(text, &snippet(Agent::Gemini, "safe-wrangler"));
        assert_eq!(
            out,
            "{\n\t// my model\n\t\"model\": \"pro\", /* why */\n\t\"theme\": \"dark\", // last\n\t\"hooks\": {\n\t\t\"BeforeTool\": [\n\t\t\t{\n\t\t\t\t\"matcher\": \"^run_shell_command$\",\n\t\t\t\t\"hooks\": [\n\t\t\t\t\t{\n\t\t\t\t\t\t\"name\": \"safe-wrangler\",\n\t\t\t\t\t\t\"type\": \"command\",\n\t\t\t\t\t\t\"command\": \"safe-wrangler hook gemini || exit 2\",\n\t\t\t\t\t\t\"timeout\": 30000\n\t\t\t\t\t}\n\t\t\t\t]\n\t\t\t}\n\t\t]\n\t}\n}"
        );
        // Idempotent, byte for byte.
        assert_eq!(install(&out, &snippet(Agent::Gemini, "safe-wrangler")), out);
    }

    #[test]
    fn appends_to_an_existing_event_list_in_its_style_with_crlf_bom_and_trailing_commas() {
        let text = "\u{feff}{\r\n    \"hooks\": {\r\n        \"PreToolUse\": [\r\n            // mine\r\n            { \"matcher\": \"Edit\", \"hooks\": [] },\r\n        ],\r\n    },\r\n}\r\n";
        let out = install(text, &snippet(Agent::Claude, "safe-wrangler"));
        assert_eq!(
            out,
            "\u{feff}{\r\n    \"hooks\": {\r\n        \"PreToolUse\": [\r\n            // mine\r\n            { \"matcher\": \"Edit\", \"hooks\": [] },\r\n            {\r\n                \"matcher\": \"Bash\",\r\n                \"hooks\": [\r\n                    {\r\n                        \"type\": \"command\",\r\n                        \"command\": \"safe-wrangler hook claude || exit 2\",\r\n                        \"timeout\": 30,\r\n                    },\r\n                ],\r\n            },\r\n        ],\r\n    },\r\n}\r\n"
        );
    }

    #[test]
    fn an_old_entry_is_changed_where_it_stands() {
        let text = "{\n  \"hooks\": {\n    \"PreToolUse\": [\n      {\"matcher\": \"Bash\", \"hooks\": [{\"type\": \"command\", \"command\": \"/opt/bin/safe-wrangler hook claude\", \"timeout\": 5 /* was 5 */}]}\n    ]\n  }\n}\n";
        let out = install(text, &snippet(Agent::Claude, "safe-wrangler"));
        assert_eq!(
            out,
            "{\n  \"hooks\": {\n    \"PreToolUse\": [\n      {\"matcher\": \"Bash\", \"hooks\": [{\"type\": \"command\", \"command\": \"safe-wrangler hook claude || exit 2\", \"timeout\": 30 /* was 5 */}]}\n    ]\n  }\n}\n"
        );
    }

    #[test]
    fn an_array_on_one_line_holding_a_multi_line_entry_gets_one_like_it() {
        let text = "{\n  \"hooks\": {\n    \"PreToolUse\": [{\n      \"matcher\": \"Edit\",\n      \"hooks\": []\n    }]\n  }\n}\n";
        let out = install(text, &snippet(Agent::Claude, "sw"));
        assert_eq!(
            out,
            "{\n  \"hooks\": {\n    \"PreToolUse\": [{\n      \"matcher\": \"Edit\",\n      \"hooks\": []\n    }, {\n      \"matcher\": \"Bash\",\n      \"hooks\": [\n        {\n          \"type\": \"command\",\n          \"command\": \"sw hook claude || exit 2\",\n          \"timeout\": 30\n        }\n      ]\n    }]\n  }\n}\n"
        );
    }

    #[test]
    fn one_line_files_stay_on_one_line() {
        assert_eq!(
            install("{}", &snippet(Agent::Cursor, "sw")),
            "{\"version\": 1, \"hooks\": {\"beforeShellExecution\": [{\"command\": \"sw hook cursor\", \"timeout\": 30, \"failClosed\": true}]}}"
        );
        assert_eq!(
            edit(
                "{\"a\":1 /* c */}",
                Dialect::Jsonc,
                &json!({"a": 1, "b": [true]})
            )
            .unwrap(),
            "{\"a\":1, /* c */\"b\":[true]}"
        );
    }

    #[test]
    fn empty_containers_and_containers_holding_only_comments() {
        assert_eq!(
            edit("{\n}", Dialect::Jsonc, &json!({"a": 1})).unwrap(),
            "{\n  \"a\": 1\n}"
        );
        assert_eq!(
            edit(
                "{\n\t// nothing yet\n}\n",
                Dialect::Jsonc,
                &json!({"a": {"b": 2}})
            )
            .unwrap(),
            "{\n\t// nothing yet\n\t\"a\": {\n\t\t\"b\": 2\n\t}\n}\n"
        );
        assert_eq!(
            edit(
                "{\"x\": [ /* none */ ]}",
                Dialect::Jsonc,
                &json!({"x": [1, 2]})
            )
            .unwrap(),
            "{\"x\": [ /* none */ 1, 2 ]}"
        );
    }

    #[test]
    fn comments_outside_the_value_and_a_missing_final_newline_stay() {
        let text = "// settings\n/* head */ {\"a\": 1} // tail";
        assert_eq!(
            edit(text, Dialect::Jsonc, &json!({"a": 2})).unwrap(),
            "// settings\n/* head */ {\"a\": 2} // tail"
        );
    }

    #[test]
    fn duplicate_keys_edit_the_last_one_as_readers_do() {
        let text = "{\"a\": {\"x\": 1}, \"a\": {\"y\": 1}}";
        let doc = Document::parse(text, Dialect::Json).unwrap();
        assert_eq!(doc.value(), &json!({"a": {"y": 1}}));
        assert_eq!(
            doc.edited(&json!({"a": {"y": 1, "z": 2}})).unwrap(),
            "{\"a\": {\"x\": 1}, \"a\": {\"y\": 1, \"z\": 2}}"
        );
    }

    #[test]
    fn a_value_of_another_type_is_replaced_and_removals_are_refused() {
        assert_eq!(
            edit("{\"a\": 1}", Dialect::Json, &json!({"a": [1]})).unwrap(),
            "{\"a\": [1]}"
        );
        assert_eq!(
            edit("[1, 2]", Dialect::Json, &json!({"k": "v"})).unwrap(),
            "{\"k\": \"v\"}"
        );
        assert_eq!(
            edit("{\"a\": 1, \"b\": 2}", Dialect::Json, &json!({"a": 1})),
            Err(EditError::Layout)
        );
        assert_eq!(
            edit("[1, 2]", Dialect::Json, &json!([1])),
            Err(EditError::Layout)
        );
    }

    #[test]
    fn strict_json_refuses_comments_and_trailing_commas_jsonc_reads_them() {
        for bad in [
            "{\"a\": 1,}",
            "// c\n{}",
            "{",
            "",
            "{'a': 1}",
            "{a: 1}",
            "[0x1]",
        ] {
            assert!(
                matches!(
                    Document::parse(bad, Dialect::Json),
                    Err(EditError::Syntax(_))
                ),
                "{bad}"
            );
        }
        for bad in ["{", "", "{'a': 1}", "{a: 1}", "{\"a\": 1 \"b\": 2}"] {
            assert!(
                matches!(
                    Document::parse(bad, Dialect::Jsonc),
                    Err(EditError::Syntax(_))
                ),
                "{bad}"
            );
        }
        let doc = Document::parse("{\"a\": [1, /* x */ 2,], // y\n}", Dialect::Jsonc).unwrap();
        assert_eq!(doc.value(), &json!({"a": [1, 2]}));
        // serde_json's message, with the line.
        let Err(EditError::Syntax(why)) = Document::parse("{\n\"a\": 1,\n}", Dialect::Json) else {
            panic!("accepted");
        };
        assert!(why.contains("line 3"), "{why}");
    }

    #[test]
    fn what_a_stricter_reader_refuses() {
        assert_eq!(refused_by("{\"a\": 1}", false, false), None);
        assert_eq!(
            refused_by("{\"a\": 1} // c", false, false),
            Some("comments")
        );
        assert_eq!(refused_by("{\"a\": 1} // c", true, false), None);
        assert_eq!(
            refused_by("{\"a\": [1,]}", true, false),
            Some("trailing commas")
        );
        assert_eq!(refused_by("{\"a\": [1,]}", true, true), None);
        assert_eq!(
            refused_by("\u{feff}{}", true, true),
            Some("a byte-order mark")
        );
        // A `//` inside a string is not a comment.
        assert_eq!(refused_by("{\"u\": \"https://x\"}", false, false), None);
    }

    #[test]
    fn unchanged_values_give_the_same_bytes() {
        for text in [
            "{}",
            "\u{feff}{ \"a\" : 1 }\r\n",
            "{\n\t\"a\": [1, {\"b\": null}], // c\n}",
        ] {
            let doc = Document::parse(text, Dialect::Jsonc).unwrap();
            assert_eq!(doc.edited(doc.value()).unwrap(), text);
        }
    }

    #[test]
    fn write_is_atomic_keeps_the_mode_follows_symlinks_and_refuses_read_only_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/settings.json");
        write(&path, "{}\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}\n");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, "{\"a\": 1}\n").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        write(&link, "{\"b\": 2}\n").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"b\": 2}\n");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
        let err = write(&path, "{}").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"b\": 2}\n");
        // No temporary file is left beside it.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["settings.json"]);
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        /// A small deterministic source of formatting choices.
        struct Rng(u64);

        impl Rng {
            fn next(&mut self) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            }
            fn chance(&mut self, percent: u64) -> bool {
                self.next() % 100 < percent
            }
            fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
                let n = from.len() as u64;
                from[usize::try_from(self.next() % n).unwrap_or(0)]
            }
        }

        /// Prints generated JSONC: random blanks, comments (each with a unique number),
        /// one-line or multi-line containers, and collects every comment written.
        struct Printer {
            rng: Rng,
            nl: &'static str,
            unit: &'static str,
            colon: &'static str,
            trailing: bool,
            /// Whether comments may be written (strict JSON: no).
            commented: bool,
            comments: Vec<String>,
            out: String,
        }

        impl Printer {
            fn comment(&mut self, line: bool) -> String {
                let n = self.comments.len();
                let body = self
                    .rng
                    .pick(&["note", "\"hooks\": {}", "} ] ,", "*/ no", "é"]);
                let text = if line {
                    format!("// c{n} {body}")
                } else {
                    format!("/* c{n} {} */", body.replace("*/", "* /"))
                };
                self.comments.push(text.clone());
                text
            }

            fn inline_comment(&mut self) {
                if self.commented && self.rng.chance(15) {
                    let c = self.comment(false);
                    self.out.push_str(&c);
                    self.out.push(' ');
                }
            }

            fn value(&mut self, v: &Value, indent: &str) {
                let (open, close, entries): (char, char, Vec<(Option<&String>, &Value)>) = match v {
                    Value::Object(m) => ('{', '}', m.iter().map(|(k, v)| (Some(k), v)).collect()),
                    Value::Array(a) => ('[', ']', a.iter().map(|v| (None, v)).collect()),
                    other => {
                        self.out.push_str(&other.to_string());
                        return;
                    }
                };
                let multiline = self.rng.chance(70);
                let inner = format!("{indent}{}", self.unit);
                self.out.push(open);
                let n = entries.len();
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    if multiline {
                        if self.rng.chance(10) {
                            self.out.push_str(self.nl);
                        }
                        self.out.push_str(self.nl);
                        self.out.push_str(&inner);
                        if self.commented && self.rng.chance(20) {
                            let c = self.comment(true);
                            self.out.push_str(&c);
                            self.out.push_str(self.nl);
                            self.out.push_str(&inner);
                        }
                    } else if i > 0 || self.rng.chance(30) {
                        self.out.push(' ');
                    }
                    self.inline_comment();
                    if let Some(key) = key {
                        self.out.push_str(&Value::String(key.clone()).to_string());
                        self.out.push_str(self.colon);
                        self.inline_comment();
                    }
                    self.value(value, &inner);
                    if i + 1 < n || (self.trailing && multiline) {
                        self.out.push(',');
                    }
                    if multiline && self.commented && self.rng.chance(20) {
                        self.out.push(' ');
                        let c = self.comment(true);
                        self.out.push_str(&c);
                    }
                }
                if multiline {
                    if n == 0 && self.commented && self.rng.chance(30) {
                        self.out.push_str(self.nl);
                        self.out.push_str(&inner);
                        let c = self.comment(true);
                        self.out.push_str(&c);
                    }
                    self.out.push_str(self.nl);
                    self.out.push_str(indent);
                } else {
                    self.inline_comment();
                }
                self.out.push(close);
            }
        }

        fn scalar() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                (-5i64..100_000).prop_map(|n| json!(n)),
                prop::sample::select(vec!["x", "a \"q\" b", "}{][,:", "é ✓", "// not a comment"])
                    .prop_map(|s| json!(s)),
            ]
        }

        fn agent() -> impl Strategy<Value = Agent> {
            prop::sample::select(Agent::ALL.to_vec())
        }

        fn program() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "safe-wrangler",
                "/opt/tools/safe-wrangler",
                "/usr/bin/other-guard",
            ])
        }

        /// Settings entries: an agent's own (as installed, or with another timeout), or others.
        fn entry() -> impl Strategy<Value = Value> {
            prop_oneof![
                (agent(), program(), 0u64..3).prop_map(|(agent, program, t)| {
                    let s = snippet(agent, program);
                    let hooks = s["hooks"].as_object().unwrap();
                    let mut entry = hooks.values().next().unwrap()[0].clone();
                    if t == 1 {
                        if let Some(x) = entry.pointer_mut("/hooks/0/timeout") {
                            *x = json!(5);
                        } else if let Some(x) = entry.pointer_mut("/timeout") {
                            *x = json!(5);
                        }
                    }
                    entry
                }),
                prop::collection::vec(
                    (
                        prop::sample::select(vec!["matcher", "command", "hooks", "x"]),
                        scalar()
                    ),
                    0..3
                )
                .prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        }

        fn hooks() -> impl Strategy<Value = Value> {
            prop_oneof![
                4 => prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "PreToolUse", "BeforeTool", "preToolUse", "beforeShellExecution", "Stop",
                        ]),
                        prop_oneof![
                            5 => prop::collection::vec(entry(), 0..3).prop_map(Value::Array),
                            1 => scalar(),
                        ],
                    ),
                    0..4,
                )
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
                1 => scalar(),
            ]
        }

        fn settings() -> impl Strategy<Value = Value> {
            prop::collection::vec(
                prop_oneof![
                    (
                        prop::sample::select(vec!["model", "theme", "version", "a b", "ü"]),
                        scalar()
                    )
                        .prop_map(|(k, v)| (k.to_owned(), v)),
                    (
                        prop::sample::select(vec!["nested", "list"]),
                        prop::collection::vec(scalar(), 0..3)
                    )
                        .prop_map(|(k, v)| (k.to_owned(), Value::Array(v))),
                    hooks().prop_map(|h| ("hooks".to_owned(), h)),
                ],
                0..5,
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect()))
        }

        proptest! {
            // Deterministic: a fixed seed, no failure files.
            #![proptest_config(ProptestConfig {
                cases: 400,
                failure_persistence: None,
                rng_seed: proptest::test_runner::RngSeed::Fixed(0x150c),
                ..ProptestConfig::default()
            })]
            #[test]
            fn installing_into_generated_settings(
                value in settings(),
                seed in 1u64..,
                agent in agent(),
                program in program(),
                (nl, unit, colon) in (
                    prop::sample::select(vec!["\n", "\r\n"]),
                    prop::sample::select(vec!["\t", "  ", "    "]),
                    prop::sample::select(vec![": ", ":", " : "]),
                ),
                (trailing, bom, final_newline, head) in (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
            ) {
                let mut p = Printer {
                    rng: Rng(seed),
                    nl,
                    unit,
                    colon,
                    trailing,
                    commented: true,
                    comments: Vec::new(),
                    out: String::new(),
                };
                if bom {
                    p.out.push_str(BOM);
                }
                if head {
                    let c = p.comment(true);
                    p.out.push_str(&c);
                    p.out.push_str(nl);
                }
                p.value(&value, "");
                if final_newline {
                    p.out.push_str(nl);
                }
                let text = p.out.clone();
                let doc = Document::parse(&text, Dialect::Jsonc).unwrap();
                prop_assert_eq!(doc.value(), &value, "{}", text);
                let addition = snippet(agent, program);
                let expected = merge(value.clone(), &addition);
                let once = doc.edited(&expected).unwrap();
                // (a) it reads as the serde_json merge does
                let again = Document::parse(&once, Dialect::Jsonc).unwrap();
                prop_assert_eq!(again.value(), &expected, "{}", once);
                // (b) every comment is still there
                for c in &p.comments {
                    prop_assert!(once.contains(c.as_str()), "lost {c:?}:\n{once}");
                }
                // the start and the end of the file are as they were
                prop_assert_eq!(once.starts_with(BOM), bom);
                prop_assert_eq!(once.ends_with(nl), final_newline);
                if nl == "\n" {
                    prop_assert!(!once.contains('\r'));
                }
                // (c) a second install changes nothing
                let twice = again.edited(&merge(again.value().clone(), &addition)).unwrap();
                prop_assert_eq!(twice, once);
            }

            /// `scripts --write` on generated strict package.json files: the file then reads as
            /// before plus the missing scripts, after the others; its byte-order mark and final
            /// newline (or their absence) stay; a second run changes nothing.
            #[test]
            fn adding_scripts_to_generated_package_files(
                value in settings(),
                scripts in prop::option::of(prop::collection::vec(
                    (prop::sample::select(vec!["dev", "cf:whoami", "cf:types", "build"]), scalar()),
                    0..4,
                )),
                seed in 1u64..,
                (nl, unit, colon) in (
                    prop::sample::select(vec!["\n", "\r\n"]),
                    prop::sample::select(vec!["\t", "  ", "    "]),
                    prop::sample::select(vec![": ", ":"]),
                ),
                (bom, final_newline) in (any::<bool>(), any::<bool>()),
            ) {
                let mut value = value;
                if let (Some(scripts), Value::Object(map)) = (scripts, &mut value) {
                    map.insert(
                        "scripts".to_owned(),
                        Value::Object(scripts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
                    );
                }
                let mut p = Printer {
                    rng: Rng(seed),
                    nl,
                    unit,
                    colon,
                    trailing: false,
                    commented: false,
                    comments: Vec::new(),
                    out: String::new(),
                };
                if bom {
                    p.out.push_str(BOM);
                }
                p.value(&value, "");
                if final_newline {
                    p.out.push_str(nl);
                }
                let text = p.out;
                let wanted = crate::scripts::recommended(None);
                let (once, _) = crate::scripts::add_scripts(&text, &wanted).unwrap();
                let mut expected = value.clone();
                let all = expected
                    .as_object_mut()
                    .unwrap()
                    .entry("scripts")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .unwrap();
                for (name, command) in &wanted {
                    all.entry(*name).or_insert_with(|| json!(command));
                }
                let doc = Document::parse(&once, Dialect::Json).unwrap();
                prop_assert_eq!(doc.value(), &expected, "{}", once);
                prop_assert_eq!(once.starts_with(BOM), bom);
                prop_assert_eq!(once.ends_with(nl), final_newline);
                let (twice, _) = crate::scripts::add_scripts(&once, &wanted).unwrap();
                prop_assert_eq!(twice, once);
            }
        }
    }
}
