//! The parse tree of a template, and its re-serialisation.
//!
//! `Display` gives the canonical form Octostache echoes for unresolved tokens (§6.7): names
//! trimmed, exactly one space around `|`, literal filter options in double quotes, `unless`
//! written as `if` with the body in the `else` branch, and text re-escaped (`#{` as `##{`).
//! Nothing here evaluates anything.

use std::fmt;

/// A parsed template: a sequence of tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Template {
    pub tokens: Vec<Token>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// Literal text, already unescaped (`##{` read as `#{`).
    Text(String),
    /// `#{expression}`.
    Substitution(Expr),
    /// `#{if}` / `#{unless}` (an `unless` is stored with its branches swapped).
    Conditional(Box<Conditional>),
    /// `#{each name in collection}`.
    Repetition(Box<Repetition>),
    /// `#{calc ...}`.
    Calculation(CalcExpr),
}

/// A variable path such as `Octopus.Action[Web].Name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    pub steps: Vec<Step>,
    /// Byte offset of the symbol in the text it was parsed from: part of its identity for
    /// cycle detection (§6.8), as Octostache compares source positions.
    pub offset: usize,
}

/// One step of a symbol path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `.Name` (or the first name).
    Ident(String),
    /// `[key]`.
    Index(Index),
}

/// The content of an indexer.
#[derive(Debug, Clone, PartialEq)]
pub enum Index {
    /// A literal key, nested brackets kept verbatim.
    Key(String),
    /// `[#{Other}]`: the key is the value of another symbol.
    Symbol(Symbol),
}

/// The inside of a substitution, or one side of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Symbol(Symbol),
    Call(Call),
}

/// `subject | Filter opts | Filter opts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub subject: Option<Symbol>,
    pub filters: Vec<FilterCall>,
}

/// One filter application.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterCall {
    pub name: String,
    pub options: Vec<FilterOption>,
}

/// A filter option: a literal, or a nested token rendered first.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterOption {
    Literal(String),
    Token(Box<Token>),
}

/// One side of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Expr(Expr),
    Str(String),
}

/// `left`, or `left == right` / `left != right`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub left: Operand,
    pub compare: Option<Comparison>,
}

/// The operator and right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub equal: bool,
    pub right: Operand,
}

/// A conditional block; `elseif` is desugared into a nested conditional in `otherwise`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditional {
    pub condition: Condition,
    pub truthy: Template,
    pub otherwise: Option<Template>,
}

/// An `each` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Repetition {
    pub name: String,
    pub collection: Symbol,
    pub body: Template,
}

/// A `calc` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum CalcExpr {
    Constant(f64),
    Variable(Symbol),
    Binary(Box<CalcExpr>, CalcOp, Box<CalcExpr>),
    Group(Box<CalcExpr>),
}

/// A `calc` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalcOp {
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl CalcOp {
    pub fn symbol(self) -> char {
        match self {
            CalcOp::Add => '+',
            CalcOp::Subtract => '-',
            CalcOp::Multiply => '*',
            CalcOp::Divide => '/',
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.tokens.iter().try_for_each(|t| write!(f, "{t}"))
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Text(text) => f.write_str(&text.replace("#{", "##{")),
            Token::Substitution(expr) => write!(f, "#{{{expr}}}"),
            Token::Conditional(c) => write!(f, "{c}"),
            Token::Repetition(r) => {
                write!(
                    f,
                    "#{{each {} in {}}}{}#{{/each}}",
                    r.name, r.collection, r.body
                )
            }
            // Octostache writes a calculation back without the `calc` keyword.
            Token::Calculation(calc) => write!(f, "#{{{calc}}}"),
        }
    }
}

impl fmt::Display for Conditional {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{{if {}}}{}", self.condition, self.truthy)?;
        if let Some(otherwise) = &self.otherwise {
            write!(f, "#{{else}}{otherwise}")?;
        }
        f.write_str("#{/if}")
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.left)?;
        if let Some(cmp) = &self.compare {
            // Octostache's serialiser leaves a space before the closing brace here.
            let op = if cmp.equal { "==" } else { "!=" };
            write!(f, " {op} {} ", cmp.right)?;
        }
        Ok(())
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Expr(e) => write!(f, "{e}"),
            Operand::Str(s) => write!(f, "\"{s}\""),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Symbol(s) => write!(f, "{s}"),
            Expr::Call(c) => write!(f, "{c}"),
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(subject) = &self.subject {
            write!(f, "{subject}")?;
        }
        for filter in &self.filters {
            write!(f, " | {}", filter.name)?;
            for option in &filter.options {
                match option {
                    FilterOption::Literal(text) => write!(f, " \"{text}\"")?,
                    FilterOption::Token(token) => write!(f, " {token}")?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Ident(name) if i == 0 => f.write_str(name)?,
                Step::Ident(name) => write!(f, ".{name}")?,
                Step::Index(Index::Key(key)) => write!(f, "[{key}]")?,
                Step::Index(Index::Symbol(s)) => write!(f, "[#{{{s}}}]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for CalcExpr {
    /// The compact form used when a calculation cannot be evaluated (`C+2`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalcExpr::Constant(v) => f.write_str(&super::number::format_double(*v)),
            CalcExpr::Variable(s) => write!(f, "{s}"),
            CalcExpr::Binary(l, op, r) => write!(f, "{l}{}{r}", op.symbol()),
            CalcExpr::Group(inner) => write!(f, "({inner})"),
        }
    }
}

impl Symbol {
    /// Whether two symbols are the same source token (§6.8): same steps, same position.
    pub fn same_token(&self, other: &Symbol) -> bool {
        self.offset == other.offset && self.to_string().eq_ignore_ascii_case(&other.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str) -> Symbol {
        Symbol {
            steps: vec![Step::Ident(name.into())],
            offset: 0,
        }
    }

    #[test]
    fn call_echo_quotes_literal_options() {
        let call = Call {
            subject: Some(sym("foo")),
            filters: vec![FilterCall {
                name: "Substring".into(),
                options: vec![
                    FilterOption::Literal("1".into()),
                    FilterOption::Literal("2".into()),
                ],
            }],
        };
        assert_eq!(call.to_string(), "foo | Substring \"1\" \"2\"");
    }

    #[test]
    fn text_is_reescaped() {
        assert_eq!(Token::Text("a#{b".into()).to_string(), "a##{b");
    }
}
