//! The installer on a shared server: hostile packages, directories other users can write, a
//! state directory they could forge, secrets left in backups, temporaries and children, scripts
//! outliving the installer. Each test is a reproduction of an attack that worked before.

use crate::fixture::*;
use crate::support::{Workspace, run, wait_for_file};
use serde_json::{Value, json};
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A file outside every install, that a hostile package tries to reach.
struct Victim(PathBuf);

impl Victim {
    /// At `/tmp/NAME`: a link resolving past the root lands on it.
    fn new(name: &str) -> Self {
        let path = Path::new("/tmp").join(format!("{name}-{}.conf", std::process::id()));
        std::fs::write(&path, "untouched\n").expect("victim");
        Victim(path)
    }

    fn assert_untouched(&self) {
        let text = std::fs::read_to_string(&self.0).expect("victim still there");
        assert_eq!(text, "untouched\n", "{} was rewritten", self.0.display());
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Links that each pass a lexical check: `up` names the package root, and `config/app.conf`
/// goes through it and then as far up as the root's depth, which on disk is `/`.
fn chained_links(victim: &Victim) -> [(String, String); 2] {
    let name = victim.0.strip_prefix("/").expect("absolute").display();
    [
        (
            "a/b/c/d/e/f/g/h/up".to_string(),
            "../../../../../../../..".to_string(),
        ),
        (
            "config/app.conf".to_string(),
            format!("../a/b/c/d/e/f/g/h/up/../../../../../../../../../{name}"),
        ),
    ]
}

/// A plan deploying `package` with the sample's substitution into `config/*.conf`.
fn deploying(package: &str) -> Value {
    let mut step = deploy_sample_step();
    step["package"] = json!(package);
    step.as_object_mut().expect("step").remove("variables-file");
    step["structured"] = json!([]);
    plan_with_steps(json!([step]))
}

fn write_tar(ws: &Workspace, relative: &str, links: &[(String, String)]) {
    let file = std::fs::File::create(ws.path(relative)).expect("package");
    let mut tar = tar::Builder::new(file);
    for (name, target) in links {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_mode(0o777);
        tar.append_link(&mut header, name, target).expect("link");
    }
    tar.finish().expect("tar");
}

fn write_zip(ws: &Workspace, relative: &str, links: &[(String, String)]) {
    let file = std::fs::File::create(ws.path(relative)).expect("package");
    let mut zip = zip::ZipWriter::new(file);
    for (name, target) in links {
        let options = zip::write::SimpleFileOptions::default();
        zip.add_symlink(name, target, options).expect("link");
    }
    zip.finish().expect("zip");
}

fn assert_refused_link_package(package: &str, write: fn(&Workspace, &str, &[(String, String)])) {
    let victim = Victim::new(&format!("dropship-victim-{}", package.replace('.', "-")));
    let links = chained_links(&victim);
    let fx = Fixture::with_drop(&deploying(&format!("Packages/{package}")), |ws| {
        write(ws, &format!("drop/Packages/{package}"), &links);
    });
    let out = fx.install(&[]);
    assert_eq!(out.code, Some(5), "{out:#?}");
    assert!(out.stderr.contains("outside"), "says why: {out:#?}");
    victim.assert_untouched();
    assert!(!fx.target().join("web").exists(), "rolled back: {out:#?}");
}

#[test]
fn a_package_link_chain_cannot_redirect_substitution_outside_tar() {
    assert_refused_link_package("Evil.Web.1.0.0.tar", write_tar);
}

#[test]
fn a_package_link_chain_cannot_redirect_substitution_outside_zip() {
    assert_refused_link_package("Evil.Web.1.0.0.zip", write_zip);
}

#[test]
fn a_state_directory_others_can_write_is_refused_before_any_change() {
    let fx = Fixture::sample();
    std::fs::create_dir(fx.state()).unwrap();
    std::fs::set_permissions(fx.state(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = fx.install(&[]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains(&fx.state().display().to_string()) && out.stderr.contains("trusted"),
        "names the directory: {out:#?}"
    );
    assert!(!fx.target().exists(), "nothing installed");
    assert!(!fx.state().join("journal.jsonl").exists());
}

#[test]
fn a_state_directory_owned_by_another_user_is_refused() {
    let fx = Fixture::sample();
    std::fs::create_dir(fx.state()).unwrap();
    std::os::unix::fs::chown(fx.state(), Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(fx.state(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = fx.install(&[]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains("user 65534"),
        "names the owner: {out:#?}"
    );
    assert!(!fx.target().exists(), "nothing installed");
}

/// The answers of the sample with another password file.
fn answers_with_secret(fx: &Fixture, secret_file: &Path) -> Vec<OsString> {
    let mut answers = fx.answers();
    let mut secret = OsString::from("Database.Password=@");
    secret.push(secret_file);
    answers[3] = secret;
    answers
}

#[test]
fn a_rotated_password_leaves_no_old_secret_in_the_installed_tree() {
    let fx = Fixture::sample();
    run(fx.command("install").args(fx.answers())).success();
    let rotated = fx.ws.write("secrets/rotated", "R0tated-Passw0rd-2");
    run(fx
        .command("install")
        .args(answers_with_secret(&fx, &rotated))
        .arg("--reinstall"))
    .success();
    assert_no_secret_in_dir(&fx.target(), &[], &[SECRET]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&fx.state()), 0o700);
    assert_eq!(mode(&fx.state().join("backups")), 0o700);
    let hidden: Vec<_> = crate::support::tree(&fx.target())
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().contains(".dropship-"))
        .collect();
    assert!(hidden.is_empty(), "backups in the tree: {hidden:?}");
}

/// New content written beside its file under the target, not yet renamed over it.
fn half_written(target: &Path) -> Vec<PathBuf> {
    if !target.exists() {
        return Vec::new();
    }
    crate::support::tree(target)
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| path.to_string_lossy().ends_with(".dropship-new"))
        .collect()
}

#[test]
fn a_kill_while_a_secret_is_being_written_leaves_it_nowhere_after_rollback() {
    // Atomic writes go to the state directory too (answers, outputs): kill at each in turn
    // until one is a settings file of the target.
    for nth in 1..10 {
        let fx = Fixture::sample();
        kill_install_at(
            &fx,
            &fx.installer,
            &fx.state(),
            &format!("after-temp:{nth}"),
        );
        if half_written(&fx.target()).is_empty() {
            continue;
        }
        run(&mut fx.command("rollback")).success();
        assert!(half_written(&fx.target()).is_empty());
        assert_no_secret_in_dir(&fx.target(), &[], &[SECRET]);
        assert_no_secret_in_dir(&fx.state(), &[], &[SECRET]);
        return;
    }
    panic!("no kill point found inside a write of the target");
}

#[test]
fn scratch_directories_of_a_killed_installer_are_removed_by_the_next_run() {
    let fx = Fixture::sample();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = fx.ws.path(&format!("tmp/dropship-script-{dead}-abc"));
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("Script.sh"), format!("echo {SECRET}")).unwrap();
    run(fx.command("install").args(fx.answers())).success();
    assert!(!stale.exists(), "the stale directory is gone");
}

#[test]
fn a_secret_from_the_environment_is_not_passed_to_scripts() {
    let plan = plan_with_steps(json!([
        { "name": "Look", "type": "run-script", "syntax": "bash",
          "inline": "if [ -n \"${DBPW+set}\" ]; then echo leaked; exit 9; fi" }
    ]));
    let fx = Fixture::new(&plan);
    let answers = fx
        .ws
        .write("answers.json", r#"{"Database.Password": {"env": "DBPW"}}"#);
    let mut root = OsString::from("Install.Root=");
    root.push(fx.target());
    let out = run(fx
        .command("install")
        .arg("--answers")
        .arg(&answers)
        .arg("--set")
        .arg(root)
        .env("DBPW", SECRET));
    assert_eq!(out.code, Some(0), "{out:#?}");
}

/// SIGKILL the installer once its script touched `$MARKER`; returns `$LATE`, the file the
/// script (or what it started) writes if it outlives the installer.
fn kill_inside_script(fx: &Fixture) -> PathBuf {
    let marker = fx.ws.path("marker");
    let late = fx.ws.path("late");
    let mut child = spawn(
        fx.command("install")
            .args(fx.answers())
            .env("MARKER", &marker)
            .env("LATE", &late),
        &fx.ws,
        "killed-installer",
    );
    wait_for_file(&marker, &mut child, Duration::from_secs(30));
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    late
}

#[test]
fn a_script_dies_with_a_killed_installer() {
    let plan = plan_with_steps(json!([
        { "name": "Slow", "type": "run-script", "syntax": "bash",
          "inline": "touch \"$MARKER\"; sleep 2; echo late > \"$LATE\"" }
    ]));
    let fx = Fixture::new(&plan);
    let late = kill_inside_script(&fx);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !late.exists(),
        "the script went on after the installer died"
    );
}

/// The answers of the sample with the installation root at `root`.
fn answers_at(fx: &Fixture, root: &Path) -> Vec<OsString> {
    let mut answers = fx.answers();
    let mut set = OsString::from("Install.Root=");
    set.push(root);
    answers[1] = set;
    answers
}

#[test]
fn a_destination_under_a_directory_others_can_write_is_refused_before_any_change() {
    let fx = Fixture::sample();
    let shared = fx.ws.path("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run(fx
        .command("install")
        .args(answers_at(&fx, &shared.join("fabrikam"))));
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains(&shared.display().to_string())
            && out.stderr.contains("every local user"),
        "names the directory and who can write it: {out:#?}"
    );
    assert!(std::fs::read_dir(&shared).unwrap().next().is_none());
    assert!(!fx.state().join("journal.jsonl").exists());
}

#[test]
fn a_link_planted_on_the_way_to_the_destination_is_not_followed() {
    let fx = Fixture::sample();
    // A service account owns a directory on the way, and points `fabrikam` at a root-only one.
    let service = fx.ws.path("srv");
    let root_only = fx.ws.path("root-only");
    std::fs::create_dir(&service).unwrap();
    std::fs::create_dir(&root_only).unwrap();
    std::fs::write(root_only.join("keep.conf"), "root's\n").unwrap();
    std::os::unix::fs::symlink(&root_only, service.join("fabrikam")).unwrap();
    std::os::unix::fs::lchown(service.join("fabrikam"), Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::chown(&service, Some(65534), Some(65534)).unwrap();
    let out = run(fx
        .command("install")
        .args(answers_at(&fx, &service.join("fabrikam"))));
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains("user 65534"),
        "names the owner: {out:#?}"
    );
    let left: Vec<_> = std::fs::read_dir(&root_only).unwrap().collect();
    assert_eq!(
        left.len(),
        1,
        "nothing written into the root-only directory"
    );
}

#[test]
fn rollback_leaves_a_directory_swapped_in_after_the_install() {
    let fx = Fixture::sample();
    run(fx.command("install").args(fx.answers())).success();
    // The install created `web/config`; someone puts another directory in its place.
    let config = fx.target().join("web/config");
    let foreign = fx.target().join("web/foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("theirs"), "keep me\n").unwrap();
    std::fs::remove_dir_all(&config).unwrap();
    std::fs::rename(&foreign, &config).unwrap();
    let out = run(&mut fx.command("rollback"));
    assert_eq!(out.code, Some(6), "{out:#?}");
    assert!(out.stderr.contains("no longer the directory"), "{out:#?}");
    assert_eq!(
        std::fs::read_to_string(config.join("theirs")).unwrap(),
        "keep me\n"
    );
}

#[test]
fn what_a_killed_installer_s_script_started_is_stopped_by_the_next_rollback() {
    let plan = plan_with_steps(json!([
        { "name": "Background", "type": "run-script", "syntax": "bash",
          "inline": "(sleep 3; echo late > \"$LATE\") & touch \"$MARKER\"; sleep 60" }
    ]));
    let fx = Fixture::new(&plan);
    let late = kill_inside_script(&fx);
    run(&mut fx.command("rollback")).success();
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !late.exists(),
        "the background process outlived the rollback"
    );
}

#[test]
fn a_file_holding_a_secret_that_all_users_can_read_is_reported() {
    let fx = Fixture::sample();
    let out = run(fx.command("install").args(fx.answers())).success();
    let conf = fx.target().join("web/config/app.conf");
    let mode = std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777;
    assert_ne!(
        mode & 0o004,
        0,
        "the sample ships app.conf readable by all ({mode:o})"
    );
    let report = read_report(&fx.state());
    let warnings = report["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.contains("app.conf") && w.contains("every local user"))),
        "{report:#}"
    );
    assert!(out.stderr.contains("warning:"), "{out:#?}");
    assert_run_has_no_secret(&out, &[SECRET]);
}

#[test]
fn rollback_leaves_alone_a_journaled_change_outside_the_plan_s_destinations() {
    let fx = Fixture::sample();
    run(fx.command("install").args(fx.answers())).success();
    // A journal naming a directory and a file no step writes into, as one forged by whoever
    // could write the state directory (or damaged) would: rollback must not touch them.
    let root_only = fx.ws.path("root-only");
    std::fs::create_dir(&root_only).unwrap();
    std::fs::write(root_only.join("passwd"), "root:x:0:0\n").unwrap();
    let journal = fx.state().join("journal.jsonl");
    let mut text = std::fs::read_to_string(&journal).unwrap();
    let path = |p: &Path| Value::String(p.display().to_string());
    for (id, change) in [
        (
            9001,
            json!({ "kind": "dir-created", "path": path(&root_only) }),
        ),
        (
            9002,
            json!({ "kind": "file-created", "path": path(&root_only.join("passwd")) }),
        ),
    ] {
        let mut record = change;
        record["id"] = json!(id);
        record["record"] = json!("change");
        text.push_str(&record.to_string());
        text.push('\n');
    }
    std::fs::write(&journal, text).unwrap();
    let out = run(&mut fx.command("rollback"));
    assert_eq!(out.code, Some(6), "{out:#?}");
    assert!(
        out.stderr
            .contains("outside every directory the plan's steps write into"),
        "{out:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(root_only.join("passwd")).unwrap(),
        "root:x:0:0\n"
    );
    assert!(
        !fx.target().join("web").exists(),
        "the real install was rolled back"
    );
}

#[test]
fn a_directory_others_can_write_inside_the_destination_is_not_written_into() {
    let fx = Fixture::sample();
    // The destination is the installer's, but a directory in it was left open to every user: one
    // of them could swap `app.conf` for a link between a check and the write.
    let config = fx.target().join("web/config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("app.conf"), "theirs\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run(fx.command("install").args(fx.answers()));
    assert_eq!(out.code, Some(5), "{out:#?}");
    assert!(
        out.stderr.contains(&config.display().to_string())
            && out.stderr.contains("every local user"),
        "names the directory and who can write it: {out:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(config.join("app.conf")).unwrap(),
        "theirs\n"
    );
}
