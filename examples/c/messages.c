/*
 * The C API in one short program: make a client, create a message, find it with a search and in a
 * snapshot, watch the identifier stream in pull mode, delete the message, and print errors the way the
 * library reports them.
 *
 *     scripts/install.sh --prefix "$HOME/.local"      (then see examples/c/Makefile for PKG_CONFIG_PATH)
 *     make -C examples/c                              (or LINK=static)
 *     examples/c/messages http://127.0.0.1:39300
 */
#include <stdio.h>
#include <string.h>

#include "pieces_os_client.h"

/* Prints a failed call's status and the library's last error (JSON), and says whether it failed. */
static int failed(const char *what, pieces_status status) {
    if (status == PIECES_STATUS_OK) return 0;
    const char *detail = pieces_last_error_json();
    fprintf(stderr, "%s failed with status %u: %s\n", what, (unsigned)status, detail ? detail : "");
    return 1;
}

/* How many elements the top-level "iterable" array of a JSON object has. */
static int count_iterable(const char *json) {
    const char *p = strstr(json, "\"iterable\"");
    if (p == NULL || (p = strchr(p, '[')) == NULL) return 0;
    int depth = 0, count = 0;
    for (; *p; p++) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1]) p++;
            if (!*p) break;
        } else if (*p == '[' || *p == '{') {
            if (depth++ == 1 && *p == '{') count++;
        } else if (*p == ']' || *p == '}') {
            if (--depth == 0) break;
        }
    }
    return count;
}

/* Copies the string value of the "id" key at the top level of a JSON object (a message's own id, not
 * its conversation's). A real program would use a JSON parser; ids are plain ASCII. */
static void top_level_id(const char *json, char *out, size_t size) {
    int depth = 0;
    out[0] = '\0';
    for (const char *p = json; *p; p++) {
        if (*p == '"') {
            const char *key = ++p;
            for (; *p && *p != '"'; p++)
                if (*p == '\\' && p[1]) p++;
            if (!*p) return;
            if (depth == 1 && p - key == 2 && strncmp(key, "id", 2) == 0 && strncmp(p, "\":\"", 3) == 0) {
                const char *value = p + 3;
                size_t n = 0;
                while (value[n] && value[n] != '"' && n + 1 < size) {
                    out[n] = value[n];
                    n++;
                }
                out[n] = '\0';
                return;
            }
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            depth--;
        }
    }
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:39300";
    char config[256];
    snprintf(config, sizeof config, "{\"base_url\": \"%s\", \"application_id\": \"c-example\"}", url);
    printf("pieces_os_client %s (header %s)\n", pieces_version(), PIECES_OS_CLIENT_VERSION);

    pieces_client *client = NULL;
    if (failed("pieces_client_new", pieces_client_new(config, &client))) return 1;

    /* Subscribe first (pull mode: no callback), so the change below shows up as an event. */
    pieces_subscription *subscription = NULL;
    if (failed("pieces_messages_subscribe",
               pieces_messages_subscribe(client, NULL, NULL, NULL, &subscription))) {
        pieces_client_free(client);
        return 1;
    }

    int status = 1;
    char *json = NULL;
    char id[128] = "";
    if (failed("pieces_messages_create",
               pieces_messages_create(client,
                                      "{\"role\": \"USER\", \"conversation\": {\"id\": \"c-example\"},"
                                      " \"fragment\": {\"string\": {\"raw\": \"Hello from C\"}}}",
                                      PIECES_TRANSFERABLES_DEFAULT, &json)))
        goto done;
    top_level_id(json, id, sizeof id);
    pieces_string_free(json);
    printf("created message %s\n", id);

    if (failed("pieces_messages_search",
               pieces_messages_search(client, "{\"engines\": {\"iterable\": [{\"query\": \"Hello from C\"}]}}",
                                      PIECES_TRANSFERABLES_EXCLUDE, &json)))
        goto done;
    printf("search: %d hit(s), ours %s\n", count_iterable(json), strstr(json, id) ? "among them" : "missing");
    pieces_string_free(json);

    if (failed("pieces_messages_snapshot", pieces_messages_snapshot(client, PIECES_TRANSFERABLES_EXCLUDE, &json)))
        goto done;
    printf("%d messages in the snapshot\n", count_iterable(json));
    pieces_string_free(json);

    /* A few events: connected, the full set of ids, our new message. At most 50 polls of 100 ms. */
    for (int i = 0, seen = 0; i < 50 && seen < 3; i++) {
        pieces_status next = pieces_subscription_next(subscription, 100, &json);
        if (next == PIECES_STATUS_NO_EVENT) continue;
        if (failed("pieces_subscription_next", next)) goto done;
        printf("event: %.100s%s\n", json, strlen(json) > 100 ? "..." : "");
        pieces_string_free(json);
        seen++;
    }

    if (failed("pieces_messages_delete", pieces_messages_delete(client, id))) goto done;
    printf("deleted message %s\n", id);
    /* Deleting it again fails: PiecesOS answers 500, and the last error says so. */
    pieces_status again = pieces_messages_delete(client, id);
    printf("deleting again: status %u, %s\n", (unsigned)again, pieces_last_error_json());
    status = again == PIECES_STATUS_HTTP_STATUS ? 0 : 1;

done:
    pieces_subscription_free(subscription); /* stops, joins the thread */
    pieces_client_free(client);
    return status;
}
