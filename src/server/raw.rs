//! JSON objects read member by member, each value kept as the raw text it came in, so that a request of
//! many megabytes is checked and stored without a tree of `serde_json::Value`s (a tree costs up to fifty
//! times the text for an array of small numbers). Only the objects on the paths the server looks at are
//! split into members; everything else stays one slice of the original text.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::store::HEAVY_KEYS;

/// The members of an object. Keys are in sorted order and a repeated key keeps its last value, exactly
/// as when the object is decoded into a `serde_json::Value`, so the text written back is the same.
pub(crate) type Members<'a> = BTreeMap<String, &'a RawValue>;

/// The members of the JSON object `text`; an error when it is not valid JSON or not an object.
pub(crate) fn members(text: &str) -> serde_json::Result<Members<'_>> {
    serde_json::from_str(text)
}

/// The JSON kind of a raw value, for error messages.
pub(crate) fn kind(value: &RawValue) -> &'static str {
    match value.get().trim_start().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A member that is present and not `null` (the two read alike).
pub(crate) fn field<'a>(object: &Members<'a>, key: &str) -> Option<&'a RawValue> {
    object.get(key).copied().filter(|value| value.get() != "null")
}

/// The object written back as text, into a buffer sized for it up front: grown by doubling, the buffer
/// of a long member would end up to twice the text.
pub(crate) fn to_text(object: &Members<'_>) -> String {
    let size = 2 + object
        .iter()
        .map(|(key, value)| key.len() + 4 + value.get().len())
        .sum::<usize>();
    let mut text = Vec::with_capacity(size);
    // Writing a map of strings and raw values into a Vec cannot fail, and serde_json writes UTF-8.
    let _ = serde_json::to_writer(&mut text, object);
    String::from_utf8(text).unwrap_or_default()
}

/// The message `text` without the heavy content of `fragment.string` and `fragment.bytes` (see
/// [`HEAVY_KEYS`]), or `None` when it has none to leave out (or is not a message object).
pub(crate) fn without_heavy_content(text: &str) -> Option<String> {
    let mut message = members(text).ok()?;
    let mut fragment = members(field(&message, "fragment")?.get()).ok()?;
    let mut lightened = Vec::new();
    for part in ["string", "bytes"] {
        let Some(mut content) = field(&fragment, part).and_then(|raw| members(raw.get()).ok()) else {
            continue;
        };
        let before = content.len();
        content.retain(|key, _| !HEAVY_KEYS.contains(&key.as_str()));
        if content.len() != before {
            lightened.push((part, RawValue::from_string(to_text(&content)).ok()?));
        }
    }
    if lightened.is_empty() {
        return None;
    }
    for (part, light) in &lightened {
        fragment.insert((*part).to_owned(), light);
    }
    let fragment = RawValue::from_string(to_text(&fragment)).ok()?;
    message.insert("fragment".to_owned(), &fragment);
    Some(to_text(&message))
}

/// `fragment.string.raw` of the message `text`, decoded, when it is a string.
pub(crate) fn fragment_text(text: &str) -> Option<String> {
    let message = members(text).ok()?;
    let fragment = members(field(&message, "fragment")?.get()).ok()?;
    let string = members(field(&fragment, "string")?.get()).ok()?;
    serde_json::from_str(field(&string, "raw")?.get()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn members_keep_raw_values_and_read_like_a_value() {
        let text = r#"{"b": [1, 2.50, 1e400], "a": {"x": null}, "b": "last", "n": null}"#;
        let object = members(text).unwrap();
        assert_eq!(object.keys().collect::<Vec<_>>(), ["a", "b", "n"]);
        assert_eq!(object["b"].get(), r#""last""#);
        assert_eq!(kind(object["a"]), "an object");
        assert!(field(&object, "n").is_none());
        assert_eq!(to_text(&object), r#"{"a":{"x": null},"b":"last","n":null}"#);
        assert!(members("[1]").is_err());
        assert!(members("{").is_err());
    }

    #[test]
    fn heavy_content_and_text_are_found_without_a_tree() {
        let heavy = json!({"id": "x", "fragment": {
            "string": {"raw": "T\u{e9}xt \"q\"", "base64": "dA==", "schema": {"migration": 0}},
            "bytes": {"raw": [1, 2], "data_url": [3]}, "x_extra": 1}});
        let light: Value = serde_json::from_str(&without_heavy_content(&heavy.to_string()).unwrap()).unwrap();
        assert_eq!(
            light,
            json!({"id": "x", "fragment": {"string": {"schema": {"migration": 0}}, "bytes": {}, "x_extra": 1}})
        );
        assert_eq!(
            fragment_text(&heavy.to_string()).as_deref(),
            Some("T\u{e9}xt \"q\"")
        );
        let plain = json!({"id": "x", "fragment": {"metadata": {"ext": "md"}}}).to_string();
        assert_eq!(without_heavy_content(&plain), None);
        assert_eq!(fragment_text(&plain), None);
        assert_eq!(without_heavy_content("\"not an object\""), None);
    }
}
