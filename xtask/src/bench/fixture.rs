//! The inputs every measurement of a scenario shares: its generated drop and plan, a throwaway
//! key, ten customer profiles, and the directories operations write to.

use super::drop::Generated;
use super::tools::{q, reset, sh};
use crate::Result;
use std::cell::Cell;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

pub struct Fixture {
    /// The release `dropship` under test.
    pub dropship: PathBuf,
    /// The folder holding the generated drop, `drop/`, which the archivers pack.
    pub src: PathBuf,
    pub drop: PathBuf,
    pub generated: Generated,
    pub plan: PathBuf,
    key: PathBuf,
    public: PathBuf,
    /// Ten customer profiles.
    pub customers: Vec<PathBuf>,
    /// Where installers and archives are written.
    pub out: PathBuf,
    /// Where they are extracted and installed.
    pub dest: PathBuf,
    /// Where [`Fixture::clean_dest`] moves earlier runs' output instead of removing it, when
    /// set ([`Fixture::keep_outputs`]), and how many it moved.
    aside: Option<(PathBuf, Cell<u32>)>,
}

impl Fixture {
    /// Under `work`: the drop `generate` writes into the directory it is given (for `plan`), a
    /// key and the profiles.
    pub fn prepare(
        work: &Path,
        dropship: &Path,
        plan: PathBuf,
        generate: impl FnOnce(&Path) -> Result<Generated>,
    ) -> Result<Self> {
        let src = work.join("src");
        let drop = src.join("drop");
        fs::create_dir_all(&drop).map_err(|e| e.to_string())?;
        eprintln!("generating the drop in {}", drop.display());
        let generated = generate(&drop)?;
        let keys = work.join("keys");
        sh(&format!(
            "{} keygen --unencrypted -o {} >/dev/null",
            q(dropship),
            q(&keys)
        ))?;
        let fixture = Fixture {
            dropship: dropship.to_path_buf(),
            src,
            drop,
            generated,
            plan,
            key: keys.join("dropship.key"),
            public: keys.join("dropship.pub"),
            customers: write_customers(work)?,
            out: work.join("out"),
            dest: work.join("dest"),
            aside: None,
        };
        fs::create_dir_all(&fixture.out).map_err(|e| e.to_string())?;
        Ok(fixture)
    }

    /// `dropship build` of the drop with `codec` into `installer`, one per customer given.
    pub fn build_command(&self, codec: &str, installer: &Path, customers: &[PathBuf]) -> String {
        let mut command = format!(
            "{} build --drop {} --plan {} --key {} --compression {codec} -o {}",
            q(&self.dropship),
            q(&self.drop),
            q(&self.plan),
            q(&self.key),
            q(installer)
        );
        for customer in customers {
            let _ = write!(command, " --customer {}", q(customer));
        }
        command
    }

    /// The installer option that trusts the throwaway key.
    pub fn trust(&self) -> String {
        format!("--trusted-key-file {}", q(&self.public))
    }

    /// Where installers and archives are extracted to.
    pub fn extracted(&self) -> PathBuf {
        self.dest.join("x")
    }

    /// Keep every run's output until the scenario's directory is removed, for drops of many
    /// files. On ext4 without a journal (this VM's disk) a new inode is not given a number freed
    /// in the last `dirty_expire_centisecs` (30 s): creating files right after removing tens of
    /// thousands scans past every one of them, which doubled `tar xf`'s time for 50,000 files
    /// and varied from run to run. An installer meets a fresh directory, not that.
    pub fn keep_outputs(&mut self) {
        self.aside = Some((self.dest.with_file_name("aside"), Cell::new(0)));
    }

    /// An empty extraction and install directory (before a run that fills it): the previous
    /// run's output removed, or moved aside ([`Fixture::keep_outputs`]).
    pub fn clean_dest(&self) {
        if let Some((aside, moved)) = &self.aside {
            fs::create_dir_all(aside).expect("creating a benchmark directory");
            moved.set(moved.get() + 1);
            let _ = fs::rename(&self.dest, aside.join(moved.get().to_string()));
        }
        reset(&self.dest);
    }
}

fn write_customers(work: &Path) -> Result<Vec<PathBuf>> {
    (1..=10)
        .map(|i| {
            let path = work.join(format!("customer{i:02}.json"));
            let text = format!(
                r#"{{ "name": "Customer {i:02}", "variables": {{ "Service.Host": "fabrikam.customer{i:02}.local" }}, "roles": ["web"] }}"#
            );
            fs::write(&path, text).map_err(|e| e.to_string())?;
            Ok(path)
        })
        .collect()
}
