//! One connection's life (requests in, answers out, maybe an upgrade) and the routes of the API.

use std::io::Write as _;
use std::net::TcpStream;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::http::{self, Body, Connection, Framing, ReadError, RequestHead, Response};
use super::store::Hit;
use super::{raw, seed, websocket, Shared};

/// `similarity` of a match whose letters' case differs from the query.
const CASE_INSENSITIVE_SIMILARITY: f64 = 0.8;

/// Serves requests on one connection until it closes, fails, upgrades to a WebSocket, or the server
/// stops.
pub(crate) fn serve_connection(shared: &Shared, conn_id: u64, stream: TcpStream) {
    // Answers are written head first and then (for large ones) the body; without this the second write
    // could wait for the client's delayed ACK.
    let _ = stream.set_nodelay(true);
    // A client that does not read cannot hold this thread in a write for longer than this.
    if stream.set_write_timeout(Some(shared.write_timeout)).is_err() {
        return;
    }
    let activity = shared.activity(conn_id);
    let mut conn = Connection::new(stream, shared.limits);
    while !shared.stopping() {
        activity.waiting(shared);
        let head = match conn.read_head() {
            Ok(head) => head,
            Err(ReadError::Closed | ReadError::Io | ReadError::Idle) => return,
            Err(error) => return refuse(&mut conn, error),
        };
        let framing = match http::framing(&head, shared.max_body_bytes) {
            Ok(framing) => framing,
            Err(error) => {
                shared.record(&head, 0);
                return refuse(&mut conn, error);
            }
        };
        if framing != Framing::Empty
            && head.has_token("expect", "100-continue")
            && conn.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err()
        {
            return;
        }
        let body = match conn.read_body(framing, shared.max_body_bytes) {
            Ok(body) => body,
            Err(ReadError::Closed | ReadError::Io) => return,
            Err(error) => {
                shared.record(&head, 0);
                return refuse(&mut conn, error);
            }
        };
        // From here on the request is answered; unless the accept thread gave the connection up first.
        if !activity.busy() {
            return;
        }
        shared.record(&head, body.len());
        if !shared.pause(shared.faults.delay()) {
            return;
        }
        match respond(shared, &head, &body) {
            Outcome::Answer(response) => {
                drop(body);
                let keep_alive = head.keep_alive() && !response.close;
                let head_only = head.method == "HEAD";
                if http::write_response(&mut conn.stream, &response, head_only, keep_alive).is_err()
                    || !keep_alive
                {
                    return;
                }
            }
            Outcome::Upgrade => return websocket::serve(shared, conn_id, conn, &head),
        }
    }
}

/// Answers a request that could not be read, and gives up on the connection: after a framing error the
/// next request could not be found reliably.
fn refuse(conn: &mut Connection, error: ReadError) {
    let response = match error {
        ReadError::Bad(message) => Response::text(400, message),
        ReadError::HeadTooLarge => Response::text(431, "request head too large"),
        ReadError::BodyTooLarge => Response::text(413, "request body too large"),
        ReadError::Unsupported(message) => Response::text(501, message),
        ReadError::Timeout => Response::text(408, "the request did not arrive in time"),
        ReadError::Closed | ReadError::Io | ReadError::Idle => return,
    };
    let _ = http::write_response(&mut conn.stream, &response.closing(), false, false);
    let _ = conn.stream.shutdown(std::net::Shutdown::Write);
}

/// What to do with a request.
pub(crate) enum Outcome {
    Answer(Response),
    /// Hand the connection to the WebSocket route.
    Upgrade,
}

impl From<Response> for Outcome {
    fn from(response: Response) -> Self {
        Outcome::Answer(response)
    }
}

/// A 500 answer with a text/plain message, as PiecesOS sends its errors.
fn internal(message: impl Into<String>) -> Response {
    Response::text(500, message)
}

/// A 410 answer with a text/plain message: what PiecesOS answers `GET /message/{message}` for an id it
/// does not hold.
fn gone(message: impl Into<String>) -> Response {
    Response::text(410, message)
}

