//! Parser: template text to [`Template`], in strict or continue mode (§6.2–§6.4).
//!
//! A hand-written recursive descent that mirrors Octostache's Sprache grammar, including the
//! order in which token alternatives are tried and the "furthest failure" position that
//! continue mode uses to decide how much source to pass through as text. Every parser
//! function returns `Ok((value, next_offset))` or `Err(failure_offset)`; nothing panics.
//! Not done here: evaluation, or deciding whether a text needs parsing at all.

use super::ast::{
    CalcExpr, CalcOp, Call, Comparison, Condition, Conditional, Expr, FilterCall, FilterOption,
    Index, Operand, Repetition, Step, Symbol, Template, Token,
};

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

type PResult<T> = Result<(T, usize), usize>;

/// Where and why a strict parse failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    pub unexpected: String,
}

/// Parses the whole text; any token that does not parse fails the template (strict mode), and
/// so do tokens nested more than [`MAX_NESTING`] deep anywhere, in any alternative tried.
pub fn parse_strict(src: &str) -> Result<Template, ParseFailure> {
    let parser = Parser::new(src);
    let (template, end, furthest) = parser.template(0);
    if let Some(at) = parser.too_deep.get() {
        return Err(parser.too_deep_failure(at));
    }
    if end >= src.len() {
        return Ok(template);
    }
    Err(parser.failure(furthest.max(end)))
}

/// Parses token by token; where nothing parses, the source up to the furthest point any
/// alternative reached is kept as literal text and parsing resumes there (continue mode). From
/// a token whose parse nests more than [`MAX_NESTING`] deep, the rest is kept as text.
pub fn parse_continue(src: &str) -> Template {
    let parser = Parser::new(src);
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < src.len() {
        let parsed = parser.token(pos);
        if parser.too_deep.get().is_some() {
            push_token(&mut tokens, Token::Text(src[pos..].to_string()));
            break;
        }
        match parsed {
            Ok((token, next)) => {
                push_token(&mut tokens, token);
                pos = next;
            }
            Err(furthest) => {
                let end = furthest.max(parser.next_char(pos)).min(src.len());
                push_token(&mut tokens, Token::Text(src[pos..end].to_string()));
                pos = end;
            }
        }
    }
    Template { tokens }
}

/// The longest prefix of a variable name that parses as a symbol (§6.5), if any.
pub fn parse_name(name: &str) -> Option<Symbol> {
    Parser::new(name)
        .symbol(0, false)
        .ok()
        .map(|(symbol, _)| symbol)
}

/// Appends a token, merging adjacent text.
fn push_token(tokens: &mut Vec<Token>, token: Token) {
    if let (Some(Token::Text(last)), Token::Text(more)) = (tokens.last_mut(), &token) {
        last.push_str(more);
        return;
    }
    tokens.push(token);
}

fn is_ident_char(c: char, in_calc: bool) -> bool {
    c.is_alphanumeric()
        || c.is_whitespace()
        || matches!(c, '_' | '-' | ':' | '/' | '~' | '@')
        // In `calc`, parentheses group terms, so they cannot also be part of a name.
        || (!in_calc && matches!(c, '(' | ')'))
}

/// How deeply tokens (and `calc` parentheses) may nest before parsing fails: keeps a
/// pathological template from exhausting the stack (the runtime aborts on overflow).
const MAX_NESTING: usize = 200;

