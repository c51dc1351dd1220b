//! Dates: parsing the way .NET `DateTime.TryParse`/`DateTimeOffset.TryParse` read common
//! en-US and ISO 8601 forms, .NET standard and custom date format strings, and the
//! NowDate, NowDateUtc, AddHours and AddDays filters.
//! Known gaps: other cultures, era/calendar specifiers beyond `g`, and the rarer input forms
//! .NET accepts (time-only input, two-digit years with month names).

use std::sync::LazyLock;

use chrono::{
    Datelike, Duration, FixedOffset, Local, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike,
    Utc,
};
use regex::Regex;

/// What a .NET date value knows about its zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    /// `DateTimeKind.Unspecified`: no zone information.
    Unspecified,
    /// `DateTimeKind.Utc`.
    Utc,
    /// `DateTimeKind.Local`: the machine's zone.
    Local,
    /// A `DateTimeOffset` with this offset.
    Offset(FixedOffset),
}

/// A wall-clock time and its kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct DateValue {
    pub wall: NaiveDateTime,
    pub kind: Kind,
}

const TIME: &str = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,7}))?)?(?:\s*(?P<ampm>[AaPp][Mm]))?";
const ZONE: &str = r"(?:\s*(?P<zone>Z|GMT|UTC|[+-]\d{1,2}(?::?\d{2})?))?";

static FORMS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        format!(r"^(?P<y>\d{{4}})[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}})(?:(?:T|\s+){TIME})?{ZONE}$"),
        format!(r"^(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}})/(?P<y>\d{{4}}|\d{{2}})(?:\s+{TIME})?{ZONE}$"),
        format!(r"^(?:[A-Za-z]+,?\s+)?(?P<d>\d{{1,2}})[\s-]+(?P<mon>[A-Za-z]+)[\s-]+(?P<y>\d{{4}})(?:\s+{TIME})?{ZONE}$"),
        format!(r"^(?:[A-Za-z]+,?\s+)?(?P<mon>[A-Za-z]+)\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})(?:\s+{TIME})?{ZONE}$"),
    ]
    .iter()
    .filter_map(|pattern| Regex::new(pattern).ok())
    .collect()
});

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Parses a date; `offset_kind` selects `DateTimeOffset` semantics (a naive time gets the
/// machine's offset) over `DateTime` semantics (a zoned time is converted to local time).
pub(super) fn parse(text: &str, offset_kind: bool) -> Option<DateValue> {
    let text = text.trim();
    let caps = FORMS.iter().find_map(|re| re.captures(text))?;
    let number = |name: &str| caps.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
    let month = match caps.name("mon") {
        Some(name) => month_number(name.as_str())?,
        None => number("m")?,
    };
    let mut year = i32::try_from(number("y")?).ok()?;
    if caps.name("y").is_some_and(|y| y.as_str().len() == 2) {
        year += if year < 50 { 2000 } else { 1900 };
    }
    let date = NaiveDate::from_ymd_opt(year, month, number("d")?)?;
    let mut hour = number("h").unwrap_or(0);
    if let Some(ampm) = caps.name("ampm") {
        if hour == 0 || hour > 12 {
            return None;
        }
        hour = hour % 12
            + if ampm.as_str().eq_ignore_ascii_case("pm") {
                12
            } else {
                0
            };
    }
    let nanos = caps.name("f").map_or(0, |f| {
        let digits = format!("{:0<9}", f.as_str());
        digits.parse::<u32>().unwrap_or(0)
    });
    let wall = date.and_hms_nano_opt(
        hour,
        number("mi").unwrap_or(0),
        number("s").unwrap_or(0),
        nanos,
    )?;
    let zone = match caps.name("zone") {
        Some(z) => Some(parse_zone(z.as_str())?),
        None => None,
    };
    Some(with_zone(wall, zone, offset_kind))
}

fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_lowercase();
    let index = MONTHS.iter().position(|m| {
        let m = m.to_lowercase();
        m == lower || (lower.len() == 3 && m.starts_with(&lower))
    })?;
    u32::try_from(index + 1).ok()
}

