/*
 * Callback-mode subscriptions: events across server-side WebSocket drops (with and without a Close
 * frame), stop and free from inside the callback, free from another thread while the callback runs,
 * a subscription that never connects, and userdata_free exactly once in every case.
 *
 * Usage: subscribe_callback URL REFUSED_URL FAILING_URL (the last one is not used here)
 * Prints "DROP cut" / "DROP close" when tests/c_api.rs should drop the server's WebSockets.
 */
#include "harness.h"

#define WAIT_MS 30000

enum action {
    ACT_NONE,
    ACT_STOP_ON_IDENTIFIERS,
    ACT_FREE_ON_IDENTIFIERS,
    ACT_FREE_ON_CLOSED,
    ACT_NEXT_ON_IDENTIFIERS,
    ACT_SLOW_THEN_STOP,
};

struct ctx {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pieces_subscription *sub; /* written by pieces_messages_subscribe before the first callback */
    enum action action;
    int events, connected, identifiers, full, disconnected, closed, errors, after_terminal;
    bool first_was_connected, terminal, in_callback, len_ok, disconnect_has_fields, error_was_connection;
    int freed;
    bool freed_after_terminal;
    char watch_id[128];
    bool saw_deleted;
    /* Every identifiers event, so that a change that arrives before its id is known is still found. */
    char log[1 << 16];
    size_t log_len;
    pieces_status inner_status;
    bool acted;
};

static void ctx_init(struct ctx *c, enum action action) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    c->action = action;
    c->len_ok = true;
    c->inner_status = (pieces_status)999;
}

static void ctx_destroy(struct ctx *c) {
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->changed);
}

static void on_event(void *userdata, const char *event, size_t len) {
    struct ctx *c = userdata;
    pthread_mutex_lock(&c->lock);
    c->in_callback = true;
    if (strlen(event) != len) c->len_ok = false;
    if (c->terminal) c->after_terminal++;
    if (c->events++ == 0) c->first_was_connected = event_is(event, "connected");
    if (event_is(event, "connected")) c->connected++;
    if (event_is(event, "identifiers")) {
        c->identifiers++;
        if (strstr(event, "\"full\":true")) c->full++;
        if (c->watch_id[0] && strstr(event, c->watch_id) && strstr(event, "\"deleted\":true")) {
            c->saw_deleted = true;
        }
        if (c->log_len + len < sizeof c->log) {
            memcpy(c->log + c->log_len, event, len + 1);
            c->log_len += len;
        }
    }
    if (event_is(event, "disconnected")) {
        c->disconnected++;
        c->disconnect_has_fields = strstr(event, "\"retry_in_ms\":") && strstr(event, "\"error\":{");
    }
    if (event_is(event, "closed")) {
        c->closed++;
        c->terminal = true;
    }
    if (event_is(event, "error")) {
        c->errors++;
        c->terminal = true;
        c->error_was_connection = strstr(event, "\"kind\":\"connection\"") != NULL;
    }
    bool is_identifiers = event_is(event, "identifiers"), is_closed = event_is(event, "closed");
    bool act = !c->acted && ((is_identifiers && c->action != ACT_FREE_ON_CLOSED && c->action != ACT_NONE) ||
                             (is_closed && c->action == ACT_FREE_ON_CLOSED));
    if (act) c->acted = true;
    pieces_subscription *sub = c->sub;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);

    /* Calls into the library are made without holding our own lock. */
    if (act) {
        pieces_status status = PIECES_STATUS_OK;
        char *json = NULL;
        switch (c->action) {
        case ACT_STOP_ON_IDENTIFIERS:
            status = pieces_subscription_stop(sub);
            break;
        case ACT_FREE_ON_IDENTIFIERS:
        case ACT_FREE_ON_CLOSED:
            pieces_subscription_free(sub);
            break;
        case ACT_NEXT_ON_IDENTIFIERS:
            status = pieces_subscription_next(sub, 0, &json);
            CHECK(json == NULL);
            CHECK(last_error_has("\"kind\":\"in_callback\""));
            CHECK_STATUS(pieces_subscription_stop(sub), PIECES_STATUS_OK);
            break;
        case ACT_SLOW_THEN_STOP:
            sleep_ms(300);
            /* Another thread is in pieces_subscription_free meanwhile: stop stays allowed. */
            status = pieces_subscription_stop(sub);
            break;
        case ACT_NONE:
            break;
        }
        pthread_mutex_lock(&c->lock);
        c->inner_status = status;
        pthread_mutex_unlock(&c->lock);
    }

    pthread_mutex_lock(&c->lock);
    c->in_callback = false;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

