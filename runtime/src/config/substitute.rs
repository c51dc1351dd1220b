//! "Substitute Variables in Templates": run each file the target patterns match through the
//! template engine and overwrite it in place (`docs/octopus-conventions.md` §4.4).
//!
//! Two phases so that nothing is overwritten unseen: [`plan_substitution`] resolves the patterns to
//! files (and reports patterns that matched nothing, which Calamari warns about); then
//! [`apply_substitution`] evaluates one file at a time and calls the caller's `before_write` hook
//! just before each file that actually changes is replaced, so the install engine can back it up
//! first. Memory stays bounded by the largest single file.
//!
//! The evaluator is supplied by the caller ([`TextEvaluator`]); this module knows nothing of
//! templates. Encoding and line endings are kept; a file whose evaluation changes nothing is not
//! rewritten. A file that is not text stops the run with an error naming it, untouched.
//!
//! `Octopus.Action.SubstituteInFiles.OutputEncoding` is supported for the Unicode encodings
//! ([`TextEncoding::from_dotnet_name`]); legacy code pages are not, and keep the file's encoding.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::encoding::{TextEncoding, encode, read_text_file, replace_file};
use super::error::{ConfigError, HookError};
use super::glob::find_target_files;
use crate::durable::DirSyncs;

/// A template evaluation failure, as the template engine reports it in continue mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SubstitutionError {
    /// The engine's message.
    pub message: String,
    /// What the engine produced anyway in continue mode (unknown tokens left as written), if
    /// anything. Calamari writes this output when errors are not fatal.
    pub partial_output: Option<String>,
}

/// Evaluates the text of one file. The install engine plugs the Octostache engine in here.
pub trait TextEvaluator {
    /// Evaluate `text` in continue mode.
    fn evaluate(&self, text: &str) -> Result<String, SubstitutionError>;
}

impl<F> TextEvaluator for F
where
    F: Fn(&str) -> Result<String, SubstitutionError>,
{
    fn evaluate(&self, text: &str) -> Result<String, SubstitutionError> {
        self(text)
    }
}

/// How template errors are treated, and the encoding files are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubstituteOptions {
    /// `OctopusShouldFailDeploymentOnSubstitutionFails=True`: a template error fails the run
    /// (file untouched). Otherwise the error is reported and the partial output, if any, written.
    pub fail_on_error: bool,
    /// `Octopus.Action.SubstituteInFiles.OutputEncoding` (see [`TextEncoding::from_dotnet_name`]):
    /// write every file in this encoding; `None` keeps each file's own.
    pub output_encoding: Option<TextEncoding>,
}

/// The files a substitution will read, decided before anything is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubstitutionPlan {
    /// Every matched file; only those whose text changes are rewritten.
    pub files: Vec<PathBuf>,
    /// Patterns that matched no file (Calamari warns unless `EnableNoMatchWarning=False`).
    pub unmatched_patterns: Vec<String>,
}

/// What a substitution did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubstitutionReport {
    /// Files rewritten, in order.
    pub changed: Vec<PathBuf>,
    /// Files evaluated whose text did not change (not rewritten).
    pub unchanged: Vec<PathBuf>,
    /// Template errors that did not fail the run: the file and the engine's message.
    pub template_errors: Vec<(PathBuf, String)>,
}

/// Resolve `targets` (newline-split glob patterns) under each base directory: the current
/// directory first, then each additional path.
pub fn plan_substitution(
    bases: &[&Path],
    targets: &[String],
) -> Result<SubstitutionPlan, ConfigError> {
    let matches = find_target_files(bases, targets)?;
    Ok(SubstitutionPlan {
        files: matches.files,
        unmatched_patterns: matches.unmatched,
    })
}

