//! `dropship reports`: read the `report.json` files customers sent back (files, or folders
//! searched through) and show what they say together (`feedback`), as text, JSON or a
//! self-contained HTML page.

use crate::failure::OnMachine;
use crate::feedback::{self, InstallRecord};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

pub fn run(paths: &[PathBuf], format: &str, out: Option<&Path>) -> Result<()> {
    let mut records = Vec::new();
    for path in paths {
        read_into(path, &mut records)?;
    }
    if records.is_empty() {
        bail!(
            "no install report found in {}; pass the `report.json` files customers returned, \
             or folders holding them",
            shown(paths)
        );
    }
    let aggregate = feedback::aggregate(&records);
    let text = match format {
        "json" => serde_json::to_string_pretty(&aggregate)? + "\n",
        "html" => feedback::html(&aggregate),
        _ => feedback::text(&aggregate),
    };
    match out {
        Some(out) => dropship_runtime::durable::write_atomic(out, text.as_bytes(), None)
            .machine_io(|| format!("writing `{}`", out.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

/// A file named on the command line must be a report; in a folder, every `.json` file that is
/// one counts and the others are passed over.
fn read_into(path: &Path, records: &mut Vec<InstallRecord>) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading `{}`", path.display()))?;
    if !meta.is_dir() {
        let record = read_report(path)?;
        records.push(
            record.with_context(|| {
                format!("`{}` is not a dropship install report", path.display())
            })?,
        );
        return Ok(());
    }
    for entry in std::fs::read_dir(path).with_context(|| format!("listing `{}`", path.display()))? {
        let child = entry
            .with_context(|| format!("listing `{}`", path.display()))?
            .path();
        if child.is_dir() {
            read_into(&child, records)?;
        } else if child.extension().is_some_and(|e| e == "json") {
            match read_report(&child) {
                Ok(record) => records.extend(record),
                Err(e) => eprintln!("note: passed over {e:#}"),
            }
        }
    }
    Ok(())
}

/// The report in `path`; `None` when it is JSON of another kind.
fn read_report(path: &Path) -> Result<Option<InstallRecord>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading `{}`", path.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("`{}` is not JSON", path.display()))?;
    Ok(InstallRecord::from_json(&value))
}

fn shown(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
    names.join(", ")
}
