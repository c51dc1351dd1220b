//! Calamari's own fixtures (`tests/calamari-fixtures/`, commit in its README) through real signed
//! installers: the samples packed into packages, Calamari's variables in the steps' Octopus
//! variables files (nulls included), the installed files compared with Calamari's approved files.
//! The library-level harness (`runtime/tests/calamari_fixtures.rs`) runs every case; these are the
//! ones whose variables can share a step, plus the failures Calamari reports.

use crate::fixture::{Fixture, plan_with_steps, read_report, statuses};
use crate::support::write_package;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/calamari-fixtures");

fn fixture(relative: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(relative))
        .unwrap_or_else(|e| panic!("reading fixture {relative}: {e}"))
}

/// Calamari's readable hex dump (`7B 0D 0A ...   text`) back to bytes.
fn from_hex_dump(dump: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(dump)
        .lines()
        .flat_map(|line| {
            let hex: String = line.chars().take(23).collect();
            hex.split_whitespace()
                .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
                .collect::<Vec<u8>>()
        })
        .collect()
}

fn sample(name: &str) -> Vec<u8> {
    let dir = if name.ends_with(".txt") || name.ends_with(".ini") {
        "Substitutions/Samples"
    } else if name.ends_with(".config") {
        "ConfigurationVariables/Samples"
    } else {
        "StructuredVariables/Samples"
    };
    fixture(&format!("{dir}/{name}"))
}

fn deploy(name: &str, package: &str, variables: &str, extra: Value) -> Value {
    let mut step = json!({
        "name": name, "type": "deploy-package",
        "package": format!("Packages/{package}.1.0.0.nupkg"),
        "variables-file": format!("Variables/{variables}"),
        "destination": format!("#{{Install.Root}}/{package}"),
    });
    if let (Some(step), Some(extra)) = (step.as_object_mut(), extra.as_object()) {
        step.extend(extra.clone());
    }
    step
}

/// Structured variables (JSON, YAML, XML, properties, with nulls and code pages) and substitution
/// with an output encoding, in one installer.
fn structured_fixture() -> Fixture {
    let plan = plan_with_steps(json!([
        deploy(
            "Structured",
            "Calamari.Structured",
            "structured.json",
            json!({ "structured": ["*.json", "*.yaml", "*.xml", "*.properties"] })
        ),
        deploy(
            "Substituted",
            "Calamari.Substituted",
            "substituted.json",
            json!({ "substitute": ["*.ini"] })
        ),
        deploy(
            "Ansi",
            "Calamari.Ansi",
            "ansi.json",
            json!({ "substitute": ["*.txt"] })
        ),
    ]));
    Fixture::with_drop(&plan, |ws| {
        let structured = [
            "enc-windows1252-dos-nobom.json",
            "enc-windows1252-dos-nobom.yaml",
            "enc-windows1252-dos-nobom.xml",
            "types.yaml",
            "application.yaml",
            "complex.xml",
            "example.properties",
        ];
        let entries: Vec<(&str, Vec<u8>)> = structured.iter().map(|n| (*n, sample(n))).collect();
        write_package(
            ws,
            "drop/Packages/Calamari.Structured.1.0.0.nupkg",
            "Calamari.Structured",
            &entries,
        );
        ws.write(
            "drop/Variables/structured.json",
            json!({
                "dagger": "\u{FFE6}", "/doc/dagger": "\u{FFE6}",
                "bool1": "null", "int1": "~", "float1": "null", "str1": null,
                "obj1": "~", "seq1": "null", "seq2:0": "~",
                "server:ports": "none",
                "//*:node": "value-new",
                "/document/processing-instruction('xml-stylesheet')": "value-new",
                "key3": "new-value",
                "MyMessage": null,
                "Octopus.Action.AdditionalPaths": "#{Install.Root}/extra"
            })
            .to_string(),
        );
        write_package(
            ws,
            "drop/Packages/Calamari.Substituted.1.0.0.nupkg",
            "Calamari.Substituted",
            &[("UTF16LE.ini", sample("UTF16LE.ini"))],
        );
        ws.write(
            "drop/Variables/substituted.json",
            json!({ "LocalCacheFolderName": "SpongeBob",
                    "Octopus.Action.SubstituteInFiles.OutputEncoding": "utf-8" })
            .to_string(),
        );
        write_package(
            ws,
            "drop/Packages/Calamari.Ansi.1.0.0.nupkg",
            "Calamari.Ansi",
            &[("ANSI.txt", sample("ANSI.txt"))],
        );
        ws.write(
            "drop/Variables/ansi.json",
            json!({ "LocalCacheFolderName": "SpongeBob" }).to_string(),
        );
    })
}

