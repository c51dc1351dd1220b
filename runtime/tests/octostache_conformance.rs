//! Runs every upstream Octostache test vector with api `Evaluate` or `EvaluateTruthy` (and no
//! `skip`) through the library; `GetArgumentNames` has no counterpart in this engine. Fails on
//! any vector that does not match, unless it is listed in `conformance/known-gaps.txt`
//! (`<id> <reason>` per line); also fails when a listed gap passes, so the list stays honest.

use std::collections::BTreeMap;

use dropship_runtime::template::{Mode, Variables, evaluate, evaluate_truthy};
use serde_json::Value;

const VECTORS: &str = include_str!("conformance/octostache-public.json");
const KNOWN_GAPS: &str = include_str!("conformance/known-gaps.txt");

fn variables(vector: &Value) -> Variables {
    let mut vars = Variables::new();
    if let Some(map) = vector["variables"].as_object() {
        for (name, value) in map {
            vars.set(name.clone(), value.as_str().map(str::to_string));
        }
    }
    vars
}

/// Checks one `EvaluateTruthy` vector (`expected` is "true" or "false").
fn check_truthy(vector: &Value) -> Result<(), String> {
    let template = vector["template"]
        .as_str()
        .ok_or("template is not a string")?;
    let actual = evaluate_truthy(template, &variables(vector)).to_string();
    match vector["expected"].as_str() {
        Some(expected) if expected == actual => Ok(()),
        expected => Err(format!("expected {expected:?}, got {actual}")),
    }
}

/// Checks one `Evaluate` vector; `Err` describes the mismatch.
fn check(vector: &Value) -> Result<(), String> {
    let vars = variables(vector);
    let template = vector["template"]
        .as_str()
        .ok_or("template is not a string")?;
    let mode = if vector["halt_on_error"].as_bool().unwrap_or(true) {
        Mode::Strict
    } else {
        Mode::Continue
    };
    let result = evaluate(template, &vars, mode);
    if vector.get("expect_exception").is_some() {
        let err = match result {
            Err(err) => err,
            Ok(ev) => return Err(format!("expected an exception, got {ev:?}")),
        };
        return match vector["exception_message"].as_str() {
            Some(message) if message != err.to_string() => {
                Err(format!("exception message was {err}"))
            }
            _ => Ok(()),
        };
    }
    let ev = result.map_err(|e| format!("unexpected error: {e}"))?;
    let trim = vector["compare"].as_str() == Some("trim");
    let normalise = |s: Option<&str>| {
        s.map(|s| {
            if trim {
                s.trim().to_string()
            } else {
                s.to_string()
            }
        })
    };
    let expected = normalise(vector["expected"].as_str());
    let actual = normalise(ev.output.as_deref());
    if expected != actual {
        return Err(format!(
            "expected {expected:?}, got {actual:?} (error {:?})",
            ev.error
        ));
    }
    if let Some(expect_error) = vector["expect_error"].as_bool()
        && expect_error != ev.error.is_some()
    {
        return Err(format!(
            "expect_error {expect_error}, error was {:?}",
            ev.error
        ));
    }
    if let Some(expected_error) = vector["expected_error"].as_str()
        && ev.error.as_deref() != Some(expected_error)
    {
        return Err(format!("error was {:?}", ev.error));
    }
    Ok(())
}

#[test]
fn octostache_public_vectors() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).expect("the vectors file is JSON");
    let gaps: BTreeMap<&str, &str> = KNOWN_GAPS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once(char::is_whitespace).unwrap_or((l, "")))
        .collect();
    let mut problems = Vec::new();
    let mut passed = 0;
    let runnable = vectors
        .iter()
        .filter(|v| !v["skip"].as_bool().unwrap_or(false));
    for vector in runnable {
        let id = vector["id"].as_str().unwrap_or("?");
        let outcome = match vector["api"].as_str() {
            Some("Evaluate") => check(vector),
            Some("EvaluateTruthy") => check_truthy(vector),
            _ => continue,
        };
        match (outcome, gaps.contains_key(id)) {
            (Ok(()), false) => passed += 1,
            (Ok(()), true) => {
                problems.push(format!("{id}: listed in known-gaps.txt but passes now"))
            }
            (Err(why), false) => problems.push(format!("{id}: {why}")),
            (Err(_), true) => {}
        }
    }
    eprintln!("{passed} vectors passed, {} known gaps", gaps.len());
    assert!(
        problems.is_empty(),
        "{} conformance problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
