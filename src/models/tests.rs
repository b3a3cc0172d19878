//! Round trips of realistic, full-size bodies through every top-level model.
//!
//! Each test decodes a body as PiecesOS could send it, with keys this crate does not know at several
//! depths, and checks that encoding gives back the same JSON value.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::*;

/// Text that breaks naive handling: emoji sequences (ZWJ family, flag, skin tone, keycap), CJK, right-to-
/// left scripts, every kind of control character, a byte-order mark, line and paragraph separators, and
/// JSON's own escapes.
const HARD_TEXT: &str = "Family 👨‍👩‍👧‍👦, flag 🇯🇵, thumbs 👍🏽, keycap 1️⃣; 漢字かな한국어; \
     مرحبا بالعالم and שלום עולם; controls \u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}\u{85} tab\tnewline\n\
     return\r; bom \u{feff}; separators \u{2028}\u{2029}; quotes \"\\/ and </script>";

/// Decodes `wire` (from its text, as a client does), checks that it encodes back to the same value, both
/// as a `Value` and through text, and that decoding the encoded text gives the same model.
fn assert_round_trip<T>(wire: &Value) -> T
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string_pretty(wire).unwrap();
    let decoded: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&serde_json::to_value(&decoded).unwrap(), wire);

    let encoded = serde_json::to_string(&decoded).unwrap();
    assert_eq!(&serde_json::from_str::<Value>(&encoded).unwrap(), wire);
    assert_eq!(serde_json::from_str::<T>(&encoded).unwrap(), decoded);

    // The other ways in: bytes, a reader (keys are never borrowed), and an already-parsed value.
    assert_eq!(serde_json::from_slice::<T>(text.as_bytes()).unwrap(), decoded);
    assert_eq!(serde_json::from_reader::<_, T>(text.as_bytes()).unwrap(), decoded);
    // From a `Value`, untyped parts are compact text, so equal as JSON values rather than as text.
    let from_value = serde_json::from_value::<T>(wire.clone()).unwrap();
    assert_eq!(&serde_json::to_value(&from_value).unwrap(), wire);
    decoded
}

fn schema() -> Value {
    json!({"migration": 0, "semantic": "MAJOR_0_MINOR_0_PATCH_1"})
}

fn timestamp(value: &str) -> Value {
    json!({"value": value, "readable": "a while ago", "schema": schema()})
}

/// A full `Model` object as PiecesOS embeds it in a message.
fn model() -> Value {
    json!({
        "id": "e6f8a6f2-8b8a-4f0e-9c1d-3b4b1c6d7e8f",
        "version": "2024-11-20",
        "name": "GPT-4o",
        "cloud": true,
        "type": "BALANCED",
        "usage": "CONVERSATION",
        "created": timestamp("2024-11-20T10:00:00.000Z"),
        "foundation": "GPT_4O",
        "provider": "OPENAI",
        "unique": "gpt-4o",
        "description": "OpenAI's flagship model",
        "maxTokens": {"total": 128000, "input": 120000.5, "output": 8000, "schema": schema()},
        "capabilities": {"assets": true, "images": false, "temporal": true, "newCapability": "yes"},
        "bytes": {"value": 0, "readable": "0 B"},
        "ram": {"value": 17179869184_u64, "readable": "16 GB"},
        "parameters": 1.8e3,
        "quantization": "q4f16_1",
        "downloaded": false,
        "downloading": false,
        "loaded": false,
        "cpu": false,
        "custom": false,
        "denied": null,
        "schema": schema()
    })
}

