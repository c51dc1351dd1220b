//! Text manipulation filters: Append/Prepend, comparisons, Match/Replace, Substring,
//! Truncate, Trim, Indent. Lengths count characters (Octostache counts UTF-16 units, which
//! differs only outside the Basic Multilingual Plane). Regular expressions use Rust `regex`
//! syntax: .NET-only constructs (look-around, backreferences) do not compile and give null.

use regex::Regex;

pub(super) fn append(input: Option<&str>, options: &[String]) -> Option<String> {
    (!options.is_empty()).then(|| format!("{}{}", input.unwrap_or(""), options.concat()))
}

pub(super) fn prepend(input: Option<&str>, options: &[String]) -> Option<String> {
    (!options.is_empty()).then(|| format!("{}{}", options.concat(), input.unwrap_or("")))
}

/// StartsWith / EndsWith / Contains: exactly one option, ordinal, `true`/`false`.
pub(super) fn compare(
    input: &str,
    options: &[String],
    test: impl Fn(&str, &str) -> bool,
) -> Option<String> {
    match options {
        [needle] => Some(test(input, needle).to_string()),
        _ => None,
    }
}

pub(super) fn matches(input: &str, options: &[String]) -> Option<String> {
    let [pattern] = options else { return None };
    Some(Regex::new(pattern).ok()?.is_match(input).to_string())
}

pub(super) fn replace(input: &str, options: &[String]) -> Option<String> {
    let pattern = Regex::new(options.first()?).ok()?;
    let replacement = options.get(1).map_or("", String::as_str);
    let mut out = String::new();
    let mut last = 0;
    for caps in pattern.captures_iter(input) {
        let Some(whole) = caps.get(0) else { continue };
        out.push_str(&input[last..whole.start()]);
        expand_dotnet(replacement, &caps, &pattern, input, &mut out);
        last = whole.end();
    }
    out.push_str(&input[last..]);
    Some(out)
}

/// Expands a .NET replacement pattern: `$1`, `${name}`, `$$`, `$&`, `` $` ``, `$'`, `$+`, `$_`.
fn expand_dotnet(
    replacement: &str,
    caps: &regex::Captures,
    re: &Regex,
    input: &str,
    out: &mut String,
) {
    let whole = caps.get(0).map_or(0..0, |m| m.range());
    let mut rest = replacement;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (text, used) = substitution(after, caps, re, input, &whole);
        match text {
            Some(text) => out.push_str(&text),
            None => out.push('$'),
        }
        rest = &after[used..];
    }
    out.push_str(rest);
}

/// One `$...` reference: its text (`None` when not a reference) and how much it used.
fn substitution(
    after: &str,
    caps: &regex::Captures,
    re: &Regex,
    input: &str,
    whole: &std::ops::Range<usize>,
) -> (Option<String>, usize) {
    let group = |i: usize| {
        caps.get(i)
            .map_or(String::new(), |m| m.as_str().to_string())
    };
    match after.chars().next() {
        Some('$') => (Some("$".into()), 1),
        Some('&') => (Some(group(0)), 1),
        Some('`') => (Some(input[..whole.start].to_string()), 1),
        Some('\'') => (Some(input[whole.end..].to_string()), 1),
        Some('_') => (Some(input.to_string()), 1),
        Some('+') => (Some(group(caps.len().saturating_sub(1))), 1),
        Some('{') => match after.find('}') {
            Some(end) => {
                let name = &after[1..end];
                let text = match name.parse::<usize>() {
                    Ok(i) if i < caps.len() => Some(group(i)),
                    _ if re.capture_names().any(|n| n == Some(name)) => Some(
                        caps.name(name)
                            .map_or(String::new(), |m| m.as_str().to_string()),
                    ),
                    _ => None,
                };
                match text {
                    Some(text) => (Some(text), end + 1),
                    None => (None, 0),
                }
            }
            None => (None, 0),
        },
        Some(c) if c.is_ascii_digit() => {
            // The longest run of digits that names an existing group, as .NET does.
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            (1..=digits.len())
                .rev()
                .find_map(|n| {
                    digits[..n]
                        .parse::<usize>()
                        .ok()
                        .filter(|i| *i < caps.len())
                        .map(|i| (Some(group(i)), n))
                })
                .unwrap_or((None, 0))
        }
        _ => (None, 0),
    }
}

