//! Warnings for `#{...}` that nothing defines: in the scripts a plan runs (inline, files of the
//! drop, files inside packages, and the convention scripts packages ship) and in the files of
//! each package that substitution or structured replacement targets. Each such name renders as
//! written on the customer's machine, which is rarely what the vendor meant; `plan check --drop`
//! lists them (`--strict` refuses them). Defined are the plan's parameters and variables, the
//! names in the step's variables file and the installer's own (see [`undefined_references`]); a
//! customer profile's variables and a sensitive variables file's names are not known here.

use super::Problem;
use super::model::*;
use crate::config::{find_target_files, read_text_file};
use crate::octopus::variables_file::read_variables_file;
use crate::package::{ExtractLimits, extract_package};
use crate::template::undefined_references;
use std::collections::HashSet;
use std::path::Path;

/// The package stages whose packaged scripts (`PreDeploy.sh`, ...) the installer runs.
const STAGES: &[&str] = &["PreDeploy", "Deploy", "PostDeploy", "DeployFailed"];

pub(super) fn check(doc: &PlanDocument, drop_root: &Path) -> Vec<Problem> {
    let mut plan_names: HashSet<String> = doc
        .parameters
        .iter()
        .map(|p| p.name.to_lowercase())
        .collect();
    plan_names.extend(doc.variables.keys().map(|k| k.to_lowercase()));
    let mut warnings = Vec::new();
    for (i, step) in doc.steps.iter().enumerate() {
        let mut names = plan_names.clone();
        names.extend(step_file_names(step, drop_root));
        let mut scan = Scan {
            drop_root,
            path: format!("steps[{i}]"),
            names: &names,
            warnings: &mut warnings,
        };
        scan.step(step);
    }
    warnings
}

/// The names a step's variables file defines (an unreadable file is `build`'s problem).
fn step_file_names(step: &StepSpec, drop_root: &Path) -> Vec<String> {
    step.common()
        .variables_file
        .and_then(|file| read_variables_file(&drop_root.join(file)).ok())
        .map(|file| {
            file.variables
                .iter()
                .map(|v| v.name.to_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// One step's texts, checked against the names it sees.
struct Scan<'a> {
    drop_root: &'a Path,
    /// The step's JSON path.
    path: String,
    names: &'a HashSet<String>,
    warnings: &'a mut Vec<Problem>,
}

impl Scan<'_> {
    fn step(&mut self, step: &StepSpec) {
        if let Some(rollback) = step.common().rollback {
            self.script(
                rollback.inline.as_deref(),
                rollback.file.as_deref(),
                "rollback",
            );
        }
        match step {
            StepSpec::DeployPackage(s) => {
                for (stage, block) in &s.scripts {
                    let field = format!("scripts.{stage}");
                    self.script(block.inline.as_deref(), block.file.as_deref(), &field);
                }
                self.package(&s.package, "package", |dir| {
                    let mut files = vec![("substitute", targets(dir, &s.substitute))];
                    files.push(("structured", targets(dir, &s.structured)));
                    files.push(("package", convention_scripts(dir)));
                    files
                });
            }
            StepSpec::RunScript(s) => match &s.script_package {
                Some(package) => {
                    let file = s.file.clone();
                    self.package(package, "script-package", |dir| {
                        let script = file.map(|f| dir.join(f)).filter(|f| f.is_file());
                        vec![("file", script.into_iter().collect())]
                    });
                }
                None => self.script(s.inline.as_deref(), s.file.as_deref(), ""),
            },
            _ => {}
        }
    }

    /// An inline script, or a script file of the drop.
    fn script(&mut self, inline: Option<&str>, file: Option<&str>, field: &str) {
        let at = |name: &str| match field {
            "" => format!("{}.{name}", self.path),
            field => format!("{}.{field}.{name}", self.path),
        };
        if let Some(text) = inline {
            self.text(text, &at("inline"), "the inline script");
        } else if let Some(file) = file
            && let Ok(read) = read_text_file(&self.drop_root.join(file))
        {
            self.text(&read.text, &at("file"), &format!("`{file}`"));
        }
    }

    /// The files `select` picks in the package, extracted into a scratch folder, each under
    /// the field that selected it.
    fn package(
        &mut self,
        package: &str,
        field: &str,
        select: impl FnOnce(&Path) -> Vec<(&'static str, Vec<std::path::PathBuf>)>,
    ) {
        let path = format!("{}.{field}", self.path);
        let opened = tempfile::tempdir()
            .map_err(|e| e.to_string())
            .and_then(|scratch| {
                extract_package(
                    &self.drop_root.join(package),
                    scratch.path(),
                    ExtractLimits::DEFAULT,
                    |_, _| Ok(()),
                )
                .map(|_| scratch)
                .map_err(|e| e.to_string())
            });
        let scratch = match opened {
            Ok(scratch) => scratch,
            Err(why) => {
                self.warnings.push(Problem::new(
                    path,
                    format!("cannot open `{package}` to look for undefined #{{...}}: {why}"),
                ));
                return;
            }
        };
        for (field, files) in select(scratch.path()) {
            for file in files {
                let relative = file.strip_prefix(scratch.path()).unwrap_or(&file);
                let Ok(read) = read_text_file(&file) else {
                    continue;
                };
                // An entry of the package, named as the archive names it (`/` on every platform).
                let entry = relative.to_string_lossy().replace('\\', "/");
                let place = format!("`{entry}` in `{package}`");
                self.text(&read.text, &format!("{}.{field}", self.path), &place);
            }
        }
    }

    /// One warning per name `text` reads that nothing defines, at its first line.
    fn text(&mut self, text: &str, path: &str, place: &str) {
        for reference in undefined_references(text, |name| self.names.contains(name)) {
            self.warnings.push(Problem::new(
                path,
                format!(
                    "{place} line {} uses #{{{}}}, which no parameter, variable or system \
                     variable defines; it would be left as written",
                    reference.line, reference.name
                ),
            ));
        }
    }
}

/// The files `patterns` match in the extracted package (none when a pattern is invalid: the
/// install reports that).
fn targets(dir: &Path, patterns: &[String]) -> Vec<std::path::PathBuf> {
    find_target_files(&[dir], patterns)
        .map(|found| found.files)
        .unwrap_or_default()
}

/// `PreDeploy.sh`, `Deploy.ps1`, ...: every platform's, at the package's root.
fn convention_scripts(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut scripts: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_stem().is_some_and(|stem| {
                    STAGES
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(&stem.to_string_lossy()))
                })
        })
        .collect();
    scripts.sort();
    scripts
}

