//! The Format filter: `Format fmt` (a decimal if the input reads as one, else a date) or
//! `Format type fmt` (int, double, decimal, date/datetime, datetimeoffset), with .NET
//! standard and custom numeric format strings in an en-US culture. Numbers are kept as exact
//! decimal digit strings so rounding is .NET's (half away from zero).
//! Known gaps: exponent sections in custom formats, and grouping combined with literals
//! between integer placeholders.

use super::date;
use crate::template::number::{format_double, parse_double, shortest_digits};

/// An exact decimal number: sign, integer digits (no leading zeros), fraction digits.
#[derive(Debug, Clone, PartialEq)]
struct Decimal {
    negative: bool,
    int: String,
    frac: String,
    /// Integers reject fractional formats such as `D` less often; only they accept `D`/`X`.
    integer: bool,
}

pub(super) fn format(input: &str, options: &[String]) -> Option<String> {
    match options {
        [fmt] => match parse_decimal(input) {
            Some(number) => format_number(&number, fmt),
            None => date::format(&date::parse(input, true)?, fmt),
        },
        [kind, fmt] => match kind.to_lowercase().as_str() {
            "int" | "int32" => format_number(&parse_int(input)?, fmt),
            "double" => format_double_with(input, fmt),
            "decimal" => format_number(&parse_decimal(input)?, fmt),
            "date" | "datetime" => date::format(&date::parse(input, false)?, fmt),
            "datetimeoffset" => date::format(&date::parse(input, true)?, fmt),
            _ => None,
        },
        _ => None,
    }
}

/// `decimal.TryParse` (NumberStyles.Number): sign, grouping commas, decimal point.
fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let (negative, body) = match (text.strip_prefix('-'), text.strip_suffix('-')) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (true, rest),
        _ => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let int_ok = int.chars().all(|c| c.is_ascii_digit() || c == ',') && !int.starts_with(',');
    let frac_ok = frac.chars().all(|c| c.is_ascii_digit());
    if !int_ok || !frac_ok || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let int: String = int.chars().filter(char::is_ascii_digit).collect();
    Some(Decimal {
        negative,
        int: int.trim_start_matches('0').to_string(),
        frac: frac.to_string(),
        integer: false,
    })
}

/// `int.TryParse`: an optional sign and digits, within 32 bits.
fn parse_int(text: &str) -> Option<Decimal> {
    let value: i32 = text.trim().parse().ok()?;
    let digits = value.unsigned_abs().to_string();
    let int = if digits == "0" { String::new() } else { digits };
    Some(Decimal {
        negative: value < 0,
        int,
        frac: String::new(),
        integer: true,
    })
}

fn format_double_with(input: &str, fmt: &str) -> Option<String> {
    let value = parse_double(input)?;
    if !value.is_finite()
        || fmt.eq_ignore_ascii_case("r")
        || fmt.eq_ignore_ascii_case("g")
        || fmt.is_empty()
    {
        return Some(format_double(value));
    }
    let (negative, digits, exp) = shortest_digits(value);
    let point = exp + 1;
    let (int, frac) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        )
    } else {
        let p = point as usize;
        let padded = format!("{digits:0<p$}");
        (
            padded[..p].trim_start_matches('0').to_string(),
            padded[p..].to_string(),
        )
    };
    format_number(
        &Decimal {
            negative,
            int,
            frac,
            integer: false,
        },
        fmt,
    )
}

impl Decimal {
    fn is_zero(&self) -> bool {
        self.int.chars().chain(self.frac.chars()).all(|c| c == '0')
    }

    /// Rounded to `places` fraction digits, half away from zero.
    fn round(&self, places: usize) -> Decimal {
        if self.frac.len() <= places {
            return Decimal {
                frac: format!("{:0<places$}", self.frac),
                ..self.clone()
            };
        }
        let round_up = self.frac.as_bytes().get(places).is_some_and(|d| *d >= b'5');
        let mut digits: Vec<u8> = format!("{}{}", self.int, &self.frac[..places]).into_bytes();
        if round_up {
            increment(&mut digits);
        }
        let split = digits.len() - places;
        let int = String::from_utf8_lossy(&digits[..split])
            .trim_start_matches('0')
            .to_string();
        let frac = String::from_utf8_lossy(&digits[split..]).into_owned();
        Decimal {
            int,
            frac,
            ..self.clone()
        }
    }

    /// Multiplied by 10^n (percent and per-mille), exactly.
    fn shift(&self, n: usize) -> Decimal {
        let frac = format!("{:0<n$}", self.frac);
        let int = format!("{}{}", self.int, &frac[..n])
            .trim_start_matches('0')
            .to_string();
        Decimal {
            int,
            frac: frac[n..].to_string(),
            ..self.clone()
        }
    }

    fn sign(&self, rounded: &Decimal) -> &'static str {
        if self.negative && !rounded.is_zero() {
            "-"
        } else {
            ""
        }
    }
}

