//! The mirror's messages, indexed three ways: by id, in creation order, and by conversation in creation
//! order. Every change replaces whole messages (behind `Arc`s), so a message a reader holds never changes.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::message::MirroredMessage;

/// A message in an ordered index: compares in creation order.
#[derive(Clone, Debug)]
struct ByCreation(Arc<MirroredMessage>);

impl PartialEq for ByCreation {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByCreation {}

impl PartialOrd for ByCreation {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByCreation {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.creation_order(&other.0)
    }
}

/// What applying one message did.
#[derive(Debug)]
pub(super) enum Change {
    Added(Arc<MirroredMessage>),
    Updated {
        before: Arc<MirroredMessage>,
        after: Arc<MirroredMessage>,
    },
    Removed(Arc<MirroredMessage>),
}

/// The messages of a mirror.
#[derive(Default)]
pub(super) struct Store {
    by_id: HashMap<Box<str>, Arc<MirroredMessage>>,
    in_creation_order: BTreeSet<ByCreation>,
    by_conversation: HashMap<Box<str>, BTreeSet<ByCreation>>,
}

impl Store {
    pub(super) fn get(&self, id: &str) -> Option<Arc<MirroredMessage>> {
        self.by_id.get(id).cloned()
    }

    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Every message, in creation order.
    pub(super) fn all(&self) -> Vec<Arc<MirroredMessage>> {
        self.in_creation_order.iter().map(|m| Arc::clone(&m.0)).collect()
    }

    /// The messages of one conversation, in creation order.
    pub(super) fn conversation(&self, conversation_id: &str) -> Vec<Arc<MirroredMessage>> {
        self.by_conversation
            .get(conversation_id)
            .map(|messages| messages.iter().map(|m| Arc::clone(&m.0)).collect())
            .unwrap_or_default()
    }

    /// The ids of the conversations that have messages, sorted.
    pub(super) fn conversation_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.by_conversation.keys().map(|id| id.to_string()).collect();
        ids.sort();
        ids
    }

    /// Puts `message` in place of the one with its id. `None` when the mirror held exactly this text.
    pub(super) fn upsert(&mut self, message: Arc<MirroredMessage>) -> Option<Change> {
        let before = match self.by_id.get(message.id()) {
            Some(held) if held.json() == message.json() => return None,
            Some(held) => Some(Arc::clone(held)),
            None => None,
        };
        if let Some(before) = &before {
            self.unindex(before);
        }
        self.by_id.insert(message.id().into(), Arc::clone(&message));
        self.in_creation_order.insert(ByCreation(Arc::clone(&message)));
        self.by_conversation
            .entry(message.conversation_id().into())
            .or_default()
            .insert(ByCreation(Arc::clone(&message)));
        Some(match before {
            Some(before) => Change::Updated {
                before,
                after: message,
            },
            None => Change::Added(message),
        })
    }

    /// Removes the message with this id, if the mirror holds it.
    pub(super) fn remove(&mut self, id: &str) -> Option<Change> {
        let removed = self.by_id.remove(id)?;
        self.unindex(&removed);
        Some(Change::Removed(removed))
    }

    /// Makes the mirror hold exactly `messages` (a snapshot): the changes, removals first, then the
    /// additions and updates in the snapshot's order.
    pub(super) fn reconcile(&mut self, messages: Vec<MirroredMessage>) -> Vec<Change> {
        let present: HashSet<&str> = messages.iter().map(MirroredMessage::id).collect();
        let gone: Vec<Box<str>> = self
            .by_id
            .keys()
            .filter(|id| !present.contains(&***id))
            .cloned()
            .collect();
        let mut changes: Vec<Change> = gone.iter().filter_map(|id| self.remove(id)).collect();
        for message in messages {
            changes.extend(self.upsert(Arc::new(message)));
        }
        changes
    }

    /// Takes `message` (the version held) out of the ordered indexes.
    fn unindex(&mut self, message: &Arc<MirroredMessage>) {
        let key = ByCreation(Arc::clone(message));
        self.in_creation_order.remove(&key);
        if let Some(messages) = self.by_conversation.get_mut(message.conversation_id()) {
            messages.remove(&key);
            if messages.is_empty() {
                self.by_conversation.remove(message.conversation_id());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, conversation: &str, minute: u32, text: &str) -> MirroredMessage {
        let json = serde_json::json!({
            "id": id, "conversation": {"id": conversation},
            "created": {"value": format!("2024-01-01T00:{minute:02}:00Z")},
            "fragment": {"string": {"raw": text}}
        });
        MirroredMessage::from_json(json.to_string()).unwrap()
    }

    fn ids(messages: &[Arc<MirroredMessage>]) -> Vec<&str> {
        messages.iter().map(|m| m.id()).collect()
    }

    #[test]
    fn upserts_keep_every_index_in_creation_order() {
        let mut store = Store::default();
        assert!(matches!(
            store.upsert(Arc::new(message("b", "c1", 2, "x"))),
            Some(Change::Added(_))
        ));
        store.upsert(Arc::new(message("a", "c1", 3, "x")));
        store.upsert(Arc::new(message("z", "c2", 1, "x")));
        assert_eq!(ids(&store.all()), ["z", "b", "a"]);
        assert_eq!(ids(&store.conversation("c1")), ["b", "a"]);
        assert_eq!(store.conversation_ids(), ["c1", "c2"]);
        assert!(store.conversation("none").is_empty());

        // The same text again changes nothing; a new one replaces the old everywhere.
        assert!(store.upsert(Arc::new(message("b", "c1", 2, "x"))).is_none());
        let held = store.get("b").unwrap();
        match store.upsert(Arc::new(message("b", "c2", 0, "y"))) {
            Some(Change::Updated { before, after }) => {
                assert!(Arc::ptr_eq(&before, &held));
                assert_eq!(after.conversation_id(), "c2");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            held.text().as_deref(),
            Some("x"),
            "what a reader holds never changes"
        );
        assert_eq!(ids(&store.all()), ["b", "z", "a"]);
        assert_eq!(ids(&store.conversation("c1")), ["a"]);
        assert_eq!(ids(&store.conversation("c2")), ["b", "z"]);
        assert_eq!(store.len(), 3);

        assert!(matches!(store.remove("a"), Some(Change::Removed(m)) if m.id() == "a"));
        assert!(store.remove("a").is_none());
        assert_eq!(
            store.conversation_ids(),
            ["c2"],
            "an emptied conversation is gone"
        );
        assert_eq!(store.len(), 2);
        assert_eq!(store.all().len(), 2);
    }

    #[test]
    fn reconcile_makes_the_store_equal_a_snapshot() {
        let mut store = Store::default();
        for (id, text) in [("keep", "same"), ("change", "old"), ("drop", "gone")] {
            store.upsert(Arc::new(message(id, "c", 1, text)));
        }
        let changes = store.reconcile(vec![
            message("change", "c", 1, "new"),
            message("keep", "c", 1, "same"),
            message("add", "c", 2, "fresh"),
        ]);
        let described: Vec<String> = changes
            .iter()
            .map(|change| match change {
                Change::Added(m) => format!("+{}", m.id()),
                Change::Updated { before, after } => {
                    format!(
                        "~{}:{}>{}",
                        after.id(),
                        before.text().unwrap(),
                        after.text().unwrap()
                    )
                }
                Change::Removed(m) => format!("-{}", m.id()),
            })
            .collect();
        assert_eq!(described, ["-drop", "~change:old>new", "+add"]);
        assert_eq!(ids(&store.all()), ["change", "keep", "add"]);
        assert!(store.reconcile(Vec::new()).len() == 3 && store.len() == 0);
    }
}
