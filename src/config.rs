//! How a [`Client`](crate::Client) reaches PiecesOS.
//!
//! [`ClientConfig`] is plain data with a serde form, and that JSON form is exactly what the C function
//! `pieces_client_new` takes: every key is optional, unknown keys are refused, and durations are whole
//! milliseconds (`connect_timeout_ms`, `request_timeout_ms`).
//!
//! ```
//! use pieces_os_client::ClientConfig;
//! use std::time::Duration;
//!
//! let config = ClientConfig::default()
//!     .with_base_url("http://127.0.0.1:39300")
//!     .with_application_id("my-plugin")
//!     .with_request_timeout(Some(Duration::from_secs(5)));
//! let same: ClientConfig = serde_json::from_str(
//!     r#"{"base_url": "http://127.0.0.1:39300", "application_id": "my-plugin", "request_timeout_ms": 5000}"#,
//! ).unwrap();
//! assert_eq!(config, same);
//! ```

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ports::{PortRange, DEFAULT_PORTS};
use crate::url::validate_base_url;
use crate::version::VersionRange;

/// The environment variable that names the PiecesOS base URL when the configuration does not (see
/// [`crate::discovery`] for the whole order).
pub const PIECES_OS_URL_ENV: &str = "PIECES_OS_URL";

/// The header the API key (the application id) is sent in, as the API specification names it.
pub const DEFAULT_API_KEY_HEADER: &str = "X-Application-ID";

/// Default limit on a response body: 1 GiB. Snapshots of tens of thousands of messages run to hundreds of
/// MB, so the limit is far above them, yet still stops a runaway server from exhausting memory.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1 << 30;

/// Default limit on the bytes of events a pull queue holds: 64 MiB.
pub const DEFAULT_QUEUE_MAX_BYTES: u64 = 64 << 20;

/// Default limit on opening a TCP connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Default limit on a whole request, from connecting to the last byte of the body.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variable that narrows or moves the range of ports scanned, as `START-END` (both
/// included) or a single port, when [`DiscoveryConfig::ports`] is not set.
pub const PIECES_OS_PORTS_ENV: &str = "PIECES_OS_PORTS";

/// Default limit on the TCP connection to one port during a scan. A closed loopback port refuses at
/// once; the limit only matters for ports whose connection attempts are dropped.
pub const DEFAULT_PROBE_CONNECT_TIMEOUT: Duration = Duration::from_millis(50);

/// Default limit on the health answer of a port that accepted the connection.
pub const DEFAULT_PROBE_ANSWER_TIMEOUT: Duration = Duration::from_millis(500);

/// Settings of a [`Client`](crate::Client). Build it with [`ClientConfig::default`] and the `with_*`
/// methods, or decode it from JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The base URL of PiecesOS, `http://` or `https://` with host and port, no query. It always wins
    /// and is never scanned. `None` takes [`PIECES_OS_URL_ENV`] from the environment, else finds PiecesOS
    /// by scanning loopback ports (see [`crate::discovery`]).
    pub base_url: Option<String>,
    /// The application id sent as the API key on every request (header [`Self::api_key_header`]).
    /// `None` sends no such header.
    pub application_id: Option<String>,
    /// The name of the header that carries [`Self::application_id`].
    pub api_key_header: String,
    /// Limit on opening a TCP connection.
    #[serde(rename = "connect_timeout_ms", with = "crate::millis")]
    pub connect_timeout: Duration,
    /// Limit on a whole request; `None` (JSON `null`) means no limit.
    #[serde(rename = "request_timeout_ms", with = "crate::millis::optional")]
    pub request_timeout: Option<Duration>,
    /// The largest response body accepted, in bytes.
    pub max_body_bytes: u64,
    /// The `User-Agent` header sent with every request.
    pub user_agent: String,
    /// How the identifier stream keeps its connection (JSON key `stream`).
    pub stream: StreamConfig,
    /// How PiecesOS is found when [`Self::base_url`] is `None` (JSON key `discovery`).
    pub discovery: DiscoveryConfig,
    /// The PiecesOS versions [`Client::check_version`](crate::Client::check_version) accepts (JSON key
    /// `compatible_versions`: `{"at_least": "12.0.0", "below": "13.0.0"}`).
    pub compatible_versions: VersionRange,
}

