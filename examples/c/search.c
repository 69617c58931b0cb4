/* Search a leann-edge index from C: open, search (structs and JSON), add, remove, close.
 *
 *   cc search.c -I../../bindings/c/include -L../../target/release -lleann_edge_c -o search
 *   ./search docs.leann "how do I reset the device?"
 *
 * Every call that fails returns NULL (or non-zero) and leaves a stable code and a one-line
 * message in leann_last_error_code() / leann_last_error_message(). */
#include <stdio.h>
#include <string.h>
#include "leann_edge.h"

static int fail(const char *what) {
    fprintf(stderr, "%s failed: [%s] %s\n", what, leann_error_name(leann_last_error_code()),
            leann_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s INDEX QUERY [--change]\n", argv[0]);
        return 2;
    }
    printf("leann-edge %s\n", leann_version());
    LeannEngine *engine = leann_engine_open(argv[1], NULL);
    if (!engine) return fail("open");

    LeannResults *res = leann_engine_search(engine, argv[2], 3);
    if (!res) return fail("search");
    for (size_t i = 0; i < res->len; i++) {
        const LeannHit *h = &res->hits[i];
        printf("%u. [%.3f] %s  %s\n   %.120s\n", h->rank, h->score, h->source ? h->source : h->id,
               h->title, h->text);
    }
    leann_results_free(res);

    /* The full request and answer as JSON: filters, mode, floor, grouping. */
    char *json = leann_engine_search_json(engine, "{\"query\": \"moons\", \"k\": 1, \"mode\": \"dense\"}");
    if (!json) return fail("search_json");
    printf("json: %.200s\n", json);
    leann_string_free(json);

    /* A bad request is an error with a code, not a crash. */
    if (!leann_engine_search(engine, "   ", 3))
        printf("empty query -> %s\n", leann_error_name(leann_last_error_code()));

    if (argc > 3 && strcmp(argv[3], "--change") == 0) {
        char *r = leann_engine_add(engine,
            "[{\"id\": \"c-note\", \"text\": \"The C example added this note about lighthouses.\"}]");
        if (!r) return fail("add");
        printf("add: %s\n", r);
        leann_string_free(r);
        res = leann_engine_search(engine, "lighthouses", 1);
        if (!res) return fail("search after add");
        printf("after add: %s\n", res->len ? res->hits[0].id : "(none)");
        leann_results_free(res);
        r = leann_engine_remove(engine, "[\"c-note\"]");
        if (!r) return fail("remove");
        printf("remove: %s\n", r);
        leann_string_free(r);
    }
    leann_engine_close(engine);
    return 0;
}
