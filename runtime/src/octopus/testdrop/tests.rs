//! Generate drops and read them back with the variables, sensitive-file and package readers.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::octopus::sensitive::{DropPassword, SensitiveFileError, decrypt_file};
use crate::octopus::variables_file::{OctopusVariable, read_variables_file};
use crate::package::{EntryKind, ExtractLimits, PackageName, extract_package};

fn value<'a>(vars: &'a [OctopusVariable], name: &str) -> Option<&'a str> {
    vars.iter()
        .find(|v| v.name == name)
        .and_then(|v| v.value.as_deref())
}

fn files_under(root: &Path) -> BTreeSet<String> {
    let mut out = Vec::new();
    collect_files(root, root, &mut out).unwrap();
    // `/` on every platform, as the drop's manifest writes them.
    out.into_iter().map(|f| f.replace('\\', "/")).collect()
}

#[test]
fn folder_drop_has_the_documented_layout() {
    let dir = tempfile::tempdir().unwrap();
    let drop = write_drop(dir.path(), &DropOptions::default()).unwrap();
    let stem = "Fabrikam Offline Drop.Fabrikam Platform.Deployments-1042";
    assert_eq!(drop.ps1, PathBuf::from(format!("{stem}.ps1")));
    let files = files_under(dir.path());
    for expected in [
        format!("{stem}.cmd"),
        format!("{stem}.ps1"),
        "Calamari/Calamari.exe".into(),
        "Packages/Fabrikam.Web.4.12.0_B47863CDE8E3F24E95873F4B59FE990E.nupkg".into(),
        "Packages/Fabrikam.Worker@S4.12.0@0A1B2C3D4E5F60718293A4B5C6D7E8F9.nupkg".into(),
        "Scripts/Migrate Database.sh".into(),
        "Scripts/Warm Up Web.ps1".into(),
        "Variables/Fabrikam Offline Drop.Fabrikam Platform.Deploy Fabrikam.Web.variables.json"
            .into(),
    ] {
        assert!(files.contains(&expected), "missing {expected} in {files:?}");
    }
    assert_eq!(drop.steps.len(), 5);
    let secrets = files.iter().filter(|f| f.ends_with(".secret")).count();
    assert_eq!(secrets, if drop.secrets_written { 5 } else { 0 });
}

#[test]
fn variables_files_parse_in_their_declared_form() {
    let dir = tempfile::tempdir().unwrap();
    let drop = write_drop(dir.path(), &DropOptions::default()).unwrap();
    for step in &drop.steps {
        let file = read_variables_file(&dir.path().join(&step.variables_file)).unwrap();
        assert_eq!(file.format, step.spec.format, "{}", step.spec.name);
        assert_eq!(
            value(&file.variables, "Octopus.Action.Name"),
            Some(step.spec.name)
        );
        assert_eq!(
            value(&file.variables, "Octopus.Action.TargetRoles"),
            Some(step.spec.roles)
        );
        assert_eq!(value(&file.variables, "Service.Port"), Some("8443"));
        let leaks_secret = file
            .variables
            .iter()
            .any(|v| SENSITIVE.iter().any(|(n, _)| v.name == *n));
        assert_eq!(leaks_secret, !drop.secrets_written, "{}", step.spec.name);
    }
}

#[test]
fn secret_files_decrypt_with_the_drop_password_only() {
    for key_size in [KeySize::Aes256, KeySize::Aes128] {
        let dir = tempfile::tempdir().unwrap();
        let options = DropOptions {
            key_size,
            ..DropOptions::default()
        };
        let drop = write_drop(dir.path(), &options).unwrap();
        if !drop.secrets_written {
            eprintln!("skipping: openssl is not installed");
            return;
        }
        for step in &drop.steps {
            let secret = dir.path().join(step.secret_file.as_ref().unwrap());
            let decrypted = decrypt_file(&secret, &DropPassword::new(DROP_PASSWORD)).unwrap();
            assert_eq!(decrypted.key_size, key_size);
            assert_eq!(decrypted.file.format, step.spec.format);
            for (name, expected) in SENSITIVE {
                assert_eq!(value(&decrypted.file.variables, name), Some(expected));
            }
            assert!(decrypted.file.variables.iter().all(|v| v.sensitive));
            let wrong = decrypt_file(&secret, &DropPassword::new("guess")).unwrap_err();
            assert!(
                matches!(wrong, SensitiveFileError::WrongPassword { .. }),
                "{wrong}"
            );
        }
    }
}

#[test]
fn deploy_steps_carry_realistic_octopus_properties() {
    let dir = tempfile::tempdir().unwrap();
    let drop = write_drop(dir.path(), &DropOptions::default()).unwrap();
    let web = &drop.steps[1];
    let vars = read_variables_file(&dir.path().join(&web.variables_file))
        .unwrap()
        .variables;
    let features = value(&vars, "Octopus.Action.EnabledFeatures").unwrap();
    assert!(features.contains("Octopus.Features.SubstituteInFiles"));
    assert!(features.contains("Octopus.Features.JsonConfigurationVariables"));
    assert_eq!(
        value(&vars, "Octopus.Action.Package.PackageId"),
        Some("Fabrikam.Web")
    );
    assert_eq!(
        value(&vars, "Octopus.Action.Package.CustomInstallationDirectory"),
        Some("#{Fabrikam.InstallRoot}/web")
    );
    assert_eq!(
        value(&vars, "Octopus.Action.SubstituteInFiles.TargetFiles"),
        Some("config/*.conf")
    );
    let migrate = &drop.steps[3];
    let vars = read_variables_file(&dir.path().join(&migrate.variables_file))
        .unwrap()
        .variables;
    assert_eq!(value(&vars, "Octopus.Action.Script.Syntax"), Some("Bash"));
    assert!(
        value(&vars, "Octopus.Action.Script.ScriptBody")
            .unwrap()
            .contains("set_octopusvariable")
    );
}

