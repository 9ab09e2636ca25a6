/* nn — train, validate and use tabular neural networks from the command line.
 * Process-wide setup (BLAS threads) happens here and nowhere else. main dispatches to the
 * subcommands (cli.h), which share helpers (cli_util.h); nothing calls back into this file. */
#include "cli.h"
#include "cli_util.h"

#include "nn_matrix.h"

#include <cblas.h>
#include <stdio.h>
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
    "  tune STUDY DATA [--out DIR] [--threads N] [--quiet]\n"
    "        a hyperparameter study: trials sampled (grid, random, TPE) and pruned (ASHA),\n"
    "        leaderboard.csv, best.json, study.json (ensemble, holdout scores) and the\n"
    "        models of the best trial and the ensemble in DIR (default studies/<name>)\n"
    "  validate SPEC [DATA]\n"
    "        check a spec; with DATA also its columns: prints the input features, the input\n"
    "        width and the parameter count, or every problem with its JSON pointer\n"
    "\n"
    "options:\n"
    "  -h, --help       this help (also: nn <command> --help)\n"
    "  --version        version, float type and BLAS\n"
    "\n"
    "exit status: 0 success, 1 training or I/O failed, 2 bad usage, spec or data\n";

int main(int argc, char **argv) {
    openblas_set_num_threads(1); /* parallelism is across folds, one BLAS thread each */
    if (argc < 2) {
        (void)fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        (void)fputs(usage, stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        (void)printf("nn %s (nn_float = %s, %s)\n", NN_VERSION, NN_FLOAT_NAME, nn_blas_config());
        return CLI_OK;
    }
    if (strcmp(cmd, "train") == 0) return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "predict") == 0) return cmd_predict(argc - 1, argv + 1);
    if (strcmp(cmd, "validate") == 0) return cmd_validate(argc - 1, argv + 1);
    if (strcmp(cmd, "tune") == 0) return cmd_tune(argc - 1, argv + 1);
    (void)fprintf(stderr, "nn: unknown command \"%s\"\n\n%s", cmd, usage);
    return CLI_USAGE;
}
