//! Octopus import end to end: a realistic Offline Package Drop (real nupkgs, legacy and
//! `{k,v,s}` variables files, `.secret` files encrypted by `openssl`) imported to a plan, built,
//! installed unattended, and the installed files checked; JSON and OCL processes giving the same
//! plan; bad drops refused with a message naming the file.

use crate::support::{Run, Workspace, build_command, dropship, run};
use dropship_runtime::octopus::testdrop::{self, DropOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn import_opd(ws: &Workspace, drop: &Path) -> Run {
    run(dropship()
        .args(["import", "opd"])
        .arg(drop)
        .arg("-o")
        .arg(ws.path("plan.json"))
        .args(["--drop-password-env", "DROP_PW"])
        .env("DROP_PW", testdrop::DROP_PASSWORD))
}

/// The imported plan without the PowerShell step (no `pwsh` on Linux): what an engineer's review
/// would do.
fn without_pwsh_steps(ws: &Workspace) {
    let path = ws.path("plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    plan["steps"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["syntax"] != "pwsh");
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
}

fn build(ws: &Workspace, drop: &Path) {
    let target = ws.path("target");
    // The product's root exists on the customer's machine; the drop's scripts log into it.
    std::fs::create_dir_all(&target).unwrap();
    ws.write(
        "contoso.json",
        serde_json::json!({
            "name": "Contoso",
            "variables": {
                "Fabrikam.InstallRoot": target.to_str().unwrap(),
                "Octopus.Tentacle.Agent.ApplicationDirectoryPath": ws.path("apps").to_str().unwrap()
            },
            "roles": ["worker", "web", "db"]
        })
        .to_string(),
    );
    run(build_command(
        drop,
        &ws.path("plan.json"),
        &ws.secret_key(),
        &ws.path("installer"),
    )
    .arg("--customer")
    .arg(ws.path("contoso.json")))
    .success();
}

fn install(ws: &Workspace, secrets: &str) -> Run {
    let mut child = Command::new(ws.path("installer"))
        .args([
            "install",
            "--unattended",
            "--secrets-stdin",
            "--no-progress",
        ])
        .arg("--state-dir")
        .arg(ws.path("state"))
        .arg("--trusted-key-file")
        .arg(ws.public_key())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(secrets.as_bytes())
        .unwrap();
    Run::from(child.wait_with_output().unwrap())
}

/// The deployment processes of `dropship import process`'s own tests.
const PROCESS_TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/import/testdata");

/// A packages folder `name` in `ws` holding (empty) the packages those processes reference.
fn process_packages(ws: &Workspace, name: &str) -> std::path::PathBuf {
    let packages = ws.path(name);
    std::fs::create_dir_all(&packages).unwrap();
    for package in [
        "Acme.Web.1.2.3.nupkg",
        "Acme.SmokeTests.1.0.0.zip",
        "Acme.TestFixtures.2.0.0.tar.gz",
    ] {
        std::fs::write(packages.join(package), b"").unwrap();
    }
    packages
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

#[test]
fn opd_import_build_install_writes_the_settings_octopus_would() {
    let ws = Workspace::new();
    testdrop::write_drop(&ws.path("drop"), &DropOptions::default()).unwrap();
    let imported = import_opd(&ws, &ws.path("drop")).success();
    for step in [
        "Stop Worker Service",
        "Deploy Fabrikam.Web",
        "Deploy Fabrikam.Worker",
        "Migrate Database",
        "Warm Up Web",
    ] {
        assert!(
            imported.stdout.contains(&format!("`{step}`")),
            "{imported:#?}"
        );
    }
    assert!(
        imported
            .stdout
            .contains("asks        `Drop.SensitiveVariablesPassword` (secret)"),
        "{imported:#?}"
    );
    without_pwsh_steps(&ws);
    build(&ws, &ws.path("drop"));
    let secrets = format!(
        "{{\"Drop.SensitiveVariablesPassword\": \"{}\"}}",
        testdrop::DROP_PASSWORD
    );
    let installed = install(&ws, &secrets);
    assert_eq!(installed.code, Some(0), "{installed:#?}");

    let web = ws.path("target/web");
    let conf = read(web.join("config/app.conf"));
    assert!(
        conf.contains("release 4.12.0") && conf.contains("listen_port = 8443"),
        "{conf}"
    );
    assert!(
        conf.contains("database = db01.fabrikam.local/Fabrikam")
            && conf.contains("log_level = warn"),
        "{conf}"
    );
    let settings: serde_json::Value =
        serde_json::from_str(&read(web.join("appsettings.json"))).unwrap();
    assert_eq!(settings["Logging"]["LogLevel"]["Default"], "Warning");
    assert_eq!(settings["Fabrikam"]["MaxUploadMb"], 50, "types kept");
    assert_eq!(settings["Fabrikam"]["RequireHttps"], true, "types kept");
    let main = settings["ConnectionStrings"]["Main"].as_str().unwrap();
    assert!(
        main.ends_with(&format!("Password={}", testdrop::SENSITIVE[0].1)),
        "decrypted sensitive value used: {main}"
    );
    let config = read(web.join("web.config"));
    assert!(
        config.contains(
            r#"<add key="Fabrikam.ServiceUrl" value="https://fabrikam-web01.internal:8443/" />"#
        ),
        "{config}"
    );
    assert!(config.contains(r#"connectionString="Server=db01.fabrikam.local;Database=Fabrikam;User Id=fabrikam_app""#), "{config}");
    assert!(config.contains("\r\n"), "line endings kept");
    let worker = read(ws.path("target/worker/config/worker.conf"));
    assert!(worker.contains("queue = fabrikam-production"), "{worker}");

    // Packaged scripts ran in Calamari's order, per package.
    let log = read(ws.path("target/deploy-steps.log"));
    let order: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("Fabrikam.Web"))
        .collect();
    assert_eq!(
        order,
        [
            "Fabrikam.Web PreDeploy",
            "Fabrikam.Web Deploy",
            "Fabrikam.Web PostDeploy"
        ],
        "{log}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&read(ws.path("state/report.json"))).unwrap();
    assert_eq!(report["outcome"], "succeeded");
    let state_files = walk(&ws.path("state"));
    for (path, text) in state_files {
        for (_, secret) in testdrop::SENSITIVE {
            assert!(
                !text.contains(secret),
                "sensitive drop value leaked into {}",
                path.display()
            );
        }
        assert!(
            !text.contains(testdrop::DROP_PASSWORD),
            "drop password leaked into {}",
            path.display()
        );
    }
    assert!(
        !installed.stdout.contains(testdrop::DROP_PASSWORD)
            && !installed.stderr.contains(testdrop::DROP_PASSWORD)
    );
}

fn walk(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push((
                path.clone(),
                String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned(),
            ));
        }
    }
    out
}

#[test]
fn opd_zip_artifact_imports_like_the_folder() {
    let ws = Workspace::new();
    let generated = testdrop::write_drop_zip(&ws.path("zip"), &DropOptions::default()).unwrap();
    let zip = std::fs::read_dir(ws.path("zip"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "zip"))
        .unwrap();
    let _ = generated;
    import_opd(&ws, &zip).success();
    let plan = read(ws.path("plan.json"));
    testdrop::write_drop(&ws.path("folder"), &DropOptions::default()).unwrap();
    run(dropship()
        .args(["import", "opd"])
        .arg(ws.path("folder"))
        .arg("-o")
        .arg(ws.path("plan2.json")))
    .success();
    assert_eq!(plan, read(ws.path("plan2.json")));
}

#[test]
fn wrong_drop_password_is_a_clear_error_and_writes_no_plan() {
    let ws = Workspace::new();
    testdrop::write_drop(&ws.path("drop"), &DropOptions::default()).unwrap();
    let result = run(dropship()
        .args(["import", "opd"])
        .arg(ws.path("drop"))
        .arg("-o")
        .arg(ws.path("plan.json"))
        .args(["--drop-password-env", "DROP_PW"])
        .env("DROP_PW", "not the password"))
    .code(2);
    assert!(
        result.stderr.contains("wrong password") && result.stderr.contains(".secret"),
        "{result:#?}"
    );
    assert!(!ws.path("plan.json").exists(), "no half plan");
}

#[test]
fn drop_without_a_script_or_with_a_missing_package_is_refused() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("empty")).unwrap();
    let result = run(dropship()
        .args(["import", "opd"])
        .arg(ws.path("empty"))
        .arg("-o")
        .arg(ws.path("plan.json")))
    .code(2);
    assert!(result.stderr.contains("no generated `.ps1`"), "{result:#?}");
    testdrop::write_drop(&ws.path("drop"), &DropOptions::default()).unwrap();
    let packages: Vec<_> = std::fs::read_dir(ws.path("drop/Packages"))
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    std::fs::remove_file(packages[0].path()).unwrap();
    let result = run(dropship()
        .args(["import", "opd"])
        .arg(ws.path("drop"))
        .arg("-o")
        .arg(ws.path("plan.json")))
    .code(2);
    assert!(
        result.stderr.contains("is not in the drop's Packages/"),
        "{result:#?}"
    );
    assert!(!ws.path("plan.json").exists());
}

#[test]
fn json_and_ocl_of_the_same_process_give_the_same_plan() {
    let ws = Workspace::new();
    let testdata = Path::new(PROCESS_TESTDATA);
    let packages = process_packages(&ws, "packages");
    let mut plans = Vec::new();
    for (source, out) in [
        ("process.json", "from-json.json"),
        ("deployment_process.ocl", "from-ocl.json"),
    ] {
        let result = run(dropship()
            .args(["import", "process"])
            .arg(testdata.join(source))
            .arg("--packages")
            .arg(&packages)
            .args([
                "--product",
                "Fabrikam Platform",
                "--product-version",
                "4.12.0",
            ])
            .arg("-o")
            .arg(ws.path(out)));
        assert_eq!(result.code, Some(0), "{source}: {result:#?}");
        plans.push(read(ws.path(out)));
        assert!(
            !result.stdout.contains("Run smoke tests`:"),
            "mapped: {result:#?}"
        );
    }
    assert_eq!(plans[0], plans[1]);
    // The script inside a package, with its parameters and the package it references.
    let plan: serde_json::Value = serde_json::from_str(&plans[0]).unwrap();
    let smoke = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Run smoke tests")
        .expect("the package-script step is mapped")
        .clone();
    assert_eq!(smoke["type"], "run-script");
    assert_eq!(smoke["script-package"], "Acme.SmokeTests.1.0.0.zip");
    assert_eq!(smoke["file"], "scripts/smoke.sh");
    assert!(
        smoke["parameters"]
            .as_str()
            .unwrap()
            .starts_with("--base-url #{BaseUrl}")
    );
    assert_eq!(smoke["packages"][0]["name"], "fixtures");
    assert_eq!(
        smoke["packages"][0]["package"],
        "Acme.TestFixtures.2.0.0.tar.gz"
    );
}

#[test]
fn unreadable_variables_file_or_malformed_zip_names_the_file() {
    let ws = Workspace::new();
    let generated = testdrop::write_drop(&ws.path("drop"), &DropOptions::default()).unwrap();
    let variables = std::fs::read_dir(ws.path("drop/Variables"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".variables.json"))
        .unwrap();
    let _ = generated;
    std::fs::write(&variables, "{ not json").unwrap();
    let result = run(dropship()
        .args(["import", "opd"])
        .arg(ws.path("drop"))
        .arg("-o")
        .arg(ws.path("plan.json")))
    .code(2);
    let name = variables
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(result.stderr.contains(&name), "{result:#?}");
    assert!(!ws.path("plan.json").exists());

    ws.write("broken.zip", b"PK\x03\x04 this is not really a zip");
    let result = run(dropship()
        .args(["import", "opd"])
        .arg(ws.path("broken.zip"))
        .arg("-o")
        .arg(ws.path("plan.json")))
    .code(2);
    assert!(result.stderr.contains("broken.zip"), "{result:#?}");
    assert!(!ws.path("plan.json").exists());
}

#[test]
fn a_reviewed_plan_is_not_replaced_without_force_and_the_hint_names_the_drop() {
    let ws = Workspace::new();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/sample/drop");
    let first = run(dropship()
        .args(["import", "opd"])
        .arg(&sample)
        .arg("-o")
        .arg(ws.path("plan.json")))
    .success();
    let hint = format!("--drop {}", sample.display());
    assert!(first.stdout.contains(&hint), "names the drop: {first:#?}");
    ws.write("plan.json", "{ \"reviewed\": true }");
    let again = run(dropship()
        .args(["import", "opd"])
        .arg(&sample)
        .arg("-o")
        .arg(ws.path("plan.json")));
    assert_eq!(again.code, Some(2), "{again:#?}");
    assert!(again.stderr.contains("--force"), "says how: {again:#?}");
    assert!(
        again.stderr.contains("plan.json"),
        "names the file: {again:#?}"
    );
    assert_eq!(read(ws.path("plan.json")), "{ \"reviewed\": true }");
    run(dropship()
        .args(["import", "opd", "--force"])
        .arg(&sample)
        .arg("-o")
        .arg(ws.path("plan.json")))
    .success();
    assert!(read(ws.path("plan.json")).contains("dropship/plan@1"));
}

#[test]
fn import_process_does_not_replace_a_plan_either_and_names_the_packages_folder() {
    let ws = Workspace::new();
    let testdata = Path::new(PROCESS_TESTDATA);
    let packages = process_packages(&ws, "my packages");
    let import = |force: bool| {
        let mut command = dropship();
        command
            .args(["import", "process"])
            .arg(testdata.join("process.json"))
            .arg("--packages")
            .arg(&packages)
            .arg("-o")
            .arg(ws.path("plan.json"));
        if force {
            command.arg("--force");
        }
        run(&mut command)
    };
    ws.write("plan.json", "reviewed");
    let refused = import(false).code(2);
    assert!(
        refused.stderr.contains("plan.json") && refused.stderr.contains("--force"),
        "{refused:#?}"
    );
    assert_eq!(read(ws.path("plan.json")), "reviewed");
    let replaced = import(true).success();
    // The hint is a command to paste: the folder as given, quoted for the shell.
    let hint = format!("--drop '{}'", packages.display());
    assert!(replaced.stdout.contains(&hint), "{replaced:#?}");
    assert!(read(ws.path("plan.json")).contains("dropship/plan@1"));
}
