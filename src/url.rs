//! URL text: the base URL a user gives, the `ws://` URL of a stream, the host and port to dial.
//!
//! PiecesOS URLs are simple (`http://127.0.0.1:39300`, no user information, no query), so this module
//! handles exactly that shape itself and leaves full parsing to the `http` crate that ureq uses: a base
//! URL is refused here unless both agree, so it can never fail later at the first request.

use std::net::Ipv4Addr;

use crate::error::{Error, Result};

/// Accepts `http(s)://host[:port][/path]`, refusing anything else; returns it without a trailing slash.
/// `argument` names where the URL came from in the error (`base_url`, `PIECES_OS_URL`).
pub(crate) fn validate_base_url(argument: &'static str, url: &str) -> Result<String> {
    let refuse = |reason: &str| Error::invalid_input(argument, format!("{url:?} {reason}"));
    let rest = if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
        rest
    } else if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
        rest
    } else {
        return Err(refuse("is not an http:// or https:// URL"));
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("contains white space or control characters"));
    }
    if url.contains(['?', '#']) {
        return Err(refuse("must not have a query or a fragment"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(refuse("must not carry user information"));
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| refuse("has no host"))?;
    if host.is_empty() {
        return Err(refuse("has no host"));
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => return Err(refuse("has a port that is not a number from 1 to 65535")),
        }
    }
    // The `http` crate is what ureq parses URLs with; a URL it refuses would fail at the first request.
    let parsed: std::result::Result<ureq::http::Uri, _> = url.parse();
    if let Err(err) = parsed {
        return Err(refuse(&format!("is not a valid URL ({err})")));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The base URL of a PiecesOS found on `port` of IPv4 loopback (never `localhost`, which may resolve to
/// IPv6 while PiecesOS listens on IPv4).
pub(crate) fn loopback_url(port: u16) -> String {
    format!("http://{}:{port}", Ipv4Addr::LOCALHOST)
}

/// The `ws://` URL of `path` at an `http://` base URL; for any other scheme, why there is none.
pub(crate) fn websocket_url(base_url: &str, path: &str) -> std::result::Result<String, &'static str> {
    if let Some(rest) = strip_prefix_ignore_case(base_url, "http://") {
        Ok(format!("ws://{rest}{path}"))
    } else if strip_prefix_ignore_case(base_url, "https://").is_some() {
        Err("wss:// needs TLS, which this build does not include")
    } else {
        Err("the base URL is not http://")
    }
}

/// The host and port to dial for a `ws://` URL (port 80 when the URL names none).
pub(crate) fn websocket_authority(ws_url: &str) -> (&str, u16) {
    let rest = strip_prefix_ignore_case(ws_url, "ws://").unwrap_or(ws_url);
    let authority = rest.split('/').next().unwrap_or(rest);
    // The base URL passed validate_base_url, which splits it the same way, so this succeeds.
    let (host, port) = split_host_port(authority).unwrap_or((authority, None));
    (host, port.and_then(|port| port.parse().ok()).unwrap_or(80))
}

/// `text` without `prefix`, compared ASCII-case-insensitively (URL schemes are case-insensitive).
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// Splits `host:port`, `host`, `[v6]:port` or `[v6]`; `None` for an unclosed bracket or junk after it.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "/messages/stream/identifiers";

    #[test]
    fn websocket_urls_follow_the_base_url() {
        assert_eq!(
            websocket_url("http://127.0.0.1:39300", STREAM).unwrap(),
            "ws://127.0.0.1:39300/messages/stream/identifiers"
        );
        assert_eq!(
            websocket_url("HTTP://[::1]:1000/base", STREAM).unwrap(),
            "ws://[::1]:1000/base/messages/stream/identifiers"
        );
        assert!(websocket_url("https://pieces.local", STREAM).is_err());
        assert_eq!(
            websocket_authority("ws://127.0.0.1:39300/messages"),
            ("127.0.0.1", 39300)
        );
        assert_eq!(websocket_authority("ws://[::1]:1000/x"), ("::1", 1000));
        assert_eq!(websocket_authority("ws://[::1]/x"), ("::1", 80));
        assert_eq!(websocket_authority("ws://localhost/x"), ("localhost", 80));
    }

    #[test]
    fn loopback_urls_name_ipv4() {
        assert_eq!(loopback_url(39300), "http://127.0.0.1:39300");
    }
}