#[test]
fn packages_extract_to_their_declared_files() {
    let dir = tempfile::tempdir().unwrap();
    let drop = write_drop(&dir.path().join("drop"), &DropOptions::default()).unwrap();
    for step in &drop.steps {
        let StepKind::DeployPackage {
            package_id,
            package_file,
            files,
        } = step.spec.kind
        else {
            continue;
        };
        let name = PackageName::from_file_name(package_file).unwrap();
        assert_eq!(
            (name.id.as_str(), name.version.as_str()),
            (package_id, RELEASE)
        );
        let package = drop.root.join(&step.payload);
        assert_eq!(PackageName::from_nuspec(&package).unwrap(), Some(name));
        let dest = dir.path().join("apps").join(package_id);
        let summary = extract_package(
            &drop.root.join(&step.payload),
            &dest,
            ExtractLimits::default(),
            |_: &Path, _: EntryKind| Ok(()),
        )
        .unwrap();
        assert_eq!(summary.file_count, files.len() as u64);
        let expected: BTreeSet<String> = files.iter().map(|f| f.to_string()).collect();
        assert_eq!(files_under(&dest), expected);
        let conf = if package_id.ends_with("Web") {
            "config/app.conf"
        } else {
            "config/worker.conf"
        };
        assert!(
            fs::read_to_string(dest.join(conf))
                .unwrap()
                .contains("#{Octopus.Release.Number}")
        );
    }
}

#[test]
fn orchestration_script_calls_calamari_once_per_step_with_existing_paths() {
    let dir = tempfile::tempdir().unwrap();
    let drop = write_drop(dir.path(), &DropOptions::default()).unwrap();
    let script = fs::read_to_string(dir.path().join(&drop.ps1)).unwrap();
    assert!(
        script.ends_with("\r\n") && !script.replace("\r\n", "").contains('\n'),
        "CRLF only"
    );
    let calls: Vec<&str> = script
        .lines()
        .filter(|l| l.contains("Calamari\\Calamari.exe"))
        .collect();
    assert_eq!(calls.len(), drop.steps.len());
    for (call, step) in calls.iter().zip(&drop.steps) {
        assert!(
            call.starts_with("If ($Result -eq 0) { & \"Calamari\\Calamari.exe\" "),
            "{call}"
        );
        for quoted in call.split('"').skip(1).step_by(2) {
            let path = dir.path().join(quoted.replace('\\', "/"));
            assert!(path.exists(), "{call} names missing {}", path.display());
        }
        assert!(call.contains(&step.variables_file.display().to_string().replace('/', "\\")));
    }
    let cmd = fs::read_to_string(dir.path().join(&drop.cmd)).unwrap();
    assert!(
        cmd.contains(&format!("%~dp0{}", drop.ps1.display())),
        "{cmd}"
    );
}

#[test]
fn zip_variant_holds_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let folder = write_drop(&dir.path().join("folder"), &DropOptions::default()).unwrap();
    let zipped = write_drop_zip(dir.path(), &DropOptions::default()).unwrap();
    assert!(
        zipped
            .root
            .ends_with("Fabrikam Platform.Production.Fabrikam Offline Drop.4.12.0.zip")
    );
    assert!(!dir.path().join(".testdrop-staging").exists());
    let unpacked = dir.path().join("unpacked");
    extract_package(
        &zipped.root,
        &unpacked,
        ExtractLimits::default(),
        |_: &Path, _: EntryKind| Ok(()),
    )
    .unwrap();
    assert_eq!(files_under(&unpacked), files_under(&folder.root));
    assert_eq!(zipped.steps, folder.steps);
}

#[test]
fn without_a_password_sensitive_values_stay_in_the_plain_files() {
    let dir = tempfile::tempdir().unwrap();
    let options = DropOptions {
        password: None,
        ..DropOptions::default()
    };
    let drop = write_drop(dir.path(), &options).unwrap();
    assert!(!drop.secrets_written);
    let script = fs::read_to_string(dir.path().join(&drop.ps1)).unwrap();
    assert!(!script.contains("sensitiveVariables") && !script.contains("Read-Host"));
    let array_step = &drop.steps[2];
    let vars = read_variables_file(&dir.path().join(&array_step.variables_file))
        .unwrap()
        .variables;
    let password = vars.iter().find(|v| v.name == "Database.Password").unwrap();
    assert!(password.sensitive);
    assert!(
        !vars
            .iter()
            .find(|v| v.name == "Service.Port")
            .unwrap()
            .sensitive
    );
}
