//! The output variables of a run: kept as steps set them (sensitive ones taught to the
//! scrubber), and the ones that may reach the disk saved for `resume`.

use super::Engine;
use crate::variables::Output;

impl Engine<'_> {
    /// The output variables that may be kept on disk: those that are not sensitive.
    pub(super) fn kept_outputs(&self) -> Vec<(String, String, String)> {
        self.outputs
            .iter()
            .filter(|o| !o.sensitive)
            // A secret copied into a plain output variable is still a secret: it never reaches disk.
            .map(|o| {
                (
                    o.step.clone(),
                    o.name.clone(),
                    self.scrubber.scrub(&o.value),
                )
            })
            .collect()
    }

    /// Save [`Self::kept_outputs`] into `outputs_file`, atomically and durably.
    pub(super) fn save_outputs(&mut self) {
        let Some(path) = &self.options.outputs_file else {
            return;
        };
        let json = serde_json::to_string(&self.kept_outputs()).unwrap_or_default();
        let temp = path.with_extension("json.new");
        let written = std::fs::File::create(&temp)
            .and_then(|mut file| {
                std::io::Write::write_all(&mut file, json.as_bytes())?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&temp, path));
        if let Err(e) = written {
            self.events.note(&format!(
                "warning: saving the output variables into `{}`: {e}",
                path.display()
            ));
        }
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
