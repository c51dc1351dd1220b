//! The signed single-file installer end to end: build, verify (ours and stock minisign), extract,
//! keys, presign/seal, and every kind of damage refused before anything is written.

use crate::support::{
    Run, Workspace, build_command, dropship, incompressible, run, runtime_stub, tree,
};
use dropship_runtime::container::{self, Codec, Manifest};
use dropship_runtime::plan;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn build_verify_extract_round_trip_keeps_every_drop_byte() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    run(dropship()
        .arg("verify")
        .arg(&installer)
        .arg("--key")
        .arg(ws.public_key()))
    .success();
    let info = run(Command::new(&installer).arg("info")).success();
    assert!(
        info.stdout.contains("Fabrikam Platform 4.12.0"),
        "{info:#?}"
    );
    assert!(info.stdout.contains("Contoso"), "{info:#?}");
    ws.installer(&installer, &["verify"]).success();
    let out = ws.path("out");
    let extracted = ws
        .installer(&installer, &["extract", "--to", out.to_str().unwrap()])
        .success();
    assert!(
        extracted.stdout.contains("extracted 5 files"),
        "{extracted:#?}"
    );
    assert_eq!(tree(&out.join("drop")), tree(&ws.path("drop")));
    assert_eq!(
        std::fs::read(out.join("plan.json")).unwrap(),
        std::fs::read(ws.path("plan.json")).unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("drop/Scripts/Configure.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "modes come from the drop as packed");
    }
}

/// The stock-tool commands a `verify` printed: every line after the one that announces them.
fn stock_commands(output: &str) -> String {
    let commands: Vec<&str> = output
        .lines()
        .skip_while(|l| !l.contains("stock minisign and b3sum"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(commands.len(), 5, "{output}");
    commands.join("\n")
}

/// Run stock-tool commands with bash, stopping at the first that fails.
fn run_stock(ws: &Workspace, commands: &str) -> Run {
    run(Command::new("bash")
        .args(["-e", "-c"])
        .arg(commands)
        .current_dir(ws.dir.path()))
}

#[test]
fn printed_stock_commands_verify_with_minisign_and_b3sum_and_fail_on_a_flipped_byte() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    let file = container::InstallerFile::open(&installer).unwrap();
    let prefix = file.trailer.prefix();
    let info = run(Command::new(&installer).arg("info")).success().stdout;
    let printed = [
        ws.installer(&installer, &["verify"]).success().stdout,
        run(dropship()
            .arg("verify")
            .arg(&installer)
            .arg("--key")
            .arg(ws.public_key()))
        .success()
        .stdout,
    ];
    for output in &printed {
        let commands = stock_commands(output);
        assert_eq!(
            commands,
            stock_commands(&info),
            "info prints the same commands"
        );
        let checked = run_stock(&ws, &commands).success();
        assert!(
            checked
                .stderr
                .contains("Signature and comment signature verified")
                || checked.stdout.contains("verified"),
            "{checked:#?}"
        );
        assert_eq!(checked.stdout.matches("-: OK").count(), 2, "{checked:#?}");
        // The same commands on a copy with one byte flipped in each part fail.
        for (offset, part) in [
            (prefix.manifest_offset() + 40, "header"),
            (prefix.runtime_len / 2, "runtime"),
            (prefix.payload_offset() + prefix.payload_len / 2, "payload"),
        ] {
            let damaged = damaged_copy(&installer, offset, "flipped");
            let commands = commands.replace(
                &installer.display().to_string(),
                &damaged.display().to_string(),
            );
            let failed = run_stock(&ws, &commands);
            assert_ne!(failed.code, Some(0), "{part}: {failed:#?}");
        }
    }
}

#[test]
fn manifest_digests_match_the_stock_b3sum_tool() {
    // The runtime and payload digests in the signed header are what `b3sum` prints for those
    // parts of the file (the Linux runtime has no fields left out), the plan digest that of the
    // packed plan.
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    let file = container::InstallerFile::open(&installer).unwrap();
    assert!(file.runtime_excluded.is_empty());
    let manifest = file.manifest;
    let b3sum = |script: String| {
        let printed = run(Command::new("bash").arg("-c").arg(script))
            .success()
            .stdout;
        format!("blake3:{}", printed.trim())
    };
    let payload = b3sum(format!(
        "tail -c +{} {} | head -c {} | b3sum --no-names",
        manifest.runtime.bytes + 1,
        installer.display(),
        manifest.payload.bytes
    ));
    assert_eq!(manifest.payload.digest, payload);
    let runtime = b3sum(format!(
        "head -c {} {} | b3sum --no-names",
        manifest.runtime.bytes,
        installer.display()
    ));
    assert_eq!(manifest.runtime.digest, runtime);
    let stub = run(Command::new("b3sum").arg("--no-names").arg(runtime_stub()))
        .success()
        .stdout;
    assert_eq!(
        runtime,
        format!("blake3:{}", stub.trim()),
        "the stub, unchanged"
    );
    let plan = run(Command::new("b3sum")
        .arg("--no-names")
        .arg(ws.path("plan.json")))
    .success()
    .stdout;
    assert_eq!(manifest.plan_digest, format!("blake3:{}", plan.trim()));
}

#[test]
fn keys_from_stock_minisign_sign_installers_and_ours_sign_with_minisign() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let (sk, pk) = (ws.path("stock.key"), ws.path("stock.pub"));
    run(Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&pk)
        .arg("-s")
        .arg(&sk))
    .success();
    let out = ws.path("by-stock-key");
    run(&mut build_command(
        &ws.path("drop"),
        &ws.path("plan.json"),
        &sk,
        &out,
    ))
    .success();
    run(dropship().arg("verify").arg(&out).arg("--key").arg(&pk)).success();

    let data = ws.write("data.txt", "signed by a dropship key\n");
    run(Command::new("minisign")
        .arg("-S")
        .arg("-s")
        .arg(ws.secret_key())
        .arg("-m")
        .arg(&data))
    .success();
    run(Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(ws.public_key())
        .arg("-m")
        .arg(&data))
    .success();
}