fn installed(fx: &Fixture, package: &str, file: &str) -> Vec<u8> {
    let path: PathBuf = fx.target().join(package).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn approved(class: &str, test: &str, ext: &str) -> Vec<u8> {
    fixture(&format!(
        "StructuredVariables/Approved/{class}.{test}.approved.{ext}"
    ))
}

/// YAML read back as yaml-rust2 reads it: the same data as Calamari's approved file.
fn yaml(bytes: &[u8]) -> Vec<yaml_rust2::Yaml> {
    let text = String::from_utf8_lossy(bytes)
        .trim_start_matches('\u{FEFF}')
        .replace("\r\n", "\n");
    yaml_rust2::YamlLoader::load_from_str(&text).expect("the installed YAML parses")
}

#[test]
fn calamari_structured_and_substitution_fixtures_through_an_installer() {
    let fx = structured_fixture();
    // A file outside the package, in `Octopus.Action.AdditionalPaths`.
    let extra = fx.target().join("extra");
    std::fs::create_dir_all(&extra).expect("mkdir");
    std::fs::write(
        extra.join("appsettings.single.json"),
        sample("appsettings.single.json"),
    )
    .expect("write");
    fx.install(&[]).success();
    let single = std::fs::read_to_string(extra.join("appsettings.single.json")).expect("read");
    let single: Value = serde_json::from_str(single.trim_start_matches('\u{FEFF}')).expect("JSON");
    let approved_null = approved(
        "JsonFormatVariableReplacerFixture",
        "ShouldReplaceWithNull",
        "json",
    );
    assert_eq!(
        single,
        serde_json::from_slice::<Value>(&approved_null).expect("approved")
    );
    let s = "Calamari.Structured";
    let upgrade = "ShouldUpgradeEncodingIfNecessaryToAccomodateVariables";
    for (class, file) in [
        (
            "YamlVariableReplacerFixture",
            "enc-windows1252-dos-nobom.yaml",
        ),
        (
            "XmlVariableReplacerFixture",
            "enc-windows1252-dos-nobom.xml",
        ),
    ] {
        assert_eq!(
            installed(&fx, s, file),
            from_hex_dump(&approved(class, upgrade, "txt")),
            "{file}"
        );
    }
    let json: Value =
        serde_json::from_slice(&installed(&fx, s, "enc-windows1252-dos-nobom.json")).expect("JSON");
    let expected = from_hex_dump(&approved(
        "JsonFormatVariableReplacerFixture",
        upgrade,
        "txt",
    ));
    assert_eq!(
        json,
        serde_json::from_slice::<Value>(&expected).expect("approved JSON")
    );
    for (file, test) in [
        ("types.yaml", "ShouldReplaceWithNull"),
        ("application.yaml", "CanReplaceSequenceWithString"),
    ] {
        let expected = approved("YamlVariableReplacerFixture", test, "yaml");
        assert_eq!(yaml(&installed(&fx, s, file)), yaml(&expected), "{file}");
    }
    let xml = String::from_utf8(installed(&fx, s, "complex.xml")).expect("UTF-8");
    assert!(
        xml.contains("<node xmlns=\"http://octopus.com/node\">value-new</node>"),
        "{xml}"
    );
    assert!(xml.contains("<?xml-stylesheet value-new?>"), "{xml}");
    let properties = approved(
        "PropertiesVariableReplacerFixture",
        "CanReplaceAKeyThatContainsAPhysicalNewLine",
        "properties",
    );
    assert_eq!(installed(&fx, s, "example.properties"), properties);

    let ini = installed(&fx, "Calamari.Substituted", "UTF16LE.ini");
    assert!(
        ini.starts_with(b"\xEF\xBB\xBF"),
        "OutputEncoding utf-8 writes UTF-8 with a BOM"
    );
    let ini = String::from_utf8(ini[3..].to_vec()).expect("UTF-8");
    assert!(
        ini.contains("SpongeBob") && ini.contains("banknames.ora") && ini.contains("\r\n"),
        "{ini}"
    );
    let ansi = installed(&fx, "Calamari.Ansi", "ANSI.txt");
    let original = sample("ANSI.txt");
    let token = b"#{LocalCacheFolderName}";
    let at = original
        .windows(token.len())
        .position(|w| w == token)
        .expect("token");
    assert_eq!(
        ansi,
        [&original[..at], b"SpongeBob", &original[at + token.len()..]].concat()
    );
}

#[test]
fn calamari_fails_a_bad_config_and_stderr_with_fail_on_error_output() {
    let plan = plan_with_steps(json!([deploy(
        "Bad config",
        "Calamari.Bad",
        "bad.json",
        json!({ "config-variables": true })
    ),]));
    let fx = Fixture::with_drop(&plan, |ws| {
        write_package(
            ws,
            "drop/Packages/Calamari.Bad.1.0.0.nupkg",
            "Calamari.Bad",
            &[("Bad.config", sample("Bad.config"))],
        );
        ws.write("drop/Variables/bad.json", "{}");
    });
    let run = fx.install(&[]);
    assert_ne!(run.code, Some(0), "a bad .config fails: {run:#?}");
    let report = read_report(&fx.state());
    assert_eq!(statuses(&report)[0].1, "failed", "{report:#}");
    assert!(
        report.to_string().contains("&nbsp;"),
        "the error names the entity: {report:#}"
    );

    let plan = plan_with_steps(json!([
        { "name": "Noisy", "type": "run-script", "syntax": "bash",
          "inline": "echo 'something went wrong' >&2; exit 0" },
    ]));
    let mut plan = plan;
    plan["variables"]["Octopus.Action.FailScriptOnErrorOutput"] = json!("True");
    let fx = Fixture::new(&plan);
    let run = fx.install(&[]);
    assert_ne!(run.code, Some(0), "stderr fails the script: {run:#?}");
    let report = read_report(&fx.state());
    assert!(
        report.to_string().contains("FailScriptOnErrorOutput"),
        "{report:#}"
    );
}

fn transform_sample(name: &str) -> Vec<u8> {
    fixture(&format!("ConfigurationTransforms/Samples/{name}"))
}

#[test]
fn calamari_configuration_transforms_through_an_installer() {
    let plan = plan_with_steps(json!([deploy(
        "Transformed",
        "Calamari.Transformed",
        "transformed.json",
        json!({ "config-transforms": true, "config-variables": true,
                       "additional-transforms": ["Web.Extra.config => Other.config"] })
    ),]));
    let fx = Fixture::with_drop(&plan, |ws| {
        let files = [
            "Web.config",
            "Web.Release.config",
            "nlog.config",
            "nlog.Release.config",
        ];
        let mut entries: Vec<(&str, Vec<u8>)> =
            files.iter().map(|n| (*n, transform_sample(n))).collect();
        entries.push(("Other.config", transform_sample("Web.config")));
        entries.push(("Web.Extra.config", transform_sample("Web.Release.config")));
        write_package(
            ws,
            "drop/Packages/Calamari.Transformed.1.0.0.nupkg",
            "Calamari.Transformed",
            &entries,
        );
        ws.write(
            "drop/Variables/transformed.json",
            json!({ "LogFile": "C:\\Log.txt",
                    "Octopus.Action.AdditionalPaths": "#{Install.Root}/extra" })
            .to_string(),
        );
    });
    // A site outside the package, in `Octopus.Action.AdditionalPaths`: transformed too.
    let extra = fx.target().join("extra");
    std::fs::create_dir_all(&extra).expect("mkdir");
    std::fs::write(extra.join("Site.config"), transform_sample("Web.config")).expect("write");
    let release = transform_sample("Web.Release.config");
    std::fs::write(extra.join("Site.Release.config"), &release).expect("write");
    // The dry run shows the transform (and the variables after it) as a diff of the package's
    // own file.
    let dry = crate::support::run(fx.command("plan").args(fx.answers())).success();
    assert!(
        dry.stdout.contains("configures `Web.config`:")
            && dry
                .stdout
                .contains(r#"+    <add key="WelcomeMessage" value="Release!" />"#),
        "{dry:#?}"
    );
    fx.install(&[]).success();
    let site = std::fs::read_to_string(extra.join("Site.config")).expect("read");
    assert!(
        site.contains(r#"<add key="WelcomeMessage" value="Release!" />"#)
            && !site.contains("debug="),
        "{site}"
    );
    let p = "Calamari.Transformed";
    for file in ["Web.config", "Other.config"] {
        let web = String::from_utf8(installed(&fx, p, file)).expect("UTF-8");
        assert!(!web.contains("debug="), "{file}: {web}");
        assert!(
            web.contains(r#"<add key="WelcomeMessage" value="Release!" />"#),
            "{file}: {web}"
        );
        assert!(
            web.contains(r#"<add key="LogFile" value="C:\Log.txt" />"#),
            "transform then variables: {web}"
        );
    }
    let nlog = String::from_utf8(installed(&fx, p, "nlog.config")).expect("UTF-8");
    assert!(
        nlog.contains(r#"fileName="log.txt" archiveFileName="log.txt""#),
        "{nlog}"
    );
    assert!(nlog.contains(r#"minlevel="Info""#), "{nlog}");
    assert_eq!(
        installed(&fx, p, "Web.Release.config"),
        transform_sample("Web.Release.config")
    );

    let plan = plan_with_steps(json!([deploy(
        "Warned",
        "Calamari.Warned",
        "warned.json",
        json!({ "additional-transforms": ["Web.Warning.config => Web.config"] })
    ),]));
    let fx = Fixture::with_drop(&plan, |ws| {
        let entries: Vec<(&str, Vec<u8>)> = ["Web.config", "Web.Warning.config"]
            .iter()
            .map(|n| (*n, transform_sample(n)))
            .collect();
        write_package(
            ws,
            "drop/Packages/Calamari.Warned.1.0.0.nupkg",
            "Calamari.Warned",
            &entries,
        );
        ws.write("drop/Variables/warned.json", "{}");
    });
    let run = fx.install(&[]);
    assert_ne!(
        run.code,
        Some(0),
        "a transform warning fails by default: {run:#?}"
    );
    let report = read_report(&fx.state());
    assert!(
        report
            .to_string()
            .contains("TreatConfigTransformationWarningsAsErrors"),
        "{report:#}"
    );
}

#[test]
fn a_script_from_a_package_with_parameters_and_a_referenced_package() {
    let script = "#!/bin/bash\nset -eu\nfixtures=$(get_octopusvariable \"Octopus.Action.Package[fixtures].ExtractedPath\")\nversion=$(get_octopusvariable \"Octopus.Action.Package[fixtures].PackageVersion\")\nprintf '%s|%s|%s|%s\\n' \"$1\" \"$2\" \"$(cat \"$fixtures/data/users.csv\")\" \"$version\" > \"$OUT\"\n";
    let mut plan = plan_with_steps(json!([
        { "name": "Smoke tests", "type": "run-script",
          "script-package": "Packages/Acme.SmokeTests.1.0.0.nupkg",
          "file": "scripts/smoke.sh",
          "parameters": "--base-url #{BaseUrl}",
          "packages": [ { "name": "fixtures", "package": "Packages/Acme.TestFixtures.2.0.0.nupkg" } ] },
    ]));
    plan["variables"]["BaseUrl"] = json!("https://web.internal");
    let fx = Fixture::with_drop(&plan, |ws| {
        write_package(
            ws,
            "drop/Packages/Acme.SmokeTests.1.0.0.nupkg",
            "Acme.SmokeTests",
            &[("scripts/smoke.sh", script.as_bytes().to_vec())],
        );
        write_package(
            ws,
            "drop/Packages/Acme.TestFixtures.2.0.0.nupkg",
            "Acme.TestFixtures",
            &[("data/users.csv", b"ada,grace".to_vec())],
        );
    });
    let out = fx.ws.path("probe/smoke.txt");
    let mut command = fx.command("install");
    command.args(fx.answers()).env("OUT", &out);
    crate::support::run(&mut command).success();
    let written = std::fs::read_to_string(&out).expect("the script ran");
    assert_eq!(written, "--base-url|https://web.internal|ada,grace|2.0.0\n");
}

#[test]
fn a_bash_script_module_is_sourced_as_calamari_writes_it() {
    let mut plan = plan_with_steps(json!([
        { "name": "Greet", "type": "run-script", "syntax": "bash",
          "inline": "source AcmeHelpers.sh\ngreet \"$1\" > \"$OUT\"",
          "parameters": "#{Who}" },
    ]));
    plan["variables"]["Who"] = json!("world");
    plan["variables"]["Octopus.Script.Module[Acme Helpers]"] =
        json!("greet() {\n  echo \"hello $1\"\n}\n");
    plan["variables"]["Octopus.Script.Module.Language[Acme Helpers]"] = json!("Bash");
    let fx = Fixture::new(&plan);
    let out = fx.ws.path("probe/greeting.txt");
    let mut command = fx.command("install");
    command.args(fx.answers()).env("OUT", &out);
    crate::support::run(&mut command).success();
    assert_eq!(std::fs::read_to_string(&out).expect("ran"), "hello world\n");
}

#[test]
fn a_python_script_module_is_imported_as_calamari_writes_it() {
    let mut plan = plan_with_steps(json!([
        { "name": "Greet", "type": "run-script", "syntax": "python",
          "inline": "import os, sys\nimport AcmeHelpers\nopen(os.environ['OUT'], 'w').write(AcmeHelpers.greet(sys.argv[1]))",
          "parameters": "#{Who}" },
    ]));
    plan["variables"]["Who"] = json!("world");
    plan["variables"]["Octopus.Script.Module[Acme Helpers]"] =
        json!("def greet(who):\r\n    return 'hello ' + who + '\\n'\r\n");
    plan["variables"]["Octopus.Script.Module.Language[Acme Helpers]"] = json!("Python");
    // A PowerShell module (no language) is not written for a Python script.
    plan["variables"]["Octopus.Script.Module[Other]"] = json!("function Get-X { 1 }");
    let fx = Fixture::new(&plan);
    let out = fx.ws.path("probe/greeting.txt");
    let mut command = fx.command("install");
    command.args(fx.answers()).env("OUT", &out);
    crate::support::run(&mut command).success();
    assert_eq!(std::fs::read_to_string(&out).expect("ran"), "hello world\n");
}
