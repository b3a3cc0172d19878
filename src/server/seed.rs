//! Realistic, deterministic conversation messages for the stand-in server, its tests and benchmarks.
//!
//! [`realistic_message`] builds one complete ConversationMessage from `(index, rng_seed)` alone, so a
//! benchmark can build the same bodies the server holds without starting it. The messages are meant to be
//! awkward in the ways real ones are: fragment text from 50 bytes to 60 KB (about 4 KB on average) with
//! fenced code blocks, emoji ZWJ sequences, CJK, right-to-left scripts, combining marks and control
//! characters; optional fields such as a full `model` object, `score`, `sentiment`, reference lists,
//! `summaryRoot` and `workstream_events`; keys no model knows; an occasional role value no enum knows; and
//! timestamps that mix `Z` with `+00:00` and use 0 to 9 fraction digits.
//!
//! Everything here is computed with a small hand-written PRNG (splitmix64), so the output for a given
//! `(index, rng_seed)` never changes between runs, platforms or versions of other crates.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// The `schema` object PiecesOS puts on its models.
pub(crate) fn embedded_schema() -> Value {
    json!({"migration": 0, "semantic": "MAJOR_0_MINOR_0_PATCH_1"})
}

/// The splitmix64 generator: tiny, fast, and good enough to make test data look varied. Not for secrets.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// A number in `0..n` (`n` > 0). The modulo bias is irrelevant for test data.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// `true` with probability `1 / n`.
    pub(crate) fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// A float in `[0, 1)` from the top 53 bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The splitmix64 output function, also used on its own to combine seeds.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Formats 128 bits as a version-4-shaped UUID (the version nibble and the variant bits set as RFC 9562
/// says), lowercase, the way PiecesOS writes ids.
pub(crate) fn uuid_from_bits(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// A fresh UUID for a message created at run time. It mixes the clock with a process-wide counter, so two
/// ids made in the same nanosecond still differ; unpredictability is not a goal.
pub(crate) fn fresh_uuid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut rng = SplitMix64::new(nanos ^ mix64(count.wrapping_add(0x5EED)) ^ u64::from(std::process::id()));
    uuid_from_bits(rng.next_u64(), rng.next_u64())
}

/// Splits days since 1970-01-01 into a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`, valid for every `i64` day count the callers produce.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year (March-based), 0..=365
    let mp = (5 * doy + 2) / 153; // March-based month, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe as i64 + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats a UTC instant as RFC 3339: `frac_digits` (0 to 9, larger is clamped) digits of the fraction,
/// truncated rather than rounded so that the text never names a later instant, and the offset written
/// `Z` or `+00:00`.
pub(crate) fn format_rfc3339(unix_secs: i64, nanos: u32, frac_digits: u8, zulu: bool) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    );
    let digits = usize::from(frac_digits.min(9));
    if digits > 0 {
        let all = format!("{:09}", nanos.min(999_999_999));
        out.push('.');
        out.push_str(&all[..digits]);
    }
    out.push_str(if zulu { "Z" } else { "+00:00" });
    out
}

/// A short human-readable form of a UTC instant, in the spirit of the `readable` PiecesOS writes.
fn readable(unix_secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day) = civil_from_days(unix_secs.div_euclid(86_400));
    let secs_of_day = unix_secs.rem_euclid(86_400);
    format!(
        "{} {day}, {year} {:02}:{:02} UTC",
        MONTHS[(month - 1) as usize],
        secs_of_day / 3600,
        secs_of_day / 60 % 60
    )
}

/// A GroupedTimestamp for an instant given in whole seconds and nanoseconds.
pub(crate) fn grouped_timestamp(unix_secs: i64, nanos: u32, frac_digits: u8, zulu: bool) -> Value {
    json!({
        "value": format_rfc3339(unix_secs, nanos, frac_digits, zulu),
        "readable": readable(unix_secs),
    })
}

/// A GroupedTimestamp for the current instant, in the shape PiecesOS writes for new objects
/// (microsecond precision, `Z`).
pub(crate) fn now_timestamp() -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    grouped_timestamp(now.as_secs() as i64, now.subsec_nanos(), 6, true)
}