fn parse_zone(zone: &str) -> Option<FixedOffset> {
    if matches!(zone, "Z" | "GMT" | "UTC") {
        return FixedOffset::east_opt(0);
    }
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
    let (hours, minutes) = if digits.len() > 2 {
        digits.split_at(digits.len() - 2)
    } else {
        (digits.as_str(), "0")
    };
    let seconds = hours.parse::<i32>().ok()? * 3600 + minutes.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * seconds)
}

fn local_offset(wall: NaiveDateTime) -> FixedOffset {
    Local
        .offset_from_local_datetime(&wall)
        .earliest()
        .map_or_else(|| Utc.fix(), |o| o.fix())
}

fn with_zone(wall: NaiveDateTime, zone: Option<FixedOffset>, offset_kind: bool) -> DateValue {
    match (zone, offset_kind) {
        (None, false) => DateValue {
            wall,
            kind: Kind::Unspecified,
        },
        (None, true) => DateValue {
            wall,
            kind: Kind::Offset(local_offset(wall)),
        },
        (Some(offset), true) => DateValue {
            wall,
            kind: Kind::Offset(offset),
        },
        (Some(offset), false) => {
            let utc = wall - Duration::seconds(i64::from(offset.local_minus_utc()));
            let local = Local.from_utc_datetime(&utc).naive_local();
            DateValue {
                wall: local,
                kind: Kind::Local,
            }
        }
    }
}

impl DateValue {
    /// The offset `zzz` shows: a DateTimeOffset's own, UTC's, or the machine's.
    fn offset(&self) -> FixedOffset {
        match self.kind {
            Kind::Offset(offset) => offset,
            Kind::Utc => Utc.fix(),
            Kind::Unspecified | Kind::Local => local_offset(self.wall),
        }
    }

    fn to_utc(self) -> DateValue {
        let wall = self.wall - Duration::seconds(i64::from(self.offset().local_minus_utc()));
        let kind = if matches!(self.kind, Kind::Offset(_)) {
            Kind::Offset(Utc.fix())
        } else {
            Kind::Utc
        };
        DateValue { wall, kind }
    }
}

/// `NowDate [format]` / `NowDateUtc [format]`: only without a subject.
pub(super) fn now(input: Option<&str>, options: &[String], utc: bool) -> Option<String> {
    if input.is_some() || options.len() > 1 {
        return None;
    }
    let value = if utc {
        DateValue {
            wall: Utc::now().naive_utc(),
            kind: Kind::Utc,
        }
    } else {
        DateValue {
            wall: Local::now().naive_local(),
            kind: Kind::Local,
        }
    };
    format(&value, options.first().map_or("O", String::as_str))
}

/// `AddHours n` / `AddDays n`: shifts the date, written in the round-trip `O` format.
pub(super) fn add(input: &str, options: &[String], unit_seconds: f64) -> Option<String> {
    let [amount] = options else { return None };
    let amount: f64 = amount.trim().parse().ok().filter(|a: &f64| a.is_finite())?;
    let value = parse_keeping_kind(input)?;
    let millis = (amount * unit_seconds * 1000.0).round();
    let wall = value
        .wall
        .checked_add_signed(Duration::milliseconds(millis as i64))?;
    format(&DateValue { wall, ..value }, "O")
}

/// Naive stays naive, `Z` stays UTC, an explicit offset is kept.
fn parse_keeping_kind(input: &str) -> Option<DateValue> {
    let value = parse(input, true)?;
    let naive = parse(input, false).is_some_and(|v| v.kind == Kind::Unspecified);
    Some(match value.kind {
        _ if naive => DateValue {
            kind: Kind::Unspecified,
            ..value
        },
        Kind::Offset(o)
            if o.local_minus_utc() == 0 && input.trim_end().ends_with(['Z', 'T', 'C']) =>
        {
            DateValue {
                kind: Kind::Utc,
                ..value
            }
        }
        _ => value,
    })
}

