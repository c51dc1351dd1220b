//! The `http-wait` step: poll a URL with plain HTTP GETs until it answers with the expected
//! status, the time runs out, or the operator cancels.
//!
//! An unusable URL (`https://`, a malformed one) stops at the first attempt, since retrying
//! cannot help. Attempts are made until `timeout` has passed since the start, the last one at
//! the deadline at the latest; each attempt itself waits at most 5 s (less near the deadline).
//! The step's `timeout-s` (default 300) bounds the wait, `interval-s` (default 2) spaces the
//! attempts.

use super::{Preview, PreviewContext, Step, StepContext, StepFailure, http};
use crate::plan::HttpWaitStep;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long the step waits in all when the plan says nothing.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The pause between attempts when the plan says nothing.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// The longest one attempt waits to connect, then for each read or write.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// The shortest, so an attempt at the deadline still has a chance.
const MIN_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(100);
/// How often a pause between attempts looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(50);

impl Step for HttpWaitStep {
    fn run(&self, ctx: &mut StepContext<'_, '_>) -> Result<(), StepFailure> {
        let url = ctx.vars.expand(&self.url);
        let interval = self
            .interval_s
            .map_or(DEFAULT_INTERVAL, Duration::from_secs);
        let timeout = ctx.timeout().unwrap_or(DEFAULT_TIMEOUT);
        let cancel = ctx.cancel;
        let outcome = wait_until_healthy(
            &url,
            self.status,
            interval,
            timeout,
            cancel,
            &mut |n, last| {
                ctx.note(&format!("attempt {n}: {last}"));
            },
        );
        if outcome.ok {
            return Ok(());
        }
        Err(StepFailure::new(format!(
            "`{url}` did not become healthy after {} attempts: {}",
            outcome.attempts, outcome.last
        )))
    }

    fn preview(&self, ctx: &PreviewContext<'_>) -> Preview {
        let url = ctx.vars.expand(&self.url);
        Preview::line(format!("waits until `{url}` answers"))
    }
}

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOutcome {
    /// The URL answered with the expected status.
    pub ok: bool,
    pub attempts: u32,
    /// What the last attempt found, one line: "http://… answered HTTP 503 (waiting for 200)".
    pub last: String,
}

/// What one attempt means for the wait.
enum Verdict {
    Healthy,
    Retry,
    GiveUp,
}

/// Polls `url` every `interval` until it answers `status` (default 200), `timeout` has passed,
/// or `cancel` is set; `on_attempt` hears each attempt's number and result.
pub fn wait_until_healthy(
    url: &str,
    status: Option<u16>,
    interval: Duration,
    timeout: Duration,
    cancel: &AtomicBool,
    on_attempt: &mut dyn FnMut(u32, &str),
) -> WaitOutcome {
    let want = status.unwrap_or(200);
    // No deadline when `timeout` is too large to add (in effect, wait until cancelled).
    let deadline = Instant::now().checked_add(timeout);
    let mut outcome = WaitOutcome {
        ok: false,
        attempts: 0,
        last: format!("{url}: cancelled before the first attempt"),
    };
    while !cancel.load(Ordering::Relaxed) {
        outcome.attempts = outcome.attempts.saturating_add(1);
        let (verdict, last) = attempt(url, want, attempt_timeout(deadline));
        outcome.last = last;
        on_attempt(outcome.attempts, &outcome.last);
        let again = match verdict {
            Verdict::Healthy => {
                outcome.ok = true;
                false
            }
            Verdict::Retry => pause(interval, deadline, cancel),
            Verdict::GiveUp => false,
        };
        if !again {
            break;
        }
    }
    outcome
}

/// One GET and what it means, with a line describing it.
fn attempt(url: &str, want: u16, timeout: Duration) -> (Verdict, String) {
    match http::get_status(url, timeout) {
        Ok(code) if code == want => (Verdict::Healthy, format!("{url} answered HTTP {code}")),
        Ok(code) => (
            Verdict::Retry,
            format!("{url} answered HTTP {code} (waiting for {want})"),
        ),
        Err(e) if e.is_permanent() => (Verdict::GiveUp, e.to_string()),
        Err(e) => (Verdict::Retry, format!("{e} (will try again)")),
    }
}

fn attempt_timeout(deadline: Option<Instant>) -> Duration {
    let left = deadline.map_or(ATTEMPT_TIMEOUT, |d| {
        d.saturating_duration_since(Instant::now())
    });
    left.clamp(MIN_ATTEMPT_TIMEOUT, ATTEMPT_TIMEOUT)
}

