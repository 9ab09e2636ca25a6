/* cli_util.c — helpers of the nn command's subcommands (see cli_util.h). */
#include "cli_util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cli_print_errors(const char *path, const nn_spec_errors *errs) {
    for (size_t i = 0; i < errs->n; i++) {
        const nn_spec_error *e = &errs->items[i];
        if (e->pointer[0])
            (void)fprintf(stderr, "%s: %s: %s\n", path, e->pointer, e->message);
        else
            (void)fprintf(stderr, "%s: %s\n", path, e->message);
    }
    if (errs->n_dropped) (void)fprintf(stderr, "%s: (%zu more problems)\n", path, errs->n_dropped);
}

nn_spec *cli_load_spec(const char *path, int seed_set, uint64_t seed) {
    nn_spec *spec = NULL;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    nn_status st;
    if (!seed_set) {
        st = nn_spec_parse_file(path, &spec, &errs);
    } else {
        json_error_t jerr;
        json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
            (void)fprintf(stderr, "%s: line %d, column %d: %s\n", path, jerr.line, jerr.column,
                          jerr.text);
            return NULL;
        }
        if (json_is_object(root) &&
            json_object_set_new(root, "seed", json_integer((json_int_t)seed)) != 0) {
            json_decref(root);
            (void)fprintf(stderr, "%s: out of memory\n", path);
            return NULL;
        }
        st = nn_spec_from_json(root, &spec, &errs);
        json_decref(root);
    }
    if (st == NN_OK) return spec;
    cli_print_errors(path, &errs);
    if (errs.n == 0) (void)fprintf(stderr, "%s: %s\n", path, nn_status_str(st));
    return NULL;
}

nn_table *cli_read_csv(const char *path, const nn_spec *spec) {
    nn_csv_source src = {.path = path};
    nn_table *t = NULL;
    nn_error err = {0};
    if (nn_spec_read_csv(spec, &src, &t, &err) != NN_OK) {
        (void)fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    return t;
}

long long cli_parse_int(const char *opt, const char *value, long long max) {
    char *end = NULL;
    errno = 0;
    long long v = value ? strtoll(value, &end, 10) : -1;
    if (!value || errno || end == value || *end || v < 0 || v > max) {
        (void)fprintf(stderr, "nn: %s needs an integer in 0..%lld, not \"%s\"\n", opt, max,
                      value ? value : "");
        return -1;
    }
    return v;
}

int cli_mkdirs(const char *path) {
    char buf[4096];
    if (strlen(path) >= sizeof buf) return -1;
    memcpy(buf, path, strlen(path) + 1);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}
