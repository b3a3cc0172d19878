//! `--conversation` and `--limit`: which messages of a list, and which matches of a search, a command
//! shows. PiecesOS has no such parameters, so the whole answer is fetched and cut here, in the typed
//! models for people and in the server's JSON text for `--json`, where every kept message stays
//! exactly as PiecesOS sent it.

use pieces_os_client::models::{GroupedTimestamp, ReferencedConversation};
use pieces_os_client::Error;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// How timestamps sort: parsed ones by time, after those that do not parse (by their text).
pub type TimeKey = (Option<i64>, String);

/// The sort key of `timestamp`.
pub fn time_key(timestamp: &GroupedTimestamp) -> TimeKey {
    match timestamp.unix_millis() {
        Some(millis) => (Some(millis), String::new()),
        None => (None, timestamp.value.clone()),
    }
}

/// What `--conversation` and `--limit` ask for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filter<'a> {
    /// Only the messages of this conversation.
    pub conversation: Option<&'a str>,
    /// At most this many.
    pub limit: Option<usize>,
}

impl Filter<'_> {
    /// Whether the filter keeps everything.
    pub fn is_none(&self) -> bool {
        self.conversation.is_none() && self.limit.is_none()
    }

    fn keeps(&self, conversation: Option<&str>) -> bool {
        self.conversation
            .is_none_or(|wanted| conversation == Some(wanted))
    }

    /// The messages of the conversation, and of those the `limit` created last; in their order.
    pub fn newest<T>(
        &self,
        mut items: Vec<T>,
        conversation: impl Fn(&T) -> Option<&str>,
        created: impl Fn(&T) -> TimeKey,
    ) -> Vec<T> {
        items.retain(|item| self.keeps(conversation(item)));
        let Some(limit) = self.limit.filter(|&limit| limit < items.len()) else {
            return items;
        };
        let mut by_age: Vec<(TimeKey, usize)> = items
            .iter()
            .enumerate()
            .map(|(index, item)| (created(item), index))
            .collect();
        // Newest first; of two messages created at the same time, the later one in the list.
        by_age.sort_by(|a, b| b.cmp(a));
        let mut kept = vec![false; items.len()];
        for (_, index) in by_age.into_iter().take(limit) {
            kept[index] = true;
        }
        let mut index = 0;
        items.retain(|_| {
            index += 1;
            kept[index - 1]
        });
        items
    }

    /// The matches in the conversation, best first, at most `limit` of them.
    pub fn best<T>(
        &self,
        mut items: Vec<T>,
        conversation: impl Fn(&T) -> Option<&str>,
        similarity: impl Fn(&T) -> f64,
    ) -> Vec<T> {
        items.retain(|item| self.keeps(conversation(item)));
        // A stable sort: equal scores keep PiecesOS's order.
        items.sort_by(|a, b| similarity(b).total_cmp(&similarity(a)));
        if let Some(limit) = self.limit {
            items.truncate(limit);
        }
        items
    }

    /// A `ConversationMessages` body cut to what the filter keeps: `{"iterable": [...], "indices": {id:
    /// position}}`, each message exactly as it is in `body`, in its order.
    pub fn list_json(&self, body: &str) -> Result<String, Error> {
        let decode = decoder("messages_snapshot");
        let list: Items<'_> = serde_json::from_str(body).map_err(&decode)?;
        let mut briefs = Vec::with_capacity(list.iterable.len());
        for raw in list.iterable {
            briefs.push((raw, serde_json::from_str::<Brief>(raw.get()).map_err(&decode)?));
        }
        let kept = self.newest(
            briefs,
            |(_, brief)| brief.conversation_id(),
            |(_, brief)| brief.created.as_ref().map(time_key).unwrap_or_default(),
        );
        let indices: Map<String, Value> = kept
            .iter()
            .enumerate()
            .filter_map(|(position, (_, brief))| Some((brief.id.clone()?, Value::from(position))))
            .collect();
        let iterable = kept.into_iter().map(|(raw, _)| raw).collect();
        serde_json::to_string(&CutList { iterable, indices }).map_err(&decode)
    }

    /// A `SearchedConversationMessages` body cut to what the filter keeps: `{"iterable": [...]}`, best
    /// first, each match exactly as it is in `body`.
    pub fn search_json(&self, body: &str) -> Result<String, Error> {
        let decode = decoder("search_messages");
        let matches: Items<'_> = serde_json::from_str(body).map_err(&decode)?;
        let mut briefs = Vec::with_capacity(matches.iterable.len());
        for raw in matches.iterable {
            briefs.push((
                raw,
                serde_json::from_str::<MatchBrief>(raw.get()).map_err(&decode)?,
            ));
        }
        let kept = self.best(
            briefs,
            |(_, brief)| brief.message.as_ref().and_then(Brief::conversation_id),
            |(_, brief)| brief.similarity.unwrap_or(f64::NAN),
        );
        let iterable = kept.into_iter().map(|(raw, _)| raw).collect();
        serde_json::to_string(&CutSearch { iterable }).map_err(&decode)
    }
}

/// The `iterable` of an answer, each item as its text.
#[derive(Deserialize)]
struct Items<'a> {
    #[serde(borrow)]
    iterable: Vec<&'a RawValue>,
}

/// What selecting needs of a message; the rest of it is not decoded.
#[derive(Deserialize)]
struct Brief {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    conversation: Option<ReferencedConversation>,
    #[serde(default)]
    created: Option<GroupedTimestamp>,
}