#[test]
fn encrypted_key_needs_its_password_from_the_environment_never_argv() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let keys = ws.path("locked");
    run(dropship()
        .args(["keygen", "-o"])
        .arg(&keys)
        .env("DROPSHIP_NEW_KEY_PASSWORD", "correct horse"))
    .success();
    let build = |password: Option<&str>| {
        let mut command = build_command(
            &ws.path("drop"),
            &ws.path("plan.json"),
            &keys.join("dropship.key"),
            &ws.path("locked-installer"),
        );
        command.env_remove("DROPSHIP_KEY_PASSWORD");
        if let Some(p) = password {
            command.env("DROPSHIP_KEY_PASSWORD", p);
        }
        run(&mut command)
    };
    let wrong = build(Some("wrong")).code(2);
    assert!(wrong.stderr.contains("wrong password"), "{wrong:#?}");
    let missing = build(None).code(2);
    assert!(
        missing.stderr.contains("DROPSHIP_KEY_PASSWORD"),
        "{missing:#?}"
    );
    build(Some("correct horse")).success();
    run(dropship()
        .arg("verify")
        .arg(ws.path("locked-installer"))
        .arg("--key")
        .arg(keys.join("dropship.pub")))
    .success();
    assert!(!ws.path("locked-installer.tmp").exists());
}

#[test]
fn corrupt_key_file_is_refused_with_a_message() {
    let ws = Workspace::new();
    ws.sample_inputs();
    ws.write(
        "keys/dropship.key",
        "untrusted comment: x\nnot base64 at all!\n",
    );
    let out = ws.path("never");
    let result = run(&mut ws.build_command(&out)).code(2);
    assert!(
        result.stderr.contains("not a minisign secret key"),
        "{result:#?}"
    );
    assert!(!out.exists());
}

/// Flip one byte at `offset` in a copy of `installer`.
fn damaged_copy(installer: &Path, offset: u64, name: &str) -> PathBuf {
    let mut bytes = std::fs::read(installer).unwrap();
    bytes[offset as usize] ^= 0x5a;
    write_executable(installer, name, &bytes)
}

fn write_executable(beside: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = beside.with_file_name(name);
    std::fs::write(&path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// The installer refuses the file with exit 3, and `extract` leaves nothing behind.
#[track_caller]
fn assert_refused(ws: &Workspace, installer: &Path, what: &str) {
    assert_integrity_failure(
        &ws.installer(installer, &["verify"]),
        &format!("{what}: verify"),
    );
    assert_extract_refused(ws, installer, what);
}

/// The run exited 3 with a one-line reason.
#[track_caller]
fn assert_integrity_failure(run: &Run, what: &str) {
    if let Some(problem) = integrity_problem(run, what) {
        panic!("{problem}");
    }
}

/// What is wrong when the run did not exit 3 with a one-line reason.
fn integrity_problem(run: &Run, what: &str) -> Option<String> {
    let one_line = run.stderr.starts_with("error: ") && run.stderr.lines().count() == 1;
    (run.code != Some(3) || !one_line)
        .then(|| format!("{what} should exit 3 with a one-line reason:\n{run:#?}"))
}

/// `extract` exits 3 and leaves neither the target nor a staging directory behind.
#[track_caller]
fn assert_extract_refused(ws: &Workspace, installer: &Path, what: &str) {
    let target = ws.path("target-dir");
    let extract = ws.installer(installer, &["extract", "--to", target.to_str().unwrap()]);
    assert_eq!(
        extract.code,
        Some(3),
        "{what}: extract should exit 3:\n{extract:#?}"
    );
    assert!(!target.exists(), "{what}: extract left the target behind");
    let leftovers: Vec<_> = std::fs::read_dir(ws.dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".dropship-staging")
        })
        .collect();
    assert!(leftovers.is_empty(), "{what}: staging left behind");
}