/// Formats with a .NET standard (one letter) or custom date format string; `None` for an
/// invalid standard format, as .NET throws there.
pub(super) fn format(value: &DateValue, fmt: &str) -> Option<String> {
    let mut chars = fmt.chars();
    let (Some(letter), None) = (chars.next(), chars.next()) else {
        return Some(custom(value, fmt));
    };
    let is_offset = matches!(value.kind, Kind::Offset(_));
    let pattern = match letter {
        'd' => "M/d/yyyy",
        'D' => "dddd, MMMM d, yyyy",
        'f' => "dddd, MMMM d, yyyy h:mm tt",
        'F' => "dddd, MMMM d, yyyy h:mm:ss tt",
        'g' => "M/d/yyyy h:mm tt",
        'G' => "M/d/yyyy h:mm:ss tt",
        'm' | 'M' => "MMMM d",
        'o' | 'O' => return Some(round_trip(value)),
        'r' | 'R' => {
            return Some(custom(
                &value.to_utc(),
                "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
            ));
        }
        's' => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        't' => "h:mm tt",
        'T' => "h:mm:ss tt",
        'u' if is_offset => return Some(custom(&value.to_utc(), "yyyy'-'MM'-'dd HH':'mm':'ss'Z'")),
        'u' => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        'U' => return Some(custom(&value.to_utc(), "dddd, MMMM d, yyyy h:mm:ss tt")),
        'y' | 'Y' => "MMMM yyyy",
        _ => return None,
    };
    Some(custom(value, pattern))
}

fn round_trip(value: &DateValue) -> String {
    let base = custom(value, "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff");
    match value.kind {
        Kind::Unspecified => base,
        Kind::Utc => format!("{base}Z"),
        Kind::Local | Kind::Offset(_) => format!("{base}{}", offset_text(value.offset(), 3)),
    }
}

/// `z` (`+9`), `zz` (`+09`) or `zzz` (`+09:00`).
fn offset_text(offset: FixedOffset, width: usize) -> String {
    let seconds = offset.local_minus_utc();
    let sign = if seconds < 0 { '-' } else { '+' };
    let (hours, minutes) = (seconds.abs() / 3600, seconds.abs() % 3600 / 60);
    match width {
        1 => format!("{sign}{hours}"),
        2 => format!("{sign}{hours:02}"),
        _ => format!("{sign}{hours:02}:{minutes:02}"),
    }
}

/// A .NET custom date format string.
fn custom(value: &DateValue, fmt: &str) -> String {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        i += match c {
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .map_or(chars.len(), |p| i + 1 + p);
                out.extend(chars.get(i + 1..end).unwrap_or_default());
                end + 1 - i
            }
            '\\' => {
                out.extend(chars.get(i + 1));
                2
            }
            '%' => 1,
            _ => {
                out.push_str(
                    &specifier(value, c, run).unwrap_or_else(|| c.to_string().repeat(run)),
                );
                run
            }
        };
    }
    out
}

