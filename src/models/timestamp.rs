//! [`GroupedTimestamp`], and the small amount of calendar arithmetic it needs.
//!
//! The value is kept as the text that came in: PiecesOS and the SDKs write both `…Z` and `…+00:00`, with
//! anything from 0 to 9 fraction digits, and re-formatting a parsed time would change the text a message
//! is written back with. Parsing happens only when asked for ([`GroupedTimestamp::unix_millis`]).

use std::time::{SystemTime, UNIX_EPOCH};

use super::common::EmbeddedModelSchema;

lossless_struct! {
    /// A point in time.
    #[derive(Clone, Debug, PartialEq)]
    #[non_exhaustive]
    pub struct GroupedTimestamp {
        /// How a user interface may show the time (for example `"5 minutes ago"`).
        optional readable: String = "readable",
        /// The version stamp.
        optional schema: EmbeddedModelSchema = "schema",
        /// The RFC 3339 date-time, exactly as received.
        required value: String = "value",
    }
}

const MILLIS_PER_DAY: i64 = 86_400_000;
/// `0000-01-01T00:00:00.000Z`, the earliest time RFC 3339's four-digit year can write.
const MIN_MILLIS: i64 = days_from_civil(0, 1, 1) * MILLIS_PER_DAY;
/// `9999-12-31T23:59:59.999Z`, the latest time RFC 3339's four-digit year can write.
const MAX_MILLIS: i64 = days_from_civil(10_000, 1, 1) * MILLIS_PER_DAY - 1;

impl GroupedTimestamp {
    /// A timestamp whose value is `value`, taken as it is (see [`Self::unix_millis`] to check it).
    pub fn new(value: impl Into<String>) -> Self {
        GroupedTimestamp {
            readable: None,
            schema: None,
            value: value.into(),
            extra: Default::default(),
        }
    }

    /// The current time in UTC, as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn now() -> Self {
        let millis = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
        };
        // Only a clock set before year 0 or after 9999 is clamped; RFC 3339 cannot write those years.
        Self::new(format_millis(millis.clamp(MIN_MILLIS, MAX_MILLIS)))
    }

    /// The time `millis` milliseconds after 1970-01-01T00:00:00Z, as `YYYY-MM-DDTHH:MM:SS.mmmZ`; `None`
    /// outside the years 0000 to 9999, which RFC 3339 cannot write.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        (MIN_MILLIS..=MAX_MILLIS)
            .contains(&millis)
            .then(|| Self::new(format_millis(millis)))
    }

    /// Milliseconds since 1970-01-01T00:00:00Z, or `None` when the value is not an RFC 3339 date-time.
    ///
    /// Takes `Z` (or `z`) and numeric offsets, a `T` (or `t`) between date and time, and any number of
    /// fraction digits (those after the third are dropped, rounding toward earlier times). A leap second
    /// (`:60`) counts as the first second of the next minute.
    pub fn unix_millis(&self) -> Option<i64> {
        parse_millis(&self.value)
    }
}

fn format_millis(millis: i64) -> String {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let of_day = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3_600_000,
        of_day / 60_000 % 60,
        of_day / 1000 % 60,
        of_day % 1000
    )
}