#[test]
fn any_changed_byte_in_runtime_payload_manifest_signature_padding_or_trailer_is_refused() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    let file = container::InstallerFile::open(&installer).unwrap();
    let prefix = file.trailer.prefix();
    let len = file.trailer.file_len;
    let mut offsets: Vec<(u64, &str)> = vec![
        (prefix.runtime_len / 2, "middle of runtime"),
        (prefix.runtime_len - 1, "last runtime byte"),
        (prefix.payload_offset(), "first payload byte"),
        (
            prefix.payload_offset() + prefix.payload_len / 2,
            "middle of payload",
        ),
        (prefix.manifest_offset() - 1, "last payload byte"),
        (prefix.manifest_offset(), "first manifest byte"),
        (
            prefix.manifest_offset() + prefix.manifest_len / 2,
            "middle of manifest",
        ),
        (prefix.end() - 1, "manifest length suffix"),
    ];
    // Every byte of the padding and the trailer, and the start, end and line breaks of each
    // signature line.
    let padding = len - container::TRAILER_LEN - file.trailer.padding;
    offsets.extend((padding..len - container::TRAILER_LEN).map(|o| (o, "padding")));
    offsets.extend((len - container::TRAILER_LEN..len).map(|o| (o, "trailer")));
    let signature = &file.signature;
    let mut line_start = 0;
    for line in signature.split_inclusive('\n') {
        let start = prefix.end() + line_start as u64;
        let end = start + line.len() as u64;
        offsets.extend([
            (start, "signature line start"),
            (start + 20, "signature line body"),
            (end - 2, "signature line end"),
            (end - 1, "signature line break"),
        ]);
        line_start += line.len();
    }
    for (offset, what) in offsets {
        let damaged = damaged_copy(&installer, offset, "damaged");
        assert_refused(&ws, &damaged, &format!("{what} (offset {offset})"));
    }
}

#[test]
fn a_flipped_bit_in_any_manifest_byte_is_an_integrity_failure() {
    // Anything wrong inside the signed file is an integrity failure (exit 3), never the
    // operator's input (exit 2): a flip in the embedded key too, so that key is the one trusted.
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    let prefix = container::InstallerFile::open(&installer)
        .unwrap()
        .trailer
        .prefix();
    let offsets: Vec<u64> = (prefix.manifest_offset()..prefix.end()).collect();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let problems: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = offsets
            .chunks(offsets.len().div_ceil(workers))
            .enumerate()
            .map(|(worker, share)| {
                let (ws, installer) = (&ws, &installer);
                scope.spawn(move || flip_each(ws, installer, share, worker))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    assert!(
        problems.is_empty(),
        "{} of {} flips:\n{}",
        problems.len(),
        offsets.len(),
        problems.join("\n")
    );
}

/// Flip one bit of each byte at `offsets` in this worker's copy of `installer`, in place (a
/// fresh copy of the whole installer per flip would cost more than running it); returns every
/// flip that `verify` or an unattended `install` did not refuse with exit 3 before changing
/// anything.
fn flip_each(ws: &Workspace, installer: &Path, offsets: &[u64], worker: usize) -> Vec<String> {
    let bytes = std::fs::read(installer).unwrap();
    let copy = write_executable(installer, &format!("flipped-{worker}"), &bytes);
    let state = ws.path(&format!("state-{worker}"));
    let mut problems = Vec::new();
    for &offset in offsets {
        let at = offset as usize;
        let good = bytes[at];
        // Vary the bit with the offset, so that every bit position is flipped somewhere.
        let bad = good ^ (1 << (offset % 8));
        write_byte(&copy, offset, bad);
        let what = format!("offset {offset}: {:?} -> {:?}", good as char, bad as char);
        let verify = run(Command::new(&copy).args(["verify", "--trust-embedded-key"]));
        problems.extend(integrity_problem(&verify, &format!("{what}: verify")));
        let install = run(Command::new(&copy)
            .args([
                "install",
                "--unattended",
                "--no-progress",
                "--trust-embedded-key",
            ])
            .arg("--state-dir")
            .arg(&state));
        problems.extend(integrity_problem(&install, &format!("{what}: install")));
        if state.exists() {
            problems.push(format!("{what}: install created its state directory"));
        }
        write_byte(&copy, offset, good);
    }
    // The copy itself is sound: every refusal above was the flip's doing.
    let restored = run(Command::new(&copy).args(["verify", "--trust-embedded-key"]));
    if restored.code != Some(0) {
        problems.push(format!("the restored copy does not verify:\n{restored:#?}"));
    }
    problems
}

fn write_byte(path: &Path, offset: u64, byte: u8) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(&[byte]).unwrap();
}

#[test]
fn changed_runtime_bytes_are_refused_by_verify() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    let runtime_len = container::InstallerFile::open(&installer)
        .unwrap()
        .trailer
        .runtime_len;
    for offset in [0, runtime_len / 3, runtime_len - 1] {
        let damaged = damaged_copy(&installer, offset, "damaged-runtime");
        let result = run(dropship()
            .arg("verify")
            .arg(&damaged)
            .arg("--key")
            .arg(ws.public_key()))
        .code(3);
        assert!(
            result.stderr.contains("does not match its signature"),
            "{result:#?}"
        );
    }
    // The last runtime byte is in the section table, which the loader never reads: the damaged
    // installer still runs, and refuses itself.
    let damaged = damaged_copy(&installer, runtime_len - 1, "damaged-tail");
    assert_refused(&ws, &damaged, "last runtime byte");
}

