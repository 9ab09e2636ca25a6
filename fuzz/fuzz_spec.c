/* fuzz_spec.c — libFuzzer harness for the spec parser and validator (nn_spec_parse).
 *
 * When a document parses: its canonical form parses again to the same canonical text and hash
 * (canonicalization is idempotent); the network config for 1..64 inputs (picked from the input's
 * size) has a parameter count within NN_SPEC_MAX_PARAMS; and nn_pipe_plan runs the spec against
 * a fixed three-row King County table. When it does not parse, every problem has a terminated
 * pointer and message. */
#include "fuzz_common.h"
#include "nn_pipe.h"
#include "nn_spec.h"

#include <string.h>

static void check_errors(const nn_spec_errors *errs) {
    FUZZ_CHECK(errs->n > 0 && errs->n <= NN_SPEC_MAX_ERRORS, "a refused spec has problems");
    for (size_t i = 0; i < errs->n; i++) {
        FUZZ_CHECK(memchr(errs->items[i].pointer, '\0', sizeof errs->items[i].pointer), "pointer");
        FUZZ_CHECK(memchr(errs->items[i].message, '\0', sizeof errs->items[i].message), "message");
        FUZZ_CHECK(errs->items[i].message[0], "a problem says what is wrong");
    }
}

static void check_canonical(const nn_spec *spec) {
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    nn_spec *again = NULL;
    nn_status st = nn_spec_parse(spec->canonical, strlen(spec->canonical), &again, &errs);
    if (st != NN_OK)
        fprintf(stderr, "canonical %s\nrefused: %s: %s\n", spec->canonical, errs.items[0].pointer,
                errs.items[0].message);
    FUZZ_CHECK(st == NN_OK, "the canonical form parses");
    if (strcmp(again->canonical, spec->canonical) != 0)
        fprintf(stderr, "canonical  %s\nre-parsed  %s\n", spec->canonical, again->canonical);
    FUZZ_CHECK(strcmp(again->canonical, spec->canonical) == 0, "canonical form is a fixed point");
    FUZZ_CHECK(strcmp(again->hash, spec->hash) == 0, "same hash");
    nn_spec_destroy(again);
}

static void check_plan(const nn_spec *spec) {
    nn_csv_source src = {.buf = fuzz_kc_rows, .len = sizeof fuzz_kc_rows - 1, .name = "kc3"};
    nn_table *t = NULL;
    nn_error err = {0};
    FUZZ_CHECK(nn_spec_read_csv(spec, &src, &t, &err) == NN_OK, err.msg);
    nn_plan *plan = NULL;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    if (nn_pipe_plan(spec, t, &plan, &errs) == NN_OK) {
        FUZZ_CHECK(plan != NULL, "a plan on success");
        for (size_t i = 0; i < plan->n_features; i++)
            FUZZ_CHECK(plan->features[i] && plan->features[i][0], "features are named");
        nn_plan_destroy(plan);
    } else {
        check_errors(&errs);
    }
    nn_table_destroy(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    nn_spec *spec = NULL;
    nn_status st = nn_spec_parse((const char *)data, size, &spec, &errs);
    if (st != NN_OK) {
        FUZZ_CHECK(spec == NULL, "no spec on failure");
        check_errors(&errs);
        return 0;
    }
    FUZZ_CHECK(spec->n_targets > 0 && spec->n_hidden >= 0, "a parsed spec has targets");
    FUZZ_CHECK(strlen(spec->hash) == 64, "the hash is hex SHA-256");
    check_canonical(spec);
    nn_layer_cfg *layers = calloc((size_t)spec->n_hidden + 1, sizeof *layers);
    FUZZ_CHECK(layers != NULL, "calloc");
    nn_net_cfg cfg;
    nn_spec_net_cfg(spec, 1 + (int)(size % 64), (int)spec->n_targets, layers, &cfg);
    size_t params = nn_net_cfg_param_count(&cfg);
    FUZZ_CHECK(params > 0, "a parsed spec's network is valid");
    FUZZ_CHECK(params <= (size_t)NN_SPEC_MAX_PARAMS * 64, "parameters are bounded");
    free(layers);
    check_plan(spec);
    nn_spec_destroy(spec);
    return 0;
}
