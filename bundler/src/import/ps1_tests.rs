//! Tests of the OPD script reader: a sample shaped as `docs/octopus-conventions.md` §1.4 describes,
//! every flag and quoting style, path normalisation, and errors with line numbers.

use super::ps1::{CalamariCommand, FlagValue, parse};
use super::{ImportError, OpdScript};
use std::path::Path;

const SAMPLE: &str = include_str!("testdata/opd.ps1");

fn read(text: &str) -> OpdScript {
    parse(
        text,
        Path::new("drop.ps1"),
        Path::new("D:\\Drops\\Production\\Acme\\1.0"),
    )
    .unwrap()
}

fn flags(text: &str) -> Vec<(String, FlagValue)> {
    let script = read(text);
    script.calls[0]
        .flags
        .iter()
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect()
}

fn path(p: &str) -> FlagValue {
    FlagValue::Path(p.to_owned())
}

fn text(t: &str) -> FlagValue {
    FlagValue::Text(t.to_owned())
}

fn error(text: &str) -> (usize, String) {
    match parse(text, Path::new("drop.ps1"), Path::new("/drop")) {
        Err(ImportError::Ps1 { line, message, .. }) => (line, message),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sample_script_gives_calls_in_order() {
    let script = read(SAMPLE);
    assert_eq!(
        script.environment,
        [
            (
                "TentacleApplications".to_owned(),
                "C:\\Applications".to_owned()
            ),
            (
                "TentacleJournal".to_owned(),
                "C:\\Octopus\\DeploymentJournal.xml".to_owned()
            ),
        ]
    );
    let [deploy, run] = script.calls.as_slice() else {
        panic!("{:?}", script.calls)
    };
    assert_eq!(
        (deploy.command, deploy.line),
        (CalamariCommand::DeployPackage, 14)
    );
    assert_eq!(
        deploy.value("package"),
        Some(&path(
            "Packages/OctoFX.TradingWebsite.3.0.298_B47863CDE8E3F24E95873F4B59FE990E.nupkg"
        ))
    );
    assert_eq!(
        deploy.value("sensitiveVariables"),
        Some(&path(
            "Variables/My Offline Drop Target.OctoFX.Trading Website.secret"
        ))
    );
    // `$PasswordArg` expands to the flag it was assigned.
    assert_eq!(
        deploy.value("sensitiveVariablesPassword"),
        Some(&FlagValue::Dynamic("$Password".into()))
    );
    assert_eq!((run.command, run.line), (CalamariCommand::RunScript, 15));
    assert_eq!(
        run.value("script"),
        Some(&path("Scripts/Return to load balancer.ps1"))
    );
    assert_eq!(run.flags.len(), 4, "continued lines belong to the call");
    assert_eq!(script.unsupported.len(), 1);
    assert_eq!(
        (
            script.unsupported[0].line,
            script.unsupported[0].command.as_str()
        ),
        (19, "import-certificate")
    );
}

#[test]
fn every_flag_style_reads_alike() {
    let expected = vec![
        ("package".to_owned(), path("Packages/A.1.0.nupkg")),
        ("variables".to_owned(), path("Variables/a.json")),
    ];
    for args in [
        "-package Packages\\A.1.0.nupkg -variables Variables\\a.json",
        "-package=Packages\\A.1.0.nupkg -variables=Variables\\a.json",
        "--package Packages\\A.1.0.nupkg --variables=\"Variables\\a.json\"",
        "/package:Packages\\A.1.0.nupkg /variables:Variables\\a.json",
        "--Package 'Packages\\A.1.0.nupkg' --VARIABLES \"Variables\\a.json\"",
        "\"-package=Packages\\A.1.0.nupkg\" `\n  -variables `\n  .\\Variables\\a.json",
    ] {
        let script = format!("& \"Calamari\\Calamari.exe\" deploy-package {args}\n");
        assert_eq!(flags(&script), expected, "{args}");
    }
}

#[test]
fn switches_and_text_values() {
    let got = flags(
        "& Calamari\\Calamari.exe run-script --noLogo --scriptParameters \"-Name 'x'\" --script=s.ps1 positional\n",
    );
    assert_eq!(
        got,
        [
            ("noLogo".to_owned(), FlagValue::Switch),
            ("scriptParameters".to_owned(), text("-Name 'x'")),
            ("script".to_owned(), path("s.ps1")),
        ]
    );
    assert_eq!(
        read("& Calamari.exe run-script --script=s.ps1 positional").calls[0].extra,
        ["positional"]
    );
}

#[test]
fn any_whitespace_separates_words() {
    // Found by the `ps1` fuzz target: a vertical tab between words made the lexer read empty
    // words forever.
    let got = flags("& Calamari.exe\x0Brun-script\u{A0}--script\x0Cs.ps1\n");
    assert_eq!(got, [("script".to_owned(), path("s.ps1"))]);
}

#[test]
fn powershell_quoting_rules() {
    let got = flags(
        "& 'Calamari\\Calamari.exe' run-script --scriptParameters 'it''s' --script \"a `\"b`\" ``c.ps1\"\n",
    );
    assert_eq!(got[0], ("scriptParameters".to_owned(), text("it's")));
    assert_eq!(got[1], ("script".to_owned(), path("a \"b\" `c.ps1")));
}

#[test]
fn calamari_through_a_variable_and_dotnet_dll() {
    let script = read(
        "$calamari = \"Calamari\\Calamari.exe\"\n& $calamari deploy-package --package P.zip\ndotnet Calamari/Calamari.dll run-script --script s.sh\n",
    );
    assert_eq!(script.calls.len(), 2);
}

#[test]
fn paths_become_relative_to_the_drop_root() {
    let got = flags(concat!(
        "& Calamari\\Calamari.exe deploy-package ",
        "--package \"d:\\drops\\Production\\Acme\\1.0\\Packages\\A.zip\" ",
        "--variables \"$PSScriptRoot\\Variables\\a.json\" ",
        "--sensitiveVariables \"\\\\server\\share\\a.secret\" ",
        "--outputVariables Variables\\..\\out.bin\n"
    ));
    assert_eq!(got[0].1, path("Packages/A.zip"));
    assert_eq!(got[1].1, path("Variables/a.json"));
    assert_eq!(
        got[2].1,
        path("//server/share/a.secret"),
        "outside the drop stays absolute"
    );
    assert_eq!(got[3].1, path("out.bin"));
}

#[test]
fn mentioning_calamari_is_not_calling_it() {
    let script = read(
        "Write-Host Calamari\nif (Test-Path \"Calamari\\Calamari.exe\") { $Result = & Calamari\\Calamari.exe run-script --script a.ps1 }\n",
    );
    assert_eq!(script.calls.len(), 1);
    assert_eq!(script.calls[0].value("script"), Some(&path("a.ps1")));
}

#[test]
fn comments_and_here_strings_are_not_calls() {
    let script = read(
        "<# & Calamari.exe deploy-package #>\n# & Calamari.exe run-script\n$x = @\"\n& Calamari.exe clean\n\"@\n& Calamari.exe run-script --script a.ps1\n",
    );
    assert_eq!((script.calls.len(), script.unsupported.len()), (1, 0));
    assert_eq!(script.calls[0].line, 6);
}

#[test]
fn errors_name_the_line() {
    assert_eq!(
        error("\n& Calamari.exe deploy-package --package \"P.zip\n"),
        (2, "string `\"` is never closed".into())
    );
    assert_eq!(
        error("\n\n& Calamari.exe deploy-package --variables v.json\n"),
        (3, "`deploy-package` without `--package`".into())
    );
    assert_eq!(
        error("& Calamari.exe deploy-package --package\n"),
        (1, "`--package` needs a value".into())
    );
    assert_eq!(
        error("& Calamari.exe --package p.zip\n"),
        (1, "Calamari is called without a command".into())
    );
    assert_eq!(
        error("& Calamari.exe deploy-package --package ..\\..\\p.zip\n"),
        (1, "path `..\\..\\p.zip` leaves the drop folder".into())
    );
    assert_eq!(
        error("Write-Host hi\n"),
        (
            1,
            "no Calamari call found; is this the drop's generated `.ps1`?".into()
        )
    );
}