fn method_not_allowed(head: &RequestHead, allow: &'static str) -> Outcome {
    Response::text(
        405,
        format!("method {} is not allowed here (allowed: {allow})", head.method),
    )
    .with_header("Allow", allow)
    .into()
}

/// Splits a request target into path and query, accepting the absolute form (`http://host/path`) too.
fn split_target(target: &str) -> (&str, Option<&str>) {
    let without_authority = match target.split_once("://") {
        Some((scheme, rest)) if !scheme.contains('/') => rest.find('/').map_or("/", |at| &rest[at..]),
        _ => target,
    };
    match without_authority.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (without_authority, None),
    }
}

/// Reads the `transferables` query parameter: `true` when absent. Every occurrence must be `true` or
/// `false` (after percent-decoding); the last one counts.
fn transferables(query: Option<&str>) -> Result<bool, Response> {
    let mut value = true;
    for pair in query.unwrap_or("").split('&') {
        let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
        if http::percent_decode(key).as_deref() != Ok("transferables") {
            continue;
        }
        value = match http::percent_decode(raw).as_deref() {
            Ok("true") => true,
            Ok("false") => false,
            _ => {
                return Err(Response::text(
                    400,
                    format!(
                        "invalid value {raw:?} for query parameter transferables: expected true or false"
                    ),
                ))
            }
        };
    }
    Ok(value)
}

/// Decides the answer to one request: faults first, then the application id (not asked of the
/// `/.well-known/` probes), then the route.
fn respond(shared: &Shared, head: &RequestHead, body: &[u8]) -> Outcome {
    if shared.faults.next_request_fails() {
        return internal("injected fault: this request fails (fail_every)").into();
    }
    let (full_path, query) = split_target(&head.target);
    // Official clients probe health and version without credentials while they look for PiecesOS.
    let needs_application_id = !full_path.starts_with("/.well-known/");
    if let (Some(expected), true) = (&shared.application_id, needs_application_id) {
        if head.header(&shared.api_key_header) != Some(expected.as_bytes()) {
            return Response::text(
                401,
                format!(
                    "missing or wrong application id in header {}",
                    shared.api_key_header
                ),
            )
            .into();
        }
    }
    let Some(path) = full_path.strip_prefix('/') else {
        return Response::text(400, format!("request target {:?} is not a path", head.target)).into();
    };
    let segments: Result<Vec<String>, String> = path.split('/').map(http::percent_decode).collect();
    let segments = match segments {
        Ok(segments) => segments,
        Err(message) => return Response::text(400, message).into(),
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = head.method.as_str();
    let is_get = matches!(method, "GET" | "HEAD");
    match segments.as_slice() {
        ["messages"] if is_get => match transferables(query) {
            Ok(transferables) => Response::json(Body::Shared(shared.store.snapshot(transferables))).into(),
            Err(response) => response.into(),
        },
        ["messages"] => method_not_allowed(head, "GET, HEAD"),
        ["messages", "create"] if method == "POST" => match transferables(query) {
            Ok(transferables) => create(shared, body, transferables).into(),
            Err(response) => response.into(),
        },
        ["messages", "search"] if method == "POST" => match transferables(query) {
            Ok(transferables) => search(shared, body, transferables).into(),
            Err(response) => response.into(),
        },
        ["messages", "create" | "search"] => method_not_allowed(head, "POST"),
        ["messages", "stream", "identifiers"] if method == "GET" => {
            if websocket::is_upgrade(head) {
                Outcome::Upgrade
            } else {
                Response::text(426, "this route is a WebSocket: send an upgrade request")
                    .with_header("Upgrade", "websocket")
                    .into()
            }
        }
        ["messages", "stream", "identifiers"] => method_not_allowed(head, "GET"),
        ["messages", id, "delete"] if method == "POST" => {
            if shared.store.delete(id) {
                Response::no_content().into()
            } else {
                internal(format!("no conversation message with id {id:?}")).into()
            }
        }
        ["messages", _, "delete"] => method_not_allowed(head, "POST"),
        ["message", "update"] if method == "POST" => match transferables(query) {
            Ok(transferables) => update(shared, body, transferables).into(),
            Err(response) => response.into(),
        },
        // An id that is literally `update` is still fetched: only POST goes to the update route.
        ["message", id] if is_get => match transferables(query) {
            Ok(transferables) => match shared.store.message_json(id, transferables) {
                Some(json) => Response::json(Body::Text(json)).into(),
                None => gone(format!("no conversation message with id {id:?}")).into(),
            },
            Err(response) => response.into(),
        },
        ["message", "update"] => method_not_allowed(head, "GET, HEAD, POST"),
        ["message", _] => method_not_allowed(head, "GET, HEAD"),
        [".well-known", "health"] if is_get => Response::text(200, "ok").into(),
        [".well-known", "version"] if is_get => Response::text(200, shared.version.clone()).into(),
        [".well-known", "health" | "version"] => method_not_allowed(head, "GET, HEAD"),
        _ => Response::text(404, format!("no route for {} {full_path}", head.method)).into(),
    }
}

/// The JSON kind of a value, for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a body that must be a JSON object; `model` names it in the error.
fn json_object(body: &[u8], model: &str) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(internal(format!(
            "request body is not a {model}: expected a JSON object, got {}",
            kind(&other)
        ))),
        Err(error) => Err(internal(format!(
            "request body is not a {model}: invalid JSON: {error}"
        ))),
    }
}

