//! [`MirrorOptions`]: what a mirror fetches and how it behaves when PiecesOS fails, with the JSON form
//! that `pieces_mirror_new` takes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::operation::Transferables;

/// Settings of a mirror ([`Client::mirror`](crate::Client::mirror),
/// [`Client::mirror_pull`](crate::Client::mirror_pull)). Build it with [`MirrorOptions::default`] and
/// the `with_*` methods, or decode it from JSON: every key optional, unknown keys refused.
///
/// | JSON key | default | meaning |
/// |---|---|---|
/// | `transferables` | `null` | `null`: the query parameter is left out (content included), `true`: `transferables=true`, `false`: `transferables=false` (a mirror without the heavy content) |
/// | `announce_initial` | `true` | whether the first sync announces every message with an `added` event, or only says `synced` |
/// | `snapshot_threshold` | `null` | more changed ids pending than this: one snapshot instead of one fetch each; `null` decides from the measured cost of both |
/// | `retry_initial_ms`, `retry_max_ms` | 100, 5000 | the delays before retrying a failed fetch or snapshot, doubling (with jitter) |
/// | `stale_after` | 3 | failed tries in a row after which the mirror says it is stale and plans a snapshot |
///
/// The stream settings (reconnection, the pull queue's bounds) are the client's
/// [`StreamConfig`](crate::StreamConfig).
///
/// ```
/// use pieces_os_client::{MirrorOptions, Transferables};
///
/// let options = MirrorOptions::from_json(r#"{"transferables": false, "announce_initial": false}"#)?;
/// assert_eq!(options, MirrorOptions::default().with_transferables(Transferables::Exclude).with_announce_initial(false));
/// # Ok::<(), pieces_os_client::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MirrorOptions {
    /// What is fetched, snapshot and single messages alike: [`Transferables::Exclude`] keeps a mirror of
    /// everything but the heavy content (fragment text and bytes).
    #[serde(with = "transferables_json")]
    pub transferables: Transferables,
    /// Whether the first sync announces every message with an `Added` event (`true`), or only with
    /// `Synced { count }` (`false`: for a program that reads the whole mirror once it is synced, and
    /// then wants only the changes). Later syncs always announce what changed.
    pub announce_initial: bool,
    /// When more changed ids are waiting to be fetched than this, the mirror takes one snapshot instead
    /// of fetching them one by one. `None`: it decides from what its own snapshots and fetches cost so
    /// far (the snapshot's time against the time of one fetch times the ids waiting).
    pub snapshot_threshold: Option<usize>,
    /// The delay before the first retry of a failed fetch or snapshot; it doubles after each failure.
    #[serde(rename = "retry_initial_ms", with = "crate::millis")]
    pub retry_initial: Duration,
    /// Upper bound of the delay between retries.
    #[serde(rename = "retry_max_ms", with = "crate::millis")]
    pub retry_max: Duration,
    /// How many tries in a row may fail before the mirror says it is stale (a `Stale` event) and plans
    /// a snapshot for when PiecesOS answers again.
    pub stale_after: u32,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        MirrorOptions {
            transferables: Transferables::Default,
            announce_initial: true,
            snapshot_threshold: None,
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
            stale_after: 3,
        }
    }
}

impl MirrorOptions {
    /// Sets [`Self::transferables`].
    pub fn with_transferables(mut self, transferables: Transferables) -> Self {
        self.transferables = transferables;
        self
    }

    /// Sets [`Self::announce_initial`].
    pub fn with_announce_initial(mut self, announce: bool) -> Self {
        self.announce_initial = announce;
        self
    }

    /// Sets [`Self::snapshot_threshold`].
    pub fn with_snapshot_threshold(mut self, threshold: Option<usize>) -> Self {
        self.snapshot_threshold = threshold;
        self
    }

    /// Sets [`Self::retry_initial`] and [`Self::retry_max`].
    pub fn with_retry(mut self, initial: Duration, max: Duration) -> Self {
        self.retry_initial = initial;
        self.retry_max = max;
        self
    }

    /// Sets [`Self::stale_after`].
    pub fn with_stale_after(mut self, failures: u32) -> Self {
        self.stale_after = failures;
        self
    }

    /// Decodes the JSON form (as `pieces_mirror_new` takes it): every key optional, unknown keys refused.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|err| Error::invalid_json("options", err))
    }

    /// Checks every setting.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.retry_initial.is_zero() {
            return Err(Error::invalid_input(
                "options.retry_initial_ms",
                "must be greater than zero",
            ));
        }
        if self.retry_max < self.retry_initial {
            return Err(Error::invalid_input(
                "options.retry_max_ms",
                "must not be smaller than options.retry_initial_ms",
            ));
        }
        if self.stale_after == 0 {
            return Err(Error::invalid_input("options.stale_after", "must be at least 1"));
        }
        Ok(())
    }
}

/// [`Transferables`] as the JSON of the query parameter it stands for: `null` (left out), `true`, `false`.
mod transferables_json {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::operation::Transferables;

    pub(super) fn serialize<S: Serializer>(value: &Transferables, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Transferables::Default => serializer.serialize_none(),
            Transferables::Include => serializer.serialize_bool(true),
            Transferables::Exclude => serializer.serialize_bool(false),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Transferables, D::Error> {
        Ok(match Option::<bool>::deserialize(deserializer)? {
            None => Transferables::Default,
            Some(true) => Transferables::Include,
            Some(false) => Transferables::Exclude,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_form_round_trips_and_refuses_unknown_keys() {
        assert_eq!(MirrorOptions::from_json("{}").unwrap(), MirrorOptions::default());
        let options = MirrorOptions::from_json(
            r#"{"transferables": true, "snapshot_threshold": 50, "retry_initial_ms": 10,
                "retry_max_ms": 20, "stale_after": 2, "announce_initial": false}"#,
        )
        .unwrap();
        assert_eq!(options.transferables, Transferables::Include);
        assert_eq!(options.snapshot_threshold, Some(50));
        assert_eq!(options.retry_initial, Duration::from_millis(10));
        assert!(!options.announce_initial);
        let json = serde_json::to_string(&options).unwrap();
        assert_eq!(MirrorOptions::from_json(&json).unwrap(), options);
        for (text, expected) in [
            ("null", Transferables::Default),
            ("true", Transferables::Include),
            ("false", Transferables::Exclude),
        ] {
            let json = format!(r#"{{"transferables": {text}}}"#);
            assert_eq!(MirrorOptions::from_json(&json).unwrap().transferables, expected);
        }
        let err = MirrorOptions::from_json(r#"{"transferable": true}"#).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidJson {
                    argument: "options",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("unknown field `transferable`"), "{err}");
        assert!(MirrorOptions::from_json(r#"{"transferables": "yes"}"#).is_err());
    }

    #[test]
    fn settings_are_checked() {
        MirrorOptions::default().validate().unwrap();
        for (options, argument) in [
            (
                MirrorOptions::default().with_retry(Duration::ZERO, Duration::from_secs(1)),
                "options.retry_initial_ms",
            ),
            (
                MirrorOptions::default().with_retry(Duration::from_secs(2), Duration::from_secs(1)),
                "options.retry_max_ms",
            ),
            (
                MirrorOptions::default().with_stale_after(0),
                "options.stale_after",
            ),
        ] {
            let err = options.validate().unwrap_err();
            assert!(
                matches!(err, Error::InvalidInput { argument: a, .. } if a == argument),
                "{err}"
            );
        }
    }
}
