//! Circles between sibling modules. For every module, a graph of its children: A → B when code
//! in A (or below it) names B (or something below it). A module using its children, or a child
//! using its ancestors' items, is no edge; siblings using each other, directly or through other
//! siblings, make a circle.
//!
//! Every edge that lies on a circle is reported on one: the shortest circle through it. So each
//! dependency that has to go is shown once, without listing every longer circle the same edges
//! also make.

use super::tree::{Dependency, Evidence, ModPath};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Siblings that depend on each other in a ring: `members[0]` → `members[1]` → … → `members[0]`,
/// with where each of those dependencies is written.
#[derive(Debug, PartialEq, Eq)]
pub struct Circle {
    /// The module whose children they are.
    pub parent: ModPath,
    pub members: Vec<String>,
    pub links: Vec<Evidence>,
}

/// For each parent module: child → child it depends on → the first place that dependency is written.
type Graphs<'a> = BTreeMap<ModPath, Graph<'a>>;
type Graph<'a> = BTreeMap<&'a str, BTreeMap<&'a str, &'a Evidence>>;

pub fn circles(dependencies: &[Dependency]) -> Vec<Circle> {
    sibling_graphs(dependencies)
        .iter()
        .flat_map(|(parent, graph)| circles_in(parent, graph))
        .collect()
}

fn sibling_graphs(dependencies: &[Dependency]) -> Graphs<'_> {
    let mut graphs = Graphs::new();
    for dependency in dependencies {
        let (from, to) = (&dependency.from, &dependency.to);
        let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        // Equal to either length: one contains the other, a parent-child use.
        if common < from.len() && common < to.len() {
            graphs
                .entry(from[..common].to_vec())
                .or_default()
                .entry(from[common].as_str())
                .or_default()
                .entry(to[common].as_str())
                .or_insert(&dependency.evidence);
        }
    }
    graphs
}

fn circles_in(parent: &ModPath, graph: &Graph) -> Vec<Circle> {
    let mut rings = BTreeSet::new();
    for (&from, targets) in graph {
        for &to in targets.keys() {
            if let Some(back) = shortest_path(graph, to, from) {
                let mut ring = vec![from];
                ring.extend(&back[..back.len() - 1]);
                rings.insert(starting_at_least(ring));
            }
        }
    }
    rings
        .into_iter()
        .map(|ring| Circle {
            parent: parent.clone(),
            links: (0..ring.len())
                .map(|i| graph[ring[i]][ring[(i + 1) % ring.len()]].clone())
                .collect(),
            members: ring.into_iter().map(str::to_string).collect(),
        })
        .collect()
}

/// The fewest steps from `from` to `to`, both included (breadth first).
fn shortest_path<'a>(graph: &Graph<'a>, from: &'a str, to: &'a str) -> Option<Vec<&'a str>> {
    let mut previous = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(at) = queue.pop_front() {
        if at == to {
            return Some(walk_back(&previous, from, to));
        }
        for &next in graph.get(at).into_iter().flat_map(|targets| targets.keys()) {
            if next != from && !previous.contains_key(next) {
                previous.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    None
}

fn walk_back<'a>(
    previous: &BTreeMap<&'a str, &'a str>,
    from: &'a str,
    to: &'a str,
) -> Vec<&'a str> {
    let mut path = vec![to];
    let mut at = to;
    while at != from {
        at = previous[at];
        path.push(at);
    }
    path.reverse();
    path
}

/// The same ring, rotated to start at its least member, so each ring is found once.
fn starting_at_least(mut ring: Vec<&str>) -> Vec<&str> {
    let least = (0..ring.len()).min_by_key(|&i| ring[i]).unwrap_or(0);
    ring.rotate_left(least);
    ring
}
