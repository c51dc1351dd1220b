//! The XPath that XML structured variables use to address nodes.
//!
//! Calamari compiles a variable name containing `/` or `:` as XPath (Wmhelp.XPath2) and ignores
//! names that do not compile. This module implements the XPath 1.0 location paths config files
//! need, with XPath 2's `*:name`:
//!
//! * paths: `/a/b`, `//b`, `a/b` (from the document), `.`, `..`; the axes `child::`,
//!   `attribute::` (`@`), `descendant::`, `descendant-or-self::`, `self::` and `parent::`;
//! * node tests: names (`prefix:name` with prefixes declared anywhere in the document; an
//!   unprefixed name matches only elements in no namespace, as in XPath), `*`, `*:name`, `@*`,
//!   `text()`, `comment()`, `node()`, `processing-instruction()` and
//!   `processing-instruction('target')`;
//! * predicates: numbers (`[2]`), `and`, `or`, comparisons (`=`, `!=`, `<`, `<=`, `>`, `>=`,
//!   with XPath 1.0's rules for node sets) of literals, numbers, relative paths and the functions
//!   `position()`, `last()`, `not()`, `true()`, `false()`, `count()`, `string()`, `local-name()`,
//!   `name()`, `contains()`, `starts-with()`, `ends-with()`, `string-length()`,
//!   `normalize-space()`.
//!
//! Names are case-sensitive, as in XPath. Anything else (other axes and functions, arithmetic,
//! unions, variables) does not compile and the variable is ignored, as a name Calamari cannot
//! compile is.

use crate::config::xml_tree::{Kind, XmlDoc};

