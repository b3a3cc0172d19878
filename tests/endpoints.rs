//! The four HTTP endpoints against the stand-in PiecesOS: what they return, and what they put on the wire.

mod common;

use common::{client_for, server_with, user_seed};
use pieces_os_client::models::{ConversationMessage, Role, SearchInput};
use pieces_os_client::{Client, ClientConfig, Error, Transferables};
use serde_json::{json, Value};

#[test]
fn create_snapshot_search_delete() {
    let server = server_with(0);
    let client = client_for(&server);

    let created = client
        .create_message(
            &user_seed("conv-1", "How do I reverse a Vec in Rust?"),
            Transferables::Default,
        )
        .unwrap();
    assert_eq!(created.role, Role::User);
    assert_eq!(created.conversation.id, "conv-1");
    assert_eq!(created.text(), Some("How do I reverse a Vec in Rust?"));
    assert!(!created.id.is_empty());
    assert_eq!(server.message_ids(), vec![created.id.clone()]);

    let other = client
        .create_message(&user_seed("conv-1", "Unrelated words"), Transferables::Default)
        .unwrap();

    let snapshot = client.snapshot_messages(Transferables::Default).unwrap();
    let ids: Vec<&str> = snapshot.iterable.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, vec![created.id.as_str(), other.id.as_str()]);
    assert_eq!(snapshot.iterable[0], created);

    let found = client
        .search_messages(&SearchInput::query("REVERSE a vec"), Transferables::Include)
        .unwrap();
    assert_eq!(found.iterable.len(), 1);
    let hit = &found.iterable[0];
    assert_eq!(hit.identifier, created.id);
    assert!(!hit.exact, "the case differs, so the match is not exact");
    assert_eq!(
        hit.message.as_ref().and_then(ConversationMessage::text),
        created.text()
    );

    client.delete_message(&created.id).unwrap();
    assert_eq!(server.message_ids(), vec![other.id.clone()]);
    let err = client.delete_message(&created.id).unwrap_err();
    assert_eq!(err.http_status(), Some(500), "{err}");
}

#[test]
fn transferables_is_a_tri_state_on_the_wire() {
    let server = server_with(3);
    let client = client_for(&server);
    let seed = user_seed("conv-t", "transferable text");
    let search = SearchInput::query("text");
    for (choice, query) in [
        (Transferables::Default, ""),
        (Transferables::Include, "?transferables=true"),
        (Transferables::Exclude, "?transferables=false"),
    ] {
        server.clear_requests();
        let snapshot = client.snapshot_messages(choice).unwrap();
        let created = client.create_message(&seed, choice).unwrap();
        client.search_messages(&search, choice).unwrap();
        let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
        assert_eq!(
            targets,
            vec![
                format!("/messages{query}"),
                format!("/messages/create{query}"),
                format!("/messages/search{query}"),
            ]
        );
        // Exclude leaves the heavy content out; ids, timestamps and roles stay.
        let has_text = created.text().is_some();
        assert_eq!(has_text, choice != Transferables::Exclude, "{choice:?}");
        assert!(snapshot.iterable.iter().all(|m| !m.id.is_empty()));
        assert_eq!(
            snapshot.iterable.iter().all(|m| m.text().is_none()),
            choice == Transferables::Exclude,
            "{choice:?}"
        );
    }
}

#[test]
fn post_bodies_are_json_and_the_api_key_is_sent() {
    let server = server_with(0);
    let client = Client::new(
        ClientConfig::default()
            .with_base_url(server.url())
            .with_application_id("plugin-42"),
    )
    .unwrap();
    client
        .create_message(&user_seed("c", "hello"), Transferables::Default)
        .unwrap();
    let requests = server.requests();
    let create = &requests[0];
    assert_eq!(create.method, "POST");
    let header = |name: &str| {
        create
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("x-application-id").as_deref(), Some("plugin-42"));
    assert!(create.body_len > 0);
}

