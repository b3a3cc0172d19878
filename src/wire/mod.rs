//! From response bytes to a model, or to checked JSON text.
//!
//! Rust callers get typed models ([`decode`]). The C API hands the server's body out as it came, so it
//! must not pay for a decode and re-encode, nor alter a byte; [`checked_text`] instead runs the body
//! through the model's *check*, generated with its decode from the same declaration
//! ([`Field`](crate::models::field::Field)): it walks the body exactly as the decode does, failing where
//! it fails, and builds nothing ([`scan`] reads the JSON by serde_json's rules). So a body is OK for the
//! JSON-text forms exactly when the typed forms would decode it, and when it is not, both fail with the
//! same error.
//!
//! The typed decode walks the body the same way, building as it goes (`Field::build`), because
//! serde_json's own string reading was most of a snapshot's decode; serde_json decodes only a body the
//! walk refuses, to say why. Both must build the same model: the unit tests here and the fuzz target
//! `check_vs_decode` compare them.

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::models::field::Field;

pub(crate) mod scan;
mod simd;

/// Decodes a response body into its model, naming the endpoint and the position on failure.
pub(crate) fn decode<T: Field + DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T> {
    let text = utf8(endpoint, body)?;
    match built(text) {
        Some(model) => Ok(model),
        // Refused: serde_json says why (and decides, should the two ever disagree).
        None => serde_json::from_str(text).map_err(|err| Error::decode(endpoint, err)),
    }
}

/// The model `M` built from `text` by its own walk ([`Field::build`], the check's reader building as it
/// goes), or `None` where the check would refuse the text.
///
/// It builds what serde_json builds from the same text (the fuzz target `check_vs_decode` compares
/// them), in 27 % fewer instructions on the stand-in's snapshots: serde_json looks for the end of a
/// string 8 bytes at a time and stops at every escape, which in message text was most of a snapshot's
/// decode (BENCHMARKS.md, "Where a typed snapshot goes").
fn built<M: Field>(text: &str) -> Option<M> {
    let mut scanner = scan::Scanner::new(text);
    let model = M::build(&mut scanner).ok()?;
    scanner.end().ok()?;
    Some(model)
}

/// The body as text, after one pass over all of it.
///
/// serde_json reading bytes checks the UTF-8 of each string it keeps with `str::from_utf8`, which takes
/// text rich in non-ASCII (as message text is) almost byte by byte: that was a quarter of a snapshot's
/// decode. Reading text, it checks nothing again, so the whole body is checked first, with SIMD.
fn utf8<'a>(endpoint: &'static str, body: &'a [u8]) -> Result<&'a str> {
    if let Ok(text) = simdutf8::basic::from_utf8(body) {
        return Ok(text);
    }
    // Slow, but only for a body that is refused anyway: where the first invalid byte is.
    std::str::from_utf8(body).map_err(|err| {
        let at = err.valid_up_to();
        let before = &body[..at];
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        Error::Decode {
            endpoint,
            message: format!("invalid UTF-8 at byte {at}"),
            line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
            column: 1 + before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count(),
            source: Some(Box::new(err)),
        }
    })
}

/// Checks that a response body decodes as the model `M` and returns it, unchanged, as text.
///
/// The text holds no NUL byte: it is valid JSON, where U+0000 can only appear escaped (a raw control
/// character inside a string is refused, and outside strings only whitespace and structure are allowed).
#[allow(unsafe_code)] // One unchecked conversion, after the whole body was checked.
pub(crate) fn checked_text<M: Field + DeserializeOwned>(
    endpoint: &'static str,
    body: Vec<u8>,
) -> Result<String> {
    // As `decode`: one UTF-8 pass, then the check reads text. (Checking the UTF-8 a block at a time just
    // ahead of the walk, so that a body of tens of MB is read from memory once, was measured and gained
    // nothing: BENCHMARKS.md, "Decoding and checking".)
    let accepted = simdutf8::basic::from_utf8(&body).is_ok_and(accepts::<M>);
    if !accepted {
        return Err(rejection::<M>(endpoint, &body));
    }
    // SAFETY: the whole body was just found to be valid UTF-8.
    Ok(unsafe { String::from_utf8_unchecked(body) })
}

/// Whether `text` decodes as the model `M`, found by its check, which builds nothing: for JSON text a
/// caller hands in, which is sent as it is once it passes.
pub(crate) fn accepts<M: Field>(text: &str) -> bool {
    let mut scanner = scan::Scanner::new(text);
    M::check(&mut scanner).and_then(|()| scanner.end()).is_ok()
}

