//! From response bytes to a model, or to checked JSON text.
//!
//! Rust callers get typed models ([`decode`]). The C API hands the server's body out as it came, so it
//! must not pay for a decode and re-encode, nor alter a byte; [`checked_text`] instead runs the body
//! through a *shape*: a zero-sized mirror of the model's required paths that serde walks without building
//! anything. A body passes when it is valid UTF-8 JSON and every field the model requires is present with
//! the right JSON type; optional fields are skipped unexamined, exactly as a lossless model would keep them.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;

use crate::error::{Error, Result};

/// Decodes a response body into its model, naming the endpoint and the position on failure.
pub(crate) fn decode<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|err| Error::decode(endpoint, err))
}

/// Checks a response body against the shape `S` and returns it, unchanged, as text.
///
/// The text holds no NUL byte: it is valid JSON, where U+0000 can only appear escaped (a raw control
/// character inside a string is refused, and outside strings only whitespace and structure are allowed).
#[allow(unsafe_code)] // One unchecked conversion, after the whole body was checked.
pub(crate) fn checked_text<S: DeserializeOwned>(endpoint: &'static str, body: Vec<u8>) -> Result<String> {
    decode::<S>(endpoint, &body)?;
    // serde_json checks the UTF-8 of the strings it keeps (keys, required fields), not of those a shape
    // skips, so the whole body is checked here. With SIMD: `str::from_utf8` takes text rich in non-ASCII
    // (as message text is) almost byte by byte, and cost a third as much as the shape walk itself.
    if simdutf8::basic::from_utf8(&body).is_err() {
        // simdutf8's basic check says only whether; std's says where, for the error.
        if let Err(err) = std::str::from_utf8(&body) {
            return Err(Error::invalid_utf8(endpoint, err));
        }
    }
    // SAFETY: the whole body was just found to be valid UTF-8.
    Ok(unsafe { String::from_utf8_unchecked(body) })
}

/// Shapes of the response models, one per JSON-returning endpoint.
pub(crate) mod shapes {
    use super::{Flag, Number, Text};
    use serde::Deserialize;

    /// `ConversationMessages`: the snapshot.
    #[derive(Deserialize)]
    pub(crate) struct ConversationMessages {
        #[serde(rename = "iterable")]
        _iterable: Vec<ConversationMessage>,
    }

    /// `ConversationMessage`: what a create answers, and the items of a snapshot.
    #[derive(Deserialize)]
    pub(crate) struct ConversationMessage {
        #[serde(rename = "id")]
        _id: Text,
        #[serde(rename = "created")]
        _created: GroupedTimestamp,
        #[serde(rename = "updated")]
        _updated: GroupedTimestamp,
        #[serde(rename = "role")]
        _role: Text,
        #[serde(rename = "conversation")]
        _conversation: Referenced,
    }

    #[derive(Deserialize)]
    struct GroupedTimestamp {
        #[serde(rename = "value")]
        _value: Text,
    }

    #[derive(Deserialize)]
    struct Referenced {
        #[serde(rename = "id")]
        _id: Text,
    }

    /// `SearchedConversationMessages`: what a search answers.
    #[derive(Deserialize)]
    pub(crate) struct SearchedConversationMessages {
        #[serde(rename = "iterable")]
        _iterable: Vec<SearchedConversationMessage>,
    }

    #[derive(Deserialize)]
    struct SearchedConversationMessage {
        #[serde(rename = "exact")]
        _exact: Flag,
        #[serde(rename = "identifier")]
        _identifier: Text,
        #[serde(rename = "similarity")]
        _similarity: Number,
        #[serde(rename = "message", default)]
        _message: Option<ConversationMessage>,
    }
}

/// Generates a zero-sized type that accepts exactly one JSON type and keeps nothing of it.
macro_rules! json_type_check {
    ($name:ident, $expecting:literal, $deserialize:ident, $($visit:ident: $ty:ty),+) => {
        #[doc = concat!("Accepts ", $expecting, " and keeps nothing of it.")]
        pub(crate) struct $name;

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                struct Check(PhantomData<$name>);
                impl<'de> Visitor<'de> for Check {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    $(fn $visit<E: serde::de::Error>(self, _: $ty) -> std::result::Result<$name, E> {
                        Ok($name)
                    })+
                }
                deserializer.$deserialize(Check(PhantomData))
            }
        }
    };
}

