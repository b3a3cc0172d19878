/*
 * Mirrors from C: pull and callback modes; the first sync, then creates, updates and deletes as events
 * carrying the server's JSON; get and list while it runs (from the callback too); NOT_FOUND; server-side
 * WebSocket drops and the re-sync after them; stop from another thread during a blocking wait, stop and
 * free from inside the callback, free from another thread while the callback runs; every check at the
 * boundary; and userdata_free exactly once in every case.
 *
 * Usage: mirror URL REFUSED_URL FAILING_URL (the last one is not used here)
 * Prints "DROP cut" / "DROP close" when tests/c_api.rs should drop the server's WebSockets.
 */
#include "harness.h"

#define WAIT_MS 30000
#define MAX_EVENTS 1000

static const char *FAST = "{\"retry_initial_ms\": 10, \"retry_max_ms\": 100}";
/* Every change fetched by id: no snapshot (and so no "synced") but after a connection, so that the events
 * a test counts do not depend on what fetches and snapshots happened to cost. */
static const char *BY_ID = "{\"retry_initial_ms\": 10, \"retry_max_ms\": 100, \"snapshot_threshold\": 1000000}";

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

/* The message object inside an "added" or "updated" event: the text after `"message":`, without the
 * event's closing brace. Returns its length, or 0 when the event has no message. */
static size_t event_message(const char *event, size_t len, const char **message) {
    const char *at = strstr(event, "\"message\":");
    if (at == NULL || len < 2) return 0;
    *message = at + strlen("\"message\":");
    return (size_t)(event + len - 1 - *message);
}

/* The top-level "id" of the message inside an event. */
static bool event_message_id(const char *event, char *out, size_t size) {
    const char *message = NULL;
    if (event_message(event, strlen(event), &message) == 0) return false;
    return json_top_string(message, "id", out, size);
}

struct seen {
    int added, updated, removed, synced, stale, disconnected, closed, errors;
};

static void count(struct seen *seen, const char *event) {
    if (event_is(event, "added")) seen->added++;
    if (event_is(event, "updated")) seen->updated++;
    if (event_is(event, "removed")) seen->removed++;
    if (event_is(event, "synced")) seen->synced++;
    if (event_is(event, "stale")) seen->stale++;
    if (event_is(event, "disconnected")) seen->disconnected++;
    if (event_is(event, "closed")) seen->closed++;
    if (event_is(event, "error")) seen->errors++;
}

static pieces_status next_event(void *handle, int32_t timeout_ms, char **out_json) {
    return pieces_mirror_next(handle, timeout_ms, out_json);
}

static void count_event(void *seen, const char *event) {
    count(seen, event);
}

/* Takes events until one of `type` (containing `needle` when not NULL) arrives, at most WAIT_MS. */
static bool pull_until(pieces_mirror *m, struct seen *seen, const char *type, const char *needle) {
    return pull_until_event(next_event, m, count_event, seen, type, needle, WAIT_MS, MAX_EVENTS);
}

/* How many elements the JSON array `json` has (-1 when it is not an array). */
static int json_array_len(const char *json) {
    if (json[0] != '[') return -1;
    int depth = 0, elements = 0;
    bool in_string = false, empty = true;
    for (const char *p = json; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1]) p++;
            else if (*p == '"') in_string = false;
            continue;
        }
        if (*p == '"') in_string = true;
        if (*p == '[' || *p == '{') depth++;
        if (*p == ']' || *p == '}') depth--;
        if (depth == 1 && *p == ',') elements++;
        if (depth >= 1 && *p != '[' && *p != ' ' && p != json) empty = false;
    }
    return empty ? 0 : elements + 1;
}

static void *stop_later(void *m) {
    sleep_ms(200);
    CHECK_STATUS(pieces_mirror_stop(m), PIECES_STATUS_OK);
    return NULL;
}