static void free_ctx(void *userdata) {
    struct ctx *c = userdata;
    pthread_mutex_lock(&c->lock);
    c->freed++;
    c->freed_after_terminal = c->terminal;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

/* Waits until `pred` holds, at most `ms`. */
static bool wait_until(struct ctx *c, bool (*pred)(const struct ctx *), long ms) {
    struct timespec deadline = deadline_in(ms);
    pthread_mutex_lock(&c->lock);
    bool ok = pred(c);
    while (!ok) {
        if (pthread_cond_timedwait(&c->changed, &c->lock, &deadline) != 0) {
            ok = pred(c);
            break;
        }
        ok = pred(c);
    }
    pthread_mutex_unlock(&c->lock);
    return ok;
}

static bool first_full(const struct ctx *c) { return c->connected >= 1 && c->full >= 1; }
static bool second_full(const struct ctx *c) { return c->disconnected >= 1 && c->connected >= 2 && c->full >= 2; }
static bool third_full(const struct ctx *c) { return c->disconnected >= 2 && c->connected >= 3 && c->full >= 3; }
static bool saw_id(const struct ctx *c) { return c->watch_id[0] && strstr(c->log, c->watch_id) != NULL; }
static bool saw_deleted(const struct ctx *c) { return c->saw_deleted; }
static bool terminal(const struct ctx *c) { return c->terminal; }
static bool freed(const struct ctx *c) { return c->freed > 0; }
static bool in_callback(const struct ctx *c) { return c->in_callback && c->acted; }

/* `max_attempts` is a JSON value: "null" retries forever. */
static pieces_client *new_client(const char *base_url, const char *max_attempts) {
    char config[512];
    snprintf(config, sizeof config,
             "{\"base_url\": \"%s\", \"connect_timeout_ms\": 5000, \"stream\": {\"retry_initial_ms\": 20,"
             " \"retry_max_ms\": 200, \"max_attempts\": %s}}",
             base_url, max_attempts);
    pieces_client *client = NULL;
    CHECK_STATUS(pieces_client_new(config, &client), PIECES_STATUS_OK);
    return client;
}

/* Events in order across two server-side drops; stop and free from the main thread. */
static void test_live(pieces_client *client) {
    struct ctx c;
    ctx_init(&c, ACT_NONE);
    CHECK_STATUS(pieces_messages_subscribe(client, on_event, &c, free_ctx, &c.sub), PIECES_STATUS_OK);
    CHECK(wait_until(&c, first_full, WAIT_MS));
    CHECK(c.first_was_connected);

    char seed[256], *json = NULL;
    make_seed(seed, sizeof seed, "callback", "seen by the callback");
    CHECK_STATUS(pieces_messages_create(client, seed, 0, &json), PIECES_STATUS_OK);
    pthread_mutex_lock(&c.lock);
    CHECK(json != NULL && json_top_string(json, "id", c.watch_id, sizeof c.watch_id));
    pthread_mutex_unlock(&c.lock);
    pieces_string_free(json);
    CHECK(wait_until(&c, saw_id, WAIT_MS));

    request_websocket_drop("cut");
    CHECK(wait_until(&c, second_full, WAIT_MS));
    CHECK(c.disconnect_has_fields);
    request_websocket_drop("close");
    CHECK(wait_until(&c, third_full, WAIT_MS));

    CHECK_STATUS(pieces_messages_delete(client, c.watch_id), PIECES_STATUS_OK);
    CHECK(wait_until(&c, saw_deleted, WAIT_MS));

    /* A callback-mode subscription has no queue. */
    CHECK_STATUS(pieces_subscription_next(c.sub, 0, &json), PIECES_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pieces_subscription_next(c.sub, 0, NULL), PIECES_STATUS_NULL_PARAMETER);

    CHECK_STATUS(pieces_subscription_stop(c.sub), PIECES_STATUS_OK);
    CHECK(wait_until(&c, terminal, WAIT_MS));
    CHECK(wait_until(&c, freed, WAIT_MS));
    CHECK_STATUS(pieces_subscription_stop(c.sub), PIECES_STATUS_OK); /* again: nothing happens */
    pieces_subscription_free(c.sub);
    CHECK(c.closed == 1 && c.errors == 0);
    CHECK(c.after_terminal == 0);
    CHECK(c.freed == 1 && c.freed_after_terminal);
    CHECK(c.len_ok);
    ctx_destroy(&c);
}

/* The callback stops its own subscription. */
static void test_stop_inside(pieces_client *client) {
    struct ctx c;
    ctx_init(&c, ACT_STOP_ON_IDENTIFIERS);
    CHECK_STATUS(pieces_messages_subscribe(client, on_event, &c, free_ctx, &c.sub), PIECES_STATUS_OK);
    CHECK(wait_until(&c, terminal, WAIT_MS));
    CHECK(wait_until(&c, freed, WAIT_MS));
    CHECK(c.inner_status == PIECES_STATUS_OK);
    pieces_subscription_free(c.sub);
    CHECK(c.closed == 1 && c.after_terminal == 0 && c.freed == 1 && c.freed_after_terminal);
    ctx_destroy(&c);
}

/* The callback frees its own subscription, on an ordinary event or on the terminal one. */
static void test_free_inside(pieces_client *client, enum action action) {
    struct ctx c;
    ctx_init(&c, action);
    CHECK_STATUS(pieces_messages_subscribe(client, on_event, &c, free_ctx, &c.sub), PIECES_STATUS_OK);
    if (action == ACT_FREE_ON_CLOSED) {
        CHECK(wait_until(&c, first_full, WAIT_MS));
        CHECK_STATUS(pieces_subscription_stop(c.sub), PIECES_STATUS_OK);
    }
    /* The handle is the library's now: the main thread never touches it again. */
    CHECK(wait_until(&c, freed, WAIT_MS));
    CHECK(c.acted);
    CHECK(c.closed == 1 && c.errors == 0 && c.after_terminal == 0);
    CHECK(c.freed == 1 && c.freed_after_terminal);
    /* The subscription thread ends right after userdata_free; give it that moment before the next test. */
    sleep_ms(50);
    CHECK(c.freed == 1);
    ctx_destroy(&c);
}

/* pieces_subscription_next from inside the callback is refused with IN_CALLBACK. */
static void test_next_inside(pieces_client *client) {
    struct ctx c;
    ctx_init(&c, ACT_NEXT_ON_IDENTIFIERS);
    CHECK_STATUS(pieces_messages_subscribe(client, on_event, &c, free_ctx, &c.sub), PIECES_STATUS_OK);
    CHECK(wait_until(&c, terminal, WAIT_MS));
    CHECK(c.inner_status == PIECES_STATUS_IN_CALLBACK);
    pieces_subscription_free(c.sub);
    CHECK(c.freed == 1);
    ctx_destroy(&c);
}

struct freer {
    struct ctx *c;
    double took_ms;
};

static void *free_from_thread(void *arg) {
    struct freer *f = arg;
    double start = now_ms();
    pieces_subscription_free(f->c->sub);
    f->took_ms = now_ms() - start;
    /* Once free has returned, userdata_free has run and no callback is running. */
    pthread_mutex_lock(&f->c->lock);
    CHECK(f->c->freed == 1);
    CHECK(!f->c->in_callback);
    CHECK(f->c->terminal);
    pthread_mutex_unlock(&f->c->lock);
    return NULL;
}

/* Another thread frees the subscription while its callback is running (and calls stop). */
static void test_free_from_other_thread(pieces_client *client) {
    struct ctx c;
    ctx_init(&c, ACT_SLOW_THEN_STOP);
    CHECK_STATUS(pieces_messages_subscribe(client, on_event, &c, free_ctx, &c.sub), PIECES_STATUS_OK);
    CHECK(wait_until(&c, in_callback, WAIT_MS));
    struct freer f = {&c, 0};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, free_from_thread, &f) == 0);
    pthread_join(thread, NULL);
    CHECK(c.inner_status == PIECES_STATUS_OK);
    CHECK(c.closed == 1 && c.after_terminal == 0 && c.freed == 1 && c.freed_after_terminal);
    ctx_destroy(&c);
}

