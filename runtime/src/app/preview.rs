//! The dry run (`INSTALLER plan`): what each step would do, without changing anything. Checks
//! run; files a step would substitute are rendered with every secret redacted and shown as a
//! diff against what is on the target now; scripts, packages and manual steps are described.

use crate::session::Session;
use dropship_runtime::answers::Answers;
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::package::{self, ExtractLimits};
use dropship_runtime::plan::StepSpec;
use dropship_runtime::secret::Scrubber;
use dropship_runtime::steps::check;
use dropship_runtime::variables::{BaseVariables, StepVariables};
use std::path::{Path, PathBuf};

/// Print the preview; fails (exit 1) when a check would stop the install.
pub fn preview(session: &Session, roles: &[String], answers: &Answers) -> ExitStatus {
    let base = BaseVariables::new(&session.plan, session.profile.as_ref(), answers);
    let mut scrubber = Scrubber::new();
    base.register_secrets(answers, &mut scrubber);
    let drop_root = session.drop_root();
    let mut checks_failed = false;
    println!(
        "Dry run of {} {}: nothing will be changed.\n",
        session.plan.product().name,
        session.plan.product().version
    );
    for (index, step) in session.plan.steps().iter().enumerate() {
        let common = step.common();
        println!("[{}] {} ({})", index + 1, common.name, step.type_name());
        if !common.roles.is_empty()
            && !common
                .roles
                .iter()
                .any(|r| roles.iter().any(|c| c.eq_ignore_ascii_case(r)))
        {
            println!("    skipped: only for role(s) {}", common.roles.join(", "));
            continue;
        }
        if let Some(condition) = common.condition.filter(|c| *c != "success") {
            println!("    runs when: {condition}");
        }
        let vars = match base.for_step(step, &drop_root, &[], &[]) {
            Ok(vars) => vars,
            Err(e) => {
                println!(
                    "    cannot read its variables: {}",
                    scrubber.scrub(&e.to_string())
                );
                continue;
            }
        };
        vars.register_sensitive(&mut scrubber);
        checks_failed |= !describe(step, &vars, &drop_root, &scrubber);
    }
    if checks_failed {
        eprintln!("\nerror: a check failed: the install would stop before changing anything");
        return ExitStatus::Failure;
    }
    ExitStatus::Success
}

/// Print what one step would do; `false` when one of its checks fails.
fn describe(step: &StepSpec, vars: &StepVariables, drop_root: &Path, scrubber: &Scrubber) -> bool {
    let say = |text: String| println!("    {}", scrubber.scrub(&text));
    match step {
        StepSpec::Check(s) => {
            let mut ok = true;
            for spec in &s.checks {
                let result = check::run_check(spec, &|t| vars.expand(t));
                ok &= result.ok;
                say(format!(
                    "{} {}",
                    if result.ok { "ok:    " } else { "FAILED:" },
                    result.summary
                ));
            }
            return ok;
        }
        StepSpec::Manual(s) => say(format!(
            "asks the operator to confirm: {}",
            vars.expand(&s.instructions)
        )),
        StepSpec::RunScript(s) => say(format!(
            "runs {} script {}",
            s.syntax.as_deref().unwrap_or("a"),
            s.file
                .as_deref()
                .map_or("(inline)".to_string(), |f| format!("`{f}`"))
        )),
        StepSpec::HttpWait(s) => say(format!("waits until `{}` answers", vars.expand(&s.url))),
        StepSpec::Substitute(s) => {
            let dir = PathBuf::from(vars.expand(&s.directory));
            diff_substitutions(&dir, &dir, &s.files, vars, scrubber);
        }
        StepSpec::DeployPackage(s) => preview_package(s, vars, drop_root, scrubber),
    }
    true
}

fn preview_package(
    step: &dropship_runtime::plan::DeployPackageStep,
    vars: &StepVariables,
    drop_root: &Path,
    scrubber: &Scrubber,
) {
    let destination = step.destination.as_deref().map(|d| vars.expand(d));
    println!(
        "    extracts `{}`{}",
        step.package,
        destination
            .as_deref()
            .map(|d| format!(" into `{d}`"))
            .unwrap_or_default()
    );
    if step.substitute.is_empty() {
        return;
    }
    let Ok(scratch) = tempfile::tempdir() else {
        return;
    };
    if let Err(e) = package::extract_package(
        &drop_root.join(&step.package),
        scratch.path(),
        ExtractLimits::default(),
        |_, _| Ok(()),
    ) {
        println!("    cannot open the package: {e}");
        return;
    }
    let target = destination.map_or_else(|| scratch.path().to_path_buf(), PathBuf::from);
    diff_substitutions(scratch.path(), &target, &step.substitute, vars, scrubber);
}

/// Render each matched file (secrets redacted) and diff it against the file on the target.
fn diff_substitutions(
    source: &Path,
    target: &Path,
    patterns: &[String],
    vars: &StepVariables,
    scrubber: &Scrubber,
) {
    let files = match dropship_runtime::config::find_target_files(&[source], patterns) {
        Ok(found) => found.files,
        Err(e) => return println!("    {e}"),
    };
    for file in files {
        let relative = file.strip_prefix(source).unwrap_or(&file);
        let Ok(text) = dropship_runtime::config::read_text_file(&file) else {
            continue;
        };
        let rendered = scrubber.scrub(&vars.expand(&text.text));
        let current_path = target.join(relative);
        let current = std::fs::read_to_string(&current_path)
            .map(|t| scrubber.scrub(&t))
            .unwrap_or_default();
        let diff = similar::TextDiff::from_lines(&current, &rendered);
        println!("    substitutes `{}`:", relative.display());
        let unified = diff
            .unified_diff()
            .header(
                &format!("{} (now)", current_path.display()),
                "(after install)",
            )
            .to_string();
        for line in unified.lines() {
            println!("      {line}");
        }
    }
}
