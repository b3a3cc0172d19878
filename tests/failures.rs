//! Every way a call can fail gives its own precise error, and none loses the server's words.

mod common;

use std::time::{Duration, Instant};

use common::{client_for, server_with, user_seed};
use pieces_os_client::server::{Server, ServerConfig};
use pieces_os_client::{Client, ClientConfig, Error, Transferables};

#[test]
fn connection_refused_names_the_url() {
    // Bind, learn the port, and close it again: nothing listens there now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let client = Client::with_base_url(&url).unwrap();
    let err = client.snapshot_messages(Transferables::Default).unwrap_err();
    match &err {
        Error::Connection {
            url: failed,
            reason,
            source,
        } => {
            assert!(failed.starts_with(&url), "{failed}");
            assert_eq!(reason, "connection refused");
            // The operating system's error stays attached, for reporters that show the whole chain.
            let io = source
                .as_deref()
                .and_then(|cause| cause.downcast_ref::<std::io::Error>())
                .expect("the I/O error is the source");
            assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!("PiecesOS is not reachable at {url}/messages: connection refused")
    );
}

#[test]
fn a_slow_server_times_out_at_the_configured_limit() {
    let server = server_with(0);
    server.faults().set_delay(Duration::from_secs(3));
    let client = Client::new(
        ClientConfig::default()
            .with_base_url(server.url())
            .with_request_timeout(Some(Duration::from_millis(200))),
    )
    .unwrap();
    let started = Instant::now();
    let err = client.snapshot_messages(Transferables::Default).unwrap_err();
    let elapsed = started.elapsed();
    match &err {
        Error::Timeout { after, .. } => assert_eq!(*after, Some(Duration::from_millis(200))),
        other => panic!("unexpected {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(2), "gave up after {elapsed:?}");
    assert!(err.to_string().contains("did not answer within 200 ms"), "{err}");
}

#[test]
fn a_body_over_the_limit_is_refused_and_a_body_under_it_is_not() {
    let server = server_with(30);
    let body_len = client_for(&server)
        .snapshot_messages_json(Transferables::Default)
        .unwrap()
        .len() as u64;
    let limited = |limit: u64| {
        Client::new(
            ClientConfig::default()
                .with_base_url(server.url())
                .with_max_body_bytes(limit),
        )
        .unwrap()
    };
    let err = limited(body_len - 1)
        .snapshot_messages(Transferables::Default)
        .unwrap_err();
    match err {
        Error::BodyTooLarge { endpoint, limit } => {
            assert_eq!(endpoint, "messages_snapshot");
            assert_eq!(limit, body_len - 1);
        }
        other => panic!("unexpected {other:?}"),
    }
    let snapshot = limited(body_len)
        .snapshot_messages(Transferables::Default)
        .unwrap();
    assert_eq!(snapshot.iterable.len(), 30);
}

#[test]
fn the_default_body_limit_lets_a_256_mib_body_through() {
    assert!(ClientConfig::default().max_body_bytes >= 256 << 20);
}

#[test]
fn a_missing_application_id_is_refused_with_401() {
    let server = Server::start(ServerConfig::default().with_application_id("secret-app")).unwrap();
    let anonymous = client_for(&server);
    let err = anonymous.snapshot_messages(Transferables::Default).unwrap_err();
    assert_eq!(err.http_status(), Some(401), "{err}");

    let known = Client::new(
        ClientConfig::default()
            .with_base_url(server.url())
            .with_application_id("secret-app"),
    )
    .unwrap();
    known.snapshot_messages(Transferables::Default).unwrap();
}

#[test]
fn injected_server_errors_reach_the_caller_with_their_body() {
    let server = server_with(0);
    server.faults().set_fail_every(2);
    let client = client_for(&server);
    let outcomes: Vec<Result<(), Error>> = (0..4)
        .map(|_| client.snapshot_messages(Transferables::Default).map(drop))
        .collect();
    let failures: Vec<&Error> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert_eq!(failures.len(), 2, "{outcomes:?}");
    for failure in failures {
        assert_eq!(failure.http_status(), Some(500));
        assert!(!failure.body().unwrap_or_default().is_empty(), "{failure}");
    }
}

#[test]
fn a_body_that_is_not_the_model_is_a_decode_error_naming_the_endpoint() {
    let server = server_with(0);
    let mut broken = serde_json::to_value(user_seed("c", "x")).unwrap();
    // A stored message without its required `created` timestamp cannot decode as ConversationMessage.
    broken["id"] = "broken".into();
    broken["updated"] = serde_json::json!({"value": "2024-01-01T00:00:00Z"});
    server.insert_message(broken);
    let client = client_for(&server);
    let err = client.snapshot_messages(Transferables::Default).unwrap_err();
    match &err {
        Error::Decode {
            endpoint, message, ..
        } => {
            assert_eq!(*endpoint, "messages_snapshot");
            assert!(message.contains("created"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = client.snapshot_messages_json(Transferables::Default).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
}