/* Freed right after subscribing, before any event: still exactly one terminal event and one free. */
static void test_free_at_once(pieces_client *client) {
    struct ctx c;
    ctx_init(&c, ACT_NONE);
    CHECK_STATUS(pieces_messages_subscribe(client, on_event, &c, free_ctx, &c.sub), PIECES_STATUS_OK);
    pieces_subscription_free(c.sub);
    CHECK(c.closed == 1 && c.errors == 0 && c.freed == 1 && c.freed_after_terminal);
    ctx_destroy(&c);
}

/* A subscription that never connects gives up after max_attempts with an error event. */
static void test_never_connected(const char *refused_url) {
    pieces_client *client = new_client(refused_url, "2");
    struct ctx c;
    ctx_init(&c, ACT_NONE);
    CHECK_STATUS(pieces_messages_subscribe(client, on_event, &c, free_ctx, &c.sub), PIECES_STATUS_OK);
    pieces_client_free(client); /* the subscription does not need the handle */
    CHECK(wait_until(&c, terminal, WAIT_MS));
    CHECK(wait_until(&c, freed, WAIT_MS));
    CHECK(c.connected == 0 && c.disconnected == 1 && c.errors == 1 && c.closed == 0);
    CHECK(c.error_was_connection);
    CHECK(c.freed == 1 && c.freed_after_terminal);
    pieces_subscription_free(c.sub);
    CHECK(c.freed == 1);
    ctx_destroy(&c);
}

