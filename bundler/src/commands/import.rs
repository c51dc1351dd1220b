//! `dropship import opd` and `dropship import process`: read what Octopus produced, map it to a
//! plan, validate that plan with the runtime's own parser (and against the drop), and write it
//! all or nothing, then say what was mapped and what was not.

use crate::import::opd::read_opd;
use crate::import::to_plan::{self, Mapped};
use crate::import::{Asked, ImportOptions, looks_secret, parse_process_json, parse_process_ocl};
use crate::inputs;
use anyhow::{Context, Result};
use dropship_runtime::escape;
use dropship_runtime::plan::{DropFolder, Plan, PlanErrors, Product};
use std::path::Path;

/// `import opd`.
pub fn opd(
    drop: &Path,
    out: &Output<'_>,
    ask: &[String],
    password_env: Option<&str>,
) -> Result<()> {
    out.check_free()?;
    let password = password_env
        .map(|var| {
            std::env::var(var).with_context(|| format!("--drop-password-env: `{var}` is not set"))
        })
        .transpose()?;
    let (root, _unpacked) = inputs::drop_folder(drop)?;
    let read = read_opd(&root, ask, password.as_deref())?;
    let mapped = to_plan::to_plan(&read.process, &read.files, read.product, &read.asked, &root);
    finish(
        mapped,
        (&root, drop),
        out.path,
        &format!(
            "drop `{}` (script `{}`)",
            drop.display(),
            read.script.display()
        ),
    )?;
    if password.is_some() {
        println!("the drop password decrypts every sensitive variables file (it was not stored)");
    }
    Ok(())
}

/// `import process`.
pub fn process(
    file: &Path,
    packages: &Path,
    out: &Output<'_>,
    options: ProcessOptions,
) -> Result<()> {
    out.check_free()?;
    let import_options = ImportOptions {
        environment: options.environment,
        channel: options.channel,
        packages_dir: Some(packages.to_path_buf()),
    };
    let is_ocl = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ocl"));
    let process = if is_ocl {
        parse_process_ocl(file, &import_options)?
    } else {
        parse_process_json(file, &import_options)?
    };
    let asked: Vec<Asked> = options
        .ask
        .iter()
        .map(|name| Asked {
            name: name.clone(),
            secret: looks_secret(name),
            reason: "asked of the customer (--ask)".into(),
        })
        .collect();
    let product = Product {
        name: options.product.unwrap_or_else(|| "Imported product".into()),
        version: options.version.unwrap_or_else(|| "0.0.0".into()),
        vendor: None,
    };
    let mapped = to_plan::to_plan(&process, &[], product, &asked, packages);
    finish(
        mapped,
        (packages, packages),
        out.path,
        &format!("process `{}`", file.display()),
    )
}

/// Options of `import process` beyond its files.
#[derive(Debug, Default)]
pub struct ProcessOptions {
    pub environment: Option<String>,
    pub channel: Option<String>,
    pub ask: Vec<String>,
    pub product: Option<String>,
    pub version: Option<String>,
}

/// Where the plan goes, and whether an existing file there may be replaced (`--force`).
pub struct Output<'a> {
    pub path: &'a Path,
    pub force: bool,
}

impl Output<'_> {
    /// A plan already there is a reviewed plan: replacing it takes `--force`.
    fn check_free(&self) -> Result<()> {
        if self.path.exists() && !self.force {
            anyhow::bail!(
                "`{}` already exists and may be a reviewed plan; pass --force to replace it, or \
                 -o another file",
                self.path.display()
            );
        }
        Ok(())
    }
}

/// Validate the mapped plan as `build` will, then write it and print the summary. `drop` is the
/// drop as read (unpacked when it is a zip) and as the user named it.
fn finish(mapped: Mapped, drop: (&Path, &Path), out: &Path, source: &str) -> Result<()> {
    let (drop_root, drop_named) = drop;
    let text = serde_json::to_string_pretty(&mapped.plan)?;
    let origin = out.display().to_string();
    let plan = Plan::parse(text.as_bytes(), &origin)?;
    let problems = plan.check_drop(&DropFolder(drop_root));
    if !problems.is_empty() {
        return Err(PlanErrors { origin, problems }.into());
    }
    to_plan::write_plan(&mapped.plan, out)?;
    println!("imported {source} into `{}`:", out.display());
    for line in &mapped.mapped {
        println!("  mapped      {line}");
    }
    for line in &mapped.not_mapped {
        println!("  NOT mapped  {line}");
    }
    for parameter in plan.parameters() {
        println!(
            "  asks        `{}` ({})",
            parameter.name,
            parameter.kind.name()
        );
    }
    println!(
        "review the plan, then: dropship plan check {} --drop {}",
        escape::shell_word(&out.display().to_string()),
        escape::shell_word(&drop_named.display().to_string())
    );
    Ok(())
}