/// The error for a body the check refused: the decode's own, message and position, so that the JSON-text
/// forms and the typed forms fail alike. Only refused bodies pay for the decode.
#[cold]
fn rejection<M: Field + DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Error {
    match decode::<M>(endpoint, body) {
        Err(err) => err,
        // The check and the decode accept the same language (tests and the fuzz target `check_vs_decode`
        // hold them to it); should they ever differ, the body is still refused.
        Ok(_) => {
            debug_assert!(false, "the check refused a body that decodes");
            Error::Internal {
                what: "check a body of this endpoint",
                reason: format!("{endpoint}: the JSON-text check refused a body that decodes"),
                source: None,
            }
        }
    }
}

/// Not part of the API: every model's decode, check and round trip by name, for the fuzz targets
/// (`fuzz/`) and the decode bench (`benches/decode.rs`), which must reach the JSON-text check. Re-exported
/// hidden as `pieces_os_client::__private`; it may change in any release.
pub mod internals {
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    use crate::error::Result;
    use crate::models::field::Field;
    use crate::models::*;

    /// The endpoint name in the errors of these functions.
    const ENDPOINT: &str = "body";

    macro_rules! models {
        ($($model:ident),* $(,)?) => {
            /// A model a body can be checked against.
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub enum Model {
                $(
                    #[doc = concat!("[`", stringify!($model), "`]")]
                    $model,
                )*
            }

            impl Model {
                /// Every model.
                pub const ALL: &'static [Model] = &[$(Model::$model),*];

                /// `wire::checked_text` against this model.
                pub fn checked_text(self, body: Vec<u8>) -> Result<String> {
                    match self {
                        $(Model::$model => super::checked_text::<$model>(ENDPOINT, body),)*
                    }
                }

                /// `wire::decode` into this model, keeping nothing.
                pub fn decode(self, body: &[u8]) -> Result<()> {
                    match self {
                        $(Model::$model => super::decode::<$model>(ENDPOINT, body).map(drop),)*
                    }
                }

                /// Builds this model with its own walk and with serde_json, and compares the two.
                pub fn build_vs_serde(self, body: &[u8]) -> std::result::Result<(), String> {
                    match self {
                        $(Model::$model => build_vs_serde::<$model>(body),)*
                    }
                }

                /// Decodes, encodes and decodes again. `Ok(false)` when the body does not decode; an
                /// error describes a round trip that lost or changed something.
                pub fn round_trip(self, body: &[u8]) -> std::result::Result<bool, String> {
                    match self {
                        $(Model::$model => round_trip::<$model>(body),)*
                    }
                }
            }
        };
    }

    models!(
        ConversationMessage,
        ConversationMessages,
        SeededConversationMessage,
        SearchInput,
        SearchEngines,
        SearchEngine,
        SearchedConversationMessages,
        SearchedConversationMessage,
        StreamedIdentifiers,
        StreamedIdentifier,
        GroupedTimestamp,
        FragmentFormat,
        ReferencedConversation,
        ReferencedConversationMessage,
        EmbeddedModelSchema,
        Score,
    );

    /// `wire::decode` of a snapshot: what `Client::snapshot_messages` runs on a body.
    pub fn decode(body: &[u8]) -> Result<ConversationMessages> {
        super::decode(ENDPOINT, body)
    }

