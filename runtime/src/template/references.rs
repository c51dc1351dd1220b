//! The variables a template reads, found by parsing it as the installer will (continue mode),
//! and those of them nothing defines, for the checks that warn about them (`plan check --drop`,
//! the dry run): a name neither defined nor one the installer itself provides renders as
//! written on the customer's machine.

use super::ast::{
    CalcExpr, Condition, Expr, FilterOption, Index, Operand, Step, Symbol, Template, Token,
};
use super::parser;

/// A variable a template reads: its name as written (`Octopus.Action[Web].Output.Port`) and
/// the line it is on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub line: usize,
}

impl Reference {
    /// Whether `defined` (asked with lower-cased names) knows this name or a shorter path of it:
    /// `Servers[0].Name` reads a JSON value when `Servers` holds one.
    pub fn is_defined(&self, defined: impl Fn(&str) -> bool) -> bool {
        let name = self.name.to_lowercase();
        let mut depth = 0usize;
        let mut cuts = vec![name.len()];
        for (at, c) in name.char_indices() {
            match c {
                '[' if depth == 0 => {
                    cuts.push(at);
                    depth += 1;
                }
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                '.' if depth == 0 => cuts.push(at),
                _ => {}
            }
        }
        cuts.into_iter().any(|cut| cut > 0 && defined(&name[..cut]))
    }
}

/// Every variable `text` reads, in order, without the names an `#{each}` binds in its body.
pub fn references(text: &str) -> Vec<Reference> {
    if !text.contains("#{") {
        return Vec::new();
    }
    let mut walk = Walk {
        text,
        locals: Vec::new(),
        found: Vec::new(),
    };
    walk.template(&parser::parse_continue(text));
    walk.found
}

/// The variables `text` reads that nothing defines, each name once (at its first line): not
/// `defined` (asked with lower-cased names; a shorter path of a name counts, for JSON values)
/// and not the installer's own. Each renders as written on the customer's machine.
pub fn undefined_references(text: &str, defined: impl Fn(&str) -> bool) -> Vec<Reference> {
    let mut seen = std::collections::HashSet::new();
    references(text)
        .into_iter()
        .filter(|r| !is_engine_variable(&r.name) && !r.is_defined(&defined))
        .filter(|r| seen.insert(r.name.to_lowercase()))
        .collect()
}

/// Whether the installer (or the shell) gives `name` a value whatever the plan says: Octopus's
/// system variables and output variables (`Octopus*`: `Octopus.Action[STEP].Output.*`,
/// `OctopusPrintVariables`), dropship's own (`Dropship.*`) and environment variables
/// (`env:NAME`).
fn is_engine_variable(name: &str) -> bool {
    let lower = name.to_lowercase();
    ["octopus", "dropship.", "env:"]
        .iter()
        .any(|prefix| lower.starts_with(prefix))
}

struct Walk<'t> {
    text: &'t str,
    /// The loop variables in scope.
    locals: Vec<String>,
    found: Vec<Reference>,
}

impl Walk<'_> {
    fn template(&mut self, template: &Template) {
        for token in &template.tokens {
            self.token(token);
        }
    }

    fn token(&mut self, token: &Token) {
        match token {
            Token::Text(_) => {}
            Token::Substitution(expr) => self.expr(expr),
            Token::Conditional(conditional) => {
                self.condition(&conditional.condition);
                self.template(&conditional.truthy);
                if let Some(otherwise) = &conditional.otherwise {
                    self.template(otherwise);
                }
            }
            Token::Repetition(repetition) => {
                self.symbol(&repetition.collection);
                self.locals.push(repetition.name.to_lowercase());
                self.template(&repetition.body);
                self.locals.pop();
            }
            Token::Calculation(calc) => self.calc(calc),
        }
    }

    fn condition(&mut self, condition: &Condition) {
        let right = condition.compare.as_ref().map(|c| &c.right);
        for operand in std::iter::once(&condition.left).chain(right) {
            if let Operand::Expr(expr) = operand {
                self.expr(expr);
            }
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Symbol(symbol) => self.symbol(symbol),
            Expr::Call(call) => {
                if let Some(subject) = &call.subject {
                    self.symbol(subject);
                }
                for option in call.filters.iter().flat_map(|f| &f.options) {
                    if let FilterOption::Token(token) = option {
                        self.token(token);
                    }
                }
            }
        }
    }

    fn calc(&mut self, calc: &CalcExpr) {
        match calc {
            CalcExpr::Constant(_) => {}
            CalcExpr::Variable(symbol) => self.symbol(symbol),
            CalcExpr::Binary(left, _, right) => {
                self.calc(left);
                self.calc(right);
            }
            CalcExpr::Group(inner) => self.calc(inner),
        }
    }

    fn symbol(&mut self, symbol: &Symbol) {
        for step in &symbol.steps {
            if let Step::Index(Index::Symbol(key)) = step {
                self.symbol(key);
            }
        }
        let local = match symbol.steps.first() {
            Some(Step::Ident(first)) => self.locals.contains(&first.to_lowercase()),
            _ => false,
        };
        if !local {
            let before = self.text.get(..symbol.offset).unwrap_or(self.text);
            self.found.push(Reference {
                name: symbol.to_string(),
                line: before.matches('\n').count() + 1,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, usize)> {
        references(text)
            .into_iter()
            .map(|r| (r.name, r.line))
            .collect()
    }

    #[test]
    fn finds_every_variable_read_with_its_line() {
        let text = "host=#{Db.Host}\n\
                    #{if Tls.On}port=#{Port | Default #{Fallback}}#{/if}\n\
                    #{each s in Servers}#{s.Name}@#{Domain}#{/each}\n\
                    #{Octopus.Action[#{Step}].Output.Url} #{calc A+2} ##{Escaped} #{broken";
        assert_eq!(
            names(text),
            [
                ("Db.Host".to_string(), 1),
                ("Tls.On".to_string(), 2),
                ("Port".to_string(), 2),
                ("Fallback".to_string(), 2),
                ("Servers".to_string(), 3),
                ("Domain".to_string(), 3),
                ("Step".to_string(), 4),
                ("Octopus.Action[#{Step}].Output.Url".to_string(), 4),
                ("A".to_string(), 4),
            ]
        );
    }

    #[test]
    fn a_shorter_path_defines_a_json_value_s_properties() {
        let known = |name: &str| ["servers", "db.host"].contains(&name);
        let defined = |name: &str| {
            Reference {
                name: name.into(),
                line: 1,
            }
            .is_defined(known)
        };
        assert!(defined("Servers[0].Name"));
        assert!(defined("DB.Host"));
        assert!(defined("Db.Host.Port"));
        assert!(!defined("Db"));
        assert!(!defined("Db.Hostname"));
        assert!(!defined("Other[servers]"));
    }

    #[test]
    fn undefined_leaves_out_the_installer_s_own_and_repeats() {
        let text = "#{Octopus.Action[Web].Output.Url} #{OctopusPrintVariables} #{env:HOME}\n\
                    #{Dropship.Upgrade.Mode} #{Known} #{Unknown}\n#{unknown} #{DropshipX}";
        let undefined: Vec<(String, usize)> = undefined_references(text, |n| n == "known")
            .into_iter()
            .map(|r| (r.name, r.line))
            .collect();
        assert_eq!(
            undefined,
            [("Unknown".to_string(), 2), ("DropshipX".to_string(), 3)]
        );
    }

    #[test]
    fn text_without_tokens_reads_nothing() {
        assert!(references("plain $HOME and # { not a token }").is_empty());
    }
}