/// Settings of the identifier stream and of subscriptions to it (mirrors included): reconnection,
/// dead-peer detection and the pull queue. JSON keys: `retry_initial_ms`, `retry_max_ms`, `max_attempts`
/// (`null`: forever), `ping_interval_ms`, `idle_timeout_ms`, `queue_capacity`, `queue_max_bytes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct StreamConfig {
    /// Delay before the first reconnection attempt; it doubles after each failed attempt.
    #[serde(rename = "retry_initial_ms", with = "crate::millis")]
    pub retry_initial: Duration,
    /// Upper bound of the delay between attempts.
    #[serde(rename = "retry_max_ms", with = "crate::millis")]
    pub retry_max: Duration,
    /// How many connection attempts in a row may fail before a subscription gives up with a terminal
    /// `Failed` event; `None` retries forever. An attempt fails when it cannot connect, and also when
    /// its connection is lost before it proved healthy: before it delivered its full first frame and
    /// stayed up for [`Self::retry_max`]. Only a healthy connection resets the count (and the delay).
    pub max_attempts: Option<u32>,
    /// How often a ping is sent on a quiet connection.
    #[serde(rename = "ping_interval_ms", with = "crate::millis")]
    pub ping_interval: Duration,
    /// After this long without any frame (pongs included) a connection counts as lost.
    #[serde(rename = "idle_timeout_ms", with = "crate::millis")]
    pub idle_timeout: Duration,
    /// How many events a pull subscription (or pull mirror) holds before its thread stops reading the
    /// socket until the consumer takes one (back-pressure: nothing is dropped).
    pub queue_capacity: usize,
    /// How many bytes of events (frames, messages) a pull subscription (or pull mirror) holds before its
    /// thread waits for the consumer, as [`Self::queue_capacity`] does for their number. An event larger
    /// than this on its own is still queued when the queue is empty, so nothing is ever dropped.
    pub queue_max_bytes: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
            max_attempts: None,
            ping_interval: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            queue_capacity: 1024,
            queue_max_bytes: DEFAULT_QUEUE_MAX_BYTES,
        }
    }
}

impl StreamConfig {
    /// Sets the first and the largest delay between reconnection attempts.
    pub fn with_retry(mut self, initial: Duration, max: Duration) -> Self {
        self.retry_initial = initial;
        self.retry_max = max;
        self
    }

    /// Sets [`Self::max_attempts`]; `None` retries forever.
    pub fn with_max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`Self::ping_interval`] and [`Self::idle_timeout`].
    pub fn with_liveness(mut self, ping_interval: Duration, idle_timeout: Duration) -> Self {
        self.ping_interval = ping_interval;
        self.idle_timeout = idle_timeout;
        self
    }

    /// Sets [`Self::queue_capacity`].
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// Sets [`Self::queue_max_bytes`].
    pub fn with_queue_max_bytes(mut self, bytes: u64) -> Self {
        self.queue_max_bytes = bytes;
        self
    }

    fn validate(&self) -> Result<()> {
        let positive = [
            ("stream.retry_initial_ms", self.retry_initial),
            ("stream.retry_max_ms", self.retry_max),
            ("stream.ping_interval_ms", self.ping_interval),
            ("stream.idle_timeout_ms", self.idle_timeout),
        ];
        for (argument, value) in positive {
            if value.is_zero() {
                return Err(Error::invalid_input(argument, "must be greater than zero"));
            }
        }
        if self.retry_max < self.retry_initial {
            return Err(Error::invalid_input(
                "stream.retry_max_ms",
                "must not be smaller than stream.retry_initial_ms",
            ));
        }
        if self.idle_timeout <= self.ping_interval {
            return Err(Error::invalid_input(
                "stream.idle_timeout_ms",
                "must be longer than stream.ping_interval_ms, or every quiet connection would count as lost",
            ));
        }
        if self.queue_capacity == 0 {
            return Err(Error::invalid_input(
                "stream.queue_capacity",
                "must be at least 1",
            ));
        }
        if self.queue_max_bytes == 0 {
            return Err(Error::invalid_input(
                "stream.queue_max_bytes",
                "must be at least 1",
            ));
        }
        if self.max_attempts == Some(0) {
            return Err(Error::invalid_input(
                "stream.max_attempts",
                "must be at least 1 (null retries forever)",
            ));
        }
        Ok(())
    }
}