/* When subscribe fails, userdata_free has run before it returns. */
static void test_subscribe_failure_frees(pieces_client *client) {
    struct ctx c;
    ctx_init(&c, ACT_NONE);
    CHECK_STATUS(pieces_messages_subscribe(client, on_event, &c, free_ctx, NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"out\""));
    CHECK(c.freed == 1);
    CHECK_STATUS(pieces_messages_subscribe(NULL, on_event, &c, free_ctx, &c.sub), PIECES_STATUS_NULL_PARAMETER);
    CHECK(c.freed == 2 && c.sub == NULL && c.events == 0);
    /* A NULL finaliser is allowed. */
    CHECK_STATUS(pieces_messages_subscribe(NULL, on_event, &c, NULL, &c.sub), PIECES_STATUS_NULL_PARAMETER);
    CHECK(c.freed == 2);
    ctx_destroy(&c);
}

int main(int argc, char **argv) {
    if (!usage_ok(argc, argv)) {
        return 2;
    }
    pieces_client *client = new_client(argv[1], "null");
    test_live(client);
    test_stop_inside(client);
    test_free_inside(client, ACT_FREE_ON_IDENTIFIERS);
    test_free_inside(client, ACT_FREE_ON_CLOSED);
    test_next_inside(client);
    test_free_from_other_thread(client);
    test_free_at_once(client);
    test_subscribe_failure_frees(client);
    pieces_client_free(client);
    test_never_connected(argv[2]);
    return finish("subscribe_callback.c");
}