#[test]
fn appended_or_cut_bytes_are_refused() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    let bytes = std::fs::read(&installer).unwrap();
    let appended = write_executable(&installer, "appended", &[bytes.as_slice(), b"x"].concat());
    assert_refused(&ws, &appended, "one byte appended");
    let cut = write_executable(&installer, "cut", &bytes[..bytes.len() - 1]);
    assert_refused(&ws, &cut, "last byte cut");
    let cut_front = write_executable(&installer, "cut-front", &bytes[..bytes.len() - 100]);
    assert_refused(&ws, &cut_front, "trailer cut");
}

#[test]
fn trailer_offsets_that_disagree_with_the_signed_manifest_are_refused() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    let file = container::InstallerFile::open(&installer).unwrap();
    let mut trailer = file.trailer;
    // Move one byte from the payload to the runtime: the lengths still add up.
    trailer.runtime_len += 1;
    trailer.payload_len -= 1;
    let mut bytes = std::fs::read(&installer).unwrap();
    let at = bytes.len() - container::TRAILER_LEN as usize;
    bytes[at..].copy_from_slice(&trailer.to_bytes());
    let moved = write_executable(&installer, "moved", &bytes);
    assert_refused(&ws, &moved, "shifted offsets");
    let verify = ws.installer(&moved, &["verify"]);
    assert!(
        verify.stderr.contains("disagree with the signed manifest"),
        "{verify:#?}"
    );
}

#[test]
fn an_installer_of_another_format_version_is_refused_naming_it() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    let mut bytes = std::fs::read(&installer).unwrap();
    let version_at = bytes.len() - container::TRAILER_LEN as usize + 8;
    bytes[version_at..version_at + 2].copy_from_slice(&3u16.to_le_bytes());
    let future = write_executable(&installer, "future", &bytes);
    for result in [
        run(Command::new(&future).arg("info")),
        ws.installer(&future, &["install", "--unattended"]),
        run(dropship().arg("inspect").arg(&future)),
    ] {
        assert_integrity_failure(&result, "format 3");
        assert!(
            result.stderr.contains("installer of format 3")
                && result.stderr.contains("reads format 2 only")
                && result.stderr.contains("build the installer again"),
            "{result:#?}"
        );
    }
}

#[test]
fn signature_by_another_key_is_refused() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    let other = Workspace::new();
    let result = run(Command::new(&installer)
        .arg("verify")
        .arg("--trusted-key-file")
        .arg(other.public_key()))
    .code(3);
    assert!(
        result.stderr.contains("but the trusted key is"),
        "{result:#?}"
    );
    let result = run(dropship()
        .arg("verify")
        .arg(&installer)
        .arg("--key")
        .arg(other.public_key()))
    .code(3);
    assert!(
        result.stderr.contains("but the trusted key is"),
        "{result:#?}"
    );
}

#[test]
fn unattended_run_without_a_trusted_key_is_refused_with_a_hint() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let installer = ws.build("installer");
    let refused = run(Command::new(&installer).arg("verify")).code(3);
    assert!(refused.stderr.contains("--trusted-key"), "{refused:#?}");
    assert!(
        refused.stderr.contains(&ws.public_key_base64()),
        "shows the key to compare: {refused:#?}"
    );
    run(Command::new(&installer).args(["verify", "--trust-embedded-key"])).success();
    run(Command::new(&installer).args(["verify", "--trusted-key", &ws.public_key_base64()]))
        .success();
}