/// Adds one to a decimal digit string, carrying.
fn increment(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

fn group(int: &str) -> String {
    let digits = if int.is_empty() { "0" } else { int };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fixed(n: &Decimal, places: usize, grouped: bool) -> String {
    let r = n.round(places);
    let int = if grouped {
        group(&r.int)
    } else if r.int.is_empty() {
        "0".into()
    } else {
        r.int.clone()
    };
    let frac = if places > 0 {
        format!(".{}", r.frac)
    } else {
        String::new()
    };
    format!("{}{int}{frac}", n.sign(&r))
}

fn format_number(n: &Decimal, fmt: &str) -> Option<String> {
    let mut chars = fmt.chars();
    let letter = chars.next().unwrap_or('G');
    let rest = chars.as_str();
    let standard =
        letter.is_ascii_alphabetic() && rest.len() <= 2 && rest.chars().all(|c| c.is_ascii_digit());
    if !standard {
        return Some(custom(n, fmt));
    }
    let precision: Option<usize> = rest.parse().ok();
    Some(match letter.to_ascii_uppercase() {
        'C' => {
            let text = fixed(
                &Decimal {
                    negative: false,
                    ..n.clone()
                },
                precision.unwrap_or(2),
                true,
            );
            let minus = if n.negative && text.chars().any(|c| ('1'..='9').contains(&c)) {
                "-"
            } else {
                ""
            };
            format!("{minus}${text}")
        }
        'D' if n.integer => {
            let digits = if n.int.is_empty() {
                "0".to_string()
            } else {
                n.int.clone()
            };
            format!(
                "{}{digits:0>width$}",
                if n.negative { "-" } else { "" },
                width = precision.unwrap_or(0)
            )
        }
        'E' => scientific(n, precision.unwrap_or(6), letter),
        'F' => fixed(n, precision.unwrap_or(2), false),
        'N' => fixed(n, precision.unwrap_or(2), true),
        'P' => format!("{}%", fixed(&n.shift(2), precision.unwrap_or(2), true)),
        'G' => general(n, precision),
        'X' if n.integer => {
            let value: i64 = format!(
                "{}{}",
                if n.negative { "-" } else { "" },
                if n.int.is_empty() { "0" } else { &n.int }
            )
            .parse()
            .ok()?;
            let hex = format!("{:x}", value as i32);
            let hex = if letter == 'X' {
                hex.to_uppercase()
            } else {
                hex
            };
            format!("{hex:0>width$}", width = precision.unwrap_or(0))
        }
        _ => return None,
    })
}

fn general(n: &Decimal, precision: Option<usize>) -> String {
    let Some(precision) = precision.filter(|p| *p > 0) else {
        let int = if n.int.is_empty() { "0" } else { &n.int };
        let frac = if n.frac.is_empty() {
            String::new()
        } else {
            format!(".{}", n.frac)
        };
        return format!(
            "{}{int}{frac}",
            if n.negative && !n.is_zero() { "-" } else { "" }
        );
    };
    let int_digits = n.int.len();
    let places = precision.saturating_sub(int_digits.max(1));
    let text = fixed(n, places, false);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn scientific(n: &Decimal, places: usize, letter: char) -> String {
    let digits = format!("{}{}", n.int, n.frac);
    let lead = digits.find(|c| c != '0');
    let (mantissa_digits, exp) = match lead {
        Some(i) => (&digits[i..], n.int.len() as i64 - i as i64 - 1),
        None => ("0", 0),
    };
    let mantissa = Decimal {
        negative: n.negative,
        int: mantissa_digits[..1].to_string(),
        frac: mantissa_digits[1..].to_string(),
        integer: false,
    };
    let mut r = mantissa.round(places);
    let mut exp = exp;
    if r.int.len() > 1 {
        r = Decimal {
            int: r.int[..1].to_string(),
            frac: format!("{}{}", &r.int[1..], r.frac)[..places].to_string(),
            ..r
        };
        exp += 1;
    }
    let frac = if places > 0 {
        format!(".{}", r.frac)
    } else {
        String::new()
    };
    let int = if r.int.is_empty() { "0" } else { &r.int };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{}{int}{frac}{letter}{sign}{:03}", n.sign(&r), exp.abs())
}

/// A custom numeric format such as `#,##0.00`, `0.###`, `0%` or `$#,##0;($#,##0)`.
fn custom(n: &Decimal, fmt: &str) -> String {
    let sections = split_sections(fmt);
    let (section, absolute) = match (n.negative && !n.is_zero(), sections.get(1), sections.get(2)) {
        (_, _, Some(zero)) if n.is_zero() => (zero.as_str(), true),
        (true, Some(negative), _) if !negative.is_empty() => (negative.as_str(), true),
        _ => (sections.first().map_or("", String::as_str), false),
    };
    let spec = Section::parse(section);
    let mut value = n.clone();
    if spec.percent {
        value = value.shift(2);
    }
    let r = value.round(spec.frac_max);
    let mut frac = r.frac.clone();
    while frac.len() > spec.frac_min && frac.ends_with('0') {
        frac.pop();
    }
    let int = format!("{:0>width$}", r.int, width = spec.int_min);
    let int = if spec.grouping { group(&int) } else { int };
    let sign = if !absolute && n.negative && !r.is_zero() {
        "-"
    } else {
        ""
    };
    let point = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    // A format without digit placeholders prints only its literals, as .NET does.
    let number = if !spec.has_digits || (int.is_empty() && point.is_empty()) {
        String::new()
    } else {
        format!("{int}{point}")
    };
    format!("{sign}{}{number}{}", spec.prefix, spec.suffix)
}

fn split_sections(fmt: &str) -> Vec<String> {
    let mut sections = vec![String::new()];
    let mut quote = None;
    for c in fmt.chars() {
        match (c, quote) {
            ('\'' | '"', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            (';', None) => {
                sections.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = sections.last_mut() {
            last.push(c);
        }
    }
    sections
}

/// What a custom format section asks for.
struct Section {
    prefix: String,
    suffix: String,
    int_min: usize,
    frac_min: usize,
    frac_max: usize,
    grouping: bool,
    percent: bool,
    has_digits: bool,
}

impl Section {
    fn parse(section: &str) -> Section {
        let mut s = Section {
            prefix: String::new(),
            suffix: String::new(),
            int_min: 0,
            frac_min: 0,
            frac_max: 0,
            grouping: false,
            percent: false,
            has_digits: false,
        };
        let chars: Vec<char> = section.chars().collect();
        let mut in_frac = false;
        let mut seen_digit = false;
        let mut int_zero_at: Option<usize> = None;
        let mut int_count = 0;
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            let literal_target = if seen_digit {
                &mut s.suffix
            } else {
                &mut s.prefix
            };
            match c {
                '0' | '#' if !in_frac => {
                    if c == '0' && int_zero_at.is_none() {
                        int_zero_at = Some(int_count);
                    }
                    int_count += 1;
                    seen_digit = true;
                    s.has_digits = true;
                    s.suffix.clear();
                }
                '0' | '#' => {
                    s.frac_max += 1;
                    if c == '0' {
                        s.frac_min = s.frac_max;
                    }
                    s.suffix.clear();
                }
                '.' if !in_frac => {
                    in_frac = true;
                    seen_digit = true;
                    s.has_digits = true;
                }
                ',' if seen_digit && !in_frac => s.grouping = true,
                '%' => {
                    s.percent = true;
                    literal_target.push('%');
                }
                '\\' => {
                    literal_target.extend(chars.get(i + 1));
                    i += 1;
                }
                '\'' | '"' => {
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&x| x == c)
                        .map_or(chars.len(), |p| i + 1 + p);
                    literal_target.extend(chars.get(i + 1..end).unwrap_or_default());
                    i = end;
                }
                c => literal_target.push(c),
            }
            i += 1;
        }
        s.int_min = int_zero_at.map_or(0, |at| int_count - at);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::format;

    fn f(input: &str, opts: &[&str]) -> Option<String> {
        format(
            input,
            &opts.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn standard_numeric_formats() {
        assert_eq!(f("1234.5678", &["N2"]).as_deref(), Some("1,234.57"));
        assert_eq!(f("2.5", &["F0"]).as_deref(), Some("3"));
        assert_eq!(f("0.1234", &["P1"]).as_deref(), Some("12.3%"));
        assert_eq!(f("1234.5", &["C"]).as_deref(), Some("$1,234.50"));
        assert_eq!(f("1234.5", &["E2"]).as_deref(), Some("1.23E+003"));
        assert_eq!(f("42", &["int", "D5"]).as_deref(), Some("00042"));
        assert_eq!(f("255", &["int", "X"]).as_deref(), Some("FF"));
        assert_eq!(f("1.50", &["G"]).as_deref(), Some("1.50"));
    }

    #[test]
    fn custom_numeric_formats() {
        assert_eq!(f("1234.5", &["#,##0.00"]).as_deref(), Some("1,234.50"));
        assert_eq!(f("3.14159", &["0.##"]).as_deref(), Some("3.14"));
        assert_eq!(f("5", &["000"]).as_deref(), Some("005"));
        assert_eq!(f("-5", &["0;(0)"]).as_deref(), Some("(5)"));
        assert_eq!(f("0.25", &["0%"]).as_deref(), Some("25%"));
        assert_eq!(f("0.5", &["#.##"]).as_deref(), Some(".5"));
        assert_eq!(f("5", &["abc"]).as_deref(), Some("abc"));
        assert_eq!(f("1234567", &["#,#"]).as_deref(), Some("1,234,567"));
    }

    #[test]
    fn dates_through_format() {
        assert_eq!(
            f("2030/05/22 09:05:00", &["Date", "HH dd-MMM-yyy"]).as_deref(),
            Some("09 22-May-2030")
        );
        assert_eq!(f("nonsense", &["yyyy"]), None);
    }
}
