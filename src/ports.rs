//! [`PortRange`]: the ports discovery scans, as configured and as errors report them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// The ports PiecesOS picks from: 39300 to 39399. The official clients scan the first 34 of them;
/// PiecesOS staff say it may go up to 100.
pub const DEFAULT_PORTS: PortRange = PortRange {
    first: 39300,
    last: 39399,
};

/// The largest range a scan accepts, so that a scan stays short.
pub const MAX_PORTS: usize = 1024;

/// An inclusive range of TCP ports, written `START-END` (or a single port `PORT`) in JSON and in
/// [`PIECES_OS_PORTS_ENV`](crate::discovery::PIECES_OS_PORTS_ENV).
///
/// ```
/// use pieces_os_client::discovery::PortRange;
///
/// let range: PortRange = "39300-39333".parse()?;
/// assert_eq!((range.first(), range.last(), range.len()), (39300, 39333, 34));
/// assert_eq!(range.to_string(), "39300-39333");
/// assert!("39333-39300".parse::<PortRange>().is_err());
/// # Ok::<(), pieces_os_client::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// The ports `first` to `last`, both included. Refused: port 0, `last < first`, and more than
    /// [`MAX_PORTS`] ports.
    pub fn new(first: u16, last: u16) -> Result<Self> {
        let refuse = |reason: &str| Error::invalid_input("ports", format!("{first}-{last} {reason}"));
        if first == 0 {
            return Err(refuse("starts at port 0, which cannot be connected to"));
        }
        if last < first {
            return Err(refuse("ends before it starts"));
        }
        if usize::from(last - first) + 1 > MAX_PORTS {
            return Err(refuse(&format!("has more than {MAX_PORTS} ports")));
        }
        Ok(PortRange { first, last })
    }

    /// The lowest port of the range.
    pub fn first(&self) -> u16 {
        self.first
    }

    /// The highest port of the range.
    pub fn last(&self) -> u16 {
        self.last
    }

    /// How many ports the range holds (at least 1).
    #[allow(clippy::len_without_is_empty)] // A range is never empty.
    pub fn len(&self) -> usize {
        usize::from(self.last - self.first) + 1
    }

    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl FromStr for PortRange {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let port = |part: &str| {
            part.trim().parse::<u16>().map_err(|_| {
                Error::invalid_input(
                    "ports",
                    format!("{text:?} is not START-END or PORT with ports from 1 to 65535"),
                )
            })
        };
        match text.split_once('-') {
            Some((first, last)) => PortRange::new(port(first)?, port(last)?),
            None => {
                let single = port(text)?;
                PortRange::new(single, single)
            }
        }
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_parse_print_and_refuse_nonsense() {
        assert_eq!("39300-39399".parse::<PortRange>().unwrap(), DEFAULT_PORTS);
        assert_eq!(
            " 5 - 6 ".parse::<PortRange>().unwrap(),
            PortRange::new(5, 6).unwrap()
        );
        assert_eq!("8080".parse::<PortRange>().unwrap().len(), 1);
        assert_eq!(DEFAULT_PORTS.len(), 100);
        assert!(DEFAULT_PORTS.contains(39300) && DEFAULT_PORTS.contains(39399));
        assert!(!DEFAULT_PORTS.contains(39400));
        for bad in ["", "-", "0-10", "10-9", "1-70000", "a-b", "1-2-3", "1-2000"] {
            let err = bad.parse::<PortRange>().unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        argument: "ports",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
        let json = serde_json::to_string(&DEFAULT_PORTS).unwrap();
        assert_eq!(json, "\"39300-39399\"");
        assert_eq!(serde_json::from_str::<PortRange>(&json).unwrap(), DEFAULT_PORTS);
        assert!(serde_json::from_str::<PortRange>("\"9-1\"").is_err());
    }
}
