//! The installer: the `dropship-runtime` binary with a signed payload attached. A thin front end
//! over the runtime library; every behaviour lives in a library module.

// std's print macros panic when a write fails (a closed pipe, a hung-up terminal), which would
// stop an install midway: these, defined before the modules, shadow them (`dropship_runtime::stdio`).
macro_rules! println { ($($a:tt)*) => { dropship_runtime::stdio_line!(out; $($a)*) }; }
macro_rules! eprintln { ($($a:tt)*) => { dropship_runtime::stdio_line!(err; $($a)*) }; }
macro_rules! print { ($($a:tt)*) => { dropship_runtime::stdio_text!(out, $($a)*) }; }
macro_rules! eprint { ($($a:tt)*) => { dropship_runtime::stdio_text!(err, $($a)*) }; }

mod commands;
mod facts;
mod installer;
mod live;
mod params;
mod preview;
mod rollback;
mod rollback_to;
mod session;
mod ui;

/// The static Linux stub's allocator: musl's own costs much system time on a large extract.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand};
use dropship_runtime::container::InstallerFile;
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::trust::{self, TrustOptions};
use dropship_runtime::units;
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
    /// Verify, ask, install, report (guided on a terminal; `--unattended` for automation)
    #[command(
        after_help = "Examples:\n  installer install --unattended --answers answers.json --secret Database.Password=@/run/secrets/db --role web --trusted-key-file vendor.pub\n  echo '{\"Database.Password\":\"...\"}' | installer install --unattended --secrets-stdin --trust-embedded-key"
    )]
    Install(InstallArgs),
    /// Dry run: verify, answer, run the checks and show every change as a diff; change nothing
    Plan(InstallArgs),
    /// Continue an interrupted install from its journal (secrets are asked again)
    Resume(InstallArgs),
    /// Undo an install (finished or interrupted) from its journal: rollback scripts newest
    /// first, then every change (asks first; --yes without a terminal)
    Rollback {
        /// The install's state directory (default: /var/lib/dropship/PRODUCT; Windows: %ProgramData%\dropship\PRODUCT)
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Undo every install newer than VERSION, newest first, each with its own (kept)
        /// installer, until VERSION is installed again
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// Roll back without asking (required without a terminal)
        #[arg(long)]
        yes: bool,
        /// Plain line-per-event output
        #[arg(long)]
        no_progress: bool,
        /// Also write the rollback's log to FILE (appended; created 0600; a link is refused)
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
        /// Which key to trust (default: the one the install trusted)
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Print the last install's report
    Report {
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[arg(long, default_value = "text", value_parser = ["text", "json", "html"])]
        format: String,
    },
    /// Show what this installer holds, from its trailer and manifest (does not verify)
    Info,
    /// List the parameters an unattended run answers: name, label, type, default, whether an
    /// answer is required, secret, roles, help (read without verifying; `verify` checks it)
    Params {
        /// Print them as a JSON array
        #[arg(long, conflicts_with = "answers_template")]
        json: bool,
        /// Write an answers file to fill in: defaults written in, each secret as
        /// {"env": "VARIABLE"} (never overwrites a file)
        #[arg(long, value_name = "FILE")]
        answers_template: Option<PathBuf>,
    },
    /// Check the signature and every byte it covers, and say how to check it with `minisign`
    /// and `b3sum`
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

/// Inputs of `install`, `plan` and `resume`
#[derive(Debug, Args)]
struct InstallArgs {
    /// Never prompt: every answer comes from the options below
    #[arg(long)]
    unattended: bool,
    /// JSON object of parameter name to value; a secret only as {"env": "VARIABLE"}
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// A non-secret answer
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// A secret answer read from a file (never typed on the command line)
    #[arg(long = "secret", value_name = "NAME=@FILE")]
    secrets: Vec<String>,
    /// Read a JSON object of secret answers from stdin
    #[arg(long)]
    secrets_stdin: bool,
    /// A role (tier) of this machine; repeat for several
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// Confirm a manual step in advance (unattended runs)
    #[arg(long = "approve", value_name = "STEP")]
    approvals: Vec<String>,
    /// Journal, answers, log and reports (default: /var/lib/dropship/PRODUCT; Windows: %ProgramData%\dropship\PRODUCT)
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Keep the changes of a failed install for diagnosis (undo later with `rollback`)
    #[arg(long)]
    no_rollback: bool,
    /// Plain line-per-event output
    #[arg(long)]
    no_progress: bool,
    /// Write the answers (without secrets) to this file, safe to send to the vendor
    #[arg(long, value_name = "FILE")]
    save_answers: Option<PathBuf>,
    /// Install the version that is installed again (a guided run asks instead)
    #[arg(long)]
    reinstall: bool,
    /// Install over a newer installed version (refused otherwise)
    #[arg(long)]
    allow_downgrade: bool,
    /// Also write the install's log to FILE (appended; created 0600; a link is refused)
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// How many installs stay undoable with `rollback --to` once this one succeeds, this one
    /// included (default 2); older ones are made final, their backups removed
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    keep: Option<u32>,
    #[command(flatten)]
    trust: TrustArgs,
}

impl InstallArgs {
    fn inputs(self) -> commands::InstallInputs {
        commands::InstallInputs {
            unattended: self.unattended,
            sources: dropship_runtime::answers::AnswerSources {
                answers_file: self.answers,
                sets: self.sets,
                secret_files: self.secrets,
                secrets_json: None,
                typed_secrets: Vec::new(),
                kept: None,
            },
            secrets_stdin: self.secrets_stdin,
            roles: self.roles,
            approvals: self.approvals,
            state_dir: self.state_dir,
            no_rollback: self.no_rollback,
            no_progress: self.no_progress,
            save_answers: self.save_answers,
            trust: self.trust.options(),
            reinstall: self.reinstall,
            allow_downgrade: self.allow_downgrade,
            log: self.log,
            keep: self.keep,
        }
    }
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
    let cli = parse_naming_the_product();
    let status = match cli.command {
        Some(Command::Install(args)) => commands::install(args.inputs()),
        None if ui::interactive() => commands::install(commands::InstallInputs::default()),
        Some(Command::Plan(args)) => commands::dry_run(args.inputs()),
        Some(Command::Resume(args)) => commands::resume(args.inputs()),
        Some(Command::Rollback {
            state_dir,
            to,
            yes,
            no_progress,
            log,
            trust,
        }) => rollback::rollback_command(rollback::RollbackInputs {
            state_dir,
            to,
            yes,
            no_progress,
            log,
            trust: trust.options(),
        }),
        Some(Command::Report { state_dir, format }) => {
            commands::report_command(state_dir.as_deref(), &format)
        }
        None | Some(Command::Info) => with_self(|file| {
            // One write: a reader that stops after the first lines (`grep -q`) gets them all.
            print!("{}", info_text(file));
            Ok(())
        }),
        Some(Command::Params {
            json,
            answers_template,
        }) => with_self(|file| {
            let output = match (&answers_template, json) {
                (Some(path), _) => params::ParamsOutput::AnswersTemplate(path),
                (None, true) => params::ParamsOutput::Json,
                (None, false) => params::ParamsOutput::Text,
            };
            params::run(file, output).map_err(|e| fail(&e, e.exit_status()))
        }),
        Some(Command::Verify(trust)) => with_self(|file| verify(file, &trust)),
        Some(Command::Extract { to, trust }) => with_self(|file| extract(file, &trust, &to)),
    };
    status.into()
}

/// Parse the command line with `--version` and `--help` naming what this installer installs
/// (`Fabrikam Platform 4.12.0 for Contoso (dropship runtime 0.1.0)`), read from its manifest; a
/// bare runtime, or a file too damaged to say, keeps the plain texts.
fn parse_naming_the_product() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    if let Ok(file) = installer::open_self() {
        let m = &file.manifest;
        let customer = m
            .customer
            .as_deref()
            .map(|c| format!(" for {c}"))
            .unwrap_or_default();
        let runtime = env!("CARGO_PKG_VERSION");
        let vendor = m
            .product
            .vendor
            .as_deref()
            .map(|v| format!(" from {v}"))
            .unwrap_or_default();
        // clap prints `NAME VERSION`: the product is the name, the usage keeps the file's.
        let file_name = std::env::args_os()
            .next()
            .map(|arg0| std::path::Path::new(&arg0).display().to_string())
            .unwrap_or_else(|| "installer".to_string());
        command = command
            .name(m.product.name.clone())
            .bin_name(file_name)
            .version(format!(
                "{}{customer} (dropship runtime {runtime})",
                m.product.version
            ))
            .before_help(format!(
                "{} {}{vendor}{customer}",
                m.product.name, m.product.version
            ));
    }
    Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit())
}

