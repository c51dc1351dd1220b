//! The output variables of a run: kept as steps set them (sensitive ones taught to the
//! scrubber); the ones that may reach the disk are journaled with the end of the step that set
//! them (one flush for both), so that `resume` after a kill has those of the steps that finished.

use super::Engine;
use crate::journal::KeptOutput;
use crate::variables::Output;

impl Engine<'_> {
    /// The output variables step `step` set that may reach the disk, for its end record.
    pub(super) fn kept_outputs_of(&self, step: &str) -> Vec<KeptOutput> {
        self.kept_where(|o| o.step == step)
            .map(|o| KeptOutput {
                step: o.step,
                name: o.name,
                value: o.value,
            })
            .collect()
    }

    /// The output variables that may be kept on disk: those that are not sensitive.
    pub(super) fn kept_outputs(&self) -> Vec<Output> {
        self.kept_where(|_| true).collect()
    }

    /// Those of the output variables `which` picks that may be kept on disk, scrubbed.
    fn kept_where<'s>(
        &'s self,
        which: impl Fn(&Output) -> bool + 's,
    ) -> impl Iterator<Item = Output> + 's {
        self.outputs
            .iter()
            .filter(move |o| !o.sensitive && which(o))
            // A secret copied into a plain output variable is still a secret: it never reaches disk.
            .map(|o| Output {
                value: self.scrubber.scrub(&o.value),
                ..o.clone()
            })
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
