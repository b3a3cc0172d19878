/*
 * A control, not a test of the library: it leaks one string the library returned, on purpose, so that
 * tests/c_api.rs can show that AddressSanitizer (LeakSanitizer) and Valgrind, run exactly as they are
 * on the programs of tests/c/, do see a leak of library-allocated memory. Were they blind, the clean runs would
 * prove nothing.
 *
 * Usage: leaks_a_string URL
 */
#include <stdio.h>

#include "pieces_os_client.h"

/* Takes a snapshot and drops the only pointer to it when the frame ends. */
static int leak(const pieces_client *client) {
    char *json = NULL;
    return pieces_messages_snapshot(client, PIECES_TRANSFERABLES_DEFAULT, &json) == PIECES_STATUS_OK;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char config[256];
    snprintf(config, sizeof config, "{\"base_url\": \"%s\"}", argv[1]);
    pieces_client *client = NULL;
    if (pieces_client_new(config, &client) != PIECES_STATUS_OK) return 3;
    int leaked = leak(client);
    pieces_client_free(client);
    printf("leaked %d string(s)\n", leaked);
    fflush(stdout); /* before the leak checker ends the process at exit */
    return leaked == 1 ? 0 : 4;
}