/// Open this installer and run `action` on it.
fn with_self(action: impl FnOnce(&InstallerFile) -> Result<(), ExitStatus>) -> ExitStatus {
    match installer::open_self()
        .map_err(|e| fail(&e, ExitStatus::Integrity))
        .and_then(|file| action(&file))
    {
        Ok(()) => ExitStatus::Success,
        Err(status) => status,
    }
}

fn fail(error: &dyn std::fmt::Display, status: ExitStatus) -> ExitStatus {
    eprintln!("error: {error}");
    status
}

fn info_text(file: &InstallerFile) -> String {
    let m = &file.manifest;
    format!(
        "product:    {} {}\nvendor:     {}\ncustomer:   {}\nbuilt:      {} by dropship {}\nsigner key: {}\npayload:    {} ({}), {} files, {} unpacked\nsignature:  not checked by `info`; run `verify`\n\n\
         The key after -P below is the installer's own, unverified: check with the one the vendor published.\n{}",
        m.product.name,
        m.product.version,
        m.product.vendor.as_deref().unwrap_or("-"),
        m.customer.as_deref().unwrap_or("-"),
        m.built_at,
        m.bundler_version,
        m.signer.key_id,
        units::human_bytes(m.payload.bytes),
        m.payload.codec.name(),
        m.payload.files,
        units::human_bytes(m.payload.unpacked_bytes),
        stock_check(file, &embedded_key(file)),
    )
}