/// A message with every documented field, unknown keys at several depths, and numbers and text that are
/// easy to corrupt.
fn full_message() -> Value {
    json!({
        "id": "8f14e45f-ceea-467f-a8f0-5b5c4d1e2b3a",
        "created": timestamp("2024-11-20T10:15:30.123456Z"),
        "updated": {"value": "2024-11-20T10:15:31+00:00", "timezoneHint": "Europe/Berlin"},
        "deleted": {"value": "2024-11-21T00:00:00.123456789Z"},
        "role": "ASSISTANT",
        "sentiment": "LIKE",
        "conversation": {
            "id": "c0ffee00-0000-4000-8000-000000000001",
            "reference": {"id": "c0ffee00-0000-4000-8000-000000000001", "name": "Lifetimes", "type": "COPILOT"},
            "schema": schema(),
            "pinned": true
        },
        "fragment": {
            "string": {
                "raw": HARD_TEXT,
                "schema": schema(),
                "encodingHint": ["utf-8", {"deep": {"deeper": [1, 2.5, null]}}]
            },
            "metadata": {"ext": "md", "languageConfidence": 0.1},
            "schema": schema(),
            "tokens": 1e-7
        },
        "model": model(),
        "score": {
            "automatic": 9007199254740993_u64,
            "manual": -42,
            "priority": 0,
            "reference": 3,
            "reuse": 1,
            "searched": 12,
            "update": 7,
            "schema": schema(),
            "decay": 0.1
        },
        "schema": {"migration": 12, "semantic": "MAJOR_0_MINOR_0_PATCH_1", "semanticHash": "abc"},
        "summaryRoot": {"id": "s1", "reference": {"id": "s1", "name": "Morning work", "events": {"iterable": []}}},
        "workstream_events": {
            "iterable": [{"id": "w1", "reference": {"id": "w1", "trigger": {"copy": true}}}, {"id": "w2"}],
            "indices": {"w1": 0, "w2": 1}
        },
        "tags": {"iterable": [{"id": "t1", "reference": {"id": "t1", "text": "rust", "mechanism": "MANUAL"}}]},
        "annotations": {
            "iterable": [{"id": "a1", "reference": {"id": "a1", "type": "SUMMARY", "text": "Ruled by 借用"}}],
            "indices": {"a1": 0},
            "score": {"automatic": 0, "manual": 0}
        },
        "websites": {"iterable": [{"id": "web1"}]},
        "anchors": {"iterable": []},
        "assets": {"iterable": [{"id": "as1", "reference": {"id": "as1", "name": "snippet.rs"}}]},
        "persons": {"iterable": [{"id": "p1"}]},
        "ranges": {"iterable": [{"id": "r1"}]},
        "messages": {"iterable": [{"id": "previous-message"}]},
        "sources": {"iterable": [{"id": "src1"}]},
        "summaries": {"iterable": [{"id": "s1"}]},
        "agent": {"group_id": "g1", "instance_id": "C-1", "role": "Thinking", "task": "Phase1"},
        "numbers": {
            "tenth": 0.1,
            "tiny": 1e-7,
            "beyond_f64_integers": 9007199254740993_u64,
            "u64_max": u64::MAX,
            "i64_min": i64::MIN,
            "largest": 1.7976931348623157e308,
            "smallest": 5e-324,
            "negative_zero": -0.0
        },
        "futureFeature": {"enabled": true, "nested": [{"unknownDeep": {"x": null}}]},
        "nullKeptAsIs": null
    })
}

#[test]
fn full_conversation_message_round_trips_exactly() {
    let wire = full_message();
    let message: ConversationMessage = assert_round_trip(&wire);

    assert_eq!(message.id, "8f14e45f-ceea-467f-a8f0-5b5c4d1e2b3a");
    assert_eq!(message.role, Role::Assistant);
    assert_eq!(message.sentiment, Some(Sentiment::Like));
    assert_eq!(message.text(), Some(HARD_TEXT));
    assert_eq!(message.conversation_id(), "c0ffee00-0000-4000-8000-000000000001");
    assert!(message.is_deleted());
    assert_eq!(message.created.value, "2024-11-20T10:15:30.123456Z");
    assert_eq!(message.created.unix_millis(), Some(1_732_097_730_123));
    assert_eq!(message.updated.extra["timezoneHint"], json!("Europe/Berlin"));
    assert_eq!(message.score.as_ref().unwrap().automatic, 9_007_199_254_740_993);
    assert_eq!(message.schema.as_ref().unwrap().migration, 12);
    assert_eq!(
        message.model.as_ref().unwrap().to_value().unwrap()["maxTokens"]["total"],
        128000
    );
    assert_eq!(
        message.summary_root.as_ref().unwrap().to_value().unwrap()["id"],
        "s1"
    );
    assert_eq!(
        message.workstream_events.as_ref().unwrap().to_value().unwrap()["indices"]["w2"],
        1
    );
    assert_eq!(message.conversation.extra["pinned"], json!(true));
    assert!(message
        .fragment
        .as_ref()
        .unwrap()
        .string
        .as_ref()
        .unwrap()
        .extra
        .contains_key("encodingHint"));
    assert_eq!(message.extra["nullKeptAsIs"], Value::Null);
    let mut extra_keys: Vec<_> = message.extra.keys().map(String::as_str).collect();
    extra_keys.sort_unstable();
    assert_eq!(extra_keys, ["futureFeature", "nullKeptAsIs", "numbers"]);

    // Numbers that a detour through f64 would change are written back digit for digit.
    let compact: ConversationMessage = serde_json::from_str(&wire.to_string()).unwrap();
    let text = serde_json::to_string(&compact).unwrap();
    assert!(text.contains("\"automatic\":9007199254740993"), "{text}");
    assert!(
        text.contains("\"beyond_f64_integers\":9007199254740993"),
        "{text}"
    );
    assert!(text.contains("\"u64_max\":18446744073709551615"), "{text}");
    assert!(text.contains("\"i64_min\":-9223372036854775808"), "{text}");
    assert!(text.contains("\"tenth\":0.1,"), "{text}");
    assert!(text.contains("\"tiny\":1e-7"), "{text}");
}

