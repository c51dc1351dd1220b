//! The vendor's feedback loop: what the `report.json` files customers send back say, all
//! together. Installs and their outcomes, per product version and per customer; per step how often
//! it ran and failed and how long it took (median, 90th percentile); and the most common points of
//! failure, with a sample of what the step printed.
//!
//! Reports are read as plain JSON, field by field, so reports of every runtime version (older ones
//! lack fields newer ones have) are counted alike. They hold no secret by construction (the
//! installer scrubs every message and saves answers without secrets), and only their step names,
//! statuses, times, messages and output tails are used here.

mod html;

pub use html::html;

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How many failure points, and how many output lines of each sample, are kept.
const FAILURE_POINTS: usize = 10;
const SAMPLE_LINES: usize = 20;

/// One report as read: only what the aggregate needs.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallRecord {
    pub outcome: String,
    pub product: String,
    pub version: String,
    pub customer: String,
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub name: String,
    pub status: String,
    pub duration_s: Option<f64>,
    pub message: Option<String>,
    pub output_tail: Vec<String>,
}

impl InstallRecord {
    /// Read a report's JSON; `None` when it is not an install report (no `outcome` or `steps`).
    pub fn from_json(value: &Value) -> Option<Self> {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        let steps = value.get("steps")?.as_array()?;
        Some(InstallRecord {
            outcome: text("outcome")?,
            product: text("product").unwrap_or_else(|| "(unnamed)".into()),
            version: text("version").unwrap_or_else(|| "(no version)".into()),
            customer: text("customer").unwrap_or_else(|| "(no customer)".into()),
            steps: steps.iter().filter_map(StepRecord::from_json).collect(),
        })
    }
}

impl StepRecord {
    fn from_json(value: &Value) -> Option<Self> {
        let lines = value.get("output_tail").and_then(Value::as_array);
        Some(StepRecord {
            name: value.get("name")?.as_str()?.to_string(),
            status: value.get("status")?.as_str()?.to_string(),
            duration_s: value.get("duration_s").and_then(Value::as_f64),
            message: value
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string),
            output_tail: lines
                .into_iter()
                .flatten()
                .filter_map(|line| line.as_str().map(str::to_string))
                .collect(),
        })
    }
}

/// Installs and their outcomes in one group (a product version, a customer).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tally {
    pub installs: usize,
    pub outcomes: BTreeMap<String, usize>,
}

impl Tally {
    fn count(&mut self, outcome: &str) {
        self.installs += 1;
        *self.outcomes.entry(outcome.to_string()).or_default() += 1;
    }
}

/// What one step did across the installs that ran it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StepStats {
    pub runs: usize,
    pub failed: usize,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
}

/// A step that failed, how often, and what it printed the last time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailurePoint {
    pub step: String,
    pub failures: usize,
    /// The message of one failure (scrubbed by the installer).
    pub sample_message: Option<String>,
    /// The last lines the step printed in that failure.
    pub sample_output: Vec<String>,
}

/// Everything the reports say together.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Aggregate {
    pub installs: usize,
    pub outcomes: BTreeMap<String, usize>,
    /// Keyed `PRODUCT VERSION`.
    pub versions: BTreeMap<String, Tally>,
    pub customers: BTreeMap<String, Tally>,
    pub steps: BTreeMap<String, StepStats>,
    /// Most failures first.
    pub failure_points: Vec<FailurePoint>,
}

/// Aggregate the reports.
pub fn aggregate(records: &[InstallRecord]) -> Aggregate {
    let mut total = Tally::default();
    let mut versions: BTreeMap<String, Tally> = BTreeMap::new();
    let mut customers: BTreeMap<String, Tally> = BTreeMap::new();
    for record in records {
        total.count(&record.outcome);
        let version = format!("{} {}", record.product, record.version);
        versions.entry(version).or_default().count(&record.outcome);
        let customer = customers.entry(record.customer.clone()).or_default();
        customer.count(&record.outcome);
    }
    Aggregate {
        installs: total.installs,
        outcomes: total.outcomes,
        versions,
        customers,
        steps: step_stats(records),
        failure_points: failure_points(records),
    }
}

/// Steps that ran (succeeded or failed; a skipped step did not run), by name.
fn step_stats(records: &[InstallRecord]) -> BTreeMap<String, StepStats> {
    let mut durations: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut stats: BTreeMap<String, StepStats> = BTreeMap::new();
    let ran = records
        .iter()
        .flat_map(|r| &r.steps)
        .filter(|s| s.status != "skipped");
    for step in ran {
        let entry = stats.entry(step.name.clone()).or_default();
        entry.runs += 1;
        entry.failed += usize::from(step.status == "failed");
        let times = durations.entry(step.name.clone()).or_default();
        times.extend(step.duration_s);
    }
    for (name, entry) in &mut stats {
        let mut times = durations.remove(name).unwrap_or_default();
        times.sort_by(f64::total_cmp);
        entry.median_s = percentile(&times, 50);
        entry.p90_s = percentile(&times, 90);
    }
    stats
}