/// How a [`Client`](crate::Client) without a base URL finds PiecesOS (JSON key `discovery` of the
/// client configuration; keys `ports` (`"START-END"` or `null`), `connect_timeout_ms`,
/// `answer_timeout_ms`, `use_environment`). See the [module documentation](self).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DiscoveryConfig {
    /// The ports scanned. `None` (JSON `null`) takes [`PIECES_OS_PORTS_ENV`] from the environment, else
    /// [`DEFAULT_PORTS`].
    pub ports: Option<PortRange>,
    /// Limit on the TCP connection to one port.
    #[serde(rename = "connect_timeout_ms", with = "crate::millis")]
    pub connect_timeout: Duration,
    /// Limit on the health answer of a port that accepted the connection.
    #[serde(rename = "answer_timeout_ms", with = "crate::millis")]
    pub answer_timeout: Duration,
    /// Whether `PIECES_OS_URL` and `PIECES_OS_PORTS` are read from the environment. `false` makes the
    /// configuration alone decide, whatever the environment of the process holds.
    pub use_environment: bool,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            ports: None,
            connect_timeout: DEFAULT_PROBE_CONNECT_TIMEOUT,
            answer_timeout: DEFAULT_PROBE_ANSWER_TIMEOUT,
            use_environment: true,
        }
    }
}

impl DiscoveryConfig {
    /// Sets [`Self::ports`].
    pub fn with_ports(mut self, ports: PortRange) -> Self {
        self.ports = Some(ports);
        self
    }

    /// Sets [`Self::connect_timeout`] and [`Self::answer_timeout`].
    pub fn with_timeouts(mut self, connect: Duration, answer: Duration) -> Self {
        self.connect_timeout = connect;
        self.answer_timeout = answer;
        self
    }

    /// Sets [`Self::use_environment`].
    pub fn with_use_environment(mut self, use_environment: bool) -> Self {
        self.use_environment = use_environment;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.connect_timeout.is_zero() {
            return Err(Error::invalid_input(
                "discovery.connect_timeout_ms",
                "must be greater than zero",
            ));
        }
        if self.answer_timeout.is_zero() {
            return Err(Error::invalid_input(
                "discovery.answer_timeout_ms",
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            base_url: None,
            application_id: None,
            api_key_header: DEFAULT_API_KEY_HEADER.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            user_agent: concat!("pieces-os-client-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
            stream: StreamConfig::default(),
            discovery: DiscoveryConfig::default(),
            compatible_versions: VersionRange::default(),
        }
    }
}

impl ClientConfig {
    /// Sets [`Self::base_url`].
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Sets [`Self::application_id`].
    pub fn with_application_id(mut self, application_id: impl Into<String>) -> Self {
        self.application_id = Some(application_id.into());
        self
    }

    /// Sets [`Self::api_key_header`].
    pub fn with_api_key_header(mut self, header: impl Into<String>) -> Self {
        self.api_key_header = header.into();
        self
    }

    /// Sets [`Self::connect_timeout`].
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`Self::request_timeout`]; `None` means no limit.
    pub fn with_request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`Self::max_body_bytes`].
    pub fn with_max_body_bytes(mut self, limit: u64) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Sets [`Self::user_agent`].
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sets [`Self::stream`].
    pub fn with_stream(mut self, stream: StreamConfig) -> Self {
        self.stream = stream;
        self
    }

    /// Sets [`Self::discovery`].
    pub fn with_discovery(mut self, discovery: DiscoveryConfig) -> Self {
        self.discovery = discovery;
        self
    }

    /// Sets [`Self::compatible_versions`].
    pub fn with_compatible_versions(mut self, versions: VersionRange) -> Self {
        self.compatible_versions = versions;
        self
    }

    /// Decodes the JSON form (as `pieces_client_new` takes it): every key optional, unknown keys refused.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|err| Error::invalid_json("config", err))
    }

