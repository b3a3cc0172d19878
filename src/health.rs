//! Is PiecesOS up, which version is it, and can this client talk to it?
//!
//! | call | request | answer |
//! |---|---|---|
//! | [`Client::health`] | `GET /.well-known/health` | `Ok(())` on 200 |
//! | [`Client::version`] | `GET /.well-known/version` | the plain-text version, trimmed |
//! | [`Client::check_version`] | the same | the version when it is in [`ClientConfig::compatible_versions`](crate::ClientConfig::compatible_versions), else [`Error::IncompatibleVersion`] |
//!
//! How a version text is read and compared is [`Version`]'s and [`VersionRange`]'s business (`debug`, a
//! development build, is compatible with every range). Nothing checks the version on its own: call
//! [`Client::check_version`] once after connecting, as the official plugins do.
//!
//! ```
//! use pieces_os_client::health::{Version, VersionRange};
//!
//! let range = VersionRange::default();
//! assert_eq!(range.to_string(), ">=12.0.0, <13.0.0");
//! assert!(range.contains(&"12.1.0-beta".parse::<Version>()?));
//! assert!(!range.contains(&"13.0.0".parse::<Version>()?));
//! # Ok::<(), pieces_os_client::Error>(())
//! ```

use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::operation::{WELL_KNOWN_HEALTH, WELL_KNOWN_VERSION};
pub use crate::version::{Version, VersionRange, DEBUG_VERSION};

/// The longest answer to `GET /.well-known/version` that is read as a version.
pub const MAX_VERSION_BYTES: usize = 256;

impl Client {
    /// `GET /.well-known/health`: `Ok(())` when PiecesOS answers 200. Any other answer is an
    /// [`Error::HttpStatus`]; for a client that discovers PiecesOS, finding nothing is
    /// [`Error::NotRunning`].
    pub fn health(&self) -> Result<()> {
        self.exchange(Request::new(&WELL_KNOWN_HEALTH)).map(drop)
    }

    /// `GET /.well-known/version`: the version of PiecesOS as it reports it (plain text, white space
    /// trimmed), for example `12.1.0` or `debug`. An answer longer than [`MAX_VERSION_BYTES`] is no
    /// version: it is refused with [`Error::Decode`] without being read further.
    pub fn version(&self) -> Result<String> {
        let request = Request::new(&WELL_KNOWN_VERSION).max_body_bytes(MAX_VERSION_BYTES as u64);
        let body = self.exchange(request).map_err(|err| match err {
            Error::BodyTooLarge { .. } => Error::decode_message(
                WELL_KNOWN_VERSION.name,
                format!("the answer is longer than {MAX_VERSION_BYTES} bytes, which no version is"),
            ),
            other => other,
        })?;
        let text = String::from_utf8(body)
            .map_err(|err| Error::invalid_utf8(WELL_KNOWN_VERSION.name, err.utf8_error()))?;
        Ok(text.trim().to_owned())
    }

    /// Asks PiecesOS for its version and checks it against
    /// [`ClientConfig::compatible_versions`](crate::ClientConfig::compatible_versions); returns the
    /// version text when it is compatible (`debug` always is).
    ///
    /// A version outside the range is [`Error::IncompatibleVersion`], whose message says whether
    /// PiecesOS or this client needs updating; a text that is not a version is [`Error::Decode`].
    pub fn check_version(&self) -> Result<String> {
        let found = self.version()?;
        self.config().compatible_versions.check(&found)?;
        Ok(found)
    }
}
