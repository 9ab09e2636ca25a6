/* cli.h — pieces shared by the nn command's subcommands. */
#ifndef NN_CLI_H
#define NN_CLI_H

#include "nn_spec.h"
#include "nn_table.h"

#include <stdint.h>

/* Exit codes: 0 success, 1 the job failed, 2 bad usage, spec or data. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Loads a spec file, optionally overriding its seed (seed_set), printing every problem as
 * "PATH: /pointer: message" to stderr. Returns NULL on failure. */
nn_spec *cli_load_spec(const char *path, int seed_set, uint64_t seed);

/* Reads a CSV with the spec's text columns (and id) forced to text; prints errors. */
nn_table *cli_read_csv(const char *path, const nn_spec *spec);

/* Parses a non-negative integer option value; prints an error and returns -1 if invalid. */
long long cli_parse_int(const char *opt, const char *value, long long max);

int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_validate(int argc, char **argv);

#endif