    /// Builds `M` from `body` by its own walk and by serde_json, and compares: an error describes a body
    /// the two read differently (one built what the other refused, or they built different values).
    fn build_vs_serde<M>(body: &[u8]) -> std::result::Result<(), String>
    where
        M: Field + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let Ok(text) = std::str::from_utf8(body) else {
            return Ok(());
        };
        let built = super::built::<M>(text);
        let decoded = serde_json::from_str::<M>(text);
        match (built, decoded) {
            (Some(built), Ok(decoded)) if built == decoded => Ok(()),
            (Some(built), Ok(decoded)) => Err(format!("built {built:?}, serde_json {decoded:?}")),
            (Some(built), Err(err)) => Err(format!("built {built:?}, serde_json refused: {err}")),
            (None, Ok(decoded)) => Err(format!("refused, serde_json built {decoded:?}")),
            (None, Err(_)) => Ok(()),
        }
    }

    fn round_trip<M>(body: &[u8]) -> std::result::Result<bool, String>
    where
        M: Field + DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
    {
        let Ok(first) = super::decode::<M>(ENDPOINT, body) else {
            return Ok(false);
        };
        let encoded = serde_json::to_vec(&first).map_err(|err| format!("encode failed: {err}"))?;
        let second = super::decode::<M>(ENDPOINT, &encoded).map_err(|err| {
            format!(
                "the encoded text does not decode: {err}: {}",
                String::from_utf8_lossy(&encoded)
            )
        })?;
        if second != first {
            return Err(format!("decoded again, it differs: {first:?} then {second:?}"));
        }
        let again = serde_json::to_vec(&second).map_err(|err| format!("second encode failed: {err}"))?;
        if again != encoded {
            return Err("encoded twice, the texts differ".into());
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{ConversationMessage, ConversationMessages, SearchedConversationMessages};

    const MESSAGE: &str = r#"{"id":"m1","created":{"value":"2024-01-01T00:00:00Z"},"updated":{"value":"2024-01-01T00:00:00.5+00:00","readable":"now"},"role":"USER","conversation":{"id":"c1"},"fragment":{"string":{"raw":"hi \u00e9 😀"}},"unknown":[1,{"x":null}]}"#;

    #[test]
    fn checked_text_returns_the_body_unchanged() {
        let body = format!(r#"{{"iterable":[{MESSAGE},{MESSAGE}],"indices":{{"m1":-1}}}}"#);
        let text =
            checked_text::<ConversationMessages>("messages_snapshot", body.clone().into_bytes()).unwrap();
        assert_eq!(text, body);
    }

    #[test]
    fn checked_text_names_a_missing_required_field_and_its_position() {
        let body = MESSAGE.replace(r#""role":"USER","#, "");
        let err =
            checked_text::<ConversationMessage>("messages_create_specific_message", body.into()).unwrap_err();
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
                "expected a GroupedTimestamp object",
            ),
            (
                r#""conversation":{"id":"c1"}"#,
                r#""conversation":null"#,
                "expected a ReferencedConversation object",
            ),
        ] {
            let body = MESSAGE.replace(from, to);
            let err = checked_text::<ConversationMessage>("e", body.into()).unwrap_err();
            assert!(err.to_string().contains(expected), "{to}: {err}");
        }
        let err = checked_text::<ConversationMessages>("e", b"{\"iterable\": {}}".to_vec()).unwrap_err();
        assert!(err.to_string().contains("expected a sequence"), "{err}");
        let err = checked_text::<ConversationMessages>("e", b"{\"iterable\": []} x".to_vec()).unwrap_err();
        assert!(err.to_string().contains("trailing characters"), "{err}");
    }

    #[test]
    fn search_shape_checks_items_and_an_embedded_message() {
        let good = format!(
            r#"{{"iterable":[{{"exact":true,"identifier":"m1","similarity":1,"message":{MESSAGE}}},{{"exact":false,"identifier":"m2","similarity":0.25,"temporal":false}}]}}"#
        );
        checked_text::<SearchedConversationMessages>("search_messages", good.into()).unwrap();
        let bad = r#"{"iterable":[{"exact":"yes","identifier":"m1","similarity":1}]}"#;
        let err = checked_text::<SearchedConversationMessages>("search_messages", bad.into()).unwrap_err();
        assert!(err.to_string().contains("expected a boolean"), "{err}");
        let bad = r#"{"iterable":[{"exact":true,"identifier":"m1","similarity":1,"message":{"id":"m1"}}]}"#;
        let err = checked_text::<SearchedConversationMessages>("search_messages", bad.into()).unwrap_err();
        assert!(err.to_string().contains("missing field `conversation`"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_placed_by_line_and_character() {
        let mut body = "{\"iterable\": [],\n \"é\": \"".as_bytes().to_vec();
        body.extend_from_slice(&[0xe2, 0x82, b'"', b'}']);
        let err = checked_text::<ConversationMessages>("e", body).unwrap_err();
        assert_eq!(
            err.to_string(),
            "e returned a body that does not decode: invalid UTF-8 at byte 25 at line 2 column 8"
        );
    }

    #[test]
    fn checked_text_refuses_invalid_utf8_and_non_json() {
        let mut body = br#"{"iterable":[],"x":""#.to_vec();
        body.extend_from_slice(&[0xff, b'"', b'}']);
        assert!(checked_text::<ConversationMessages>("e", body).is_err());
        assert!(checked_text::<ConversationMessages>("e", b"<html>".to_vec()).is_err());
        assert!(checked_text::<ConversationMessages>("e", Vec::new()).is_err());
    }

    /// Runs the check and the typed decode on `body` and asserts that they agree: both accept, or both
    /// refuse with the same error; and that the model's own walk builds what serde_json builds. Returns
    /// whether the body was accepted.
    fn same_verdict<M>(body: &[u8]) -> bool
    where
        M: Field + DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
    {
        if let Ok(text) = std::str::from_utf8(body) {
            let by_serde_json = serde_json::from_str::<M>(text).ok();
            assert_eq!(built::<M>(text), by_serde_json, "{text}");
        }
        let checked = checked_text::<M>("e", body.to_vec());
        let decoded = decode::<M>("e", body);
        match (&checked, &decoded) {
            (Ok(text), Ok(_)) => assert_eq!(text.as_bytes(), body),
            (Err(checked), Err(decoded)) => assert_eq!(checked.to_string(), decoded.to_string()),
            _ => panic!(
                "check {:?} but decode {:?} for {}",
                checked.as_ref().map(drop),
                decoded.as_ref().map(drop),
                String::from_utf8_lossy(body)
            ),
        }
        checked.is_ok()
    }

    /// A snapshot whose first message has `key: value` spliced in (`key` may also replace a typed key,
    /// as the last of two: which makes it a repeated key).
    fn snapshot_with(key_and_value: &str) -> String {
        let message = MESSAGE.replacen('{', &format!("{{{key_and_value},"), 1);
        format!(r#"{{"iterable":[{message}],"indices":{{"m1":0}}}}"#)
    }

    #[test]
    fn the_check_refuses_what_the_decode_refuses() {
        let deep_search = format!(
            r#"{{"iterable":[{{"exact":true,"identifier":"m","similarity":1,"message":{}}}]}}"#,
            MESSAGE.replace(
                r#""conversation":{"id":"c1"}"#,
                r#""conversation":{"id":"c1","reference":null}"#
            )
        );
        let refused: Vec<(&str, String)> = vec![
            ("repeated typed key", snapshot_with(r#""id":"m0""#)),
            (
                "repeated null optional",
                snapshot_with(r#""model":null,"model":{}"#),
            ),
            ("repeated unknown key", snapshot_with(r#""novel":1,"novel":2"#)),
            (
                "repeated key with an escape",
                snapshot_with(r#""novel":1,"nov\u0065l":2"#),
            ),
            (
                "repeated key in a nested object",
                MESSAGE.replace(r#""readable":"now""#, r#""readable":"now","readable":"then""#),
            ),
            ("wrong-typed optional", snapshot_with(r#""sentiment":7"#)),
            ("wrong-typed optional object", snapshot_with(r#""score":[]"#)),
            (
                "optional object missing a required field",
                snapshot_with(r#""score":{"automatic":1}"#),
            ),
            (
                "optional object, nested required",
                snapshot_with(r#""fragment":{"string":{"schema":{"migration":0}}}"#),
            ),
            ("wrong-typed indices", r#"{"iterable":[],"indices":[]}"#.into()),
            (
                "wrong-typed index",
                r#"{"iterable":[],"indices":{"m":"0"}}"#.into(),
            ),
            (
                "repeated index",
                r#"{"iterable":[],"indices":{"m":0,"m":1}}"#.into(),
            ),
            (
                "index beyond i64",
                r#"{"iterable":[],"indices":{"m":9223372036854775808}}"#.into(),
            ),
            (
                "fractional count",
                snapshot_with(r#""score":{"automatic":1.0,"manual":0}"#),
            ),
            (
                "count beyond f64",
                snapshot_with(r#""score":{"automatic":1e400,"manual":0}"#),
            ),
            (
                "lone leading surrogate in a typed string",
                MESSAGE.replace("hi ", r"hi \ud800 "),
            ),
            (
                "lone trailing surrogate in a typed string",
                MESSAGE.replace("hi ", r"hi \udc00 "),
            ),
            (
                "broken surrogate pair",
                MESSAGE.replace("hi ", r"hi \ud800\u0041 "),
            ),
            ("surrogate in a key", snapshot_with(r#""\ud800":1"#)),
            ("invalid escape in an untyped part", snapshot_with(r#""x":"\q""#)),
            (
                "control character in an untyped part",
                snapshot_with("\"x\":\"\u{1}\""),
            ),
            ("trailing comma in an untyped part", snapshot_with(r#""x":[1,]"#)),
            ("unknown role type", snapshot_with(r#""role":null"#)),
            ("required null", MESSAGE.replace(r#""id":"m1""#, r#""id":null"#)),
            ("trailing text", format!("{} x", snapshot_with(r#""x":1"#))),
            ("empty body", String::new()),
            (
                "search similarity beyond f64",
                r#"{"iterable":[{"exact":true,"identifier":"m","similarity":1e400}]}"#.into(),
            ),
            (
                "search message missing a field",
                deep_search.replace(r#""id":"m1","#, ""),
            ),
        ];
        for (what, body) in &refused {
            let accepted = if body.contains("\"exact\"") {
                same_verdict::<SearchedConversationMessages>(body.as_bytes())
            } else if body.starts_with("{\"iterable\"") || body.is_empty() {
                same_verdict::<ConversationMessages>(body.as_bytes())
            } else {
                same_verdict::<ConversationMessage>(body.as_bytes())
            };
            assert!(!accepted, "{what}: {body}");
        }
        // Nesting: a search's engines nest without end in the model; serde_json's recursion limit stops
        // the decode and the check at the same depth.
        for depth in [10, 40, 41, 42, 43, 200] {
            let body = format!(
                r#"{}{{"iterable":[]}}{}"#,
                r#"{"iterable":[{"operations":"#.repeat(depth),
                "}]}".repeat(depth)
            );
            let accepted = same_verdict::<crate::models::SearchEngines>(body.as_bytes());
            assert_eq!(accepted, depth <= 41, "depth {depth}");
        }
        // Invalid UTF-8 in an untyped part, which only the UTF-8 pass sees.
        let mut body = snapshot_with(r#""x":"AB""#).into_bytes();
        let at = body.windows(2).position(|w| w == b"AB").unwrap();
        body[at] = 0xff;
        assert!(!same_verdict::<ConversationMessages>(&body));
    }

    /// The model's own walk builds the stand-in's realistic messages (code, escapes of every kind,
    /// non-ASCII text, deep untyped parts) exactly as serde_json does, compact and pretty-printed.
    #[cfg(feature = "server")]
    #[test]
    fn the_walk_builds_realistic_snapshots_as_serde_json_does() {
        let messages: Vec<serde_json::Value> = (0..300)
            .map(|index| crate::server::seed::realistic_message(index, 7))
            .collect();
        let indices: serde_json::Map<String, serde_json::Value> = messages
            .iter()
            .enumerate()
            .map(|(at, message)| (message["id"].as_str().unwrap().to_owned(), at.into()))
            .collect();
        let snapshot = serde_json::json!({"iterable": messages, "indices": indices});
        for text in [
            serde_json::to_string(&snapshot).unwrap(),
            serde_json::to_string_pretty(&snapshot).unwrap(),
        ] {
            let built = built::<ConversationMessages>(&text).expect("the walk builds the snapshot");
            let by_serde_json: ConversationMessages = serde_json::from_str(&text).unwrap();
            assert_eq!(built.iterable.len(), 300);
            assert_eq!(built, by_serde_json);
        }
    }

    #[test]
    fn the_check_accepts_what_the_decode_accepts() {
        let accepted = [
            snapshot_with(r#""x":{"a":1,"a":2}"#),
            snapshot_with(r#""x":"\ud800""#),
            snapshot_with(r#""model":{"n":123456789012345678901234567890,"f":1e400,"z":-0.0}"#),
            snapshot_with(&format!(r#""x":{}1{}"#, "[".repeat(500), "]".repeat(500))),
            snapshot_with(r#""sentiment":null,"score":null,"x":null"#),
            snapshot_with(r#""nov\u0065l":1,"novel2":2"#),
            snapshot_with(r#""role":"CRITIC""#.replace("CRITIC", r"US\u0045R").as_str()).replacen(
                r#""role":"USER","#,
                "",
                1,
            ),
            format!(" \n\t\r{} \n", snapshot_with(r#""x":1"#)),
            r#"{"iterable":[],"indices":{"a":-1,"b":9223372036854775807}}"#.into(),
        ];
        for body in &accepted {
            assert!(same_verdict::<ConversationMessages>(body.as_bytes()), "{body}");
        }
    }
}
