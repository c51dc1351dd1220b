//! Reading and validating what `build` and `plan check` are given: the plan (with the runtime's
//! own parser, so the release engineer sees the operator's errors first), the drop's files it
//! references, and customer profiles.

use crate::bundle::Customer;
use crate::failure::OnMachine;
use crate::pack::DropSource;
use anyhow::{Context, Result, bail};
use dropship_runtime::plan::{self, DropFiles, DropFolder, Plan, PlanErrors, Problem};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Parse and validate a plan, and (when given) its references into the drop; every problem is
/// reported at once.
pub fn load_plan(path: &Path, drop: Option<&DropSource>) -> Result<(Plan, Vec<u8>)> {
    // One byte past the limit is enough for the parser to refuse a plan that is too large,
    // without reading all of a runaway generator's output first.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(plan::MAX_PLAN_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
        })
        .with_context(|| format!("reading plan `{}`", path.display()))?;
    let origin = path.display().to_string();
    let plan = match drop {
        None => Plan::parse_with_drop(&bytes, &origin, None),
        Some(DropSource::Folder(root)) => {
            Plan::parse_with_drop(&bytes, &origin, Some(&DropFolder(root)))
        }
        Some(DropSource::Zip(zip)) => Plan::parse_with_drop(&bytes, &origin, Some(&ZipDrop(zip))),
    }?;
    Ok((plan, bytes))
}

fn fail_on(problems: Vec<Problem>, origin: &str) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(PlanErrors {
        origin: origin.to_string(),
        problems,
    }
    .into())
}

/// A folder to read the drop from; a zip is unpacked into a temporary folder first.
pub fn drop_folder(drop: &Path) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    match DropSource::open(drop)? {
        DropSource::Folder(root) => Ok((root, None)),
        DropSource::Zip(zip) => {
            let temp = tempfile::tempdir().machine_io(|| "creating a temporary folder".into())?;
            let file = std::fs::File::open(&zip)
                .with_context(|| format!("reading `{}`", zip.display()))?;
            zip::ZipArchive::new(file)
                .and_then(|mut archive| archive.extract(temp.path()))
                .with_context(|| {
                    format!(
                        "`{}` is not a readable zip; download the artifact again",
                        zip.display()
                    )
                })?;
            Ok((temp.path().to_path_buf(), Some(temp)))
        }
    }
}

/// Read a customer profile and check it against the plan.
pub fn load_customer(path: &Path, plan: &Plan) -> Result<Customer> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading customer profile `{}`", path.display()))?;
    let origin = path.display().to_string();
    let profile = plan::parse_profile(&bytes, &origin)?;
    fail_on(plan.check_profile(&profile), &origin)?;
    if profile.name.trim().is_empty() {
        bail!("customer profile `{origin}`: `name` must not be empty");
    }
    Ok(Customer {
        name: Some(profile.name),
        bytes: Some(bytes),
    })
}

/// An artifact zip seen as a drop.
struct ZipDrop<'a>(&'a Path);

impl ZipDrop<'_> {
    fn archive(&self) -> Option<zip::ZipArchive<std::fs::File>> {
        zip::ZipArchive::new(std::fs::File::open(self.0).ok()?).ok()
    }
}

impl DropFiles for ZipDrop<'_> {
    fn is_file(&self, relative: &str) -> bool {
        self.archive()
            .is_some_and(|mut a| a.by_name(relative).is_ok_and(|e| e.is_file()))
    }
    fn read(&self, relative: &str) -> Option<Vec<u8>> {
        let mut archive = self.archive()?;
        let mut entry = archive.by_name(relative).ok()?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }
    fn describe(&self) -> String {
        format!("`{}`", self.0.display())
    }
}
