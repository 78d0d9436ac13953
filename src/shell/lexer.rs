//! The lexer: words, quotes, expansions, here-documents, as bash reads them.

use super::{Assign, Parser, Stdin, Stop, mentions};

/// A word after quote removal. Expansions stay in `value` as written.
#[derive(Debug, Clone, Default)]
pub(super) struct Word {
    pub(super) value: String,
    /// Only the literal parts (expansions replaced by a space).
    pub(super) lit: String,
    /// Its span in the parser's text.
    pub(super) start: usize,
    pub(super) end: usize,
    /// Contains `$...`, `${...}`, `$(...)` or backquotes outside single quotes.
    pub(super) expanded: bool,
    /// Contains quoting of any kind.
    pub(super) quoted: bool,
    /// The shell would glob or brace-expand it (unquoted `*`, `?`, `[...]`, `{a,b}`).
    pub(super) pattern: bool,
    /// `NAME=value` or `NAME+=value`: the name's length and where the value starts.
    pub(super) assign: Option<(usize, usize)>,
}

impl Word {
    pub(super) fn assignment(&self) -> Option<Assign> {
        let (name_len, value_start) = self.assign?;
        Some(Assign {
            name: self.value.get(..name_len)?.into(),
            value: self.value.get(value_start..)?.into(),
            expanded: self.expanded,
        })
    }

    /// Unquoted, unexpanded, a possible function name.
    pub(super) fn is_plain(&self) -> bool {
        !self.quoted && !self.expanded && self.assign.is_none() && !self.value.is_empty()
    }
}

/// A word being read.
#[allow(clippy::struct_excessive_bools)] // lexer state, one flag per thing the shell tracks
pub(super) struct WordBuf {
    pub(super) buf: Vec<u8>,
    pub(super) lit: Vec<u8>,
    pub(super) expanded: bool,
    pub(super) quoted: bool,
    pub(super) pattern: bool,
    /// Every byte so far could be part of a variable name.
    pub(super) name_ok: bool,
    /// An unquoted `[` was seen (a later `]` makes a glob).
    pub(super) bracket: bool,
    /// Brace expansion: 0 nothing, 1 after `{`, 2 after `{` and `,` or `..`.
    pub(super) brace: u8,
    pub(super) assign: Option<(usize, usize)>,
}

impl WordBuf {
    pub(super) fn new() -> WordBuf {
        WordBuf {
            buf: Vec::new(),
            lit: Vec::new(),
            expanded: false,
            quoted: false,
            pattern: false,
            name_ok: true,
            bracket: false,
            brace: 0,
            assign: None,
        }
    }

    pub(super) fn push(&mut self, b: u8) {
        self.buf.push(b);
        self.lit.push(b);
    }

    pub(super) fn quote(&mut self) {
        self.quoted = true;
        self.name_ok = false;
    }

    pub(super) fn expansion(&mut self, raw: &[u8]) {
        self.buf.extend_from_slice(raw);
        self.lit.push(b' ');
        self.expanded = true;
        self.name_ok = false;
    }

    pub(super) fn finish(self, start: usize, end: usize) -> Word {
        // Bytes that are not UTF-8 (`$'\xff'`) reach the program as they are, where the wrapper
        // reads the argument as not UTF-8 (fail closed); `value` can only hold a replacement
        // character, so the word counts as one we cannot read before it runs.
        let not_utf8 = std::str::from_utf8(&self.buf).is_err();
        Word {
            value: String::from_utf8_lossy(&self.buf).into_owned(),
            lit: String::from_utf8_lossy(&self.lit).into_owned(),
            start,
            end,
            expanded: self.expanded || not_utf8,
            quoted: self.quoted,
            pattern: self.pattern,
            assign: self.assign,
        }
    }
}

/// A here-document waiting for the end of its line.
pub(super) struct Doc {
    pub(super) delim: Vec<u8>,
    pub(super) strip_tabs: bool,
    pub(super) quoted: bool,
    pub(super) consumer: Stdin,
    /// The command writes a file (`cat > run.sh <<EOF`).
    pub(super) writes: bool,
}

/// Where a list of commands ends.
#[derive(Debug, Clone, Copy)]
pub(super) enum End {
    Eof,
    Paren,
    Case,
    Words(&'static [&'static str]),
}

