//! The dry run (`INSTALLER plan`): what each step would do, without changing anything, as the
//! step types' own previews tell it (checks run; substitutions shown as diffs with secrets
//! redacted; scripts, packages and manual steps described). This module only prints them.

use crate::session::Session;
use dropship_runtime::answers::Answers;
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::secret::Scrubber;
use dropship_runtime::steps::{PreviewContext, step_for};

/// Print the preview; fails (exit 1) when a check would stop the install.
pub fn preview(session: &Session, roles: &[String], answers: &Answers) -> ExitStatus {
    let base = session.base_variables(answers);
    let mut scrubber = Scrubber::new();
    base.register_secrets(answers, &mut scrubber);
    let drop_root = session.drop_root();
    let mut checks_failed = false;
    println!(
        "Dry run: {}; nothing will be changed.\n",
        session.upgrade.headline(&session.plan.product().name)
    );
    for (index, step) in session.plan.steps().iter().enumerate() {
        let common = step.common();
        println!("[{}] {} ({})", index + 1, common.name, step.type_name());
        if !common.selected_by(roles) {
            println!("    skipped: only for role(s) {}", common.roles.join(", "));
            continue;
        }
        if let Some(condition) = common.condition.filter(|c| *c != "success") {
            println!("    runs when: {condition}");
        }
        let vars = match base.for_step(step, &drop_root, &[], &[]) {
            Ok(vars) => vars,
            Err(e) => {
                let why = scrubber.scrub(&e.to_string());
                println!("    cannot read its variables: {why}");
                continue;
            }
        };
        vars.register_sensitive(&mut scrubber);
        let context = PreviewContext {
            vars: &vars,
            drop_root: &drop_root,
            scrubber: &scrubber,
        };
        let preview = step_for(step).preview(&context);
        for line in &preview.lines {
            println!("    {}", scrubber.scrub(line));
        }
        checks_failed |= preview.failed;
    }
    if checks_failed {
        eprintln!("\nerror: a check failed: the install would stop before changing anything");
        return ExitStatus::Failure;
    }
    ExitStatus::Success
}
