//! The grammar: lists, pipelines, compound commands, functions, redirections.

use super::{
    CLOSERS, Doc, End, Inherit, MAX_DEPTH, MAX_WORK, Mode, Parser, Shell, Stdin, Stop, Tok, Word,
    WordBuf, basename, excerpt, is_meta, mentions,
};

impl Parser<'_, '_> {
    /// Parses `text` as a separate piece of shell (a `bash -c` string, backquotes, a here-document
    /// body). Returns whether a command in it reads commands from its standard input.
    pub(super) fn sub(&mut self, text: &[u8], st: Shell, inherit: Inherit, mode: Mode) -> bool {
        if self.depth + 1 > MAX_DEPTH {
            self.uncertain(format!(
                "the command nests more than {MAX_DEPTH} levels deep"
            ));
            return false;
        }
        self.out.work += text.len();
        if self.out.work > MAX_WORK {
            self.uncertain("the command re-parses too much nested text");
            return false;
        }
        let mut p = Parser::new(text, self.depth + 1, &mut *self.out, st, inherit);
        let result = match mode {
            Mode::List => p.parse_list(End::Eof),
            Mode::HereDoc => p.double_quoted(&mut WordBuf::new(), true),
        };
        if let Err(Stop(reason)) = result {
            p.uncertain(reason);
        }
        p.code > 0
    }

    // ---- grammar ----

    pub(super) fn parse_list(&mut self, end: End) -> Result<(), Stop> {
        loop {
            self.skip_newlines();
            match self.peek() {
                Tok::Eof if matches!(end, End::Eof) => return Ok(()),
                Tok::Eof => {
                    return Err(Stop::new("the command ends inside an unfinished construct"));
                }
                Tok::RParen if matches!(end, End::Paren) => return Ok(()),
                Tok::RParen => return Err(Stop::new("a `)` does not match")),
                Tok::CaseEnd(_) if matches!(end, End::Case) => return Ok(()),
                Tok::CaseEnd(_) => return Err(Stop::new("a `;;` is outside `case`")),
                _ => {}
            }
            if self.peek_reserved().is_some_and(|r| end.stops_at(r)) {
                return Ok(());
            }
            self.parse_and_or()?;
            match self.peek() {
                Tok::Semi | Tok::Amp => self.pos += 1,
                Tok::Newline => self.newline(),
                Tok::Eof | Tok::RParen | Tok::CaseEnd(_) => {}
                Tok::Word if self.peek_reserved().is_some_and(|r| end.stops_at(r)) => {}
                _ => return Err(Stop::new("unexpected text after a command")),
            }
        }
    }

    pub(super) fn parse_and_or(&mut self) -> Result<(), Stop> {
        let saved = self.st.clone();
        loop {
            self.parse_pipeline()?;
            match self.peek() {
                Tok::AndIf | Tok::OrIf => {
                    self.pos += 2;
                    self.skip_newlines();
                }
                _ => break,
            }
        }
        // A background job runs in a subshell: its `cd` does not reach the commands after it.
        if self.peek() == Tok::Amp {
            self.st = saved;
        }
        Ok(())
    }

    pub(super) fn parse_pipeline(&mut self) -> Result<(), Stop> {
        let mut prefixed = false;
        loop {
            match self.peek_reserved() {
                Some("!") => {
                    self.pos += 1;
                    prefixed = true;
                }
                Some("time") => {
                    self.pos += 4;
                    self.skip_blanks();
                    if self.at(0) == Some(b'-')
                        && self.at(1) == Some(b'p')
                        && self.at(2).is_none_or(is_meta)
                    {
                        self.pos += 2;
                    }
                    prefixed = true;
                }
                _ => break,
            }
        }
        // A bare `!` or `time` ends a list as a whole (empty) pipeline, as bash takes it: `time;`,
        // `ls && !` (but not `! && ls`).
        if prefixed && matches!(self.peek(), Tok::Semi | Tok::Newline | Tok::Eof | Tok::Amp) {
            return Ok(());
        }
        let saved = self.st.clone();
        let mut index = 0usize;
        loop {
            // Each element of a longer pipeline runs in its own subshell.
            if index > 0 {
                self.st = saved.clone();
            }
            // bash takes `!` only at the start of a pipeline (`cat | ! ls` is a syntax error).
            if index > 0 && self.peek_reserved() == Some("!") {
                return Err(Stop::new("a `!` follows a `|`"));
            }
            let before = self.code;
            let kind = self.parse_command()?;
            if index > 0 && (kind == Stdin::Code || self.code > before) {
                self.uncertain("a shell or interpreter runs commands it reads from a pipe");
            }
            match self.peek() {
                Tok::Pipe(n) => {
                    self.pos += n;
                    self.skip_newlines();
                    index += 1;
                }
                _ => break,
            }
        }
        if index > 0 {
            self.st = saved;
        }
        Ok(())
    }

