/* nn_csv_internal.h — what the CSV reader and writer share: the classification of one field.
 * Private to lib/data. */
#ifndef NN_CSV_INTERNAL_H
#define NN_CSV_INTERNAL_H

#include <stddef.h>

typedef enum nn__cell_kind {
    NN__CELL_MISSING, /* empty, blank, or an NA token (missing only in an otherwise numeric column)
                       */
    NN__CELL_NUMBER,  /* a finite decimal number */
    NN__CELL_RANGE,   /* reads as a number but is not finite (1e999, inf) */
    NN__CELL_TEXT
} nn__cell_kind;

/* Classifies s[0..len) (s[len] may be anything); writes the value through value (if not NULL)
 * for NN__CELL_NUMBER. The rules are nn_csv.h's. */
nn__cell_kind nn__csv_classify(const char *s, size_t len, double *value);

/* 1 if s[0..n) is well-formed UTF-8 without NUL bytes (no overlongs, surrogates, > U+10FFFF). */
int nn__utf8_valid(const unsigned char *s, size_t n);

#endif
