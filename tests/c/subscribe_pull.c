/*
 * Pull-mode subscriptions (the mode for LuaJIT and Python hosts): pieces_subscription_next with every
 * kind of timeout, events across server-side WebSocket drops, stop from another thread during a blocking
 * wait, CLOSED after the terminal event, and userdata_free exactly once, always on the caller's thread.
 *
 * Usage: subscribe_pull URL REFUSED_URL FAILING_URL (the last one is not used here)
 * Prints "DROP cut" / "DROP close" when tests/c_api.rs should drop the server's WebSockets.
 */
#include "harness.h"

#define WAIT_MS 30000
#define MAX_EVENTS 200

struct userdata {
    pthread_t owner;
    int freed;
    bool freed_on_owner;
};

static void free_userdata(void *p) {
    struct userdata *u = p;
    u->freed++;
    u->freed_on_owner = pthread_equal(pthread_self(), u->owner);
}

struct seen {
    int connected, identifiers, full, disconnected, closed, errors;
    bool error_was_connection;
};

static void count(struct seen *seen, const char *event) {
    if (event_is(event, "connected")) seen->connected++;
    if (event_is(event, "identifiers")) {
        seen->identifiers++;
        if (strstr(event, "\"full\":true")) seen->full++;
    }
    if (event_is(event, "disconnected")) seen->disconnected++;
    if (event_is(event, "closed")) seen->closed++;
    if (event_is(event, "error")) {
        seen->errors++;
        seen->error_was_connection = strstr(event, "\"kind\":\"connection\"") != NULL;
    }
}

static pieces_status next_event(void *handle, int32_t timeout_ms, char **out_json) {
    return pieces_subscription_next(handle, timeout_ms, out_json);
}

static void count_event(void *seen, const char *event) {
    count(seen, event);
}

/* Takes events until one of `type` (containing `needle` when not NULL) arrives, at most WAIT_MS. */
static bool pull_until(pieces_subscription *sub, struct seen *seen, const char *type, const char *needle) {
    return pull_until_event(next_event, sub, count_event, seen, type, needle, WAIT_MS, MAX_EVENTS);
}

static pieces_client *new_client(const char *base_url, const char *max_attempts) {
    char config[512];
    snprintf(config, sizeof config,
             "{\"base_url\": \"%s\", \"connect_timeout_ms\": 5000, \"stream\": {\"retry_initial_ms\": 20,"
             " \"retry_max_ms\": 200, \"max_attempts\": %s, \"queue_capacity\": 64}}",
             base_url, max_attempts);
    pieces_client *client = NULL;
    CHECK_STATUS(pieces_client_new(config, &client), PIECES_STATUS_OK);
    return client;
}

static void *stop_later(void *sub) {
    sleep_ms(200);
    CHECK_STATUS(pieces_subscription_stop(sub), PIECES_STATUS_OK);
    return NULL;
}