/// A present, non-null field of an object.
fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

/// The members of a request body that must be a JSON object (the `model` named in errors), each kept as
/// the raw JSON text it came in ([`raw`]); the 500 answer when it is not one.
fn request_members<'a>(body: &'a [u8], model: &str) -> Result<raw::Members<'a>, Response> {
    let not_a_model = |why: String| internal(format!("request body is not a {model}: {why}"));
    let text = std::str::from_utf8(body).map_err(|error| not_a_model(error.to_string()))?;
    let whole: &RawValue =
        serde_json::from_str(text).map_err(|error| not_a_model(format!("invalid JSON: {error}")))?;
    if raw::kind(whole) != "an object" {
        return Err(not_a_model(format!(
            "expected a JSON object, got {}",
            raw::kind(whole)
        )));
    }
    raw::members(whole.get()).map_err(|_| not_a_model("expected a JSON object".to_owned()))
}

/// `POST /messages/create`: checks the SeededConversationMessage's required fields, keeps every field it
/// has (unknown ones too), and adds the id, the timestamps and the schema a server assigns.
///
/// The seed is read member by member, each value kept as the raw JSON text it came in ([`raw`]): a seed
/// of many megabytes costs a small multiple of its size, whatever its shape.
fn create(shared: &Shared, body: &[u8], transferables: bool) -> Response {
    // What the server assigns, written first so that the members below may borrow it.
    let now = to_raw(&seed::now_timestamp());
    let id = seed::fresh_uuid();
    let id_raw = to_raw(&Value::from(id.as_str()));
    let schema = to_raw(&seed::embedded_schema());
    let mut message = match request_members(body, "SeededConversationMessage") {
        Ok(message) => message,
        Err(response) => return response,
    };
    match raw::field(&message, "role") {
        None => return internal("SeededConversationMessage is missing the required field `role`"),
        Some(role) if raw::kind(role) == "a string" => {}
        Some(other) => return internal(format!("`role` must be a string, got {}", raw::kind(other))),
    }
    match raw::field(&message, "fragment") {
        None => return internal("SeededConversationMessage is missing the required field `fragment`"),
        Some(fragment) if raw::kind(fragment) == "an object" => {}
        Some(other) => {
            return internal(format!(
                "`fragment` must be a FragmentFormat object, got {}",
                raw::kind(other)
            ))
        }
    }
    match raw::field(&message, "conversation") {
        None => {
            return internal(
                "SeededConversationMessage has no `conversation`: a message must belong to a conversation",
            )
        }
        Some(conversation) if raw::kind(conversation) == "an object" => {
            let has_id = raw::members(conversation.get()).is_ok_and(|conversation| {
                conversation
                    .get("id")
                    .is_some_and(|id| raw::kind(id) == "a string")
            });
            if !has_id {
                return internal("`conversation` (a ReferencedConversation) is missing its string `id`");
            }
        }
        Some(other) => {
            return internal(format!(
                "`conversation` must be a ReferencedConversation object, got {}",
                raw::kind(other)
            ))
        }
    }
    match raw::field(&message, "created") {
        // A seed may date its message (when importing, say): keep that date.
        Some(created) if has_string_value(created) => {}
        Some(_) => return internal("`created` must be a GroupedTimestamp with a string `value`"),
        None => {
            message.insert("created".into(), &now);
        }
    }
    message.insert("updated".into(), &now);
    message.insert("id".into(), &id_raw);
    if raw::field(&message, "schema").is_none() {
        message.insert("schema".into(), &schema);
    }
    let stored = raw::to_text(&message);
    drop(message);
    let (_, full, light) = shared.store.insert_text(id, stored);
    Response::json(Body::Text(if transferables { full } else { light }))
}