    /// Checks every setting and says where requests go, reading the process environment as
    /// [`DiscoveryConfig::use_environment`] allows.
    pub(crate) fn validate(&self) -> Result<Target> {
        self.validate_with_env(&|name| std::env::var(name).ok())
    }

    /// [`Self::validate`] with the environment read through `env`.
    pub(crate) fn validate_with_env(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Target> {
        let env = |name: &str| {
            self.discovery
                .use_environment
                .then(|| env(name))
                .flatten()
                .filter(|value| !value.trim().is_empty())
        };
        let target = if let Some(url) = &self.base_url {
            Target::Fixed {
                url: validate_base_url("base_url", url)?,
                source: UrlSource::Config,
            }
        } else if let Some(url) = env(PIECES_OS_URL_ENV) {
            Target::Fixed {
                url: validate_base_url(PIECES_OS_URL_ENV, url.trim())?,
                source: UrlSource::Environment,
            }
        } else {
            let ports = match (self.discovery.ports, env(PIECES_OS_PORTS_ENV)) {
                (Some(ports), _) => ports,
                (None, Some(text)) => text.parse::<PortRange>().map_err(|err| {
                    Error::invalid_input(PIECES_OS_PORTS_ENV, format!("{err} (from the environment)"))
                })?,
                (None, None) => DEFAULT_PORTS,
            };
            Target::Scan(ports)
        };
        self.discovery.validate()?;
        self.compatible_versions.validate()?;
        if !is_header_name(&self.api_key_header) {
            return Err(Error::invalid_input(
                "api_key_header",
                format!("{:?} is not a valid HTTP header name", self.api_key_header),
            ));
        }
        if let Some(id) = &self.application_id {
            check_header_value("application_id", id)?;
        }
        check_header_value("user_agent", &self.user_agent)?;
        if self.connect_timeout.is_zero() {
            return Err(Error::invalid_input(
                "connect_timeout",
                "must be greater than zero",
            ));
        }
        if self.request_timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::invalid_input(
                "request_timeout",
                "must be greater than zero (use null for no limit)",
            ));
        }
        if self.max_body_bytes == 0 {
            return Err(Error::invalid_input(
                "max_body_bytes",
                "must be greater than zero",
            ));
        }
        self.stream.validate()?;
        Ok(target)
    }
}

/// Where a client's base URL comes from; see [`Client::url_source`](crate::Client::url_source).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UrlSource {
    /// [`ClientConfig::base_url`](crate::ClientConfig::base_url).
    Config,
    /// The environment variable `PIECES_OS_URL`.
    Environment,
    /// A scan of these ports of 127.0.0.1.
    Scan(PortRange),
}

impl fmt::Display for UrlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlSource::Config => f.write_str("given in the configuration"),
            UrlSource::Environment => write!(f, "given by {}", PIECES_OS_URL_ENV),
            UrlSource::Scan(ports) => write!(f, "found by scanning 127.0.0.1 ports {ports}"),
        }
    }
}

/// Where a client's requests go, as the configuration and the environment decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A URL given by the configuration or the environment, without a trailing slash.
    Fixed { url: String, source: UrlSource },
    /// Found by scanning these ports, at the first request.
    Scan(PortRange),
}

