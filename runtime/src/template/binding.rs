//! The variable tree (§6.5): each variable name is parsed as a symbol path and its value
//! stored at that path. Named and indexed children are separate, matched case-insensitively,
//! and indexed children keep insertion order (iteration order for `#{each}`).
//! Nodes are shared (`Arc`) so loop scopes can hold subtrees without copying them, and so a
//! [`Variables`](super::Variables) can keep its tree up to date as variables are set.

use std::collections::HashMap;
use std::sync::Arc;

use super::ast::{Index, Step};
use super::parser::parse_name;

/// One node of the tree: an optional value and two kinds of children.
#[derive(Debug, Clone, Default)]
pub(crate) struct Binding {
    pub item: Option<String>,
    pub children: Children,
    pub indexes: Children,
}

/// Case-insensitive children in insertion order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Children {
    entries: Vec<(String, Arc<Binding>)>,
    lookup: HashMap<String, usize>,
}

impl Children {
    pub fn get(&self, key: &str) -> Option<&Arc<Binding>> {
        let i = *self.lookup.get(&key.to_lowercase())?;
        self.entries.get(i).map(|(_, node)| node)
    }

    pub fn first(&self) -> Option<&Arc<Binding>> {
        self.entries.first().map(|(_, node)| node)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Arc<Binding>> {
        self.entries.iter().map(|(_, node)| node)
    }

    /// Replaces or adds a child.
    pub fn insert(&mut self, key: &str, node: Arc<Binding>) {
        match self.lookup.get(&key.to_lowercase()) {
            Some(&i) => {
                if let Some(entry) = self.entries.get_mut(i) {
                    entry.1 = node;
                }
            }
            None => {
                self.lookup.insert(key.to_lowercase(), self.entries.len());
                self.entries.push((key.to_string(), node));
            }
        }
    }

    /// The child for `key`, created with `init` if missing, ready to modify. (Every variable
    /// of every step is bound through here: one lower-casing and one lookup per name part.)
    fn entry(&mut self, key: &str, init: impl FnOnce() -> Binding) -> &mut Binding {
        let lower = key.to_lowercase();
        let i = match self.lookup.get(&lower) {
            Some(&i) => i,
            None => {
                self.entries.push((key.to_string(), Arc::new(init())));
                self.lookup.insert(lower, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        Arc::make_mut(&mut self.entries[i].1)
    }
}

impl Binding {
    pub fn leaf(value: impl Into<String>) -> Binding {
        Binding {
            item: Some(value.into()),
            ..Binding::default()
        }
    }

    /// Builds the tree from the flat map's entries; names with no valid symbol prefix are
    /// skipped.
    pub fn build<'a>(entries: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> Binding {
        let mut root = Binding::default();
        for (name, value) in entries {
            root.bind(name, value);
        }
        root
    }

    /// Stores one variable at the path its name parses to (a null value is `""`).
    pub fn bind(&mut self, name: &str, value: Option<&str>) {
        if let Some(symbol) = parse_name(name) {
            self.set(&symbol.steps, value.unwrap_or(""));
        }
    }

    /// Stores `value` at the path, creating nodes; new index nodes hold their key text.
    pub fn set(&mut self, steps: &[Step], value: &str) {
        let mut node = self;
        for step in steps {
            node = match step {
                Step::Ident(name) => node.children.entry(name, Binding::default),
                Step::Index(index) => {
                    let key = match index {
                        Index::Key(key) => key.clone(),
                        Index::Symbol(symbol) => format!("#{{{symbol}}}"),
                    };
                    node.indexes.entry(&key, || Binding::leaf(key.clone()))
                }
            };
        }
        node.item = Some(value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Variables;

    #[test]
    fn index_nodes_hold_their_key_until_assigned() {
        let mut vars = Variables::new();
        vars.set("Octopus.Action[A].Name", Some("x".into()));
        vars.set("Octopus.Action[B]", Some("assigned".into()));
        let root = Binding::build(vars.iter());
        let action = root
            .children
            .get("octopus")
            .and_then(|o| o.children.get("ACTION"))
            .cloned();
        let action = action.unwrap_or_default();
        let items: Vec<_> = action
            .indexes
            .nodes()
            .map(|n| n.item.clone().unwrap_or_default())
            .collect();
        assert_eq!(items, ["A", "assigned"]);
    }
}