static void test_pull(pieces_client *client) {
    struct userdata u = {pthread_self(), 0, false};
    struct seen seen = {0};
    pieces_mirror *m = NULL;
    char *json = NULL, *event = NULL;
    CHECK_STATUS(pieces_mirror_new(client, BY_ID, NULL, &u, free_userdata, &m), PIECES_STATUS_OK);
    CHECK(m != NULL);

    /* The first sync announces the five seeded messages, then says synced. */
    CHECK(pull_until(m, &seen, "synced", "\"count\":5"));
    CHECK(seen.added == 5 && seen.synced == 1);
    CHECK_STATUS(pieces_mirror_next(m, 0, &event), PIECES_STATUS_NO_EVENT);
    CHECK(last_error_has("\"kind\":\"no_event\""));
    CHECK_STATUS(pieces_mirror_list(m, NULL, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && json_array_len(json) == 5);
    pieces_string_free(json);

    /* A create: an "added" event with the message, which get then hands out byte for byte. */
    char seed[256], id[128] = "";
    make_seed(seed, sizeof seed, "c-mirror", "mirrored from C");
    json = NULL;
    CHECK_STATUS(pieces_messages_create(client, seed, 0, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && json_top_string(json, "id", id, sizeof id));
    pieces_string_free(json);
    CHECK(pull_until(m, &seen, "added", id));
    char *held = NULL, *served = NULL;
    CHECK_STATUS(pieces_mirror_get(m, id, &held), PIECES_STATUS_OK);
    CHECK_STATUS(pieces_messages_get(client, id, 0, &served), PIECES_STATUS_OK);
    CHECK(held != NULL && served != NULL && strcmp(held, served) == 0);
    CHECK(held != NULL && strstr(held, "mirrored from C") != NULL);
    pieces_string_free(served);

    /* One conversation in creation order; one the mirror does not know is empty. */
    json = NULL;
    CHECK_STATUS(pieces_mirror_list(m, "c-mirror", &json), PIECES_STATUS_OK);
    CHECK(json != NULL && held != NULL && json[0] == '[' && strncmp(json + 1, held, strlen(held)) == 0);
    pieces_string_free(json);
    json = NULL;
    CHECK_STATUS(pieces_mirror_list(m, "nobody", &json), PIECES_STATUS_OK);
    CHECK(json != NULL && strcmp(json, "[]") == 0);
    pieces_string_free(json);

    /* An update: an "updated" event with the new version. */
    char *changed = held ? replace_once(held, "mirrored from C", "changed from C") : NULL;
    CHECK(changed != NULL);
    if (changed != NULL) {
        json = NULL;
        CHECK_STATUS(pieces_messages_update(client, changed, 0, &json), PIECES_STATUS_OK);
        pieces_string_free(json);
        CHECK(pull_until(m, &seen, "updated", "changed from C"));
        json = NULL;
        CHECK_STATUS(pieces_mirror_get(m, id, &json), PIECES_STATUS_OK);
        CHECK(json != NULL && strstr(json, "changed from C") != NULL);
        pieces_string_free(json);
    }
    free(changed);
    pieces_string_free(held);

    /* Not held: NOT_FOUND, with the id. */
    json = NULL;
    CHECK_STATUS(pieces_mirror_get(m, "no-such-message", &json), PIECES_STATUS_NOT_FOUND);
    CHECK(json == NULL);
    CHECK(last_error_has("\"kind\":\"not_found\""));
    CHECK(last_error_has("no-such-message"));

    /* Drops without and with a Close frame: disconnected, then a sync that finds nothing changed. */
    int synced = seen.synced, added = seen.added;
    request_websocket_drop("cut");
    CHECK(pull_until(m, &seen, "disconnected", "\"retry_in_ms\":"));
    CHECK(pull_until(m, &seen, "synced", "\"count\":6"));
    request_websocket_drop("close");
    CHECK(pull_until(m, &seen, "disconnected", NULL));
    CHECK(pull_until(m, &seen, "synced", "\"count\":6"));
    CHECK(seen.synced == synced + 2 && seen.added == added);

    /* A delete: "removed" with the id, and the mirror no longer holds it. */
    CHECK_STATUS(pieces_messages_delete(client, id), PIECES_STATUS_OK);
    CHECK(pull_until(m, &seen, "removed", id));
    json = NULL;
    CHECK_STATUS(pieces_mirror_get(m, id, &json), PIECES_STATUS_NOT_FOUND);

    /* Another thread stops it while this one waits without a timeout. */
    pthread_t stopper;
    CHECK(pthread_create(&stopper, NULL, stop_later, m) == 0);
    bool closed = false;
    for (int i = 0; i < MAX_EVENTS && !closed; i++) {
        event = NULL;
        pieces_status status = pieces_mirror_next(m, -1, &event);
        CHECK(status == PIECES_STATUS_OK);
        if (status != PIECES_STATUS_OK) break;
        CHECK(u.freed == 0 || event_is(event, "closed"));
        closed = event_is(event, "closed");
        pieces_string_free(event);
    }
    pthread_join(stopper, NULL);
    CHECK(closed);
    CHECK(u.freed == 1 && u.freed_on_owner);
    event = NULL;
    CHECK_STATUS(pieces_mirror_next(m, 0, &event), PIECES_STATUS_CLOSED);
    CHECK_STATUS(pieces_mirror_next(m, -1, &event), PIECES_STATUS_CLOSED);
    CHECK(event == NULL);
    /* Still readable until the free. */
    json = NULL;
    CHECK_STATUS(pieces_mirror_list(m, NULL, &json), PIECES_STATUS_OK);
    pieces_string_free(json);
    CHECK_STATUS(pieces_mirror_stop(m), PIECES_STATUS_OK);
    pieces_mirror_free(m);
    CHECK(u.freed == 1);
}

enum action { ACT_NONE, ACT_READ_THEN_STOP, ACT_FREE_ON_SYNCED, ACT_NEXT_ON_SYNCED, ACT_SLOW_ON_SYNCED };

struct ctx {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pieces_mirror *m; /* written by pieces_mirror_new before the first callback */
    enum action action;
    struct seen seen;
    int events, after_terminal, freed, reads_ok, reads_bad;
    bool terminal, len_ok, freed_after_terminal, acted;
    pieces_status inner_status;
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
    if (strlen(event) != len) c->len_ok = false;
    if (c->terminal) c->after_terminal++;
    c->events++;
    count(&c->seen, event);
    if (event_is(event, "closed") || event_is(event, "error")) c->terminal = true;
    bool synced = event_is(event, "synced");
    bool act = !c->acted && c->action != ACT_NONE &&
               (synced || (c->action == ACT_READ_THEN_STOP && event_is(event, "added")));
    if (act && (c->action != ACT_READ_THEN_STOP || synced)) c->acted = true;
    pieces_mirror *m = c->m;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);

    /* Calls into the library are made without holding our own lock. */
    if (!act) return;
    pieces_status status = PIECES_STATUS_OK;
    char *json = NULL;
    switch (c->action) {
    case ACT_READ_THEN_STOP:
        if (!synced) {
            /* The state is applied before its event: get finds the message, byte for byte. */
            char id[128] = "";
            const char *message = NULL;
            size_t message_len = event_message(event, len, &message);
            bool ok = event_message_id(event, id, sizeof id) &&
                      pieces_mirror_get(m, id, &json) == PIECES_STATUS_OK && strlen(json) == message_len &&
                      memcmp(json, message, message_len) == 0;
            pieces_string_free(json);
            pthread_mutex_lock(&c->lock);
            if (ok) c->reads_ok++; else c->reads_bad++;
            pthread_mutex_unlock(&c->lock);
            return;
        }
        json = NULL;
        CHECK_STATUS(pieces_mirror_list(m, NULL, &json), PIECES_STATUS_OK);
        pieces_string_free(json);
        status = pieces_mirror_stop(m);
        break;
    case ACT_FREE_ON_SYNCED:
        pieces_mirror_free(m);
        break;
    case ACT_NEXT_ON_SYNCED:
        status = pieces_mirror_next(m, 0, &json);
        CHECK(json == NULL);
        CHECK(last_error_has("\"kind\":\"in_callback\""));
        CHECK_STATUS(pieces_mirror_stop(m), PIECES_STATUS_OK);
        break;
    case ACT_SLOW_ON_SYNCED:
        sleep_ms(300);
        /* Another thread is in pieces_mirror_free meanwhile: stop and reads stay allowed. */
        status = pieces_mirror_stop(m);
        json = NULL;
        CHECK_STATUS(pieces_mirror_list(m, NULL, &json), PIECES_STATUS_OK);
        pieces_string_free(json);
        break;
    case ACT_NONE:
        break;
    }
    pthread_mutex_lock(&c->lock);
    c->inner_status = status;
    pthread_mutex_unlock(&c->lock);
}

static void on_free(void *userdata) {
    struct ctx *c = userdata;
    pthread_mutex_lock(&c->lock);
    c->freed++;
    c->freed_after_terminal = c->terminal;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

/* Waits until the finaliser has run (or WAIT_MS passed). */
static bool wait_freed(struct ctx *c) {
    struct timespec deadline = deadline_in(WAIT_MS);
    pthread_mutex_lock(&c->lock);
    while (c->freed == 0) {
        if (pthread_cond_timedwait(&c->changed, &c->lock, &deadline) != 0) break;
    }
    bool freed = c->freed > 0;
    pthread_mutex_unlock(&c->lock);
    return freed;
}

static void run_callback(pieces_client *client, enum action action) {
    struct ctx c;
    ctx_init(&c, action);
    CHECK_STATUS(pieces_mirror_new(client, FAST, on_event, &c, on_free, &c.m), PIECES_STATUS_OK);
    if (action == ACT_SLOW_ON_SYNCED) {
        /* Free from here while the callback sleeps in its synced event. */
        struct timespec deadline = deadline_in(WAIT_MS);
        pthread_mutex_lock(&c.lock);
        while (c.seen.synced == 0 && pthread_cond_timedwait(&c.changed, &c.lock, &deadline) == 0) {
        }
        pthread_mutex_unlock(&c.lock);
        sleep_ms(50);
        pieces_mirror_free(c.m);
        /* Returned after the thread ended: everything has happened. */
        CHECK(c.freed == 1 && c.seen.closed == 1);
    } else {
        CHECK(wait_freed(&c));
        if (action != ACT_FREE_ON_SYNCED) pieces_mirror_free(c.m);
    }
    CHECK(c.freed == 1);
    CHECK(c.freed_after_terminal);
    CHECK(c.seen.closed == 1 && c.seen.errors == 0);
    CHECK(c.after_terminal == 0);
    CHECK(c.len_ok);
    CHECK(c.seen.synced >= 1);
    if (action == ACT_READ_THEN_STOP) {
        CHECK(c.reads_ok >= 5 && c.reads_bad == 0);
        CHECK(c.inner_status == PIECES_STATUS_OK);
    }
    if (action == ACT_NEXT_ON_SYNCED) CHECK(c.inner_status == PIECES_STATUS_IN_CALLBACK);
    if (action == ACT_SLOW_ON_SYNCED) CHECK(c.inner_status == PIECES_STATUS_OK);
    ctx_destroy(&c);
}

/* Never connected: after max_attempts the terminal error event; the userdata is freed by that call. */
static void test_never_connected(const char *refused_url) {
    pieces_client *client = new_client(refused_url, "2");
    struct userdata u = {pthread_self(), 0, false};
    struct seen seen = {0};
    pieces_mirror *m = NULL;
    CHECK_STATUS(pieces_mirror_new(client, NULL, NULL, &u, free_userdata, &m), PIECES_STATUS_OK);
    CHECK(pull_until(m, &seen, "error", "\"kind\":\"connection\""));
    CHECK(seen.disconnected == 1 && seen.errors == 1 && seen.synced == 0);
    CHECK(u.freed == 1 && u.freed_on_owner);
    char *event = NULL;
    CHECK_STATUS(pieces_mirror_next(m, 100, &event), PIECES_STATUS_CLOSED);
    pieces_mirror_free(m);
    pieces_client_free(client);
    CHECK(u.freed == 1);
}

static void test_bad_input(pieces_client *client) {
    struct userdata u = {pthread_self(), 0, false};
    pieces_mirror *sentinel = (pieces_mirror *)&sentinel;
    pieces_mirror *m = sentinel;
    CHECK_STATUS(pieces_mirror_new(NULL, NULL, NULL, &u, free_userdata, &m), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"client\""));
    CHECK_STATUS(pieces_mirror_new(client, NULL, NULL, &u, free_userdata, NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"out\""));
    CHECK_STATUS(pieces_mirror_new(client, "{\"transferables\": \"yes\"}", NULL, &u, free_userdata, &m),
                 PIECES_STATUS_INVALID_JSON);
    CHECK(last_error_has("\"argument\":\"options\""));
    CHECK_STATUS(pieces_mirror_new(client, "{\"snapshot_treshold\": 3}", on_event, &u, free_userdata, &m),
                 PIECES_STATUS_INVALID_JSON);
    CHECK(last_error_has("snapshot_treshold"));
    CHECK_STATUS(pieces_mirror_new(client, "{\"retry_initial_ms\": 0}", NULL, &u, free_userdata, &m),
                 PIECES_STATUS_INVALID_ARGUMENT);
    CHECK(last_error_has("\"argument\":\"options.retry_initial_ms\""));
    CHECK_STATUS(pieces_mirror_new(client, "{\"x\": \"\xff\"}", NULL, &u, free_userdata, &m),
                 PIECES_STATUS_INVALID_UTF8);
    CHECK(m == sentinel); /* never written on failure */
    CHECK(u.freed == 6 && u.freed_on_owner); /* each failing call freed the userdata before returning */

    char *json = NULL;
    CHECK_STATUS(pieces_mirror_next(NULL, 0, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_mirror_get(NULL, "x", &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_mirror_list(NULL, NULL, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_mirror_stop(NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"m\""));
    pieces_mirror_free(NULL);

    /* A callback-mode mirror has no pull side; its reads check their pointers. */
    struct ctx c;
    ctx_init(&c, ACT_NONE);
    CHECK_STATUS(pieces_mirror_new(client, NULL, on_event, &c, on_free, &c.m), PIECES_STATUS_OK);
    CHECK_STATUS(pieces_mirror_next(c.m, 0, &json), PIECES_STATUS_INVALID_ARGUMENT);
    CHECK(last_error_has("callback-mode"));
    CHECK_STATUS(pieces_mirror_get(c.m, NULL, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"message_id\""));
    CHECK_STATUS(pieces_mirror_get(c.m, "x", NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_mirror_get(c.m, "\xc3\x28", &json), PIECES_STATUS_INVALID_UTF8);
    CHECK_STATUS(pieces_mirror_list(c.m, NULL, NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_mirror_list(c.m, "\xfe", &json), PIECES_STATUS_INVALID_UTF8);
    CHECK(json == NULL);
    pieces_mirror_free(c.m);
    CHECK(c.freed == 1 && c.seen.closed == 1);
    ctx_destroy(&c);
}

int main(int argc, char **argv) {
    if (!usage_ok(argc, argv)) {
        return 2;
    }
    pieces_client *client = new_client(argv[1], "null");
    test_bad_input(client);
    test_pull(client);
    run_callback(client, ACT_READ_THEN_STOP);
    run_callback(client, ACT_FREE_ON_SYNCED);
    run_callback(client, ACT_NEXT_ON_SYNCED);
    run_callback(client, ACT_SLOW_ON_SYNCED);
    pieces_client_free(client);
    test_never_connected(argv[2]);
    return finish("mirror.c");
}
