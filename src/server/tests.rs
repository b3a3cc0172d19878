//! Tests of the whole server over real sockets on 127.0.0.1: raw HTTP through `TcpStream`, WebSockets
//! through tungstenite's client. Every socket has a timeout and every loop a bound, so a bug fails a test
//! instead of hanging it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

use super::*;

const TIMEOUT: Duration = Duration::from_secs(10);

fn start(config: ServerConfig) -> Server {
    Server::start(config).expect("server starts")
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// A parsed HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    fn json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"), "{self:?}");
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Asserts a text/plain error with this status, returning its text.
    fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), Some("text/plain; charset=utf-8"));
        self.text()
    }
}

/// Reads one answer from `stream`, leaving `carry` holding any bytes after it. `head_only` for answers
/// to HEAD, which announce a length but send no body.
fn read_answer(stream: &mut TcpStream, carry: &mut Vec<u8>, head_only: bool) -> Answer {
    let mut chunk = [0u8; 65_536];
    for _ in 0..100_000 {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(used) = response.parse(carry).expect("valid answer head") {
            let status = response.code.unwrap();
            let headers: Vec<(String, String)> = response
                .headers
                .iter()
                .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                .collect();
            carry.drain(..used);
            if status == 100 {
                return read_answer(stream, carry, head_only);
            }
            let length = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse::<usize>().unwrap());
            let length = if head_only || status == 204 || status == 101 {
                0
            } else {
                length.expect("Content-Length")
            };
            while carry.len() < length {
                let n = stream.read(&mut chunk).expect("read body");
                assert!(n > 0, "connection closed inside the body");
                carry.extend_from_slice(&chunk[..n]);
            }
            let body: Vec<u8> = carry.drain(..length).collect();
            return Answer {
                status,
                headers,
                body,
            };
        }
        let n = stream.read(&mut chunk).expect("read head");
        assert!(n > 0, "connection closed before an answer");
        carry.extend_from_slice(&chunk[..n]);
    }
    panic!("no answer");
}

/// Sends raw bytes on a fresh connection and reads one answer.
fn raw(server: &Server, request: &[u8]) -> Answer {
    let mut stream = connect(server);
    stream.write_all(request).unwrap();
    let head_only = request.starts_with(b"HEAD ");
    read_answer(&mut stream, &mut Vec::new(), head_only)
}

/// One request on a fresh connection, with `headers` added.
fn request(server: &Server, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut text = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        text.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    raw(server, &bytes)
}

fn get(server: &Server, target: &str) -> Answer {
    request(server, "GET", target, &[], b"")
}

fn post(server: &Server, target: &str, body: &Value) -> Answer {
    request(server, "POST", target, &[], body.to_string().as_bytes())
}

fn seed_body(text: &str) -> Value {
    json!({"role": "USER", "fragment": {"string": {"raw": text}}, "conversation": {"id": "conv-1"}})
}