#[test]
fn null_optionals_in_a_full_message_equal_absent_ones() {
    let mut with_nulls = full_message();
    let mut without = full_message();
    for key in [
        "deleted",
        "model",
        "score",
        "sentiment",
        "summaryRoot",
        "tags",
        "agent",
    ] {
        with_nulls[key] = Value::Null;
        without.as_object_mut().unwrap().remove(key);
    }
    with_nulls["fragment"]["string"]["base64"] = Value::Null;
    let with_nulls: ConversationMessage = serde_json::from_value(with_nulls).unwrap();
    let without: ConversationMessage = serde_json::from_value(without.clone()).unwrap();
    assert_eq!(with_nulls, without);
    assert!(with_nulls.model.is_none() && with_nulls.summary_root.is_none());
    assert_eq!(
        serde_json::to_value(&with_nulls).unwrap(),
        serde_json::to_value(&without).unwrap()
    );
}

#[test]
fn unknown_role_and_sentiment_survive_a_round_trip() {
    let mut wire = full_message();
    wire["role"] = json!("ORCHESTRATOR");
    wire["sentiment"] = json!("LOVE");
    let message: ConversationMessage = assert_round_trip(&wire);
    assert_eq!(message.role, Role::Other("ORCHESTRATOR".into()));
    assert_eq!(message.sentiment, Some(Sentiment::Other("LOVE".into())));
}

#[test]
fn missing_id_is_an_error_that_names_it() {
    let mut wire = full_message();
    wire.as_object_mut().unwrap().remove("id");
    let text = serde_json::to_string_pretty(&wire).unwrap();
    let err = serde_json::from_str::<ConversationMessage>(&text).unwrap_err();
    assert!(
        err.to_string().starts_with("missing field `id` at line "),
        "{err}"
    );

    // Deep inside a list, the error still names the field.
    let body = json!({"iterable": [full_message(), {"id": "x", "role": "USER"}]});
    let err = serde_json::from_value::<ConversationMessages>(body).unwrap_err();
    assert!(err.to_string().starts_with("missing field `"), "{err}");
}

#[test]
fn conversation_messages_round_trip_with_deleted_indices() {
    let mut second = full_message();
    second["id"] = json!("second");
    second["role"] = json!("USER");
    second.as_object_mut().unwrap().remove("model");
    let wire = json!({
        "iterable": [full_message(), second],
        "indices": {"8f14e45f-ceea-467f-a8f0-5b5c4d1e2b3a": 0, "second": 1, "deleted-one": -1},
        "score": {"automatic": 1, "manual": 2, "pagination": {"cursor": "abc"}},
        "schema": schema(),
        "snapshotVersion": 3
    });
    let messages: ConversationMessages = assert_round_trip(&wire);
    assert_eq!(messages.iterable.len(), 2);
    assert_eq!(messages.iterable[1].role, Role::User);
    let indices = messages.indices.as_ref().unwrap();
    assert_eq!(indices["deleted-one"], -1);
    assert_eq!(indices["second"], 1);
    assert_eq!(
        messages.score.as_ref().unwrap().extra["pagination"]
            .to_value()
            .unwrap()["cursor"],
        "abc"
    );
    assert_eq!(messages.extra["snapshotVersion"], json!(3));
}

