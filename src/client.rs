//! [`Client`]: one configured connection pool to PiecesOS, shared by every endpoint.
//!
//! The endpoints themselves live in [`crate::messages`] (HTTP) and [`crate::stream`] (WebSocket); this
//! module owns what they have in common: the ureq `Agent`, the resolved base URL, and the one exchange
//! function that sends a request and turns every answer into bytes or a precise [`Error`].

use std::io::Read;
use std::sync::Arc;

use crate::config::ClientConfig;
use crate::error::{Error, Result, MAX_ERROR_BODY_BYTES};

/// A blocking client for PiecesOS.
///
/// # Threads and cloning
///
/// `Client` is `Send + Sync` and cheap to clone: clones share one ureq `Agent`, so TCP connections are kept
/// alive and reused across calls, clones and threads. Every call blocks the calling thread until the
/// answer has arrived or a timeout of the [`ClientConfig`] ran out.
///
/// ```no_run
/// use pieces_os_client::{Client, ClientConfig, Transferables};
///
/// let client = Client::new(ClientConfig::default().with_base_url("http://127.0.0.1:39300"))?;
/// let messages = client.snapshot_messages(Transferables::Default)?;
/// println!("{} messages", messages.iterable.len());
/// # Ok::<(), pieces_os_client::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    agent: ureq::Agent,
    base_url: String,
    config: ClientConfig,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("config", &self.inner.config)
            .finish()
    }
}

/// HTTP method of an [`Exchange`]; PiecesOS's message endpoints use only these two.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Method {
    Get,
    Post,
}

/// One request to PiecesOS, as an endpoint function describes it.
pub(crate) struct Exchange<'a> {
    /// The documented operation name, used in every error.
    pub endpoint: &'static str,
    pub method: Method,
    /// Path and query, already encoded, starting with `/`.
    pub path_and_query: &'a str,
    /// A JSON body, sent with `Content-Type: application/json`.
    pub json_body: Option<&'a [u8]>,
}

impl Client {
    /// Builds a client after checking every setting of `config` (see [`ClientConfig`]); nothing is sent.
    pub fn new(config: ClientConfig) -> Result<Self> {
        let base_url = config.validate()?;
        let agent_config = ureq::Agent::config_builder()
            // A 500's text/plain body is the only clue PiecesOS gives; read it rather than fail early.
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(config.request_timeout)
            .user_agent(config.user_agent.as_str())
            .accept("application/json, text/plain")
            // Nothing at PiecesOS redirects; following one could carry the application id elsewhere.
            .max_redirects(0)
            .build();
        Ok(Client {
            inner: Arc::new(Inner {
                agent: agent_config.into(),
                base_url,
                config,
            }),
        })
    }

    /// Builds a client for `base_url` with every other setting at its default.
    pub fn with_base_url(base_url: impl Into<String>) -> Result<Self> {
        Self::new(ClientConfig::default().with_base_url(base_url))
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Sends one request and returns the body of a 2xx answer, read within the size limit.
    pub(crate) fn exchange(&self, exchange: Exchange<'_>) -> Result<Vec<u8>> {
        let url = format!("{}{}", self.inner.base_url, exchange.path_and_query);
        let config = &self.inner.config;
        let sent = match exchange.method {
            Method::Get => self.with_api_key(self.inner.agent.get(&url)).call(),
            Method::Post => {
                let request = self.with_api_key(self.inner.agent.post(&url));
                match exchange.json_body {
                    Some(body) => request.header("Content-Type", "application/json").send(body),
                    None => request.send_empty(),
                }
            }
        };
        let mut response = sent.map_err(|err| self.transport_error(&url, exchange.endpoint, err))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(Error::HttpStatus {
                endpoint: exchange.endpoint,
                status,
                body: read_error_body(response.body_mut().as_reader()),
            });
        }
        let limit = config.max_body_bytes;
        let mut body = Vec::new();
        // Sized once from Content-Length, so that a snapshot of tens of MB is not grown by doubling (each
        // step a copy, and up to twice the memory at its peak). One spare byte lets the C API append
        // its NUL without copying the text again. A length over the limit reserves nothing: the read
        // below fails at the limit.
        if let Some(length) = response.body().content_length().filter(|&length| length <= limit) {
            body.reserve_exact(usize::try_from(length).unwrap_or(0).saturating_add(1));
        }
        response
            .body_mut()
            .with_config()
            .limit(limit)
            .reader()
            .read_to_end(&mut body)
            .map_err(|err| self.transport_error(&url, exchange.endpoint, ureq::Error::from(err)))?;
        Ok(body)
    }

    /// Adds the API key header when an application id is configured.
    fn with_api_key<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let config = &self.inner.config;
        match &config.application_id {
            Some(id) => request.header(config.api_key_header.as_str(), id.as_str()),
            None => request,
        }
    }

    /// Turns a ureq failure into the error a user can act on.
    fn transport_error(&self, url: &str, endpoint: &'static str, err: ureq::Error) -> Error {
        let config = &self.inner.config;
        let connection = |reason: String| Error::Connection {
            url: url.to_owned(),
            reason,
        };
        match err {
            ureq::Error::Timeout(which) => Error::Timeout {
                url: url.to_owned(),
                after: match which {
                    ureq::Timeout::Connect | ureq::Timeout::Resolve => Some(config.connect_timeout),
                    _ => config.request_timeout,
                },
            },
            ureq::Error::BodyExceedsLimit(limit) => Error::BodyTooLarge { endpoint, limit },
            ureq::Error::HostNotFound => connection("host not found".to_owned()),
            ureq::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Error::Timeout {
                    url: url.to_owned(),
                    after: config.request_timeout,
                },
                std::io::ErrorKind::ConnectionRefused => connection("connection refused".to_owned()),
                std::io::ErrorKind::ConnectionReset => {
                    connection("connection reset by the server".to_owned())
                }
                std::io::ErrorKind::UnexpectedEof => {
                    connection("the server closed the connection before the answer was complete".to_owned())
                }
                _ => connection(io.to_string()),
            },
            ureq::Error::Protocol(protocol) => connection(format!("malformed HTTP answer: {protocol}")),
            other => connection(other.to_string()),
        }
    }
}

/// Reads at most [`MAX_ERROR_BODY_BYTES`] of an error body as text; an error body that cannot be read
/// in full still yields what arrived.
fn read_error_body(reader: impl Read) -> String {
    let mut bytes = Vec::new();
    let mut limited = reader.take(MAX_ERROR_BODY_BYTES as u64 + 1);
    // What arrived before a broken read is still the best clue there is.
    let _ = limited.read_to_end(&mut bytes);
    let truncated = bytes.len() > MAX_ERROR_BODY_BYTES;
    bytes.truncate(MAX_ERROR_BODY_BYTES);
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if truncated {
        text.push_str(" …(truncated)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn client_is_send_sync_and_clone() {
        assert_send_sync_clone::<Client>();
    }

    #[test]
    fn new_refuses_a_bad_config_before_sending() {
        let err = Client::with_base_url("file:///etc/passwd").unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    argument: "base_url",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn error_body_is_cut_at_the_limit() {
        let long = vec![b'x'; MAX_ERROR_BODY_BYTES + 10];
        let text = read_error_body(&long[..]);
        assert!(text.ends_with("…(truncated)"));
        assert_eq!(text.len(), MAX_ERROR_BODY_BYTES + " …(truncated)".len());
        assert_eq!(read_error_body(&b"no such message"[..]), "no such message");
    }
}
