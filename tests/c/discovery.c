/*
 * Finding PiecesOS from C: a client made without base_url scans the ports of its `discovery` setting,
 * pieces_client_base_url() says where it found PiecesOS, PIECES_STATUS_NOT_RUNNING when it found
 * nothing, and pieces_client_check_version() with PIECES_STATUS_INCOMPATIBLE_VERSION.
 *
 * The scanned ranges are the single ports of the servers the runner started (never 39300-39399, where
 * anything may be listening on the machine that runs the tests), and the environment is ignored
 * (`use_environment: false`), so that PIECES_OS_URL or PIECES_OS_PORTS cannot change the outcome.
 *
 * Usage: discovery URL REFUSED_URL FAILING_URL
 *   URL          the stand-in server
 *   REFUSED_URL  a loopback port nothing listens on
 *   FAILING_URL  a stand-in server that answers every request with HTTP 500
 */
#include "harness.h"

static const char *url, *refused_url, *failing_url;

/* The port of an `http://127.0.0.1:PORT` URL. */
static int port_of(const char *base_url) {
    const char *colon = strrchr(base_url, ':');
    return colon ? atoi(colon + 1) : 0;
}

/* A client that scans the one port of `base_url`, with `extra` (a JSON member list or "") added. */
static pieces_client *scanning_client(const char *base_url, const char *extra) {
    char config[512];
    int port = port_of(base_url);
    snprintf(config, sizeof config,
             "{\"discovery\": {\"ports\": \"%d-%d\", \"use_environment\": false}%s%s}", port, port,
             extra[0] ? ", " : "", extra);
    pieces_client *client = NULL;
    CHECK_STATUS(pieces_client_new(config, &client), PIECES_STATUS_OK);
    CHECK(client != NULL);
    return client;
}

static void test_statuses_keep_their_numbers(void) {
    CHECK(PIECES_STATUS_NOT_RUNNING == 15);
    CHECK(PIECES_STATUS_INCOMPATIBLE_VERSION == 16);
}

static void test_found(void) {
    pieces_client *client = scanning_client(url, "");
    char *found = NULL;
    CHECK_STATUS(pieces_client_base_url(client, &found), PIECES_STATUS_OK);
    CHECK(found != NULL && strcmp(found, url) == 0);
    pieces_string_free(found);

    /* The requests go there too. */
    char *json = NULL;
    CHECK_STATUS(pieces_messages_snapshot(client, PIECES_TRANSFERABLES_EXCLUDE, &json), PIECES_STATUS_OK);
    CHECK(json != NULL && strstr(json, "\"iterable\"") != NULL);
    pieces_string_free(json);

    char *version = NULL;
    CHECK_STATUS(pieces_client_check_version(client, &version), PIECES_STATUS_OK);
    CHECK(version != NULL && strcmp(version, "12.1.0") == 0);
    pieces_string_free(version);
    /* Only the check, without the version text. */
    CHECK_STATUS(pieces_client_check_version(client, NULL), PIECES_STATUS_OK);
    pieces_client_free(client);
}

static void test_not_running(void) {
    char *sentinel = (char *)&sentinel;
    char *out = sentinel;
    char scanned[64];
    int port = port_of(refused_url);
    snprintf(scanned, sizeof scanned, "\"scanned\":\"%d-%d\"", port, port);

    pieces_client *client = scanning_client(refused_url, "");
    double started = now_ms();
    CHECK_STATUS(pieces_client_base_url(client, &out), PIECES_STATUS_NOT_RUNNING);
    CHECK(now_ms() - started < 2000.0);
    CHECK(out == sentinel); /* out-params only on success */
    CHECK(last_error_has("\"kind\":\"not_running\""));
    CHECK(last_error_has(scanned));
    CHECK(last_error_has("PiecesOS is not running"));
    /* Every request says the same, and nothing was cached: each call scans again. */
    CHECK_STATUS(pieces_messages_snapshot(client, PIECES_TRANSFERABLES_DEFAULT, &out),
                 PIECES_STATUS_NOT_RUNNING);
    CHECK_STATUS(pieces_client_check_version(client, &out), PIECES_STATUS_NOT_RUNNING);
    CHECK(out == sentinel);
    pieces_client_free(client);

    /* A server that answers its health check with 500 is not a running PiecesOS either. */
    client = scanning_client(failing_url, "");
    CHECK_STATUS(pieces_client_base_url(client, &out), PIECES_STATUS_NOT_RUNNING);
    pieces_client_free(client);
}