#[test]
fn presign_then_stock_minisign_then_seal_makes_a_valid_installer() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let presign = ws.path("installer.presign");
    let built = run(build_command(
        &ws.path("drop"),
        &ws.path("plan.json"),
        &ws.public_key(),
        &presign,
    )
    .arg("--presign"))
    .success();
    // A signature with the wrong trusted comment is refused by seal.
    let sealed = ws.path("sealed");
    let signature = stock_sign(&ws, &built.stdout, &presign, Some("wrong"));
    seal(&presign, &signature, &sealed).code(2);
    assert!(!sealed.exists());
    let signature = stock_sign(&ws, &built.stdout, &presign, None);
    // A presign file damaged after the build is refused: the header's digests no longer hold.
    let damaged = damaged_copy(&presign, 1000, "damaged.presign");
    let refused = seal(&damaged, &signature, &sealed).code(3);
    assert!(
        refused
            .stderr
            .contains("its runtime was modified after signing"),
        "{refused:#?}"
    );
    assert!(!sealed.exists());
    seal(&presign, &signature, &sealed).success();
    ws.installer(&sealed, &["verify"]).success();
    let out = ws.path("out");
    ws.installer(&sealed, &["extract", "--to", out.to_str().unwrap()])
        .success();
    assert_eq!(tree(&out.join("drop")), tree(&ws.path("drop")));
}

/// Sign a `.presign` file's header as `build --presign` printed (its `tail` line cuts the
/// header out; stock `minisign -S` signs it with the printed trusted comment, or `comment`);
/// returns the signature file.
fn stock_sign(ws: &Workspace, printed: &str, presign: &Path, comment: Option<&str>) -> PathBuf {
    let header = format!("{}.header", presign.display());
    let line = |start: &str| {
        printed
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(start) && l.contains(&header))
            .unwrap_or_else(|| panic!("no `{start}` line for {header}: {printed}"))
    };
    run(Command::new("bash").arg("-c").arg(line("tail -c "))).success();
    let printed_comment = line("minisign -S ")
        .split("-t '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("printed trusted comment");
    run(Command::new("minisign")
        .arg("-S")
        .arg("-s")
        .arg(ws.secret_key())
        .arg("-m")
        .arg(&header)
        .args(["-t", comment.unwrap_or(printed_comment)]))
    .success();
    PathBuf::from(format!("{header}.minisig"))
}

/// `dropship seal` of `presign` with `signature` into `sealed`.
fn seal(presign: &Path, signature: &Path, sealed: &Path) -> Run {
    run(dropship()
        .arg("seal")
        .arg(presign)
        .arg("--signature")
        .arg(signature)
        .arg("-o")
        .arg(sealed))
}

