/*
 * pieces_os_client.hpp: a header-only C++17 wrapper over the C API of pieces-os-client
 * (pieces_os_client.h, which it includes). Link with the same library: -lpieces_os_client, or
 * `pkg-config --libs pieces_os_client`, or CMake's PiecesOsClient::pieces_os_client.
 *
 *     pieces::Client client("{\"base_url\": \"http://127.0.0.1:39300\"}");
 *     std::string messages = client.snapshot(pieces::Transferables::Exclude);
 *     pieces::PullSubscription changes = client.subscribe_pull();
 *     for (const std::string &event : changes) { ... }    // ends after the terminal event
 *     pieces::PullMirror mirror = client.mirror_pull();   // every message, kept current
 *     std::optional<std::string> message = mirror.get(id); // no request: the mirror's copy
 *
 * What it adds to the C API, and nothing else:
 *   - RAII: pieces::Client, pieces::Subscription and pieces::Mirror (callback mode), and
 *     pieces::PullSubscription and pieces::PullMirror (pull mode) own their handle and free it in their
 *     destructor; they move, they do not copy.
 *   - std::string in and out: JSON text goes in as it is and comes out as the library returned it; every
 *     string the library hands out is freed here, also when copying it throws.
 *   - Errors are exceptions: pieces::Error carries the pieces_status and the last-error JSON
 *     ({"kind": …, "message": …}, see pieces_last_error_json()).
 *   - Callbacks are std::function. An exception thrown by one never reaches the library: it is caught,
 *     the first one is kept, the subscription is stopped (the remaining events, the terminal one
 *     included, are still delivered), and close() rethrows it on the owner's thread.
 *   - A pull subscription or mirror is an input range of events: for (const std::string &event : mirror).
 *   - Absence is std::optional where it is an answer rather than a failure: Mirror::get() of an id the
 *     mirror does not hold is std::nullopt. Client::get_message() of an id PiecesOS does not know throws
 *     Error with PIECES_STATUS_NOT_FOUND, like every failed request.
 *
 * Thread safety is the C API's: a Client may be used by any number of threads at once; stop() works
 * from any thread, also inside the subscription's or mirror's own callback. Including this header more than once,
 * and in several translation units of one program, is fine (everything here is inline).
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#ifndef PIECES_OS_CLIENT_HPP
#define PIECES_OS_CLIENT_HPP

#include "pieces_os_client.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace pieces {

/** The version of the library actually loaded, such as "0.1.0"; PIECES_OS_CLIENT_VERSION is the header's. */
inline std::string version() { return pieces_version(); }

/** Whether PiecesOS includes heavy content (such as a fragment's text): the PIECES_TRANSFERABLES_* constants. */
enum class Transferables : pieces_transferables {
    Default = PIECES_TRANSFERABLES_DEFAULT, /**< the query parameter is left out */
    Include = PIECES_TRANSFERABLES_INCLUDE, /**< transferables=true */
    Exclude = PIECES_TRANSFERABLES_EXCLUDE, /**< transferables=false */
};

/**
 * A call failed: status() is its pieces_status, what() (also json()) the last-error JSON of the call,
 * such as {"kind":"http_status","message":"…","status":500,"body":"…"}.
 */
class Error : public std::runtime_error {
  public:
    Error(pieces_status status, const std::string &last_error_json)
        : std::runtime_error(last_error_json), status_(status) {}

    /** The status the C function returned (never PIECES_STATUS_OK). */
    pieces_status status() const noexcept { return status_; }

    /** The last-error JSON object; the same text as what(). */
    const char *json() const noexcept { return what(); }

  private:
    pieces_status status_;
};

