//! Bounded work from bounded input: a decompression bomb in a package, plan variables that
//! double forty times, a plan with a million steps, and a long render stopped by SIGTERM.

use crate::fixture::{Fixture, deploy_sample_step, plan_with_steps, sample_plan, spawn};
use crate::support::{Run, Workspace, dropship, run};
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, Instant};

/// One entry of `size` zero bytes, deflated (about 1000:1) into a zip at `relative`.
fn write_zip_bomb(ws: &Workspace, relative: &str, size: u64) {
    let path = ws.path(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("bomb"));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("zeros.bin", options).expect("entry");
    let block = vec![0u8; 1 << 20];
    for _ in 0..size / block.len() as u64 {
        zip.write_all(&block).expect("zeros");
    }
    zip.finish().expect("zip");
}

#[test]
fn a_zip_bomb_is_refused_naming_the_limit_and_leaves_nothing() {
    let package = "Packages/Bomb.Web.1.0.0.zip";
    let mut step = deploy_sample_step();
    step["package"] = json!(package);
    step.as_object_mut().expect("step").remove("variables-file");
    step["structured"] = json!([]);
    let fx = Fixture::with_drop(&plan_with_steps(json!([step])), |ws| {
        write_zip_bomb(ws, &format!("drop/{package}"), 4 << 30);
        let len = std::fs::metadata(ws.path(&format!("drop/{package}")))
            .unwrap()
            .len();
        assert!(len < 8 << 20, "a 4 MB bomb, not {len} bytes");
    });
    let clock = Instant::now();
    let out = fx.install(&[]);
    assert_eq!(out.code, Some(5), "rolled back: {out:#?}");
    for text in [
        "Bomb.Web.1.0.0.zip",
        "zeros.bin",
        "Octopus.Calamari.ArchiveLimits.MaximumCompressionRatio",
    ] {
        assert!(out.stderr.contains(text), "names {text}: {out:#?}");
    }
    assert!(!fx.target().join("web").exists(), "nothing left: {out:#?}");
    assert!(
        clock.elapsed() < Duration::from_secs(60),
        "refused before unpacking"
    );
}

