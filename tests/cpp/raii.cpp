// The C++ wrapper (include/pieces_os_client.hpp) against a stand-in PiecesOS: the header included twice
// here and once more in second_unit.cpp (linked into the same program), RAII handles, std::string in and
// out, pieces::Error with the status and the last-error JSON, callback subscriptions whose exceptions never
// reach the library, pull subscriptions iterated with a range-for loop, one message by id (get and
// update), and mirrors in both modes with their reads.
//
// Usage: raii URL REFUSED_URL FAILING_URL
#include <pieces_os_client.hpp>
#include "pieces_os_client.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Defined in second_unit.cpp, which includes the header too.
std::string snapshot_from_second_unit(const pieces::Client &client);

static std::atomic<int> passed{0}, failed{0};

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (cond) {                                                                       \
            ++passed;                                                                     \
        } else {                                                                          \
            ++failed;                                                                     \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                                 \
    } while (0)

static bool starts_with(const std::string &text, const char *prefix) { return text.rfind(prefix, 0) == 0; }

static bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

// The "id" at the top level of a message: the first "id" key at depth 1.
static std::string top_level_id(const std::string &json) {
    int depth = 0;
    for (std::size_t i = 0; i < json.size(); ++i) {
        char c = json[i];
        if (c == '"') {
            std::size_t end = i + 1;
            while (end < json.size() && json[end] != '"') end += json[end] == '\\' ? 2 : 1;
            std::string key = json.substr(i + 1, end - i - 1);
            std::size_t value = json.find_first_not_of(" :", end + 1);
            if (depth == 1 && key == "id" && value != std::string::npos && json[value] == '"') {
                return json.substr(value + 1, json.find('"', value + 1) - value - 1);
            }
            i = end;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return std::string();
}

// What a callback subscription has seen, shared with the subscription thread.
struct Seen {
    std::mutex lock;
    std::condition_variable changed;
    int events = 0, connected = 0, full = 0, closed = 0;
    std::string log;  // every event, so a change that arrives before its id is known is still found

    void add(std::string_view event) {
        std::lock_guard<std::mutex> guard(lock);
        std::string text(event);
        ++events;
        if (starts_with(text, "{\"type\":\"connected\"")) ++connected;
        if (contains(text, "\"full\":true")) ++full;
        if (starts_with(text, "{\"type\":\"closed\"")) ++closed;
        log += text;
        changed.notify_all();
    }

    template <typename Predicate>
    bool wait_for(Predicate predicate) {
        std::unique_lock<std::mutex> guard(lock);
        return changed.wait_for(guard, std::chrono::seconds(30), [&] { return predicate(*this); });
    }
};

static std::string seed(const char *text) {
    return std::string("{\"role\": \"USER\", \"conversation\": {\"id\": \"cpp\"}, \"fragment\": {\"string\": "
                       "{\"raw\": \"") +
           text + "\"}}}";
}

static void errors_are_exceptions_with_status_and_json(const std::string &refused, const std::string &failing) {
    try {
        pieces::Client bad("{\"base_url\": 1}");
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_INVALID_JSON);
        CHECK(contains(error.what(), "\"kind\":\"invalid_json\""));
        CHECK(error.json() == error.what());
    }
    try {
        pieces::Client unreachable("{\"base_url\": \"" + refused + "\"}");
        unreachable.snapshot();
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_CONNECTION);
    }
    try {
        pieces::Client broken("{\"base_url\": \"" + failing + "\"}");
        broken.snapshot();
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_HTTP_STATUS);
        CHECK(contains(error.json(), "\"status\":500"));
    }
    // A NUL inside a std::string would cut the text short in C: refused, and nothing is sent.
    std::string with_nul = "{\"base_url\": \"" + refused + "\"}";
    const std::string nul_offset = "offset " + std::to_string(with_nul.size());
    with_nul.push_back('\0');
    with_nul += "{";
    try {
        pieces::Client client(with_nul);
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_INVALID_ARGUMENT);
        CHECK(contains(error.json(), "\"argument\":\"config_json\""));
        CHECK(contains(error.json(), nul_offset));
    }
}

static void requests_take_and_return_strings(const pieces::Client &client) {
    CHECK(contains(client.snapshot(pieces::Transferables::Exclude), "\"iterable\""));
    CHECK(contains(snapshot_from_second_unit(client), "\"iterable\""));
    const std::string created = client.create(seed("from C++"));
    const std::string id = top_level_id(created);
    CHECK(!id.empty());
    CHECK(contains(client.snapshot(), id));
    CHECK(contains(client.search("{\"engines\": {\"iterable\": [{\"query\": \"from C++\"}]}}", pieces::Transferables::Include), id));
    client.delete_message(id);
    CHECK(!contains(client.snapshot(), id));
    try {
        client.delete_message(id);
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_HTTP_STATUS);
    }
}

