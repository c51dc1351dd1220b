//! The `substitute` step: replace `#{...}` in existing files on the target, each file snapshot
//! by the rollback transaction before it is rewritten. Also the dry run of every substitution
//! (this step's and `deploy-package`'s): each file rendered with the secrets masked and shown as
//! a diff against the file on the target now, and the `#{...}` in it that nothing defines.

use super::{Preview, PreviewContext, Step, StepContext, StepFailure};
use crate::config::{self, SubstituteOptions, SubstitutionError, TextEncoding};
use crate::plan::SubstituteStep;
use crate::template::undefined_references;
use crate::variables::StepVariables;
use std::path::{Path, PathBuf};

impl Step for SubstituteStep {
    fn run(&self, ctx: &mut StepContext<'_, '_>) -> Result<(), StepFailure> {
        let fail = |e: &dyn std::fmt::Display| StepFailure::new(e.to_string());
        let directory = PathBuf::from(ctx.vars.expand(&self.directory));
        let plan = config::plan_substitution(&[&directory], &self.files).map_err(|e| fail(&e))?;
        for pattern in &plan.unmatched_patterns {
            ctx.note(&format!(
                "warning: `{pattern}` matched no file in `{}`",
                directory.display()
            ));
        }
        let evaluator = |text: &str| {
            ctx.vars.evaluate(text).map_err(|e| SubstitutionError {
                message: e.to_string(),
                partial_output: None,
            })
        };
        let tx = &mut *ctx.tx;
        let report =
            config::apply_substitution(&plan, &evaluator, options(&ctx.vars), &mut |path| {
                Ok(tx.snapshot(path)?)
            })
            .map_err(|e| fail(&e))?;
        ctx.note(&format!(
            "substituted {} file(s), {} unchanged",
            report.changed.len(),
            report.unchanged.len()
        ));
        Ok(())
    }

    fn writes_into(&self, vars: &StepVariables) -> Vec<(&'static str, String)> {
        vec![("directory", vars.expand(&self.directory))]
    }

    fn preview(&self, ctx: &PreviewContext<'_>) -> Preview {
        let directory = PathBuf::from(ctx.vars.expand(&self.directory));
        Preview {
            lines: preview_substitution(&directory, &directory, &self.files, ctx),
            failed: false,
        }
    }
}

/// The substitution options the step's variables set: `OctopusShouldFailDeploymentOnSubstitutionFails`
/// and `Octopus.Action.SubstituteInFiles.OutputEncoding` (an unknown name keeps each file's own
/// encoding, as in Calamari).
pub(super) fn options(vars: &StepVariables) -> SubstituteOptions {
    let encoding = vars
        .vars
        .get("Octopus.Action.SubstituteInFiles.OutputEncoding")
        .unwrap_or_default();
    SubstituteOptions {
        fail_on_error: vars.flag("OctopusShouldFailDeploymentOnSubstitutionFails"),
        output_encoding: TextEncoding::from_dotnet_name(&encoding),
    }
}

/// Each file under `source` matching `patterns`, rendered (secrets masked) and diffed against
/// the file at the same place under `target`.
pub(super) fn preview_substitution(
    source: &Path,
    target: &Path,
    patterns: &[String],
    ctx: &PreviewContext<'_>,
) -> Vec<String> {
    let files = match config::find_target_files(&[source], patterns) {
        Ok(found) => found.files,
        Err(e) => return vec![e.to_string()],
    };
    let mut lines = Vec::new();
    for file in files {
        let relative = file.strip_prefix(source).unwrap_or(&file);
        // The install reports a file it cannot read; the preview leaves it out.
        if let Ok(text) = config::read_text_file(&file) {
            lines.push(format!("substitutes `{}`:", relative.display()));
            let diff = diff_lines(&target.join(relative), &text.text, ctx);
            lines.extend(diff.lines().map(|line| format!("  {line}")));
            lines.extend(undefined_lines(&text.text, ctx));
        }
    }
    lines
}

/// A warning for each `#{...}` in `template` that nothing defines (it stays as written).
pub(super) fn undefined_lines(template: &str, ctx: &PreviewContext<'_>) -> Vec<String> {
    let undefined = undefined_references(template, |name| ctx.vars.vars.contains(name));
    undefined
        .iter()
        .map(|r| {
            format!(
                "  warning: line {} uses #{{{}}}, which nothing defines: it stays as written",
                r.line, r.name
            )
        })
        .collect()
}

/// A unified diff from the file at `current_path` to `template` rendered, both scrubbed.
fn diff_lines(current_path: &Path, template: &str, ctx: &PreviewContext<'_>) -> String {
    diff_against(current_path, &ctx.vars.expand(template), ctx)
}

/// A unified diff from the file at `current_path` (empty when there is none) to `after`, both
/// scrubbed.
pub(super) fn diff_against(current_path: &Path, after: &str, ctx: &PreviewContext<'_>) -> String {
    let current = config::read_text_file(current_path)
        .map(|file| file.text)
        .unwrap_or_default();
    diff_texts(current_path, &current, after, ctx)
}

/// A unified diff from `current` (the text of `path` now) to `after`, both scrubbed.
pub(super) fn diff_texts(
    path: &Path,
    current: &str,
    after: &str,
    ctx: &PreviewContext<'_>,
) -> String {
    let (current, after) = (ctx.scrubber.scrub(current), ctx.scrubber.scrub(after));
    similar::TextDiff::from_lines(&current, &after)
        .unified_diff()
        .header(&format!("{} (now)", path.display()), "(after install)")
        .to_string()
}