fn parse_millis(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let (date_time, rest) = bytes.split_at_checked(19)?;
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2, b'T' | b't', h1, h2, b':', n1, n2, b':', s1, s2] =
        *date_time
    else {
        return None;
    };
    let year = number(&[y1, y2, y3, y4])?;
    let month = number(&[m1, m2])?;
    let day = number(&[d1, d2])?;
    let hour = number(&[h1, h2])?;
    let minute = number(&[n1, n2])?;
    let second = number(&[s1, s2])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }

    let (fraction_millis, offset) = match rest.strip_prefix(b".") {
        Some(fraction) => {
            let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            let millis = fraction[..digits]
                .iter()
                .chain(std::iter::repeat(&b'0'))
                .take(3)
                .fold(0, |acc, digit| acc * 10 + i64::from(digit - b'0'));
            (millis, &fraction[digits..])
        }
        None => (0, rest),
    };
    let offset_minutes = match *offset {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (number(&[h1, h2])?, number(&[m1, m2])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let minutes = hours * 60 + minutes;
            if sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    let minutes = (days * 24 + hour) * 60 + minute - offset_minutes;
    Some((minutes * 60 + second) * 1000 + fraction_millis)
}

/// The value of ASCII decimal digits; `None` if any byte is not one.
fn number(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0, |acc, &digit| {
        digit.is_ascii_digit().then(|| acc * 10 + i64::from(digit - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// The two conversions below count in 400-year eras of the proleptic Gregorian calendar, with years
// starting on 1 March so that the leap day falls at the end of a year (Howard Hinnant's
// "chrono-compatible low-level date algorithms").

/// Days since 1970-01-01 of a proleptic Gregorian date.
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date `(year, month, day)` of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn value_text_is_kept_for_every_offset_form_and_fraction_length() {
        for offset in ["Z", "+00:00"] {
            for digits in 0..=9 {
                let fraction = if digits == 0 {
                    String::new()
                } else {
                    format!(".{}", &"123456789"[..digits])
                };
                let text = format!("2024-05-06T07:08:09{fraction}{offset}");
                let wire = json!({"value": text, "readable": "just now"});
                let timestamp: GroupedTimestamp = serde_json::from_value(wire.clone()).unwrap();
                assert_eq!(timestamp.value, text);
                assert_eq!(serde_json::to_value(&timestamp).unwrap(), wire);
                let expected_millis = 1_714_979_289_000 + [0, 100, 120, 123][digits.min(3)];
                assert_eq!(timestamp.unix_millis(), Some(expected_millis), "{text}");
            }
        }
    }

    #[test]
    fn unix_millis_of_known_times() {
        for (text, millis) in [
            ("1970-01-01T00:00:00Z", 0),
            ("1970-01-01T00:00:00.000+00:00", 0),
            ("2024-02-29T12:34:56.789Z", 1_709_210_096_789),
            ("2024-02-29T14:34:56.789+02:00", 1_709_210_096_789),
            ("2024-02-29t12:34:56.789999999z", 1_709_210_096_789),
            ("2000-02-29T00:00:00Z", 951_782_400_000),
            ("2023-06-15T08:00:00-05:30", 1_686_835_800_000),
            ("2100-03-01T00:00:00Z", 4_107_542_400_000),
            ("1969-12-31T23:59:59.999Z", -1),
            ("0001-01-01T00:00:00Z", -62_135_596_800_000),
            ("0000-01-01T00:00:00Z", MIN_MILLIS),
            ("9999-12-31T23:59:59.999Z", MAX_MILLIS),
            ("2016-12-31T23:59:60Z", 1_483_228_800_000),
            ("2024-01-01T00:00:00.5-00:00", 1_704_067_200_500),
        ] {
            assert_eq!(GroupedTimestamp::new(text).unix_millis(), Some(millis), "{text}");
        }
        assert_eq!(MIN_MILLIS, -62_167_219_200_000);
        assert_eq!(MAX_MILLIS, 253_402_300_799_999);
    }

    #[test]
    fn unix_millis_refuses_what_is_not_rfc_3339() {
        for text in [
            "",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0000",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00Z ",
            " 2024-01-01T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:61Z",
            "+024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.1é",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert_eq!(GroupedTimestamp::new(text).unix_millis(), None, "{text:?}");
        }
    }

    #[test]
    fn from_unix_millis_formats_known_times() {
        for (millis, text) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_709_210_096_789, "2024-02-29T12:34:56.789Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (MIN_MILLIS, "0000-01-01T00:00:00.000Z"),
            (MAX_MILLIS, "9999-12-31T23:59:59.999Z"),
        ] {
            let timestamp = GroupedTimestamp::from_unix_millis(millis).unwrap();
            assert_eq!(timestamp.value, text);
            assert_eq!(timestamp.unix_millis(), Some(millis));
        }
        assert_eq!(GroupedTimestamp::from_unix_millis(MIN_MILLIS - 1), None);
        assert_eq!(GroupedTimestamp::from_unix_millis(MAX_MILLIS + 1), None);
    }

    #[test]
    fn formatting_and_parsing_agree_across_four_centuries() {
        // One sample every 37 days and 1 ms covers every month, leap years and century rules.
        let mut millis = days_from_civil(1900, 1, 1) * MILLIS_PER_DAY;
        let end = days_from_civil(2300, 1, 1) * MILLIS_PER_DAY;
        while millis < end {
            let timestamp = GroupedTimestamp::from_unix_millis(millis).unwrap();
            assert_eq!(timestamp.unix_millis(), Some(millis), "{}", timestamp.value);
            millis += 37 * MILLIS_PER_DAY + 3_723_001;
        }
    }

    #[test]
    fn now_is_current_utc_with_milliseconds() {
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        let now = GroupedTimestamp::now();
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        assert_eq!(now.value.len(), "2024-01-01T00:00:00.000Z".len(), "{}", now.value);
        assert_eq!(now.value.as_bytes()[19], b'.');
        assert!(now.value.ends_with('Z'));
        let millis = now.unix_millis().unwrap();
        assert!((before..=after).contains(&millis), "{before} {millis} {after}");
        assert_eq!(serde_json::to_value(&now).unwrap(), json!({"value": now.value}));
    }

    #[test]
    fn value_is_required_and_null_optionals_are_absent() {
        let err = serde_json::from_value::<GroupedTimestamp>(json!({"readable": "now"})).unwrap_err();
        assert_eq!(err.to_string(), "missing field `value`");
        let with_nulls: GroupedTimestamp = serde_json::from_value(
            json!({"value": "2024-01-01T00:00:00Z", "readable": null, "schema": null}),
        )
        .unwrap();
        assert_eq!(with_nulls, GroupedTimestamp::new("2024-01-01T00:00:00Z"));
        assert_eq!(
            serde_json::to_value(&with_nulls).unwrap(),
            json!({"value": "2024-01-01T00:00:00Z"})
        );
        // Malformed text still decodes: the value is kept, and only parsing it says no.
        let odd: GroupedTimestamp = serde_json::from_value(json!({"value": "yesterday"})).unwrap();
        assert_eq!(odd.unix_millis(), None);
        assert!(serde_json::from_value::<GroupedTimestamp>(Value::from("2024")).is_err());
    }
}