impl End {
    pub(super) fn stops_at(self, reserved: &str) -> bool {
        match self {
            End::Words(words) => words.contains(&reserved),
            End::Case => reserved == "esac",
            End::Eof | End::Paren => false,
        }
    }
}

/// The next token, without consuming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    Eof,
    Newline,
    Semi,
    /// `;;`, `;&`, `;;&`, with their length.
    CaseEnd(usize),
    Amp,
    AndIf,
    OrIf,
    /// `|` or `|&`, with its length.
    Pipe(usize),
    LParen,
    RParen,
    Redir,
    Word,
}

/// What a re-parse starts with.
#[derive(Debug, Clone, Copy)]
pub(super) enum Mode {
    List,
    /// The body of an unquoted here-document: expanded like a double-quoted string.
    HereDoc,
}

pub(super) const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "select", "function", "time", "{", "}", "!", "[[", "]]", "in",
];

/// Reserved words that close a construct: one at the start of a command is a syntax error.
pub(super) const CLOSERS: &[&str] = &[
    "then", "else", "elif", "fi", "do", "done", "esac", "}", "]]",
];

pub(super) fn is_meta(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'|' | b'&' | b';' | b'(' | b')' | b'<' | b'>'
    )
}

/// A short, printable excerpt for a reason.
pub(super) fn excerpt(text: &str) -> String {
    pub(super) const MAX: usize = 60;
    let mut s: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX).is_some() {
        s.push('…');
    }
    s
}

impl Parser<'_, '_> {
    pub(super) fn at(&self, i: usize) -> Option<u8> {
        self.src.get(self.pos + i).copied()
    }

