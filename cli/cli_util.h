/* cli_util.h — helpers the nn command's subcommands share: loading specs, reading CSVs for a
 * spec, parsing option values, printing spec problems. They print their own errors (to stderr)
 * and know nothing of the subcommands. */
#ifndef NN_CLI_UTIL_H
#define NN_CLI_UTIL_H

#include "nn_spec.h"
#include "nn_table.h"

#include <stdint.h>

/* Exit codes: 0 success, 1 the job failed, 2 bad usage, spec or data. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Loads a spec file, optionally overriding its seed (seed_set), printing every problem as
 * "PATH: /pointer: message" to stderr. Returns NULL on failure; the spec is the caller's. */
nn_spec *cli_load_spec(const char *path, int seed_set, uint64_t seed);

/* Reads a CSV for a spec (nn_spec_read_csv); prints the error. NULL on failure. */
nn_table *cli_read_csv(const char *path, const nn_spec *spec);

/* Prints every problem of errs as "PATH: /pointer: message" (or "PATH: message" at ""). */
void cli_print_errors(const char *path, const nn_spec_errors *errs);

/* Parses a non-negative integer option value; prints an error and returns -1 if invalid. */
long long cli_parse_int(const char *opt, const char *value, long long max);

/* mkdir -p; 0 or -1. */
int cli_mkdirs(const char *path);

#endif
