//! `dropship`, the vendor's bundler: a thin command-line front end over the runtime library
//! (shared types and rules) and this crate's packing, signing and import modules.

mod bundle;
mod demo;
mod import;
mod import_cmd;
mod init;
mod inputs;
mod keys;
mod pack;
mod render;
mod stub;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use dropship_runtime::container::{Codec, InstallerFile};
use dropship_runtime::exit::ExitStatus;
use dropship_runtime::{env, trust, units};
use std::path::{Path, PathBuf};
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
        installer: PathBuf,
        /// The vendor's public key file (`dropship.pub` or minisign `.pub`)
        #[arg(long)]
        key: PathBuf,
    },
    /// Show an installer's manifest, plan summary and sizes (does not verify; use `verify`)
    Inspect { installer: PathBuf },
    /// Write a plan from what Octopus produced (an Offline Package Drop or a deployment process)
    #[command(subcommand)]
    Import(ImportCommand),
    /// Check a step plan (and its references into a drop) and list every problem
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Evaluate an Octostache template from stdin against a variables file
    Render(render::RenderArgs),
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
        drop: PathBuf,
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
    },
    /// From a deployment process: REST JSON or `deployment_process.ocl`
    Process {
        process: PathBuf,
        /// The folder holding the process's packages (it becomes the drop)
        #[arg(long)]
        packages: PathBuf,
        #[arg(long)]
        environment: Option<String>,
        #[arg(long)]
        channel: Option<String>,
        #[arg(long = "ask", value_name = "NAME")]
        ask: Vec<String>,
        /// Product name for the plan (edit it in the plan otherwise)
        #[arg(long)]
        product: Option<String>,
        /// Product version for the plan
        #[arg(long = "product-version")]
        version: Option<String>,
        #[arg(short = 'o', long = "out", default_value = "plan.json")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Validate a plan; with `--drop`, also the files it names and the vendor-blind rule
    Check {
        plan: PathBuf,
        /// The drop folder or artifact zip the plan will be built with
        #[arg(long = "drop")]
        drop_path: Option<PathBuf>,
    },
    /// Print the JSON Schema of the plan format (for editors)
    Schema,
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// The Offline Package Drop: its folder or its artifact `.zip`
    #[arg(long = "drop")]
    drop_path: PathBuf,
    /// The step plan (`dropship/plan@1` JSON)
    #[arg(long)]
    plan: PathBuf,
    /// Customer profile(s); with more than one, `-o` is a directory and the drop is compressed once
    #[arg(long)]
    customer: Vec<PathBuf>,
    /// Secret key to sign with (with `--presign`: the public key the signature will be made with)
    #[arg(long)]
    key: PathBuf,
    /// Runtime stub (default: `dropship-runtime` beside `dropship`)
    #[arg(long)]
    runtime: Option<PathBuf>,
    /// Output installer (a directory when several customers are given)
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Write the unsigned prefix for signing elsewhere with `minisign -S`, then `dropship seal`
    #[arg(long)]
    presign: bool,
    /// Payload compression
    #[arg(long, default_value = "zstd", value_parser = bundle::parse_codec)]
    compression: Codec,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Render(args) => return render::run(args),
        Command::Keygen { dir, unencrypted } => keygen(&dir, unencrypted),
        Command::Build(args) => build(&args),
        Command::Seal {
            presign,
            signature,
            out,
        } => bundle::seal(&presign, &signature, &out).map(|()| {
            println!("OK: sealed {}", out.display());
        }),
        Command::Verify { installer, key } => verify(&installer, &key),
        Command::Inspect { installer } => inspect(&installer),
        Command::Demo { runtime } => demo::run(runtime.as_deref()),
        Command::Init { dir } => init::run(&dir),
        Command::Import(ImportCommand::Opd {
            drop,
            out,
            ask,
            drop_password_env,
        }) => import_cmd::import_opd(&drop, &out, &ask, drop_password_env.as_deref()),
        Command::Import(ImportCommand::Process {
            process,
            packages,
            environment,
            channel,
            ask,
            product,
            version,
            out,
        }) => import_cmd::import_process(
            &process,
            &packages,
            &out,
            import_cmd::ProcessOptions {
                environment,
                channel,
                ask,
                product,
                version,
            },
        ),
        Command::Plan(PlanCommand::Check { plan, drop_path }) => {
            plan_check(&plan, drop_path.as_deref())
        }
        Command::Plan(PlanCommand::Schema) => {
            println!("{}", plan_schema());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitStatus::Success.into(),
        Err(error) => {
            eprintln!("error: {error:#}");
            exit_status_of(&error).into()
        }
    }
}

/// Integrity and trust failures exit 3; everything else the bundler reports is the user's input.
fn exit_status_of(error: &anyhow::Error) -> ExitStatus {
    use dropship_runtime::container::ContainerError;
    use dropship_runtime::extract::ExtractError;
    use dropship_runtime::trust::TrustError;
    if let Some(e) = error.downcast_ref::<ExtractError>() {
        return e.exit_status();
    }
    if let Some(e) = error.downcast_ref::<TrustError>() {
        return e.exit_status();
    }
    if error.downcast_ref::<ContainerError>().is_some() {
        return ExitStatus::Integrity;
    }
    ExitStatus::Usage
}