/// RFC 9110 `token`: the characters a header name may have.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Refuses header values that could split or end the header (CR, LF, NUL and other controls but tab).
fn check_header_value(argument: &'static str, value: &str) -> Result<()> {
    match value.chars().find(|&c| c.is_control() && c != '\t') {
        Some(c) => Err(Error::invalid_input(
            argument,
            format!("contains the control character {c:?}, which a header value cannot carry"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> ClientConfig {
        ClientConfig::default().with_base_url(url)
    }

    fn fixed(url: &str, source: UrlSource) -> Target {
        Target::Fixed {
            url: url.to_owned(),
            source,
        }
    }

    #[test]
    fn accepts_http_and_https_and_trims_the_slash() {
        for (given, expected) in [
            ("http://127.0.0.1:39300/", "http://127.0.0.1:39300"),
            ("https://pieces.local", "https://pieces.local"),
            ("http://[::1]:1000/base", "http://[::1]:1000/base"),
        ] {
            assert_eq!(
                config(given).validate().unwrap(),
                fixed(expected, UrlSource::Config)
            );
        }
    }

    #[test]
    fn the_url_comes_from_the_config_then_the_environment_then_a_scan() {
        let env = |url: Option<&'static str>, ports: Option<&'static str>| {
            move |name: &str| match name {
                PIECES_OS_URL_ENV => url.map(str::to_owned),
                PIECES_OS_PORTS_ENV => ports.map(str::to_owned),
                _ => None,
            }
        };
        let both = env(Some("http://127.0.0.1:1234/"), Some("5-6"));
        // An explicit URL always wins.
        assert_eq!(
            config("http://127.0.0.1:1").validate_with_env(&both).unwrap(),
            fixed("http://127.0.0.1:1", UrlSource::Config)
        );
        let plain = ClientConfig::default();
        assert_eq!(
            plain.validate_with_env(&both).unwrap(),
            fixed("http://127.0.0.1:1234", UrlSource::Environment)
        );
        // An empty PIECES_OS_URL counts as unset.
        assert_eq!(
            plain.validate_with_env(&env(Some(" "), Some("5-6"))).unwrap(),
            Target::Scan(PortRange::new(5, 6).unwrap())
        );
        assert_eq!(
            plain.validate_with_env(&env(None, None)).unwrap(),
            Target::Scan(DEFAULT_PORTS)
        );
        // Configured ports win over PIECES_OS_PORTS.
        let narrow = plain
            .clone()
            .with_discovery(DiscoveryConfig::default().with_ports(PortRange::new(7, 9).unwrap()));
        assert_eq!(
            narrow.validate_with_env(&env(None, Some("5-6"))).unwrap(),
            Target::Scan(PortRange::new(7, 9).unwrap())
        );
        // Without the environment, only the configuration counts.
        let sealed = plain
            .clone()
            .with_discovery(DiscoveryConfig::default().with_use_environment(false));
        assert_eq!(
            sealed.validate_with_env(&both).unwrap(),
            Target::Scan(DEFAULT_PORTS)
        );
        // Bad values from the environment are named as such.
        let err = plain
            .validate_with_env(&env(Some("localhost:1"), None))
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    argument: PIECES_OS_URL_ENV,
                    ..
                }
            ),
            "{err}"
        );
        let err = plain.validate_with_env(&env(None, Some("9-1"))).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    argument: PIECES_OS_PORTS_ENV,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("from the environment"), "{err}");
    }

    #[test]
    fn discovery_and_versions_have_a_json_form_and_are_checked() {
        let config = ClientConfig::from_json(
            r#"{"discovery": {"ports": "40000-40009", "connect_timeout_ms": 20, "use_environment": false},
                "compatible_versions": {"at_least": "11.0.0", "below": "14.0.0"}}"#,
        )
        .unwrap();
        assert_eq!(
            config.discovery.ports,
            Some(PortRange::new(40000, 40009).unwrap())
        );
        assert_eq!(config.discovery.connect_timeout, Duration::from_millis(20));
        assert!(!config.discovery.use_environment);
        assert_eq!(config.compatible_versions.to_string(), ">=11.0.0, <14.0.0");
        assert_eq!(
            config.validate().unwrap(),
            Target::Scan(PortRange::new(40000, 40009).unwrap())
        );
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(ClientConfig::from_json(&json).unwrap(), config);

        for (bad, argument) in [
            (
                r#"{"discovery": {"connect_timeout_ms": 0}}"#,
                "discovery.connect_timeout_ms",
            ),
            (
                r#"{"discovery": {"answer_timeout_ms": 0}}"#,
                "discovery.answer_timeout_ms",
            ),
            (
                r#"{"compatible_versions": {"at_least": "2.0.0", "below": "1.0.0"}}"#,
                "compatible_versions",
            ),
        ] {
            let err = ClientConfig::from_json(bad).unwrap().validate().unwrap_err();
            assert!(
                matches!(err, Error::InvalidInput { argument: a, .. } if a == argument),
                "{bad}: {err}"
            );
        }
        assert!(ClientConfig::from_json(r#"{"discovery": {"ports": "0-5"}}"#).is_err());
        assert!(ClientConfig::from_json(r#"{"discovery": {"port": "1-5"}}"#).is_err());
    }

    #[test]
    fn refuses_urls_that_are_not_http() {
        for bad in [
            "ftp://127.0.0.1",
            "127.0.0.1:39300",
            "http://",
            "http://127.0.0.1:null",
            "http://127.0.0.1:0",
            "http://127.0.0.1:70000",
            "http://127.0.0.1:39300?x=1",
            "http://user@127.0.0.1",
            "http://127.0.0.1:39300/a b",
            "http://[::1",
        ] {
            let err = config(bad).validate().unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        argument: "base_url",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn refuses_header_injection() {
        let err = config("http://127.0.0.1:1")
            .with_application_id("abc\r\nX-Evil: 1")
            .validate()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    argument: "application_id",
                    ..
                }
            ),
            "{err}"
        );
        let err = config("http://127.0.0.1:1")
            .with_api_key_header("X Application")
            .validate()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    argument: "api_key_header",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn json_form_round_trips_and_refuses_unknown_keys() {
        let config = ClientConfig::default()
            .with_base_url("http://127.0.0.1:1")
            .with_request_timeout(None);
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains("\"request_timeout_ms\":null"), "{json}");
        assert_eq!(ClientConfig::from_json(&json).unwrap(), config);
        assert_eq!(ClientConfig::from_json("{}").unwrap(), ClientConfig::default());

        let err = ClientConfig::from_json(r#"{"base_url": "http://x", "bse_url": 1}"#).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown field `bse_url`"), "{text}");
        assert!(matches!(
            err,
            Error::InvalidJson {
                argument: "config",
                line: 1,
                ..
            }
        ));
    }

    #[test]
    fn stream_settings_have_a_json_form_and_are_checked() {
        let config = ClientConfig::from_json(
            r#"{"stream": {"retry_initial_ms": 10, "retry_max_ms": 20, "max_attempts": 3}}"#,
        )
        .unwrap();
        assert_eq!(config.stream.retry_initial, Duration::from_millis(10));
        assert_eq!(config.stream.max_attempts, Some(3));
        assert_eq!(
            config.stream.queue_capacity,
            StreamConfig::default().queue_capacity
        );
        assert_eq!(config.stream.queue_max_bytes, DEFAULT_QUEUE_MAX_BYTES);
        let bounded = ClientConfig::from_json(r#"{"stream": {"queue_max_bytes": 4096}}"#).unwrap();
        assert_eq!(bounded.stream.queue_max_bytes, 4096);
        let err = ClientConfig::from_json(
            r#"{"base_url": "http://127.0.0.1:1", "stream": {"queue_max_bytes": 0}}"#,
        )
        .unwrap()
        .validate()
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    argument: "stream.queue_max_bytes",
                    ..
                }
            ),
            "{err}"
        );
        let err = ClientConfig::from_json(r#"{"stream": {"retries": 1}}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `retries`"), "{err}");

        let base = config.with_base_url("http://127.0.0.1:1");
        let bad = base
            .clone()
            .with_stream(StreamConfig::default().with_retry(Duration::from_secs(2), Duration::from_secs(1)));
        let err = bad.validate().unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    argument: "stream.retry_max_ms",
                    ..
                }
            ),
            "{err}"
        );
        let bad = base.with_stream(
            StreamConfig::default().with_liveness(Duration::from_secs(5), Duration::from_secs(5)),
        );
        assert!(bad.validate().is_err());
    }

    #[test]
    fn refuses_zero_limits() {
        let base = config("http://127.0.0.1:1");
        assert!(base
            .clone()
            .with_connect_timeout(Duration::ZERO)
            .validate()
            .is_err());
        assert!(base
            .clone()
            .with_request_timeout(Some(Duration::ZERO))
            .validate()
            .is_err());
        assert!(base.with_max_body_bytes(0).validate().is_err());
    }
}