/// The parser's state besides the text. Which alternative of a block token failed where is
/// remembered: an unclosed `#{if a}` is first tried as a conditional whose body is the rest of
/// the text, then read as a substitution, and without the memory every later token was tried
/// again for each earlier one, the work doubling with each `#{if a}` (22 of them, 155 bytes,
/// took 22 seconds in a debug build). A failure depends only on where it started, as long as
/// nothing nested past [`MAX_NESTING`]; once something did, the whole parse fails
/// (`too_deep`), so a remembered failure is never one the depth caused.
struct Parser<'s> {
    src: &'s str,
    depth: Cell<usize>,
    /// Where tokens first nested past [`MAX_NESTING`]; from then on every block token fails.
    too_deep: Cell<Option<usize>>,
    /// `(offset, alternative)` to the furthest offset that failed attempt reached.
    failed: RefCell<HashMap<(usize, usize), usize>>,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str) -> Self {
        Parser {
            src,
            depth: Cell::new(0),
            too_deep: Cell::new(None),
            failed: RefCell::new(HashMap::new()),
        }
    }

    /// Runs `f` one nesting level deeper, failing at `pos` past [`MAX_NESTING`] (which fails
    /// the whole parse: see [`Parser`]).
    fn nested<T>(&self, pos: usize, f: impl FnOnce() -> PResult<T>) -> PResult<T> {
        if self.too_deep.get().is_some() {
            return Err(pos);
        }
        let depth = self.depth.get();
        if depth >= MAX_NESTING {
            self.too_deep.set(Some(pos));
            return Err(pos);
        }
        self.depth.set(depth + 1);
        let result = f();
        self.depth.set(depth);
        result
    }
}

