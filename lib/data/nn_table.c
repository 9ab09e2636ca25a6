/* nn_table.c — columnar tables: column storage, growth, copies and row selection, and a hash of
 * column names so that finding a column stays cheap on tables thousands of columns wide. */
#include "nn_table.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAP_COLS 8

/* Frees a text column's strings (n of them) and the array. */
static void text_free(char **strs, size_t n) {
    if (!strs) return;
    for (size_t i = 0; i < n; i++) free(strs[i]);
    free(strs);
}

static void column_destroy(nn_column *c, size_t n_rows) {
    free(c->name);
    free(c->num);
    text_free(c->text, n_rows);
    *c = (nn_column){0};
}

nn_status nn_table_create(size_t n_rows, nn_table **out, nn_error *err) {
    nn_table *t = calloc(1, sizeof *t);
    if (!t) return nn_nomem(err, "out of memory creating a table");
    t->n_rows = n_rows;
    *out = t;
    return NN_OK;
}

void nn_table_destroy(nn_table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_cols; i++) column_destroy(&t->cols[i], t->n_rows);
    free(t->cols);
    free(t->index);
    free(t);
}

/* ---- the name index: open addressing over FNV-1a hashes, kept from INDEX_MIN columns on.
 * It is maintained when columns are added or removed, never when finding, so concurrent finds
 * on a shared table only read. Without memory for it, finding scans. ---- */

#define INDEX_MIN 32

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void index_put(nn_table *t, size_t col) {
    size_t mask = t->index_cap - 1, at = (size_t)name_hash(t->cols[col].name) & mask;
    while (t->index[at]) at = (at + 1) & mask;
    t->index[at] = col + 1;
}

/* (Re)builds the index over every column, or drops it (small table, or out of memory). */
static void index_build(nn_table *t) {
    if (t->n_cols < INDEX_MIN) {
        free(t->index);
        t->index = NULL;
        t->index_cap = 0;
        return;
    }
    size_t cap = t->index_cap ? t->index_cap : (size_t)2 * INDEX_MIN;
    while (cap < (size_t)2 * t->n_cols) cap *= 2;
    if (cap != t->index_cap) {
        free(t->index);
        t->index = malloc(cap * sizeof *t->index);
        t->index_cap = t->index ? cap : 0;
        if (!t->index) return;
    }
    memset(t->index, 0, t->index_cap * sizeof *t->index);
    for (size_t i = 0; i < t->n_cols; i++) index_put(t, i);
}

int nn_table_find(const nn_table *t, const char *name) {
    if (!t->index) {
        for (size_t i = 0; i < t->n_cols; i++)
            if (strcmp(t->cols[i].name, name) == 0) return (int)i;
        return -1;
    }
    size_t mask = t->index_cap - 1, at = (size_t)name_hash(name) & mask;
    for (; t->index[at]; at = (at + 1) & mask)
        if (strcmp(t->cols[t->index[at] - 1].name, name) == 0) return (int)(t->index[at] - 1);
    return -1;
}

/* Checks that a column named name can be appended and makes room for it; on success the name is
 * copied into *copy (owned by the caller until stored in the column). */
static nn_status prepare_column(nn_table *t, const char *name, char **copy, nn_error *err) {
    /* each refusal returns its code itself: nn_error_set's return is not visible here */
    if (!name || !name[0]) {
        (void)nn_error_set(err, NN_ERR_INVALID, "empty column name");
        return NN_ERR_INVALID;
    }
    size_t len = strnlen(name, NN_MAX_NAME);
    if (len >= NN_MAX_NAME) {
        (void)nn_error_set(err, NN_ERR_LIMIT, "column name \"%.40s...\" exceeds %d bytes", name,
                           NN_MAX_NAME - 1);
        return NN_ERR_LIMIT;
    }
    if (nn_table_find(t, name) >= 0) {
        (void)nn_error_set(err, NN_ERR_INVALID, "duplicate column name \"%s\"", name);
        return NN_ERR_INVALID;
    }
    if (t->n_cols >= NN_MAX_COLUMNS) {
        (void)nn_error_set(err, NN_ERR_LIMIT, "more than %d columns", NN_MAX_COLUMNS);
        return NN_ERR_LIMIT;
    }
    if (t->n_cols == t->cap_cols) {
        size_t cap = t->cap_cols ? t->cap_cols * 2 : FIRST_CAP_COLS;
        if (cap > NN_MAX_COLUMNS) cap = NN_MAX_COLUMNS;
        nn_column *cols = realloc(t->cols, cap * sizeof *cols);
        if (!cols) return nn_nomem(err, "out of memory adding a column");
        t->cols = cols;
        t->cap_cols = cap;
    }
    *copy = malloc(len + 1);
    if (!*copy) return nn_nomem(err, "out of memory adding a column");
    memcpy(*copy, name, len + 1);
    return NN_OK;
}

static int append(nn_table *t, char *name, nn_col_type type, double *num, char **text) {
    int i = (int)t->n_cols++;
    t->cols[i] = (nn_column){.name = name, .type = type, .num = num, .text = text};
    if (t->index && 2 * t->n_cols <= t->index_cap)
        index_put(t, (size_t)i);
    else if (t->n_cols >= INDEX_MIN)
        index_build(t);
    return i;
}

