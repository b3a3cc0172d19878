/*
 * Two Rust static libraries in one C program: libpieces_os_client.a and another one built on its own
 * (tests/install/other_rust_staticlib). Each carries its own copy of Rust's standard library; the link
 * fails with "multiple definition" errors unless one of them keeps its Rust symbols to itself.
 * libpieces_os_client.a does: scripts/install.sh leaves only its pieces_* functions global.
 *
 * Usage: two_rust_staticlibs URL (a stand-in PiecesOS)
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pieces_os_client.h"

int64_t other_rust_distinct_words(const char *text);

int main(int argc, char **argv) {
    pieces_client *client = NULL;
    char *json = NULL;
    char config[512];
    int failed = 0;
    int64_t words;

    if (argc != 2 || strlen(argv[1]) > 400) {
        fprintf(stderr, "usage: %s URL\n", argv[0]);
        return 2;
    }
    sprintf(config, "{\"base_url\": \"%s\"}", argv[1]);

    words = other_rust_distinct_words("one two Two three");
    if (words != 3) {
        fprintf(stderr, "the other library counted %ld distinct words, not 3\n", (long)words);
        failed++;
    }
    if (pieces_client_new(config, &client) != PIECES_STATUS_OK ||
        pieces_messages_snapshot(client, PIECES_TRANSFERABLES_EXCLUDE, &json) != PIECES_STATUS_OK ||
        strstr(json, "\"iterable\"") == NULL) {
        fprintf(stderr, "snapshot failed: %s\n", pieces_last_error_json());
        failed++;
    }
    pieces_string_free(json);
    pieces_client_free(client);
    printf("two_rust_staticlibs: %d passed, %d failed\n", 2 - failed, failed);
    return failed == 0 ? 0 : 1;
}