json_type_check!(Text, "a string", deserialize_str, visit_str: &str, visit_borrowed_str: &'de str, visit_string: String);
json_type_check!(Flag, "a boolean", deserialize_bool, visit_bool: bool);
json_type_check!(Number, "a number", deserialize_f64, visit_f64: f64, visit_i64: i64, visit_u64: u64);

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = r#"{"id":"m1","created":{"value":"2024-01-01T00:00:00Z"},"updated":{"value":"2024-01-01T00:00:00.5+00:00","readable":"now"},"role":"USER","conversation":{"id":"c1"},"fragment":{"string":{"raw":"hi \u00e9 😀"}},"unknown":[1,{"x":null}]}"#;

    #[test]
    fn checked_text_returns_the_body_unchanged() {
        let body = format!(r#"{{"iterable":[{MESSAGE},{MESSAGE}],"indices":{{"m1":-1}}}}"#);
        let text =
            checked_text::<shapes::ConversationMessages>("messages_snapshot", body.clone().into_bytes())
                .unwrap();
        assert_eq!(text, body);
    }

    #[test]
    fn checked_text_names_a_missing_required_field_and_its_position() {
        let body = MESSAGE.replace(r#""role":"USER","#, "");
        let err =
            checked_text::<shapes::ConversationMessage>("messages_create_specific_message", body.into())
                .unwrap_err();
        match err {
            Error::Decode {
                endpoint,
                message,
                line,
                column,
                ..
            } => {
                assert_eq!(endpoint, "messages_create_specific_message");
                assert!(message.contains("missing field `role`"), "{message}");
                assert_eq!(line, 1);
                assert!(column > 0);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn checked_text_refuses_wrong_types_on_required_paths() {
        for (from, to, expected) in [
            (r#""id":"m1""#, r#""id":7"#, "expected a string"),
            (
                r#""created":{"value":"2024-01-01T00:00:00Z"}"#,
                r#""created":"2024""#,
                "struct GroupedTimestamp",
            ),
            (
                r#""conversation":{"id":"c1"}"#,
                r#""conversation":null"#,
                "struct Referenced",
            ),
        ] {
            let body = MESSAGE.replace(from, to);
            let err = checked_text::<shapes::ConversationMessage>("e", body.into()).unwrap_err();
            assert!(err.to_string().contains(expected), "{to}: {err}");
        }
        let err =
            checked_text::<shapes::ConversationMessages>("e", b"{\"iterable\": {}}".to_vec()).unwrap_err();
        assert!(err.to_string().contains("expected a sequence"), "{err}");
        let err =
            checked_text::<shapes::ConversationMessages>("e", b"{\"iterable\": []} x".to_vec()).unwrap_err();
        assert!(err.to_string().contains("trailing characters"), "{err}");
    }

    #[test]
    fn search_shape_checks_items_and_an_embedded_message() {
        let good = format!(
            r#"{{"iterable":[{{"exact":true,"identifier":"m1","similarity":1,"message":{MESSAGE}}},{{"exact":false,"identifier":"m2","similarity":0.25,"temporal":false}}]}}"#
        );
        checked_text::<shapes::SearchedConversationMessages>("search_messages", good.into()).unwrap();
        let bad = r#"{"iterable":[{"exact":"yes","identifier":"m1","similarity":1}]}"#;
        let err =
            checked_text::<shapes::SearchedConversationMessages>("search_messages", bad.into()).unwrap_err();
        assert!(err.to_string().contains("expected a boolean"), "{err}");
        let bad = r#"{"iterable":[{"exact":true,"identifier":"m1","similarity":1,"message":{"id":"m1"}}]}"#;
        let err =
            checked_text::<shapes::SearchedConversationMessages>("search_messages", bad.into()).unwrap_err();
        assert!(err.to_string().contains("missing field `created`"), "{err}");
    }

    #[test]
    fn checked_text_refuses_invalid_utf8_and_non_json() {
        let mut body = br#"{"iterable":[],"x":""#.to_vec();
        body.extend_from_slice(&[0xff, b'"', b'}']);
        assert!(checked_text::<shapes::ConversationMessages>("e", body).is_err());
        assert!(checked_text::<shapes::ConversationMessages>("e", b"<html>".to_vec()).is_err());
        assert!(checked_text::<shapes::ConversationMessages>("e", Vec::new()).is_err());
    }
}
