//! The script's process tree: everything the interpreter starts, stopped together.
//!
//! Unix: a process group of its own (so Ctrl-C at the installer's terminal does not reach it
//! directly: the installer decides), SIGTERM then SIGKILL to the group; on Linux the interpreter
//! also dies with the installer (`PR_SET_PDEATHSIG`). Windows: a Job Object that kills the whole
//! tree when stopped or when the installer dies (its handle closes with the process), and a new
//! console process group, so Ctrl-C reaches only the installer. A script that ends by itself
//! releases the job first, so services and background processes it started live on, as on Unix.
//!
//! Known gap on Windows: the interpreter is put in the job just after it starts (`std` cannot
//! create it suspended); a process it starts in that instant is outside the job.

use std::io;
use std::process::{Child, Command};

/// Prepare `command` to start the tree.
pub(super) fn configure(command: &mut Command) {
    imp::configure(command);
}

/// The running tree; on Windows, dropping it without [`Tree::release`] kills the tree.
pub(super) struct Tree(imp::Tree);

impl Tree {
    /// Take charge of the tree `child` leads. On error the child has been killed.
    pub(super) fn adopt(child: &mut Child) -> io::Result<Self> {
        imp::Tree::adopt(child).map(Tree)
    }

    /// Ask the tree to stop (SIGTERM on Unix; Windows has no gentle stop, so it ends it).
    pub(super) fn stop(&self) {
        self.0.stop();
    }

    /// End what is left of the tree.
    pub(super) fn kill(&self) {
        self.0.kill();
    }

    /// The script ended by itself: leave whatever it started running.
    pub(super) fn release(self) {
        self.0.release();
    }
}

#[cfg(unix)]
mod imp {
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};

    pub(super) fn configure(command: &mut Command) {
        command.process_group(0);
        die_with_installer(command);
    }

    /// Tie the interpreter to the installer's life: when the installer dies (even by SIGKILL),
    /// the kernel kills the interpreter, which cannot then change the target behind a
    /// rollback's back. (What it started itself lives on in its process group, which is stopped
    /// on timeout and cancel.)
    #[cfg(target_os = "linux")]
    fn die_with_installer(command: &mut Command) {
        let installer = std::process::id() as libc::pid_t;
        // SAFETY: between fork and exec only async-signal-safe calls (prctl, getppid) run.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The installer may have died before prctl took effect: the child was reparented.
                if libc::getppid() != installer {
                    return Err(std::io::Error::other("the installer is gone"));
                }
                Ok(())
            });
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn die_with_installer(_command: &mut Command) {}

    /// The process group led by the child (created with `process_group(0)`, so the group id is
    /// the child's pid).
    pub(super) struct Tree(Option<libc::pid_t>);

    impl Tree {
        pub(super) fn adopt(child: &mut Child) -> std::io::Result<Self> {
            Ok(Tree(libc::pid_t::try_from(child.id()).ok()))
        }

        pub(super) fn stop(&self) {
            self.signal(libc::SIGTERM);
        }

        pub(super) fn kill(&self) {
            self.signal(libc::SIGKILL);
        }

        pub(super) fn release(self) {}

        /// Errors (the group is already gone) are of no interest.
        fn signal(&self, signal: libc::c_int) {
            let Some(group) = self.0 else {
                return;
            };
            // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative pid
            // addresses the process group, which is the script's own group.
            unsafe {
                libc::kill(-group, signal);
            }
        }
    }
}

#[cfg(windows)]
mod imp {
    use std::os::windows::io::AsRawHandle;
    use std::os::windows::process::CommandExt;
    use std::process::{Child, Command};

    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
        SetInformationJobObject, TerminateJobObject,
    };
    use windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP;

    /// The exit code of a tree we ended (what `taskkill /f` gives too).
    const KILLED: u32 = 1;

    pub(super) fn configure(command: &mut Command) {
        command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }

    /// A Job Object holding the tree; closing it kills the tree unless released.
    pub(super) struct Tree(HANDLE);

    // SAFETY: a job handle is a kernel object reference, usable from any thread.
    unsafe impl Send for Tree {}

    impl Tree {
        pub(super) fn adopt(child: &mut Child) -> std::io::Result<Self> {
            let job = Self::create(JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE).inspect_err(|_| {
                let _ = child.kill();
            })?;
            // SAFETY: both handles are valid: the job was just created, the child is running or
            // a zombie whose handle `child` still owns.
            if unsafe { AssignProcessToJobObject(job.0, child.as_raw_handle() as HANDLE) } == 0 {
                let error = std::io::Error::last_os_error();
                let _ = child.kill();
                return Err(error);
            }
            Ok(job)
        }

        fn create(flags: u32) -> std::io::Result<Self> {
            // SAFETY: no security attributes and no name: an anonymous job of our own.
            let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
            if job.is_null() {
                return Err(std::io::Error::last_os_error());
            }
            let tree = Tree(job);
            tree.set_limits(flags)?;
            Ok(tree)
        }

        fn set_limits(&self, flags: u32) -> std::io::Result<()> {
            // SAFETY: a zeroed JOBOBJECT_EXTENDED_LIMIT_INFORMATION is a valid "no limits" value.
            let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
            info.BasicLimitInformation.LimitFlags = flags;
            // SAFETY: `info` is the structure this information class takes, with its size.
            let ok = unsafe {
                SetInformationJobObject(
                    self.0,
                    JobObjectExtendedLimitInformation,
                    (&raw const info).cast(),
                    std::mem::size_of_val(&info) as u32,
                )
            };
            if ok == 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        }

        pub(super) fn stop(&self) {
            self.kill();
        }

        pub(super) fn kill(&self) {
            // SAFETY: the job handle is valid until drop. A failure leaves the tree to the
            // close-kills-all limit when this is dropped.
            unsafe {
                TerminateJobObject(self.0, KILLED);
            }
        }

        pub(super) fn release(self) {
            // If this fails the leftovers die with the handle: no worse than a kill.
            let _ = self.set_limits(0);
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            // SAFETY: the handle is ours and closed once.
            unsafe {
                CloseHandle(self.0);
            }
        }
    }
}
