//! Evaluator: renders a parsed template against the variable tree (§6.6–§6.14).
//!
//! Scopes form a chain (root variables, then one per `#{each}` iteration or value being
//! evaluated); a lookup that fails in a scope is retried whole in its parent. Each scope keeps
//! the stack of symbols it is resolving, which is how cycles are found (§6.8). Unresolved tokens
//! are echoed and collected in a [`Sink`]; only cycles and throwing filters are errors.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use super::ast::{
    CalcExpr, CalcOp, Call, Conditional, Expr, FilterOption, Index, Operand, Repetition, Step,
    Symbol, Template, Token,
};
use super::binding::Binding;
use super::error::TemplateError;
use super::filters::{self, Extensions};
use super::number::{format_double, parse_double};
use super::{Limits, json, parser};
use std::sync::atomic::{AtomicBool, Ordering};

type EResult<T> = Result<T, TemplateError>;

/// What evaluation found besides the output: unresolved tokens, and whether a null marker
/// (`#{ | null}`, §6.14) was evaluated, which makes the whole result null.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub missing: Vec<String>,
    pub null_result: bool,
}

impl Sink {
    fn record(&mut self, echo: &str) {
        if !self.missing.iter().any(|m| m == echo) {
            self.missing.push(echo.to_string());
        }
    }

    fn absorb(&mut self, inner: Sink) {
        inner.missing.iter().for_each(|m| self.record(m));
    }
}

/// A lookup scope: a tree, the scope it falls back to, and the symbols being resolved.
pub(crate) struct Scope<'a> {
    tree: Arc<Binding>,
    parent: Option<&'a Scope<'a>>,
    stack: RefCell<Vec<Symbol>>,
}

impl<'a> Scope<'a> {
    pub fn new(tree: Arc<Binding>, parent: Option<&'a Scope<'a>>) -> Scope<'a> {
        Scope {
            tree,
            parent,
            stack: RefCell::new(Vec::new()),
        }
    }

    /// Fails if `symbol` (the same source token) is being resolved here or in an ancestor.
    fn check_cycle(&self, symbol: &Symbol) -> EResult<()> {
        let mut scope = Some(self);
        while let Some(current) = scope {
            let stack = current.stack.borrow();
            if stack.iter().any(|s| s.same_token(symbol)) {
                let mut chain: Vec<String> = stack.iter().map(ToString::to_string).collect();
                chain.push(symbol.to_string());
                return Err(TemplateError::Cycle {
                    symbol: symbol.to_string(),
                    chain: chain.join(" -> "),
                });
            }
            scope = current.parent;
        }
        Ok(())
    }
}

/// What a lookup found: the node, and its evaluated value when one was wanted.
struct Found {
    node: Arc<Binding>,
    value: Option<String>,
}

/// Whether a lookup is for a value, or for the items of an `#{each}`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Value,
    Items,
}

/// How deeply variable values may nest (a value referring to a value ...) before evaluation
/// fails: cycles are caught separately; this keeps long chains from exhausting the stack.
const MAX_VALUE_DEPTH: usize = 100;

/// The evaluator for one `evaluate` call: custom filters, a cache of parsed values, the
/// nesting depth and the work done so far against its limits.
pub(crate) struct Engine<'v> {
    extensions: &'v Extensions,
    parsed: RefCell<HashMap<String, Option<Rc<Template>>>>,
    depth: std::cell::Cell<usize>,
    limits: Limits,
    steps: std::cell::Cell<u64>,
    cancel: Option<&'v AtomicBool>,
}