static void moved_from_client_is_empty(pieces::Client client) {
    pieces::Client moved = std::move(client);
    CHECK(moved.get() != nullptr);
    CHECK(client.get() == nullptr);  // NOLINT: use after move is the point
    try {
        client.snapshot();
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_NULL_PARAMETER);
    }
    CHECK(contains(moved.snapshot(), "\"iterable\""));
}

static void callback_subscription_frees_everything(const pieces::Client &client) {
    Seen seen;
    auto token = std::make_shared<int>(0);  // owned by the callback: gone once the library let go of it
    pieces::Subscription subscription = client.subscribe([&seen, token](std::string_view event) { seen.add(event); });
    CHECK(static_cast<bool>(subscription));
    CHECK(token.use_count() == 2);
    CHECK(seen.wait_for([](const Seen &s) { return s.connected >= 1 && s.full >= 1; }));

    const std::string id = top_level_id(client.create(seed("seen by the callback")));
    CHECK(!id.empty());
    CHECK(seen.wait_for([&id](const Seen &s) { return contains(s.log, id); }));
    client.delete_message(id);

    subscription.close();  // stop, terminal event, thread joined, userdata released
    CHECK(!subscription);
    CHECK(seen.closed == 1);
    CHECK(token.use_count() == 1);
    const int events = seen.events;
    subscription.close();  // empty: does nothing
    subscription.stop();
    CHECK(seen.events == events);
}

static void callback_exception_stays_out_of_the_library(const pieces::Client &client) {
    Seen seen;
    pieces::Subscription subscription = client.subscribe([&seen](std::string_view event) {
        seen.add(event);
        throw std::runtime_error("thrown by the callback");
    });
    // The first event threw: the subscription stops itself; the terminal event still arrives.
    CHECK(seen.wait_for([](const Seen &s) { return s.closed == 1; }));
    CHECK(seen.connected == 1);
    CHECK(subscription.callback_error() != nullptr);
    try {
        subscription.close();
        CHECK(false);
    } catch (const std::runtime_error &error) {
        CHECK(std::strcmp(error.what(), "thrown by the callback") == 0);
    }
    CHECK(seen.closed == 1);

    // Without close(), the destructor stops and joins, and drops the exception: nothing escapes.
    Seen dropped;
    {
        pieces::Subscription throwing = client.subscribe([&dropped](std::string_view event) {
            dropped.add(event);
            throw 42;
        });
        CHECK(dropped.wait_for([](const Seen &s) { return s.events >= 1; }));
    }
    CHECK(dropped.closed == 1);

    try {
        client.subscribe(std::function<void(std::string_view)>());
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_INVALID_ARGUMENT);
    }
}

static void pull_subscription_is_a_range(const pieces::Client &client) {
    pieces::PullSubscription subscription = client.subscribe_pull();
    std::vector<std::string> events;
    for (const std::string &event : subscription) {
        events.push_back(event);
        if (events.size() == 2) subscription.stop();  // the terminal event follows, then the loop ends
    }
    CHECK(events.size() == 3);
    CHECK(events.size() == 3 && starts_with(events[0], "{\"type\":\"connected\""));
    CHECK(events.size() == 3 && contains(events[1], "\"full\":true"));
    CHECK(events.size() == 3 && events[2] == "{\"type\":\"closed\"}");
    CHECK(subscription.finished());
    CHECK(!subscription.next());
    CHECK(!subscription.next_for(std::chrono::milliseconds(0)));
    CHECK(subscription.begin() == subscription.end());

    // next_for: nothing in time is not the end.
    pieces::PullSubscription quiet = client.subscribe_pull();
    std::optional<std::string> first = quiet.next_for(std::chrono::seconds(30));
    CHECK(first && starts_with(*first, "{\"type\":\"connected\""));
    CHECK(quiet.next_for(std::chrono::seconds(30)).has_value());  // the full set
    CHECK(!quiet.next_for(std::chrono::milliseconds(50)));
    CHECK(!quiet.finished());
    pieces::PullSubscription moved = std::move(quiet);
    CHECK(!quiet && moved);  // NOLINT: use after move is the point
    // moved goes out of scope with the terminal event never taken: freed all the same.
}

// The message with `text` as a seed, with a key no model knows and a number written as no encoder would.
static std::string seed_with_unknown_key(const char *text) {
    return std::string("{\"role\": \"USER\", \"conversation\": {\"id\": \"cpp-mirror\"}, \"futureKey\": 1.50e0, "
                       "\"fragment\": {\"string\": {\"raw\": \"") +
           text + "\"}}}";
}