#[test]
fn batch_presign_files_seal_into_installers_for_each_customer() {
    // Each `.presign` file is the shared bytes plus its customer's frame and header; each
    // header is signed elsewhere by stock minisign.
    let ws = Workspace::new();
    ws.sample_inputs();
    ws.write("northwind.json", r#"{"name":"Northwind"}"#);
    let out = ws.path("presigned");
    let built = run(build_command(
        &ws.path("drop"),
        &ws.path("plan.json"),
        &ws.public_key(),
        &out,
    )
    .arg("--presign")
    .arg("--customer")
    .arg(ws.path("customer.json"))
    .arg("--customer")
    .arg(ws.path("northwind.json")))
    .success();
    for name in ["Contoso", "Northwind"] {
        let file = format!("fabrikam-platform-4.12.0-{}", name.to_lowercase());
        let presign = out.join(format!("{file}.presign"));
        let sealed = ws.path(&file);
        let signature = stock_sign(&ws, &built.stdout, &presign, None);
        seal(&presign, &signature, &sealed).success();
        let target = ws.path(&format!("out-{name}"));
        ws.installer(&sealed, &["extract", "--to", target.to_str().unwrap()])
            .success();
        let customer = std::fs::read_to_string(target.join("customer.json")).unwrap();
        assert!(customer.contains(name), "{name}: {customer}");
        assert_eq!(tree(&target.join("drop")), tree(&ws.path("drop")), "{name}");
    }
}

#[test]
fn reproducible_with_source_date_epoch() {
    let ws = Workspace::new();
    ws.sample_inputs();
    // Ed25519 signatures are deterministic: the whole installer is the same, signature included.
    let installers: Vec<Vec<u8>> = ["one", "two"]
        .iter()
        .map(|name| {
            let out = ws.path(name);
            run(ws
                .build_command(&out)
                .env("SOURCE_DATE_EPOCH", "1700000000"))
            .success();
            std::fs::read(&out).unwrap()
        })
        .collect();
    assert!(installers[0] == installers[1], "the installers differ");
}

/// Sign a hand-made payload with stock minisign and seal it: an installer whose signature is
/// valid but whose content is hostile.
fn hostile_installer(
    ws: &Workspace,
    name: &str,
    tar_bytes: &[u8],
    declared_unpacked: u64,
) -> PathBuf {
    let runtime = std::fs::read(runtime_stub()).unwrap();
    let public = dropship_runtime::trust::PublicKey::from_file(&ws.public_key()).unwrap();
    let manifest = Manifest {
        format: container::FORMAT_VERSION,
        product: plan::Product {
            name: "Hostile".into(),
            version: "1".into(),
            vendor: None,
        },
        customer: None,
        built_at: "2026-01-01T00:00:00Z".into(),
        bundler_version: "test".into(),
        runtime: container::RuntimeInfo {
            bytes: runtime.len() as u64,
            digest: container::digest_text(&blake3::hash(&runtime)),
        },
        payload: container::PayloadInfo {
            codec: Codec::None,
            bytes: tar_bytes.len() as u64,
            unpacked_bytes: declared_unpacked,
            files: 1,
            digest: container::digest_text(&blake3::hash(tar_bytes)),
        },
        plan_digest: "blake3:00".into(),
        contents: vec![],
        signer: container::SignerInfo {
            key_id: public.key_id.clone(),
            public_key: public.base64.clone(),
        },
    };
    let presign = ws.path(&format!("{name}.presign"));
    let header = ws.write(&format!("{name}.header"), manifest.to_region());
    std::fs::write(
        &presign,
        [runtime.as_slice(), tar_bytes, &manifest.to_region()].concat(),
    )
    .unwrap();
    run(Command::new("minisign")
        .arg("-S")
        .arg("-s")
        .arg(ws.secret_key())
        .arg("-m")
        .arg(&header)
        .args(["-t", &manifest.trusted_comment()]))
    .success();
    let out = ws.path(name);
    seal(&presign, &ws.path(&format!("{name}.header.minisig")), &out).success();
    out
}

/// A raw tar entry; the name is written as is (the tar crate would refuse hostile names).
fn raw_entry(name: &str, kind: u8, link: &str, data: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    header[100..107].copy_from_slice(b"0000644");
    header[108..115].copy_from_slice(b"0000000");
    header[116..123].copy_from_slice(b"0000000");
    header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    header[136..147].copy_from_slice(b"00000000000");
    header[156] = kind;
    header[157..157 + link.len()].copy_from_slice(link.as_bytes());
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| b as u32).sum();
    header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn finished_tar(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out = entries.concat();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[test]
fn hostile_payloads_are_refused_even_when_signed() {
    let ws = Workspace::new();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "absolute",
            finished_tar(&[raw_entry("/tmp/dropship-evil", b'0', "", b"x")]),
        ),
        (
            "dotdot",
            finished_tar(&[raw_entry("drop/../../evil", b'0', "", b"x")]),
        ),
        (
            "link-out",
            finished_tar(&[raw_entry("drop/link", b'2', "../../../etc", b"")]),
        ),
        (
            "link-abs",
            finished_tar(&[raw_entry("drop/link", b'2', "/etc", b"")]),
        ),
        (
            "device",
            finished_tar(&[raw_entry("drop/dev", b'3', "", b"")]),
        ),
        (
            "hardlink",
            finished_tar(&[raw_entry("drop/hard", b'1', "/etc/passwd", b"")]),
        ),
        // Each link passes a lexical check; resolved on disk the second leads to /etc/passwd.
        (
            "link-chain",
            finished_tar(&[
                raw_entry(
                    "drop/a/b/c/d/e/f/g/h/up",
                    b'2',
                    "../../../../../../../..",
                    b"",
                ),
                raw_entry(
                    "drop/config/passwd",
                    b'2',
                    "../a/b/c/d/e/f/g/h/up/../../../../../../../../../etc/passwd",
                    b"",
                ),
            ]),
        ),
    ];
    for (name, tar) in cases {
        let installer = hostile_installer(&ws, name, &tar, tar.len() as u64);
        assert_extract_refused(&ws, &installer, name);
        let result = ws.installer(&installer, &["verify"]);
        // The signature itself is fine: verify succeeds; extracting is what refuses.
        assert_eq!(result.code, Some(0), "{name}: {result:#?}");
    }
    assert!(!Path::new("/tmp/dropship-evil").exists());
}

#[test]
fn payload_larger_than_declared_is_refused() {
    let ws = Workspace::new();
    let tar = finished_tar(&[raw_entry("drop/big", b'0', "", &vec![7u8; 100_000])]);
    let installer = hostile_installer(&ws, "bomb", &tar, 4096);
    let target = ws.path("bomb-target");
    let result = ws
        .installer(&installer, &["extract", "--to", target.to_str().unwrap()])
        .code(3);
    assert!(
        result
            .stderr
            .contains("more bytes than its signed manifest declares"),
        "{result:#?}"
    );
    assert!(!target.exists());
}

#[test]
fn a_payload_declaring_more_than_the_disk_holds_is_refused_before_unpacking() {
    let ws = Workspace::new();
    let tar = finished_tar(&[raw_entry("drop/small", b'0', "", b"x")]);
    let installer = hostile_installer(&ws, "huge", &tar, u64::MAX / 2);
    let target = ws.path("huge-target");
    let result = ws
        .installer(&installer, &["extract", "--to", target.to_str().unwrap()])
        .code(1);
    assert!(
        result.stderr.contains("unpacking the installer: only ")
            && result.stderr.contains("(need 8.0 EiB)"),
        "{result:#?}"
    );
    assert!(!target.exists());
}

