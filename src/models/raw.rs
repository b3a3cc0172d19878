//! [`RawJson`]: the parts of a message this crate does not type, kept as the exact text that came in.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// A JSON value this crate does not look into, kept as the exact text that came in and written back
/// unchanged.
///
/// Parsing such parts into [`Value`] would change them: integers beyond 64 bits and long decimals become
/// other numbers, `1e400` fails the whole body, and a repeated key keeps only its last value. Kept as
/// text, every valid JSON value survives a decode and an encode exactly. Parse it when you need to look
/// inside ([`Self::to_value`], [`Self::parse`]):
///
/// ```
/// use pieces_os_client::models::RawJson;
/// use serde_json::json;
///
/// let raw: RawJson = r#"{"tokens": 123456789012345678901234567890, "ratio": 1e400}"#.parse().unwrap();
/// assert_eq!(serde_json::to_string(&raw).unwrap(), raw.get());
/// assert!(raw.to_value().is_err(), "1e400 is beyond f64");
///
/// let model = RawJson::from(json!({"name": "GPT-4o", "maxTokens": {"total": 128000}}));
/// assert_eq!(model.to_value().unwrap()["maxTokens"]["total"], 128000);
/// assert_eq!(model, json!({"name": "GPT-4o", "maxTokens": {"total": 128000}}));
/// ```
///
/// Two `RawJson` are equal when their texts are: `{"a":1}` and `{"a": 1}` differ. A `RawJson` compares
/// equal to a [`Value`] when its text parses to that value.
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The JSON text, exactly as received (or as built).
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Parses the text into a [`Value`].
    ///
    /// Fails where `Value` cannot hold what the text says: a number beyond `f64` (such as `1e400`) or a
    /// string with an unpaired UTF-16 surrogate escape (`"\ud800"`). Integers beyond 64 bits become the
    /// nearest `f64`, and of a repeated key only the last value is kept.
    pub fn to_value(&self) -> serde_json::Result<Value> {
        serde_json::from_str(self.get())
    }

    /// Parses the text into any deserializable type.
    pub fn parse<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.get())
    }

    /// Keeps `text` without parsing it again: the exact span of one value that the check's reader
    /// accepted, as `wire::scan::Scanner::raw_value` returns it.
    #[allow(unsafe_code)] // serde_json's constructor that trusts its caller, for a span already checked.
    pub(crate) fn from_scanned(text: &str) -> Self {
        // SAFETY (a contract of serde_json, not of memory): the text must be one well-formed JSON value
        // without whitespace around it. `raw_value` returns the span, first byte to last, of a value its
        // `skip_value` accepted, which reads an ignored value exactly as serde_json does (the unit tests
        // of `wire` and the fuzz target `check_vs_decode` compare the two on every body); debug builds of
        // serde_json parse the text again and panic where it is not.
        RawJson(unsafe { RawValue::from_string_unchecked(text.to_owned()) })
    }

    /// Checks that `text` is one JSON value and keeps it exactly (whitespace included).
    pub fn from_text(text: impl Into<String>) -> serde_json::Result<Self> {
        RawValue::from_string(text.into()).map(RawJson)
    }

    /// The JSON text of any serializable value.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Self> {
        serde_json::value::to_raw_value(value).map(RawJson)
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> Self {
        Self::from(&value)
    }
}

impl From<&Value> for RawJson {
    fn from(value: &Value) -> Self {
        // A `Value` always serializes: its keys are strings and its numbers finite.
        Self::from_serialize(value).expect("a serde_json::Value always serializes")
    }
}

impl FromStr for RawJson {
    type Err = serde_json::Error;

    fn from_str(text: &str) -> serde_json::Result<Self> {
        Self::from_text(text)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl PartialEq<Value> for RawJson {
    fn eq(&self, other: &Value) -> bool {
        self.to_value().is_ok_and(|value| value == *other)
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawJson").field(&self.get()).finish()
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RawJson)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Text that a detour through `Value` would change or refuse.
    const FRAGILE: &[&str] = &[
        "123456789012345678901234567890",
        "-98765432109876543210987654321",
        "0.1000000000000000055511151231257827021181583404541015625",
        "1e400",
        "-1e-400",
        "-0.0",
        "-0",
        "1E+2",
        r#"{"a": 1, "a": 2}"#,
        r#""\ud800""#,
        r#""\u00e9\n""#,
        r#"[ 1 ,2 ]"#,
    ];

    #[test]
    fn fragile_values_round_trip_exactly() {
        for text in FRAGILE {
            let raw: RawJson = text.parse().unwrap();
            assert_eq!(raw.get(), *text);
            assert_eq!(serde_json::to_string(&raw).unwrap(), *text);
            let wrapped = format!(r#"{{"x":{text}}}"#);
            let decoded: std::collections::BTreeMap<String, RawJson> =
                serde_json::from_str(&wrapped).unwrap();
            assert_eq!(decoded["x"].get(), *text);
            assert_eq!(serde_json::to_string(&decoded).unwrap(), wrapped);
        }
    }

    #[test]
    fn to_value_and_parse_read_inside() {
        let raw: RawJson = r#"{"n": [1, 2.5, null], "s": "é"}"#.parse().unwrap();
        assert_eq!(raw.to_value().unwrap(), json!({"n": [1, 2.5, null], "s": "é"}));
        let parsed: std::collections::HashMap<String, Value> = raw.parse().unwrap();
        assert_eq!(parsed["s"], "é");
        assert!("1e400".parse::<RawJson>().unwrap().to_value().is_err());
        assert!(r#""\udc00""#.parse::<RawJson>().unwrap().to_value().is_err());
    }

    #[test]
    fn equality_is_by_text_and_by_value_against_value() {
        let spaced: RawJson = r#"{"a": 1}"#.parse().unwrap();
        let compact: RawJson = r#"{"a":1}"#.parse().unwrap();
        assert_ne!(spaced, compact);
        assert_eq!(spaced, json!({"a": 1}));
        assert_eq!(compact, json!({"a": 1}));
        assert_ne!(compact, json!({"a": 2}));
        assert_eq!(RawJson::from(json!({"a": 1})), compact);
        assert_ne!("1e400".parse::<RawJson>().unwrap(), json!(null));
    }

    #[test]
    fn only_one_json_value_is_accepted() {
        for text in ["", "1 2", "{", "[1,]", "nul", r#""a"#, "\"\u{1}\""] {
            assert!(text.parse::<RawJson>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn debug_and_display_show_the_text() {
        let raw: RawJson = "[true]".parse().unwrap();
        assert_eq!(raw.to_string(), "[true]");
        assert_eq!(format!("{raw:?}"), r#"RawJson("[true]")"#);
    }
}
