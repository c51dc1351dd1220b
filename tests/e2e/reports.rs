//! The vendor's feedback loop end to end: real installs (one that succeeds, one that fails and
//! rolls back) leave their `report.json`; `dropship reports` reads them back from a folder and
//! counts outcomes, versions, customers, step runs and failure points; its HTML page, and the
//! installer's own HTML report, are checked in a headless browser where Chromium is installed.

use crate::fixture::*;
use crate::support::{dropship, run};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// Two real installs' reports, copied into `returned/` with another JSON file beside them.
fn returned_reports() -> (tempfile::TempDir, std::path::PathBuf) {
    let good = Fixture::sample();
    good.install(&[]).success();
    let mut steps = vec![deploy_sample_step()];
    steps.push(
        json!({ "name": "Migrate", "type": "run-script", "syntax": "bash",
                       "inline": "echo migrating; echo 'table users locked' >&2; exit 4" }),
    );
    let bad = Fixture::new(&plan_with_steps(json!(steps)));
    assert_eq!(bad.install(&[]).code, Some(5));
    let dir = tempfile::tempdir().unwrap();
    let returned = dir.path().join("returned");
    std::fs::create_dir_all(returned.join("northwind")).unwrap();
    std::fs::copy(
        good.state().join("report.json"),
        returned.join("contoso.json"),
    )
    .unwrap();
    std::fs::copy(
        bad.state().join("report.json"),
        returned.join("northwind/report.json"),
    )
    .unwrap();
    std::fs::write(returned.join("notes.json"), r#"{"not": "a report"}"#).unwrap();
    (dir, returned)
}

#[test]
fn reports_aggregate_outcomes_steps_and_failure_points() {
    let (_dir, returned) = returned_reports();
    let out = run(dropship()
        .args(["reports", "--format", "json"])
        .arg(&returned))
    .success();
    let aggregate: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(aggregate["installs"], 2, "{aggregate:#}");
    assert_eq!(aggregate["outcomes"]["succeeded"], 1);
    assert_eq!(aggregate["outcomes"]["failed-rolled-back"], 1);
    assert_eq!(
        aggregate["versions"]["Fabrikam Platform 4.12.0"]["installs"],
        2
    );
    let deploy = &aggregate["steps"]["Deploy Fabrikam.Web"];
    assert_eq!(
        (deploy["runs"].as_u64(), deploy["failed"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(
        deploy["median_s"].as_f64().is_some_and(|s| s > 0.0),
        "{deploy}"
    );
    assert_eq!(aggregate["steps"]["Migrate"]["failed"], 1);
    let point = &aggregate["failure_points"][0];
    assert_eq!(point["step"], "Migrate");
    assert!(
        point["sample_message"]
            .as_str()
            .is_some_and(|m| m.contains("code 4")),
        "{point}"
    );

    let text = run(dropship().arg("reports").arg(&returned)).success();
    assert!(text.stdout.contains("2 install(s)"), "{text:#?}");
    assert!(text.stdout.contains("Migrate (1×)"), "{text:#?}");
}

#[test]
fn a_file_that_is_not_a_report_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, r#"{"schema": "dropship/plan@1"}"#).unwrap();
    let out = run(dropship().arg("reports").arg(&plan));
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains("not a dropship install report"),
        "{out:#?}"
    );
}

#[test]
fn the_reports_page_renders_its_chart_in_a_browser() {
    let (dir, returned) = returned_reports();
    let page = dir.path().join("reports.html");
    run(dropship()
        .args(["reports", "--format", "html", "-o"])
        .arg(&page)
        .arg(&returned))
    .success();
    let Some(dom) = browser_dom(&page) else {
        eprintln!("skipped: no chromium on PATH to render the page (apt-get install chromium)");
        return;
    };
    assert!(dom.contains("<svg id=\"steps-chart\""), "{dom}");
    assert_eq!(dom.matches("<g class=\"step\">").count(), 4, "{dom}");
    assert!(dom.contains("Migrate"), "{dom}");
    assert!(dom.contains("1 failed"), "{dom}");
}

#[test]
fn the_installer_s_html_report_renders_in_a_browser() {
    // A step whose name and output would be markup if they were not escaped, and that fails.
    let mut steps = vec![deploy_sample_step()];
    steps.push(
        json!({ "name": "Migrate <db> & \"users\"", "type": "run-script",
        "syntax": "bash", "inline": "echo '<b id=\"injected\">'; exit 4" }),
    );
    let fx = Fixture::new(&plan_with_steps(json!(steps)));
    assert_eq!(fx.install(&[]).code, Some(5));
    let page = fx.state().join("report.html");
    let Some(dom) = browser_dom(&page) else {
        eprintln!("skipped: no chromium on PATH to render the report (apt-get install chromium)");
        return;
    };
    assert!(
        dom.contains("<title>") && dom.contains("Fabrikam Platform"),
        "{dom}"
    );
    assert!(dom.contains("outcome failed-rolled-back"), "{dom}");
    assert!(dom.contains("Deploy Fabrikam.Web"), "{dom}");
    assert!(dom.contains("Migrate &lt;db&gt; &amp; \"users\""), "{dom}");
    // The failed step's output is shown as text: no element was made of it.
    assert!(
        !dom.contains("<db>") && !dom.contains("<b id=\"injected\""),
        "{dom}"
    );
    assert!(dom.contains("&lt;b id=\"injected\"&gt;"), "{dom}");
    assert!(!dom.contains("{{"), "a placeholder left: {dom}");
    assert_no_secret(
        "the report as the browser builds it",
        dom.as_bytes(),
        &[SECRET],
    );
}

/// The page's DOM as headless Chromium builds it; `None` without Chromium.
pub(crate) fn browser_dom(page: &Path) -> Option<String> {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok())?;
    let profile = tempfile::tempdir().unwrap();
    let out = run(Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display())))
    .success();
    Some(out.stdout)
}
