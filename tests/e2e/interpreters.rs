//! Scripts whose interpreter this machine lacks: the step fails, naming what to install, and the
//! install rolls back — a package's `Deploy.ps1` is never skipped because `pwsh` is missing.

use crate::fixture::*;
use crate::support::run;
use serde_json::json;
use std::path::Path;

/// A drop whose package ships only a `Deploy.ps1`, and a plan that deploys it.
fn powershell_package() -> Fixture {
    let plan = plan_with_steps(json!([
        { "name": "Deploy Site", "type": "deploy-package",
          "package": "Packages/Fabrikam.Site.2.0.0.nupkg",
          "destination": "#{Install.Root}/web" },
    ]));
    Fixture::with_drop(&plan, |ws| {
        write_nupkg(
            ws,
            "drop/Packages/Fabrikam.Site.2.0.0.nupkg",
            &[
                (
                    "Fabrikam.Site.nuspec",
                    "<?xml version=\"1.0\"?><package><metadata><id>Fabrikam.Site</id><version>2.0.0</version><authors>Fabrikam</authors><description>site</description></metadata></package>",
                ),
                ("Deploy.ps1", "Write-Host 'deployed'\n"),
                ("bin/site.dll", "MZ new binary\n"),
            ],
        );
    })
}

/// A `PATH` with bash and sh only (no `pwsh`, whatever this machine has).
fn path_without_pwsh(fx: &Fixture) -> std::path::PathBuf {
    let bin = fx.ws.path("bin-no-pwsh");
    std::fs::create_dir_all(&bin).expect("mkdir");
    for tool in ["bash", "sh"] {
        std::os::unix::fs::symlink(Path::new("/bin").join(tool), bin.join(tool)).expect("symlink");
    }
    bin
}

#[test]
fn a_packaged_powershell_script_without_pwsh_fails_the_step_with_what_to_install() {
    let fx = powershell_package();
    let path = path_without_pwsh(&fx);
    let out = run(fx.command("install").args(fx.answers()).env("PATH", &path)).code(5);
    assert!(
        out.stderr.contains("needs pwsh, which is not installed")
            && out.stderr.contains("install PowerShell 7"),
        "{out:#?}"
    );
    let report = read_report(&fx.state());
    assert_eq!(statuses(&report), pairs(&[("Deploy Site", "failed")]));
    assert!(
        !fx.target().join("web/bin/site.dll").exists(),
        "the package was rolled back"
    );
}

#[test]
fn a_cmd_script_on_linux_fails_the_step_saying_it_needs_windows() {
    let plan = plan_with_steps(json!([
        { "name": "Batch", "type": "run-script", "syntax": "cmd", "inline": "echo hi" },
    ]));
    let fx = Fixture::new(&plan);
    let out = fx.install(&[]).code(5);
    assert!(
        out.stderr.contains("needs cmd.exe") && out.stderr.contains("only on Windows"),
        "{out:#?}"
    );
}