namespace detail {

/** Throws the Error of a failed call, with the calling thread's last error (read right away). */
[[noreturn]] inline void throw_error(pieces_status status) {
    const char *json = pieces_last_error_json();
    throw Error(status, json != nullptr ? std::string(json)
                                        : "{\"kind\":\"unknown\",\"message\":\"the call failed without a last error\"}");
}

inline void check(pieces_status status) {
    if (status != PIECES_STATUS_OK) throw_error(status);
}

/**
 * The NUL-terminated form of a string argument. A std::string may hold a NUL byte, which C would take
 * for the end of the text and so silently send less than was given: that is refused here instead, with
 * the error the library gives for bad input.
 */
inline const char *c_string(const std::string &text, const char *argument) {
    const std::size_t nul = text.find('\0');
    if (nul != std::string::npos) {
        throw Error(PIECES_STATUS_INVALID_ARGUMENT,
                    std::string("{\"kind\":\"invalid_input\",\"argument\":\"") + argument +
                        "\",\"message\":\"invalid " + argument + ": it contains a NUL byte at offset " +
                        std::to_string(nul) + "\"}");
    }
    return text.c_str();
}

struct StringFree {
    void operator()(char *text) const noexcept { pieces_string_free(text); }
};

/** Takes a string the library returned (NULL: empty), copies it, and frees it, also if copying throws. */
inline std::string take(char *raw) {
    std::unique_ptr<char, StringFree> owned(raw);
    return owned ? std::string(owned.get()) : std::string();
}

/** The deleter of a handle: its pieces_*_free function. */
template <typename Handle, void (*Free)(Handle *)>
struct HandleFree {
    void operator()(Handle *handle) const noexcept { Free(handle); }
};

/** A timeout as the C API takes it: milliseconds, clamped to int32_t, negative counted as zero. */
inline std::int32_t timeout_ms(std::chrono::milliseconds timeout) noexcept {
    const auto count = timeout.count();
    if (count <= 0) return 0;
    return count >= std::numeric_limits<std::int32_t>::max() ? std::numeric_limits<std::int32_t>::max()
                                                             : static_cast<std::int32_t>(count);
}

/**
 * What a callback-mode handle shares with the library's thread: the user's std::function and the first
 * exception it threw. The library owns one reference (its userdata) until userdata_free; the C++
 * handle owns another, so the exception can be read after the library let go.
 */
class EventSink {
  public:
    explicit EventSink(std::function<void(std::string_view)> callback) : callback_(std::move(callback)) {}
    EventSink(const EventSink &) = delete;
    EventSink &operator=(const EventSink &) = delete;
    virtual ~EventSink() = default;

    /** Runs the callback; an exception stays here (the first one is kept) and stops the handle. */
    void deliver(std::string_view event) noexcept {
        try {
            callback_(event);
        } catch (...) {
            if (keep(std::current_exception())) stop_handle();
        }
    }

    /** The first exception the callback threw, if any. */
    std::exception_ptr error() const noexcept {
        std::lock_guard<std::mutex> guard(lock_);
        return error_;
    }

  protected:
    /** Asks the handle to stop; called on the library's thread, inside the callback. */
    virtual void stop_handle() noexcept = 0;

  private:
    bool keep(std::exception_ptr error) noexcept {
        std::lock_guard<std::mutex> guard(lock_);
        if (error_) return false;
        error_ = std::move(error);
        return true;
    }

    std::function<void(std::string_view)> callback_;
    mutable std::mutex lock_;
    std::exception_ptr error_;
};

/** An EventSink that stops a handle of type Handle with Stop. */
template <typename Handle, pieces_status (*Stop)(Handle *)>
class HandleSink final : public EventSink {
  public:
    using EventSink::EventSink;

    /** The out-parameter of the call that starts the handle: the library writes it before the first event. */
    Handle *handle = nullptr;

