//! `dropship demo`: import the embedded sample Offline Package Drop, build its reviewed plan into
//! a signed installer with a throwaway key, in a new directory under the current one, then
//! install it unattended as a customer would (a generated secret on stdin), and print the report.

use crate::failure::OnMachine;
use crate::templates::write_embedded;
use crate::{bundle, inputs, keys, pack, stub};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn run(runtime: Option<&Path>) -> Result<()> {
    let dir = fresh_directory()?;
    let sample = dir.join("sample");
    write_embedded("sample", &sample)?;
    let (_, public_key_path, public) = keys::keygen(&dir.join("keys"), true)?;
    let signing = bundle::Signing::Key(keys::load_secret_key(
        &dir.join("keys").join(keys::SECRET_KEY_FILE),
    )?);
    say(&format!(
        "made a throwaway signing key {} in {}",
        public.key_id,
        dir.join("keys").display()
    ));

    say("importing the sample Offline Package Drop, as a release engineer starts:");
    let imported = dir.join("imported-plan.json");
    let out = super::import::Output {
        path: &imported,
        force: false,
    };
    super::import::opd(&sample.join("drop"), &out, &[], None)?;
    say(
        "building with sample/plan.json: the imported plan after review (labels, defaults, validation, a preflight check)",
    );
    let drop = pack::DropSource::open(&sample.join("drop"))?;
    let (plan, plan_bytes) = inputs::load_plan(&sample.join("plan.json"), Some(&drop))?;
    let customer = inputs::load_customer(&sample.join("customer.json"), &plan)?;
    let inputs = bundle::BuildInputs {
        drop,
        product: plan.product().clone(),
        plan_bytes,
        customers: vec![customer],
        runtime: stub::locate_host(runtime)?,
        exe_suffix: std::env::consts::EXE_SUFFIX,
        options: pack::PackOptions {
            codec: Default::default(),
            threads: 2,
            mtime: None,
        },
    };
    let installer = dir.join(bundle::installer_file_name(
        &inputs.product,
        Some("Contoso"),
        &signing,
        inputs.exe_suffix,
    ));
    bundle::build(&inputs, &signing, &installer)?;
    say(&format!("built and signed {}", installer.display()));

    let target = std::path::absolute(dir.join("target")).context("resolving the demo directory")?;
    let state = std::path::absolute(dir.join("state")).context("resolving the demo directory")?;
    let secret = demo_secret();
    let args: Vec<std::ffi::OsString> = vec![
        "install".into(),
        "--unattended".into(),
        "--answers".into(),
        sample.join("answers.json").into(),
        "--set".into(),
        format!("Install.Root={}", target.display()).into(),
        "--secrets-stdin".into(),
        "--role".into(),
        "web".into(),
        "--state-dir".into(),
        state.clone().into(),
        "--trusted-key-file".into(),
        public_key_path.into(),
    ];
    // The generated secret reaches the installer on stdin, never on its command line.
    run_installer(
        &installer,
        &args,
        Some(&format!("{{\"Database.Password\": \"{secret}\"}}")),
    )?;
    run_installer(
        &installer,
        &["report".into(), "--state-dir".into(), state.into()],
        None,
    )?;
    say(&format!(
        "done: installed the sample into {} (a generated database password was written into its settings only)",
        target.display()
    ));
    Ok(())
}

/// A throwaway database password for the sample, from the system's random source.
fn demo_secret() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 12];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !filled {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes[..8].copy_from_slice(&(nanos as u64 ^ u64::from(std::process::id())).to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn say(text: &str) {
    println!("demo: {text}");
}

/// `./dropship-demo-YYYYMMDD-HHMMSS`, never an existing directory.
fn fresh_directory() -> Result<PathBuf> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    for n in 0..100 {
        let name = if n == 0 {
            format!("dropship-demo-{stamp}")
        } else {
            format!("dropship-demo-{stamp}-{n}")
        };
        let path = PathBuf::from(name);
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => Err(e).machine_io(|| format!("creating `{}`", path.display()))?,
        }
    }
    bail!("could not find a free `dropship-demo-*` directory name here")
}

fn run_installer(installer: &Path, args: &[std::ffi::OsString], stdin: Option<&str>) -> Result<()> {
    use std::io::Write;
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    say(&format!(
        "running {} {}",
        installer.display(),
        shown.join(" ")
    ));
    let mut child = Command::new(installer)
        .args(args)
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .spawn()
        .with_context(|| format!("running `{}`", installer.display()))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .context("writing to the installer's stdin")?;
    }
    let status = child.wait().context("waiting for the installer")?;
    if !status.success() {
        bail!("the installer failed ({status})");
    }
    Ok(())
}
