//! Finding PiecesOS, following it to another port, and its health and version, against the stand-in.

mod common;

use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use common::{client_for, eventually, free_ports, port_at, scanning, start_on};
use pieces_os_client::discovery::{PortRange, DEFAULT_PORTS};
use pieces_os_client::server::{Server, ServerConfig};
use pieces_os_client::{
    Client, ClientConfig, Error, Outdated, StreamConfig, SubscriptionEvent, Transferables, UrlSource,
    Version, VersionRange,
};

const LIMIT: Duration = Duration::from_secs(10);

/// How many messages a snapshot through `client` holds.
fn snapshot_len(client: &Client) -> usize {
    client
        .snapshot_messages(Transferables::Default)
        .unwrap()
        .iterable
        .len()
}

fn url_of(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

#[test]
fn with_nothing_listening_a_scan_of_100_ports_ends_within_300_ms() {
    let ports = free_ports(100);
    assert_eq!(ports.len(), DEFAULT_PORTS.len());
    let client = Client::new(scanning(ports)).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        let err = client.base_url().unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_millis(300), "the scan took {took:?}");
        match &err {
            Error::NotRunning { scanned } => assert_eq!(*scanned, ports),
            other => panic!("expected NotRunning, got {other:?}"),
        }
        assert_eq!(err.kind(), "not_running");
        assert!(err.to_string().contains(&ports.to_string()), "{err}");
        assert!(err.to_string().contains("not running"), "{err}");
    }
    // Every call that needs PiecesOS says the same, and nothing is cached.
    assert!(matches!(client.health(), Err(Error::NotRunning { .. })));
    assert!(matches!(
        client.snapshot_messages(Transferables::Default),
        Err(Error::NotRunning { .. })
    ));
    assert_eq!(client.cached_base_url(), None);
}

#[test]
fn the_lowest_port_that_answers_200_wins() {
    let ports = free_ports(6);
    // Lowest of all, but it answers every request with 500: not a healthy PiecesOS.
    let failing = start_on(port_at(ports, 0), ServerConfig::default());
    failing.faults().set_fail_every(1);
    let _high = start_on(port_at(ports, 4), ServerConfig::default());
    let low = start_on(port_at(ports, 2), ServerConfig::default());
    let client = Client::new(scanning(ports)).unwrap();
    assert_eq!(client.base_url().unwrap(), low.url());
    assert_eq!(client.url_source(), UrlSource::Scan(ports));
    client.health().unwrap();
    assert!(low.requests().iter().any(|r| r.target == "/.well-known/health"));
    assert!(failing
        .requests()
        .iter()
        .any(|r| r.target == "/.well-known/health"));

    // Once it is healthy again, a new scan prefers it.
    failing.faults().clear();
    assert_eq!(client.rediscover().unwrap(), failing.url());
}