/// 2025-01-01T00:00:00Z: seeded messages are dated from here so that they never depend on the clock.
const SEED_EPOCH: i64 = 1_735_689_600;

/// How many conversations the seeded messages are spread over.
const CONVERSATIONS: u64 = 7;

/// Each conversation holds runs of this many consecutive messages, alternating user and assistant.
const RUN_LENGTH: u64 = 12;

/// Text pieces the fragment text is assembled from. Together they cover what breaks naive text handling.
const PROSE: &[&str] = &[
    "Could you explain why the borrow checker rejects this closure when it captures `self` mutably?",
    "Sure. The closure holds a unique borrow for as long as it lives, so a second borrow cannot start.",
    "Here is a version that splits the struct into two fields so each borrow is disjoint.",
    "I tried that, but the iterator still outlives the vector. What else can I do?",
    "The simplest fix is to collect the keys first and then mutate the map in a second pass.",
    "Performance-wise this is O(n log n) because of the sort; a hash map would make it O(n).",
    "Note: the timeout applies to the whole request, not to each read, so large bodies need more time.",
    "Summary: keep the socket, retry with backoff, and surface the server's text/plain error body.",
];

const CODE_BLOCKS: &[&str] = &[
    "```rust\nfn main() {\n    let v: Vec<u32> = (1..=10).filter(|n| n % 3 == 0).collect();\n    println!(\"{v:?}\");\n}\n```",
    "```python\ndef fib(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n```",
    "```js\nconst res = await fetch(`http://127.0.0.1:39300/messages?transferables=false`);\nconsole.log((await res.json()).iterable.length);\n```",
    "```sql\nSELECT id, created FROM messages WHERE conversation = ? ORDER BY created DESC LIMIT 50;\n```",
    "```sh\ncurl -s -X POST \"$URL/messages/search\" -H 'Content-Type: application/json' -d '{\"engines\":{\"iterable\":[]}}'\n```",
    "```c\nint main(void) {\n\tchar *out = NULL;\n\tif (pieces_messages_snapshot(c, 0, &out) == 0) puts(out);\n\tpieces_string_free(out);\n}\n```",
];

const UNICODE: &[&str] = &[
    "Team: 👩‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 🧑🏽‍🚀 ❤️‍🔥 — shipped! 🎉",
    "中文：这是一个关于并发的问题。日本語：スレッドは安全ですか？ 한국어: 연결이 끊어졌습니다.",
    "العربية: مرحبا بالعالم، هذا نص تجريبي من اليمين إلى اليسار.",
    "עברית: שלום עולם, זה טקסט לדוגמה.",
    "Combining: Ame\u{301}lie, man\u{303}ana, Z\u{335}a\u{334}l\u{336}g\u{337}o, a\u{308}\u{304}.",
    "Controls:\tcol1\tcol2\u{1}\u{1f}\u{7f} end\r\nnext line with a \"quote\" and a back\\slash.",
    "Math: ∀x ∈ ℝ, x² ≥ 0; ½ + ¼ = ¾; 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 outside the BMP: 𝄞 😀.",
];

const MODELS: &[(&str, &str, &str, &str, &str, bool, u64)] = &[
    // (name, unique, version, foundation, provider, cloud, total tokens)
    ("GPT-4o", "gpt-4o", "2024-08-06", "GPT_4", "OPENAI", true, 128_000),
    (
        "Claude 3.5 Sonnet",
        "claude-3-5-sonnet",
        "20241022",
        "CLAUDE_3.5",
        "ANTHROPIC",
        true,
        200_000,
    ),
    (
        "Gemini 1.5 Pro",
        "gemini-1.5-pro",
        "002",
        "GEMINI_1.5",
        "GOOGLE",
        true,
        1_000_000,
    ),
    (
        "Llama 3 8B",
        "llama-3-8b-q4f16_1",
        "3.0",
        "LLAMA_3_8B",
        "META",
        false,
        8_192,
    ),
];

