//! `dropship build` (one installer, or one per customer in a batch; or `.presign` files to sign
//! elsewhere) and `dropship seal` (a presigned build's signature attached): the command line's
//! inputs read and validated, then handed to [`crate::bundle`].

use crate::failure::OnMachine;
use crate::{bundle, inputs, keys, pack, stub};
use anyhow::{Context, Result};
use dropship_runtime::container::Codec;
use dropship_runtime::trust::PublicKey;
use dropship_runtime::{env, escape, units};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
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
    /// The platform the installer runs on: its runtime stub is taken from beside `dropship`
    #[arg(long, value_enum, default_value = "linux-x86_64")]
    platform: stub::Platform,
    /// Runtime stub, checked to be an executable of `--platform` (default:
    /// `dropship-runtime-<platform>[.exe]` beside `dropship`, or this machine's `dropship-runtime`)
    #[arg(long)]
    runtime: Option<PathBuf>,
    /// Output installer (a directory when several customers are given)
    #[arg(short = 'o', long = "out")]
    out: PathBuf,
    /// Write the unsigned prefix for signing elsewhere with `minisign -S`, then `dropship seal`
    #[arg(long)]
    presign: bool,
    /// Payload compression
    #[arg(long, default_value = "zstd", value_parser = codec_parser())]
    compression: Codec,
}

/// `--compression`: a codec by name, the names listed in `--help` and in clap's error.
fn codec_parser() -> impl clap::builder::TypedValueParser<Value = Codec> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        PossibleValue::new(Codec::Zstd.name()).help("fast, near copy speed on packages"),
        PossibleValue::new(Codec::Gzip.name()).help("slower; for a customer's own tools"),
        PossibleValue::new(Codec::None.name()).help("stored as is"),
    ])
    // Only the names above get here, and each is a codec's.
    .map(|name| Codec::from_name(&name).unwrap_or_default())
}

/// `dropship build`.
pub fn build(args: &BuildArgs) -> Result<()> {
    let inputs = bundle_inputs(args)?;
    let signing = if args.presign {
        bundle::Signing::Presign(keys::load_public_key(&args.key)?)
    } else {
        bundle::Signing::Key(keys::load_secret_key(&args.key)?)
    };
    let written = bundle::build(&inputs, &signing, &args.out)?;
    warn_without_exe(&written, args.platform);
    for (index, built) in written.iter().enumerate() {
        let bundle::Signing::Key(key) = &signing else {
            let size = std::fs::metadata(&built.path).map(|m| m.len()).unwrap_or(0);
            println!(
                "wrote {} ({})",
                built.path.display(),
                units::human_bytes(size)
            );
            println!("{}", bundle::presign_instructions(&built.path)?);
            continue;
        };
        let customer = inputs.customers.get(index).and_then(|c| c.name.as_deref());
        println!("{}", summary(built, customer, args.platform, &key.public)?);
    }
    Ok(())
}

/// Windows runs only files named `.exe`: say so when `-o` named a Windows installer otherwise
/// (batch builds name theirs).
fn warn_without_exe(written: &[bundle::Built], platform: stub::Platform) {
    let suffix = platform.exe_suffix();
    for bundle::Built { path, .. } in written {
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase());
        if !suffix.is_empty()
            && name.is_some_and(|n| !n.ends_with(suffix) && !n.ends_with(".presign"))
        {
            eprintln!(
                "warning: `{}` is a {} installer: Windows runs it only when its name ends with \
                 `{suffix}`; rename it before sending it",
                path.display(),
                platform.name()
            );
        }
    }
}

/// What was built (customer, platform, signing key, size, digest) and how the customer checks
/// it: the digest, then the installer's own `verify` with the key given on the command line
/// (which also prints the stock `minisign` command that runs none of its code).
fn summary(
    built: &bundle::Built,
    customer: Option<&str>,
    platform: stub::Platform,
    key: &PublicKey,
) -> Result<String> {
    let path = &built.path;
    let size = std::fs::metadata(path)
        .machine_io(|| format!("reading `{}`", path.display()))?
        .len();
    let digest = &built.sha256;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let (hash_command, run) = match platform {
        stub::Platform::LinuxX86_64 => {
            let word = escape::shell_word(&name);
            (format!("sha256sum {word}"), format!("./{word}"))
        }
        stub::Platform::WindowsX86_64 => {
            let escaped = name.replace('\'', "''");
            (
                format!("Get-FileHash '{escaped}'"),
                format!("& '.\\{escaped}'"),
            )
        }
    };
    Ok(format!(
        "wrote {path}\n  customer:  {customer}\n  platform:  {platform}\n  signed by: key {key_id}\n  \
         size:      {size_text} ({size} bytes)\n  sha256:    {digest}\n\n\
         next: send the installer, its sha256 and your public key to the customer, who checks it \
         before running it:\n  {hash_command}      # must print {digest}\n  \
         {run} verify --trusted-key {public}",
        path = path.display(),
        customer = customer.unwrap_or("(none: no customer profile)"),
        platform = platform.name(),
        key_id = key.key_id,
        size_text = units::human_bytes(size),
        public = key.base64,
    ))
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
    let mtime = source_date_epoch()?;
    Ok(bundle::BuildInputs {
        drop,
        plan_bytes,
        product,
        customers,
        runtime: stub::locate(args.runtime.as_deref(), args.platform)?,
        exe_suffix: args.platform.exe_suffix(),
        options: pack::PackOptions {
            codec: args.compression,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            mtime,
        },
    })
}

/// `SOURCE_DATE_EPOCH`, when set: the build time of a reproducible build.
fn source_date_epoch() -> Result<Option<u64>> {
    let Ok(text) = std::env::var(env::SOURCE_DATE_EPOCH) else {
        return Ok(None);
    };
    let seconds = text.trim().parse::<u64>().with_context(|| {
        format!(
            "{} is `{text}`; it must be a number of seconds since 1970",
            env::SOURCE_DATE_EPOCH
        )
    })?;
    Ok(Some(seconds))
}

/// `dropship seal`.
pub fn seal(presign: &Path, signature: &Path, out: &Path) -> Result<()> {
    bundle::seal(presign, signature, out)?;
    println!("OK: sealed {}", out.display());
    Ok(())
}