static void test_explicit_url_is_never_scanned(void) {
    char config[512];
    snprintf(config, sizeof config,
             "{\"base_url\": \"%s/\", \"discovery\": {\"ports\": \"%d-%d\", \"use_environment\": false}}",
             refused_url, port_of(url), port_of(url));
    pieces_client *client = NULL;
    CHECK_STATUS(pieces_client_new(config, &client), PIECES_STATUS_OK);
    char *found = NULL;
    CHECK_STATUS(pieces_client_base_url(client, &found), PIECES_STATUS_OK);
    CHECK(found != NULL && strcmp(found, refused_url) == 0); /* without the trailing slash */
    pieces_string_free(found);
    /* Nothing listens at the URL given: a connection error, not "not running". */
    CHECK_STATUS(pieces_client_check_version(client, NULL), PIECES_STATUS_CONNECTION);
    CHECK(last_error_has("\"kind\":\"connection\""));
    pieces_client_free(client);
}

static void test_incompatible_version(void) {
    char *sentinel = (char *)&sentinel;
    char *version = sentinel;

    /* PiecesOS 12.1.0 is too old for a client that needs 13. */
    pieces_client *client =
        scanning_client(url, "\"compatible_versions\": {\"at_least\": \"13.0.0\", \"below\": \"14.0.0\"}");
    CHECK_STATUS(pieces_client_check_version(client, &version), PIECES_STATUS_INCOMPATIBLE_VERSION);
    CHECK(version == sentinel);
    CHECK(last_error_has("\"kind\":\"incompatible_version\""));
    CHECK(last_error_has("\"found\":\"12.1.0\""));
    CHECK(last_error_has("\"required\":\">=13.0.0, <14.0.0\""));
    CHECK(last_error_has("\"update\":\"pieces-os\""));
    CHECK(last_error_has("update PiecesOS"));
    pieces_client_free(client);

    /* And too new for one that stops below 12. */
    client = scanning_client(url, "\"compatible_versions\": {\"at_least\": \"11.0.0\", \"below\": \"12.0.0\"}");
    CHECK_STATUS(pieces_client_check_version(client, NULL), PIECES_STATUS_INCOMPATIBLE_VERSION);
    CHECK(last_error_has("\"update\":\"client\""));
    CHECK(last_error_has("update pieces-os-client"));
    pieces_client_free(client);

    /* A range that accepts nothing is refused when the client is made. */
    pieces_client *refused = NULL;
    CHECK_STATUS(pieces_client_new("{\"compatible_versions\": {\"at_least\": \"2.0.0\", \"below\": \"1.0.0\"}}",
                                   &refused),
                 PIECES_STATUS_INVALID_ARGUMENT);
    CHECK(refused == NULL);
    CHECK_STATUS(pieces_client_new("{\"discovery\": {\"ports\": \"9-1\"}}", &refused),
                 PIECES_STATUS_INVALID_JSON);
    CHECK(refused == NULL);
}

static void test_null_parameters(void) {
    pieces_client *client = scanning_client(url, "");
    char *out = NULL;
    CHECK_STATUS(pieces_client_base_url(NULL, &out), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"client\""));
    CHECK_STATUS(pieces_client_base_url(client, NULL), PIECES_STATUS_NULL_PARAMETER);
    CHECK(last_error_has("\"argument\":\"out\""));
    CHECK_STATUS(pieces_client_check_version(NULL, &out), PIECES_STATUS_NULL_PARAMETER);
    CHECK(out == NULL);
    pieces_client_free(client);
}

/* Threads of one client that all need the URL at once share one scan and one answer. */
static pieces_client *shared_client;
static char shared_found[4][128];

static void *find_on_thread(void *slot) {
    char *found = NULL;
    CHECK_STATUS(pieces_client_base_url(shared_client, &found), PIECES_STATUS_OK);
    if (found != NULL) {
        snprintf(shared_found[(size_t)slot], sizeof shared_found[0], "%s", found);
        pieces_string_free(found);
    }
    return NULL;
}

static void test_threads_share_the_url(void) {
    shared_client = scanning_client(url, "");
    pthread_t threads[4];
    for (size_t i = 0; i < 4; i++) {
        CHECK(pthread_create(&threads[i], NULL, find_on_thread, (void *)i) == 0);
    }
    for (size_t i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(strcmp(shared_found[i], url) == 0);
    }
    pieces_client_free(shared_client);
}

int main(int argc, char **argv) {
    if (!usage_ok(argc, argv)) {
        return 2;
    }
    url = argv[1];
    refused_url = argv[2];
    failing_url = argv[3];
    test_statuses_keep_their_numbers();
    test_found();
    test_not_running();
    test_explicit_url_is_never_scanned();
    test_incompatible_version();
    test_null_parameters();
    test_threads_share_the_url();
    return finish("discovery.c");
}
