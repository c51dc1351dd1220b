//! Format filter.
pub(super) fn format(_input: &str, _options: &[String]) -> Option<String> { None }