static void test_live(pieces_client *client) {
    struct userdata u = {pthread_self(), 0, false};
    struct seen seen = {0};
    pieces_subscription *sub = NULL;
    char *event = NULL;
    CHECK_STATUS(pieces_messages_subscribe(client, NULL, &u, free_userdata, &sub), PIECES_STATUS_OK);
    CHECK(sub != NULL);

    /* The first event is "connected", then the full set. */
    CHECK_STATUS(pieces_subscription_next(sub, WAIT_MS, &event), PIECES_STATUS_OK);
    CHECK(event != NULL && event_is(event, "connected"));
    CHECK(event != NULL && strstr(event, "\"url\":\"ws://127.0.0.1:") != NULL);
    pieces_string_free(event);
    CHECK(pull_until(sub, &seen, "identifiers", "\"full\":true"));

    /* Nothing changes: 0 only looks, > 0 waits that long. */
    event = NULL;
    CHECK_STATUS(pieces_subscription_next(sub, 0, &event), PIECES_STATUS_NO_EVENT);
    CHECK(event == NULL);
    CHECK(last_error_has("\"kind\":\"no_event\""));
    double start = now_ms();
    CHECK_STATUS(pieces_subscription_next(sub, 150, &event), PIECES_STATUS_NO_EVENT);
    CHECK(now_ms() - start >= 140);
    CHECK_STATUS(pieces_subscription_next(sub, 0, NULL), PIECES_STATUS_NULL_PARAMETER);

    /* A change arrives as an identifiers event with the new id. */
    char seed[256], id[128] = "", *json = NULL;
    make_seed(seed, sizeof seed, "pull", "seen by pull mode");
    CHECK_STATUS(pieces_messages_create(client, seed, 0, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && json_top_string(json, "id", id, sizeof id));
    pieces_string_free(json);
    CHECK(pull_until(sub, &seen, "identifiers", id));

    /* Across a drop without a Close frame, and one with: disconnected, connected, the full set again. */
    request_websocket_drop("cut");
    CHECK(pull_until(sub, &seen, "disconnected", "\"retry_in_ms\":"));
    CHECK(pull_until(sub, &seen, "connected", NULL));
    CHECK(pull_until(sub, &seen, "identifiers", "\"full\":true"));
    request_websocket_drop("close");
    CHECK(pull_until(sub, &seen, "disconnected", NULL));
    CHECK(pull_until(sub, &seen, "connected", NULL));
    CHECK(pull_until(sub, &seen, "identifiers", id));
    CHECK(seen.full >= 3);

    CHECK_STATUS(pieces_messages_delete(client, id), PIECES_STATUS_OK);
    CHECK(pull_until(sub, &seen, "identifiers", "\"deleted\":true"));

    /* Another thread stops it while this one waits without a timeout. */
    pthread_t stopper;
    CHECK(pthread_create(&stopper, NULL, stop_later, sub) == 0);
    bool closed = false;
    for (int i = 0; i < MAX_EVENTS && !closed; i++) {
        event = NULL;
        pieces_status status = pieces_subscription_next(sub, -1, &event);
        CHECK(status == PIECES_STATUS_OK);
        if (status != PIECES_STATUS_OK) break;
        CHECK(u.freed == 0 || event_is(event, "closed"));
        closed = event_is(event, "closed");
        pieces_string_free(event);
    }
    pthread_join(stopper, NULL);
    CHECK(closed);
    /* The call that took the terminal event ran userdata_free, here. */
    CHECK(u.freed == 1 && u.freed_on_owner);
    event = NULL;
    CHECK_STATUS(pieces_subscription_next(sub, 0, &event), PIECES_STATUS_CLOSED);
    CHECK(last_error_has("\"kind\":\"closed\""));
    CHECK_STATUS(pieces_subscription_next(sub, -1, &event), PIECES_STATUS_CLOSED);
    CHECK_STATUS(pieces_subscription_next(sub, 10, &event), PIECES_STATUS_CLOSED);
    CHECK(event == NULL);
    CHECK_STATUS(pieces_subscription_stop(sub), PIECES_STATUS_OK);
    pieces_subscription_free(sub);
    CHECK(u.freed == 1);
}

/* Freed without the terminal event taken: userdata_free runs inside the free, on the caller's thread. */
static void test_free_untaken(pieces_client *client) {
    struct userdata u = {pthread_self(), 0, false};
    struct seen seen = {0};
    pieces_subscription *sub = NULL;
    CHECK_STATUS(pieces_messages_subscribe(client, NULL, &u, free_userdata, &sub), PIECES_STATUS_OK);
    CHECK(pull_until(sub, &seen, "identifiers", NULL));
    CHECK(u.freed == 0);
    pieces_subscription_free(sub);
    CHECK(u.freed == 1 && u.freed_on_owner);
}

/* Stopped before it could connect: the terminal event still comes, once. */
static void test_stop_at_once(pieces_client *client) {
    struct userdata u = {pthread_self(), 0, false};
    struct seen seen = {0};
    pieces_subscription *sub = NULL;
    CHECK_STATUS(pieces_messages_subscribe(client, NULL, &u, free_userdata, &sub), PIECES_STATUS_OK);
    CHECK_STATUS(pieces_subscription_stop(sub), PIECES_STATUS_OK);
    CHECK(pull_until(sub, &seen, "closed", NULL));
    CHECK(seen.closed == 1 && seen.errors == 0);
    CHECK(u.freed == 1 && u.freed_on_owner);
    char *event = NULL;
    CHECK_STATUS(pieces_subscription_next(sub, 0, &event), PIECES_STATUS_CLOSED);
    pieces_subscription_free(sub);
    CHECK(u.freed == 1);
}

/* Never connected: after max_attempts the terminal error event, and CLOSED after it. */
static void test_never_connected(const char *refused_url) {
    pieces_client *client = new_client(refused_url, "2");
    struct userdata u = {pthread_self(), 0, false};
    struct seen seen = {0};
    pieces_subscription *sub = NULL;
    CHECK_STATUS(pieces_messages_subscribe(client, NULL, &u, free_userdata, &sub), PIECES_STATUS_OK);
    CHECK(pull_until(sub, &seen, "error", NULL));
    CHECK(seen.connected == 0 && seen.disconnected == 1 && seen.errors == 1);
    CHECK(seen.error_was_connection);
    CHECK(u.freed == 1 && u.freed_on_owner);
    char *event = NULL;
    CHECK_STATUS(pieces_subscription_next(sub, 100, &event), PIECES_STATUS_CLOSED);
    pieces_subscription_free(sub);
    pieces_client_free(client);
    CHECK(u.freed == 1);
}

int main(int argc, char **argv) {
    if (!usage_ok(argc, argv)) {
        return 2;
    }
    pieces_client *client = new_client(argv[1], "null");
    test_live(client);
    test_free_untaken(client);
    test_stop_at_once(client);
    pieces_client_free(client);
    test_never_connected(argv[2]);
    return finish("subscribe_pull.c");
}
