/* nn_table.h — columnar tables of numbers and text.
 *
 * DESIGN: a table is a list of named columns of equal length. A number column holds doubles
 * (NaN marks a missing value); a text column holds NUL-terminated strings (NULL marks a missing
 * value). Columns own their storage. Tables are what the CSV reader produces, what the
 * preprocessing pipeline transforms column by column, and what predictions are written from.
 * The struct is transparent to libnn's modules (they read cells directly); users of the
 * library go through the functions.
 */
#ifndef NN_TABLE_H
#define NN_TABLE_H

#include "nn_common.h"

#define NN_MAX_COLUMNS 4096
#define NN_MAX_NAME 256 /* bytes in a column name, including the NUL */

typedef enum nn_col_type { NN_COL_NUMBER, NN_COL_TEXT } nn_col_type;

typedef struct nn_column {
    char *name; /* owned */
    nn_col_type type;
    double *num; /* (n_rows) for number columns, NaN = missing; else NULL */
    char **text; /* (n_rows) owned strings for text columns, NULL = missing; else NULL */
} nn_column;

typedef struct nn_table {
    size_t n_rows;
    size_t n_cols;
    size_t cap_cols;
    nn_column *cols; /* (n_cols) */
    /* private to nn_table.c: a hash of column names for nn_table_find on wide tables (a one_hot
       of thousands of categories), kept up by adding and removing columns */
    size_t *index; /* (index_cap) column + 1, 0 = empty; NULL below 32 columns */
    size_t index_cap;
} nn_table;

/* An empty table of n_rows rows and no columns; *out owned by the caller. */
nn_status nn_table_create(size_t n_rows, nn_table **out, nn_error *err);
void nn_table_destroy(nn_table *t);

/* Index of the column named name, or -1. Constant time on wide tables (a name hash). */
int nn_table_find(const nn_table *t, const char *name);

/* Appends a number column, taking ownership of values (n_rows doubles, from malloc) even on
 * failure. Fails if the name exists. Returns the new column's index through *index if not NULL.
 * Errors: NN_ERR_INVALID for an empty or duplicate name, NN_ERR_LIMIT for a name of NN_MAX_NAME
 * bytes or more or a table that already has NN_MAX_COLUMNS columns, NN_ERR_NOMEM when values is
 * NULL (a failed malloc) with n_rows > 0. With n_rows == 0, values may be NULL. */
nn_status nn_table_add_number_take(nn_table *t, const char *name, double *values, int *index,
                                   nn_error *err);
/* Appends a text column, taking ownership of strs (n_rows malloc'd strings or NULL, in a malloc'd
 * array) even on failure. Errors as for nn_table_add_number_take. */
nn_status nn_table_add_text_take(nn_table *t, const char *name, char **strs, int *index,
                                 nn_error *err);
/* Appends a copy of the number column values (n_rows doubles, borrowed). */
nn_status nn_table_add_number_copy(nn_table *t, const char *name, const double *values, int *index,
                                   nn_error *err);

/* Removes column i (which must exist), freeing its storage; later columns shift down by one. */
void nn_table_remove(nn_table *t, int i);

/* A new table holding rows[0..n) of t in that order (rows may repeat); *out owned by caller.
 * NN_ERR_INVALID if a row index is out of range; *out is written only on success. */
nn_status nn_table_select_rows(const nn_table *t, const size_t *rows, size_t n, nn_table **out,
                               nn_error *err);
/* A deep copy of t. */
nn_status nn_table_clone(const nn_table *t, nn_table **out, nn_error *err);

/* Number of missing cells in column i (which must exist). */
size_t nn_table_missing(const nn_table *t, int i);

#endif