// `json` with the first occurrence of `from` replaced by `to`.
static std::string replaced(std::string json, const std::string &from, const std::string &to) {
    const std::size_t at = json.find(from);
    if (at != std::string::npos) json.replace(at, from.size(), to);
    return json;
}

static void one_message_is_fetched_and_updated_by_id(const pieces::Client &client) {
    const std::string created = client.create(seed_with_unknown_key("before the update"));
    const std::string id = top_level_id(created);
    CHECK(!id.empty());
    const std::string fetched = client.get_message(id);
    CHECK(fetched == created);  // the server's text, as it stored it
    CHECK(contains(fetched, "\"futureKey\":1.50e0"));
    CHECK(top_level_id(client.get_message(id, pieces::Transferables::Exclude)) == id);

    const std::string stored =
        client.update_message(replaced(fetched, "before the update", "after the update"));
    CHECK(contains(stored, "after the update"));
    CHECK(contains(stored, "\"futureKey\":1.50e0"));  // a key no model types, kept as it was written
    CHECK(client.get_message(id) == stored);

    client.delete_message(id);
    try {
        client.get_message(id);
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_NOT_FOUND);
        CHECK(contains(error.json(), "\"status\":410"));
        CHECK(contains(error.json(), "\"id\":\"" + id + "\""));
    }
    try {
        client.update_message(stored);  // no longer stored: PiecesOS refuses it
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_HTTP_STATUS);
    }
    try {
        client.get_message(std::string("a\0b", 3));
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_INVALID_ARGUMENT);
        CHECK(contains(error.json(), "\"argument\":\"message_id\""));
    }
}

// Takes events from `mirror` until one starts with `prefix` and contains `part`; every event taken is
// appended to `seen`. False when the terminal event or 30 s came first.
static bool next_until(pieces::PullMirror &mirror, const char *prefix, const std::string &part, std::string &seen) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        std::optional<std::string> event = mirror.next_for(std::chrono::seconds(1));
        if (!event) {
            if (mirror.finished()) return false;
            continue;
        }
        seen += *event;
        seen += '\n';
        if (starts_with(*event, prefix) && contains(*event, part)) return true;
    }
    return false;
}

static void pull_mirror_follows_every_change_and_reads_without_requests(const pieces::Client &client) {
    pieces::PullMirror mirror = client.mirror_pull("{\"announce_initial\": false}");
    CHECK(static_cast<bool>(mirror) && mirror.get() != nullptr);  // get() alone is the C handle
    std::string seen;
    // The messages already there are only counted.
    CHECK(next_until(mirror, "{\"type\":\"synced\"", "", seen));
    CHECK(!contains(seen, "\"type\":\"added\""));
    const std::string all = mirror.list();
    CHECK(starts_with(all, "[{") && all.back() == ']');
    CHECK(mirror.list("no-such-conversation") == "[]");
    CHECK(!mirror.get("no-such-id").has_value());

    const std::string created = client.create(seed_with_unknown_key("mirrored from C++"));
    const std::string id = top_level_id(created);
    CHECK(next_until(mirror, "{\"type\":\"added\"", id, seen));
    CHECK(contains(seen, "{\"type\":\"added\",\"message\":" + created + "}"));  // the server's text
    const std::optional<std::string> held = mirror.get(id);
    CHECK(held && *held == created);
    const std::string conversation = mirror.list(std::string_view("cpp-mirror"));
    CHECK(conversation == "[" + created + "]");
    CHECK(contains(mirror.list(), id));

    const std::string stored = client.update_message(replaced(created, "mirrored from C++", "changed in C++"));
    CHECK(next_until(mirror, "{\"type\":\"updated\"", id, seen));
    CHECK(mirror.get(id) == stored);

    client.delete_message(id);
    CHECK(next_until(mirror, "{\"type\":\"removed\"", id, seen));
    CHECK(contains(seen, "{\"type\":\"removed\",\"id\":\"" + id + "\"}"));
    CHECK(!mirror.get(id).has_value());
    CHECK(mirror.list("cpp-mirror") == "[]");

    mirror.stop();
    std::vector<std::string> rest;
    for (const std::string &event : mirror) rest.push_back(event);  // ends after the terminal event
    CHECK(!rest.empty() && rest.back() == "{\"type\":\"closed\"}");
    CHECK(mirror.finished());
    CHECK(!mirror.get("no-such-id").has_value());  // the copy stays readable until the free

    try {
        mirror.get(std::string("a\0b", 3));
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_INVALID_ARGUMENT);
    }
    pieces::PullMirror moved = std::move(mirror);
    CHECK(!mirror && moved);  // NOLINT: use after move is the point
    try {
        mirror.list();  // NOLINT: an empty mirror is refused, not dereferenced
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_NULL_PARAMETER);
    }
    try {
        client.mirror_pull("{\"announce\": false}");
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_INVALID_JSON);
        CHECK(contains(error.json(), "announce"));
    }
}