#[test]
fn searched_conversation_messages_round_trip() {
    let wire = json!({
        "iterable": [
            {"exact": false, "identifier": "8f14e45f-ceea-467f-a8f0-5b5c4d1e2b3a", "similarity": 0.8734,
             "temporal": false, "message": full_message(), "schema": schema(), "highlight": [[0, 4]]},
            {"exact": true, "identifier": "second", "similarity": 1},
            {"exact": false, "identifier": "third", "similarity": 0}
        ],
        "schema": schema(),
        "took_ms": 12
    });
    let results: SearchedConversationMessages = assert_round_trip(&wire);
    assert_eq!(
        results.iterable[0].message.as_ref().unwrap().text(),
        Some(HARD_TEXT)
    );
    assert_eq!(results.iterable[0].similarity_f64(), 0.8734);
    assert_eq!(results.iterable[1].similarity_f64(), 1.0);
    assert_eq!(results.iterable[0].extra["highlight"], json!([[0, 4]]));
    assert_eq!(results.extra["took_ms"], json!(12));
}

#[test]
fn streamed_identifiers_round_trip_with_deletions_and_other_kinds() {
    let wire = json!({
        "iterable": [
            {"conversationMessage": {"id": "m1"}},
            {"conversationMessage": {"id": "m2", "reference": {"id": "m2", "role": "USER"}},
             "deleted": true, "updated": timestamp("2024-11-20T10:15:30Z")},
            {"deleted": true, "conversationMessage": {"id": "m3", "schema": schema()}},
            {"asset": {"id": "a1", "reference": {"id": "a1", "name": "snippet"}}},
            {"conversation": {"id": "c1"}, "deleted": false},
            {"workstreamPatternEngineSource": {"id": "wpe1"}, "unknownKind": {"id": "u1"}}
        ],
        "schema": schema(),
        "frameSequence": 41
    });
    let frame: StreamedIdentifiers = assert_round_trip(&wire);
    let items = &frame.iterable;
    assert_eq!(items[0].message_id(), Some("m1"));
    assert!(!items[0].is_deleted());
    assert_eq!(items[1].message_id(), Some("m2"));
    assert!(items[1].is_deleted());
    assert_eq!(items[1].updated.as_ref().unwrap().value, "2024-11-20T10:15:30Z");
    assert!(items[2].is_deleted());
    assert_eq!(items[3].message_id(), None);
    assert_eq!(
        items[3].extra["asset"].to_value().unwrap()["reference"]["name"],
        "snippet"
    );
    assert_eq!(items[4].conversation.as_ref().unwrap().id, "c1");
    assert!(!items[4].is_deleted());
    assert_eq!(items[5].extra.len(), 2);
    assert_eq!(frame.extra["frameSequence"], json!(41));
}

#[test]
fn seeded_conversation_message_round_trips() {
    let wire = json!({
        "role": "USER",
        "fragment": {"string": {"raw": HARD_TEXT}, "metadata": {"ext": "txt"}, "attachments": []},
        "conversation": {"id": "c1", "schema": schema()},
        "created": timestamp("2024-11-20T10:15:30.1+00:00"),
        "model": model(),
        "sentiment": "DISLIKE",
        "agent": {"group_id": "g1"},
        "anchors": {"iterable": []},
        "assets": {"iterable": [{"id": "as1"}]},
        "messages": {"iterable": [{"id": "m0"}]},
        "ranges": {"iterable": []},
        "sources": {"iterable": []},
        "summaries": {"iterable": []},
        "tags": {"iterable": [{"id": "t1"}]},
        "workstream_events": {"iterable": [{"id": "w1"}]},
        "schema": schema(),
        "clientHint": {"plugin": "neovim", "version": 1.5}
    });
    let seed: SeededConversationMessage = assert_round_trip(&wire);
    assert_eq!(seed.role, Role::User);
    assert_eq!(seed.text(), Some(HARD_TEXT));
    assert_eq!(seed.conversation.as_ref().unwrap().id, "c1");
    assert_eq!(seed.model.as_ref().unwrap().to_value().unwrap()["name"], "GPT-4o");
    assert_eq!(seed.fragment.extra["attachments"], json!([]));
    assert_eq!(seed.extra["clientHint"].to_value().unwrap()["version"], 1.5);
}