  private:
    void stop_handle() noexcept override { Stop(handle); }
};

// The functions the library calls. They have C language linkage, as pieces_event_cb and userdata_free
// ask, and internal linkage, so that every translation unit has its own and none is exported.
extern "C" {
static inline void deliver_event(void *userdata, const char *event_json, std::size_t len) noexcept {
    EventSink &sink = **static_cast<std::shared_ptr<EventSink> *>(userdata);
    sink.deliver(event_json != nullptr ? std::string_view(event_json, len) : std::string_view());
}

static inline void release_sink(void *userdata) noexcept {
    delete static_cast<std::shared_ptr<EventSink> *>(userdata);
}
}

/**
 * Starts a callback-mode handle: `start(cb, userdata, userdata_free, out)` is the C call, with the
 * remaining arguments already bound. Returns the handle and the sink.
 */
template <typename Handle, pieces_status (*Stop)(Handle *), typename Start>
std::pair<Handle *, std::shared_ptr<EventSink>> start_with_callback(std::function<void(std::string_view)> callback,
                                                                    Start start) {
    if (!callback) {
        throw Error(PIECES_STATUS_INVALID_ARGUMENT,
                    "{\"kind\":\"invalid_input\",\"argument\":\"callback\",\"message\":\"invalid callback: "
                    "an empty std::function (use the pull form instead)\"}");
    }
    auto sink = std::make_shared<HandleSink<Handle, Stop>>(std::move(callback));
    auto userdata = std::make_unique<std::shared_ptr<EventSink>>(sink);
    // From this call on the library owns the userdata: it runs release_sink exactly once, also when
    // the call fails.
    const pieces_status status = start(deliver_event, userdata.release(), release_sink, &sink->handle);
    check(status);
    return {sink->handle, sink};
}

/**
 * A callback-mode handle (a subscription or a mirror): owns the C handle, whose free function stops
 * it and joins its thread, and shares the EventSink with the library.
 */
template <typename Handle, pieces_status (*Stop)(Handle *), void (*Free)(Handle *)>
class CallbackHandle {
  public:
    /** An empty handle; stop() and close() do nothing. */
    CallbackHandle() noexcept = default;

    /** Adopts a started handle and its sink (see start_with_callback). */
    CallbackHandle(Handle *adopted, std::shared_ptr<EventSink> sink) noexcept
        : sink_(std::move(sink)), handle_(adopted) {}

    /** Asks it to stop and returns at once; the terminal event follows. Any thread, also the callback's. */
    void stop() const {
        if (handle_) check(Stop(handle_.get()));
    }

    /**
     * Stops it, waits until its thread has ended (the terminal event has been delivered and the
     * callback will not run again), and then rethrows the first exception the callback threw, if any.
     * Afterwards the handle is empty. Not from inside the callback: use stop() there.
     */
    void close() {
        handle_.reset();
        const std::shared_ptr<EventSink> sink = std::move(sink_);
        if (sink) {
            if (std::exception_ptr error = sink->error()) std::rethrow_exception(error);
        }
    }

    /** The first exception the callback threw (null while it threw none). */
    std::exception_ptr callback_error() const noexcept { return sink_ ? sink_->error() : nullptr; }

    /** The C handle, for calls this wrapper does not cover; it stays owned here. */
    Handle *get() const noexcept { return handle_.get(); }

    explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

  private:
    // Declared first, destroyed last: the handle is freed (its thread joined) before this reference goes.
    std::shared_ptr<EventSink> sink_;
    std::unique_ptr<Handle, HandleFree<Handle, Free>> handle_;
};

/**
 * A pull-mode handle: events wait in the library until next() takes them, on the caller's thread.
 * Iterating it blocks for each event and ends after the terminal one.
 */
template <typename Handle, pieces_status (*Next)(Handle *, std::int32_t, char **), pieces_status (*Stop)(Handle *),
          void (*Free)(Handle *)>
class PullHandle {
  public:
    class iterator;

    /** An empty handle. */
    PullHandle() noexcept = default;

    /** Adopts a started handle. */
    explicit PullHandle(Handle *adopted) noexcept : handle_(adopted) {}

    PullHandle(PullHandle &&other) noexcept
        : handle_(std::move(other.handle_)), finished_(other.finished_.load()) {}

    PullHandle &operator=(PullHandle &&other) noexcept {
        handle_ = std::move(other.handle_);
        finished_ = other.finished_.load();
        return *this;
    }

    /** Blocks until the next event; std::nullopt once the terminal event has been taken. */
    std::optional<std::string> next() { return take(-1); }

    /**
     * Waits up to `timeout` (zero: only looks) for the next event. std::nullopt when nothing arrived in
     * time, or when the terminal event has already been taken: finished() tells which.
     */
    std::optional<std::string> next_for(std::chrono::milliseconds timeout) { return take(timeout_ms(timeout)); }

    /** Whether the terminal event has been taken: no event will ever come again. */
    bool finished() const noexcept { return finished_.load(); }

    /** Asks it to stop and returns at once; the terminal event follows the events still waiting. */
    void stop() const {
        if (handle_) check(Stop(handle_.get()));
    }

