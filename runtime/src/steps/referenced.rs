//! Extracting packages for the steps (helpers of `deploy_package` and `run_script`): the step's own
//! package, the packages a step references besides its own, and the package a `run-script`
//! step's script lives in (`docs/octopus-conventions.md` §5.1). A referenced or script package is
//! extracted into the step's work directory, every extracted file recorded by the rollback
//! transaction first, and described by the variables Calamari sets,
//! `Octopus.Action.Package[NAME].{ExtractedPath,PackageId,PackageVersion,OriginalPath,PackageFilePath}`.

use super::{StepContext, StepFailure};
use crate::disk;
use crate::package::{self, Before, EntryKind, ExtractLimits, PackageName};
use crate::plan::ReferencedPackage;
use crate::rollback::{RollbackError, Transaction};
use std::path::{Path, PathBuf};

/// `text` as one path segment: separators and control characters become `_`.
pub(super) fn safe_segment(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Extract `package` into `into` within the archive limits, once its declared size is known to
/// fit; every directory and file recorded by the step's transaction before it is made, the
/// bytes written told to the front end as they go.
pub(super) fn extract(
    ctx: &mut StepContext<'_, '_>,
    package: &Path,
    into: &Path,
) -> Result<u64, StepFailure> {
    let fail = |e: &dyn std::fmt::Display| StepFailure::new(e.to_string());
    let limits =
        ExtractLimits::from_variables(|name| ctx.vars.vars.get(name)).map_err(|e| fail(&e))?;
    let declared = package::declared_size(package, limits).map_err(|e| fail(&e))?;
    if let Some(size) = declared {
        disk::free_space(&into.to_string_lossy(), size).map_err(|room| {
            fail(&format!(
                "package `{}` unpacks to {size} bytes: {room}",
                package.display()
            ))
        })?;
    }
    let file_name = package.file_name().unwrap_or(package.as_os_str());
    let work = format!("extracting {}", file_name.to_string_lossy());
    let (tx, events) = (&mut *ctx.tx, &mut *ctx.events);
    let mut written = 0;
    let summary = package::extract_package_reporting(
        package,
        into,
        limits,
        |before| {
            match before {
                Before::All(entries) => journal_up_front(tx, entries)?,
                Before::One(path, EntryKind::Directory) => tx.create_dir_all(path)?,
                Before::One(path, EntryKind::File | EntryKind::Symlink) => {
                    tx.before_create_file(path)?
                }
            }
            Ok(())
        },
        |done| {
            written = done;
            events.progress(&work, done, declared);
        },
    );
    ctx.events.progress(&work, written, Some(written));
    Ok(summary.map_err(|e| fail(&e))?.file_count)
}

/// Journal everything a package will make, once the extraction checked it against the
/// destination and before any of it is written: its new directories (the destination's first)
/// and its files in one batch, then the identities of the directories, created here (each file
/// it replaces is moved to its backup), so a package costs two journal flushes however many
/// entries it holds.
fn journal_up_front(
    tx: &mut Transaction<'_>,
    entries: &[(PathBuf, EntryKind)],
) -> Result<(), RollbackError> {
    let (dirs, files): (Vec<_>, Vec<_>) = entries
        .iter()
        .partition(|(_, kind)| *kind == EntryKind::Directory);
    let dirs: Vec<&Path> = dirs.into_iter().map(|(path, _)| path.as_path()).collect();
    let files: Vec<&Path> = files.into_iter().map(|(path, _)| path.as_path()).collect();
    tx.create_dirs_and_files(&dirs, &files)
}

/// Extract (where asked) each referenced package and set its variables.
pub(super) fn prepare(
    ctx: &mut StepContext<'_, '_>,
    packages: &[ReferencedPackage],
) -> Result<(), StepFailure> {
    for reference in packages {
        let file = ctx.drop_root.join(&reference.package);
        let name = package_name(&file)?;
        let prefix = format!("Octopus.Action.Package[{}]", reference.name);
        if reference.extract {
            let into = ctx.work_dir.join(safe_dir_name(&reference.name));
            extract(ctx, &file, &into)?;
            ctx.vars
                .set(&format!("{prefix}.ExtractedPath"), &into.to_string_lossy());
        }
        let path = file.to_string_lossy();
        for (field, value) in [
            ("PackageId", name.id.as_str()),
            ("PackageVersion", name.version.as_str()),
            ("OriginalPath", &path),
            ("PackageFilePath", &path),
        ] {
            ctx.vars.set(&format!("{prefix}.{field}"), value);
        }
    }
    Ok(())
}

/// Extract the package holding a script into the step's work directory; that directory.
pub(super) fn extract_script_package(
    ctx: &mut StepContext<'_, '_>,
    package: &str,
) -> Result<PathBuf, StepFailure> {
    let file = ctx.drop_root.join(package);
    let name = package_name(&file)?;
    let into = ctx.work_dir.join(safe_dir_name(&name.id));
    extract(ctx, &file, &into)?;
    Ok(into)
}

fn package_name(file: &Path) -> Result<PackageName, StepFailure> {
    PackageName::from_path(file).map_err(|e| {
        StepFailure::new(format!(
            "package `{}`: {e}; name it ID.VERSION.EXT as Octopus does",
            file.display()
        ))
    })
}

/// A reference name as one directory name of the work directory, never `.` or `..`.
fn safe_dir_name(name: &str) -> String {
    match name {
        "" | "." | ".." => "_".repeat(name.len().max(1)),
        _ => safe_segment(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_names_become_one_directory() {
        assert_eq!(safe_dir_name("tools/../x"), "tools_.._x");
        assert_eq!(safe_dir_name(".."), "__");
        assert_eq!(safe_dir_name("Acme.Tools"), "Acme.Tools");
    }
}