#[test]
fn an_id_that_looks_like_a_path_reaches_the_server_as_one_segment() {
    let server = server_with(0);
    let client = client_for(&server);
    for id in ["a/../b?x#y%20", "..", "with space é", "100%"] {
        let mut message = realistic_message(id);
        message["id"] = json!(id);
        server.insert_message(message);
        assert!(server.message_ids().contains(&id.to_owned()));
        server.clear_requests();
        client.delete_message(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(
            !server.message_ids().contains(&id.to_owned()),
            "{id} was not deleted"
        );
        let target = &server.requests()[0].target;
        assert!(
            target.starts_with("/messages/") && target.ends_with("/delete"),
            "{target}"
        );
        let segment = &target["/messages/".len()..target.len() - "/delete".len()];
        assert!(!segment.contains(['/', '?', '#']), "{segment}");
    }
}

#[test]
fn a_realistic_message_survives_a_round_trip_through_the_models() {
    let server = server_with(0);
    let client = client_for(&server);
    let original = realistic_message("round-trip");
    server.insert_message(original.clone());

    let snapshot = client.snapshot_messages(Transferables::Default).unwrap();
    assert_eq!(serde_json::to_value(&snapshot.iterable[0]).unwrap(), original);

    // And the seeded messages, with their unmodelled fields and hard Unicode, survive too.
    server.seed_realistic(50);
    let snapshot = client.snapshot_messages(Transferables::Default).unwrap();
    assert_eq!(snapshot.iterable.len(), 51);
    for message in &snapshot.iterable {
        let stored = server.message(&message.id).expect("the server has it");
        assert_eq!(serde_json::to_value(message).unwrap(), stored, "{}", message.id);
    }
}

#[test]
fn json_forms_return_the_servers_bytes_unchanged() {
    let server = server_with(20);
    let client = client_for(&server);
    let raw = raw_get(&format!("{}/messages", server.url()));
    let text = client.snapshot_messages_json(Transferables::Default).unwrap();
    assert_eq!(text, raw);

    let seed = r#"{"role":"USER","fragment":{"string":{"raw":"json form ✓"}},"conversation":{"id":"c"},"x_kept":[1,2]}"#;
    let created = client.create_message_json(seed, Transferables::Default).unwrap();
    let created: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["x_kept"], json!([1, 2]), "the seed was sent as given");
    assert_eq!(created["fragment"]["string"]["raw"], "json form ✓");

    let found = client
        .search_messages_json(
            r#"{"engines":{"iterable":[{"query":"json form"}]}}"#,
            Transferables::Exclude,
        )
        .unwrap();
    let found: Value = serde_json::from_str(&found).unwrap();
    assert_eq!(found["iterable"][0]["identifier"], created["id"]);
}

#[test]
fn clones_share_one_pool_of_kept_alive_connections() {
    let server = server_with(0);
    let client = client_for(&server);
    let clone = client.clone();
    for _ in 0..10 {
        client.snapshot_messages(Transferables::Exclude).unwrap();
        clone.snapshot_messages(Transferables::Exclude).unwrap();
    }
    let connections = server.connections_accepted();
    assert_eq!(connections, 1, "20 sequential calls should reuse one connection");
}

/// A complete message in the wire format, with fields no model of ours types, at several depths.
fn realistic_message(id: &str) -> Value {
    json!({
        "schema": {"migration": 0, "semantic": "MAJOR_0_MINOR_0_PATCH_1"},
        "id": id,
        "created": {"value": "2024-05-01T10:00:00.123456789Z", "readable": "May 1"},
        "updated": {"value": "2024-05-01T10:00:01+00:00"},
        "role": "ASSISTANT",
        "conversation": {"id": "conv-rt", "reference": {"id": "conv-rt", "x_deep": true}},
        "fragment": {"string": {"raw": "```rust\nfn main() {}\n```\n👩‍💻 中文 עברית \u{1}\t"}, "metadata": {"ext": "rs"}},
        "model": {"id": "model-1", "version": "1.0", "name": "GPT", "cloud": true, "type": "BALANCED",
                  "usage": "CODE", "created": {"value": "2023-01-01T00:00:00Z"}, "x_model_extra": 0.1},
        "score": {"manual": 0, "automatic": 3, "priority": 2, "x_weight": 1e-7},
        "sentiment": "LIKE",
        "summaryRoot": {"id": "s1"},
        "workstream_events": {"iterable": [{"id": "w1"}]},
        "annotations": {"indices": {"a1": 0}, "iterable": [{"id": "a1"}]},
        "tags": {"iterable": []},
        "x_unknown_top": {"nested": [1, 9007199254740993u64, null, "x"]}
    })
}

/// The body of a GET as bytes-on-the-wire text, read without our client.
fn raw_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    String::from_utf8(response[split + 4..].to_vec()).unwrap()
}

#[test]
fn a_server_error_body_reaches_the_caller() {
    let server = server_with(0);
    let client = client_for(&server);
    let seed = r#"{"role":"USER","fragment":{"string":{"raw":"no conversation"}}}"#;
    let err = client
        .create_message_json(seed, Transferables::Default)
        .unwrap_err();
    match &err {
        Error::HttpStatus {
            endpoint,
            status,
            body,
        } => {
            assert_eq!(*endpoint, "messages_create_specific_message");
            assert_eq!(*status, 500);
            assert!(body.contains("conversation"), "{body}");
        }
        other => panic!("unexpected {other:?}"),
    }
}