/// A node selected by a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Selected {
    Document,
    Node(usize),
    /// Element node id and attribute index.
    Attr(usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Name {
        namespace: String,
        local: String,
    },
    AnyElement,
    Attr {
        namespace: String,
        local: String,
    },
    AnyAttr,
    /// `*:local` (XPath 2): an element of this local name in any namespace.
    AnyNamespace(String),
    Text,
    Comment,
    /// `processing-instruction()`, or with a target `processing-instruction('name')`.
    ProcessingInstruction(Option<String>),
    Node,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Axis {
    Child,
    Attribute,
    Descendant,
    DescendantOrSelf,
    /// `self::`
    Itself,
    Parent,
}

#[derive(Debug, Clone, PartialEq)]
struct Step {
    axis: Axis,
    test: Test,
    predicates: Vec<Expr>,
}

/// A location path: from the document (`/…`) or from the context node.
#[derive(Debug, Clone, PartialEq)]
struct LocationPath {
    absolute: bool,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Position,
    Last,
    Not,
    True,
    False,
    Count,
    String,
    LocalName,
    Name,
    Contains,
    StartsWith,
    EndsWith,
    StringLength,
    NormalizeSpace,
}

impl Func {
    fn parse(name: &str) -> Option<(Func, std::ops::RangeInclusive<usize>)> {
        Some(match name {
            "position" => (Func::Position, 0..=0),
            "last" => (Func::Last, 0..=0),
            "not" => (Func::Not, 1..=1),
            "true" => (Func::True, 0..=0),
            "false" => (Func::False, 0..=0),
            "count" => (Func::Count, 1..=1),
            "string" => (Func::String, 0..=1),
            "local-name" => (Func::LocalName, 0..=1),
            "name" => (Func::Name, 0..=1),
            "contains" => (Func::Contains, 2..=2),
            "starts-with" => (Func::StartsWith, 2..=2),
            "ends-with" => (Func::EndsWith, 2..=2),
            "string-length" => (Func::StringLength, 0..=1),
            "normalize-space" => (Func::NormalizeSpace, 0..=1),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Compare(Box<Expr>, Op, Box<Expr>),
    Literal(String),
    Number(f64),
    Path(LocationPath),
    Call(Func, Vec<Expr>),
}

/// Compile `path` against `doc`'s namespace prefixes and select its nodes, in document order;
/// `None` when it does not compile.
pub(super) fn select(doc: &XmlDoc<'_>, path: &str) -> Option<Vec<Selected>> {
    let tokens = tokenize(path)?;
    let mut parser = Parser {
        doc,
        tokens: &tokens,
        at: 0,
    };
    let path = parser.location_path()?;
    if parser.at != tokens.len() || path.steps.is_empty() {
        return None;
    }
    let mut nodes = eval_path(doc, &path, Selected::Document);
    nodes.sort();
    nodes.dedup();
    Some(nodes)
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Slash,
    DoubleSlash,
    OpenBracket,
    CloseBracket,
    OpenParen,
    CloseParen,
    At,
    Comma,
    Axis(String),
    Dot,
    DotDot,
    Star,
    /// A name, `prefix:name` or `*:name`, as written.
    Name(String),
    Literal(String),
    Number(f64),
    Op(Op),
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (token, len) = match c {
            ' ' | '\t' | '\r' | '\n' => {
                i += 1;
                continue;
            }
            '/' if next == Some('/') => (Token::DoubleSlash, 2),
            '/' => (Token::Slash, 1),
            '[' => (Token::OpenBracket, 1),
            ']' => (Token::CloseBracket, 1),
            '(' => (Token::OpenParen, 1),
            ')' => (Token::CloseParen, 1),
            '@' => (Token::At, 1),
            ',' => (Token::Comma, 1),
            '=' => (Token::Op(Op::Eq), 1),
            '!' if next == Some('=') => (Token::Op(Op::Ne), 2),
            '<' if next == Some('=') => (Token::Op(Op::Le), 2),
            '<' => (Token::Op(Op::Lt), 1),
            '>' if next == Some('=') => (Token::Op(Op::Ge), 2),
            '>' => (Token::Op(Op::Gt), 1),
            '\'' | '"' => {
                let end = chars[i + 1..].iter().position(|&q| q == c)? + i + 1;
                let literal: String = chars[i + 1..end].iter().collect();
                (Token::Literal(literal), end + 1 - i)
            }
            '.' if next == Some('.') => (Token::DotDot, 2),
            '.' if !next.is_some_and(|n| n.is_ascii_digit()) => (Token::Dot, 1),
            '*' if next == Some(':') && chars.get(i + 2).is_some_and(|&n| is_name_char(n)) => {
                let len = 2 + chars[i + 2..]
                    .iter()
                    .take_while(|&&n| is_name_char(n))
                    .count();
                (Token::Name(chars[i..i + len].iter().collect()), len)
            }
            '*' => (Token::Star, 1),
            _ if c.is_ascii_digit() || c == '.' => {
                let len = chars[i..]
                    .iter()
                    .take_while(|&&n| n.is_ascii_digit() || n == '.')
                    .count();
                let text: String = chars[i..i + len].iter().collect();
                (Token::Number(text.parse().ok()?), len)
            }
            _ if is_name_char(c) => name_token(&chars[i..])?,
            _ => return None,
        };
        tokens.push(token);
        i += len;
    }
    Some(tokens)
}

/// A name (with at most one `:prefix` part), or an axis name followed by `::`.
fn name_token(chars: &[char]) -> Option<(Token, usize)> {
    let mut len = chars.iter().take_while(|&&c| is_name_char(c)).count();
    let name: String = chars[..len].iter().collect();
    if chars.get(len) == Some(&':') && chars.get(len + 1) == Some(&':') {
        return Some((Token::Axis(name), len + 2));
    }
    if chars.get(len) == Some(&':') {
        let local = chars[len + 1..]
            .iter()
            .take_while(|&&c| is_name_char(c))
            .count();
        if local == 0 && chars.get(len + 1) != Some(&'*') {
            return None;
        }
        len += 1 + local.max(usize::from(chars.get(len + 1) == Some(&'*')));
    }
    Some((Token::Name(chars[..len].iter().collect()), len))
}

// ---------------------------------------------------------------------------------------------
// Parsing

struct Parser<'t, 'd> {
    doc: &'t XmlDoc<'d>,
    tokens: &'t [Token],
    at: usize,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, token: &Token) -> bool {
        let found = self.peek() == Some(token);
        if found {
            self.at += 1;
        }
        found
    }

    fn location_path(&mut self) -> Option<LocationPath> {
        let mut steps = Vec::new();
        let absolute = match self.peek() {
            Some(Token::Slash) => {
                self.at += 1;
                true
            }
            Some(Token::DoubleSlash) => {
                self.at += 1;
                steps.push(descendant_or_self());
                true
            }
            _ => false,
        };
        loop {
            steps.push(self.step()?);
            match self.peek() {
                Some(Token::Slash) => self.at += 1,
                Some(Token::DoubleSlash) => {
                    self.at += 1;
                    steps.push(descendant_or_self());
                }
                _ => return Some(LocationPath { absolute, steps }),
            }
        }
    }

    fn step(&mut self) -> Option<Step> {
        let plain = |axis, test| Step {
            axis,
            test,
            predicates: Vec::new(),
        };
        if self.eat(&Token::Dot) {
            return Some(plain(Axis::Itself, Test::Node));
        }
        if self.eat(&Token::DotDot) {
            return Some(plain(Axis::Parent, Test::Node));
        }
        let axis = match self.peek() {
            Some(Token::At) => {
                self.at += 1;
                Axis::Attribute
            }
            Some(Token::Axis(name)) => {
                let axis = match name.as_str() {
                    "child" => Axis::Child,
                    "attribute" => Axis::Attribute,
                    "descendant" => Axis::Descendant,
                    "descendant-or-self" => Axis::DescendantOrSelf,
                    "self" => Axis::Itself,
                    "parent" => Axis::Parent,
                    _ => return None,
                };
                self.at += 1;
                axis
            }
            _ => Axis::Child,
        };
        let test = self.node_test(axis)?;
        let mut predicates = Vec::new();
        while self.eat(&Token::OpenBracket) {
            predicates.push(self.or_expr()?);
            if !self.eat(&Token::CloseBracket) {
                return None;
            }
        }
        Some(Step {
            axis,
            test,
            predicates,
        })
    }

    fn node_test(&mut self, axis: Axis) -> Option<Test> {
        let attribute = axis == Axis::Attribute;
        let token = self.peek()?.clone();
        self.at += 1;
        let name = match token {
            Token::Star if attribute => return Some(Test::AnyAttr),
            Token::Star => return Some(Test::AnyElement),
            Token::Name(name) => name,
            _ => return None,
        };
        if self.eat(&Token::OpenParen) {
            let target = match self.peek() {
                Some(Token::Literal(target)) if name == "processing-instruction" => {
                    let target = target.clone();
                    self.at += 1;
                    Some(target)
                }
                _ => None,
            };
            if !self.eat(&Token::CloseParen) {
                return None;
            }
            return match (name.as_str(), attribute) {
                ("node", true) => Some(Test::AnyAttr),
                ("node", false) => Some(Test::Node),
                (_, true) => None,
                ("text", _) => Some(Test::Text),
                ("comment", _) => Some(Test::Comment),
                ("processing-instruction", _) => Some(Test::ProcessingInstruction(target)),
                _ => None,
            };
        }
        if let Some(local) = name.strip_prefix("*:") {
            return (!attribute).then(|| Test::AnyNamespace(local.to_string()));
        }
        let (namespace, local) = qname(self.doc, &name)?;
        Some(match attribute {
            true => Test::Attr { namespace, local },
            false => Test::Name { namespace, local },
        })
    }

    fn or_expr(&mut self) -> Option<Expr> {
        let mut left = self.and_expr()?;
        while self.eat(&Token::Name("or".into())) {
            left = Expr::Or(Box::new(left), Box::new(self.and_expr()?));
        }
        Some(left)
    }

    fn and_expr(&mut self) -> Option<Expr> {
        let mut left = self.compare_expr()?;
        while self.eat(&Token::Name("and".into())) {
            left = Expr::And(Box::new(left), Box::new(self.compare_expr()?));
        }
        Some(left)
    }

    fn compare_expr(&mut self) -> Option<Expr> {
        let mut left = self.primary()?;
        while let Some(Token::Op(op)) = self.peek() {
            let op = *op;
            self.at += 1;
            left = Expr::Compare(Box::new(left), op, Box::new(self.primary()?));
        }
        Some(left)
    }

    fn primary(&mut self) -> Option<Expr> {
        match self.peek()?.clone() {
            Token::Literal(text) => {
                self.at += 1;
                Some(Expr::Literal(text))
            }
            Token::Number(n) => {
                self.at += 1;
                Some(Expr::Number(n))
            }
            Token::OpenParen => {
                self.at += 1;
                let inner = self.or_expr()?;
                self.eat(&Token::CloseParen).then_some(inner)
            }
            Token::Name(name)
                if self.tokens.get(self.at + 1) == Some(&Token::OpenParen)
                    && !matches!(
                        name.as_str(),
                        "text" | "comment" | "node" | "processing-instruction"
                    ) =>
            {
                self.call(&name)
            }
            _ => self.location_path().map(Expr::Path),
        }
    }

    fn call(&mut self, name: &str) -> Option<Expr> {
        let (func, arity) = Func::parse(name)?;
        self.at += 2;
        let mut args = Vec::new();
        if !self.eat(&Token::CloseParen) {
            loop {
                args.push(self.or_expr()?);
                if self.eat(&Token::CloseParen) {
                    break;
                }
                if !self.eat(&Token::Comma) {
                    return None;
                }
            }
        }
        arity
            .contains(&args.len())
            .then_some(Expr::Call(func, args))
    }
}

fn descendant_or_self() -> Step {
    Step {
        axis: Axis::DescendantOrSelf,
        test: Test::Node,
        predicates: Vec::new(),
    }
}

/// Resolve `prefix:local` through the document's declarations; an undeclared prefix or a name
/// with invalid characters does not compile (Calamari ignores such variables).
fn qname(doc: &XmlDoc<'_>, text: &str) -> Option<(String, String)> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars().all(is_name_char)
            && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
    };
    match text.split_once(':') {
        Some((prefix, local)) if valid(prefix) && valid(local) => doc
            .prefixes
            .get(prefix)
            .map(|ns| (ns.clone(), local.to_string())),
        None if valid(text) => Some((String::new(), text.to_string())),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

fn eval_path(doc: &XmlDoc<'_>, path: &LocationPath, context: Selected) -> Vec<Selected> {
    let start = if path.absolute {
        Selected::Document
    } else {
        context
    };
    let mut nodes = vec![start];
    for step in &path.steps {
        let mut next = Vec::new();
        for &node in &nodes {
            let candidates: Vec<Selected> = along(doc, node, step.axis)
                .into_iter()
                .filter(|&c| matches(doc, c, &step.test))
                .collect();
            next.extend(filter(doc, candidates, &step.predicates));
        }
        next.sort();
        next.dedup();
        nodes = next;
    }
    nodes
}

/// The nodes on `axis` from `node`, in document order.
fn along(doc: &XmlDoc<'_>, node: Selected, axis: Axis) -> Vec<Selected> {
    match axis {
        Axis::Child => children(doc, node)
            .into_iter()
            .map(Selected::Node)
            .collect(),
        Axis::Attribute => match node {
            Selected::Node(id) => {
                let count = doc.element(id).map_or(0, |e| e.attrs.len());
                (0..count).map(|a| Selected::Attr(id, a)).collect()
            }
            _ => Vec::new(),
        },
        Axis::Descendant => descendants(doc, node),
        Axis::DescendantOrSelf => std::iter::once(node)
            .chain(descendants(doc, node))
            .collect(),
        Axis::Itself => vec![node],
        Axis::Parent => parent(doc, node).into_iter().collect(),
    }
}

fn children(doc: &XmlDoc<'_>, node: Selected) -> Vec<usize> {
    match node {
        Selected::Document => doc.top.clone(),
        Selected::Node(id) => doc.nodes[id].children.clone(),
        Selected::Attr(..) => Vec::new(),
    }
}

fn descendants(doc: &XmlDoc<'_>, node: Selected) -> Vec<Selected> {
    let mut out = Vec::new();
    let mut stack: Vec<usize> = children(doc, node).into_iter().rev().collect();
    while let Some(id) = stack.pop() {
        out.push(Selected::Node(id));
        stack.extend(doc.nodes[id].children.iter().rev());
    }
    out
}

fn parent(doc: &XmlDoc<'_>, node: Selected) -> Option<Selected> {
    let id = match node {
        Selected::Document => return None,
        Selected::Attr(id, _) => return Some(Selected::Node(id)),
        Selected::Node(id) => id,
    };
    if doc.top.contains(&id) {
        return Some(Selected::Document);
    }
    let owner = doc.nodes.iter().position(|n| n.children.contains(&id))?;
    Some(Selected::Node(owner))
}

fn matches(doc: &XmlDoc<'_>, node: Selected, test: &Test) -> bool {
    match (node, test) {
        (Selected::Attr(id, a), Test::AnyAttr) => doc
            .element(id)
            .is_some_and(|e| !is_namespace_decl(&e.attrs[a].name)),
        (Selected::Attr(id, a), Test::Attr { namespace, local }) => {
            doc.element(id).is_some_and(|e| {
                let name = &e.attrs[a].name;
                let (prefix, attr_local) = name.split_once(':').unwrap_or(("", name));
                let attr_ns = if prefix.is_empty() {
                    ""
                } else {
                    doc.prefixes.get(prefix).map_or("", |s| s.as_str())
                };
                attr_local == local && attr_ns == namespace && !is_namespace_decl(name)
            })
        }
        (Selected::Document, Test::Node) => true,
        (Selected::Node(id), _) => match (&doc.nodes[id].kind, test) {
            (Kind::Element(e), Test::Name { namespace, local }) => {
                e.local_name() == local && &e.namespace == namespace
            }
            (Kind::Element(_), Test::AnyElement) => true,
            (Kind::Element(e), Test::AnyNamespace(local)) => e.local_name() == local,
            (Kind::ProcessingInstruction, Test::ProcessingInstruction(target)) => {
                target.as_deref().is_none_or(|t| doc.pi_parts(id).0 == t)
            }
            (Kind::Text | Kind::CData, Test::Text) => true,
            (Kind::Comment, Test::Comment) => true,
            (_, Test::Node) => true,
            _ => false,
        },
        _ => false,
    }
}

fn is_namespace_decl(name: &str) -> bool {
    name == "xmlns" || name.starts_with("xmlns:")
}

/// Keep the nodes each predicate holds for, in turn, with positions counted afresh.
fn filter(doc: &XmlDoc<'_>, mut nodes: Vec<Selected>, predicates: &[Expr]) -> Vec<Selected> {
    for predicate in predicates {
        let size = nodes.len();
        nodes = nodes
            .iter()
            .enumerate()
            .filter(|&(index, &node)| {
                let context = Context {
                    node,
                    position: index + 1,
                    size,
                };
                match eval(doc, predicate, &context) {
                    Value::Num(n) => n == context.position as f64,
                    value => value.truthy(),
                }
            })
            .map(|(_, &node)| node)
            .collect();
    }
    nodes
}

struct Context {
    node: Selected,
    position: usize,
    size: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Nodes(Vec<Selected>),
    Str(String),
    Num(f64),
    Bool(bool),
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Value::Nodes(nodes) => !nodes.is_empty(),
            Value::Str(text) => !text.is_empty(),
            Value::Num(n) => *n != 0.0 && !n.is_nan(),
            Value::Bool(b) => *b,
        }
    }
}

fn eval(doc: &XmlDoc<'_>, expr: &Expr, context: &Context) -> Value {
    match expr {
        Expr::Or(a, b) => {
            Value::Bool(eval(doc, a, context).truthy() || eval(doc, b, context).truthy())
        }
        Expr::And(a, b) => {
            Value::Bool(eval(doc, a, context).truthy() && eval(doc, b, context).truthy())
        }
        Expr::Compare(a, op, b) => {
            let (a, b) = (eval(doc, a, context), eval(doc, b, context));
            Value::Bool(compare(doc, &a, *op, &b))
        }
        Expr::Literal(text) => Value::Str(text.clone()),
        Expr::Number(n) => Value::Num(*n),
        Expr::Path(path) => Value::Nodes(eval_path(doc, path, context.node)),
        Expr::Call(func, args) => call(doc, *func, args, context),
    }
}

fn call(doc: &XmlDoc<'_>, func: Func, args: &[Expr], context: &Context) -> Value {
    let arg = |i: usize| args.get(i).map(|a| eval(doc, a, context));
    // The string of the first argument, or of the context node without one.
    let text = |i: usize| match arg(i) {
        Some(value) => string(doc, &value),
        None => selected_value(doc, context.node),
    };
    // The first node of the argument, or the context node.
    let first = || match arg(0) {
        Some(Value::Nodes(nodes)) => nodes.first().copied(),
        Some(_) => None,
        None => Some(context.node),
    };
    match func {
        Func::Position => Value::Num(context.position as f64),
        Func::Last => Value::Num(context.size as f64),
        Func::Not => Value::Bool(!arg(0).is_some_and(|v| v.truthy())),
        Func::True => Value::Bool(true),
        Func::False => Value::Bool(false),
        Func::Count => match arg(0) {
            Some(Value::Nodes(nodes)) => Value::Num(nodes.len() as f64),
            _ => Value::Num(f64::NAN),
        },
        Func::String => Value::Str(text(0)),
        Func::LocalName => Value::Str(first().map_or(String::new(), |n| name_of(doc, n, true))),
        Func::Name => Value::Str(first().map_or(String::new(), |n| name_of(doc, n, false))),
        Func::Contains => Value::Bool(text(0).contains(&text(1))),
        Func::StartsWith => Value::Bool(text(0).starts_with(&text(1))),
        Func::EndsWith => Value::Bool(text(0).ends_with(&text(1))),
        Func::StringLength => Value::Num(text(0).chars().count() as f64),
        Func::NormalizeSpace => {
            Value::Str(text(0).split_whitespace().collect::<Vec<_>>().join(" "))
        }
    }
}

/// The name of an element or attribute (`local-name()` without its prefix).
fn name_of(doc: &XmlDoc<'_>, node: Selected, local: bool) -> String {
    let name = match node {
        Selected::Node(id) => doc.element(id).map(|e| e.name.as_str()),
        Selected::Attr(id, a) => doc.element(id).map(|e| e.attrs[a].name.as_str()),
        Selected::Document => None,
    };
    let name = name.unwrap_or_default();
    match local {
        true => name.rsplit(':').next().unwrap_or(name).to_string(),
        false => name.to_string(),
    }
}

fn string(doc: &XmlDoc<'_>, value: &Value) -> String {
    match value {
        Value::Nodes(nodes) => nodes
            .first()
            .map_or(String::new(), |&n| selected_value(doc, n)),
        Value::Str(text) => text.clone(),
        Value::Num(n) => number_text(*n),
        Value::Bool(b) => b.to_string(),
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.is_finite() {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

fn number(text: &str) -> f64 {
    text.trim().parse().unwrap_or(f64::NAN)
}

/// XPath 1.0 comparison: a node set against a boolean compares as "not empty"; otherwise it
/// holds when some node's string value compares true; atoms compare as booleans, then numbers,
/// then strings (for `=` and `!=`), and as numbers for the order operators.
fn compare(doc: &XmlDoc<'_>, a: &Value, op: Op, b: &Value) -> bool {
    let text = |n: Selected| Value::Str(selected_value(doc, n));
    match (a, b) {
        (Value::Nodes(x), Value::Nodes(y)) => x
            .iter()
            .any(|&n| y.iter().any(|&m| compare_atoms(&text(n), op, &text(m)))),
        (Value::Nodes(x), Value::Bool(_)) => compare_atoms(&Value::Bool(!x.is_empty()), op, b),
        (Value::Bool(_), Value::Nodes(y)) => compare_atoms(a, op, &Value::Bool(!y.is_empty())),
        (Value::Nodes(x), _) => x.iter().any(|&n| compare_atoms(&text(n), op, b)),
        (_, Value::Nodes(y)) => y.iter().any(|&m| compare_atoms(a, op, &text(m))),
        _ => compare_atoms(a, op, b),
    }
}

fn compare_atoms(a: &Value, op: Op, b: &Value) -> bool {
    let as_number = |v: &Value| match v {
        Value::Num(n) => *n,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => number(s),
        Value::Nodes(_) => f64::NAN,
    };
    let ordered = |x: f64, y: f64| match op {
        Op::Lt => x < y,
        Op::Le => x <= y,
        Op::Gt => x > y,
        Op::Ge => x >= y,
        Op::Eq => x == y,
        Op::Ne => x != y,
    };
    match (a, b, op) {
        (_, _, Op::Lt | Op::Le | Op::Gt | Op::Ge) => ordered(as_number(a), as_number(b)),
        (Value::Bool(_), _, _) | (_, Value::Bool(_), _) => ordered(
            as_number(&Value::Bool(a.truthy())),
            as_number(&Value::Bool(b.truthy())),
        ),
        (Value::Num(_), _, _) | (_, Value::Num(_), _) => ordered(as_number(a), as_number(b)),
        (Value::Str(x), Value::Str(y), Op::Eq) => x == y,
        (Value::Str(x), Value::Str(y), _) => x != y,
        _ => false,
    }
}

fn selected_value(doc: &XmlDoc<'_>, node: Selected) -> String {
    match node {
        Selected::Attr(id, a) => doc
            .element(id)
            .map_or(String::new(), |e| doc.attr_value(&e.attrs[a]).into_owned()),
        Selected::Node(id) => doc.string_value(id),
        Selected::Document => doc.top.iter().map(|&id| doc.string_value(id)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<root xmlns:x="urn:x"><a id="1"><b>one</b></a><a id="2"><b>two</b><x:c>ns</x:c></a><!--note--></root>"#;

    fn names(path: &str) -> Option<Vec<String>> {
        let doc = XmlDoc::parse(DOC).expect("parses");
        select(&doc, path).map(|nodes| {
            nodes
                .into_iter()
                .map(|n| match n {
                    Selected::Attr(id, a) => {
                        format!("@{}", doc.element(id).map_or("", |e| &e.attrs[a].name))
                    }
                    Selected::Node(id) => doc
                        .element(id)
                        .map_or_else(|| doc.string_value(id), |e| e.name.clone()),
                    Selected::Document => "/".to_string(),
                })
                .collect()
        })
    }

    #[test]
    fn paths_and_predicates() {
        assert_eq!(names("/root/a/b").expect("compiles"), ["b", "b"]);
        assert_eq!(names("//a[2]/b/text()").expect("compiles"), ["two"]);
        assert_eq!(names("//a[@id='1']/@id").expect("compiles"), ["@id"]);
        assert_eq!(names("root/a[b=\"two\"]/x:c").expect("compiles"), ["x:c"]);
        assert_eq!(names("//a[last()]").expect("compiles").len(), 1);
        assert_eq!(names("/root/*").expect("compiles").len(), 2);
        assert_eq!(names("/root/comment()").expect("compiles"), [""]);
        assert!(
            names("/root/c").expect("compiles").is_empty(),
            "unprefixed names are in no namespace"
        );
    }

    #[test]
    fn axes_functions_and_comparisons() {
        let compiled = |path: &str| names(path).unwrap_or_else(|| panic!("{path} compiles"));
        assert_eq!(compiled("/root/a[position()>1]/@id"), ["@id"]);
        assert_eq!(compiled("//*[local-name()='a' and @id='2']/b"), ["b"]);
        assert_eq!(compiled("//*[local-name()='c']"), ["x:c"]);
        assert_eq!(compiled("//*[name()='x:c']/text()"), ["ns"]);
        assert_eq!(compiled("//a[starts-with(b, 'tw')]/@id"), ["@id"]);
        assert_eq!(compiled("//a[contains(., 'ns')]/b/text()"), ["two"]);
        assert_eq!(compiled("//a[ends-with(@id,'1')]/b/text()"), ["one"]);
        assert_eq!(compiled("//b[.='two']/../@id"), ["@id"]);
        assert_eq!(compiled("//b[.='one']/parent::a/b"), ["b"]);
        assert_eq!(compiled("/root/descendant::b").len(), 2);
        assert_eq!(compiled("/descendant-or-self::a").len(), 2);
        assert_eq!(
            compiled("/child::root/child::a[1]/self::a/attribute::id"),
            ["@id"]
        );
        assert_eq!(compiled("//a[not(@id='1')]/b/text()"), ["two"]);
        assert_eq!(compiled("//a[@id!='1']/b/text()"), ["two"]);
        assert_eq!(compiled("//a[count(*)=2]/@id"), ["@id"]);
        assert_eq!(compiled("//a[@id>=2 or b='one']").len(), 2);
        assert_eq!(
            compiled("//a[string-length(normalize-space(b))=3][2]/b/text()"),
            ["two"]
        );
        assert_eq!(compiled("//a[last()]/b/text()"), ["two"]);
        assert_eq!(compiled("//a[(@id='1')]/b/text()"), ["one"]);
        assert!(compiled("//a[false()]").is_empty());
        assert!(compiled("//a[@missing]").is_empty());
    }

    #[test]
    fn unsupported_or_undeclared_names_do_not_compile() {
        for path in [
            "Logging:LogLevel:Default",
            "ConnectionStrings:Default",
            "/root/a[unknown()]",
            "/root/a[@id + 1]",
            "//a | //b",
            "ancestor::a",
            "/root/",
            "count(//a)",
        ] {
            assert_eq!(names(path), None, "{path}");
        }
    }
}
