//! `dropship`, the vendor's bundler: a thin command-line front end over the runtime library
//! (shared types and rules) and this crate's packing, signing and import modules (its library,
//! `lib.rs`). This file is the command line and its dispatch; each command is a module of
//! `commands`.

// std's `eprintln!` panics when stderr is closed; this one drops the text (`dropship_runtime::stdio`).
macro_rules! eprintln { ($($a:tt)*) => { dropship_runtime::stdio_line!(err; $($a)*) }; }

use clap::{Parser, Subcommand};
use commands::build::BuildArgs;
use commands::render::RenderArgs;
use dropship::{commands, failure};
use dropship_runtime::exit::ExitStatus;
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  succeeded
  1  failed for a reason outside your input (I/O on this machine)
  2  usage or invalid input (options, plan, drop, key, password)
  3  integrity or trust failure (`verify`: damaged file, wrong key); `render --strict`: variable cycle

Environment:
  DROPSHIP_KEY_PASSWORD      password of the secret key (instead of the prompt)
  DROPSHIP_NEW_KEY_PASSWORD  password for `keygen` (instead of the prompt)
  SOURCE_DATE_EPOCH          build time for reproducible installers
  DROPSHIP_TRUSTED_KEYS      (when compiling the runtime) pin these public keys";

#[derive(Debug, Parser)]
#[command(
    name = "dropship",
    version,
    about = "Turn an Octopus Offline Package Drop and a step plan into signed installers",
    after_help = EXIT_STATUS_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a minisign-compatible key pair (password-protected unless `--unencrypted`)
    Keygen {
        /// Directory for `dropship.key` and `dropship.pub`
        #[arg(short = 'o', long = "out", default_value = ".")]
        dir: PathBuf,
        /// Write the secret key without a password (for automation; keep the file safe)
        #[arg(long)]
        unencrypted: bool,
    },
    /// Scaffold a plan, a customer profile and an answers example to start from
    Init {
        /// Directory to write into (its plan, customer, answers and drop must not exist yet)
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Validate, pack and sign an installer (one per customer profile)
    #[command(
        after_help = "Examples:\n  dropship build --drop ./drop --plan plan.json --customer contoso.json --key dropship.key -o fabrikam-contoso\n  dropship build --drop drop.zip --plan plan.json --key dropship.pub --presign -o fabrikam.presign"
    )]
    Build(BuildArgs),
    /// Attach a signature made by stock `minisign -S` to a `.presign` file
    Seal {
        /// The `.presign` file written by `dropship build --presign`
        presign: PathBuf,
        /// The `.minisig` file made by `minisign -S`
        #[arg(long)]
        signature: PathBuf,
        /// The installer to write
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Check an installer's signature with a public key, without running any of its code
    Verify {
        /// The installer to check
        installer: PathBuf,
        /// The vendor's public key file (`dropship.pub` or minisign `.pub`)
        #[arg(long)]
        key: PathBuf,
    },
    /// Show an installer's manifest, plan summary and sizes (does not verify; use `verify`)
    Inspect {
        /// The installer to show
        installer: PathBuf,
    },
    /// Write a plan from what Octopus produced (an Offline Package Drop or a deployment process)
    #[command(subcommand)]
    Import(ImportCommand),
    /// Check a step plan (and its references into a drop) and list every problem
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Evaluate an Octostache template from stdin against a variables file
    Render(RenderArgs),
    /// Show what the install reports customers sent back say together: installs and outcomes
    /// per version and customer, step durations and failures, the common failure points
    Reports {
        /// `report.json` files, or folders holding them (searched through)
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format (html: a self-contained page with charts)
        #[arg(long, default_value = "text", value_parser = ["text", "json", "html"])]
        format: String,
        /// Write to this file instead of stdout
        #[arg(short = 'o', long = "out")]
        out: Option<PathBuf>,
    },
    /// Build the embedded sample installer with a throwaway key and run it
    Demo {
        /// Keep the runtime stub from here instead of the one beside `dropship`
        #[arg(long)]
        runtime: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// From an Offline Package Drop (its folder or artifact zip)
    Opd {
        /// The Offline Package Drop: its folder or its artifact `.zip`
        drop: PathBuf,
        /// The plan to write (never over an existing file without `--force`)
        #[arg(short = 'o', long = "out", default_value = "plan.json")]
        out: PathBuf,
        /// A variable the customer supplies (a secret when the drop marks it sensitive or its
        /// name says password/secret/key)
        #[arg(long = "ask", value_name = "NAME")]
        ask: Vec<String>,
        /// Prove the drop's sensitive-variables password (read from this environment variable)
        /// decrypts every `.secret` file; it is never stored
        #[arg(long, value_name = "VAR")]
        drop_password_env: Option<String>,
        /// Replace the output file if it exists (a reviewed plan is never replaced otherwise)
        #[arg(long)]
        force: bool,
    },
    /// From a deployment process: REST JSON or `deployment_process.ocl`
    Process {
        /// The process: Octopus's REST JSON, or `deployment_process.ocl` from a Git project
        process: PathBuf,
        /// The folder holding the process's packages (it becomes the drop)
        #[arg(long)]
        packages: PathBuf,
        /// Keep only the steps that run in this environment: its id (JSON), slug or name (OCL)
        #[arg(long)]
        environment: Option<String>,
        /// Keep only the steps that run in this channel: its id (JSON), slug or name (OCL)
        #[arg(long)]
        channel: Option<String>,
        /// A variable the customer supplies (a secret when its name says
        /// password/secret/key)
        #[arg(long = "ask", value_name = "NAME")]
        ask: Vec<String>,
        /// Product name for the plan (edit it in the plan otherwise)
        #[arg(long)]
        product: Option<String>,
        /// Product version for the plan
        #[arg(long = "product-version")]
        version: Option<String>,
        /// The plan to write (never over an existing file without `--force`)
        #[arg(short = 'o', long = "out", default_value = "plan.json")]
        out: PathBuf,
        /// Replace the output file if it exists (a reviewed plan is never replaced otherwise)
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Validate a plan; with `--drop`, also the files it names, the vendor-blind rule, and
    /// warnings for each `#{...}` in its scripts and package files that nothing defines
    Check {
        /// The plan file (`dropship/plan@1` JSON)
        plan: PathBuf,
        /// The drop folder or artifact zip the plan will be built with
        #[arg(long = "drop")]
        drop_path: Option<PathBuf>,
        /// Treat warnings as errors (exit 2)
        #[arg(long)]
        strict: bool,
    },
    /// Print the JSON Schema of the plan format (for editors)
    Schema,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Render(args) => return commands::render::run(args),
        Command::Keygen { dir, unencrypted } => commands::keygen::run(&dir, unencrypted),
        Command::Build(args) => commands::build::build(&args),
        Command::Seal {
            presign,
            signature,
            out,
        } => commands::build::seal(&presign, &signature, &out),
        Command::Verify { installer, key } => commands::verify::run(&installer, &key),
        Command::Inspect { installer } => commands::inspect::run(&installer),
        Command::Demo { runtime } => commands::demo::run(runtime.as_deref()),
        Command::Reports { paths, format, out } => {
            commands::reports::run(&paths, &format, out.as_deref())
        }
        Command::Init { dir } => commands::init::run(&dir),
        Command::Import(ImportCommand::Opd {
            drop,
            out,
            ask,
            drop_password_env,
            force,
        }) => commands::import::opd(
            &drop,
            &commands::import::Output { path: &out, force },
            &ask,
            drop_password_env.as_deref(),
        ),
        Command::Import(ImportCommand::Process {
            process,
            packages,
            environment,
            channel,
            ask,
            product,
            version,
            out,
            force,
        }) => commands::import::process(
            &process,
            &packages,
            &commands::import::Output { path: &out, force },
            commands::import::ProcessOptions {
                environment,
                channel,
                ask,
                product,
                version,
            },
        ),
        Command::Plan(PlanCommand::Check {
            plan,
            drop_path,
            strict,
        }) => commands::plan::check(&plan, drop_path.as_deref(), strict),
        Command::Plan(PlanCommand::Schema) => commands::plan::schema(),
    };
    match result {
        Ok(()) => ExitStatus::Success.into(),
        Err(error) => {
            eprintln!("error: {error:#}");
            failure::exit_status_of(&error).into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every argument, positional or option, of every command and subcommand has help text.
    #[test]
    fn every_argument_of_every_command_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = ["help", "version"].contains(&arg.get_id().as_str());
                if !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (the command)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "dropship", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:#?}");
    }
}