#[test]
fn an_explicit_base_url_always_wins_and_is_never_scanned() {
    let ports = free_ports(3);
    let server = start_on(port_at(ports, 1), ServerConfig::default());
    let closed = port_at(free_ports(1), 0);
    let client = Client::new(scanning(ports).with_base_url(url_of(closed))).unwrap();
    assert_eq!(client.url_source(), UrlSource::Config);
    assert_eq!(client.cached_base_url(), Some(url_of(closed)));
    let err = client.snapshot_messages(Transferables::Default).unwrap_err();
    // Nothing listens at the URL given: a connection error, not "not running", and no scan.
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert_eq!(err.kind(), "connection");
    assert_eq!(client.rediscover().unwrap(), url_of(closed));
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn discovery_is_lazy_and_its_result_is_shared_by_clones() {
    let ports = free_ports(4);
    // Built before PiecesOS runs, as a plugin may be.
    let client = Client::new(scanning(ports)).unwrap();
    let clone = client.clone();
    assert_eq!(client.cached_base_url(), None);
    assert!(matches!(clone.health(), Err(Error::NotRunning { .. })));

    let server = start_on(port_at(ports, 3), ServerConfig::default().with_seed_messages(2));
    assert_eq!(snapshot_len(&clone), 2);
    assert_eq!(client.cached_base_url(), Some(server.url()));
    // The next call reuses the URL: no second health probe reaches the server.
    let probes = || {
        server
            .requests()
            .iter()
            .filter(|r| r.target == "/.well-known/health")
            .count()
    };
    let before = probes();
    client.snapshot_messages(Transferables::Default).unwrap();
    assert_eq!(probes(), before);
}

#[test]
fn a_refused_request_follows_pieces_os_to_its_new_port() {
    let ports = free_ports(5);
    let first = start_on(port_at(ports, 3), ServerConfig::default().with_seed_messages(2));
    let client = Client::new(scanning(ports)).unwrap();
    assert_eq!(snapshot_len(&client), 2);
    first.stop();

    // Restarted on a lower port, with other data.
    let second = start_on(port_at(ports, 1), ServerConfig::default().with_seed_messages(5));
    assert_eq!(snapshot_len(&client), 5);
    assert_eq!(client.cached_base_url(), Some(second.url()));
    second.stop();

    // Gone altogether: not running, from the same call that found the old port refused.
    let err = client.snapshot_messages(Transferables::Default).unwrap_err();
    assert!(
        matches!(err, Error::NotRunning { scanned } if scanned == ports),
        "{err:?}"
    );
}

#[test]
fn a_subscription_follows_pieces_os_to_another_port() {
    let ports = free_ports(6);
    let first = start_on(port_at(ports, 1), ServerConfig::default().with_seed_messages(1));
    let stream = StreamConfig::default().with_retry(Duration::from_millis(20), Duration::from_millis(200));
    let client = Client::new(scanning(ports).with_stream(stream)).unwrap();
    let subscription = client.subscribe_identifiers_pull().unwrap();
    let deadline = Instant::now() + LIMIT;
    let next = || -> SubscriptionEvent {
        let left = deadline.saturating_duration_since(Instant::now());
        match subscription.next_timeout(left) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => panic!("no event within {LIMIT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the subscription ended"),
        }
    };
    match next() {
        SubscriptionEvent::Connected { url } => assert_eq!(url, first.ws_url()),
        other => panic!("expected Connected, got {other:?}"),
    }
    assert!(
        matches!(next(), SubscriptionEvent::Identifiers { full: true, ref frame } if frame.iterable.len() == 1)
    );

    // PiecesOS restarts on another port with three messages.
    first.stop();
    let second = start_on(port_at(ports, 4), ServerConfig::default().with_seed_messages(3));
    let mut disconnections = 0;
    let url = loop {
        match next() {
            SubscriptionEvent::Disconnected { .. } => disconnections += 1,
            SubscriptionEvent::Connected { url } => break url,
            SubscriptionEvent::Identifiers { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(disconnections >= 1);
    assert_eq!(url, second.ws_url());
    assert!(
        matches!(next(), SubscriptionEvent::Identifiers { full: true, ref frame } if frame.iterable.len() == 3)
    );
    assert_eq!(client.cached_base_url(), Some(second.url()));
    subscription.stop();
    assert!(eventually(LIMIT, || matches!(
        subscription.try_next(),
        Ok(SubscriptionEvent::Closed)
    )));
}

#[test]
fn a_subscription_started_before_pieces_os_waits_for_it() {
    let ports = free_ports(3);
    let stream = StreamConfig::default().with_retry(Duration::from_millis(20), Duration::from_millis(100));
    let client = Client::new(scanning(ports).with_stream(stream)).unwrap();
    let subscription = client.subscribe_identifiers_pull().unwrap();
    match subscription.next_timeout(LIMIT) {
        Ok(SubscriptionEvent::Disconnected { error, .. }) => {
            assert!(matches!(error, Error::NotRunning { .. }), "{error:?}")
        }
        other => panic!("expected a Disconnected event, got {other:?}"),
    }
    let server = start_on(port_at(ports, 2), ServerConfig::default());
    let connected = eventually(
        LIMIT,
        || matches!(subscription.try_next(), Ok(SubscriptionEvent::Connected { ref url }) if *url == server.ws_url()),
    );
    assert!(connected);
    // Stop returns promptly and ends with exactly one Closed.
    let started = Instant::now();
    subscription.stop();
    assert!(eventually(LIMIT, || matches!(
        subscription.try_next(),
        Ok(SubscriptionEvent::Closed)
    )));
    assert!(started.elapsed() < Duration::from_secs(2));
}

fn version_server(version: &str) -> Server {
    Server::start(ServerConfig::default().with_version(version)).unwrap()
}

#[test]
fn health_and_version_come_from_the_well_known_routes() {
    let server = version_server("12.4.1-beta");
    let client = client_for(&server);
    client.health().unwrap();
    assert_eq!(client.version().unwrap(), "12.4.1-beta");
    assert_eq!(client.check_version().unwrap(), "12.4.1-beta");
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert!(targets.contains(&"/.well-known/health".to_owned()), "{targets:?}");
    assert!(
        targets.contains(&"/.well-known/version".to_owned()),
        "{targets:?}"
    );

    assert_eq!(
        client_for(&version_server("debug")).check_version().unwrap(),
        "debug"
    );
}

#[test]
fn an_incompatible_version_is_its_own_error_naming_the_side_to_update() {
    let old = version_server("11.2.0");
    let err = client_for(&old).check_version().unwrap_err();
    match &err {
        Error::IncompatibleVersion {
            found,
            required,
            outdated,
        } => {
            assert_eq!(found, "11.2.0");
            assert_eq!(*required, VersionRange::default());
            assert_eq!(*outdated, Outdated::PiecesOs);
        }
        other => panic!("expected IncompatibleVersion, got {other:?}"),
    }
    assert!(err.to_string().ends_with("update PiecesOS"), "{err}");

    let new = version_server("13.0.0");
    let err = client_for(&new).check_version().unwrap_err();
    assert!(
        matches!(
            err,
            Error::IncompatibleVersion {
                outdated: Outdated::Client,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("update pieces-os-client"), "{err}");

    // The range is the client's to choose.
    let wide = Client::new(
        ClientConfig::default()
            .with_base_url(old.url())
            .with_compatible_versions(VersionRange::new(Version::new(11, 0, 0), Version::new(14, 0, 0))),
    )
    .unwrap();
    assert_eq!(wide.check_version().unwrap(), "11.2.0");

    let nonsense = version_server("banana");
    let err = client_for(&nonsense).check_version().unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[test]
fn the_health_probe_carries_the_application_id() {
    let ports = free_ports(2);
    let server = start_on(
        port_at(ports, 1),
        ServerConfig::default().with_application_id("plugin"),
    );
    let client = Client::new(scanning(ports).with_application_id("plugin")).unwrap();
    assert_eq!(client.base_url().unwrap(), server.url());
    let probe = server
        .requests()
        .into_iter()
        .find(|r| r.target == "/.well-known/health")
        .expect("a health probe");
    assert_eq!(probe.header("X-Application-ID"), Some("plugin"));
    assert_eq!(client.check_version().unwrap(), "12.1.0");
    client.snapshot_messages(Transferables::Default).unwrap();
}

#[test]
fn port_ranges_from_json_reach_the_scan() {
    let ports = free_ports(2);
    let server = start_on(port_at(ports, 1), ServerConfig::default());
    let json = format!(r#"{{"discovery": {{"ports": "{ports}", "use_environment": false}}}}"#);
    let client = Client::new(ClientConfig::from_json(&json).unwrap()).unwrap();
    assert_eq!(client.base_url().unwrap(), server.url());
    let single: PortRange = port_at(ports, 1).to_string().parse().unwrap();
    assert_eq!(single.len(), 1);
}