fn is_v4_uuid(id: &str) -> bool {
    let b = id.as_bytes();
    id.len() == 36
        && b[8] == b'-'
        && b[13] == b'-'
        && b[14] == b'4'
        && b[18] == b'-'
        && b[23] == b'-'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

type Ws = WebSocket<TcpStream>;

fn ws_connect(server: &Server, application_id: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let stream = connect(server);
    let mut request = server.ws_url().into_client_request()?;
    if let Some(id) = application_id {
        request
            .headers_mut()
            .insert("X-Application-ID", id.parse().unwrap());
    }
    match tungstenite::client::client(request, stream) {
        Ok((ws, _)) => Ok(ws),
        Err(HandshakeError::Failure(error)) => Err(error),
        Err(HandshakeError::Interrupted(_)) => panic!("blocking handshake interrupted"),
    }
}

/// The next data frame, which must be text holding JSON.
fn next_frame(ws: &mut Ws) -> Value {
    for _ in 0..100 {
        match ws.read().expect("a frame") {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
    panic!("no text frame");
}

fn frame_ids(frame: &Value) -> Vec<(String, bool)> {
    frame["iterable"]
        .as_array()
        .expect("iterable")
        .iter()
        .map(|item| {
            (
                item["conversationMessage"]["id"].as_str().expect("id").to_owned(),
                item["deleted"] == json!(true),
            )
        })
        .collect()
}

/// Waits (bounded) until `condition` holds.
fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn health_version_and_unknown_routes() {
    let server = start(ServerConfig::default().with_version("12.3.4"));
    let health = get(&server, "/.well-known/health");
    assert_eq!((health.status, health.text().as_str()), (200, "ok"));
    let head = raw(
        &server,
        b"HEAD /.well-known/health HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((head.status, head.header("content-length")), (200, Some("2")));
    assert!(head.body.is_empty());
    let version = get(&server, "/.well-known/version");
    assert_eq!(version.status, 200);
    assert_eq!(version.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(version.text(), "12.3.4");

    assert!(get(&server, "/nope").error(404).contains("/nope"));
    assert_eq!(get(&server, "/messages/").status, 404);
    let wrong = request(&server, "POST", "/messages", &[], b"");
    wrong.error(405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    assert_eq!(get(&server, "/messages/create").header("allow"), Some("POST"));
    assert_eq!(
        request(&server, "GET", "/messages/x/delete", &[], b"").status,
        405
    );
    assert_eq!(
        request(&server, "DELETE", "/.well-known/health", &[], b"").status,
        405
    );
    get(&server, "/messages/stream/identifiers").error(426);
    server.stop();
}

#[test]
fn snapshot_with_and_without_transferables() {
    let server = start(ServerConfig::default().with_seed_messages(6).with_rng_seed(3));
    let ids = server.message_ids();
    assert_eq!(ids.len(), 6);

    let full = get(&server, "/messages").json();
    let iterable = full["iterable"].as_array().unwrap();
    assert_eq!(iterable.len(), 6);
    for (position, (message, id)) in iterable.iter().zip(&ids).enumerate() {
        assert_eq!(message["id"], id.as_str());
        assert_eq!(full["indices"][id], position);
        assert!(message["fragment"]["string"]["raw"].is_string());
        assert_eq!(message, &seed::realistic_message(position, 3));
    }
    assert_eq!(get(&server, "/messages?transferables=true").json(), full);

    let light = get(&server, "/messages?transferables=false").json();
    for (light, full) in light["iterable"].as_array().unwrap().iter().zip(iterable) {
        assert!(light["fragment"]["string"].get("raw").is_none(), "raw left out");
        assert_eq!(light["fragment"]["metadata"], full["fragment"]["metadata"]);
        for key in ["id", "created", "updated", "role", "conversation", "schema"] {
            assert_eq!(light[key], full[key], "{key} kept");
        }
        let mut without_fragment = full.clone();
        without_fragment.as_object_mut().unwrap().remove("fragment");
        let mut light_without = light.clone();
        light_without.as_object_mut().unwrap().remove("fragment");
        assert_eq!(light_without, without_fragment, "nothing else changes");
    }
    assert_eq!(light["indices"], full["indices"]);

    let bad = get(&server, "/messages?transferables=maybe").error(400);
    assert!(bad.contains("transferables") && bad.contains("maybe"), "{bad}");
    let head = raw(&server, b"HEAD /messages HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length").unwrap().parse::<usize>().unwrap(),
        get(&server, "/messages").body.len()
    );
    server.stop();
}

#[test]
fn create_keeps_the_seed_and_assigns_id_and_timestamps() {
    let server = start(ServerConfig::default());
    let mut seed_message = seed_body("Hello there");
    seed_message["x_future_field"] = json!({"nested": [1, 2.5, null]});
    seed_message["fragment"]["x_inner"] = json!(true);
    seed_message["model"] = json!({"id": "m", "name": "Some Model"});
    let created = post(&server, "/messages/create", &seed_message);
    assert_eq!(created.status, 200, "{}", String::from_utf8_lossy(&created.body));
    let message = created.json();
    let id = message["id"].as_str().unwrap();
    assert!(is_v4_uuid(id), "{id}");
    for key in ["created", "updated"] {
        let value = message[key]["value"].as_str().unwrap();
        assert!(
            value.ends_with('Z') && value.len() == "2025-01-01T00:00:00.000000Z".len(),
            "{value}"
        );
        assert!(message[key]["readable"].is_string());
    }
    for (key, value) in seed_message.as_object().unwrap() {
        assert_eq!(&message[key], value, "seed field {key} kept");
    }
    assert_eq!(
        message["schema"],
        json!({"migration": 0, "semantic": "MAJOR_0_MINOR_0_PATCH_1"})
    );
    assert_eq!(server.message(id).unwrap(), message);
    assert_eq!(server.message_ids(), [id]);

    let light = post(
        &server,
        "/messages/create?transferables=false",
        &seed_body("light"),
    )
    .json();
    assert!(light["fragment"]["string"].get("raw").is_none());
    assert_eq!(
        server.message(light["id"].as_str().unwrap()).unwrap()["fragment"]["string"]["raw"],
        "light"
    );

    let dated = json!({"role": "ASSISTANT", "fragment": {}, "conversation": {"id": "c"},
                       "created": {"value": "2020-02-02T02:02:02+00:00"}});
    assert_eq!(
        post(&server, "/messages/create", &dated).json()["created"],
        dated["created"]
    );
    server.stop();
}

#[test]
fn create_refuses_incomplete_seeds_with_500_text() {
    let server = start(ServerConfig::default());
    let mut no_conversation = seed_body("x");
    no_conversation.as_object_mut().unwrap().remove("conversation");
    assert!(post(&server, "/messages/create", &no_conversation)
        .error(500)
        .contains("conversation"));
    let mut no_role = seed_body("x");
    no_role.as_object_mut().unwrap().remove("role");
    assert!(post(&server, "/messages/create", &no_role)
        .error(500)
        .contains("role"));
    let mut null_fragment = seed_body("x");
    null_fragment["fragment"] = Value::Null;
    assert!(post(&server, "/messages/create", &null_fragment)
        .error(500)
        .contains("fragment"));
    let mut no_conversation_id = seed_body("x");
    no_conversation_id["conversation"] = json!({});
    assert!(post(&server, "/messages/create", &no_conversation_id)
        .error(500)
        .contains("id"));
    assert!(request(&server, "POST", "/messages/create", &[], b"{not json")
        .error(500)
        .contains("JSON"));
    assert!(post(&server, "/messages/create", &json!([1]))
        .error(500)
        .contains("object"));
    request(&server, "POST", "/messages/create", &[], b"").error(500);
    assert!(server.message_ids().is_empty(), "nothing stored");
    server.stop();
}

#[test]
fn delete_takes_one_percent_decoded_segment() {
    let server = start(ServerConfig::default());
    let tricky = "a/../b?x#y%20";
    server.insert_message(json!({"id": tricky, "role": "USER", "conversation": {"id": "c"}}));
    let other = server.insert_message(json!({"role": "USER"}));
    let target = "/messages/a%2F..%2Fb%3Fx%23y%2520/delete";
    let deleted = request(&server, "POST", target, &[], b"");
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    assert_eq!(deleted.header("content-length"), None);
    assert_eq!(server.message_ids(), std::slice::from_ref(&other));
    assert_eq!(
        server.requests().last().unwrap().target,
        target,
        "recorded undecoded"
    );

    let missing = request(&server, "POST", target, &[], b"").error(500);
    assert!(missing.contains(tricky), "{missing}");
    assert_eq!(
        request(&server, "POST", "/messages/a%2/delete", &[], b"").status,
        400
    );
    server.stop();
}

#[test]
fn one_message_by_id_and_410_for_an_unknown_one() {
    let server = start(ServerConfig::default());
    let message = post(&server, "/messages/create", &seed_body("one of a kind")).json();
    let id = message["id"].as_str().unwrap();
    let answer = get(&server, &format!("/message/{id}"));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), message);
    let light = get(&server, &format!("/message/{id}?transferables=false")).json();
    assert!(light["fragment"]["string"].get("raw").is_none(), "{light}");
    assert_eq!(light["id"], message["id"]);
    assert_eq!(
        get(&server, &format!("/message/{id}?transferables=true")).json(),
        message
    );
    assert_eq!(
        get(&server, &format!("/message/{id}?transferables=maybe")).status,
        400
    );
    let head = request(&server, "HEAD", &format!("/message/{id}"), &[], b"");
    assert_eq!(head.status, 200);

    // One percent-decoded segment, and `update` is an id like any other for GET.
    let tricky = "a/../b?x#y%20";
    server.insert_message(json!({"id": tricky, "role": "USER", "conversation": {"id": "c"}}));
    assert_eq!(
        get(&server, "/message/a%2F..%2Fb%3Fx%23y%2520").json()["id"],
        tricky
    );
    server.insert_message(json!({"id": "update", "role": "USER", "conversation": {"id": "c"}}));
    assert_eq!(get(&server, "/message/update").json()["id"], "update");

    let missing = get(&server, "/message/no-such-id").error(410);
    assert!(missing.contains("no-such-id"), "{missing}");
    assert!(server.delete_message(id));
    get(&server, &format!("/message/{id}")).error(410);
    let refused = request(&server, "POST", "/message/x", &[], b"");
    assert_eq!(refused.status, 405);
    assert_eq!(refused.header("allow"), Some("GET, HEAD"));
    assert_eq!(request(&server, "PUT", "/message/update", &[], b"").status, 405);
    server.stop();
}

#[test]
fn update_keeps_id_created_and_conversation_and_replaces_the_rest() {
    let server = start(ServerConfig::default());
    let mut seed_message = seed_body("before");
    seed_message["model"] = json!({"id": "m"});
    let stored = post(&server, "/messages/create", &seed_message).json();
    let id = stored["id"].as_str().unwrap().to_owned();
    let mut ws = ws_connect(&server, None).unwrap();
    assert_eq!(frame_ids(&next_frame(&mut ws)), [(id.clone(), false)]);

    let mut sent = stored.clone();
    sent["fragment"]["string"]["raw"] = json!("after");
    sent["x_future"] = json!([1, {"deep": null}]);
    sent["created"] = json!({"value": "1999-01-01T00:00:00Z"});
    sent["conversation"] = json!({"id": "elsewhere"});
    sent["updated"] = json!({"value": "1999-01-01T00:00:00Z"});
    sent.as_object_mut().unwrap().remove("model");
    let answer = post(&server, "/message/update", &sent);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let updated = answer.json();
    assert_eq!(updated["fragment"]["string"]["raw"], "after");
    assert_eq!(updated["x_future"], sent["x_future"]);
    assert_eq!(updated["id"], stored["id"]);
    assert_eq!(updated["created"], stored["created"], "created is kept");
    assert_eq!(
        updated["conversation"], stored["conversation"],
        "conversation is kept"
    );
    assert!(updated.get("model").is_none(), "what was not sent is gone");
    let value = updated["updated"]["value"].as_str().unwrap();
    assert!(
        value.starts_with("20") && value != "1999-01-01T00:00:00Z",
        "{value}"
    );
    assert_eq!(server.message(&id).unwrap(), updated);
    assert_eq!(server.message_ids(), std::slice::from_ref(&id));
    // Announced on the stream, not as deleted.
    assert_eq!(frame_ids(&next_frame(&mut ws)), [(id.clone(), false)]);

    let light = post(&server, "/message/update?transferables=false", &updated).json();
    assert!(light["fragment"]["string"].get("raw").is_none());
    assert_eq!(server.message(&id).unwrap()["fragment"]["string"]["raw"], "after");

    // A whole ConversationMessage, with an id that is stored, or 500 text/plain.
    for key in ["id", "role", "created", "updated", "conversation"] {
        let mut incomplete = updated.clone();
        incomplete.as_object_mut().unwrap().remove(key);
        let text = post(&server, "/message/update", &incomplete).error(500);
        assert!(text.contains(key), "{key}: {text}");
    }
    let mut wrong = updated.clone();
    wrong["created"] = json!("yesterday");
    assert!(post(&server, "/message/update", &wrong)
        .error(500)
        .contains("GroupedTimestamp"));
    let mut unknown = updated.clone();
    unknown["id"] = json!("no-such-id");
    assert!(post(&server, "/message/update", &unknown)
        .error(500)
        .contains("no-such-id"));
    request(&server, "POST", "/message/update", &[], b"{not json").error(500);
    assert_eq!(server.message(&id).unwrap()["fragment"]["string"]["raw"], "after");

    // Faults and the request log apply here too.
    server.faults().set_fail_every(1);
    assert!(post(&server, "/message/update", &updated)
        .error(500)
        .contains("injected"));
    get(&server, &format!("/message/{id}")).error(500);
    server.faults().clear();
    let log = server.requests();
    assert!(log
        .iter()
        .any(|r| r.method == "POST" && r.target == "/message/update"));
    assert!(log
        .iter()
        .any(|r| r.method == "GET" && r.target == format!("/message/{id}")));
    server.stop();
}

#[test]
fn search_matches_case_insensitively() {
    let server = start(ServerConfig::default());
    let upper = server
        .insert_message(json!({"id": "u", "fragment": {"string": {"raw": "The Borrow Checker says no"}}}));
    let lower = server
        .insert_message(json!({"id": "l", "fragment": {"string": {"raw": "the borrow checker, again"}}}));
    server.insert_message(json!({"id": "n", "fragment": {"string": {"raw": "nothing to see"}}}));
    server.insert_message(json!({"id": "b", "fragment": {"bytes": {"raw": [66, 111]}}}));
    let input = json!({"engines": {"iterable": [{"query": "borrow checker", "full_text": {}}]}});
    let results = post(&server, "/messages/search", &input).json();
    let results = results["iterable"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["identifier"], lower.as_str());
    assert_eq!(results[0]["exact"], true);
    assert_eq!(results[0]["similarity"], 1.0);
    assert_eq!(results[0]["temporal"], false);
    assert_eq!(results[0]["message"], server.message(&lower).unwrap());
    assert_eq!(results[1]["identifier"], upper.as_str());
    assert_eq!(results[1]["exact"], false);
    let similarity = results[1]["similarity"].as_f64().unwrap();
    assert!(similarity > 0.0 && similarity <= 1.0);

    let light = post(&server, "/messages/search?transferables=false", &input).json();
    assert!(light["iterable"][0]["message"]["fragment"]["string"]
        .get("raw")
        .is_none());
    let none = post(
        &server,
        "/messages/search",
        &json!({"engines": {"iterable": [{"query": "zebra"}]}}),
    )
    .json();
    assert_eq!(none, json!({"iterable": []}));
    assert!(post(&server, "/messages/search", &json!({"query": "x"}))
        .error(500)
        .contains("engines"));
    assert!(post(&server, "/messages/search", &json!({"engines": {}}))
        .error(500)
        .contains("iterable"));
    server.stop();
}

#[test]
fn application_id_is_required_when_configured() {
    let server = start(ServerConfig::default().with_application_id("my-plugin"));
    assert!(get(&server, "/messages").error(401).contains("X-Application-ID"));
    // The discovery probes stay open, as official clients send them before they know any id.
    assert_eq!(get(&server, "/.well-known/health").status, 200);
    assert_eq!(get(&server, "/.well-known/version").status, 200);
    let wrong = request(&server, "GET", "/messages", &[("X-Application-ID", "other")], b"");
    wrong.error(401);
    let right = request(
        &server,
        "GET",
        "/messages",
        &[("x-application-id", "my-plugin")],
        b"",
    );
    assert_eq!(right.status, 200);

    match ws_connect(&server, None) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected a 401 refusal, got {other:?}"),
    }
    let mut ws = ws_connect(&server, Some("my-plugin")).expect("upgrade with the id");
    assert_eq!(next_frame(&mut ws), json!({"iterable": []}));
    server.stop();

    let custom = start(
        ServerConfig::default()
            .with_application_id("k")
            .with_api_key_header("application"),
    );
    assert_eq!(
        request(&custom, "GET", "/messages", &[("application", "k")], b"").status,
        200
    );
    custom.stop();
    assert!(Server::start(ServerConfig::default().with_api_key_header("bad header")).is_err());
}

#[test]
fn fail_every_and_delay() {
    let server = start(ServerConfig::default().with_faults(FaultConfig {
        fail_every: 3,
        ..FaultConfig::default()
    }));
    let statuses: Vec<u16> = (0..6)
        .map(|_| get(&server, "/.well-known/health").status)
        .collect();
    assert_eq!(statuses, [200, 200, 500, 200, 200, 500]);
    assert!(get(&server, "/.well-known/health").status == 200);
    server.faults().set_fail_every(1);
    assert!(get(&server, "/messages").error(500).contains("fault"));
    server.faults().clear();

    server.faults().set_delay(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(get(&server, "/.well-known/health").status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    server.faults().set_delay(Duration::ZERO);
    let started = Instant::now();
    get(&server, "/.well-known/health");
    assert!(started.elapsed() < Duration::from_millis(200));
    server.stop();
}

#[test]
fn requests_are_recorded_raw() {
    let server = start(ServerConfig::default());
    request(
        &server,
        "POST",
        "/messages/search?transferables=false&x=%41",
        &[("X-Custom", "v")],
        b"{\"engines\":{\"iterable\":[]}}",
    );
    let log = server.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].target, "/messages/search?transferables=false&x=%41");
    assert_eq!(log[0].header("x-custom"), Some("v"));
    assert_eq!(log[0].body_len, 27);
    server.clear_requests();
    assert!(server.requests().is_empty());
    server.stop();
}

#[test]
fn bodies_chunked_and_with_expect_continue() {
    let server = start(ServerConfig::default());
    let body = seed_body("chunked").to_string();
    let (a, b) = body.split_at(10);
    let chunked = format!(
        "POST /messages/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let answer = raw(&server, chunked.as_bytes());
    assert_eq!(answer.json()["fragment"]["string"]["raw"], "chunked");
    assert_eq!(server.requests().last().unwrap().body_len, body.len());

    let mut stream = connect(&server);
    write!(
        stream,
        "POST /messages/create HTTP/1.1\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut continue_line = [0u8; 25];
    stream.read_exact(&mut continue_line).unwrap();
    assert_eq!(&continue_line, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body.as_bytes()).unwrap();
    assert_eq!(read_answer(&mut stream, &mut Vec::new(), false).status, 200);
    server.stop();
}

#[test]
fn keep_alive_pipelining_and_connection_close() {
    let server = start(ServerConfig::default().with_seed_messages(2));
    let mut stream = connect(&server);
    stream
        .write_all(b"GET /.well-known/health HTTP/1.1\r\n\r\nGET /.well-known/version HTTP/1.1\r\n\r\nGET /messages HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut carry = Vec::new();
    assert_eq!(read_answer(&mut stream, &mut carry, false).text(), "ok");
    assert_eq!(
        read_answer(&mut stream, &mut carry, false).text(),
        DEFAULT_VERSION
    );
    assert_eq!(
        read_answer(&mut stream, &mut carry, false).json()["iterable"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    stream
        .write_all(b"GET /.well-known/health HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let last = read_answer(&mut stream, &mut carry, false);
    assert_eq!(last.header("connection"), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(
        stream.read_to_end(&mut rest).unwrap(),
        0,
        "closed after Connection: close"
    );

    let mut old = connect(&server);
    old.write_all(b"GET /.well-known/health HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    old.read_to_end(&mut all).unwrap();
    assert!(all.starts_with(b"HTTP/1.1 200 OK\r\n") && all.ends_with(b"\r\n\r\nok"));
    server.stop();
}

#[test]
fn malformed_requests_get_4xx_and_the_server_lives_on() {
    let server = start(ServerConfig::default().with_max_body_bytes(1_000));
    raw(&server, b"GARBAGE\r\n\r\n").error(400);
    raw(&server, b"GET / HTTP/1.1\r\nNo-Colon\r\n\r\n").error(400);
    raw(
        &server,
        b"POST /messages/create HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",
    )
    .error(400);
    raw(
        &server,
        b"POST /messages/create HTTP/1.1\r\nContent-Length: 5000\r\n\r\n",
    )
    .error(413);
    raw(
        &server,
        b"POST /messages/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n",
    )
    .error(413);
    raw(
        &server,
        b"POST /messages/create HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    )
    .error(501);
    raw(
        &server,
        b"POST /messages/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
    )
    .error(400);
    let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 70_000));
    huge.extend_from_slice(b"\r\n\r\n");
    raw(&server, &huge).error(431);
    // A client that disappears mid-request.
    let mut gone = connect(&server);
    gone.write_all(b"POST /messages/create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    drop(gone);
    let mut binary = connect(&server);
    binary
        .write_all(&[0, 159, 146, 150, 255, 13, 10, 13, 10])
        .unwrap();
    let _ = binary.read(&mut [0u8; 64]);
    assert_eq!(get(&server, "/.well-known/health").status, 200, "still serving");
    server.stop();
}

#[test]
fn connections_over_the_limit_take_the_place_of_idle_ones_or_get_503() {
    let server = start(ServerConfig::default().with_max_connections(2));
    // Two connections that never send a request: a third takes the place of the older one.
    let mut first = connect(&server);
    let _second = connect(&server);
    wait_until("two registered connections", || {
        lock(&server.shared.conns).len() == 2
    });
    assert_eq!(get(&server, "/.well-known/health").status, 200);
    first.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(
        first.read(&mut [0u8; 16]).unwrap_or(0),
        0,
        "the idle one was closed"
    );
    // Two WebSockets are busy for good: nothing can be given up for a third connection.
    let _streams = (
        ws_connect(&server, None).unwrap(),
        ws_connect(&server, None).unwrap(),
    );
    wait_until("two WebSockets", || server.websocket_count() == 2);
    let mut third = connect(&server);
    let mut answer = String::new();
    third.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    drop(_streams);
    wait_until("WebSockets closed", || server.websocket_count() == 0);
    assert_eq!(get(&server, "/.well-known/health").status, 200);
    server.stop();
}

#[test]
fn store_access_from_rust() {
    let server = start(ServerConfig::default().with_rng_seed(11));
    let odd = json!({"id": "odd", "role": "SOMETHING_NEW", "x_unmodelled": {"a": [1, {"b": null}]},
                     "created": {"value": "2024-05-05T05:05:05.123456789+00:00"}});
    assert_eq!(server.insert_message(odd.clone()), "odd");
    assert_eq!(server.message("odd"), Some(odd.clone()));
    assert_eq!(get(&server, "/messages").json()["iterable"][0], odd);
    let junk = server.insert_message(json!(42));
    assert_eq!(get(&server, "/messages").json()["iterable"][1], 42);
    assert!(server.delete_message(&junk));

    let seeded = server.seed_realistic(3);
    assert_eq!(seeded.len(), 3);
    assert_eq!(
        server.message(&seeded[0]).unwrap(),
        seed::realistic_message(0, 11)
    );
    let more = server.seed_realistic(2);
    assert_eq!(
        server.message(&more[0]).unwrap(),
        seed::realistic_message(3, 11),
        "sequence continues"
    );
    assert_eq!(server.message_count(), 6);
    assert_eq!(server.message_ids()[1..4], seeded[..]);
    server.remove_all();
    assert!(server.message_ids().is_empty());
    assert_eq!(
        get(&server, "/messages").json(),
        json!({"iterable": [], "indices": {}})
    );

    let again = start(ServerConfig::default().with_rng_seed(11).with_seed_messages(5));
    assert_eq!(again.message_ids()[..3], seeded[..], "same seed, same messages");
    again.stop();
    server.stop();
}

#[test]
fn stream_sends_the_list_then_changes() {
    let server = start(ServerConfig::default().with_seed_messages(3));
    let mut ws = ws_connect(&server, None).unwrap();
    let first = next_frame(&mut ws);
    let expected: Vec<(String, bool)> = server.message_ids().into_iter().map(|id| (id, false)).collect();
    assert_eq!(frame_ids(&first), expected);

    let created = post(&server, "/messages/create", &seed_body("new")).json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        next_frame(&mut ws),
        json!({"iterable": [{"conversationMessage": {"id": id}}]})
    );
    assert_eq!(
        request(&server, "POST", &format!("/messages/{id}/delete"), &[], b"").status,
        204
    );
    assert_eq!(
        next_frame(&mut ws),
        json!({"iterable": [{"conversationMessage": {"id": id}, "deleted": true}]})
    );
    server.insert_message(json!({"id": "direct"}));
    assert_eq!(frame_ids(&next_frame(&mut ws)), [("direct".to_owned(), false)]);
    server.remove_all();
    assert!(frame_ids(&next_frame(&mut ws))
        .iter()
        .all(|(_, deleted)| *deleted));

    // Pings are answered, and a client close completes cleanly.
    ws.send(Message::Ping(b"p".to_vec().into())).unwrap();
    assert!(matches!(ws.read().unwrap(), Message::Pong(payload) if &payload[..] == b"p"));
    ws.close(None).unwrap();
    let mut closed = false;
    for _ in 0..10 {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => {
                closed = true;
                break;
            }
            Err(error) => panic!("unclean close: {error}"),
        }
    }
    assert!(closed);
    wait_until("socket thread gone", || server.websocket_count() == 0);
    server.stop();
}

/// Reads until the stream ends; `Some(code)` when it ended with a Close frame, `None` for an abrupt end.
fn read_to_end_of_stream(ws: &mut Ws) -> Option<CloseCode> {
    for _ in 0..100 {
        match ws.read() {
            Ok(Message::Close(frame)) => return Some(frame.map_or(CloseCode::Status, |f| f.code)),
            Ok(_) => {}
            Err(tungstenite::Error::Io(error)) if error.kind() == std::io::ErrorKind::WouldBlock => {
                panic!("read timed out")
            }
            Err(_) => return None,
        }
    }
    panic!("stream did not end");
}

#[test]
fn websockets_drop_after_n_frames_with_close_or_cut() {
    let faults = FaultConfig {
        ws_drop_after: 2,
        ws_drop_mode: DropMode::Close,
        ..FaultConfig::default()
    };
    let server = start(ServerConfig::default().with_seed_messages(2).with_faults(faults));
    let mut ws = ws_connect(&server, None).unwrap();
    assert_eq!(frame_ids(&next_frame(&mut ws)).len(), 2);
    let added = server.insert_message(json!({"id": "third"}));
    assert_eq!(frame_ids(&next_frame(&mut ws)), [(added, false)]);
    assert_eq!(read_to_end_of_stream(&mut ws), Some(CloseCode::Away));

    server.faults().set_ws_drop_mode(DropMode::Cut);
    server.faults().set_ws_drop_after(1);
    let mut ws = ws_connect(&server, None).unwrap();
    assert_eq!(
        frame_ids(&next_frame(&mut ws)).len(),
        3,
        "the store survived the drop"
    );
    assert_eq!(read_to_end_of_stream(&mut ws), None, "cut: no Close frame");
    server.stop();
}

#[test]
fn drop_websockets_on_demand() {
    let server = start(ServerConfig::default().with_seed_messages(4));
    for (mode, expected) in [(DropMode::Close, Some(CloseCode::Away)), (DropMode::Cut, None)] {
        let mut ws = ws_connect(&server, None).unwrap();
        assert_eq!(frame_ids(&next_frame(&mut ws)).len(), 4);
        wait_until("socket registered", || server.websocket_count() == 1);
        server.drop_websockets(mode);
        assert_eq!(read_to_end_of_stream(&mut ws), expected, "{mode:?}");
        wait_until("socket thread gone", || server.websocket_count() == 0);
    }
    // A reconnecting client gets the full list again.
    let mut ws = ws_connect(&server, None).unwrap();
    assert_eq!(frame_ids(&next_frame(&mut ws)).len(), 4);
    server.stop();
}

#[test]
fn stop_is_prompt_with_clients_connected_and_frees_the_port() {
    let server = start(ServerConfig::default().with_seed_messages(1));
    let port = server.port();
    let mut ws = ws_connect(&server, None).unwrap();
    next_frame(&mut ws);
    let mut idle = connect(&server);
    idle.write_all(b"GET /.well-known/health HTTP/1.1\r\n\r\n")
        .unwrap();
    assert_eq!(read_answer(&mut idle, &mut Vec::new(), false).status, 200);
    let mut half = connect(&server);
    half.write_all(b"POST /messages/create HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
        .unwrap();
    server.faults().set_delay(Duration::from_secs(60));
    let mut slow = connect(&server);
    slow.write_all(b"GET /.well-known/health HTTP/1.1\r\n\r\n")
        .unwrap();
    wait_until("four connections", || lock(&server.shared.conns).len() == 4);

    let started = Instant::now();
    server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        started.elapsed()
    );
    assert_eq!(
        read_to_end_of_stream(&mut ws),
        Some(CloseCode::Away),
        "WebSockets get a goodbye"
    );
    let mut rest = Vec::new();
    assert!(matches!(idle.read_to_end(&mut rest), Ok(0) | Err(_)));
    let _ = half.shutdown(Shutdown::Both);

    let again = start(ServerConfig::default().with_port(port));
    assert_eq!(again.port(), port);
    assert_eq!(get(&again, "/.well-known/health").status, 200);
    let taken = Server::start(ServerConfig::default().with_port(port)).unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
    assert!(
        taken
            .to_string()
            .starts_with(&format!("cannot listen on 127.0.0.1:{port}: ")),
        "{taken}"
    );
    again.stop();
}

#[test]
fn server_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Server>();
    assert_send_sync::<Faults>();
    let server = start(ServerConfig::default());
    std::thread::scope(|scope| {
        for n in 0..4 {
            let server = &server;
            scope.spawn(move || {
                for m in 0..5 {
                    server.insert_message(json!({"id": format!("{n}-{m}")}));
                    assert_eq!(get(server, "/.well-known/health").status, 200);
                }
            });
        }
    });
    assert_eq!(server.message_count(), 20);
    server.stop();
}

#[cfg(target_os = "linux")]
#[test]
fn no_server_thread_outlives_stop() {
    fn named_threads(prefix: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count()
    }
    let server = start(ServerConfig::default().with_seed_messages(2));
    let prefix = format!("psrv{}-", server.shared.number);
    let mut ws = ws_connect(&server, None).unwrap();
    next_frame(&mut ws);
    let idle: Vec<TcpStream> = (0..3).map(|_| connect(&server)).collect();
    wait_until("threads running", || named_threads(&prefix) >= 5);
    server.stop();
    assert_eq!(named_threads(&prefix), 0, "every thread joined");
    drop(idle);
}

#[test]
fn dropping_the_server_stops_it() {
    let server = start(ServerConfig::default());
    let port = server.port();
    let mut ws = ws_connect(&server, None).unwrap();
    next_frame(&mut ws);
    drop(server);
    assert!(read_to_end_of_stream(&mut ws).is_some());
    let again = start(ServerConfig::default().with_port(port));
    again.stop();
}