/// One run of a custom specifier letter, or `None` for a literal character.
fn specifier(value: &DateValue, c: char, run: usize) -> Option<String> {
    let w = value.wall;
    let hour12 = match w.hour() % 12 {
        0 => 12,
        h => h,
    };
    Some(match (c, run) {
        ('d', 1) => w.day().to_string(),
        ('d', 2) => format!("{:02}", w.day()),
        ('d', 3) => DAYS.get(w.weekday().num_days_from_sunday() as usize)?[..3].to_string(),
        ('d', _) => DAYS
            .get(w.weekday().num_days_from_sunday() as usize)?
            .to_string(),
        ('f', n) | ('F', n) if n <= 7 => fraction(w.nanosecond(), n, c == 'F'),
        ('g', _) => "A.D.".into(),
        ('h', 1) => hour12.to_string(),
        ('h', _) => format!("{hour12:02}"),
        ('H', 1) => w.hour().to_string(),
        ('H', _) => format!("{:02}", w.hour()),
        ('K', _) => match value.kind {
            Kind::Unspecified => String::new(),
            Kind::Utc => "Z".into(),
            Kind::Local | Kind::Offset(_) => offset_text(value.offset(), 3),
        },
        ('m', 1) => w.minute().to_string(),
        ('m', _) => format!("{:02}", w.minute()),
        ('M', 1) => w.month().to_string(),
        ('M', 2) => format!("{:02}", w.month()),
        ('M', 3) => MONTHS.get(w.month0() as usize)?[..3].to_string(),
        ('M', _) => MONTHS.get(w.month0() as usize)?.to_string(),
        ('s', 1) => w.second().to_string(),
        ('s', _) => format!("{:02}", w.second()),
        ('t', 1) => if w.hour() < 12 { "A" } else { "P" }.into(),
        ('t', _) => if w.hour() < 12 { "AM" } else { "PM" }.into(),
        ('y', 1) => (w.year() % 100).to_string(),
        ('y', 2) => format!("{:02}", w.year() % 100),
        ('y', n) => format!("{:0n$}", w.year()),
        ('z', n) => offset_text(value.offset(), n.min(3)),
        (':', _) => ":".repeat(run),
        ('/', _) => "/".repeat(run),
        _ => return None,
    })
}

/// `f`/`F` fractional seconds: the first `digits` digits; `F` drops trailing zeros.
fn fraction(nanos: u32, digits: usize, trim: bool) -> String {
    let text = format!("{:09}", nanos.min(999_999_999));
    let cut = &text[..digits.min(9)];
    if trim {
        cut.trim_end_matches('0').to_string()
    } else {
        cut.to_string()
    }
}

#[cfg(test)]
fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateValue {
    let wall = NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|d| d.and_hms_opt(h, mi, 0))
        .unwrap_or_default();
    DateValue {
        wall,
        kind: Kind::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(
            parse("2030/05/22 09:05:00", false),
            Some(at(2030, 5, 22, 9, 5))
        );
        assert_eq!(
            parse("2030-05-22T09:05", false),
            Some(at(2030, 5, 22, 9, 5))
        );
        assert_eq!(
            parse("5/22/2030 9:05 PM", false),
            Some(at(2030, 5, 22, 21, 5))
        );
        assert_eq!(parse("22 May 2030", false), Some(at(2030, 5, 22, 0, 0)));
        assert_eq!(parse("hello World", false), None);
    }

    #[test]
    fn formats_custom_and_standard() {
        let v = at(2030, 5, 22, 9, 5);
        assert_eq!(
            format(&v, "HH dd-MMM-yyy").as_deref(),
            Some("09 22-May-2030")
        );
        assert_eq!(
            format(&v, "dddd, MMMM d 'at' h:mm tt").as_deref(),
            Some("Wednesday, May 22 at 9:05 AM")
        );
        assert_eq!(
            format(&v, "O").as_deref(),
            Some("2030-05-22T09:05:00.0000000")
        );
        assert_eq!(format(&v, "d").as_deref(), Some("5/22/2030"));
        assert_eq!(format(&v, "Q"), None);
    }

    #[test]
    fn add_keeps_the_kind() {
        let o = |s: &str| vec![s.to_string()];
        assert_eq!(
            add("2030-05-22 09:05:00", &o("8"), 3600.0).as_deref(),
            Some("2030-05-22T17:05:00.0000000")
        );
        assert_eq!(
            add("2030-05-22T09:05:00Z", &o("-1"), 86400.0).as_deref(),
            Some("2030-05-21T09:05:00.0000000Z")
        );
        assert_eq!(
            add("2030-05-22T09:05:00+02:00", &o("1.5"), 3600.0).as_deref(),
            Some("2030-05-22T10:35:00.0000000+02:00")
        );
        assert_eq!(add("nope", &o("1"), 3600.0), None);
    }
}