/// Draws the fragment text length: exponential with a mean near 4 KB, clamped to 53..=61 440 bytes (the
/// text is cut on a char boundary at most 3 bytes short, so it is never under 50), and one message in 400
/// forced into 40–60 KB so that the long tail is always present.
fn text_length(rng: &mut SplitMix64, index: usize) -> usize {
    if index % 400 == 399 {
        return 40_960 + rng.below(20_480) as usize;
    }
    let draw = -(1.0 - rng.unit()).ln() * 3_950.0;
    (53.0 + draw).min(61_440.0) as usize
}

/// Assembles fragment text of about `target` bytes from the pieces above.
fn fragment_text(rng: &mut SplitMix64, target: usize, index: usize) -> String {
    let mut text = String::with_capacity(target + 256);
    text.push_str(&format!("Message #{index}. "));
    while text.len() < target {
        match rng.below(10) {
            0..=4 => text.push_str(rng.pick::<&str>(PROSE)),
            5 | 6 => text.push_str(rng.pick::<&str>(CODE_BLOCKS)),
            _ => text.push_str(rng.pick::<&str>(UNICODE)),
        }
        text.push_str(if rng.one_in(3) { "\n\n" } else { " " });
    }
    let mut cut = target.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text
}

/// A deterministic UUID for `(rng_seed, kind, n)`, so that references (conversations, tags, models) repeat
/// across messages the way they do in a real database.
fn stable_uuid(rng_seed: u64, kind: u64, n: u64) -> String {
    let mut rng = SplitMix64::new(mix64(
        rng_seed ^ mix64(kind.wrapping_mul(0x1000_0000_0000_0001) ^ n),
    ));
    uuid_from_bits(rng.next_u64(), rng.next_u64())
}

/// A timestamp with a random number of fraction digits and a random offset spelling.
fn varied_timestamp(rng: &mut SplitMix64, unix_secs: i64) -> Value {
    let nanos = rng.below(1_000_000_000) as u32;
    let digits = rng.below(10) as u8;
    let zulu = rng.below(3) != 0;
    grouped_timestamp(unix_secs, nanos, digits, zulu)
}

fn reference_list(rng: &mut SplitMix64, rng_seed: u64, kind: u64, pool: u64, max: u64) -> Value {
    let count = 1 + rng.below(max);
    let mut iterable = Vec::new();
    let mut indices = Map::new();
    for position in 0..count {
        let id = stable_uuid(rng_seed, kind, rng.below(pool));
        if indices.contains_key(&id) {
            continue;
        }
        indices.insert(id.clone(), json!(position));
        iterable.push(json!({"id": id}));
    }
    json!({"iterable": iterable, "indices": indices})
}

fn model_object(rng: &mut SplitMix64, rng_seed: u64) -> Value {
    let which = rng.below(MODELS.len() as u64);
    let (name, unique, version, foundation, provider, cloud, total) = MODELS[which as usize];
    let mut model = json!({
        "id": stable_uuid(rng_seed, 3, which),
        "created": grouped_timestamp(SEED_EPOCH - 86_400 * 30, 0, 3, true),
        "name": name,
        "unique": unique,
        "version": version,
        "cloud": cloud,
        "type": "BALANCED",
        "usage": "CODE_CONVERSATION",
        "foundation": foundation,
        "provider": provider,
        "maxTokens": {"total": total, "input": total * 3 / 4, "output": total / 4},
        "capabilities": {"assets": true, "documents": true, "images": which % 2 == 0, "temporal": cloud},
        "schema": embedded_schema(),
    });
    if !cloud {
        model["parameters"] = json!(8.03);
        model["quantization"] = json!("q4f16_1");
        model["downloaded"] = json!(true);
        model["ram"] = json!({"value": 6_442_450_944u64, "readable": "6 GB"});
    }
    if which == 2 {
        // A key inside a known nested object that no model knows.
        model["x_model_future"] = json!({"context_cache": true, "tier": "pro"});
    }
    model
}

