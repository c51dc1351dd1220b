//! The aggregate as one self-contained HTML page: tables, and an inline SVG chart of each step's
//! median and 90th-percentile duration and failure count. No script, no network.

use super::{Aggregate, Tally, seconds};
use dropship_runtime::escape;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Height of one step's row in the chart, and the width of its bar area.
const ROW: usize = 28;
const BAR_WIDTH: f64 = 360.0;
const LABEL_WIDTH: usize = 220;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2330}\
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}\
td,th{border:1px solid #ccd;padding:0.3rem 0.6rem;text-align:left}\
th{background:#eef}pre{background:#f6f6f9;padding:0.6rem;overflow-x:auto}\
.failed{color:#a11}";

/// The page.
pub fn html(aggregate: &Aggregate) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>dropship install reports</h1><p id=\"installs\">{} install(s)</p>",
        aggregate.installs
    );
    outcome_table(&mut body, &aggregate.outcomes);
    tally_table(
        &mut body,
        "By product version",
        "versions",
        &aggregate.versions,
    );
    tally_table(&mut body, "By customer", "customers", &aggregate.customers);
    steps_chart(&mut body, aggregate);
    failure_points(&mut body, aggregate);
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>dropship install reports</title><style>{STYLE}</style></head>\
         <body>{body}</body></html>\n"
    )
}

fn outcome_table(out: &mut String, outcomes: &BTreeMap<String, usize>) {
    out.push_str(
        "<h2>Outcomes</h2><table id=\"outcomes\"><tr><th>outcome</th><th>installs</th></tr>",
    );
    for (outcome, count) in outcomes {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{count}</td></tr>",
            escape::html(outcome)
        );
    }
    out.push_str("</table>");
}

fn tally_table(out: &mut String, title: &str, id: &str, groups: &BTreeMap<String, Tally>) {
    let _ = write!(
        out,
        "<h2>{title}</h2><table id=\"{id}\"><tr><th></th><th>installs</th><th>outcomes</th></tr>"
    );
    for (name, tally) in groups {
        let outcomes: Vec<String> = tally
            .outcomes
            .iter()
            .map(|(outcome, count)| format!("{} {count}", escape::html(outcome)))
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape::html(name),
            tally.installs,
            outcomes.join(", ")
        );
    }
    out.push_str("</table>");
}

/// One row per step: a bar for the median duration, a thinner one to the 90th percentile, and
/// the failure count in red.
fn steps_chart(out: &mut String, aggregate: &Aggregate) {
    let longest = aggregate
        .steps
        .values()
        .filter_map(|s| s.p90_s.or(s.median_s))
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let height = ROW * aggregate.steps.len() + ROW;
    let width = LABEL_WIDTH + BAR_WIDTH as usize + 240;
    let _ = write!(
        out,
        "<h2>Steps</h2><p>Bars: median duration (thick) and 90th percentile (thin); then \
         median / 90th percentile, failures of runs.</p><svg id=\"steps-chart\" xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-label=\"median and 90th percentile duration and failures per step\">"
    );
    for (row, (name, stats)) in aggregate.steps.iter().enumerate() {
        let y = row * ROW + ROW / 2;
        let scale = |s: Option<f64>| s.map_or(0.0, |s| s / longest * BAR_WIDTH);
        let _ = write!(
            out,
            "<g class=\"step\"><text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>\
             <rect x=\"{LABEL_WIDTH}\" y=\"{}\" width=\"{:.1}\" height=\"4\" fill=\"#99b\"/>\
             <rect x=\"{LABEL_WIDTH}\" y=\"{}\" width=\"{:.1}\" height=\"14\" fill=\"#36c\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{} / {}, \
             <tspan class=\"failed\" fill=\"#a11\">{} failed</tspan> of {}</text></g>",
            y + 4,
            escape::html(name),
            y + 1,
            scale(stats.p90_s),
            y - 5,
            scale(stats.median_s),
            LABEL_WIDTH + BAR_WIDTH as usize + 8,
            y + 4,
            seconds(stats.median_s),
            seconds(stats.p90_s),
            stats.failed,
            stats.runs
        );
    }
    out.push_str("</svg>");
}

fn failure_points(out: &mut String, aggregate: &Aggregate) {
    if aggregate.failure_points.is_empty() {
        return;
    }
    out.push_str("<h2>Most common failure points</h2><div id=\"failure-points\">");
    for point in &aggregate.failure_points {
        let message = point.sample_message.as_deref().unwrap_or("-");
        let _ = write!(
            out,
            "<h3>{} <span class=\"failed\">({} failure(s))</span></h3><p>{}</p><pre>{}</pre>",
            escape::html(&point.step),
            point.failures,
            escape::html(message),
            escape::html(&point.sample_output.join("\n"))
        );
    }
    out.push_str("</div>");
}
