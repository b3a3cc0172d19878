//! Durations in the JSON configuration, written as whole milliseconds (`"connect_timeout_ms": 2000`).
//!
//! `#[serde(with = "crate::millis")]` for a [`Duration`]; `#[serde(with = "crate::millis::optional")]`
//! for an `Option<Duration>` whose `null` means "no limit".

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Writes `value` as whole milliseconds (saturating at `u64::MAX`).
pub(crate) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(value.as_millis().try_into().unwrap_or(u64::MAX))
}

/// Reads whole milliseconds.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_millis)
}

/// The same for `Option<Duration>`, with `null` for `None`.
pub(crate) mod optional {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `Some` as whole milliseconds and `None` as `null`.
    pub(crate) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => super::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads whole milliseconds or `null`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(deserializer).map(|ms| ms.map(Duration::from_millis))
    }
}