/// One complete, realistic ConversationMessage; the same `(index, rng_seed)` always gives the same value.
///
/// The id is a deterministic version-4-shaped UUID. Messages `0, 1, 2, …` of one `rng_seed` form runs of
/// alternating USER/ASSISTANT turns spread over seven conversations.
///
/// ```
/// use pieces_os_client::server::seed::realistic_message;
///
/// let message = realistic_message(0, 42);
/// assert_eq!(message, realistic_message(0, 42));
/// assert!(message["fragment"]["string"]["raw"].as_str().unwrap().len() >= 50);
/// assert!(message["conversation"]["id"].is_string());
/// ```
pub fn realistic_message(index: usize, rng_seed: u64) -> Value {
    let mut message = realistic_seed_message(index, rng_seed);
    let mut rng = SplitMix64::new(mix64(rng_seed ^ mix64(index as u64 ^ 0xC0FF_EE00)));
    let created_secs = SEED_EPOCH + index as i64 * 37 + rng.below(30) as i64;
    let updated_secs = created_secs + rng.below(3_600) as i64;
    let object = message
        .as_object_mut()
        .expect("realistic_seed_message builds an object");
    object.insert("id".into(), json!(stable_uuid(rng_seed, 1, index as u64)));
    object.insert("created".into(), varied_timestamp(&mut rng, created_secs));
    object.insert("updated".into(), varied_timestamp(&mut rng, updated_secs));
    if rng.one_in(4) {
        object.insert(
            "score".into(),
            json!({"automatic": rng.below(50), "manual": rng.below(5), "priority": rng.below(3),
                   "reuse": rng.below(10), "update": rng.below(10), "searched": rng.below(20)}),
        );
    }
    if rng.one_in(5) {
        object.insert("annotations".into(), reference_list(&mut rng, rng_seed, 4, 40, 3));
    }
    if rng.one_in(6) {
        object.insert(
            "summaryRoot".into(),
            json!({"id": stable_uuid(rng_seed, 5, rng.below(20))}),
        );
    }
    message
}

