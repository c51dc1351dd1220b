//! Numbers read and printed the way .NET does it: `double.TryParse`, and `double.ToString()`
//! (shortest round-trip, scientific notation from 1E+15 and below 1E-05), used by `calc` and
//! `Format`. Culture is fixed to en-US/invariant; the infinity symbol is the en-US `∞`.

/// The decimal digits and exponent of a finite double's shortest round-trip form:
/// value = 0.d1d2d3... × 10^(exponent + 1), i.e. `exponent` is the scientific exponent.
pub(crate) fn shortest_digits(v: f64) -> (bool, String, i32) {
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    // .NET Core prints negative zero as "-0".
    (
        v.is_sign_negative(),
        digits.to_string(),
        exp.parse().unwrap_or(0),
    )
}

/// .NET Core `double.ToString()` in an invariant or en-US culture.
pub fn format_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "∞".into() } else { "-∞".into() };
    }
    let (negative, digits, exp) = shortest_digits(v);
    let sign = if negative { "-" } else { "" };
    if !(-4..15).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}E{esign}{:02}", exp.abs());
    }
    format!("{sign}{}", place_point(&digits, exp))
}

/// Writes `digits` (first digit at 10^exp) in positional notation.
pub(crate) fn place_point(digits: &str, exp: i32) -> String {
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        let (int, frac) = digits.split_at(int_len);
        format!("{int}.{frac}")
    }
}

/// `double.TryParse` in an en-US culture: surrounding whitespace, a sign, thousands
/// separators, a decimal point and an exponent.
pub(crate) fn parse_double(text: &str) -> Option<f64> {
    let cleaned: String = text.trim().chars().filter(|c| *c != ',').collect();
    let plain = cleaned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'));
    if cleaned.is_empty() || !plain {
        return None;
    }
    cleaned.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::format_double;

    #[test]
    fn doubles_print_like_dotnet() {
        assert_eq!(format_double(5.0), "5");
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(2.0 / 7.0), "0.2857142857142857");
        assert_eq!(format_double(0.1 + 1.3), "1.4000000000000001");
        assert_eq!(format_double(-0.5), "-0.5");
        assert_eq!(format_double(1e15), "1E+15");
        assert_eq!(format_double(0.00001), "1E-05");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(1.0 / 0.0), "∞");
        assert_eq!(format_double(0.0), "0");
        assert_eq!(format_double(-0.0), "-0");
    }
}
