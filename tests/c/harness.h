/*
 * A tiny check harness shared by the C test programs in tests/c/, which tests/c_api.rs builds and runs
 * plain, under AddressSanitizer + UBSan, and under Valgrind.
 *
 * Every CHECK counts; the program ends with "NAME: N passed, M failed" and exits non-zero when M > 0.
 * Checks may run on any thread (the counters are atomic). Every wait is bounded.
 */
#ifndef PIECES_TEST_HARNESS_H
#define PIECES_TEST_HARNESS_H

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pieces_os_client.h"

static atomic_int checks_passed;
static atomic_int checks_failed;

static inline void check_report(bool ok, const char *file, int line, const char *what) {
    if (ok) {
        atomic_fetch_add(&checks_passed, 1);
    } else {
        atomic_fetch_add(&checks_failed, 1);
        const char *last = pieces_last_error_json();
        fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", file, line, what,
                last ? last : "none");
        fflush(stderr);
    }
}

#define CHECK(cond) check_report((cond), __FILE__, __LINE__, #cond)

/* Checks a call's status; on a mismatch prints both and the last error. */
#define CHECK_STATUS(call, expected)                                                          \
    do {                                                                                      \
        pieces_status got_ = (call);                                                          \
        if (got_ != (pieces_status)(expected)) {                                              \
            fprintf(stderr, "%s:%d: %s returned %u, expected %u\n", __FILE__, __LINE__, #call, \
                    (unsigned)got_, (unsigned)(expected));                                    \
        }                                                                                     \
        check_report(got_ == (pieces_status)(expected), __FILE__, __LINE__, #call);           \
    } while (0)

/* The last error of this thread contains `needle`. */
static inline bool last_error_has(const char *needle) {
    const char *last = pieces_last_error_json();
    return last != NULL && strstr(last, needle) != NULL;
}

static inline int finish(const char *name) {
    int passed = atomic_load(&checks_passed), failed = atomic_load(&checks_failed);
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    fflush(stdout);
    return failed == 0 && passed > 0 ? 0 : 1;
}

/* Every test program takes the same three URLs (see tests/c_api.rs): a live stand-in, a port that refuses
 * connections, and a stand-in that fails every request. False, after a usage line, when they are missing. */
static inline bool usage_ok(int argc, char **argv) {
    if (argc == 4) {
        return true;
    }
    fprintf(stderr, "usage: %s URL REFUSED_URL FAILING_URL\n", argv[0]);
    return false;
}

static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static inline void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* An absolute CLOCK_REALTIME deadline `ms` from now, for pthread_cond_timedwait. */
static inline struct timespec deadline_in(long ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Asks tests/c_api.rs, which reads this program's standard output, to drop the server's WebSockets
 * ("close": with a Close frame, "cut": without). */
static inline void request_websocket_drop(const char *mode) {
    printf("DROP %s\n", mode);
    fflush(stdout);
}

/*
 * Copies the string value of `key` in the top level of the JSON object `json` into `out` (at most
 * `size` - 1 bytes, escapes kept as they are). Returns false when there is no such string. Enough for
 * message ids, which are plain ASCII.
 */
static inline bool json_top_string(const char *json, const char *key, char *out, size_t size) {
    size_t key_len = strlen(key);
    int depth = 0;
    for (const char *p = json; *p; p++) {
        if (*p == '"') {
            const char *start = p + 1;
            const char *end = start;
            while (*end && *end != '"') {
                if (*end == '\\' && end[1]) end++;
                end++;
            }
            if (!*end) return false;
            if (depth == 1 && (size_t)(end - start) == key_len && strncmp(start, key, key_len) == 0) {
                const char *v = end + 1;
                while (*v == ' ' || *v == ':' || *v == '\n' || *v == '\t' || *v == '\r') v++;
                if (*v != '"') return false;
                v++;
                size_t n = 0;
                while (v[n] && v[n] != '"' && n + 1 < size) {
                    out[n] = v[n];
                    n++;
                }
                out[n] = '\0';
                return v[n] == '"';
            }
            p = end;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            depth--;
        }
    }
    return false;
}

/* The event's type is `type` (events are written with "type" first). */
static inline bool event_is(const char *event, const char *type) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "{\"type\":\"%s\"", type);
    return strncmp(event, prefix, strlen(prefix)) == 0;
}

/* Pull mode, for subscriptions and mirrors alike: `next` is a program's wrapper of
 * pieces_subscription_next or pieces_mirror_next on `handle`, and `count` tallies each event taken. Takes
 * events until one of `type` (containing `needle` when not NULL) arrives, within `wait_ms` and at most
 * `max_events` events; false when none did, or when `next` failed (reported on stderr). */
typedef pieces_status (*next_event_fn)(void *handle, int32_t timeout_ms, char **out_json);
typedef void (*count_event_fn)(void *seen, const char *event);

static inline bool pull_until_event(next_event_fn next, void *handle, count_event_fn count, void *seen,
                                    const char *type, const char *needle, int wait_ms, int max_events) {
    double deadline = now_ms() + wait_ms;
    for (int i = 0; i < max_events; i++) {
        int left = (int)(deadline - now_ms());
        if (left <= 0) break;
        char *event = NULL;
        pieces_status status = next(handle, left, &event);
        if (status == PIECES_STATUS_NO_EVENT) continue;
        if (status != PIECES_STATUS_OK) {
            fprintf(stderr, "pulling an event: %u %s\n", (unsigned)status, pieces_last_error_json());
            return false;
        }
        count(seen, event);
        bool found = event_is(event, type) && (needle == NULL || strstr(event, needle) != NULL);
        pieces_string_free(event);
        if (found) return true;
    }
    return false;
}

/* `text` with its first `from` replaced by `to`, in memory the caller frees with free(); NULL when `from`
 * does not occur (or memory ran out). */
static inline char *replace_once(const char *text, const char *from, const char *to) {
    const char *at = strstr(text, from);
    if (at == NULL) return NULL;
    size_t before = (size_t)(at - text), from_len = strlen(from), to_len = strlen(to);
    char *out = malloc(strlen(text) - from_len + to_len + 1);
    if (out == NULL) return NULL;
    memcpy(out, text, before);
    memcpy(out + before, to, to_len);
    strcpy(out + before + to_len, at + from_len);
    return out;
}

/* A seed for pieces_messages_create with `text` as its content. */
static inline void make_seed(char *out, size_t size, const char *conversation, const char *text) {
    snprintf(out, size,
             "{\"role\": \"USER\", \"conversation\": {\"id\": \"%s\"}, "
             "\"fragment\": {\"string\": {\"raw\": \"%s\"}}}",
             conversation, text);
}

#endif /* PIECES_TEST_HARNESS_H */