/// `POST /message/update`: the body must be a whole ConversationMessage (its required fields present
/// with their types) whose id is stored. The stored `id`, `created` and `conversation` are kept,
/// everything else is replaced with what was sent (keys no model knows included; keys not sent are
/// gone), and `updated` becomes now. The stream announces the id (not as deleted).
///
/// Read member by member like a create ([`raw`]), so a large message costs a small multiple of its size.
fn update(shared: &Shared, body: &[u8], transferables: bool) -> Response {
    let sent = match request_members(body, "ConversationMessage") {
        Ok(sent) => sent,
        Err(response) => return response,
    };
    let id = match raw::field(&sent, "id").map(|id| serde_json::from_str::<String>(id.get()).map_err(|_| id))
    {
        None => return internal("ConversationMessage is missing the required field `id`"),
        Some(Ok(id)) => id,
        Some(Err(other)) => return internal(format!("`id` must be a string, got {}", raw::kind(other))),
    };
    match raw::field(&sent, "role") {
        None => return internal("ConversationMessage is missing the required field `role`"),
        Some(role) if raw::kind(role) == "a string" => {}
        Some(other) => return internal(format!("`role` must be a string, got {}", raw::kind(other))),
    }
    for (key, inner, what) in [
        ("created", "value", "GroupedTimestamp"),
        ("updated", "value", "GroupedTimestamp"),
        ("conversation", "id", "ReferencedConversation"),
    ] {
        match raw::field(&sent, key) {
            None => {
                return internal(format!(
                    "ConversationMessage is missing the required field `{key}`"
                ))
            }
            Some(value) if has_string_member(value, inner) => {}
            Some(_) => return internal(format!("`{key}` must be a {what} object with a string `{inner}`")),
        }
    }
    // What is kept of the stored message, and the new time, outlive the members that borrow them.
    let Some(stored) = shared.store.message_json(&id, true) else {
        return internal(format!("no conversation message with id {id:?}"));
    };
    let now = to_raw(&seed::now_timestamp());
    let Ok(kept) = raw::members(&stored) else {
        return internal(format!(
            "the stored message {id:?} is not a ConversationMessage object"
        ));
    };
    let mut message = sent;
    for key in ["id", "created", "conversation"] {
        if let Some(value) = kept.get(key) {
            message.insert(key.into(), value);
        }
    }
    message.insert("updated".into(), &now);
    let text = raw::to_text(&message);
    drop(message);
    match shared.store.replace_text(&id, text) {
        Some((full, light)) => Response::json(Body::Text(if transferables { full } else { light })),
        None => internal(format!("no conversation message with id {id:?}")),
    }
}

/// A value of ours as raw JSON text.
fn to_raw(value: &Value) -> Box<RawValue> {
    // A Value always writes as valid JSON.
    RawValue::from_string(value.to_string()).expect("a Value writes valid JSON")
}

/// Whether `raw` is an object with a string `value` (a GroupedTimestamp, as far as a server checks).
fn has_string_value(raw: &RawValue) -> bool {
    has_string_member(raw, "value")
}

/// Whether `raw` is an object whose member `key` is a string.
fn has_string_member(raw: &RawValue, key: &str) -> bool {
    raw::members(raw.get()).is_ok_and(|object| {
        object
            .get(key)
            .is_some_and(|value| raw::kind(value) == "a string")
    })
}