/// The embedded key, unverified: only a well-formed one reaches the commands `info` prints.
fn embedded_key(file: &InstallerFile) -> String {
    trust::PublicKey::embedded_in(&file.manifest, &file.path)
        .map_or_else(|_| "VENDOR_PUBLIC_KEY".to_string(), |k| k.base64)
}

fn verify(file: &InstallerFile, args: &TrustArgs) -> Result<(), ExitStatus> {
    let signer = installer::establish_trust(file, &args.options(), ui::interactive())
        .map_err(|e| fail(&e, e.exit_status()))?;
    let progress = live::byte_progress("verifying", file.manifest.payload.bytes, false);
    dropship_runtime::extract::verify(file, &signer, &|n| progress.set(n))
        .map_err(|e| fail(&e, e.exit_status()))?;
    progress.finish();
    println!(
        "OK: signature by key {} verified over the header, and the runtime's and the payload's BLAKE3 digests it holds (trusted: {}).\n\n{}",
        signer.key.key_id,
        signer.basis.describe(),
        stock_check(file, &signer.key.base64)
    );
    Ok(())
}

/// How to check this installer with the stock `minisign` and `b3sum` tools, in the shell its
/// operator has (PowerShell on Windows, bash elsewhere).
fn stock_check(file: &InstallerFile, public_key: &str) -> String {
    let (shell, commands) = if cfg!(windows) {
        (
            "PowerShell",
            trust::stock_check_powershell(file, public_key),
        )
    } else {
        ("bash", trust::stock_check_bash(file, public_key))
    };
    format!("To check it yourself with the stock minisign and b3sum tools ({shell}):\n{commands}\n")
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
        units::human_bytes(unpacked.bytes),
        to.display()
    );
    Ok(())
}