static void callback_mirror_delivers_events_and_keeps_exceptions_out(const pieces::Client &client) {
    Seen seen;
    int synced = 0;
    auto token = std::make_shared<int>(0);  // owned by the callback: gone once the library let go of it
    pieces::Mirror mirror = client.mirror([&seen, &synced, token](std::string_view event) {
        if (starts_with(std::string(event), "{\"type\":\"synced\"")) ++synced;  // only this thread writes it
        seen.add(event);
    });
    CHECK(static_cast<bool>(mirror));
    CHECK(token.use_count() == 2);
    // By default the first sync announces every message already there.
    CHECK(seen.wait_for([](const Seen &s) { return contains(s.log, "{\"type\":\"synced\""); }));
    CHECK(contains(seen.log, "{\"type\":\"added\",\"message\":{"));
    const std::string all = mirror.list();
    CHECK(starts_with(all, "[{"));

    const std::string created = client.create(seed("mirrored by a callback"));
    const std::string id = top_level_id(created);
    CHECK(seen.wait_for([&created](const Seen &s) { return contains(s.log, "{\"type\":\"added\",\"message\":" + created); }));
    CHECK(mirror.get(id) == created);
    client.delete_message(id);
    CHECK(seen.wait_for([&id](const Seen &s) { return contains(s.log, "{\"type\":\"removed\",\"id\":\"" + id); }));
    CHECK(!mirror.get(id).has_value());

    mirror.close();  // stop, terminal event, thread joined, userdata released
    CHECK(!mirror);
    CHECK(seen.closed == 1);
    CHECK(synced == 1);
    CHECK(token.use_count() == 1);

    // A callback that throws: the mirror stops itself, the terminal event still arrives, close() rethrows.
    Seen thrown;
    pieces::Mirror throwing = client.mirror("{\"announce_initial\": false}", [&thrown](std::string_view event) {
        thrown.add(event);
        throw std::runtime_error("thrown by the mirror's callback");
    });
    CHECK(thrown.wait_for([](const Seen &s) { return s.closed == 1; }));
    CHECK(starts_with(thrown.log, "{\"type\":\"synced\""));
    try {
        throwing.close();
        CHECK(false);
    } catch (const std::runtime_error &error) {
        CHECK(std::strcmp(error.what(), "thrown by the mirror's callback") == 0);
    }

    try {
        client.mirror(std::function<void(std::string_view)>());
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_INVALID_ARGUMENT);
    }
    try {
        client.mirror("{\"stale_after\": 0}", [](std::string_view) {});
        CHECK(false);
    } catch (const pieces::Error &error) {
        CHECK(error.status() == PIECES_STATUS_INVALID_ARGUMENT);
        CHECK(contains(error.json(), "stale_after"));
    }
}

static void default_client_uses_the_environment(const std::string &url) {
    setenv("PIECES_OS_URL", url.c_str(), 1);
    pieces::Client client;
    CHECK(client.base_url() == url);
    unsetenv("PIECES_OS_URL");
}

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s URL REFUSED_URL FAILING_URL\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1], refused = argv[2], failing = argv[3];
    CHECK(pieces::version() == PIECES_OS_CLIENT_VERSION);

    try {
        pieces::Client client("{\"base_url\": \"" + url + "\"}");
        CHECK(client.base_url() == url);
        errors_are_exceptions_with_status_and_json(refused, failing);
        requests_take_and_return_strings(client);
        callback_subscription_frees_everything(client);
        callback_exception_stays_out_of_the_library(client);
        pull_subscription_is_a_range(client);
        moved_from_client_is_empty(pieces::Client("{\"base_url\": \"" + url + "\"}"));
        one_message_is_fetched_and_updated_by_id(client);
        pull_mirror_follows_every_change_and_reads_without_requests(client);
        callback_mirror_delivers_events_and_keeps_exceptions_out(client);
        default_client_uses_the_environment(url);
    } catch (const pieces::Error &error) {
        std::fprintf(stderr, "unexpected error %u: %s\n", static_cast<unsigned>(error.status()), error.what());
        ++failed;
    }

    std::printf("raii.cpp: %d passed, %d failed\n", passed.load(), failed.load());
    return failed == 0 && passed > 0 ? 0 : 1;
}
