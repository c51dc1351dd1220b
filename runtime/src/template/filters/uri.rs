//! UriPart filter.
pub(super) fn part(input: &str, _options: &[String]) -> String { input.to_string() }