#[test]
fn search_input_round_trips_with_unknown_keys_at_depth() {
    let wire = json!({
        "engines": {
            "iterable": [
                {"query": HARD_TEXT, "full_text": {"exact": false, "similarity": 0.1, "stemming": "en"}},
                {"operations": {
                    "type": "OR",
                    "iterable": [
                        {"query": "b", "embeddings": {"type": "NCS", "similarity": 1e-7, "topK": 9007199254740993_u64}},
                        {"temporal": {"created": {"from": {"value": "2024-01-01T00:00:00Z"}, "window": "week"}}}
                    ],
                    "limit": 10
                }}
            ],
            "type": "AND",
            "schema": schema()
        },
        "schema": schema(),
        "debug": true
    });
    let input: SearchInput = assert_round_trip(&wire);
    assert_eq!(input.engines.iterable[0].query.as_deref(), Some(HARD_TEXT));
    let nested = input.engines.iterable[1].operations.as_ref().unwrap();
    assert_eq!(nested.extra["limit"], json!(10));
    assert_eq!(
        nested.iterable[0].embeddings.as_ref().unwrap().extra["topK"].get(),
        "9007199254740993"
    );
    let created = nested.iterable[1]
        .temporal
        .as_ref()
        .unwrap()
        .created
        .as_ref()
        .unwrap();
    assert_eq!(created.extra["window"], json!("week"));
    assert_eq!(input.extra["debug"], json!(true));
}

#[test]
fn typed_keys_follow_the_wire_names() {
    assert!(ConversationMessage::TYPED_KEYS.contains(&"summaryRoot"));
    assert!(ConversationMessage::TYPED_KEYS.contains(&"workstream_events"));
    assert!(StreamedIdentifier::TYPED_KEYS.contains(&"conversationMessage"));
    assert!(SearchEngine::TYPED_KEYS.contains(&"full_text"));
    assert!(TransferableString::TYPED_KEYS.contains(&"base64_url"));
    assert_eq!(ConversationMessage::TYPED_KEYS.len(), 24);
    assert_eq!(SeededConversationMessage::TYPED_KEYS.len(), 16);
    assert_eq!(SearchEngines::TYPED_KEYS, ["iterable", "schema", "type"]);
}

/// Untyped JSON that `serde_json::Value` would change or refuse, at several depths: it comes back as the
/// same text.
#[test]
fn untyped_parts_and_extra_keep_their_exact_text() {
    let fragile = r#"{"n":123456789012345678901234567890,"d":0.1000000000000000055511151231257827021181583404541015625,"big":1e400,"z":-0.0,"e":1E+2,"dup":1,"dup":2,"s":"\ud800 \u00e9"}"#;
    let body = format!(
        r#"{{"iterable":[{{"id":"m","role":"USER","conversation":{{"id":"c","reference":{fragile}}},"created":{{"value":"t","x":{fragile}}},"updated":{{"value":"t"}},"model":{fragile},"tags":[ 1 , {fragile} ],"x_new":{fragile}}}],"x_top":{fragile}}}"#
    );
    let messages: ConversationMessages = serde_json::from_str(&body).unwrap();
    let message = &messages.iterable[0];
    for raw in [
        message.conversation.reference.as_ref().unwrap(),
        &message.created.extra["x"],
        message.model.as_ref().unwrap(),
        &message.extra["x_new"],
        &messages.extra["x_top"],
    ] {
        assert_eq!(raw.get(), fragile);
    }
    assert_eq!(message.tags.as_ref().unwrap().get(), format!("[ 1 , {fragile} ]"));
    let encoded = serde_json::to_string(&messages).unwrap();
    assert_eq!(encoded.matches(fragile).count(), 6, "{encoded}");
    assert_eq!(
        serde_json::from_str::<ConversationMessages>(&encoded).unwrap(),
        messages
    );
    // Parsing one on demand reports what `Value` cannot hold.
    assert!(message.model.as_ref().unwrap().to_value().is_err());
}