fn non_negative(option: &str) -> Option<usize> {
    option.trim().parse::<usize>().ok()
}

pub(super) fn substring(input: &str, options: &[String]) -> Option<String> {
    let (start, length) = match options {
        [length] => (0, non_negative(length)?),
        [start, length] => (non_negative(start)?, non_negative(length)?),
        _ => return None,
    };
    let count = input.chars().count();
    if start > count {
        return None;
    }
    Some(input.chars().skip(start).take(length).collect())
}

pub(super) fn truncate(input: &str, options: &[String]) -> Option<String> {
    let (length, suffix) = match options {
        [length] => (non_negative(length)?, "..."),
        [length, suffix] => (non_negative(length)?, suffix.as_str()),
        _ => return None,
    };
    if length >= input.chars().count() {
        return Some(input.to_string());
    }
    Some(format!(
        "{}{suffix}",
        input.chars().take(length).collect::<String>()
    ))
}

pub(super) fn trim(input: &str, options: &[String]) -> Option<String> {
    match options {
        [] => Some(input.trim().to_string()),
        [side] if side.eq_ignore_ascii_case("start") => Some(input.trim_start().to_string()),
        [side] if side.eq_ignore_ascii_case("end") => Some(input.trim_end().to_string()),
        _ => None,
    }
}

pub(super) fn indent(input: &str, options: &[String]) -> Option<String> {
    let (initial, subsequent) = match options {
        [] => ("    ".to_string(), "    ".to_string()),
        [single] => indent_sizes(single).unwrap_or_else(|| (single.clone(), single.clone())),
        [first, rest] => (first.clone(), rest.clone()),
        _ => return None,
    };
    if input.is_empty() {
        return Some(String::new());
    }
    Some(format!(
        "{initial}{}",
        input.replace('\n', &format!("\n{subsequent}"))
    ))
}

/// `N`, `I/S` or `/S` with sizes 0–255, as spaces.
fn indent_sizes(option: &str) -> Option<(String, String)> {
    let size = |s: &str| {
        let all_digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        all_digits
            .then(|| s.parse::<u16>().ok())
            .flatten()
            .filter(|n| *n <= 255)
            .map(|n| " ".repeat(n.into()))
    };
    match option.split_once('/') {
        None => size(option).map(|s| (s.clone(), s)),
        Some(("", rest)) => Some((String::new(), size(rest)?)),
        Some((first, rest)) => Some((size(first)?, size(rest)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(o: &[&str]) -> Vec<String> {
        o.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn substring_clamps_and_rejects() {
        assert_eq!(
            substring("Octopus Deploy", &opts(&["8", "7"])),
            Some("Deploy".into())
        );
        assert_eq!(
            substring("Octopus Deploy", &opts(&["20"])),
            Some("Octopus Deploy".into())
        );
        assert_eq!(
            substring("Octopus Deploy", &opts(&["14", "5"])),
            Some(String::new())
        );
        assert_eq!(substring("Octopus Deploy", &opts(&["20", "5"])), None);
        assert_eq!(substring("Octopus Deploy", &opts(&["0", "a"])), None);
    }

    #[test]
    fn replace_uses_dotnet_references() {
        let out = replace("opuocts", &opts(&["o(.+)o([a-z]*)s", "o$2o$1s"]));
        assert_eq!(out, Some("octopus".into()));
        assert_eq!(replace("ab", &opts(&["(a)", "$1x$$"])), Some("ax$b".into()));
    }

    #[test]
    fn indent_options() {
        assert_eq!(indent("a\nb", &opts(&["1/2"])), Some(" a\n  b".into()));
        assert_eq!(indent("a\nb", &opts(&["/1"])), Some("a\n b".into()));
        assert_eq!(indent("a", &opts(&["256"])), Some("256a".into()));
        assert_eq!(indent("a", &opts(&["x", "y", "z"])), None);
    }
}