    /** The first event (blocking for it), or end() when the terminal event has been taken already. */
    iterator begin() { return iterator(this); }
    iterator end() noexcept { return iterator(); }

    /** The C handle, for calls this wrapper does not cover; it stays owned here. */
    Handle *get() const noexcept { return handle_.get(); }

    explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

    /** An input iterator over the events; it ends after the terminal event. */
    class iterator {
      public:
        using iterator_category = std::input_iterator_tag;
        using value_type = std::string;
        using difference_type = std::ptrdiff_t;
        using pointer = const std::string *;
        using reference = const std::string &;

        /** The end. */
        iterator() noexcept = default;

        reference operator*() const noexcept { return event_; }
        pointer operator->() const noexcept { return &event_; }

        iterator &operator++() {
            advance();
            return *this;
        }

        iterator operator++(int) {
            iterator before = *this;
            advance();
            return before;
        }

        friend bool operator==(const iterator &a, const iterator &b) noexcept { return a.owner_ == b.owner_; }
        friend bool operator!=(const iterator &a, const iterator &b) noexcept { return a.owner_ != b.owner_; }

      private:
        friend class PullHandle;

        explicit iterator(PullHandle *owner) : owner_(owner) { advance(); }

        void advance() {
            if (owner_ == nullptr) return;
            std::optional<std::string> event = owner_->next();
            if (event) {
                event_ = std::move(*event);
            } else {
                owner_ = nullptr;
                event_.clear();
            }
        }

        PullHandle *owner_ = nullptr;
        std::string event_;
    };

  private:
    std::optional<std::string> take(std::int32_t timeout) {
        if (!handle_) return std::nullopt;
        char *raw = nullptr;
        const pieces_status status = Next(handle_.get(), timeout, &raw);
        if (status == PIECES_STATUS_OK) return detail::take(raw);
        if (status == PIECES_STATUS_NO_EVENT) return std::nullopt;
        if (status == PIECES_STATUS_CLOSED) {
            finished_ = true;
            return std::nullopt;
        }
        throw_error(status);
    }

    std::unique_ptr<Handle, HandleFree<Handle, Free>> handle_;
    std::atomic<bool> finished_{false};
};

/** pieces_mirror_get(): the message's JSON text, or std::nullopt when the mirror does not hold it. */
inline std::optional<std::string> mirror_get(const pieces_mirror *mirror, std::string_view message_id) {
    const std::string id(message_id);
    char *raw = nullptr;
    const pieces_status status = pieces_mirror_get(mirror, c_string(id, "message_id"), &raw);
    if (status == PIECES_STATUS_NOT_FOUND) return std::nullopt;
    check(status);
    return take(raw);
}

/** pieces_mirror_list(): a JSON array of the messages, of one conversation or (std::nullopt) of all. */
inline std::string mirror_list(const pieces_mirror *mirror, std::optional<std::string_view> conversation_id) {
    const std::optional<std::string> id(conversation_id);
    char *raw = nullptr;
    check(pieces_mirror_list(mirror, id ? c_string(*id, "conversation_id") : nullptr, &raw));
    return take(raw);
}

/**
 * The reads of a mirror handle (Mirror, PullMirror, whose get() gives the C handle): the mirror's copy,
 * with no request, from any thread.
 */
template <typename Derived>
class MirrorReads {
  public:
    /** The message with this id as the server's JSON text, or std::nullopt when the mirror holds none. */
    std::optional<std::string> get(std::string_view message_id) const { return mirror_get(handle(), message_id); }

    /** A JSON array of the messages, oldest first: those of one conversation, or every one. */
    std::string list(std::optional<std::string_view> conversation_id = std::nullopt) const {
        return mirror_list(handle(), conversation_id);
    }

  private:
    const pieces_mirror *handle() const noexcept { return static_cast<const Derived &>(*this).get(); }
};

}  // namespace detail

/**
 * A callback-mode subscription to the identifier stream (Client::subscribe). The callback runs on the
 * subscription's thread, one event at a time. The destructor stops the subscription and waits for its
 * thread; close() does the same and rethrows what the callback threw.
 */
class Subscription
    : public detail::CallbackHandle<pieces_subscription, pieces_subscription_stop, pieces_subscription_free> {
  public:
    using CallbackHandle::CallbackHandle;
};