    pub(super) fn parse_command(&mut self) -> Result<Stdin, Stop> {
        match self.peek() {
            Tok::LParen if self.at(1) == Some(b'(') && self.arithmetic_at(self.pos + 2) => {
                self.pos += 2;
                self.arithmetic()?;
                self.redirects()?;
                return Ok(Stdin::Data);
            }
            Tok::LParen => {
                self.pos += 1;
                self.enter()?;
                let saved = self.st.clone();
                self.parse_list(End::Paren)?;
                self.pos += 1;
                self.st = saved;
                self.leave();
                self.redirects()?;
                return Ok(Stdin::Unknown);
            }
            Tok::Word | Tok::Redir => {}
            _ => return Err(Stop::new("a command is missing")),
        }
        match self.peek_reserved() {
            Some(
                r
                @ ("{" | "if" | "while" | "until" | "for" | "select" | "case" | "[[" | "function"),
            ) => {
                let kind = self.compound(r)?;
                self.redirects()?;
                Ok(kind)
            }
            Some(r) if CLOSERS.contains(&r) => Err(Stop(format!("a `{r}` does not match"))),
            _ => self.parse_simple(),
        }
    }

    /// Redirections after a compound command; its input is of unknown use.
    pub(super) fn redirects(&mut self) -> Result<(), Stop> {
        let mut strings = Vec::new();
        while self.peek() == Tok::Redir {
            self.redirect(&mut strings)?;
        }
        // The commands of a redirected compound are not followed: `{ ...; } > run.sh` only counts
        // when a command inside writes a file itself.
        if strings.iter().any(|s| mentions(s.as_bytes())) {
            self.uncertain(
                "a here-string that mentions wrangler is fed to a command that may run it",
            );
        }
        Ok(())
    }

    pub(super) fn compound(&mut self, reserved: &'static str) -> Result<Stdin, Stop> {
        self.pos += reserved.len();
        self.enter()?;
        match reserved {
            "{" => {
                self.parse_list(End::Words(&["}"]))?;
                self.expect_reserved("}")?;
            }
            "if" => {
                self.parse_list(End::Words(&["then"]))?;
                self.expect_reserved("then")?;
                loop {
                    self.parse_list(End::Words(&["elif", "else", "fi"]))?;
                    match self.peek_reserved() {
                        Some("elif") => {
                            self.pos += 4;
                            self.parse_list(End::Words(&["then"]))?;
                            self.expect_reserved("then")?;
                        }
                        Some("else") => {
                            self.pos += 4;
                            self.parse_list(End::Words(&["fi"]))?;
                            self.expect_reserved("fi")?;
                            break;
                        }
                        _ => {
                            self.expect_reserved("fi")?;
                            break;
                        }
                    }
                }
            }
            "while" | "until" => {
                self.parse_list(End::Words(&["do"]))?;
                self.loop_body()?;
            }
            "for" | "select" => {
                self.for_header()?;
                self.loop_body()?;
            }
            "case" => self.case()?,
            "[[" => self.test_expression()?,
            _ => {
                // `function NAME [()] BODY`
                if self.peek() != Tok::Word {
                    return Err(Stop::new("a function has no name"));
                }
                let name = self.read_word()?;
                self.skip_blanks();
                if self.at(0) == Some(b'(') {
                    self.pos += 1;
                    self.skip_blanks();
                    if self.at(0) != Some(b')') {
                        return Err(Stop::new("a function definition is malformed"));
                    }
                    self.pos += 1;
                }
                self.function_body(&name.value)?;
            }
        }
        self.leave();
        Ok(Stdin::Unknown)
    }

    pub(super) fn loop_body(&mut self) -> Result<(), Stop> {
        self.skip_newlines();
        match self.peek_reserved() {
            Some("do") => {
                self.pos += 2;
                self.parse_list(End::Words(&["done"]))?;
                self.expect_reserved("done")
            }
            Some("{") => self.compound("{").map(|_| ()),
            _ => Err(Stop::new("`do` is missing")),
        }
    }