/// The `p`-th percentile of sorted values, nearest rank.
fn percentile(sorted: &[f64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn failure_points(records: &[InstallRecord]) -> Vec<FailurePoint> {
    let mut points: Vec<FailurePoint> = Vec::new();
    let failed = records
        .iter()
        .flat_map(|r| &r.steps)
        .filter(|s| s.status == "failed");
    for step in failed {
        let sample_output = tail(&step.output_tail);
        match points.iter_mut().find(|p| p.step == step.name) {
            Some(point) => {
                point.failures += 1;
                point.sample_message = step.message.clone();
                point.sample_output = sample_output;
            }
            None => points.push(FailurePoint {
                step: step.name.clone(),
                failures: 1,
                sample_message: step.message.clone(),
                sample_output,
            }),
        }
    }
    points.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.step.cmp(&b.step)));
    points.truncate(FAILURE_POINTS);
    points
}

fn tail(lines: &[String]) -> Vec<String> {
    lines[lines.len().saturating_sub(SAMPLE_LINES)..].to_vec()
}

/// The aggregate as text, for a terminal or a ticket.
pub fn text(aggregate: &Aggregate) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} install(s)", aggregate.installs);
    for (outcome, count) in &aggregate.outcomes {
        let _ = writeln!(out, "  {outcome}: {count}");
    }
    tallies(&mut out, "By product version", &aggregate.versions);
    tallies(&mut out, "By customer", &aggregate.customers);
    let _ = writeln!(out, "\nSteps (runs, failed, median, p90):");
    for (name, stats) in &aggregate.steps {
        let _ = writeln!(
            out,
            "  {name}: {} run(s), {} failed, {}, {}",
            stats.runs,
            stats.failed,
            seconds(stats.median_s),
            seconds(stats.p90_s)
        );
    }
    if !aggregate.failure_points.is_empty() {
        let _ = writeln!(out, "\nMost common failure points:");
    }
    for point in &aggregate.failure_points {
        let message = point.sample_message.as_deref().unwrap_or("-");
        let _ = writeln!(out, "  {} ({}×): {message}", point.step, point.failures);
        for line in &point.sample_output {
            let _ = writeln!(out, "      | {line}");
        }
    }
    out
}

fn tallies(out: &mut String, title: &str, groups: &BTreeMap<String, Tally>) {
    let _ = writeln!(out, "\n{title}:");
    for (name, tally) in groups {
        let outcomes: Vec<String> = tally
            .outcomes
            .iter()
            .map(|(outcome, count)| format!("{outcome} {count}"))
            .collect();
        let _ = writeln!(
            out,
            "  {name}: {} ({})",
            tally.installs,
            outcomes.join(", ")
        );
    }
}

/// A duration for people, `-` when unknown.
fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |s| format!("{s:.1} s"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(outcome: &str, version: &str, customer: &str, steps: Value) -> InstallRecord {
        let value = json!({ "outcome": outcome, "product": "Fabrikam", "version": version,
                            "customer": customer, "steps": steps });
        InstallRecord::from_json(&value).expect("a report")
    }

    fn step(name: &str, status: &str, seconds: f64) -> Value {
        json!({ "name": name, "type": "run-script", "status": status, "duration_s": seconds,
                "attempts": 1, "message": null })
    }

    #[test]
    fn outcomes_versions_customers_and_steps_are_counted() {
        let records = [
            report(
                "succeeded",
                "1.0",
                "Contoso",
                json!([step("Deploy", "succeeded", 2.0)]),
            ),
            report(
                "succeeded",
                "1.1",
                "Contoso",
                json!([step("Deploy", "succeeded", 4.0)]),
            ),
            report(
                "failed-rolled-back",
                "1.1",
                "Northwind",
                json!([
                    step("Deploy", "failed", 10.0),
                    step("Smoke", "skipped", 0.0)
                ]),
            ),
        ];
        let aggregate = aggregate(&records);
        assert_eq!(aggregate.installs, 3);
        assert_eq!(aggregate.outcomes["succeeded"], 2);
        assert_eq!(aggregate.versions["Fabrikam 1.1"].installs, 2);
        assert_eq!(
            aggregate.customers["Northwind"].outcomes["failed-rolled-back"],
            1
        );
        let deploy = &aggregate.steps["Deploy"];
        assert_eq!((deploy.runs, deploy.failed), (3, 1));
        assert_eq!((deploy.median_s, deploy.p90_s), (Some(4.0), Some(10.0)));
        assert!(
            !aggregate.steps.contains_key("Smoke"),
            "a skipped step did not run"
        );
        assert_eq!(aggregate.failure_points[0].step, "Deploy");
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&values, 50), Some(5.0));
        assert_eq!(percentile(&values, 90), Some(9.0));
        assert_eq!(percentile(&[7.0], 90), Some(7.0));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn other_json_is_not_a_report() {
        assert!(InstallRecord::from_json(&json!({ "schema": "dropship/plan@1" })).is_none());
        assert!(InstallRecord::from_json(&json!([1, 2])).is_none());
    }
}