/**
 * A pull-mode subscription to the identifier stream (Client::subscribe_pull): take events with next(),
 * next_for() or a range-for loop, on any thread. The destructor stops it and frees it.
 */
class PullSubscription : public detail::PullHandle<pieces_subscription, pieces_subscription_next,
                                                   pieces_subscription_stop, pieces_subscription_free> {
  public:
    using PullHandle::PullHandle;
};

/**
 * A callback-mode mirror (Client::mirror): a copy of every message that the mirror's own thread keeps
 * current, calling the callback with each event, in order: {"type":"added","message":{…}},
 * {"type":"updated","message":{…}}, {"type":"removed","id":"…"}, {"type":"synced","count":N}, … (see
 * pieces_mirror_new()). get() and list() read the copy with no request, from any thread. The first
 * events may arrive before Client::mirror() has returned this object, so a callback should not reach for
 * it: each event carries its message. The destructor stops the mirror and waits for its thread; close()
 * does the same and rethrows what the callback threw.
 */
class Mirror : public detail::CallbackHandle<pieces_mirror, pieces_mirror_stop, pieces_mirror_free>,
               public detail::MirrorReads<Mirror> {
  public:
    using CallbackHandle::CallbackHandle;
    using CallbackHandle::get;  // the C handle
    using MirrorReads::get;     // a message
};

/**
 * A pull-mode mirror (Client::mirror_pull): its events wait until next(), next_for() or a range-for loop
 * takes them, on any thread; get() and list() read the copy as Mirror's do. The destructor stops it and
 * frees it.
 */
class PullMirror
    : public detail::PullHandle<pieces_mirror, pieces_mirror_next, pieces_mirror_stop, pieces_mirror_free>,
      public detail::MirrorReads<PullMirror> {
  public:
    using PullHandle::PullHandle;
    using PullHandle::get;   // the C handle
    using MirrorReads::get;  // a message
};

/**
 * A client for one PiecesOS (pieces_client). Every method is safe to call from any number of threads at
 * once and throws Error when the call fails. Moves, does not copy: share one through a reference or a
 * std::shared_ptr.
 */
class Client {
  public:
    /** A client with the default configuration: PIECES_OS_URL, else PiecesOS is discovered on first use. */
    Client() { check_new(nullptr); }

    /** A client from the JSON form of the configuration, e.g. {"base_url": "http://127.0.0.1:39300"}. */
    explicit Client(const std::string &config_json) { check_new(detail::c_string(config_json, "config_json")); }

    /** The base URL requests go to (discovering PiecesOS first if needed). */
    std::string base_url() const {
        char *raw = nullptr;
        detail::check(pieces_client_base_url(handle_.get(), &raw));
        return detail::take(raw);
    }

    /** Checks PiecesOS's version against compatible_versions and returns the version it reported. */
    std::string check_version() const {
        char *raw = nullptr;
        detail::check(pieces_client_check_version(handle_.get(), &raw));
        return detail::take(raw);
    }

    /** Every message: GET /messages. */
    std::string snapshot(Transferables transferables = Transferables::Default) const {
        char *raw = nullptr;
        detail::check(pieces_messages_snapshot(handle_.get(), raw_value(transferables), &raw));
        return detail::take(raw);
    }

    /** Creates a message from a SeededConversationMessage (JSON); returns the message PiecesOS made. */
    std::string create(const std::string &seed_json, Transferables transferables = Transferables::Default) const {
        char *raw = nullptr;
        detail::check(pieces_messages_create(handle_.get(), detail::c_string(seed_json, "seed_json"),
                                             raw_value(transferables), &raw));
        return detail::take(raw);
    }

    /** Deletes a message by id. */
    void delete_message(const std::string &message_id) const {
        detail::check(pieces_messages_delete(handle_.get(), detail::c_string(message_id, "message_id")));
    }

    /** Searches messages with a SearchInput (JSON); returns the SearchedConversationMessages JSON. */
    std::string search(const std::string &search_input_json,
                       Transferables transferables = Transferables::Default) const {
        char *raw = nullptr;
        detail::check(pieces_messages_search(handle_.get(), detail::c_string(search_input_json, "search_input_json"),
                                             raw_value(transferables), &raw));
        return detail::take(raw);
    }

