// The C API from C++17: the header included twice (its include guard and extern "C" block must allow
// it), every handle owned by a std::unique_ptr with a custom deleter, errors turned into exceptions at
// the call site (never thrown through the library), a callback subscription and a pull subscription.
//
// Usage: raii URL REFUSED_URL FAILING_URL (the last one is not used here)
#include "pieces_os_client.h"
#include "pieces_os_client.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace pieces {

struct ClientDeleter {
    void operator()(pieces_client *client) const noexcept { pieces_client_free(client); }
};
struct StringDeleter {
    void operator()(char *text) const noexcept { pieces_string_free(text); }
};
struct SubscriptionDeleter {
    void operator()(pieces_subscription *subscription) const noexcept { pieces_subscription_free(subscription); }
};

using Client = std::unique_ptr<pieces_client, ClientDeleter>;
using String = std::unique_ptr<char, StringDeleter>;
using Subscription = std::unique_ptr<pieces_subscription, SubscriptionDeleter>;

class Error : public std::runtime_error {
  public:
    Error(pieces_status status, const char *detail)
        : std::runtime_error(detail ? detail : "(no detail)"), status_(status) {}
    pieces_status status() const noexcept { return status_; }

  private:
    pieces_status status_;
};

inline void check(pieces_status status) {
    if (status != PIECES_STATUS_OK) throw Error(status, pieces_last_error_json());
}

inline Client make_client(const std::string &config) {
    pieces_client *raw = nullptr;
    check(pieces_client_new(config.c_str(), &raw));
    return Client(raw);
}

// Takes ownership of a returned string and copies it into a std::string.
inline std::string take(char *raw) {
    String owned(raw);
    return owned ? std::string(owned.get()) : std::string();
}

inline std::string snapshot(const Client &client) {
    char *raw = nullptr;
    check(pieces_messages_snapshot(client.get(), PIECES_TRANSFERABLES_EXCLUDE, &raw));
    return take(raw);
}

inline std::string create(const Client &client, const std::string &seed) {
    char *raw = nullptr;
    check(pieces_messages_create(client.get(), seed.c_str(), PIECES_TRANSFERABLES_DEFAULT, &raw));
    return take(raw);
}

}  // namespace pieces

static std::atomic<int> passed{0}, failed{0};

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            ++passed;                                                                 \
        } else {                                                                      \
            ++failed;                                                                 \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

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

// What the callback subscription has seen, shared with the subscription thread.
struct Seen {
    std::mutex lock;
    std::condition_variable changed;
    int connected = 0, full = 0, closed = 0, freed = 0;
    std::string log;  // every event, so a change that arrives before its id is known is still found
};

extern "C" {
static void on_event(void *userdata, const char *event, size_t len) {
    // Nothing may be thrown through the library: the whole body is noexcept in effect.
    try {
        auto *seen = static_cast<Seen *>(userdata);
        std::string text(event, len);
        std::lock_guard<std::mutex> guard(seen->lock);
        if (text.rfind("{\"type\":\"connected\"", 0) == 0) ++seen->connected;
        if (text.find("\"full\":true") != std::string::npos) ++seen->full;
        if (text.rfind("{\"type\":\"closed\"", 0) == 0) ++seen->closed;
        seen->log += text;
        seen->changed.notify_all();
    } catch (...) {
        ++failed;
    }
}

static void release_seen(void *userdata) {
    auto *seen = static_cast<Seen *>(userdata);
    std::lock_guard<std::mutex> guard(seen->lock);
    ++seen->freed;
    seen->changed.notify_all();
}
}

template <typename Predicate>
static bool wait_for(Seen &seen, Predicate predicate) {
    std::unique_lock<std::mutex> guard(seen.lock);
    return seen.changed.wait_for(guard, std::chrono::seconds(30), [&] { return predicate(seen); });
}

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s URL REFUSED_URL FAILING_URL\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1], refused = argv[2];
    CHECK(std::string(pieces_version()) == PIECES_OS_CLIENT_VERSION);

    try {
        pieces::Client client = pieces::make_client("{\"base_url\": \"" + url + "\"}");
        CHECK(client != nullptr);
        CHECK(pieces::snapshot(client).find("\"iterable\"") != std::string::npos);

        // Errors become exceptions with the status and the last-error JSON.
        try {
            pieces::make_client("{\"base_url\": 1}");
            CHECK(false);
        } catch (const pieces::Error &error) {
            CHECK(error.status() == PIECES_STATUS_INVALID_JSON);
            CHECK(std::strstr(error.what(), "\"kind\":\"invalid_json\"") != nullptr);
        }
        try {
            pieces::Client unreachable = pieces::make_client("{\"base_url\": \"" + refused + "\"}");
            pieces::snapshot(unreachable);
            CHECK(false);
        } catch (const pieces::Error &error) {
            CHECK(error.status() == PIECES_STATUS_CONNECTION);
        }

        // A callback subscription owned by a unique_ptr: its deleter stops and joins it.
        Seen seen;
        {
            pieces_subscription *raw = nullptr;
            pieces::check(pieces_messages_subscribe(client.get(), on_event, &seen, release_seen, &raw));
            pieces::Subscription subscription(raw);
            CHECK(wait_for(seen, [](const Seen &s) { return s.connected >= 1 && s.full >= 1; }));

            const std::string created =
                pieces::create(client, "{\"role\": \"USER\", \"conversation\": {\"id\": \"cpp\"}, "
                                       "\"fragment\": {\"string\": {\"raw\": \"from C++\"}}}");
            const std::string id = top_level_id(created);
            CHECK(!id.empty());
            CHECK(wait_for(seen, [&id](const Seen &s) { return s.log.find(id) != std::string::npos; }));
            CHECK(pieces::snapshot(client).find(id) != std::string::npos);
            pieces::check(pieces_messages_delete(client.get(), id.c_str()));
        }  // ~Subscription: stop, terminal event, userdata released, thread joined
        CHECK(seen.closed == 1);
        CHECK(seen.freed == 1);

        // A pull subscription: RAII frees it even though the terminal event is never taken.
        {
            pieces_subscription *raw = nullptr;
            pieces::check(pieces_messages_subscribe(client.get(), nullptr, nullptr, nullptr, &raw));
            pieces::Subscription subscription(raw);
            char *event = nullptr;
            pieces::check(pieces_subscription_next(subscription.get(), 30000, &event));
            pieces::String owned(event);
            CHECK(std::strncmp(owned.get(), "{\"type\":\"connected\"", 19) == 0);
            pieces::String moved = std::move(owned);  // ownership moves, the string is freed once
            CHECK(owned == nullptr && moved != nullptr);
        }
    } catch (const pieces::Error &error) {
        std::fprintf(stderr, "unexpected error %u: %s\n", static_cast<unsigned>(error.status()), error.what());
        ++failed;
    }

    std::printf("raii.cpp: %d passed, %d failed\n", passed.load(), failed.load());
    return failed == 0 && passed > 0 ? 0 : 1;
}
