/*
 * The HTTP endpoints of the C API (one message's get and update included), and every check at the
 * boundary: NULL parameters, invalid UTF-8, invalid JSON, out-of-range transferables, a refused
 * connection, an HTTP 500, PiecesOS's 410 (NOT_FOUND), the last error, and one client used from several
 * threads at once.
 *
 * Usage: endpoints URL REFUSED_URL FAILING_URL
 *   URL          the stand-in server
 *   REFUSED_URL  a loopback port nothing listens on
 *   FAILING_URL  a stand-in server that answers every request with HTTP 500
 */
#include "harness.h"

static const char *url;

static pieces_client *new_client(const char *base_url) {
    char config[512];
    snprintf(config, sizeof config,
             "{\"base_url\": \"%s\", \"application_id\": \"c-tests\", \"connect_timeout_ms\": 5000,"
             " \"request_timeout_ms\": 30000}",
             base_url);
    pieces_client *client = NULL;
    CHECK_STATUS(pieces_client_new(config, &client), PIECES_STATUS_OK);
    CHECK(client != NULL);
    return client;
}

static void test_version(void) {
    CHECK(pieces_version() != NULL);
    CHECK(strcmp(pieces_version(), PIECES_OS_CLIENT_VERSION) == 0);
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", PIECES_OS_CLIENT_VERSION_MAJOR,
             PIECES_OS_CLIENT_VERSION_MINOR, PIECES_OS_CLIENT_VERSION_PATCH);
    CHECK(strcmp(expected, PIECES_OS_CLIENT_VERSION) == 0);
}

static void test_client_new(void) {
    pieces_client *sentinel = (pieces_client *)&sentinel;
    pieces_client *client = sentinel;

    /* NULL config: every default. */
    CHECK_STATUS(pieces_client_new(NULL, &client), PIECES_STATUS_OK);
    CHECK(client != sentinel && client != NULL);
    pieces_client_free(client);

    CHECK_STATUS(pieces_client_new("{}", NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"out\""));
    CHECK(last_error_has("\"kind\":\"null_parameter\""));

    client = sentinel;
    CHECK_STATUS(pieces_client_new("{\"base_url\": \"http://127.0.0.1:1\", \"bse_url\": 1}", &client),
                 PIECES_STATUS_INVALID_JSON);
    CHECK(client == sentinel); /* out-params only on success */
    CHECK(last_error_has("bse_url"));
    CHECK(last_error_has("\"line\":1"));
    CHECK(last_error_has("\"column\":"));

    CHECK_STATUS(pieces_client_new("{\"base_url\": ", &client), PIECES_STATUS_INVALID_JSON);
    CHECK_STATUS(pieces_client_new("[1, 2]", &client), PIECES_STATUS_INVALID_JSON);
    CHECK_STATUS(pieces_client_new("{\"base_url\": \"ftp://127.0.0.1\"}", &client),
                 PIECES_STATUS_INVALID_ARGUMENT);
    CHECK(last_error_has("\"argument\":\"base_url\""));
    CHECK_STATUS(pieces_client_new("{\"application_id\": \"a\\r\\nX-Evil: 1\"}", &client),
                 PIECES_STATUS_INVALID_ARGUMENT);
    CHECK(last_error_has("application_id"));
    CHECK_STATUS(pieces_client_new("{\"base_url\": \"http://127.0.0.1:1/\xff\"}", &client),
                 PIECES_STATUS_INVALID_UTF8);
    CHECK(last_error_has("\"argument\":\"config_json\""));
    CHECK(client == sentinel);

    /* A success leaves the last error as it was (documented: successes do not clear it). */
    CHECK_STATUS(pieces_client_new(NULL, &client), PIECES_STATUS_OK);
    CHECK(last_error_has("config_json"));
    pieces_client_free(client);
}