#[test]
fn batch_build_refuses_two_customers_that_would_share_a_file() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let out = ws.path("batch");
    ws.write("other.json", r#"{"name":"CONTOSO"}"#);
    let result = run(ws
        .build_command(&out)
        .arg("--customer")
        .arg(ws.path("other.json")))
    .code(2);
    assert!(
        result
            .stderr
            .contains("customers `Contoso` and `CONTOSO` would both be written to"),
        "{result:#?}"
    );
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn batch_build_writes_one_verified_installer_per_customer() {
    // The runtime and shared frame are written and hashed once, the other installers start as
    // copies of those bytes: each must carry its own customer and the same drop, and verify on
    // its own (its signature continues the shared hash state over its own frame).
    let ws = Workspace::new();
    ws.sample_inputs();
    let names = ["Contoso", "Northwind", "Tailspin"];
    let out = ws.path("batch");
    let mut command = ws.build_command(&out);
    for name in &names[1..] {
        let file = format!("{}.json", name.to_lowercase());
        ws.write(&file, format!(r#"{{"name":"{name}"}}"#));
        command.arg("--customer").arg(ws.path(&file));
    }
    run(&mut command).success();
    for name in names {
        let installer = out.join(format!("fabrikam-platform-4.12.0-{}", name.to_lowercase()));
        ws.installer(&installer, &["verify"]).success();
        let target = ws.path(&format!("out-{name}"));
        ws.installer(&installer, &["extract", "--to", target.to_str().unwrap()])
            .success();
        let customer = std::fs::read_to_string(target.join("customer.json")).unwrap();
        assert!(customer.contains(name), "{name}: {customer}");
        assert_eq!(tree(&target.join("drop")), tree(&ws.path("drop")), "{name}");
    }
    let written = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(written, names.len(), "no temporary file is left behind");
}

#[test]
fn packages_that_do_not_compress_are_stored_and_every_installer_still_verifies() {
    // A package (already compressed) goes into the payload as a stored frame, around the
    // compressor; text beside it is compressed. Both codecs that store, in a batch: every
    // installer verifies, unpacks to the drop, decodes with stock `zstd`, and the build's
    // summary names the SHA-256 `sha256sum` prints (computed while writing, not read back).
    let ws = Workspace::new();
    ws.sample_inputs();
    let package = incompressible(3 << 20);
    ws.write("drop/Packages/Fabrikam.Web.4.12.0.nupkg", &package);
    let long_dir = "Scripts/a-folder-name-long-enough-that-tar-needs-its-long-name-extension";
    let sql: String = (0..60_000)
        .map(|i| format!("INSERT INTO t VALUES ({i});\n"))
        .collect();
    ws.write(&format!("drop/{long_dir}/0001-schema.sql"), &sql);
    ws.write("northwind.json", r#"{"name":"Northwind"}"#);
    for codec in ["zstd", "none"] {
        let out = ws.path(&format!("batch-{codec}"));
        let mut command = ws.build_command(&out);
        command.args(["--compression", codec, "--customer"]);
        let built = run(command.arg(ws.path("northwind.json"))).success();
        for name in ["contoso", "northwind"] {
            let installer = out.join(format!("fabrikam-platform-4.12.0-{name}"));
            let trailer = container::InstallerFile::open(&installer).unwrap().trailer;
            if codec == "zstd" {
                let payload = trailer.payload_len as usize;
                assert!(
                    payload < package.len() + sql.len() / 2,
                    "the text is compressed"
                );
                // A stored frame's header: magic, descriptor, window, the package's padded size.
                let padded = (package.len() as u64).next_multiple_of(512).to_le_bytes();
                let header = [&[0x28, 0xB5, 0x2F, 0xFD, 0xC0, 0x38][..], &padded].concat();
                let bytes = std::fs::read(&installer).unwrap();
                assert!(
                    bytes.windows(14).any(|w| w == header),
                    "the package is stored"
                );
            }
            let sha = run(Command::new("sha256sum").arg(&installer))
                .success()
                .stdout;
            assert!(
                built.stdout.contains(&format!("sha256:    {}", &sha[..64])),
                "{codec} {name}: {built:#?}"
            );
            ws.installer(&installer, &["verify"]).success();
            let target = ws.path(&format!("out-{codec}-{name}"));
            ws.installer(&installer, &["extract", "--to", target.to_str().unwrap()])
                .success();
            assert_eq!(
                tree(&target.join("drop")),
                tree(&ws.path("drop")),
                "{codec}"
            );
            if codec == "zstd" {
                let stock = ws.path(&format!("stock-{name}"));
                std::fs::create_dir(&stock).unwrap();
                run(Command::new("sh").arg("-c").arg(format!(
                    "tail -c +{} '{}' | head -c {} | zstd -dc | tar xf - -C '{}'",
                    trailer.runtime_len + 1,
                    installer.display(),
                    trailer.payload_len,
                    stock.display()
                )))
                .success();
                assert_eq!(
                    tree(&stock.join("drop")),
                    tree(&ws.path("drop")),
                    "stock zstd"
                );
            }
        }
    }
}

/// A Windows program that carries the record `dropship build` looks for in a runtime stub: a
/// real PE image for the host-side checks, which read the runtime and never run it.
const PE_STUB_C: &str = r#"#include <stdio.h>
const char record[] = "DROPSHIP-PINNED-KEYS/1:[]";
int main(void) { puts(record); return 0; }
"#;

#[test]
fn an_authenticode_signed_windows_installer_verifies_and_refuses_a_flipped_byte() {
    let ws = Workspace::new();
    ws.sample_inputs();
    let (source, stub) = (ws.write("stub.c", PE_STUB_C), ws.path("stub.exe"));
    run(Command::new("x86_64-w64-mingw32-gcc")
        .args(["-Os", "-o"])
        .arg(&stub)
        .arg(&source))
    .success();
    let installer = ws.path("setup.exe");
    build_for_windows(&ws, &stub, &installer).success();
    let signed = ws.path("signed.exe");
    let cert = authenticode_sign(&ws, &installer, &signed);
    let (before, after) = (
        std::fs::read(&installer).unwrap(),
        std::fs::read(&signed).unwrap(),
    );
    assert!(
        after.len() > before.len() && after[..before.len()] != before[..],
        "osslsigncode appends its table and rewrites the header fields"
    );
    let opened = container::InstallerFile::open(&signed).unwrap();
    assert_eq!(
        opened.certificate_table.map(|(offset, _)| offset),
        Some(before.len() as u64),
        "the table starts right after the installer"
    );
    let verify = |installer: &Path| {
        run(dropship()
            .arg("verify")
            .arg(installer)
            .arg("--key")
            .arg(ws.public_key()))
    };
    let verified = verify(&signed).success();
    assert!(
        verified
            .stdout
            .contains("an Authenticode certificate table of"),
        "{verified:#?}"
    );
    run_stock(&ws, &stock_commands(&verified.stdout)).success();
    // Its own Authenticode signature holds too: nothing changed the file after it.
    run(Command::new("osslsigncode")
        .args(["verify", "-CAfile"])
        .arg(&cert)
        .arg("-in")
        .arg(&signed))
    .success();
    let prefix = opened.trailer.prefix();
    for (offset, part) in [
        (prefix.runtime_len / 2, "runtime"),
        (prefix.payload_offset() + prefix.payload_len / 2, "payload"),
        (prefix.manifest_offset() + 40, "header"),
        (opened.trailer.file_len - 10, "trailer"),
    ] {
        let refused = verify(&damaged_copy(&signed, offset, "damaged.exe")).code(3);
        assert!(
            refused.stderr.starts_with("error: "),
            "{part}: {refused:#?}"
        );
    }
    // A stub signed on its own is refused: sign the finished installer instead.
    let signed_stub = ws.path("signed-stub.exe");
    authenticode_sign(&ws, &stub, &signed_stub);
    let refused = build_for_windows(&ws, &signed_stub, &ws.path("never.exe")).code(2);
    assert!(
        refused
            .stderr
            .contains("is Authenticode-signed; build with the unsigned stub"),
        "{refused:#?}"
    );
}

/// `dropship build --platform windows-x86_64` of the sample inputs with `stub`.
fn build_for_windows(ws: &Workspace, stub: &Path, out: &Path) -> Run {
    run(dropship()
        .arg("build")
        .arg("--drop")
        .arg(ws.path("drop"))
        .arg("--plan")
        .arg(ws.path("plan.json"))
        .arg("--key")
        .arg(ws.secret_key())
        .args(["--platform", "windows-x86_64", "--runtime"])
        .arg(stub)
        .arg("-o")
        .arg(out))
}

/// Sign `input` into `output` with Authenticode (osslsigncode) and a throwaway self-signed
/// certificate, made on first use; returns the certificate.
fn authenticode_sign(ws: &Workspace, input: &Path, output: &Path) -> PathBuf {
    let (cert, key) = (ws.path("cert.pem"), ws.path("cert.key"));
    if !cert.exists() {
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=dropship test"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert))
        .success();
    }
    run(Command::new("osslsigncode")
        .arg("sign")
        .arg("-certs")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .arg("-in")
        .arg(input)
        .arg("-out")
        .arg(output))
    .success();
    cert
}
