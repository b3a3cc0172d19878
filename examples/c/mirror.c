/*
 * A mirror from C, the way an editor plugin keeps a conversation panel current: a pull-mode mirror (no
 * callback on a foreign thread), polled from the program's own loop; each added or updated message
 * arrives with its content, and the panel reads one conversation back from the mirror, with no request.
 *
 *     cargo build --release
 *     make -C examples/c
 *     examples/c/mirror http://127.0.0.1:39300
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

/* The event's type, from `{"type":"…"`: events are written with their type first. */
static void event_type(const char *event, char *out, size_t size) {
    const char *start = event + strlen("{\"type\":\"");
    size_t n = 0;
    while (start[n] && start[n] != '"' && n + 1 < size) {
        out[n] = start[n];
        n++;
    }
    out[n] = '\0';
}

/* Takes events for up to `wait_ms`, printing each, until one contains `needle` (NULL: until none is
 * left). Returns whether it was found. */
static int pump(pieces_mirror *mirror, int wait_ms, const char *needle) {
    for (;;) {
        char *event = NULL;
        pieces_status status = pieces_mirror_next(mirror, wait_ms, &event);
        if (status == PIECES_STATUS_NO_EVENT || status == PIECES_STATUS_CLOSED) return 0;
        if (failed("pieces_mirror_next", status)) return 0;
        char type[32];
        event_type(event, type, sizeof type);
        if (strcmp(type, "added") == 0 || strcmp(type, "updated") == 0) {
            /* A real plugin parses the message JSON and updates its panel. */
            printf("%-8s %.100s…\n", type, strstr(event, "\"message\":") + 10);
        } else {
            printf("%-8s %s\n", type, event);
        }
        int found = needle != NULL && strstr(event, needle) != NULL;
        pieces_string_free(event);
        if (found) return 1;
    }
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:39300";
    char config[512];
    snprintf(config, sizeof config, "{\"base_url\": \"%s\"}", url);
    pieces_client *client = NULL;
    if (failed("pieces_client_new", pieces_client_new(config, &client))) return 1;

    /* No "added" event per message already there: the first sync only says how many it holds. */
    pieces_mirror *mirror = NULL;
    if (failed("pieces_mirror_new",
               pieces_mirror_new(client, "{\"announce_initial\": false}", NULL, NULL, NULL, &mirror))) {
        pieces_client_free(client);
        return 1;
    }
    int ok = pump(mirror, 5000, "\"type\":\"synced\"");

    /* A new message arrives as an event with its content, once the mirror holds it. */
    const char *seed = "{\"role\": \"USER\", \"conversation\": {\"id\": \"c-example\"},"
                       " \"fragment\": {\"string\": {\"raw\": \"Hello from the C mirror example\"}}}";
    char *created = NULL;
    ok = ok && !failed("pieces_messages_create", pieces_messages_create(client, seed, 0, &created));
    ok = ok && pump(mirror, 5000, "Hello from the C mirror example");
    pieces_string_free(created);

    /* The panel reads its conversation back from the mirror: no request, the server's JSON as it came. */
    char *conversation = NULL;
    if (ok && !failed("pieces_mirror_list", pieces_mirror_list(mirror, "c-example", &conversation))) {
        printf("the conversation as the mirror holds it: %s\n", conversation);
        pieces_string_free(conversation);
    }

    /* Stop, take the events left up to the terminal one, and free. */
    failed("pieces_mirror_stop", pieces_mirror_stop(mirror));
    pump(mirror, 5000, NULL);
    pieces_mirror_free(mirror);
    pieces_client_free(client);
    printf(ok ? "mirror example done\n" : "mirror example failed\n");
    return ok ? 0 : 1;
}