fn keygen(dir: &Path, unencrypted: bool) -> Result<()> {
    let (sk, pk, public) = keys::keygen(dir, unencrypted)?;
    println!(
        "wrote secret key {} and public key {}\nkey id: {}\npublic key: {}\nPublish the public key to your customers; pin it into the runtime with {}={} when building it.",
        sk.display(),
        pk.display(),
        public.key_id,
        public.base64,
        env::TRUSTED_KEYS,
        public.base64
    );
    Ok(())
}

fn build(args: &BuildArgs) -> Result<()> {
    let inputs = bundle_inputs(args)?;
    let signing = if args.presign {
        bundle::Signing::Presign(keys::load_public_key(&args.key)?)
    } else {
        bundle::Signing::Key(keys::load_secret_key(&args.key)?)
    };
    let written = bundle::build(&inputs, &signing, &args.out)?;
    for path in &written {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!("wrote {} ({})", path.display(), units::human_bytes(size));
        if args.presign {
            println!("{}", bundle::presign_instructions(path)?);
        }
    }
    Ok(())
}

fn bundle_inputs(args: &BuildArgs) -> Result<bundle::BuildInputs> {
    let drop = pack::DropSource::open(&args.drop_path)?;
    let (plan, plan_bytes) = inputs::load_plan(&args.plan, Some(&drop))?;
    let customers = args
        .customer
        .iter()
        .map(|path| inputs::load_customer(path, &plan))
        .collect::<Result<Vec<_>>>()?;
    let product = plan.product().clone();
    let mtime = match std::env::var(env::SOURCE_DATE_EPOCH) {
        Ok(text) => Some(text.trim().parse::<u64>().with_context(|| {
            format!(
                "{} is `{text}`; it must be a number of seconds since 1970",
                env::SOURCE_DATE_EPOCH
            )
        })?),
        Err(_) => None,
    };
    Ok(bundle::BuildInputs {
        drop,
        plan_bytes,
        product,
        customers,
        runtime: stub::locate(args.runtime.as_deref())?,
        options: pack::PackOptions {
            codec: args.compression,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            mtime,
        },
    })
}

fn plan_check(plan: &Path, drop: Option<&Path>) -> Result<()> {
    let drop = drop.map(pack::DropSource::open).transpose()?;
    let (plan_value, _) = inputs::load_plan(plan, drop.as_ref())?;
    println!(
        "OK: plan `{}` is valid: {} steps, {} parameters{}",
        plan.display(),
        plan_value.steps().len(),
        plan_value.parameters().len(),
        if drop.is_some() {
            ", every referenced drop file present"
        } else {
            ""
        }
    );
    Ok(())
}

/// The plan format's JSON Schema, as published in `schema/` (generated from the runtime's plan
/// types; a runtime test keeps it current). Embedded rather than generated here, so the bundler
/// does not turn on the runtime's `schema` feature, which a workspace build would then also
/// compile into the runtime stub shipped to customers.
fn plan_schema() -> &'static str {
    include_str!("../../schema/plan.schema.json").trim_end()
}

fn verify(installer: &Path, key: &Path) -> Result<()> {
    let (file, signer) = bundle::verify(installer, key)?;
    let prefix = file.trailer.prefix();
    println!(
        "OK: {} is signed by key {} over all {} signed bytes\n  {}\n\nTo check it with the stock minisign tool:\n{}",
        installer.display(),
        signer.key.key_id,
        prefix.signed_len(),
        file.manifest.trusted_comment(),
        trust::minisign_command(
            installer,
            prefix.signed_len(),
            file.trailer.signature_len,
            &signer.key.base64
        )
    );
    Ok(())
}

fn inspect(installer: &Path) -> Result<()> {
    let file = InstallerFile::open(installer)?;
    let manifest = serde_json::to_string_pretty(&file.manifest)?;
    println!("manifest (not verified; run `dropship verify`):\n{manifest}");
    let prefix = file.trailer.prefix();
    println!(
        "sizes: runtime {}, payload {} ({} unpacked), manifest {} B, signature {} B, file {}",
        units::human_bytes(prefix.runtime_len),
        units::human_bytes(prefix.payload_len),
        units::human_bytes(file.manifest.payload.unpacked_bytes),
        prefix.manifest_len,
        file.trailer.signature_len,
        units::human_bytes(file.trailer.file_len)
    );
    if let Some(plan) =
        dropship_runtime::extract::read_member_unverified(&file, pack::PLAN_ENTRY, 16 << 20)?
    {
        // The same parser the installer uses: a plan it would refuse is shown as refused.
        match dropship_runtime::plan::Plan::parse(&plan, "plan.json (in the installer)") {
            Ok(plan) => {
                println!(
                    "plan: {} steps, {} parameters",
                    plan.steps().len(),
                    plan.parameters().len()
                );
                for (i, step) in plan.steps().iter().enumerate() {
                    println!(
                        "  {:>2}. {} ({})",
                        i + 1,
                        step.common().name,
                        step.type_name()
                    );
                }
            }
            Err(errors) => println!("plan: {errors}"),
        }
    }
    Ok(())
}