nn_status nn_table_add_number_take(nn_table *t, const char *name, double *values, int *index,
                                   nn_error *err) {
    if (!values && t->n_rows == 0) values = malloc(sizeof *values); /* keep num non-NULL */
    if (!values) return nn_error_set(err, NN_ERR_NOMEM, "out of memory adding column \"%s\"", name);
    char *copy = NULL;
    nn_status st = prepare_column(t, name, &copy, err);
    if (st != NN_OK) {
        free(values);
        return st;
    }
    int i = append(t, copy, NN_COL_NUMBER, values, NULL);
    if (index) *index = i;
    return NN_OK;
}

nn_status nn_table_add_text_take(nn_table *t, const char *name, char **strs, int *index,
                                 nn_error *err) {
    if (!strs && t->n_rows == 0) strs = malloc(sizeof *strs); /* keep text non-NULL */
    if (!strs) return nn_error_set(err, NN_ERR_NOMEM, "out of memory adding column \"%s\"", name);
    char *copy = NULL;
    nn_status st = prepare_column(t, name, &copy, err);
    if (st != NN_OK) {
        text_free(strs, t->n_rows);
        return st;
    }
    int i = append(t, copy, NN_COL_TEXT, NULL, strs);
    if (index) *index = i;
    return NN_OK;
}

nn_status nn_table_add_number_copy(nn_table *t, const char *name, const double *values, int *index,
                                   nn_error *err) {
    double *copy = malloc((t->n_rows ? t->n_rows : 1) * sizeof *copy);
    if (!copy) return nn_error_set(err, NN_ERR_NOMEM, "out of memory adding column \"%s\"", name);
    if (t->n_rows) memcpy(copy, values, t->n_rows * sizeof *copy);
    return nn_table_add_number_take(t, name, copy, index, err);
}

void nn_table_remove(nn_table *t, int i) {
    assert(i >= 0 && (size_t)i < t->n_cols);
    column_destroy(&t->cols[i], t->n_rows);
    memmove(&t->cols[i], &t->cols[i + 1], (t->n_cols - (size_t)i - 1) * sizeof *t->cols);
    t->n_cols--;
    if (t->index) index_build(t); /* the indices after i shifted */
}

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Copies column c's cells rows[0..n) (or 0..n when rows is NULL) into a new column of out. */
static nn_status copy_column(const nn_column *c, const size_t *rows, size_t n, nn_table *out,
                             nn_error *err) {
    size_t alloc_n = n ? n : 1;
    if (c->type == NN_COL_NUMBER) {
        double *v = malloc(alloc_n * sizeof *v);
        if (!v) return nn_nomem(err, "out of memory copying a table");
        for (size_t r = 0; r < n; r++) v[r] = c->num[rows ? rows[r] : r];
        return nn_table_add_number_take(out, c->name, v, NULL, err);
    }
    char **s = calloc(alloc_n, sizeof *s);
    if (!s) return nn_nomem(err, "out of memory copying a table");
    for (size_t r = 0; r < n; r++) {
        const char *src = c->text[rows ? rows[r] : r];
        if (!src) continue;
        s[r] = str_dup(src);
        if (!s[r]) {
            text_free(s, n);
            return nn_nomem(err, "out of memory copying a table");
        }
    }
    return nn_table_add_text_take(out, c->name, s, NULL, err);
}

/* rows == NULL selects every row in order (a clone). */
static nn_status copy_rows(const nn_table *t, const size_t *rows, size_t n, nn_table **out,
                           nn_error *err) {
    nn_table *c = NULL;
    nn_status st = nn_table_create(n, &c, err);
    if (st != NN_OK) return st;
    for (size_t i = 0; i < t->n_cols && st == NN_OK; i++)
        st = copy_column(&t->cols[i], rows, n, c, err);
    if (st != NN_OK) {
        nn_table_destroy(c);
        return st;
    }
    *out = c;
    return NN_OK;
}

nn_status nn_table_select_rows(const nn_table *t, const size_t *rows, size_t n, nn_table **out,
                               nn_error *err) {
    for (size_t r = 0; r < n; r++)
        if (rows[r] >= t->n_rows)
            return nn_error_set(err, NN_ERR_INVALID, "row index %zu out of range (%zu rows)",
                                rows[r], t->n_rows);
    return copy_rows(t, rows, n, out, err);
}

nn_status nn_table_clone(const nn_table *t, nn_table **out, nn_error *err) {
    return copy_rows(t, NULL, t->n_rows, out, err);
}

size_t nn_table_missing(const nn_table *t, int i) {
    assert(i >= 0 && (size_t)i < t->n_cols);
    const nn_column *c = &t->cols[i];
    size_t n = 0;
    for (size_t r = 0; r < t->n_rows; r++)
        n += c->type == NN_COL_NUMBER ? isnan(c->num[r]) != 0 : c->text[r] == NULL;
    return n;
}
