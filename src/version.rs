//! [`Version`] and [`VersionRange`]: the PiecesOS versions a client accepts.
//!
//! A version is read as `MAJOR.MINOR.PATCH` (a missing minor or patch counts as 0, a leading `v` is
//! allowed) followed by an optional suffix such as `-beta` or `+build.7`, which is ignored when comparing:
//! `12.0.0-beta` counts as 12.0.0. `debug`, the answer of a development build of PiecesOS, is compatible
//! with every range.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Outdated, Result};
use crate::operation::WELL_KNOWN_VERSION;

/// The answer of a development build of PiecesOS to `GET /.well-known/version`.
pub const DEBUG_VERSION: &str = "debug";

/// A release number `MAJOR.MINOR.PATCH`. Parsing accepts a leading `v`, a missing minor or patch, and a
/// suffix after `-` or `+`, which is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Incompatible API changes.
    pub major: u64,
    /// Additions.
    pub minor: u64,
    /// Fixes.
    pub patch: u64,
}

impl Version {
    /// `major.minor.patch`.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version { major, minor, patch }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for Version {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let refuse = || Error::invalid_input("version", format!("{text:?} is not MAJOR.MINOR.PATCH"));
        let trimmed = text.trim();
        let trimmed = trimmed.strip_prefix(['v', 'V']).unwrap_or(trimmed);
        let core = trimmed.split(['-', '+']).next().unwrap_or_default();
        let mut numbers = [0u64; 3];
        for (index, part) in core.split('.').enumerate() {
            let slot = numbers.get_mut(index).ok_or_else(refuse)?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(refuse());
            }
            *slot = part.parse().map_err(|_| refuse())?;
        }
        let [major, minor, patch] = numbers;
        Ok(Version { major, minor, patch })
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The PiecesOS versions a client accepts: `at_least` ≤ v < `below`. The default, 12.0.0 to 13.0.0, is
/// what the official plugins accept. JSON form: `{"at_least": "12.0.0", "below": "13.0.0"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRange {
    /// The oldest version accepted.
    pub at_least: Version,
    /// The first version no longer accepted.
    pub below: Version,
}

impl Default for VersionRange {
    fn default() -> Self {
        VersionRange {
            at_least: Version::new(12, 0, 0),
            below: Version::new(13, 0, 0),
        }
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ">={}, <{}", self.at_least, self.below)
    }
}

impl VersionRange {
    /// `at_least` ≤ v < `below`.
    pub fn new(at_least: Version, below: Version) -> Self {
        VersionRange { at_least, below }
    }

    /// Whether `version` is in the range.
    pub fn contains(&self, version: &Version) -> bool {
        self.at_least <= *version && *version < self.below
    }

    /// Checks a version as PiecesOS reports it: `Ok` when it is `debug` or in the range,
    /// [`Error::IncompatibleVersion`] when it is outside, [`Error::Decode`] when it is not a version.
    pub fn check(&self, reported: &str) -> Result<()> {
        let reported = reported.trim();
        if reported.eq_ignore_ascii_case(DEBUG_VERSION) {
            return Ok(());
        }
        let version: Version = reported.parse().map_err(|_| {
            Error::decode_message(
                WELL_KNOWN_VERSION.name,
                format!("{reported:?} is neither a version (MAJOR.MINOR.PATCH) nor \"debug\""),
            )
        })?;
        if self.contains(&version) {
            return Ok(());
        }
        Err(Error::IncompatibleVersion {
            found: crate::error::clip(reported.to_owned()),
            required: *self,
            outdated: if version < self.at_least {
                Outdated::PiecesOs
            } else {
                Outdated::Client
            },
        })
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.below <= self.at_least {
            return Err(Error::invalid_input(
                "compatible_versions",
                format!("{self} accepts no version: below must be higher than at_least"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_suffixes_and_short_forms() {
        for (text, expected) in [
            ("12.1.0", Version::new(12, 1, 0)),
            (" 12.1.0\n", Version::new(12, 1, 0)),
            ("12.1.0-beta", Version::new(12, 1, 0)),
            ("12.1.0+build.7", Version::new(12, 1, 0)),
            ("v12.3.4", Version::new(12, 3, 4)),
            ("12.1", Version::new(12, 1, 0)),
            ("12", Version::new(12, 0, 0)),
        ] {
            assert_eq!(text.parse::<Version>().unwrap(), expected, "{text:?}");
        }
        for bad in [
            "",
            "debug",
            "12.",
            ".1",
            "12.1.0.1",
            "1 2",
            "12.x.0",
            "-1.0.0",
            "99999999999999999999",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?}");
        }
        assert!(Version::new(12, 10, 0) > Version::new(12, 9, 9));
    }

    #[test]
    fn the_default_range_is_twelve() {
        let range = VersionRange::default();
        assert!(range.check("12.0.0").is_ok());
        assert!(range.check("12.0.0-beta").is_ok());
        assert!(range.check("12.99.99").is_ok());
        assert!(range.check("debug").is_ok());
        assert!(range.check("DEBUG\n").is_ok());
    }

    #[test]
    fn an_incompatible_version_says_which_side_to_update() {
        let range = VersionRange::default();
        let old = range.check("11.9.3").unwrap_err();
        assert!(
            matches!(
                &old,
                Error::IncompatibleVersion { found, outdated: Outdated::PiecesOs, .. } if found == "11.9.3"
            ),
            "{old:?}"
        );
        let text = old.to_string();
        assert!(
            text.contains("11.9.3") && text.contains(">=12.0.0, <13.0.0"),
            "{text}"
        );
        assert!(text.contains("update PiecesOS"), "{text}");
        assert_eq!(old.kind(), "incompatible_version");

        let new = range.check("13.0.0-rc1").unwrap_err();
        assert!(
            matches!(
                new,
                Error::IncompatibleVersion {
                    outdated: Outdated::Client,
                    ..
                }
            ),
            "{new:?}"
        );
        assert!(new.to_string().contains("update pieces-os-client"), "{new}");
    }

    #[test]
    fn a_text_that_is_no_version_is_a_decode_error() {
        let err = VersionRange::default().check("banana").unwrap_err();
        assert!(
            matches!(&err, Error::Decode { endpoint: "well_known_version", message, .. } if message.contains("banana")),
            "{err:?}"
        );
    }

    #[test]
    fn ranges_have_a_json_form_and_must_not_be_empty() {
        let range: VersionRange = serde_json::from_str(r#"{"at_least": "1.2", "below": "2.0.0"}"#).unwrap();
        assert_eq!(
            range,
            VersionRange::new(Version::new(1, 2, 0), Version::new(2, 0, 0))
        );
        assert_eq!(
            serde_json::to_string(&range).unwrap(),
            r#"{"at_least":"1.2.0","below":"2.0.0"}"#
        );
        assert!(serde_json::from_str::<VersionRange>(r#"{"at_least": "1.2"}"#).is_err());
        assert!(serde_json::from_str::<VersionRange>(r#"{"at_least": "x", "below": "2"}"#).is_err());
        assert!(VersionRange::new(Version::new(2, 0, 0), Version::new(2, 0, 0))
            .validate()
            .is_err());
        assert!(VersionRange::default().validate().is_ok());
    }
}