impl Brief {
    fn conversation_id(&self) -> Option<&str> {
        self.conversation
            .as_ref()
            .map(|conversation| conversation.id.as_str())
    }
}

/// What selecting needs of a search match.
#[derive(Deserialize)]
struct MatchBrief {
    #[serde(default)]
    similarity: Option<f64>,
    #[serde(default)]
    message: Option<Brief>,
}

#[derive(Serialize)]
struct CutList<'a> {
    iterable: Vec<&'a RawValue>,
    indices: Map<String, Value>,
}

#[derive(Serialize)]
struct CutSearch<'a> {
    iterable: Vec<&'a RawValue>,
}

/// The error for an answer of `endpoint` that does not have the shape selecting needs. The library
/// has checked the shape already, so this would be a message whose `created` or `conversation` is not
/// what the model says.
fn decoder(endpoint: &'static str) -> impl Fn(serde_json::Error) -> Error {
    move |err| Error::Decode {
        endpoint,
        message: err.to_string(),
        line: 0,
        column: 0,
        source: Some(Box::new(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(id: &str, conversation: &str, created: &str) -> Value {
        json!({"id": id, "conversation": {"id": conversation}, "created": {"value": created},
               "x_kept": {"b": 1, "a": [1.10, "\u{1f600}"]}})
    }

    fn snapshot() -> String {
        // Written by hand, with spacing serde_json would not produce, so that a re-encoding shows.
        format!(
            "{{\"iterable\": [{}, {},\n {}], \"indices\": {{}}}}",
            message("a", "c1", "2025-01-01T00:00:03Z")
                .to_string()
                .replace(',', ", "),
            message("b", "c2", "2025-01-01T00:00:01Z"),
            message("c", "c1", "2025-01-01T00:00:02+00:00")
        )
    }

    #[test]
    fn newest_keeps_the_conversation_and_the_latest_in_list_order() {
        let items = vec![("a", "c1", 3), ("b", "c2", 1), ("c", "c1", 2), ("d", "c1", 9)];
        let filter = |conversation, limit| Filter { conversation, limit };
        let pick = |filter: Filter<'_>| -> Vec<&str> {
            filter
                .newest(
                    items.clone(),
                    |item| Some(item.1),
                    |item| (Some(item.2), String::new()),
                )
                .into_iter()
                .map(|item| item.0)
                .collect()
        };
        assert_eq!(pick(filter(None, None)), ["a", "b", "c", "d"]);
        assert_eq!(pick(filter(None, Some(2))), ["a", "d"]);
        assert_eq!(pick(filter(Some("c1"), Some(2))), ["a", "d"]);
        assert_eq!(pick(filter(Some("c2"), Some(5))), ["b"]);
        assert_eq!(pick(filter(Some("c9"), None)), Vec::<&str>::new());
    }

    #[test]
    fn best_sorts_by_similarity_and_keeps_ties_in_order() {
        let items = vec![("a", 0.5), ("b", 0.9), ("c", 0.5), ("d", 1.0)];
        let best = Filter {
            conversation: None,
            limit: Some(3),
        }
        .best(items, |_| None, |item| item.1);
        assert_eq!(best, [("d", 1.0), ("b", 0.9), ("a", 0.5)]);
    }

    #[test]
    fn the_json_of_kept_messages_is_the_servers_text() {
        let body = snapshot();
        let cut = Filter {
            conversation: Some("c1"),
            limit: Some(1),
        }
        .list_json(&body)
        .unwrap();
        let first = message("a", "c1", "2025-01-01T00:00:03Z")
            .to_string()
            .replace(',', ", ");
        assert_eq!(cut, format!("{{\"iterable\":[{first}],\"indices\":{{\"a\":0}}}}"));
        let all = Filter::default().list_json(&body).unwrap();
        let parsed: Value = serde_json::from_str(&all).unwrap();
        assert_eq!(parsed["indices"], json!({"a": 0, "b": 1, "c": 2}));
        assert_eq!(
            parsed["iterable"][2]["created"]["value"],
            "2025-01-01T00:00:02+00:00"
        );
    }

    #[test]
    fn the_json_of_kept_matches_is_best_first() {
        let body = r#"{"iterable":[
            {"identifier":"a","exact":false,"similarity":0.8,"message":{"conversation":{"id":"c1"}}},
            {"identifier":"b","exact":true,"similarity":1.0,"message":{"conversation":{"id":"c2"}}},
            {"identifier":"c","exact":true, "similarity":1.0,"message":{"conversation":{"id":"c1"}}}]}"#;
        let cut = Filter {
            conversation: Some("c1"),
            limit: None,
        }
        .search_json(body)
        .unwrap();
        assert_eq!(
            cut,
            r#"{"iterable":[{"identifier":"c","exact":true, "similarity":1.0,"message":{"conversation":{"id":"c1"}}},{"identifier":"a","exact":false,"similarity":0.8,"message":{"conversation":{"id":"c1"}}}]}"#
        );
    }

    #[test]
    fn a_message_of_another_shape_is_a_decode_error() {
        let error = Filter::default()
            .list_json(r#"{"iterable":[{"created":"yesterday"}]}"#)
            .unwrap_err();
        assert!(
            matches!(
                error,
                Error::Decode {
                    endpoint: "messages_snapshot",
                    ..
                }
            ),
            "{error}"
        );
    }
}