static void test_endpoints(pieces_client *client) {
    char *json = NULL;
    char id[128] = "";
    char seed[512];

    /* Snapshot, three ways. */
    CHECK_STATUS(pieces_messages_snapshot(client, PIECES_TRANSFERABLES_DEFAULT, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && strstr(json, "\"iterable\"") != NULL);
    pieces_string_free(json);
    json = NULL;
    CHECK_STATUS(pieces_messages_snapshot(client, PIECES_TRANSFERABLES_INCLUDE, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && strstr(json, "\"iterable\"") != NULL);
    pieces_string_free(json);
    json = NULL;
    CHECK_STATUS(pieces_messages_snapshot(client, PIECES_TRANSFERABLES_EXCLUDE, &json), PIECES_STATUS_OK);
    CHECK(json != NULL);
    pieces_string_free(json);

    /* Create, then find it in a snapshot and a search, then delete it. */
    make_seed(seed, sizeof seed, "c-conversation", "zebracorn from C");
    json = NULL;
    CHECK_STATUS(pieces_messages_create(client, seed, PIECES_TRANSFERABLES_INCLUDE, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && json_top_string(json, "id", id, sizeof id));
    CHECK(strstr(json, "zebracorn from C") != NULL);
    CHECK(strstr(json, "c-conversation") != NULL);
    pieces_string_free(json);

    json = NULL;
    CHECK_STATUS(pieces_messages_snapshot(client, PIECES_TRANSFERABLES_DEFAULT, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && strstr(json, id) != NULL);
    pieces_string_free(json);

    json = NULL;
    CHECK_STATUS(pieces_messages_search(client, "{\"engines\": {\"iterable\": [{\"query\": \"zebracorn\"}]}}",
                                        PIECES_TRANSFERABLES_DEFAULT, &json),
                 PIECES_STATUS_OK);
    CHECK(json != NULL && strstr(json, id) != NULL);
    pieces_string_free(json);

    /* EXCLUDE leaves the content out. */
    char excluded_id[128] = "";
    make_seed(seed, sizeof seed, "c-conversation", "lightweight unicornfish");
    json = NULL;
    CHECK_STATUS(pieces_messages_create(client, seed, PIECES_TRANSFERABLES_EXCLUDE, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && json_top_string(json, "id", excluded_id, sizeof excluded_id));
    CHECK(json != NULL && strstr(json, "unicornfish") == NULL);
    pieces_string_free(json);
    CHECK_STATUS(pieces_messages_delete(client, excluded_id), PIECES_STATUS_OK);

    CHECK_STATUS(pieces_messages_delete(client, id), PIECES_STATUS_OK);
    /* An id the server does not know: HTTP 500 with PiecesOS's text body. */
    CHECK_STATUS(pieces_messages_delete(client, id), PIECES_STATUS_HTTP_STATUS);
    CHECK(last_error_has("\"status\":500"));
    CHECK(last_error_has("\"body\":"));
    CHECK(last_error_has("\"kind\":\"http_status\""));
    /* An id cannot leave its path segment. */
    CHECK_STATUS(pieces_messages_delete(client, "a/../b?x#y"), PIECES_STATUS_HTTP_STATUS);
    CHECK_STATUS(pieces_messages_delete(client, ""), PIECES_STATUS_INVALID_ARGUMENT);
    CHECK(last_error_has("\"argument\":\"message_id\""));

    /* A seed the server refuses (no conversation): 500, passed through. */
    json = NULL;
    CHECK_STATUS(pieces_messages_create(client, "{\"role\": \"USER\", \"fragment\": {\"string\": {\"raw\": \"x\"}}}",
                                        PIECES_TRANSFERABLES_DEFAULT, &json),
                 PIECES_STATUS_HTTP_STATUS);
    CHECK(json == NULL);
    CHECK(last_error_has("\"status\":500"));
}

static void test_one_message(pieces_client *client) {
    char id[128] = "", *json = NULL;
    const char *seed = "{\"role\": \"USER\", \"conversation\": {\"id\": \"c-one\"}, \"x_kept\": {\"deep\": [1, 2.5]},"
                       " \"fragment\": {\"string\": {\"raw\": \"first words\"}}}";
    CHECK_STATUS(pieces_messages_create(client, seed, PIECES_TRANSFERABLES_DEFAULT, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && json_top_string(json, "id", id, sizeof id));
    pieces_string_free(json);

    /* Get: the same message, with or without its content. */
    json = NULL;
    CHECK_STATUS(pieces_messages_get(client, id, PIECES_TRANSFERABLES_DEFAULT, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && strstr(json, "first words") != NULL && strstr(json, "x_kept") != NULL);
    char *fetched = json;
    json = NULL;
    CHECK_STATUS(pieces_messages_get(client, id, PIECES_TRANSFERABLES_EXCLUDE, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && strstr(json, "first words") == NULL && strstr(json, id) != NULL);
    pieces_string_free(json);

    /* Update: one field changed, every other key kept (x_kept is typed by no model). */
    char *changed = fetched ? replace_once(fetched, "first words", "second words") : NULL;
    CHECK(changed != NULL);
    json = NULL;
    if (changed != NULL) {
        CHECK_STATUS(pieces_messages_update(client, changed, PIECES_TRANSFERABLES_DEFAULT, &json), PIECES_STATUS_OK);
        CHECK(json != NULL && strstr(json, "second words") != NULL);
        /* Byte for byte as it was sent, spacing included. */
        CHECK(json != NULL && strstr(json, "\"x_kept\":{\"deep\": [1, 2.5]}") != NULL);
        pieces_string_free(json);
    }
    json = NULL;
    CHECK_STATUS(pieces_messages_get(client, id, PIECES_TRANSFERABLES_INCLUDE, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && strstr(json, "second words") != NULL && strstr(json, "first words") == NULL);
    pieces_string_free(json);

    /* Gone: PiecesOS answers 410, which is NOT_FOUND with the id; an update of it is a 500. */
    CHECK_STATUS(pieces_messages_delete(client, id), PIECES_STATUS_OK);
    json = NULL;
    CHECK_STATUS(pieces_messages_get(client, id, PIECES_TRANSFERABLES_DEFAULT, &json), PIECES_STATUS_NOT_FOUND);
    CHECK(json == NULL);
    CHECK(last_error_has("\"kind\":\"not_found\""));
    CHECK(last_error_has("\"status\":410"));
    CHECK(last_error_has(id));
    if (changed != NULL) {
        CHECK_STATUS(pieces_messages_update(client, changed, PIECES_TRANSFERABLES_DEFAULT, &json),
                     PIECES_STATUS_HTTP_STATUS);
        CHECK(last_error_has("\"status\":500"));
    }
    CHECK_STATUS(pieces_messages_get(client, "a/../b?x#y", 0, &json), PIECES_STATUS_NOT_FOUND);

    /* Bad input, refused before anything is sent. */
    CHECK_STATUS(pieces_messages_get(NULL, id, 0, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_messages_get(client, NULL, 0, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"message_id\""));
    CHECK_STATUS(pieces_messages_get(client, id, 0, NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_messages_get(client, "", 0, &json), PIECES_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pieces_messages_get(client, id, 3, &json), PIECES_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pieces_messages_get(client, "id-\x80", 0, &json), PIECES_STATUS_INVALID_UTF8);
    CHECK_STATUS(pieces_messages_update(client, NULL, 0, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"message_json\""));
    CHECK_STATUS(pieces_messages_update(client, "{\"id\": \"x\", \"role\": \"USER\"}", 0, &json),
                 PIECES_STATUS_INVALID_JSON);
    CHECK(last_error_has("\"argument\":\"message\""));
    CHECK(last_error_has("missing field"));
    CHECK(json == NULL);
    free(changed);
    pieces_string_free(fetched);
}

static void test_bad_input(pieces_client *client) {
    char *sentinel = (char *)&sentinel;
    char *json = sentinel;
    char seed[256];
    make_seed(seed, sizeof seed, "c", "x");

    /* NULL parameters, each named. */
    CHECK_STATUS(pieces_messages_snapshot(NULL, 0, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"client\""));
    CHECK_STATUS(pieces_messages_snapshot(client, 0, NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"out_json\""));
    CHECK_STATUS(pieces_messages_create(NULL, seed, 0, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_messages_create(client, NULL, 0, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"seed_json\""));
    CHECK_STATUS(pieces_messages_create(client, seed, 0, NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_messages_delete(NULL, "id"), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_messages_delete(client, NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"message_id\""));
    CHECK_STATUS(pieces_messages_search(NULL, "{}", 0, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_messages_search(client, NULL, 0, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"search_input_json\""));
    CHECK_STATUS(pieces_messages_search(client, "{}", 0, NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_messages_subscribe(NULL, NULL, NULL, NULL, NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_subscription_next(NULL, 0, &json), PIECES_STATUS_NULL_PARAMETER);
    CHECK_STATUS(pieces_subscription_stop(NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"s\""));

    /* Out-of-range transferables: refused, never undefined behaviour. */
    CHECK_STATUS(pieces_messages_snapshot(client, 3, &json), PIECES_STATUS_INVALID_ARGUMENT);
    CHECK(last_error_has("\"argument\":\"transferables\""));
    CHECK_STATUS(pieces_messages_snapshot(client, (pieces_transferables)-1, &json), PIECES_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pieces_messages_create(client, seed, 42, &json), PIECES_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(pieces_messages_search(client, "{\"engines\": {\"iterable\": []}}", 0x80000000u, &json),
                 PIECES_STATUS_INVALID_ARGUMENT);

    /* Invalid UTF-8. */
    CHECK_STATUS(pieces_messages_create(client, "{\"role\": \"\xc3\x28\"}", 0, &json), PIECES_STATUS_INVALID_UTF8);
    CHECK(last_error_has("\"offset\":10"));
    CHECK_STATUS(pieces_messages_search(client, "\xfe", 0, &json), PIECES_STATUS_INVALID_UTF8);
    CHECK_STATUS(pieces_messages_delete(client, "id-\x80"), PIECES_STATUS_INVALID_UTF8);

    /* Invalid JSON, with its position; nothing is sent. */
    CHECK_STATUS(pieces_messages_create(client, "{\"role\": \"USER\",\n  \"fragment\": 7}", 0, &json),
                 PIECES_STATUS_INVALID_JSON);
    CHECK(last_error_has("\"line\":2"));
    CHECK(last_error_has("\"argument\":\"seed\""));
    CHECK_STATUS(pieces_messages_create(client, "not json", 0, &json), PIECES_STATUS_INVALID_JSON);
    CHECK_STATUS(pieces_messages_search(client, "{\"engines\": 3}", 0, &json), PIECES_STATUS_INVALID_JSON);
    CHECK(last_error_has("\"argument\":\"search_input\""));

    CHECK(json == sentinel); /* never written on failure */

    /* Every free accepts NULL. */
    pieces_client_free(NULL);
    pieces_string_free(NULL);
    pieces_subscription_free(NULL);
}

static void test_unreachable(const char *refused_url, const char *failing_url) {
    char *json = NULL;
    pieces_client *refused = new_client(refused_url);
    CHECK_STATUS(pieces_messages_snapshot(refused, 0, &json), PIECES_STATUS_CONNECTION);
    CHECK(json == NULL);
    pieces_string_free(json); /* NULL unless the check above failed */
    json = NULL;
    CHECK(last_error_has("\"kind\":\"connection\""));
    CHECK(last_error_has(refused_url));
    CHECK_STATUS(pieces_messages_delete(refused, "x"), PIECES_STATUS_CONNECTION);
    pieces_client_free(refused);

    pieces_client *failing = new_client(failing_url);
    CHECK_STATUS(pieces_messages_snapshot(failing, 0, &json), PIECES_STATUS_HTTP_STATUS);
    CHECK(last_error_has("\"status\":500"));
    CHECK(last_error_has("\"endpoint\":\"messages_snapshot\""));
    CHECK(json == NULL);
    pieces_string_free(json);
    pieces_client_free(failing);
}

/* One client, several threads at once. */
struct worker {
    pieces_client *client;
    int index;
    int ok;
};

static void *work(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < 5; i++) {
        char seed[256], text[64], id[128];
        snprintf(text, sizeof text, "thread %d message %d", w->index, i);
        make_seed(seed, sizeof seed, "threads", text);
        char *json = NULL;
        if (pieces_messages_create(w->client, seed, PIECES_TRANSFERABLES_DEFAULT, &json) != PIECES_STATUS_OK) continue;
        bool have_id = json_top_string(json, "id", id, sizeof id);
        pieces_string_free(json);
        json = NULL;
        if (!have_id) continue;
        if (pieces_messages_snapshot(w->client, PIECES_TRANSFERABLES_EXCLUDE, &json) != PIECES_STATUS_OK) continue;
        bool found = strstr(json, id) != NULL;
        pieces_string_free(json);
        if (found && pieces_messages_delete(w->client, id) == PIECES_STATUS_OK) w->ok++;
    }
    /* The last error is per thread: this thread never failed. */
    CHECK(pieces_last_error_json() == NULL);
    return NULL;
}

static void test_threads(pieces_client *client) {
    enum { THREADS = 4 };
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){client, i, 0};
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].ok == 5);
    }
}

int main(int argc, char **argv) {
    if (!usage_ok(argc, argv)) {
        return 2;
    }
    url = argv[1];
    test_version();
    test_client_new();
    pieces_client *client = new_client(url);
    test_endpoints(client);
    test_one_message(client);
    test_bad_input(client);
    test_threads(client);
    pieces_client_free(client);
    test_unreachable(argv[2], argv[3]);
    return finish("endpoints.c");
}