    pub(super) fn for_header(&mut self) -> Result<(), Stop> {
        self.skip_blanks();
        if self.at(0) == Some(b'(') && self.at(1) == Some(b'(') {
            self.pos += 2;
            self.arithmetic()?;
        } else {
            if self.peek() != Tok::Word {
                return Err(Stop::new("a `for` has no variable"));
            }
            self.read_word()?;
            self.skip_newlines();
            if self.peek_reserved() == Some("in") {
                self.pos += 2;
                loop {
                    match self.peek() {
                        Tok::Word => {
                            self.read_word()?;
                        }
                        Tok::Semi => {
                            self.pos += 1;
                            break;
                        }
                        Tok::Newline => {
                            self.newline();
                            break;
                        }
                        _ => return Err(Stop::new("a `for` list is malformed")),
                    }
                }
                return Ok(());
            }
        }
        if self.peek() == Tok::Semi {
            self.pos += 1;
        }
        Ok(())
    }

    pub(super) fn case(&mut self) -> Result<(), Stop> {
        if self.peek() != Tok::Word {
            return Err(Stop::new("a `case` has no word"));
        }
        self.read_word()?;
        self.skip_newlines();
        self.expect_reserved("in")?;
        loop {
            self.skip_newlines();
            if self.peek_reserved() == Some("esac") {
                self.pos += 4;
                return Ok(());
            }
            if self.peek() == Tok::LParen {
                self.pos += 1;
            }
            loop {
                if self.peek() != Tok::Word {
                    return Err(Stop::new("a `case` pattern is missing"));
                }
                self.read_word()?;
                if self.peek() == Tok::Pipe(1) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            if self.peek() != Tok::RParen {
                return Err(Stop::new("a `case` pattern is not closed"));
            }
            self.pos += 1;
            self.parse_list(End::Case)?;
            let Tok::CaseEnd(n) = self.peek() else {
                return self.expect_reserved("esac");
            };
            self.pos += n;
        }
    }

    /// `[[ ... ]]`: words (with substitutions) and operators up to `]]`.
    pub(super) fn test_expression(&mut self) -> Result<(), Stop> {
        // Parentheses group tests and must balance, as bash requires.
        let mut open = 0usize;
        loop {
            self.skip_blanks();
            match self.at(0) {
                None => return Err(Stop::new("a `[[` is not closed")),
                Some(b'\n') => self.newline(),
                Some(b'<' | b'>') if self.at(1) == Some(b'(') => {
                    self.read_word()?;
                }
                // `&&` and `||` join tests; a lone `;`, `&` or `|` is a syntax error to bash,
                // which then runs nothing of the line.
                Some(b'&' | b'|') if self.at(1) == self.at(0) => self.pos += 2,
                Some(b';' | b'&' | b'|') => {
                    return Err(Stop::new("a `[[` holds a `;`, `&` or `|`"));
                }
                Some(b'(') => {
                    open += 1;
                    self.pos += 1;
                }
                Some(b')') => {
                    open = open
                        .checked_sub(1)
                        .ok_or_else(|| Stop::new("a `)` in `[[` does not match"))?;
                    self.pos += 1;
                }
                Some(b) if is_meta(b) => self.pos += 1,
                Some(_) => {
                    if self.peek_reserved() == Some("]]") {
                        if open > 0 {
                            return Err(Stop::new("a `(` in `[[` is not closed"));
                        }
                        self.pos += 2;
                        return Ok(());
                    }
                    self.read_word()?;
                }
            }
        }
    }

    /// A function body. Defining a function can change what a later word runs: uncertain. The
    /// body is still searched.
    pub(super) fn function_body(&mut self, name: &str) -> Result<(), Stop> {
        self.uncertain(format!(
            "defines the shell function `{}`, which can change what later commands run",
            excerpt(name)
        ));
        self.skip_newlines();
        let saved = self.st.clone();
        match self.peek() {
            Tok::LParen => {
                self.parse_command()?;
            }
            Tok::Word => match self.peek_reserved() {
                Some(r @ ("{" | "if" | "while" | "until" | "for" | "select" | "case" | "[[")) => {
                    self.compound(r)?;
                }
                _ => return Err(Stop::new("a function body is not a compound command")),
            },
            _ => return Err(Stop::new("a function body is missing")),
        }
        self.st = saved;
        self.redirects()
    }

    /// The length of `(` `)` after a possible function name, if they follow.
    pub(super) fn function_parens(&self) -> Option<usize> {
        let rest = self.src.get(self.pos..)?;
        let mut i = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if rest.get(i) != Some(&b'(') {
            return None;
        }
        i += 1;
        i += rest
            .get(i..)?
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        (rest.get(i) == Some(&b')')).then_some(i + 1)
    }

    /// One redirection; returns whether it writes to a file.
    pub(super) fn redirect(&mut self, strings: &mut Vec<String>) -> Result<bool, Stop> {
        enum Kind {
            File,
            String,
            Doc { strip_tabs: bool },
        }
        if let Some(n) = self.io_number_len() {
            self.pos += n;
        }
        let (len, kind) = match (self.at(0), self.at(1), self.at(2)) {
            (Some(b'<'), Some(b'<'), Some(b'<')) => (3, Kind::String),
            (Some(b'<'), Some(b'<'), Some(b'-')) => (3, Kind::Doc { strip_tabs: true }),
            (Some(b'<'), Some(b'<'), _) => (2, Kind::Doc { strip_tabs: false }),
            (Some(b'&'), Some(b'>'), Some(b'>')) => (3, Kind::File),
            (Some(b'<'), Some(b'&' | b'>'), _)
            | (Some(b'>'), Some(b'>' | b'&' | b'|'), _)
            | (Some(b'&'), Some(b'>'), _) => (2, Kind::File),
            (Some(b'<' | b'>'), _, _) => (1, Kind::File),
            _ => return Err(Stop::new("a redirection is malformed")),
        };
        let output = matches!(self.at(0), Some(b'>' | b'&')) || self.at(1) == Some(b'>');
        self.pos += len;
        if self.peek() != Tok::Word {
            return Err(Stop::new("a redirection has no target"));
        }
        let target = self.read_word()?;
        let to_fd = target.value == "-"
            || target.value.bytes().all(|b| b.is_ascii_digit())
            || target.value.starts_with("/dev/");
        match kind {
            Kind::File => return Ok(output && !to_fd),
            Kind::String => strings.push(target.value),
            Kind::Doc { strip_tabs } => self.pending.push(Doc {
                delim: target.value.into_bytes(),
                strip_tabs,
                quoted: target.quoted,
                consumer: Stdin::Unknown,
                writes: false,
            }),
        }
        Ok(false)
    }

    pub(super) fn parse_simple(&mut self) -> Result<Stdin, Stop> {
        let mut words: Vec<Word> = Vec::new();
        let mut strings = Vec::new();
        let docs = self.pending.len();
        let mut any = false;
        let mut writes = false;
        loop {
            match self.peek() {
                Tok::Word => {
                    let word = self.read_word()?;
                    if words.is_empty()
                        && word.is_plain()
                        && let Some(n) = self.function_parens()
                    {
                        self.pos += n;
                        self.function_body(&word.value)?;
                        return Ok(Stdin::Unknown);
                    }
                    words.push(word);
                }
                Tok::Redir => writes |= self.redirect(&mut strings)?,
                _ => break,
            }
            any = true;
        }
        if !any {
            return Err(Stop::new("a command is missing"));
        }
        let kind = self.analyze(&words);
        if kind == Stdin::Code {
            self.code += 1;
        }
        for doc in self.pending.iter_mut().skip(docs) {
            doc.consumer = kind;
            doc.writes = writes;
        }
        // Text the command line itself puts in a file: `echo 'wrangler deploy' > run.sh`.
        let echoes = words
            .first()
            .is_some_and(|w| matches!(basename(&w.value), "echo" | "printf"));
        let mentioning = |s: &str| mentions(s.as_bytes());
        if writes
            && ((echoes && words.iter().any(|w| mentioning(&w.value)))
                || strings.iter().any(|s| mentioning(s)))
        {
            self.out.wrote = true;
        }
        if kind != Stdin::Data && strings.iter().any(|s| mentions(s.as_bytes())) {
            self.uncertain(
                "a here-string that mentions wrangler is fed to a command that may run it",
            );
        }
        Ok(kind)
    }

    // ---- what a simple command runs ----
}