    pub(super) fn bump(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.src.len());
    }

    pub(super) fn raw(&self, w: &Word) -> String {
        excerpt(&String::from_utf8_lossy(
            self.src.get(w.start..w.end).unwrap_or_default(),
        ))
    }

    // ---- tokens ----

    /// Skips blanks, line continuations and a comment.
    pub(super) fn skip_blanks(&mut self) {
        loop {
            match self.at(0) {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\\') if self.at(1) == Some(b'\n') => self.pos += 2,
                Some(b'#') => {
                    while self.at(0).is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// The length of an fd number before a redirection (`2>`, `{fd}<`), if there is one.
    pub(super) fn io_number_len(&self) -> Option<usize> {
        let rest = self.src.get(self.pos..)?;
        let len = if rest.first() == Some(&b'{') {
            let name = rest
                .iter()
                .skip(1)
                .take_while(|&&b| b == b'_' || b.is_ascii_alphanumeric())
                .count();
            if name == 0 || rest.get(name + 1) != Some(&b'}') {
                return None;
            }
            name + 2
        } else {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        };
        (len > 0 && matches!(rest.get(len), Some(b'<' | b'>'))).then_some(len)
    }

    pub(super) fn peek(&mut self) -> Tok {
        self.skip_blanks();
        match (self.at(0), self.at(1), self.at(2)) {
            (None, _, _) => Tok::Eof,
            (Some(b'\n'), _, _) => Tok::Newline,
            (Some(b';'), Some(b';'), Some(b'&')) => Tok::CaseEnd(3),
            (Some(b';'), Some(b';' | b'&'), _) => Tok::CaseEnd(2),
            (Some(b';'), _, _) => Tok::Semi,
            (Some(b'&'), Some(b'&'), _) => Tok::AndIf,
            (Some(b'&'), Some(b'>'), _) => Tok::Redir,
            (Some(b'&'), _, _) => Tok::Amp,
            (Some(b'|'), Some(b'|'), _) => Tok::OrIf,
            (Some(b'|'), Some(b'&'), _) => Tok::Pipe(2),
            (Some(b'|'), _, _) => Tok::Pipe(1),
            (Some(b'('), _, _) => Tok::LParen,
            (Some(b')'), _, _) => Tok::RParen,
            (Some(b'<' | b'>'), Some(b'('), _) => Tok::Word,
            (Some(b'<' | b'>'), _, _) => Tok::Redir,
            (Some(b), _, _)
                if (b.is_ascii_digit() || b == b'{') && self.io_number_len().is_some() =>
            {
                Tok::Redir
            }
            _ => Tok::Word,
        }
    }

    /// The reserved word that comes next, if the next word is one (unquoted, whole).
    pub(super) fn peek_reserved(&mut self) -> Option<&'static str> {
        self.skip_blanks();
        let rest = self.src.get(self.pos..)?;
        let len = rest
            .iter()
            .take(9)
            .take_while(|&&b| !is_meta(b) && !matches!(b, b'\'' | b'"' | b'\\' | b'$' | b'`'))
            .count();
        if rest.get(len).is_some_and(|&b| !is_meta(b)) {
            return None;
        }
        let word = rest.get(..len)?;
        RESERVED.iter().copied().find(|r| r.as_bytes() == word)
    }

    pub(super) fn expect_reserved(&mut self, word: &'static str) -> Result<(), Stop> {
        if self.peek_reserved() == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Stop(format!("`{word}` is missing")))
        }
    }

    pub(super) fn newline(&mut self) {
        self.pos += 1;
        if !self.pending.is_empty() {
            self.heredocs();
        }
    }

    pub(super) fn skip_newlines(&mut self) {
        while self.peek() == Tok::Newline {
            self.newline();
        }
    }

    // ---- here-documents ----

    /// Reads the bodies of the here-documents started on the line just ended.
    pub(super) fn heredocs(&mut self) {
        let s = self.src;
        for doc in std::mem::take(&mut self.pending) {
            let start = self.pos;
            let mut end = s.len();
            let mut p = start;
            while p < s.len() {
                let line_end = s
                    .get(p..)
                    .and_then(|r| r.iter().position(|&b| b == b'\n'))
                    .map_or(s.len(), |i| p + i);
                let mut line = s.get(p..line_end).unwrap_or_default();
                if doc.strip_tabs {
                    while let [b'\t', rest @ ..] = line {
                        line = rest;
                    }
                }
                let next = line_end + 1;
                if line == doc.delim.as_slice() {
                    end = p;
                    p = next;
                    break;
                }
                p = next;
            }
            self.pos = p.min(s.len());
            let body = s.get(start..end).unwrap_or_default();
            if doc.writes && mentions(body) {
                self.out.wrote = true;
            }
            if doc.consumer != Stdin::Data && mentions(body) {
                self.uncertain(
                    "a here-document that mentions wrangler is fed to a command that may run it",
                );
            }
            if !doc.quoted && body.iter().any(|&b| b == b'$' || b == b'`') {
                let st = self.st.clone();
                let inherit = self.inherit.clone();
                self.sub(body, st, inherit, Mode::HereDoc);
            }
        }
    }

    // ---- words ----

    pub(super) fn read_word(&mut self) -> Result<Word, Stop> {
        let s = self.src;
        let start = self.pos;
        let mut w = WordBuf::new();
        while let Some(b) = self.at(0) {
            match b {
                b' ' | b'\t' | b'\n' | b'|' | b'&' | b';' | b'(' | b')' => break,
                b'<' | b'>' => {
                    if self.pos == start && self.at(1) == Some(b'(') {
                        self.pos += 2;
                        self.substitution(&mut w, start)?;
                    } else {
                        break;
                    }
                }
                b'\'' => {
                    let body = s.get(self.pos + 1..).unwrap_or_default();
                    let Some(len) = body.iter().position(|&c| c == b'\'') else {
                        return Err(Stop::new("a single quote is not closed"));
                    };
                    w.quote();
                    for &c in body.get(..len).unwrap_or_default() {
                        w.push(c);
                    }
                    self.bump(len + 2);
                }
                b'"' => {
                    self.pos += 1;
                    w.quote();
                    self.double_quoted(&mut w, false)?;
                }
                b'\\' => match self.at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(c) => {
                        w.quote();
                        w.push(c);
                        self.pos += 2;
                    }
                    None => {
                        w.quote();
                        w.push(b'\\');
                        self.pos += 1;
                    }
                },
                b'$' => self.dollar(&mut w, false)?,
                b'`' => self.backquote(&mut w, false)?,
                _ => {
                    self.plain(&mut w, b);
                    if let Some((_, v)) = w.assign
                        && v == w.buf.len()
                        && self.at(0) == Some(b'(')
                    {
                        self.array(&mut w)?;
                    }
                }
            }
        }
        let word = w.finish(start, self.pos);
        if !self.out.mentioned && mentions(word.value.as_bytes()) {
            self.out.mentioned = true;
        }
        // Facts about the whole line, read from every word after quote removal (so a decoded
        // `$'...'` or a quoted spelling counts too).
        if !self.out.cf_env && word.value.contains("CLOUDFLARE_ENV") {
            self.out.cf_env = true;
        }
        self.out.versions_in(&word.value);
        Ok(word)
    }

    /// An unquoted, unexpanded byte.
    pub(super) fn plain(&mut self, w: &mut WordBuf, b: u8) {
        self.pos += 1;
        if w.assign.is_none() && w.name_ok && !w.buf.is_empty() {
            if b == b'=' {
                let name = w.buf.len();
                w.push(b);
                w.assign = Some((name, w.buf.len()));
                return;
            }
            if b == b'+' && self.at(0) == Some(b'=') {
                let name = w.buf.len();
                w.push(b'+');
                w.push(b'=');
                self.pos += 1;
                w.assign = Some((name, w.buf.len()));
                return;
            }
        }
        if !(b == b'_' || b.is_ascii_alphabetic() || (b.is_ascii_digit() && !w.buf.is_empty())) {
            w.name_ok = false;
        }
        match b {
            b'*' | b'?' => w.pattern = true,
            b'[' => w.bracket = true,
            b']' if w.bracket => w.pattern = true,
            b'{' => w.brace = 1,
            b',' if w.brace == 1 => w.brace = 2,
            b'.' if w.brace == 1 && self.at(0) == Some(b'.') => w.brace = 2,
            b'}' if w.brace == 2 => w.pattern = true,
            _ => {}
        }
        w.push(b);
    }

    /// `NAME=( ... )`: the elements are words (with their substitutions).
    pub(super) fn array(&mut self, w: &mut WordBuf) -> Result<(), Stop> {
        self.pos += 1;
        self.enter()?;
        w.push(b'(');
        loop {
            self.skip_blanks();
            match self.at(0) {
                None => return Err(Stop::new("an array assignment is not closed")),
                Some(b')') => {
                    self.pos += 1;
                    w.push(b')');
                    break;
                }
                Some(b'\n') => self.newline(),
                Some(b) if is_meta(b) && self.peek() != Tok::Word => {
                    return Err(Stop::new("an array assignment is malformed"));
                }
                Some(_) => {
                    let e = self.read_word()?;
                    w.buf.extend_from_slice(e.value.as_bytes());
                    w.buf.push(b' ');
                    w.expanded |= e.expanded;
                }
            }
        }
        self.leave();
        Ok(())
    }

    /// The inside of `"..."` (after the opening quote), or the body of an unquoted here-document.
    pub(super) fn double_quoted(&mut self, w: &mut WordBuf, heredoc: bool) -> Result<(), Stop> {
        loop {
            let Some(b) = self.at(0) else {
                if heredoc {
                    return Ok(());
                }
                return Err(Stop::new("a double quote is not closed"));
            };
            match b {
                b'"' if !heredoc => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => match self.at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(c) if matches!(c, b'$' | b'`' | b'\\') || (c == b'"' && !heredoc) => {
                        w.push(c);
                        self.pos += 2;
                    }
                    _ => {
                        w.push(b'\\');
                        self.pos += 1;
                    }
                },
                b'$' => self.dollar(w, true)?,
                b'`' => self.backquote(w, true)?,
                _ => {
                    w.push(b);
                    self.pos += 1;
                }
            }
        }
    }

    /// A `$` and what follows it.
    pub(super) fn dollar(&mut self, w: &mut WordBuf, in_double: bool) -> Result<(), Stop> {
        let s = self.src;
        let start = self.pos;
        match self.at(1) {
            Some(b'(') if self.at(2) == Some(b'(') && self.arithmetic_at(self.pos + 3) => {
                self.pos += 3;
                self.arithmetic()?;
                w.expansion(s.get(start..self.pos).unwrap_or_default());
            }
            Some(b'(') => {
                self.pos += 2;
                self.substitution(w, start)?;
            }
            Some(b'{') => {
                self.pos += 2;
                self.enter()?;
                self.parameter()?;
                self.leave();
                w.expansion(s.get(start..self.pos).unwrap_or_default());
            }
            Some(b'\'') if !in_double => {
                self.pos += 2;
                w.quote();
                self.ansi_c(w)?;
            }
            Some(b'"') if !in_double => {
                self.pos += 2;
                w.quote();
                self.double_quoted(w, false)?;
            }
            Some(c) if c == b'_' || c.is_ascii_alphabetic() => {
                self.pos += 1;
                while self
                    .at(0)
                    .is_some_and(|c| c == b'_' || c.is_ascii_alphanumeric())
                {
                    self.pos += 1;
                }
                w.expansion(s.get(start..self.pos).unwrap_or_default());
            }
            Some(c) if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => {
                self.pos += 2;
                w.expansion(s.get(start..self.pos).unwrap_or_default());
            }
            _ => {
                self.pos += 1;
                w.name_ok = false;
                w.push(b'$');
            }
        }
        Ok(())
    }

    /// The list inside `$(...)` or `<(...)` (after the parenthesis), run in a subshell.
    pub(super) fn substitution(&mut self, w: &mut WordBuf, start: usize) -> Result<(), Stop> {
        self.enter()?;
        let saved = self.st.clone();
        self.parse_list(End::Paren)?;
        if self.at(0) != Some(b')') {
            return Err(Stop::new("a `$(` is not closed"));
        }
        self.pos += 1;
        self.st = saved;
        self.leave();
        w.expansion(self.src.get(start..self.pos).unwrap_or_default());
        Ok(())
    }

    /// The inside of `${...}` (after the brace): its substitutions run.
    pub(super) fn parameter(&mut self) -> Result<(), Stop> {
        let mut scratch = WordBuf::new();
        loop {
            match self.at(0) {
                None => return Err(Stop::new("a `${` is not closed")),
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => self.bump(2),
                Some(b'\'') => self.skip_single_quoted()?,
                Some(b'"') => {
                    self.pos += 1;
                    self.double_quoted(&mut scratch, false)?;
                }
                Some(b'$') => self.dollar(&mut scratch, false)?,
                Some(b'`') => self.backquote(&mut scratch, false)?,
                Some(_) => self.pos += 1,
            }
        }
    }

    pub(super) fn skip_single_quoted(&mut self) -> Result<(), Stop> {
        let body = self.src.get(self.pos + 1..).unwrap_or_default();
        let Some(len) = body.iter().position(|&c| c == b'\'') else {
            return Err(Stop::new("a single quote is not closed"));
        };
        self.bump(len + 2);
        Ok(())
    }

    /// Whether `((` at `from` (just after it) starts arithmetic, as bash decides: the `)` that
    /// closes the first parenthesis is directly followed by another. Otherwise it is a subshell
    /// inside `$(` or `(`: `$((cd app && wrangler deploy) | tee log)`. Looks ahead only.
    pub(super) fn arithmetic_at(&self, from: usize) -> bool {
        let s = self.src.get(from..).unwrap_or_default();
        let mut depth = 0usize;
        let mut i = 0;
        while let Some(&b) = s.get(i) {
            match b {
                b'\\' => i += 1,
                b'\'' | b'"' => {
                    let close = s.get(i + 1..).and_then(|r| r.iter().position(|&c| c == b));
                    match close {
                        Some(n) => i += n + 1,
                        None => return true,
                    }
                }
                b'(' => depth += 1,
                b')' if depth == 0 => return s.get(i + 1) == Some(&b')'),
                b')' => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        true
    }

    /// The inside of `$((...))` or `((...))` (after the parentheses).
    pub(super) fn arithmetic(&mut self) -> Result<(), Stop> {
        self.enter()?;
        let start = self.pos;
        let mut depth = 0usize;
        let mut scratch = WordBuf::new();
        loop {
            match self.at(0) {
                None => return Err(Stop::new("an arithmetic expression is not closed")),
                Some(b'(') => {
                    depth += 1;
                    self.pos += 1;
                }
                Some(b')') if depth > 0 => {
                    depth -= 1;
                    self.pos += 1;
                }
                Some(b')') => {
                    if self.at(1) != Some(b')') {
                        return Err(Stop::new("an arithmetic expression is unbalanced"));
                    }
                    if mentions(self.src.get(start..self.pos).unwrap_or_default()) {
                        // Nothing runs, but nothing that mentions wrangler belongs here either.
                        self.uncertain("an arithmetic expression mentions wrangler");
                    }
                    self.pos += 2;
                    self.leave();
                    return Ok(());
                }
                Some(b'$') => self.dollar(&mut scratch, false)?,
                Some(b'`') => self.backquote(&mut scratch, false)?,
                Some(b'"') => {
                    self.pos += 1;
                    self.double_quoted(&mut scratch, false)?;
                }
                Some(b'\'') => self.skip_single_quoted()?,
                Some(b'\\') => self.bump(2),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// `` `...` ``: the text between the backquotes, unescaped, is parsed again.
    pub(super) fn backquote(&mut self, w: &mut WordBuf, in_double: bool) -> Result<(), Stop> {
        let start = self.pos;
        self.pos += 1;
        let mut inner = Vec::new();
        loop {
            match self.at(0) {
                None => return Err(Stop::new("a backquote is not closed")),
                Some(b'`') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => match self.at(1) {
                    Some(c) if matches!(c, b'$' | b'`' | b'\\') || (in_double && c == b'"') => {
                        inner.push(c);
                        self.pos += 2;
                    }
                    Some(c) => {
                        inner.extend_from_slice(&[b'\\', c]);
                        self.pos += 2;
                    }
                    None => {
                        inner.push(b'\\');
                        self.pos += 1;
                    }
                },
                Some(c) => {
                    inner.push(c);
                    self.pos += 1;
                }
            }
        }
        w.expansion(self.src.get(start..self.pos).unwrap_or_default());
        let st = self.st.clone();
        let inherit = self.inherit.clone();
        self.sub(&inner, st, inherit, Mode::List);
        Ok(())
    }

    /// The inside of `$'...'` (after the quote), escapes decoded.
    pub(super) fn ansi_c(&mut self, out: &mut WordBuf) -> Result<(), Stop> {
        loop {
            let Some(byte) = self.at(0) else {
                return Err(Stop::new("a `$'` string is not closed"));
            };
            self.pos += 1;
            if byte == b'\'' {
                return Ok(());
            }
            if byte != b'\\' {
                out.push(byte);
                continue;
            }
            let Some(esc) = self.at(0) else {
                out.push(b'\\');
                continue;
            };
            self.pos += 1;
            match esc {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'a' => out.push(7),
                b'b' => out.push(8),
                b'e' | b'E' => out.push(27),
                b'f' => out.push(12),
                b'v' => out.push(11),
                b'\\' | b'\'' | b'"' | b'?' => out.push(esc),
                b'x' | b'u' | b'U' => {
                    let max = match esc {
                        b'x' => 2,
                        b'u' => 4,
                        _ => 8,
                    };
                    let digits = self
                        .src
                        .get(self.pos..)
                        .unwrap_or_default()
                        .iter()
                        .take(max)
                        .take_while(|b| b.is_ascii_hexdigit())
                        .count();
                    let text = self
                        .src
                        .get(self.pos..self.pos + digits)
                        .unwrap_or_default();
                    let value = std::str::from_utf8(text)
                        .ok()
                        .and_then(|t| u32::from_str_radix(t, 16).ok());
                    match value {
                        Some(v) if esc == b'x' => out.push(u8::try_from(v).unwrap_or(b'?')),
                        Some(v) => {
                            let c = char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER);
                            for &unit in c.encode_utf8(&mut [0; 4]).as_bytes() {
                                out.push(unit);
                            }
                        }
                        None => {
                            out.push(b'\\');
                            out.push(esc);
                        }
                    }
                    self.pos += digits;
                }
                b'0'..=b'7' => {
                    let mut v = u32::from(esc - b'0');
                    for _ in 0..2 {
                        match self.at(0) {
                            Some(d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                self.pos += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push(u8::try_from(v & 0xff).unwrap_or(b'?'));
                }
                b'c' => {
                    if let Some(c) = self.at(0) {
                        self.pos += 1;
                        out.push(c & 0x1f);
                    } else {
                        out.push(b'\\');
                        out.push(b'c');
                    }
                }
                _ => {
                    out.push(b'\\');
                    out.push(esc);
                }
            }
        }
    }
}