/// One node of a search: what a SearchEngine or SearchEngines asks for.
#[derive(Debug)]
enum Plan {
    /// A substring to find.
    Query {
        query: String,
        folded: String,
        exact_only: bool,
        min_similarity: f64,
    },
    /// Sub-plans that must all match (`and`) or of which one must.
    Group { and: bool, items: Vec<Plan> },
    /// An engine with nothing this server searches by: matches nothing.
    Nothing,
}

impl Plan {
    fn eval(&self, text: &str, folded: &str) -> Option<Hit> {
        match self {
            Plan::Query {
                query,
                folded: folded_query,
                exact_only,
                min_similarity,
            } => {
                if !folded.contains(folded_query.as_str()) {
                    return None;
                }
                let exact = text.contains(query.as_str());
                let similarity = if exact { 1.0 } else { CASE_INSENSITIVE_SIMILARITY };
                ((exact || !*exact_only) && similarity >= *min_similarity)
                    .then_some(Hit { exact, similarity })
            }
            Plan::Group { and: true, items } => {
                let mut combined: Option<Hit> = None;
                for item in items {
                    let hit = item.eval(text, folded)?;
                    combined = Some(match combined {
                        None => hit,
                        Some(so_far) => Hit {
                            exact: so_far.exact && hit.exact,
                            similarity: so_far.similarity.min(hit.similarity),
                        },
                    });
                }
                combined
            }
            Plan::Group { and: false, items } => items
                .iter()
                .filter_map(|item| item.eval(text, folded))
                .max_by(|a, b| a.similarity.total_cmp(&b.similarity)),
            Plan::Nothing => None,
        }
    }
}

/// Reads a SearchEngines object (`path` names it in errors).
fn plan_engines(engines: &Value, path: &str) -> Result<Plan, String> {
    let Value::Object(engines) = engines else {
        return Err(format!(
            "`{path}` must be a SearchEngines object, got {}",
            kind(engines)
        ));
    };
    let Some(iterable) = field(engines, "iterable") else {
        return Err(format!("`{path}` is missing the required field `iterable`"));
    };
    let Value::Array(list) = iterable else {
        return Err(format!(
            "`{path}.iterable` must be an array, got {}",
            kind(iterable)
        ));
    };
    let and = field(engines, "type").and_then(Value::as_str) == Some("AND");
    let items = list
        .iter()
        .enumerate()
        .map(|(n, engine)| plan_engine(engine, &format!("{path}.iterable[{n}]")))
        .collect::<Result<Vec<Plan>, String>>()?;
    Ok(Plan::Group { and, items })
}