/// Sleeps `interval`, or until the deadline if sooner; false when there is no time left for
/// another attempt or `cancel` was set.
fn pause(interval: Duration, deadline: Option<Instant>, cancel: &AtomicBool) -> bool {
    let now = Instant::now();
    if deadline.is_some_and(|d| now >= d) {
        return false;
    }
    let wake = match (now.checked_add(interval), deadline) {
        (Some(wake), Some(d)) => wake.min(d),
        (Some(wake), None) => wake,
        (None, d) => d.unwrap_or(now),
    };
    loop {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        let left = wake.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        thread::sleep(left.min(CANCEL_POLL));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::http::test_server;
    use std::net::TcpListener;
    use std::sync::Arc;

    const SHORT: Duration = Duration::from_millis(20);

    fn wait(
        url: &str,
        interval: Duration,
        timeout: Duration,
        cancel: &AtomicBool,
    ) -> (WaitOutcome, Vec<String>) {
        let mut seen = Vec::new();
        let outcome = wait_until_healthy(url, None, interval, timeout, cancel, &mut |n, line| {
            seen.push(format!("{n}: {line}"));
        });
        (outcome, seen)
    }

    fn closed_url() -> String {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}/health")
    }

    #[test]
    fn healthy_on_the_third_attempt() {
        let (url, _) = test_server::serve(&[503, 503, 200]);
        let (outcome, seen) = wait(&url, SHORT, Duration::from_secs(2), &AtomicBool::new(false));
        assert!(outcome.ok, "{outcome:?}");
        assert_eq!(outcome.attempts, 3);
        assert_eq!(outcome.last, format!("{url} answered HTTP 200"));
        assert_eq!(
            seen[0],
            format!("1: {url} answered HTTP 503 (waiting for 200)")
        );
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn expected_status_other_than_200() {
        let (url, _) = test_server::serve(&[200, 401]);
        let cancel = AtomicBool::new(false);
        let outcome = wait_until_healthy(
            &url,
            Some(401),
            SHORT,
            Duration::from_secs(2),
            &cancel,
            &mut |_, _| {},
        );
        assert!(outcome.ok, "{outcome:?}");
        assert_eq!(outcome.attempts, 2);
    }

    #[test]
    fn times_out() {
        let url = closed_url();
        let start = Instant::now();
        let (outcome, _) = wait(
            &url,
            Duration::from_millis(50),
            Duration::from_millis(300),
            &AtomicBool::new(false),
        );
        assert!(!outcome.ok);
        assert!(outcome.attempts >= 2, "{outcome:?}");
        assert!(
            outcome.last.starts_with("cannot connect to 127.0.0.1:"),
            "{}",
            outcome.last
        );
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn https_gives_up_at_once() {
        let (outcome, _) = wait(
            "https://127.0.0.1:1/",
            SHORT,
            Duration::from_secs(5),
            &AtomicBool::new(false),
        );
        assert!(!outcome.ok);
        assert_eq!(outcome.attempts, 1);
        assert!(
            outcome.last.contains("use a `tcp` check"),
            "{}",
            outcome.last
        );
    }

    #[test]
    fn cancel_from_the_callback_stops_the_wait() {
        let url = closed_url();
        let cancel = AtomicBool::new(false);
        let outcome = wait_until_healthy(
            &url,
            None,
            SHORT,
            Duration::from_secs(10),
            &cancel,
            &mut |n, _| {
                if n == 2 {
                    cancel.store(true, Ordering::Relaxed);
                }
            },
        );
        assert!(!outcome.ok);
        assert_eq!(outcome.attempts, 2);
    }

    #[test]
    fn cancel_during_a_pause_stops_the_wait_quickly() {
        let url = closed_url();
        let cancel = Arc::new(AtomicBool::new(false));
        let setter = Arc::clone(&cancel);
        let handle = thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            setter.store(true, Ordering::Relaxed);
        });
        let start = Instant::now();
        let (outcome, _) = wait(
            &url,
            Duration::from_secs(30),
            Duration::from_secs(60),
            &cancel,
        );
        handle.join().unwrap();
        assert!(!outcome.ok);
        assert_eq!(outcome.attempts, 1);
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn cancelled_before_starting() {
        let (outcome, seen) = wait(
            &closed_url(),
            SHORT,
            Duration::from_secs(1),
            &AtomicBool::new(true),
        );
        assert_eq!((outcome.ok, outcome.attempts), (false, 0));
        assert!(seen.is_empty());
    }
}
