/* fuzz_common.h — what the fuzz harnesses share: the libFuzzer entry points' prototypes, a fixed
 * three-row King County table to plan and predict on, and a check that aborts (so libFuzzer, or
 * the regression driver tests/test_fuzz_regressions.c, reports the input) when a property the
 * harness asserts does not hold. Harness code, not part of libnn or nnd. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "nn_csv.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, what)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz property failed: %s (%s)\n", __FILE__, __LINE__, #cond,   \
                    what);                                                                         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The first three rows of examples/kc_house_data.csv. */
static const char fuzz_kc_rows[] =
    "id,date,price,bedrooms,bathrooms,sqft_living,sqft_lot,floors,waterfront,view,condition,"
    "grade,sqft_above,sqft_basement,yr_built,yr_renovated,zipcode,lat,long,sqft_living15,"
    "sqft_lot15\n"
    "\"7129300520\",\"20141013T000000\",221900,3,1,1180,5650,\"1\",0,0,3,7,1180,0,1955,0,"
    "\"98178\",47.5112,-122.257,1340,5650\n"
    "\"6414100192\",\"20141209T000000\",538000,3,2.25,2570,7242,\"2\",0,0,3,7,2170,400,1951,1991,"
    "\"98125\",47.721,-122.319,1690,7639\n"
    "\"5631500400\",\"20150225T000000\",180000,2,1,770,10000,\"1\",0,0,3,6,770,0,1933,0,"
    "\"98028\",47.7379,-122.233,2720,8062\n";

#endif
