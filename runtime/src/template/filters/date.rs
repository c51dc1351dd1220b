//! Date filters: NowDate, NowDateUtc, AddHours, AddDays.
pub(super) fn now(_input: Option<&str>, _options: &[String], _utc: bool) -> Option<String> { None }
pub(super) fn add(_input: &str, _options: &[String], _seconds: f64) -> Option<String> { None }