/// Evaluate every planned file and overwrite the ones that change, calling `before_write(path)`
/// just before each overwrite. Stops at the first error; files already written stay written (the
/// hook has seen them, so the caller can restore them). Each write is atomic; the directories are
/// flushed once at the end (also after an error), which makes every rename durable.
pub fn apply_substitution(
    plan: &SubstitutionPlan,
    evaluator: &dyn TextEvaluator,
    options: SubstituteOptions,
    before_write: &mut dyn FnMut(&Path) -> Result<(), HookError>,
) -> Result<SubstitutionReport, ConfigError> {
    let mut dirs = DirSyncs::default();
    let mut report = SubstitutionReport::default();
    let result = plan.files.iter().try_for_each(|path| {
        substitute_one(
            path,
            evaluator,
            options,
            before_write,
            &mut dirs,
            &mut report,
        )
    });
    let synced = dirs.sync().map_err(ConfigError::Write);
    result?;
    synced?;
    Ok(report)
}

fn substitute_one(
    path: &Path,
    evaluator: &dyn TextEvaluator,
    options: SubstituteOptions,
    before_write: &mut dyn FnMut(&Path) -> Result<(), HookError>,
    dirs: &mut DirSyncs,
    report: &mut SubstitutionReport,
) -> Result<(), ConfigError> {
    let file = read_text_file(path)?;
    let output = match evaluator.evaluate(&file.text) {
        Ok(output) => output,
        Err(error) if options.fail_on_error => {
            return Err(ConfigError::Substitution {
                path: path.to_path_buf(),
                message: error.message,
            });
        }
        Err(error) => {
            report
                .template_errors
                .push((path.to_path_buf(), error.message));
            error.partial_output.unwrap_or_else(|| file.text.clone())
        }
    };
    let encoding = options.output_encoding.unwrap_or(file.encoding);
    if output == file.text && encoding == file.encoding {
        report.unchanged.push(path.to_path_buf());
        return Ok(());
    }
    before_write(path).map_err(|source| ConfigError::BeforeWrite {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = match options.output_encoding {
        Some(encoding) => Cow::Owned(encode(&output, encoding)),
        None => file.encode_text(&output),
    };
    replace_file(path, &bytes, dirs)?;
    report.changed.push(path.to_path_buf());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn replace_name(text: &str) -> Result<String, SubstitutionError> {
        if text.contains("#{bad") {
            return Err(SubstitutionError {
                message: "unclosed token".to_string(),
                partial_output: Some(text.replace("#{Name}", "Ada")),
            });
        }
        Ok(text.replace("#{Name}", "Ada"))
    }

    fn run(
        dir: &Path,
        targets: &[&str],
        options: SubstituteOptions,
    ) -> (Result<SubstitutionReport, ConfigError>, Vec<PathBuf>) {
        let targets: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
        let plan = plan_substitution(&[dir], &targets).expect("plan");
        let mut backed_up = Vec::new();
        let result = apply_substitution(&plan, &replace_name, options, &mut |p: &Path| {
            backed_up.push(p.to_path_buf());
            Ok(())
        });
        (result, backed_up)
    }

    #[test]
    fn keeps_encoding_and_line_endings_and_calls_hook_before_each_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let utf16 = dir.path().join("a.txt");
        fs::write(&utf16, encode("Hi #{Name}\r\nbye\n", TextEncoding::Utf16Be)).expect("write");
        let plain = dir.path().join("b.txt");
        fs::write(&plain, "no tokens\r\n").expect("write");
        let (report, backed_up) = run(dir.path(), &["*.txt"], SubstituteOptions::default());
        let report = report.expect("substitutes");
        assert_eq!(report.changed, std::slice::from_ref(&utf16));
        assert_eq!(report.unchanged, std::slice::from_ref(&plain));
        assert_eq!(backed_up, std::slice::from_ref(&utf16));
        assert_eq!(
            fs::read(&utf16).expect("read"),
            encode("Hi Ada\r\nbye\n", TextEncoding::Utf16Be)
        );
        assert_eq!(fs::read(&plain).expect("read"), b"no tokens\r\n");
    }

    #[test]
    fn template_errors_fail_or_are_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("t.conf");
        fs::write(&file, "#{Name} #{bad").expect("write");
        let (result, backed_up) = run(
            dir.path(),
            &["t.conf"],
            SubstituteOptions {
                fail_on_error: true,
                ..SubstituteOptions::default()
            },
        );
        assert!(matches!(result, Err(ConfigError::Substitution { .. })));
        assert!(backed_up.is_empty());
        assert_eq!(fs::read_to_string(&file).expect("read"), "#{Name} #{bad");

        let (result, _) = run(dir.path(), &["t.conf"], SubstituteOptions::default());
        let report = result.expect("continues");
        assert_eq!(report.template_errors.len(), 1);
        assert_eq!(fs::read_to_string(&file).expect("read"), "Ada #{bad");
    }

    #[test]
    fn binary_file_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let binary = dir.path().join("image.bin");
        fs::write(&binary, b"#{Name}\0\x01").expect("write");
        let (result, backed_up) = run(dir.path(), &["*"], SubstituteOptions::default());
        let err = result.unwrap_err();
        assert!(
            matches!(err, ConfigError::NotText { .. }) && err.to_string().contains("image.bin"),
            "{err}"
        );
        assert!(backed_up.is_empty());
        assert_eq!(fs::read(&binary).expect("read"), b"#{Name}\0\x01");
    }

    #[test]
    fn hook_refusal_leaves_file_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("x.txt");
        fs::write(&file, "#{Name}").expect("write");
        let plan = plan_substitution(&[dir.path()], &["x.txt".to_string()]).expect("plan");
        let result = apply_substitution(
            &plan,
            &replace_name,
            SubstituteOptions::default(),
            &mut |_: &Path| Err("disk full".into()),
        );
        assert!(result.unwrap_err().to_string().contains("disk full"));
        assert_eq!(fs::read_to_string(&file).expect("read"), "#{Name}");
    }

    #[test]
    fn plan_lists_files_and_unmatched_patterns() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("x.txt"), "").expect("write");
        let plan = plan_substitution(&[dir.path()], &["*.txt".to_string(), "*.md".to_string()])
            .expect("plan");
        assert_eq!(plan.files, [dir.path().join("x.txt")]);
        assert_eq!(plan.unmatched_patterns, ["*.md"]);
    }

    #[test]
    fn legacy_files_are_substituted_and_written_in_their_code_page() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ansi = dir.path().join("ANSI.txt");
        fs::write(&ansi, b"caf\xE9 #{Name}\r\n").expect("write");
        let (report, _) = run(dir.path(), &["ANSI.txt"], SubstituteOptions::default());
        assert_eq!(report.expect("substitutes").changed.len(), 1);
        assert_eq!(fs::read(&ansi).expect("read"), b"caf\xE9 Ada\r\n");
    }

    #[test]
    fn output_encoding_converts_a_utf16_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("u.ini");
        fs::write(&file, encode("k=#{Name}\r\n", TextEncoding::Utf16Le)).expect("write");
        let options = SubstituteOptions {
            output_encoding: TextEncoding::from_dotnet_name("utf-8"),
            ..SubstituteOptions::default()
        };
        let (report, _) = run(dir.path(), &["u.ini"], options);
        report.expect("substitutes");
        assert_eq!(fs::read(&file).expect("read"), b"\xEF\xBB\xBFk=Ada\r\n");
    }

    #[test]
    fn output_encoding_rewrites_even_unchanged_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("plain.txt");
        fs::write(&file, "no tokens\n").expect("write");
        let options = SubstituteOptions {
            output_encoding: TextEncoding::from_dotnet_name("UTF-8"),
            ..SubstituteOptions::default()
        };
        let (report, backed_up) = run(dir.path(), &["plain.txt"], options);
        assert_eq!(report.expect("substitutes").changed.len(), 1);
        assert_eq!(backed_up.len(), 1);
        assert_eq!(fs::read(&file).expect("read"), b"\xEF\xBB\xBFno tokens\n");
        assert_eq!(TextEncoding::from_dotnet_name("no-such-encoding"), None);
    }
}