#[cfg(test)]
mod tests {
    use super::super::Plan;
    use std::io::Write;
    use std::path::Path;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn package(root: &Path, relative: &str, files: &[(&str, &str)]) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        for (name, text) in files {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }

    const PLAN: &str = r##"{
      "schema": "dropship/plan@1",
      "product": { "name": "P", "version": "1.0.0" },
      "parameters": [ { "name": "Install.Root", "type": "path" } ],
      "variables": { "Servers": "[{\"Name\":\"a\"}]" },
      "steps": [
        { "name": "Web", "type": "deploy-package", "package": "Packages/Web.1.0.0.zip",
          "variables-file": "Variables/web.json",
          "substitute": ["config/*.conf"], "structured": ["appsettings.json"],
          "scripts": { "PostDeploy": { "inline": "echo #{Post.Missing}" } } },
        { "name": "Configure", "type": "run-script", "file": "Scripts/Configure.sh",
          "rollback": { "inline": "echo #{Rollback.Missing} #{Install.Root}" } },
        { "name": "Inline", "type": "run-script",
          "inline": "#{each s in Servers}#{s.Name}#{/each} #{Servers[0].Name} #{env:HOME} #{Dropship.Upgrade.Mode}\n#{Inline.Missing} #{inline.missing}" }
      ]
    }"##;

    #[test]
    fn lists_each_undefined_name_once_per_file_with_its_line() {
        let drop = tempfile::tempdir().unwrap();
        write(drop.path(), "Variables/web.json", r#"{"From.File":"x"}"#);
        write(
            drop.path(),
            "Scripts/Configure.sh",
            "echo #{Install.Root}\necho #{Configure.Missing}\n",
        );
        package(
            drop.path(),
            "Packages/Web.1.0.0.zip",
            &[
                (
                    "config/app.conf",
                    "root=#{Install.Root}\nfile=#{From.File}\nsmtp=#{Smtp.Host}\n",
                ),
                ("appsettings.json", "{\"Key\": \"#{Structured.Missing}\"}"),
                (
                    "Deploy.sh",
                    "echo #{Octopus.Action.Name}\necho #{Deploy.Missing}",
                ),
                ("other.txt", "#{Not.A.Target}"),
            ],
        );
        let plan = Plan::parse(PLAN.as_bytes(), "plan.json").unwrap();
        let warnings: Vec<String> = plan
            .undefined_variables(drop.path())
            .iter()
            .map(ToString::to_string)
            .collect();
        let expect = [
            "steps[0].scripts.PostDeploy.inline: the inline script line 1 uses #{Post.Missing}",
            "steps[0].substitute: `config/app.conf` in `Packages/Web.1.0.0.zip` line 3 uses #{Smtp.Host}",
            "steps[0].structured: `appsettings.json` in `Packages/Web.1.0.0.zip` line 1 uses #{Structured.Missing}",
            "steps[0].package: `Deploy.sh` in `Packages/Web.1.0.0.zip` line 2 uses #{Deploy.Missing}",
            "steps[1].rollback.inline: the inline script line 1 uses #{Rollback.Missing}",
            "steps[1].file: `Scripts/Configure.sh` line 2 uses #{Configure.Missing}",
            "steps[2].inline: the inline script line 2 uses #{Inline.Missing}",
        ];
        for needle in expect {
            assert!(
                warnings.iter().any(|w| w.starts_with(needle)),
                "missing `{needle}` in {warnings:#?}"
            );
        }
        assert_eq!(warnings.len(), expect.len(), "{warnings:#?}");
    }

    #[test]
    fn a_package_that_cannot_be_opened_is_a_warning_too() {
        let drop = tempfile::tempdir().unwrap();
        write(drop.path(), "Packages/Web.1.0.0.zip", "not a zip");
        let plan = Plan::parse(PLAN.as_bytes(), "plan.json").unwrap();
        let warnings = plan.undefined_variables(drop.path());
        assert!(
            warnings
                .iter()
                .any(|w| w.path == "steps[0].package" && w.message.contains("cannot open")),
            "{warnings:#?}"
        );
    }
}
