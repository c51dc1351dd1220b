//! The output variables of a run: kept as steps set them (sensitive ones taught to the
//! scrubber), and the ones that may reach the disk saved for `resume`.

use super::Engine;
use crate::state_dir::StateDir;
use crate::variables::Output;

impl Engine<'_> {
    /// Save the output variables that may reach the disk (those that are not sensitive) as
    /// each step succeeds, before its end is journaled, so that `resume` after a kill still has
    /// those of the steps that finished.
    pub(super) fn save_outputs(&mut self, state: &StateDir) {
        let kept = self.kept_outputs();
        if let Err(e) = state.save_outputs(&kept) {
            self.events.note(&format!(
                "warning: saving the output variables: {e}; a later `resume` will not know them"
            ));
        }
    }

    /// The output variables that may be kept on disk: those that are not sensitive.
    pub(super) fn kept_outputs(&self) -> Vec<Output> {
        self.outputs
            .iter()
            .filter(|o| !o.sensitive)
            // A secret copied into a plain output variable is still a secret: it never reaches disk.
            .map(|o| Output {
                value: self.scrubber.scrub(&o.value),
                ..o.clone()
            })
            .collect()
    }

    /// Keep the output variables a step produced; a later value of the same name replaces the
    /// earlier one.
    pub(super) fn add_outputs(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            if output.sensitive {
                self.scrubber
                    .add(&crate::secret::Secret::new(output.value.clone()));
            }
            self.outputs
                .retain(|o| !(o.step == output.step && o.name.eq_ignore_ascii_case(&output.name)));
            self.outputs.push(output);
        }
    }
}
