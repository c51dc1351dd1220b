//! The embedded `templates/` directory: the sample drop, plan, customer profile and answers that
//! `dropship init` scaffolds and `dropship demo` builds and installs.

use crate::failure::OnMachine;
use anyhow::{Context, Result};
use include_dir::{Dir, include_dir};
use std::path::Path;

/// Everything under `templates/`, embedded at build time.
static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../templates");

/// Write an embedded template directory to disk, keeping executable bits for scripts.
pub fn write_embedded(name: &str, to: &Path) -> Result<()> {
    let dir = TEMPLATES
        .get_dir(name)
        .with_context(|| format!("embedded template `{name}` is missing"))?;
    for file in dir
        .find("**/*")
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .filter_map(|e| e.as_file())
    {
        let relative = file.path().strip_prefix(name).unwrap_or(file.path());
        let path = to.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .machine_io(|| format!("creating `{}`", parent.display()))?;
        }
        std::fs::write(&path, file.contents())
            .machine_io(|| format!("writing `{}`", path.display()))?;
        if path.extension().is_some_and(|e| e == "sh") {
            make_executable(&path)?;
        }
    }
    Ok(())
}

fn make_executable(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .machine_io(|| format!("making `{}` executable", path.display()))?;
    }
    let _ = path;
    Ok(())
}
