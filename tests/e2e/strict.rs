//! Strict answers through a real installer: a path with a line break, a NUL in a secret, a
//! key given twice, a relative path and a blank required answer are each refused with exit 2,
//! naming the field and where it came from, before anything is installed or journaled.

use crate::support::{Run, Workspace, run, run_with_stdin};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A plan with one parameter of each kind the rules are about; its step marks the target.
const PLAN: &str = r#"{
  "schema": "dropship/plan@1",
  "product": { "name": "Fabrikam Platform", "version": "4.12.0", "vendor": "Fabrikam Ltd" },
  "parameters": [
    { "name": "Install.Root", "type": "path" },
    { "name": "Site.Name", "type": "text" },
    { "name": "Database.Password", "type": "secret" }
  ],
  "steps": [
    { "name": "Install", "type": "run-script", "syntax": "bash",
      "inline": "root=$(get_octopusvariable Install.Root); mkdir -p \"$root\" && echo installed > \"$root/installed\"" }
  ]
}"#;

/// The secret of every run; never in any output.
const SECRET: &str = "Str1ct-answers-secret";

struct Fixture {
    ws: Workspace,
    installer: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let ws = Workspace::new();
        ws.sample_inputs();
        ws.write("plan.json", PLAN);
        ws.write("secrets/db", format!("{SECRET}\n"));
        let installer = ws.build("installer");
        Fixture { ws, installer }
    }

    fn target(&self) -> PathBuf {
        self.ws.path("target")
    }

    fn state(&self) -> PathBuf {
        self.ws.path("state")
    }

    /// An unattended `install` from the workspace (where a relative path would land), with the
    /// throwaway key trusted and `args` after it.
    fn install(&self, args: &[OsString]) -> Command {
        let mut command = Command::new(&self.installer);
        command
            .args([
                "install",
                "--unattended",
                "--no-progress",
                "--trusted-key-file",
            ])
            .arg(self.ws.public_key())
            .arg("--state-dir")
            .arg(self.state())
            .args(args)
            .current_dir(self.ws.dir.path());
        command
    }

    /// `--set` for the two non-secret parameters.
    fn sets(&self, root: OsString, site: &str) -> Vec<OsString> {
        vec![
            "--set".into(),
            root,
            "--set".into(),
            format!("Site.Name={site}").into(),
        ]
    }

    fn valid_sets(&self) -> Vec<OsString> {
        self.sets(arg("Install.Root=", &self.target()), "Contoso web")
    }

    /// `--secret` with the password from `file`.
    fn secret(&self, file: &Path) -> Vec<OsString> {
        vec!["--secret".into(), arg("Database.Password=@", file)]
    }

    fn valid_secret(&self) -> Vec<OsString> {
        self.secret(&self.ws.path("secrets/db"))
    }

    /// `--answers` with `json` written as is into `name`.
    fn answers_file(&self, name: &str, json: &str) -> Vec<OsString> {
        vec!["--answers".into(), self.ws.write(name, json).into()]
    }

    /// Refused with exit 2, the message naming each of `expected`, no secret shown, nothing
    /// installed and no state directory (so no journal) created.
    #[track_caller]
    fn assert_refused(&self, case: &str, out: Run, expected: &[&str]) {
        assert_eq!(out.code, Some(2), "{case}: exit 2 expected:\n{out:#?}");
        for text in expected {
            assert!(
                out.stderr.contains(text),
                "{case}: expected {text:?}:\n{out:#?}"
            );
        }
        for output in [&out.stdout, &out.stderr] {
            assert!(
                !output.contains("Str1ct"),
                "{case}: a secret was shown:\n{out:#?}"
            );
        }
        assert!(!self.target().exists(), "{case}: the target was created");
        assert!(
            !self.ws.path("relative").exists(),
            "{case}: a relative path was used"
        );
        assert!(
            !self.state().exists(),
            "{case}: the state directory was created"
        );
    }
}

fn arg(prefix: &str, path: &Path) -> OsString {
    let mut arg = OsString::from(prefix);
    arg.push(path);
    arg
}

#[test]
fn bad_answers_are_refused_naming_the_field_before_anything_is_installed() {
    let fx = Fixture::new();
    let target = fx.target().display().to_string();

    let newline = format!(r#"{{"Install.Root": "{target}\nevil", "Site.Name": "x"}}"#);
    let args = [fx.answers_file("newline.json", &newline), fx.valid_secret()].concat();
    let out = run(&mut fx.install(&args));
    let file = format!("answers file `{}`", fx.ws.path("newline.json").display());
    fx.assert_refused(
        "newline in a path",
        out,
        &[&file, "`Install.Root`", "one line"],
    );

    let nul = fx.ws.write("secrets/nul", format!("{SECRET}\0tail"));
    let args = [fx.valid_sets(), fx.secret(&nul)].concat();
    let out = run(&mut fx.install(&args));
    let file = format!("--secret file `{}`", nul.display());
    let named = "secret `Database.Password`: the answer contains a NUL";
    fx.assert_refused("NUL in a secret file", out, &[&file, named]);

    // Written as text: a JSON library would keep only one of the two keys.
    let twice =
        format!(r#"{{"Install.Root": "/opt/a", "Site.Name": "x", "Install.Root": "{target}"}}"#);
    let args = [fx.answers_file("twice.json", &twice), fx.valid_secret()].concat();
    let out = run(&mut fx.install(&args));
    let file = format!("answers file `{}`", fx.ws.path("twice.json").display());
    let named = "`Install.Root` is given more than once";
    fx.assert_refused("a key twice in the answers file", out, &[&file, named]);

    let json = format!(r#"{{"Database.Password": "{SECRET}", "database.password": "{SECRET}2"}}"#);
    let args = [fx.valid_sets(), vec!["--secrets-stdin".into()]].concat();
    let out = run_with_stdin(&mut fx.install(&args), json.as_bytes());
    let named = "--secrets-stdin: `database.password` is given more than once";
    fx.assert_refused("a key twice on --secrets-stdin", out, &[named]);

    let args = [
        fx.sets("Install.Root=relative/dir".into(), "x"),
        fx.valid_secret(),
    ]
    .concat();
    let out = run(&mut fx.install(&args));
    let named = "--set: `Install.Root`: `relative/dir` is not an absolute path";
    fx.assert_refused("a relative path", out, &[named]);

    let root = arg("Install.Root=", &fx.target());
    let args = [fx.sets(root, "   "), fx.valid_secret()].concat();
    let out = run(&mut fx.install(&args));
    let named = "--set: `Site.Name`: an answer is required";
    fx.assert_refused("a blank required text", out, &[named]);

    // The same answers without the fault install: each refusal above was the rule's doing.
    run(&mut fx.install(&[fx.valid_sets(), fx.valid_secret()].concat())).success();
    assert!(fx.target().join("installed").exists());
}
