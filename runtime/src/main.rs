//! The installer: the `dropship-runtime` binary with a signed payload attached. A thin front end
//! over the runtime library; every behaviour lives in a library module.

use clap::{Args, Parser, Subcommand};
use dropship_runtime::container::InstallerFile;
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::trust::{self, TrustOptions};
use dropship_runtime::{installer, ui};
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  succeeded
  1  failed for a reason outside the installer (I/O on this machine)
  2  usage or invalid input (options, answers, key file)
  3  integrity or trust failure (damaged file, wrong or untrusted signer)
  4  the operator declined
  5  install failed and everything was rolled back
  6  install failed and rollback is incomplete";

#[derive(Debug, Parser)]
#[command(
    name = "installer",
    version,
    about = "Verify and install this signed dropship package",
    after_help = EXIT_STATUS_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what this installer holds, from its trailer and manifest (does not verify)
    Info,
    /// Check the signature over the whole file and say how to check it with `minisign`
    Verify(TrustArgs),
    /// Verify, then unpack the payload into a new directory
    Extract {
        /// Directory to create (must not exist, or be empty)
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
    },
}

/// Which signer key to trust (a runtime with pinned keys ignores these and trusts only its pins)
#[derive(Debug, Args, Default)]
struct TrustArgs {
    /// Trust this minisign public key (base64, as published by the vendor)
    #[arg(long, value_name = "KEY", conflicts_with_all = ["trusted_key_file", "trust_embedded_key"])]
    trusted_key: Option<String>,
    /// Trust the minisign public key in this `.pub` file
    #[arg(long, value_name = "FILE", conflicts_with = "trust_embedded_key")]
    trusted_key_file: Option<PathBuf>,
    /// Trust the key embedded in the installer without asking (only safe if you checked its id)
    #[arg(long)]
    trust_embedded_key: bool,
}

impl TrustArgs {
    fn options(&self) -> TrustOptions {
        TrustOptions {
            trusted_key: self.trusted_key.clone(),
            trusted_key_file: self.trusted_key_file.clone(),
            trust_embedded_key: self.trust_embedded_key,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = installer::open_self()
        .map_err(|e| fail(&e, ExitStatus::Integrity))
        .and_then(|file| match cli.command {
            None | Some(Command::Info) => {
                print!("{}", info_text(&file));
                Ok(())
            }
            Some(Command::Verify(trust)) => verify(&file, &trust),
            Some(Command::Extract { to, trust }) => extract(&file, &trust, &to),
        });
    match result {
        Ok(()) => ExitStatus::Success.into(),
        Err(status) => status.into(),
    }
}

fn fail(error: &dyn std::fmt::Display, status: ExitStatus) -> ExitStatus {
    eprintln!("error: {error}");
    status
}

fn info_text(file: &InstallerFile) -> String {
    let m = &file.manifest;
    format!(
        "product:    {} {}\nvendor:     {}\ncustomer:   {}\nbuilt:      {} by dropship {}\nsigner key: {}\npayload:    {} ({}), {} files, {} unpacked\nsignature:  not checked by `info`; run `verify`\n",
        m.product.name,
        m.product.version,
        m.product.vendor.as_deref().unwrap_or("-"),
        m.customer.as_deref().unwrap_or("-"),
        m.built_at,
        m.bundler_version,
        m.signer.key_id,
        ui::human_bytes(m.payload.bytes),
        m.payload.codec.name(),
        m.payload.files,
        ui::human_bytes(m.payload.unpacked_bytes),
    )
}

fn verify(file: &InstallerFile, args: &TrustArgs) -> Result<(), ExitStatus> {
    let signer = installer::establish_trust(file, &args.options(), ui::interactive())
        .map_err(|e| fail(&e, e.exit_status()))?;
    let progress = ui::byte_progress("verifying", file.trailer.prefix().signed_len());
    dropship_runtime::extract::verify(file, &signer, &|n| progress.set(n))
        .map_err(|e| fail(&e, e.exit_status()))?;
    progress.finish();
    println!(
        "OK: signature by key {} verified over all {} signed bytes (trusted: {}).\n\nTo check it yourself with the stock minisign tool:\n{}",
        signer.key.key_id,
        file.trailer.prefix().signed_len(),
        signer.basis.describe(),
        trust::minisign_command(
            &file.path,
            file.trailer.prefix().signed_len(),
            file.trailer.signature_len,
            &signer.key.base64
        )
    );
    Ok(())
}

fn extract(file: &InstallerFile, args: &TrustArgs, to: &std::path::Path) -> Result<(), ExitStatus> {
    let signer = installer::establish_trust(file, &args.options(), ui::interactive())
        .map_err(|e| fail(&e, e.exit_status()))?;
    let unpacked =
        installer::extract_to(file, &signer, to).map_err(|e| fail(&e, e.exit_status()))?;
    println!(
        "OK: verified (key {}) and extracted {} files ({}) into {}",
        signer.key.key_id,
        unpacked.files,
        ui::human_bytes(unpacked.bytes),
        to.display()
    );
    Ok(())
}
