//! The RFC 3339 parser of `GroupedTimestamp::unix_millis`: never panics, and whatever it reads is a time
//! that formats and reads back to the same millisecond (when it lies in the years RFC 3339 can write).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pieces_os_client::models::GroupedTimestamp;

/// Years 0000 to 9999, widened by the largest UTC offset an RFC 3339 text can carry (23:59).
const SPAN: std::ops::RangeInclusive<i64> =
    -62_167_219_200_000 - 86_400_000..=253_402_300_799_999 + 86_400_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(millis) = GroupedTimestamp::new(text).unix_millis() else {
        return;
    };
    assert!(SPAN.contains(&millis), "{text:?} read as {millis}");
    if let Some(formatted) = GroupedTimestamp::from_unix_millis(millis) {
        assert_eq!(
            formatted.unix_millis(),
            Some(millis),
            "{text:?} -> {}",
            formatted.value
        );
    }
    // Only the first three fraction digits count: more digits never move the time.
    if let Some(dot) = text.find('.') {
        let digits = text[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
        if digits > 3 {
            let shorter = format!("{}{}", &text[..dot + 4], &text[dot + 1 + digits..]);
            assert_eq!(
                GroupedTimestamp::new(&shorter).unix_millis(),
                Some(millis),
                "{text:?} vs {shorter:?}"
            );
        }
    }
});
