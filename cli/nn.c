/* nn — train, validate and use tabular neural networks from the command line.
 * Process-wide setup (BLAS threads) happens here and nowhere else. */
#include "cli.h"

#include "nn_csv.h"
#include "nn_matrix.h"

#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: nn <command> [options]\n"
    "\n"
    "Train, validate and use neural networks on CSV data.\n"
    "\n"
    "commands:\n"
    "  train SPEC DATA [--out DIR] [--seed N] [--threads N] [--quiet]\n"
    "        cross-validate the spec on the CSV and write metrics.json, predictions.csv,\n"
    "        history.csv, model.json and spec.json into DIR (default runs/<spec name>)\n"
    "  predict MODEL DATA [--out FILE]\n"
    "        predict the rows of a CSV with a model.json, in the target's units\n"
    "        (CSV to FILE, default standard output)\n"
    "  validate SPEC [DATA]\n"
    "        check a spec; with DATA also its columns: prints the input features, the input\n"
    "        width and the parameter count, or every problem with its JSON pointer\n"
    "\n"
    "options:\n"
    "  -h, --help       this help (also: nn <command> --help)\n"
    "  --version        version, float type and BLAS\n"
    "\n"
    "exit status: 0 success, 1 training or I/O failed, 2 bad usage, spec or data\n";

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
            fprintf(stderr, "%s: line %d, column %d: %s\n", path, jerr.line, jerr.column,
                    jerr.text);
            return NULL;
        }
        if (json_is_object(root)) json_object_set_new(root, "seed", json_integer((json_int_t)seed));
        char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
        json_decref(root);
        st = text ? nn_spec_parse(text, strlen(text), &spec, &errs) : NN_ERR_NOMEM;
        free(text);
    }
    if (st == NN_OK) return spec;
    for (size_t i = 0; i < errs.n; i++) {
        const nn_spec_error *e = &errs.items[i];
        if (e->pointer[0])
            fprintf(stderr, "%s: %s: %s\n", path, e->pointer, e->message);
        else
            fprintf(stderr, "%s: %s\n", path, e->message);
    }
    if (errs.n_dropped) fprintf(stderr, "%s: (%zu more problems)\n", path, errs.n_dropped);
    if (errs.n == 0) fprintf(stderr, "%s: %s\n", path, nn_status_str(st));
    return NULL;
}

nn_table *cli_read_csv(const char *path, const nn_spec *spec) {
    const char *text[130];
    size_t n = 0;
    for (size_t i = 0; spec && i < spec->n_text_columns && n < 128; i++)
        text[n++] = spec->text_columns[i];
    if (spec && spec->id) text[n++] = spec->id;
    text[n] = NULL;
    nn_csv_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.text_columns = text;
    nn_table *t = NULL;
    nn_error err = {0};
    if (nn_csv_read_file(path, &opts, &t, &err) != NN_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    return t;
}

long long cli_parse_int(const char *opt, const char *value, long long max) {
    char *end = NULL;
    errno = 0;
    long long v = value ? strtoll(value, &end, 10) : -1;
    if (!value || errno || end == value || *end || v < 0 || v > max) {
        fprintf(stderr, "nn: %s needs an integer in 0..%lld, not \"%s\"\n", opt, max,
                value ? value : "");
        return -1;
    }
    return v;
}

int main(int argc, char **argv) {
    openblas_set_num_threads(1); /* parallelism is across folds, one BLAS thread each */
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("nn %s (nn_float = %s, %s)\n", NN_VERSION, NN_FLOAT_NAME, nn_blas_config());
        return CLI_OK;
    }
    if (strcmp(cmd, "train") == 0) return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "predict") == 0) return cmd_predict(argc - 1, argv + 1);
    if (strcmp(cmd, "validate") == 0) return cmd_validate(argc - 1, argv + 1);
    fprintf(stderr, "nn: unknown command \"%s\"\n\n%s", cmd, usage);
    return CLI_USAGE;
}