/// A zip at `relative` with one stored entry whose zip64 sizes declare `size` bytes (its one
/// real byte is never read: the free-space check comes first).
fn write_zip_declaring(ws: &Workspace, relative: &str, size: u64) {
    let name = b"huge.bin";
    let zip64 = |out: &mut Vec<u8>| {
        out.extend(1u16.to_le_bytes()); // the zip64 extended information tag
        out.extend(16u16.to_le_bytes());
        out.extend(size.to_le_bytes()); // uncompressed
        out.extend(size.to_le_bytes()); // compressed: stored
    };
    let mut local = Vec::new();
    local.extend(0x0403_4b50u32.to_le_bytes());
    local.extend([45, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, stored, time, date
    local.extend(0u32.to_le_bytes()); // crc
    local.extend([0xff; 8]); // sizes: see zip64
    local.extend((name.len() as u16).to_le_bytes());
    local.extend(20u16.to_le_bytes());
    local.extend(name);
    zip64(&mut local);
    local.push(b'x');
    let mut central = Vec::new();
    central.extend(0x0201_4b50u32.to_le_bytes());
    central.extend([45, 3, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // made by, needed, flags, method, time, date
    central.extend(0u32.to_le_bytes());
    central.extend([0xff; 8]);
    central.extend((name.len() as u16).to_le_bytes());
    central.extend(20u16.to_le_bytes());
    central.extend([0; 6]); // comment length, disk, internal attributes
    central.extend(((0o100644u32) << 16).to_le_bytes());
    central.extend(0u32.to_le_bytes()); // the local header's offset
    central.extend(name);
    zip64(&mut central);
    let mut end = Vec::new();
    end.extend(0x0605_4b50u32.to_le_bytes());
    end.extend([0, 0, 0, 0, 1, 0, 1, 0]);
    end.extend((central.len() as u32).to_le_bytes());
    end.extend((local.len() as u32).to_le_bytes());
    end.extend(0u16.to_le_bytes());
    ws.write(relative, [local, central, end].concat());
}

#[test]
fn a_package_declaring_more_than_the_disk_holds_is_refused_before_unpacking() {
    let package = "Packages/Huge.Web.1.0.0.zip";
    let mut step = deploy_sample_step();
    step["package"] = json!(package);
    step.as_object_mut().expect("step").remove("variables-file");
    step["structured"] = json!([]);
    let mut plan = plan_with_steps(json!([step]));
    // Past the ratio and size limits too: turned off, the free-space check still holds.
    plan["variables"]["Octopus.Calamari.ArchiveLimits.Enabled"] = json!("False");
    let fx = Fixture::with_drop(&plan, |ws| {
        write_zip_declaring(ws, &format!("drop/{package}"), 1 << 60)
    });
    let out = fx.install(&[]);
    assert_eq!(out.code, Some(5), "rolled back: {out:#?}");
    for text in [
        "Huge.Web.1.0.0.zip",
        "unpacks to 1152921504606846976 bytes",
        "(need 1.0 EiB)",
    ] {
        assert!(out.stderr.contains(text), "names {text}: {out:#?}");
    }
    assert!(!fx.target().join("web").exists(), "nothing left: {out:#?}");
}

/// The sample plan with `E0 = x` and `Ei = #{Ei-1}#{Ei-1}` up to `E40`.
fn doubling_plan() -> Value {
    let mut plan = sample_plan();
    let variables = plan["variables"].as_object_mut().expect("variables");
    variables.insert("E0".into(), json!("x"));
    for i in 1..=40 {
        variables.insert(format!("E{i}"), json!(format!("#{{E{0}}}#{{E{0}}}", i - 1)));
    }
    plan
}

/// How fast a refusal must be: before the limits these plans ran for over ten minutes; a loaded
/// two-core machine running the whole suite in parallel must not make the test fail.
const REFUSED_WITHIN: Duration = Duration::from_secs(180);

/// `dropship plan check` and `dropship build` of `plan` both exit 2 within [`REFUSED_WITHIN`],
/// naming each of `expected`.
fn assert_refused_fast(plan: &[u8], expected: &[&str]) {
    let limit = REFUSED_WITHIN;
    let ws = Workspace::new();
    ws.sample_inputs();
    let plan_file = ws.write("plan.json", plan);
    let check = || run(dropship().args(["plan", "check"]).arg(&plan_file));
    let out = ws.path("installer");
    let build = || run(&mut ws.build_command(&out));
    for (what, command) in [
        ("plan check", &check as &dyn Fn() -> Run),
        ("build", &build),
    ] {
        let clock = Instant::now();
        let result = command();
        let took = clock.elapsed();
        assert_eq!(result.code, Some(2), "{what}: {result:#?}");
        for text in expected {
            assert!(
                result.stderr.contains(text),
                "{what} names {text}: {result:#?}"
            );
        }
        assert!(took < limit, "{what} took {took:?}");
    }
    assert!(!out.exists(), "no installer");
}

#[test]
fn variables_that_double_forty_times_are_refused_fast() {
    let plan = serde_json::to_vec(&doubling_plan()).unwrap();
    assert_refused_fast(&plan, &["variables.E", "evaluation steps"]);
}

#[test]
fn a_variable_cycle_is_refused_with_its_path() {
    let mut plan = sample_plan();
    plan["variables"]["Loop"] = json!("a#{Back}");
    plan["variables"]["Back"] = json!("b#{Loop}");
    let plan = serde_json::to_vec(&plan).unwrap();
    assert_refused_fast(&plan, &["variables.Back", "self referencing loop"]);
}

#[test]
fn plans_with_a_million_or_twenty_thousand_steps_are_refused_fast() {
    let steps = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({ "name": format!("S{i}"), "type": "manual", "instructions": "x" }))
            .collect()
    };
    let million = serde_json::to_vec(&plan_with_steps(steps(1_000_000))).unwrap();
    assert_refused_fast(
        &million,
        &["$: the plan file has more than 16777216 bytes (16 MiB)"],
    );
    let many = serde_json::to_vec(&plan_with_steps(steps(20_000))).unwrap();
    assert_refused_fast(
        &many,
        &["steps: has 20000 entries; a plan may have at most 10000"],
    );
}

#[test]
fn sigterm_stops_a_long_render_and_rolls_back() {
    // Deploy the sample (a journaled change), then a script whose body renders for tens of
    // seconds within the limits: 1,600 hashes of a 4 MiB value.
    let mut plan = plan_with_steps(json!([
        deploy_sample_step(),
        { "name": "Slow render", "type": "run-script", "syntax": "bash",
          "inline": "echo #{each a in L}#{each b in L}#{Big | SHA256}#{/each}#{/each}" }
    ]));
    plan["variables"]["Big"] = json!("y".repeat(4 << 20));
    plan["variables"]["L"] = json!(vec!["1"; 40].join(","));
    let fx = Fixture::new(&plan);
    let mut child = spawn(fx.command("install").args(fx.answers()), &fx.ws, "render");
    let stderr = fx.ws.path("render.stderr");
    let started = Instant::now();
    while !std::fs::read_to_string(&stderr).is_ok_and(|s| s.contains("Slow render (run-script)")) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the install ended early"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never reached the render"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("still rendering 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = signalled.elapsed();
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        took < Duration::from_secs(8),
        "stopped after {took:?}: {err}"
    );
    assert_eq!(status.code(), Some(5), "rolled back: {err}");
    assert!(err.contains("interrupted"), "says why: {err}");
    assert!(
        !fx.target().join("web").exists(),
        "the package is rolled back: {err}"
    );
}