/// Reads one SearchEngine.
fn plan_engine(engine: &Value, path: &str) -> Result<Plan, String> {
    let Value::Object(engine) = engine else {
        return Err(format!(
            "`{path}` must be a SearchEngine object, got {}",
            kind(engine)
        ));
    };
    let query = match field(engine, "query") {
        None => None,
        Some(Value::String(query)) => Some(query),
        Some(other) => return Err(format!("`{path}.query` must be a string, got {}", kind(other))),
    };
    let full_text = field(engine, "full_text");
    let exact_only = full_text
        .and_then(|options| options.get("exact"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let min_similarity = full_text
        .and_then(|options| options.get("similarity"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let mut parts = Vec::new();
    if let Some(query) = query.filter(|query| !query.is_empty()) {
        parts.push(Plan::Query {
            query: query.clone(),
            folded: query.to_lowercase(),
            exact_only,
            min_similarity,
        });
    }
    if let Some(operations) = field(engine, "operations") {
        parts.push(plan_engines(operations, &format!("{path}.operations"))?);
    }
    Ok(match parts.len() {
        0 => Plan::Nothing,
        1 => parts.remove(0),
        _ => Plan::Group {
            and: true,
            items: parts,
        },
    })
}

/// `POST /messages/search`.
fn search(shared: &Shared, body: &[u8], transferables: bool) -> Response {
    let input = match json_object(body, "SearchInput") {
        Ok(object) => object,
        Err(response) => return response,
    };
    let Some(engines) = field(&input, "engines") else {
        return internal("SearchInput is missing the required field `engines`");
    };
    let plan = match plan_engines(engines, "engines") {
        Ok(plan) => plan,
        Err(message) => return internal(format!("invalid SearchInput: {message}")),
    };
    let body = shared
        .store
        .search(|text, folded| plan.eval(text, folded), transferables);
    Response::json(Body::Bytes(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_into_path_and_query() {
        assert_eq!(
            split_target("/messages?transferables=false"),
            ("/messages", Some("transferables=false"))
        );
        assert_eq!(split_target("/messages"), ("/messages", None));
        assert_eq!(
            split_target("http://127.0.0.1:1/messages?a"),
            ("/messages", Some("a"))
        );
        assert_eq!(split_target("http://127.0.0.1:1"), ("/", None));
        assert_eq!(split_target("/x?y=http://z"), ("/x", Some("y=http://z")));
    }

    #[test]
    fn transferables_values() {
        assert_eq!(transferables(None).ok(), Some(true));
        assert_eq!(transferables(Some("a=1&transferables=false")).ok(), Some(false));
        assert_eq!(transferables(Some("transferables=tru%65")).ok(), Some(true));
        assert_eq!(
            transferables(Some("transferables=false&transferables=true")).ok(),
            Some(true)
        );
        for bad in [
            "transferables=yes",
            "transferables",
            "transferables=",
            "transferables=TRUE",
            "transferables=%zz",
        ] {
            let response = transferables(Some(bad)).unwrap_err();
            assert_eq!(response.status, 400, "{bad}");
            assert!(String::from_utf8_lossy(response.body_bytes()).contains("transferables"));
        }
    }

    fn plan(input: Value) -> Plan {
        plan_engines(&input["engines"], "engines").unwrap()
    }

    #[test]
    fn search_plans_combine_engines() {
        let text = "Hello Wörld, the Borrow Checker";
        let folded = text.to_lowercase();
        let one = plan(serde_json::json!({"engines": {"iterable": [{"query": "borrow"}]}}));
        assert_eq!(
            one.eval(text, &folded),
            Some(Hit {
                exact: false,
                similarity: 0.8
            })
        );
        let exact = plan(serde_json::json!({"engines": {"iterable": [{"query": "Borrow"}]}}));
        assert_eq!(
            exact.eval(text, &folded),
            Some(Hit {
                exact: true,
                similarity: 1.0
            })
        );
        let exact_only = plan(
            serde_json::json!({"engines": {"iterable": [{"query": "wÖrld", "full_text": {"exact": true}}]}}),
        );
        assert_eq!(exact_only.eval(text, &folded), None);
        let threshold = plan(
            serde_json::json!({"engines": {"iterable": [{"query": "wÖrld", "full_text": {"similarity": 0.9}}]}}),
        );
        assert_eq!(threshold.eval(text, &folded), None);
        let or = plan(serde_json::json!({"engines": {"iterable": [{"query": "nope"}, {"query": "hello"}]}}));
        assert!(or.eval(text, &folded).is_some());
        let and = plan(
            serde_json::json!({"engines": {"type": "AND", "iterable": [{"query": "nope"}, {"query": "hello"}]}}),
        );
        assert_eq!(and.eval(text, &folded), None);
        let nested = plan(serde_json::json!({"engines": {"iterable": [
            {"operations": {"type": "AND", "iterable": [{"query": "Hello"}, {"query": "checker"}]}}]}}));
        assert_eq!(
            nested.eval(text, &folded),
            Some(Hit {
                exact: false,
                similarity: 0.8
            })
        );
        let nothing = plan(serde_json::json!({"engines": {"iterable": [{"query": ""}, {"embeddings": {}}]}}));
        assert_eq!(nothing.eval(text, &folded), None);
        assert!(plan_engines(&serde_json::json!({"iterable": [{"query": 3}]}), "engines").is_err());
        assert!(plan_engines(&serde_json::json!({}), "engines").is_err());
    }
}
