//! Whether a step runs: the roles it is for, and its `condition` (`success`, `failure`,
//! `always`, or an expression over its variables, which see whether the install failed).

use super::Engine;
use crate::plan::StepSpec;
use crate::report::StepOutcome;

impl Engine<'_> {
    /// Why a step does not run now, or `None` when it does.
    pub(super) fn skip_reason(&self, step: &StepSpec, failed: bool) -> Option<String> {
        let common = step.common();
        if !common.selected_by(&self.options.roles) {
            return Some(format!("only for role(s) {}", common.roles.join(", ")));
        }
        match common.condition.unwrap_or("success") {
            "success" if failed => Some("an earlier step failed".into()),
            "success" | "always" => None,
            "failure" if failed => None,
            "failure" => Some("runs only after a failure".into()),
            expression => {
                let extra = self.failure_vars(self.failed);
                let vars = self
                    .base
                    .for_step(step, self.drop_root, &self.outputs, &extra)
                    .ok()?;
                (!vars.truthy(expression)).then(|| "its condition is false".to_string())
            }
        }
    }

    /// What a step's variables say about a failure so far: `Octopus.Deployment.Error` and the
    /// first failed step's message.
    pub(super) fn failure_vars(&self, failed: bool) -> Vec<(String, String)> {
        if !failed {
            return Vec::new();
        }
        let detail = self
            .reports
            .iter()
            .find(|r| r.status == StepOutcome::Failed)
            .and_then(|r| r.message.clone());
        vec![
            ("Octopus.Deployment.Error".into(), "true".into()),
            (
                "Octopus.Deployment.ErrorDetail".into(),
                detail.unwrap_or_default(),
            ),
        ]
    }
}