/// The SeededConversationMessage form of [`realistic_message`]: what a client would send to
/// `POST /messages/create` (role, fragment, conversation and the optional fields a seed may carry,
/// including one unknown key in some messages), without the id and timestamps the server assigns.
pub fn realistic_seed_message(index: usize, rng_seed: u64) -> Value {
    let mut rng = SplitMix64::new(mix64(rng_seed ^ mix64(index as u64)));
    let conversation = (index as u64 / RUN_LENGTH) % CONVERSATIONS;
    let assistant = index % 2 == 1;
    let role = if rng.one_in(97) {
        // A role value no enum knows yet, as new PiecesOS releases introduce them.
        "TOOL_RESULT"
    } else if rng.one_in(50) {
        "SYSTEM"
    } else if assistant {
        "ASSISTANT"
    } else {
        "USER"
    };
    let length = text_length(&mut rng, index);
    let text = fragment_text(&mut rng, length, index);
    let ext = if text.contains("```") { "md" } else { "txt" };
    let mut message = json!({
        "role": role,
        "conversation": {"id": stable_uuid(rng_seed, 2, conversation)},
        "fragment": {"string": {"raw": text}, "metadata": {"ext": ext}},
        "schema": embedded_schema(),
    });
    let object = message.as_object_mut().expect("json! object");
    if assistant {
        object.insert("model".into(), model_object(&mut rng, rng_seed));
        if rng.one_in(4) {
            let sentiment = *rng.pick(&["LIKE", "DISLIKE", "REPORT", "UNKNOWN"]);
            object.insert("sentiment".into(), json!(sentiment));
        }
        if rng.one_in(20) {
            object.insert(
                "agent".into(),
                json!({"group_id": stable_uuid(rng_seed, 6, index as u64 / 4), "role": "Orchestrator",
                       "task": "Phase1", "readable_name": "Planner"}),
            );
        }
    }
    if rng.one_in(3) {
        object.insert("tags".into(), reference_list(&mut rng, rng_seed, 7, 25, 4));
    }
    if rng.one_in(8) {
        object.insert(
            "workstream_events".into(),
            reference_list(&mut rng, rng_seed, 8, 60, 2),
        );
    }
    if index % 5 == 0 {
        // Keys no model knows, at the top level and nested, with every kind of JSON value; the float has
        // many significant digits so that a lossy number round trip shows.
        object.insert(
            "x_unmodelled".into(),
            json!({
                "origin": "stand-in",
                "flags": [true, false, null, 2.5, -7, 0.1 + index as f64 * 1e-9],
                "nested": {"deep": {"k": "v", "empty": {}, "list": []}},
            }),
        );
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_089), (2025, 1, 1));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    }

    #[test]
    fn rfc3339_formats_fraction_and_offset() {
        assert_eq!(format_rfc3339(0, 0, 0, true), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(SEED_EPOCH + 3_723, 123_456_789, 9, false),
            "2025-01-01T01:02:03.123456789+00:00"
        );
        assert_eq!(
            format_rfc3339(951_782_400, 987_000_000, 3, true),
            "2000-02-29T00:00:00.987Z"
        );
        assert_eq!(format_rfc3339(-1, 5, 2, true), "1969-12-31T23:59:59.00Z");
        assert_eq!(
            format_rfc3339(0, 999_999_999, 12, true),
            "1970-01-01T00:00:00.999999999Z"
        );
    }

    #[test]
    fn uuids_are_v4_shaped() {
        for id in [
            uuid_from_bits(0, 0),
            uuid_from_bits(u64::MAX, u64::MAX),
            fresh_uuid(),
        ] {
            let bytes = id.as_bytes();
            assert_eq!(id.len(), 36, "{id}");
            assert_eq!(bytes[14], b'4', "{id}");
            assert!(matches!(bytes[19], b'8' | b'9' | b'a' | b'b'), "{id}");
            assert!(id
                .chars()
                .enumerate()
                .all(|(i, c)| if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
                }));
        }
        assert_ne!(fresh_uuid(), fresh_uuid());
    }

    #[test]
    fn messages_are_deterministic_and_varied() {
        let n = 1_200;
        let messages: Vec<Value> = (0..n).map(|i| realistic_message(i, 7)).collect();
        assert_eq!(messages[5], realistic_message(5, 7));
        assert_ne!(messages[5], realistic_message(5, 8));
        let mut ids: Vec<&str> = messages.iter().map(|m| m["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "ids are unique");

        let lengths: Vec<usize> = messages
            .iter()
            .map(|m| m["fragment"]["string"]["raw"].as_str().unwrap().len())
            .collect();
        assert!(
            lengths.iter().all(|&l| (50..=61_440).contains(&l)),
            "lengths within bounds"
        );
        assert!(lengths.iter().any(|&l| l > 40_000), "the long tail is present");
        let average = lengths.iter().sum::<usize>() / n;
        assert!((3_000..=5_500).contains(&average), "average {average}");

        let all_text: String = messages
            .iter()
            .map(|m| m["fragment"]["string"]["raw"].as_str().unwrap())
            .collect();
        for needle in [
            "```rust",
            "👨‍👩‍👧‍👦",
            "中文",
            "مرحبا",
            "שלום",
            "e\u{301}",
            "\u{1}",
            "\t",
        ] {
            assert!(all_text.contains(needle), "text contains {needle:?}");
        }

        let roles: Vec<&str> = messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
        for role in ["USER", "ASSISTANT", "TOOL_RESULT"] {
            assert!(roles.contains(&role), "role {role}");
        }
        let mut conversations: Vec<&str> = messages
            .iter()
            .map(|m| m["conversation"]["id"].as_str().unwrap())
            .collect();
        conversations.sort_unstable();
        conversations.dedup();
        assert_eq!(conversations.len(), CONVERSATIONS as usize);

        for key in [
            "model",
            "score",
            "sentiment",
            "tags",
            "annotations",
            "summaryRoot",
            "workstream_events",
            "x_unmodelled",
            "agent",
        ] {
            assert!(
                messages.iter().any(|m| m.get(key).is_some()),
                "some message has {key}"
            );
        }
        let values: Vec<&str> = messages
            .iter()
            .flat_map(|m| {
                [
                    m["created"]["value"].as_str().unwrap(),
                    m["updated"]["value"].as_str().unwrap(),
                ]
            })
            .collect();
        assert!(values.iter().any(|v| v.ends_with('Z')));
        assert!(values.iter().any(|v| v.ends_with("+00:00")));
        assert!(
            values.iter().any(|v| !v.contains('.')),
            "some timestamp without fraction"
        );
        assert!(
            values
                .iter()
                .any(|v| v.split('.').nth(1).is_some_and(|f| f.len() == 9 + 1)),
            "9 digits and Z"
        );
    }
}