impl Parser<'_> {
    fn rest(&self, pos: usize) -> &str {
        self.src.get(pos..).unwrap_or("")
    }

    fn peek(&self, pos: usize) -> Option<char> {
        self.rest(pos).chars().next()
    }

    fn next_char(&self, pos: usize) -> usize {
        pos + self.peek(pos).map_or(1, char::len_utf8)
    }

    fn failure(&self, offset: usize) -> ParseFailure {
        let before = self.src.get(..offset).unwrap_or(self.src);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let unexpected = match self.peek(offset) {
            Some(c) => format!("'{c}'"),
            None => "end of input".to_string(),
        };
        ParseFailure {
            offset,
            line,
            column,
            unexpected,
        }
    }

    fn too_deep_failure(&self, offset: usize) -> ParseFailure {
        let mut failure = self.failure(offset);
        failure.unexpected = format!(
            "{} (tokens nest more than {MAX_NESTING} levels deep)",
            failure.unexpected
        );
        failure
    }

    fn ws(&self, pos: usize) -> usize {
        let rest = self.rest(pos);
        pos + (rest.len() - rest.trim_start().len())
    }

    fn ws1(&self, pos: usize) -> Result<usize, usize> {
        let next = self.ws(pos);
        if next == pos { Err(pos) } else { Ok(next) }
    }

    fn lit(&self, pos: usize, expected: &str) -> Result<usize, usize> {
        let rest = self.rest(pos).as_bytes();
        let matched = rest
            .iter()
            .zip(expected.as_bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if matched == expected.len() {
            Ok(pos + matched)
        } else {
            Err(pos + matched)
        }
    }

    fn lit_ci(&self, pos: usize, expected: &str) -> Result<usize, usize> {
        let rest = self.rest(pos).as_bytes();
        let matched = rest
            .iter()
            .zip(expected.as_bytes())
            .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
            .count();
        if matched == expected.len() {
            Ok(pos + matched)
        } else {
            Err(pos + matched)
        }
    }

    /// `token*`: stops at the first token that fails; returns where, and how far it got.
    fn template(&self, pos: usize) -> (Template, usize, usize) {
        self.tokens_until(pos, false)
    }

    /// The body of an `if`/`unless`/`elseif` branch: as `template`, but `#{else}` and
    /// `#{elseif ...` end it (anywhere else they are substitutions of a variable `else`...).
    fn if_body(&self, pos: usize) -> (Template, usize, usize) {
        self.tokens_until(pos, true)
    }

    fn tokens_until(&self, mut pos: usize, stop_at_else: bool) -> (Template, usize, usize) {
        let mut tokens = Vec::new();
        loop {
            if stop_at_else && self.at_else(pos) {
                return (Template { tokens }, pos, pos);
            }
            match self.token(pos) {
                Ok((token, next)) => {
                    push_token(&mut tokens, token);
                    pos = next;
                }
                Err(furthest) => return (Template { tokens }, pos, furthest),
            }
        }
    }

    fn at_else(&self, pos: usize) -> bool {
        let rest = self.rest(pos);
        let elseif = rest
            .strip_prefix("#{elseif")
            .is_some_and(|r| r.starts_with(char::is_whitespace));
        rest.starts_with("#{else}") || elseif
    }

    fn token(&self, pos: usize) -> PResult<Token> {
        if !self.rest(pos).starts_with("#{") {
            return self.text(pos).map(|(t, p)| (Token::Text(t), p));
        }
        self.block_token(pos)
    }

    /// The alternatives that start with `#{`, in Octostache's order.
    fn block_token(&self, pos: usize) -> PResult<Token> {
        self.nested(pos, || self.block_token_here(pos))
    }

    fn block_token_here(&self, pos: usize) -> PResult<Token> {
        let mut furthest = pos;
        let attempts: [&dyn Fn(usize) -> PResult<Token>; 4] = [
            &|p| {
                self.conditional(p)
                    .map(|(c, p)| (Token::Conditional(Box::new(c)), p))
            },
            &|p| self.calculation(p).map(|(c, p)| (Token::Calculation(c), p)),
            &|p| {
                self.repetition(p)
                    .map(|(r, p)| (Token::Repetition(Box::new(r)), p))
            },
            &|p| {
                self.substitution(p)
                    .map(|(e, p)| (Token::Substitution(e), p))
            },
        ];
        for (alternative, attempt) in attempts.into_iter().enumerate() {
            let remembered = self.failed.borrow().get(&(pos, alternative)).copied();
            if let Some(at) = remembered {
                furthest = furthest.max(at);
                continue;
            }
            match attempt(pos) {
                Ok(found) => return Ok(found),
                Err(at) => {
                    if self.too_deep.get().is_none() {
                        self.failed.borrow_mut().insert((pos, alternative), at);
                    }
                    furthest = furthest.max(at);
                }
            }
        }
        Err(furthest)
    }

    /// Literal text up to the next token (§6.2).
    fn text(&self, pos: usize) -> PResult<String> {
        let mut out = String::new();
        let mut p = pos;
        while let Some((emitted, next)) = self.text_unit(p) {
            out.push_str(emitted);
            p = next;
        }
        if p == pos { Err(pos) } else { Ok((out, p)) }
    }

    fn text_unit(&self, pos: usize) -> Option<(&str, usize)> {
        let rest = self.rest(pos);
        let first = rest.chars().next()?;
        if first != '#' {
            let len = first.len_utf8();
            return Some((&rest[..len], pos + len));
        }
        if rest.len() == 1 {
            return Some(("#", pos + 1));
        }
        if rest.starts_with("###{") && rest.len() > 4 {
            return Some(("#", pos + 2));
        }
        if rest.starts_with("##{") {
            return Some(("#{", pos + 3));
        }
        if rest.starts_with("#{") {
            return None;
        }
        let len = 1 + rest[1..].chars().next().map_or(0, char::len_utf8);
        Some((&rest[..len], pos + len))
    }

    fn substitution(&self, pos: usize) -> PResult<Expr> {
        let p = self.lit(pos, "#{")?;
        // `#{/` never starts a token (closing tags are matched by their blocks).
        if self.rest(p).starts_with('/') {
            return Err(p);
        }
        let (expr, p) = self.expression(self.ws(p))?;
        let p = self.lit(self.ws(p), "}")?;
        Ok((expr, p))
    }

    /// `filterchain | symbol`.
    fn expression(&self, pos: usize) -> PResult<Expr> {
        let start = self.ws(pos);
        let (subject, after, subject_fail) = match self.symbol(start, false) {
            Ok((s, p)) => (Some(s), p, p),
            Err(f) => (None, start, f),
        };
        let bar = self.ws(after);
        if self.peek(bar) == Some('|') {
            let (filters, p) = self.filters(bar)?;
            return Ok((Expr::Call(Call { subject, filters }), p));
        }
        match subject {
            Some(s) => Ok((Expr::Symbol(s), after)),
            None => Err(subject_fail.max(bar)),
        }
    }

    fn filters(&self, mut pos: usize) -> PResult<Vec<FilterCall>> {
        let mut filters = Vec::new();
        while self.peek(pos) == Some('|') {
            let (name, p) = self.word(self.ws(pos + 1))?;
            let (options, p) = self.options(self.ws(p));
            filters.push(FilterCall { name, options });
            pos = p;
        }
        Ok((filters, pos))
    }

    fn options(&self, mut pos: usize) -> (Vec<FilterOption>, usize) {
        let mut options = Vec::new();
        loop {
            // Options are separated by blanks, nested tokens too: `Replace #{match} #{replace}`.
            let start = self.ws(pos);
            let nested = if self.rest(start).starts_with("#{") {
                self.block_token(start).ok()
            } else {
                None
            };
            if let Some((token, p)) = nested {
                options.push(FilterOption::Token(Box::new(token)));
                pos = p;
                continue;
            }
            let literal = self.quoted(start).or_else(|_| self.word(start));
            match literal {
                Ok((text, p)) => {
                    options.push(FilterOption::Literal(text));
                    pos = self.ws(p);
                }
                Err(_) => return (options, pos),
            }
        }
    }

    /// A filter name or bare option: name characters without whitespace.
    fn word(&self, pos: usize) -> PResult<String> {
        let rest = self.rest(pos);
        let len: usize = rest
            .chars()
            .take_while(|c| is_ident_char(*c, false) && !c.is_whitespace())
            .map(char::len_utf8)
            .sum();
        if len == 0 {
            Err(pos)
        } else {
            Ok((rest[..len].to_string(), pos + len))
        }
    }

    /// `"..."` (no `"` or `#` inside) or `\"...\"` (anything inside).
    fn quoted(&self, pos: usize) -> PResult<String> {
        let rest = self.rest(pos);
        if let Some(inner) = rest.strip_prefix("\\\"") {
            let end = inner.find("\\\"").ok_or(self.src.len())?;
            return Ok((inner[..end].to_string(), pos + 2 + end + 2));
        }
        let inner = rest.strip_prefix('"').ok_or(pos)?;
        let end = inner.find(['"', '#']).ok_or(self.src.len())?;
        if inner[end..].starts_with('#') {
            return Err(pos + 1 + end);
        }
        Ok((inner[..end].to_string(), pos + 1 + end + 1))
    }

    fn symbol(&self, pos: usize, in_calc: bool) -> PResult<Symbol> {
        let (first, mut p) = self.ident(pos, in_calc)?;
        let mut steps = vec![Step::Ident(first)];
        loop {
            let step = match self.peek(p) {
                Some('.') => self.ident(p + 1, in_calc).map(|(n, q)| (Step::Ident(n), q)),
                Some('[') => self.indexer(p).map(|(i, q)| (Step::Index(i), q)),
                _ => break,
            };
            match step {
                Ok((step, q)) => {
                    steps.push(step);
                    p = q;
                }
                Err(_) => break,
            }
        }
        Ok((Symbol { steps, offset: pos }, p))
    }

    /// A name: trimmed; a whitespace followed by the word `in` ends it.
    fn ident(&self, pos: usize, in_calc: bool) -> PResult<String> {
        let mut p = pos;
        while let Some(c) = self.peek(p) {
            if !is_ident_char(c, in_calc) {
                break;
            }
            let next = p + c.len_utf8();
            if c.is_whitespace() && self.starts_in_keyword(next) {
                break;
            }
            p = next;
        }
        let name = self.src[pos..p].trim();
        if name.is_empty() {
            Err(p)
        } else {
            Ok((name.to_string(), p))
        }
    }

    fn starts_in_keyword(&self, pos: usize) -> bool {
        self.rest(pos)
            .strip_prefix("in")
            .is_some_and(|r| r.starts_with(char::is_whitespace))
    }

    fn indexer(&self, pos: usize) -> PResult<Index> {
        let start = self.ws(self.lit(pos, "[")?);
        if let Ok((symbol, p)) = self.symbol_index(start) {
            return Ok((Index::Symbol(symbol), p));
        }
        let mut depth = 0usize;
        for (i, c) in self.rest(start).char_indices() {
            match c {
                '[' => depth += 1,
                ']' if depth == 0 => {
                    let key = self.src[start..start + i].to_string();
                    return Ok((Index::Key(key), start + i + 1));
                }
                ']' => depth -= 1,
                _ => {}
            }
        }
        Err(self.src.len())
    }

    fn symbol_index(&self, pos: usize) -> PResult<Symbol> {
        let p = self.ws(self.lit(pos, "#{")?);
        let (symbol, p) = self.symbol(p, false)?;
        let p = self.lit(self.ws(p), "}")?;
        let p = self.lit(self.ws(p), "]")?;
        Ok((symbol, p))
    }

    fn conditional(&self, pos: usize) -> PResult<Conditional> {
        let p = self.ws(self.lit(pos, "#{")?);
        let (unless, p) = match self.lit_ci(p, "if") {
            Ok(p) => (false, p),
            Err(_) => (true, self.lit_ci(p, "unless")?),
        };
        let (first, mut p) = self.branch(self.ws1(p)?)?;
        let mut elseifs = Vec::new();
        if !unless {
            while let Ok((branch, q)) = self.elseif(p) {
                elseifs.push(branch);
                p = q;
            }
        }
        let mut otherwise = None;
        if let Ok(q) = self.lit(p, "#{else}") {
            let (body, q, _) = self.template(q);
            otherwise = Some(body);
            p = q;
        }
        let p = self.lit(p, if unless { "#{/unless}" } else { "#{/if}" })?;
        Ok((assemble_conditional(first, elseifs, otherwise, unless), p))
    }

    /// `#{elseif cond}template` (not allowed after `unless`).
    fn elseif(&self, pos: usize) -> PResult<(Condition, Template)> {
        let after = self.lit(pos, "#{elseif")?;
        self.branch(self.ws1(after)?)
    }

    /// `cond ws* "}" template`: one branch of a conditional.
    fn branch(&self, pos: usize) -> PResult<(Condition, Template)> {
        let (condition, p) = self.condition(pos)?;
        let p = self.lit(self.ws(p), "}")?;
        let (body, p, _) = self.if_body(p);
        Ok(((condition, body), p))
    }

    fn condition(&self, pos: usize) -> PResult<Condition> {
        let (left, after_left) = self.operand(pos)?;
        let p = self.ws(after_left);
        let op = self
            .lit(p, "==")
            .map(|q| (true, q))
            .or_else(|_| self.lit(p, "!=").map(|q| (false, q)));
        if let Ok((equal, q)) = op {
            let (right, q) = self.operand(self.ws(q))?;
            if matches!((&left, &right), (Operand::Str(_), Operand::Str(_))) {
                return Err(q);
            }
            return Ok((
                Condition {
                    left,
                    compare: Some(Comparison { equal, right }),
                },
                q,
            ));
        }
        if matches!(left, Operand::Str(_)) {
            return Err(p);
        }
        Ok((
            Condition {
                left,
                compare: None,
            },
            after_left,
        ))
    }

    fn operand(&self, pos: usize) -> PResult<Operand> {
        let start = self.ws(pos);
        match self.quoted(start) {
            Ok((s, p)) => Ok((Operand::Str(s), p)),
            Err(quote_fail) => match self.expression(start) {
                Ok((e, p)) => Ok((Operand::Expr(e), p)),
                Err(f) => Err(f.max(quote_fail)),
            },
        }
    }

    fn repetition(&self, pos: usize) -> PResult<Repetition> {
        let p = self.ws(self.lit(pos, "#{")?);
        let p = self.ws1(self.lit_ci(p, "each")?)?;
        let (name, p) = self.ident(p, false)?;
        let p = self.ws(self.lit_ci(self.ws(p), "in")?);
        let (collection, p) = self.symbol(p, false)?;
        let p = self.lit(self.ws(p), "}")?;
        let (body, p, _) = self.template(p);
        let p = self.lit(p, "#{/each}")?;
        Ok((
            Repetition {
                name,
                collection,
                body,
            },
            p,
        ))
    }

    fn calculation(&self, pos: usize) -> PResult<CalcExpr> {
        let p = self.ws(self.lit(pos, "#{")?);
        let p = self.ws1(self.lit_ci(p, "calc")?)?;
        let (expr, p) = self.calc_sum(p)?;
        let p = self.lit(self.ws(p), "}")?;
        Ok((expr, p))
    }

    fn calc_sum(&self, pos: usize) -> PResult<CalcExpr> {
        self.calc_chain(pos, &[('+', CalcOp::Add), ('-', CalcOp::Subtract)], &|p| {
            self.calc_product(p)
        })
    }

    fn calc_product(&self, pos: usize) -> PResult<CalcExpr> {
        self.calc_chain(
            pos,
            &[('*', CalcOp::Multiply), ('/', CalcOp::Divide)],
            &|p| self.calc_factor(p),
        )
    }

    /// Left-associative chain of `operand (op operand)*`.
    fn calc_chain(
        &self,
        pos: usize,
        ops: &[(char, CalcOp)],
        operand: &dyn Fn(usize) -> PResult<CalcExpr>,
    ) -> PResult<CalcExpr> {
        let (mut left, mut p) = operand(pos)?;
        loop {
            let q = self.ws(p);
            let Some(op) = self
                .peek(q)
                .and_then(|c| ops.iter().find(|(ch, _)| *ch == c))
            else {
                return Ok((left, p));
            };
            let Ok((right, next)) = operand(q + 1) else {
                return Ok((left, p));
            };
            left = CalcExpr::Binary(Box::new(left), op.1, Box::new(right));
            p = next;
        }
    }

    fn calc_factor(&self, pos: usize) -> PResult<CalcExpr> {
        let p = self.ws(pos);
        match self.peek(p) {
            Some('(') => {
                let (inner, q) = self.nested(p, || self.calc_sum(p + 1))?;
                let q = self.lit(self.ws(q), ")")?;
                Ok((CalcExpr::Group(Box::new(inner)), q))
            }
            Some('{') => {
                let (symbol, q) = self.symbol(self.ws(p + 1), false)?;
                let q = self.lit(self.ws(q), "}")?;
                Ok((CalcExpr::Variable(symbol), q))
            }
            Some(c) if c.is_ascii_digit() => self.calc_constant(p),
            _ => self
                .symbol(p, true)
                .map(|(s, q)| (CalcExpr::Variable(s), q)),
        }
    }

    fn calc_constant(&self, pos: usize) -> PResult<CalcExpr> {
        let rest = self.rest(pos);
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut len = int_len;
        if rest[int_len..].starts_with('.') {
            let frac = rest[int_len + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if frac > 0 {
                len += 1 + frac;
            }
        }
        let value = rest[..len].parse::<f64>().map_err(|_| pos)?;
        Ok((CalcExpr::Constant(value), pos + len))
    }
}

/// Builds the conditional tree: `elseif` branches nest in the `else` of the one before, and
/// an `unless` keeps its body in the `else` branch (which is how Octostache echoes it).
fn assemble_conditional(
    first: (Condition, Template),
    elseifs: Vec<(Condition, Template)>,
    otherwise: Option<Template>,
    unless: bool,
) -> Conditional {
    let mut otherwise = otherwise;
    for (condition, truthy) in elseifs.into_iter().rev() {
        let nested = Conditional {
            condition,
            truthy,
            otherwise: otherwise.take(),
        };
        otherwise = Some(Template {
            tokens: vec![Token::Conditional(Box::new(nested))],
        });
    }
    let (condition, body) = first;
    if unless {
        Conditional {
            condition,
            truthy: otherwise.unwrap_or_default(),
            otherwise: Some(body),
        }
    } else {
        Conditional {
            condition,
            truthy: body,
            otherwise,
        }
    }
}