    /**
     * One message by id: GET /message/{id}. Throws Error with PIECES_STATUS_NOT_FOUND when PiecesOS
     * holds no message with this id (it answered HTTP 410).
     */
    std::string get_message(const std::string &message_id,
                            Transferables transferables = Transferables::Default) const {
        char *raw = nullptr;
        detail::check(pieces_messages_get(handle_.get(), detail::c_string(message_id, "message_id"),
                                          raw_value(transferables), &raw));
        return detail::take(raw);
    }

    /**
     * Sends a whole ConversationMessage (JSON) back, found by its id: POST /message/update. Returns the
     * message as stored. Every key of it is kept, those the library does not know included; send one
     * fetched with its content (PiecesOS stores what it is sent).
     */
    std::string update_message(const std::string &message_json,
                               Transferables transferables = Transferables::Default) const {
        char *raw = nullptr;
        detail::check(pieces_messages_update(handle_.get(), detail::c_string(message_json, "message_json"),
                                             raw_value(transferables), &raw));
        return detail::take(raw);
    }

    /**
     * Subscribes to the identifier stream with a callback, which gets each event's JSON text (valid
     * only during the call: copy what you keep) on the subscription's thread.
     */
    Subscription subscribe(std::function<void(std::string_view event_json)> callback) const {
        pieces_client *client = handle_.get();
        auto started = detail::start_with_callback<pieces_subscription, pieces_subscription_stop>(
            std::move(callback), [client](pieces_event_cb cb, void *userdata, void (*userdata_free)(void *),
                                          pieces_subscription **out) {
                return pieces_messages_subscribe(client, cb, userdata, userdata_free, out);
            });
        return Subscription(started.first, std::move(started.second));
    }

    /** Subscribes to the identifier stream in pull mode: events wait until the subscription's next(). */
    PullSubscription subscribe_pull() const {
        pieces_subscription *raw = nullptr;
        detail::check(pieces_messages_subscribe(handle_.get(), nullptr, nullptr, nullptr, &raw));
        return PullSubscription(raw);
    }

    /**
     * Starts a mirror with a callback, which gets each event's JSON text (valid only during the call:
     * copy what you keep) on the mirror's thread. `options_json` is pieces_mirror_new()'s, such as
     * {"announce_initial": false}; "{}" takes every default.
     */
    Mirror mirror(const std::string &options_json, std::function<void(std::string_view event_json)> callback) const {
        pieces_client *client = handle_.get();
        const char *options = detail::c_string(options_json, "options_json");
        auto started = detail::start_with_callback<pieces_mirror, pieces_mirror_stop>(
            std::move(callback), [client, options](pieces_event_cb cb, void *userdata, void (*userdata_free)(void *),
                                                   pieces_mirror **out) {
                return pieces_mirror_new(client, options, cb, userdata, userdata_free, out);
            });
        return Mirror(started.first, std::move(started.second));
    }

    /** Starts a mirror with the default options and a callback. */
    Mirror mirror(std::function<void(std::string_view event_json)> callback) const {
        return mirror("{}", std::move(callback));
    }

    /** Starts a mirror in pull mode: events wait until the mirror's next(). Options as mirror()'s. */
    PullMirror mirror_pull(const std::string &options_json = "{}") const {
        pieces_mirror *raw = nullptr;
        detail::check(pieces_mirror_new(handle_.get(), detail::c_string(options_json, "options_json"), nullptr,
                                        nullptr, nullptr, &raw));
        return PullMirror(raw);
    }

    /** The C handle, for calls this wrapper does not cover; it stays owned here. */
    pieces_client *get() const noexcept { return handle_.get(); }

  private:
    static pieces_transferables raw_value(Transferables transferables) noexcept {
        return static_cast<pieces_transferables>(transferables);
    }

    void check_new(const char *config_json) {
        pieces_client *raw = nullptr;
        detail::check(pieces_client_new(config_json, &raw));
        handle_.reset(raw);
    }

    std::unique_ptr<pieces_client, detail::HandleFree<pieces_client, pieces_client_free>> handle_;
};

}  // namespace pieces

#endif /* PIECES_OS_CLIENT_HPP */