impl<'v> Engine<'v> {
    /// An engine that stops at `limits`, or once `cancel` is set.
    pub fn new(
        extensions: &'v Extensions,
        limits: Limits,
        cancel: Option<&'v AtomicBool>,
    ) -> Engine<'v> {
        Engine {
            extensions,
            parsed: RefCell::new(HashMap::new()),
            depth: std::cell::Cell::new(0),
            limits,
            steps: std::cell::Cell::new(0),
            cancel,
        }
    }

    pub fn eval_template(
        &self,
        t: &Template,
        scope: &Scope,
        sink: &mut Sink,
        out: &mut String,
    ) -> EResult<()> {
        t.tokens.iter().try_for_each(|token| {
            self.eval_token(token, scope, sink, out)?;
            self.check_size(out)
        })
    }

    /// Counts one step of work; fails past the step limit or once the operator cancels.
    fn step(&self) -> EResult<()> {
        let steps = self.steps.get() + 1;
        self.steps.set(steps);
        if steps > self.limits.max_steps {
            return Err(TemplateError::TooMuchWork {
                limit: self.limits.max_steps,
            });
        }
        // Every step looks: one step can be a filter over megabytes, and a relaxed load costs
        // nothing next to it.
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(TemplateError::Cancelled);
        }
        Ok(())
    }

    /// Fails when a text being built has grown past the output limit.
    fn check_size(&self, text: &str) -> EResult<()> {
        if text.len() > self.limits.max_output_bytes {
            return Err(TemplateError::TooLarge {
                limit: self.limits.max_output_bytes,
            });
        }
        Ok(())
    }

    fn eval_token(
        &self,
        token: &Token,
        scope: &Scope,
        sink: &mut Sink,
        out: &mut String,
    ) -> EResult<()> {
        self.step()?;
        match token {
            Token::Text(text) => out.push_str(text),
            Token::Substitution(expr) => self.eval_substitution(expr, scope, sink, out)?,
            Token::Conditional(c) => self.eval_conditional(c, scope, sink, out)?,
            Token::Repetition(r) => self.eval_repetition(r, scope, sink, out)?,
            Token::Calculation(calc) => match self.calc_value(calc, scope, sink)? {
                Some(v) => out.push_str(&format_double(v)),
                // An unevaluable calc is echoed without `calc`, and is not an error (§6.13).
                None => out.push_str(&token.to_string()),
            },
        }
        Ok(())
    }

    fn eval_substitution(
        &self,
        expr: &Expr,
        scope: &Scope,
        sink: &mut Sink,
        out: &mut String,
    ) -> EResult<()> {
        let value = match expr {
            Expr::Symbol(s) => self.value(s, scope, sink)?,
            Expr::Call(call) => self.eval_call(call, scope, sink)?,
        };
        if let Some(value) = value {
            out.push_str(&value);
            return Ok(());
        }
        // The null marker is the outermost filter spelled exactly `null`: it writes nothing
        // and is not an error, but makes the result null (§6.14).
        if matches!(expr, Expr::Call(c) if c.filters.last().is_some_and(|f| f.name == "null")) {
            sink.null_result = true;
            return Ok(());
        }
        let echo = format!("#{{{expr}}}");
        out.push_str(&echo);
        sink.record(&echo);
        Ok(())
    }

    fn eval_call(&self, call: &Call, scope: &Scope, sink: &mut Sink) -> EResult<Option<String>> {
        let mut value = match &call.subject {
            Some(subject) => self.value(subject, scope, sink)?,
            None => None,
        };
        for filter in &call.filters {
            let options = self.eval_options(&filter.options, scope, sink)?;
            let input = value.take();
            value = filters::apply(&filter.name, input.as_deref(), &options)?;
            // A custom filter is asked only when the built-in one is missing or null (§6.12.3).
            if value.is_none()
                && let Some(extension) = self.extensions.get(&filter.name.to_lowercase())
            {
                value = extension(input.as_deref(), &options);
            }
        }
        Ok(value)
    }

    fn eval_options(
        &self,
        options: &[FilterOption],
        scope: &Scope,
        sink: &mut Sink,
    ) -> EResult<Vec<String>> {
        // Options are rendered with the same sink: their unresolved tokens (and a null marker)
        // count for the enclosing template, as in Octostache.
        options
            .iter()
            .map(|option| match option {
                FilterOption::Literal(text) => Ok(text.clone()),
                FilterOption::Token(token) => {
                    let mut out = String::new();
                    self.eval_token(token, scope, sink, &mut out).map(|()| out)
                }
            })
            .collect()
    }

    fn eval_conditional(
        &self,
        c: &Conditional,
        scope: &Scope,
        sink: &mut Sink,
        out: &mut String,
    ) -> EResult<()> {
        // A condition whose filter chain yields null echoes the whole conditional (§6.7).
        let Some(left) = self.operand(&c.condition.left, scope, sink)? else {
            out.push_str(&c.to_string());
            return Ok(());
        };
        let holds = match &c.condition.compare {
            None => is_truthy(&left),
            Some(cmp) => match self.operand(&cmp.right, scope, sink)? {
                Some(right) => (left == right) == cmp.equal,
                None => {
                    out.push_str(&c.to_string());
                    return Ok(());
                }
            },
        };
        match if holds {
            Some(&c.truthy)
        } else {
            c.otherwise.as_ref()
        } {
            Some(branch) => self.eval_template(branch, scope, sink, out),
            None => Ok(()),
        }
    }

    /// One side of a condition: a missing symbol is `""`; a filter chain yielding null is
    /// `None`, which makes the whole conditional be echoed.
    fn operand(
        &self,
        operand: &Operand,
        scope: &Scope,
        sink: &mut Sink,
    ) -> EResult<Option<String>> {
        match operand {
            Operand::Str(s) => Ok(Some(s.clone())),
            Operand::Expr(Expr::Symbol(s)) => {
                Ok(Some(self.value(s, scope, sink)?.unwrap_or_default()))
            }
            Operand::Expr(Expr::Call(call)) => {
                let value = self.eval_call(call, scope, sink)?;
                if value.is_none() {
                    // Octostache reports the expression itself here, without `#{}`.
                    sink.record(&call.to_string());
                }
                Ok(value)
            }
        }
    }

    fn eval_repetition(
        &self,
        r: &Repetition,
        scope: &Scope,
        sink: &mut Sink,
        out: &mut String,
    ) -> EResult<()> {
        let items = self.items(&r.collection, scope, sink)?;
        let count = items.len();
        for (i, item) in items.into_iter().enumerate() {
            // An empty body renders no token, so the iteration itself is a step.
            self.step()?;
            let mut locals = Binding::default();
            locals.children.insert(&r.name, item);
            let each = |name: &str| {
                ["Octopus", "Template", "Each", name].map(|s| Step::Ident(s.to_string()))
            };
            locals.set(&each("Index"), &i.to_string());
            locals.set(&each("First"), if i == 0 { "True" } else { "False" });
            locals.set(&each("Last"), if i + 1 == count { "True" } else { "False" });
            let child = Scope::new(Arc::new(locals), Some(scope));
            self.eval_template(&r.body, &child, sink, out)?;
        }
        Ok(())
    }

    /// The items of a collection (§6.11).
    fn items(
        &self,
        collection: &Symbol,
        scope: &Scope,
        sink: &mut Sink,
    ) -> EResult<Vec<Arc<Binding>>> {
        let Some(found) = self.lookup(collection, scope, sink, Want::Items)? else {
            return Ok(Vec::new());
        };
        if !found.node.indexes.is_empty() {
            return Ok(found.node.indexes.nodes().cloned().collect());
        }
        let Some(value) = found.value else {
            return Ok(Vec::new());
        };
        // No more items than steps are left: each iteration is a step, and a long list
        // (`1,1,1,...`) must not become millions of bindings before the limit is seen.
        let most = usize::try_from(self.limits.max_steps)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let items = match json::parse_lenient(&value) {
            Some(serde_json::Value::Array(elements)) => elements
                .iter()
                .take(most)
                .map(|e| Arc::new(Binding::leaf(json::to_text(e))))
                .collect(),
            Some(serde_json::Value::Object(map)) => map
                .iter()
                .take(most)
                .map(|(key, v)| {
                    let mut item = Binding::leaf(key.clone());
                    item.children
                        .insert("Key", Arc::new(Binding::leaf(key.clone())));
                    item.children
                        .insert("Value", Arc::new(Binding::leaf(json::to_text(v))));
                    Arc::new(item)
                })
                .collect(),
            _ => value
                .split(',')
                .take(most)
                .map(|piece| Arc::new(Binding::leaf(piece)))
                .collect(),
        };
        Ok(items)
    }

    fn calc_value(&self, calc: &CalcExpr, scope: &Scope, sink: &mut Sink) -> EResult<Option<f64>> {
        Ok(match calc {
            CalcExpr::Constant(v) => Some(*v),
            CalcExpr::Variable(s) => self.value(s, scope, sink)?.and_then(|v| parse_double(&v)),
            CalcExpr::Group(inner) => self.calc_value(inner, scope, sink)?,
            CalcExpr::Binary(l, op, r) => {
                let (Some(l), Some(r)) = (
                    self.calc_value(l, scope, sink)?,
                    self.calc_value(r, scope, sink)?,
                ) else {
                    return Ok(None);
                };
                Some(match op {
                    CalcOp::Add => l + r,
                    CalcOp::Subtract => l - r,
                    CalcOp::Multiply => l * r,
                    CalcOp::Divide => l / r,
                })
            }
        })
    }

    /// The evaluated value of a symbol, `None` when missing or without a value.
    fn value(&self, symbol: &Symbol, scope: &Scope, sink: &mut Sink) -> EResult<Option<String>> {
        Ok(self
            .lookup(symbol, scope, sink, Want::Value)?
            .and_then(|f| f.value))
    }

    fn lookup(
        &self,
        symbol: &Symbol,
        scope: &Scope,
        sink: &mut Sink,
        want: Want,
    ) -> EResult<Option<Found>> {
        self.step()?;
        scope.check_cycle(symbol)?;
        scope.stack.borrow_mut().push(symbol.clone());
        let result = self.lookup_here(symbol, scope, sink, want);
        scope.stack.borrow_mut().pop();
        result
    }

    fn lookup_here(
        &self,
        symbol: &Symbol,
        scope: &Scope,
        sink: &mut Sink,
        want: Want,
    ) -> EResult<Option<Found>> {
        let Some(resolved) = self.resolve_indexers(symbol, scope)? else {
            return Ok(None);
        };
        match self.walk(&scope.tree, &resolved.steps, scope)? {
            Some(node) => {
                let skip_value = want == Want::Items && !node.indexes.is_empty();
                let value = if skip_value {
                    None
                } else {
                    self.evaluate_item(&node, scope, sink)?
                };
                Ok(Some(Found { node, value }))
            }
            None => match scope.parent {
                Some(parent) => self.lookup(&resolved, parent, sink, want),
                None => Ok(None),
            },
        }
    }

    /// Replaces `[#{X}]` steps by X's value; `None` if one cannot be resolved. Unresolved
    /// tokens met on the way are not reported (§6.6.1).
    fn resolve_indexers(&self, symbol: &Symbol, scope: &Scope) -> EResult<Option<Symbol>> {
        let mut steps = Vec::with_capacity(symbol.steps.len());
        for step in &symbol.steps {
            let Step::Index(Index::Symbol(inner)) = step else {
                steps.push(step.clone());
                continue;
            };
            match self.value(inner, scope, &mut Sink::default())? {
                Some(key) => steps.push(Step::Index(Index::Key(key))),
                None => return Ok(None),
            }
        }
        Ok(Some(Symbol {
            steps,
            offset: symbol.offset,
        }))
    }

    fn walk(
        &self,
        tree: &Arc<Binding>,
        steps: &[Step],
        scope: &Scope,
    ) -> EResult<Option<Arc<Binding>>> {
        let mut node = Arc::clone(tree);
        for step in steps {
            let (child, key) = match step {
                Step::Ident(name) => (node.children.get(name).cloned(), name.as_str()),
                Step::Index(Index::Key(key)) => {
                    let first = if key == "*" {
                        node.indexes.first()
                    } else {
                        None
                    };
                    (
                        first.or_else(|| node.indexes.get(key)).cloned(),
                        key.as_str(),
                    )
                }
                Step::Index(Index::Symbol(_)) => return Ok(None),
            };
            node = match child {
                Some(child) => child,
                None => match self.json_step(&node, key, scope)? {
                    Some(child) => child,
                    None => return Ok(None),
                },
            };
        }
        Ok(Some(node))
    }

    /// The JSON fallback (§6.9): index into the node's value read as JSON.
    fn json_step(&self, node: &Binding, key: &str, scope: &Scope) -> EResult<Option<Arc<Binding>>> {
        let Some(item) = node.item.as_deref().filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let text = match self.evaluate_text(item, scope, &mut Sink::default()) {
            Ok(text) => text,
            // A cycle met here only disables the fallback (§6.8).
            Err(e) if e.is_cycle() => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(value) = json::parse_lenient(&text) else {
            return Ok(None);
        };
        Ok(json::select(&value, key)?.map(|s| Arc::new(Binding::leaf(s))))
    }

    fn evaluate_item(
        &self,
        node: &Binding,
        scope: &Scope,
        sink: &mut Sink,
    ) -> EResult<Option<String>> {
        match node.item.as_deref() {
            Some(item) => self.evaluate_text(item, scope, sink).map(Some),
            None => Ok(None),
        }
    }

    /// A value that parses strictly as a template is evaluated in a fresh child of the scope
    /// where it was found; otherwise it is used verbatim (§6.4, §6.6).
    fn evaluate_text(&self, text: &str, scope: &Scope, sink: &mut Sink) -> EResult<String> {
        let Some(template) = self.parse_cached(text) else {
            return Ok(text.to_string());
        };
        let depth = self.depth.get();
        if depth >= MAX_VALUE_DEPTH {
            return Err(TemplateError::TooDeep {
                limit: MAX_VALUE_DEPTH,
            });
        }
        let child = Scope::new(Arc::new(Binding::default()), Some(scope));
        let mut inner = Sink::default();
        let mut out = String::new();
        self.depth.set(depth + 1);
        let evaluated = self.eval_template(&template, &child, &mut inner, &mut out);
        self.depth.set(depth);
        evaluated?;
        // A value containing a null marker is used as it is written (§6.14).
        if inner.null_result {
            return Ok(text.to_string());
        }
        sink.absorb(inner);
        Ok(out)
    }

    fn parse_cached(&self, text: &str) -> Option<Rc<Template>> {
        if !text.contains("#{") {
            return None;
        }
        if let Some(cached) = self.parsed.borrow().get(text) {
            return cached.clone();
        }
        let parsed = parser::parse_strict(text).ok().map(Rc::new);
        self.parsed
            .borrow_mut()
            .insert(text.to_string(), parsed.clone());
        parsed
    }
}

/// Truthiness (§6.10.1): falsy are `"0"`, `""`, and `no`/`false` after trimming, any case.
pub(crate) fn is_truthy(value: &str) -> bool {
    let trimmed = value.trim();
    !(value == "0"
        || value.is_empty()
        || trimmed.eq_ignore_ascii_case("no")
        || trimmed.eq_ignore_ascii_case("false"))
}
