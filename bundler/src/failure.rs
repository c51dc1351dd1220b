//! How a failed command ends. Integrity and trust failures exit 3, I/O that fails on this
//! machine exits 1, and everything else the bundler reports is the user's input (2): options,
//! plan, drop, key, password, and input files that are missing or unreadable.
//!
//! "I/O on this machine" is what the user's input cannot fix: an output that cannot be written
//! (a full disk, a directory no one may write to), or a file the bundler relies on that cannot be
//! read (the runtime stub). The code that meets such a failure says so with [`MachineIo`]:
//! [`OnMachine::machine_io`] on an I/O result, or a [`MachineFile`] around an output whose writes
//! pass through encoders and archivers before an error comes back.

use dropship_runtime::container::ContainerError;
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::extract::ExtractError;
use dropship_runtime::trust::TrustError;
use std::io::{self, Read, Write};

/// I/O that failed on this machine; `what` says what was being done, naming the path.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct MachineIo {
    what: String,
    #[source]
    source: Option<io::Error>,
}

impl MachineIo {
    /// A failure of this machine found without an I/O error (not enough free disk space).
    pub fn new(what: String) -> Self {
        MachineIo { what, source: None }
    }

    fn caused_by(what: String, source: io::Error) -> Self {
        MachineIo {
            what,
            source: Some(source),
        }
    }
}

/// Marks an I/O result's failure as this machine's, as anyhow's `with_context` adds context.
pub trait OnMachine<T> {
    fn machine_io(self, what: impl FnOnce() -> String) -> Result<T, MachineIo>;
}

impl<T> OnMachine<T> for io::Result<T> {
    fn machine_io(self, what: impl FnOnce() -> String) -> Result<T, MachineIo> {
        self.map_err(|source| MachineIo::caused_by(what(), source))
    }
}

/// A file only the bundler reads or writes (the installer being written, the runtime stub being
/// copied into it): each of its I/O errors carries a [`MachineIo`] saying `what` was being done,
/// so that it is still recognised after the tar builder and the encoders have passed it on.
pub struct MachineFile<F> {
    inner: F,
    what: String,
}

impl<F> MachineFile<F> {
    pub fn new(inner: F, what: String) -> Self {
        MachineFile { inner, what }
    }

    /// The error, of the same kind, carrying a [`MachineIo`].
    fn mark(&self, source: io::Error) -> io::Error {
        io::Error::new(
            source.kind(),
            MachineIo::caused_by(self.what.clone(), source),
        )
    }
}

impl<F: Read> Read for MachineFile<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| self.mark(e))
    }
}

impl<F: Write> Write for MachineFile<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.mark(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.mark(e))
    }
}

/// The exit status a command that failed with `error` ends with.
pub fn exit_status_of(error: &anyhow::Error) -> ExitStatus {
    if let Some(e) = error.downcast_ref::<ExtractError>() {
        return e.exit_status();
    }
    if let Some(e) = error.downcast_ref::<TrustError>() {
        return e.exit_status();
    }
    match error.downcast_ref::<ContainerError>() {
        // The installer or `.presign` file named on the command line cannot be read (most
        // often: it does not exist), as with any other input file.
        Some(ContainerError::Io { .. }) => return ExitStatus::Usage,
        Some(_) => return ExitStatus::Integrity,
        None => {}
    }
    if error.chain().any(is_machine_io) {
        return ExitStatus::Failure;
    }
    ExitStatus::Usage
}

/// A [`MachineIo`], or an I/O error carrying one (a [`MachineFile`]'s).
fn is_machine_io(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause.is::<MachineIo>()
        || cause
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .is_some_and(|inner| inner.is::<MachineIo>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk that is always full.
    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::StorageFull))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn not_found() -> io::Error {
        io::Error::from(io::ErrorKind::NotFound)
    }

    #[test]
    fn an_input_that_cannot_be_read_is_the_users() {
        let error = anyhow::Error::from(not_found()).context("reading plan `plan.json`");
        assert_eq!(exit_status_of(&error), ExitStatus::Usage);
    }

    #[test]
    fn an_installer_that_cannot_be_read_is_the_users_and_a_damaged_one_integrity() {
        let path = std::path::PathBuf::from("installer");
        let unreadable = ContainerError::Io {
            path: path.clone(),
            source: not_found(),
        };
        assert_eq!(exit_status_of(&unreadable.into()), ExitStatus::Usage);
        let damaged = ContainerError::Damaged {
            path,
            what: "cut".into(),
        };
        assert_eq!(exit_status_of(&damaged.into()), ExitStatus::Integrity);
    }

    #[test]
    fn io_marked_as_this_machines_fails_with_1() {
        let marked = Err::<(), _>(not_found()).machine_io(|| "creating a file in `out`".into());
        let error = anyhow::Error::from(marked.unwrap_err()).context("building");
        assert_eq!(exit_status_of(&error), ExitStatus::Failure);
        let no_room = anyhow::Error::from(MachineIo::new("not enough disk space".into()));
        assert_eq!(exit_status_of(&no_room), ExitStatus::Failure);
    }

    #[test]
    fn an_output_write_failing_below_an_encoder_is_this_machines_and_named() {
        let mut output = std::io::BufWriter::new(MachineFile::new(Full, "writing `out`".into()));
        let failed = output.write_all(&[0; 1 << 16]).unwrap_err();
        let error = anyhow::Error::from(failed).context("packing drop file `a.nupkg`");
        assert_eq!(exit_status_of(&error), ExitStatus::Failure);
        let message = format!("{error:#}");
        assert!(
            message.starts_with("packing drop file `a.nupkg`: writing `out`: "),
            "{message}"
        );
    }
}
