//! `dropship build` (one installer, or one per customer in a batch; or `.presign` files to sign
//! elsewhere) and `dropship seal` (a presigned build's signature attached): the command line's
//! inputs read and validated, then handed to [`crate::bundle`].

use crate::{bundle, inputs, keys, pack, stub};
use anyhow::{Context, Result};
use dropship_runtime::container::Codec;
use dropship_runtime::{env, units};
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
    #[arg(long, default_value = "zstd", value_parser = parse_codec)]
    compression: Codec,
}

/// `--compression`: a codec by name.
fn parse_codec(name: &str) -> Result<Codec, String> {
    Codec::from_name(name)
        .ok_or_else(|| format!("unknown compression `{name}`; use zstd, gzip or none"))
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
    let mtime = source_date_epoch()?;
    Ok(bundle::BuildInputs {
        drop,
        plan_bytes,
        product,
        customers,
        runtime: stub::locate(args.runtime.as_deref(), args.platform)?,
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
