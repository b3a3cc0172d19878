//! [`LiveIds`]: the current set of message ids, kept from a subscription's events.

use std::collections::BTreeSet;

use super::event::SubscriptionEvent;
use crate::models::StreamedIdentifiers;

/// The current set of message ids, kept from a subscription's events.
///
/// A full frame (the first of each connection) replaces the set; later frames add ids and remove the
/// ones marked deleted. After any drop and reconnection the next full frame makes it equal to the
/// server's set again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveIds {
    ids: BTreeSet<String>,
}

impl LiveIds {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies an event; returns whether the set changed. Events other than `Identifiers` change nothing.
    pub fn apply(&mut self, event: &SubscriptionEvent) -> bool {
        match event {
            SubscriptionEvent::Identifiers { frame, full } => self.apply_frame(frame, *full),
            _ => false,
        }
    }

    /// Applies one frame; `full` replaces the set. Returns whether the set changed.
    pub fn apply_frame(&mut self, frame: &StreamedIdentifiers, full: bool) -> bool {
        let before = if full {
            Some(std::mem::take(&mut self.ids))
        } else {
            None
        };
        let mut changed = false;
        for item in &frame.iterable {
            let Some(id) = item.message_id() else { continue };
            changed |= if item.is_deleted() {
                self.ids.remove(id)
            } else {
                self.ids.insert(id.to_owned())
            };
        }
        match before {
            Some(before) => before != self.ids,
            None => changed,
        }
    }

    /// The ids, sorted.
    pub fn ids(&self) -> &BTreeSet<String> {
        &self.ids
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// How many ids the set holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_ids_replace_on_full_frames_and_follow_changes() {
        let frame = |json: &str| serde_json::from_str::<StreamedIdentifiers>(json).unwrap();
        let mut live = LiveIds::new();
        assert!(live.apply_frame(
            &frame(r#"{"iterable":[{"conversationMessage":{"id":"a"}},{"conversationMessage":{"id":"b"}}]}"#),
            true
        ));
        assert!(live.apply_frame(
            &frame(r#"{"iterable":[{"conversationMessage":{"id":"c"}}]}"#),
            false
        ));
        assert!(live.apply_frame(
            &frame(r#"{"iterable":[{"conversationMessage":{"id":"a"},"deleted":true}]}"#),
            false
        ));
        assert_eq!(
            live.ids().iter().map(String::as_str).collect::<Vec<_>>(),
            ["b", "c"]
        );
        // A full frame with the same set changes nothing; one with another set replaces it.
        assert!(!live.apply_frame(
            &frame(r#"{"iterable":[{"conversationMessage":{"id":"b"}},{"conversationMessage":{"id":"c"}}]}"#),
            true
        ));
        assert!(live.apply_frame(
            &frame(r#"{"iterable":[{"conversationMessage":{"id":"z"}}]}"#),
            true
        ));
        assert_eq!(live.len(), 1);
        assert!(live.contains("z"));
        // Items of other kinds are not messages.
        assert!(!live.apply_frame(&frame(r#"{"iterable":[{"asset":{"id":"q"}}]}"#), false));
    }
}
