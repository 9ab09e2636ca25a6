/* test_table.c — nn_table: adding, finding, removing, copying columns and rows. */
#include "check.h"
#include "nn_table.h"

#include <stdlib.h>

static double *doubles(size_t n, double first) {
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = first + (double)i;
    return v;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    memcpy(d, s, n);
    return d;
}

/* A 3-row table: x = 1,2,3; s = "a", NULL, "c". */
static nn_table *small_table(void) {
    nn_table *t = NULL;
    nn_error err;
    CHECK(nn_table_create(3, &t, &err) == NN_OK);
    CHECK(nn_table_add_number_take(t, "x", doubles(3, 1), NULL, &err) == NN_OK);
    char **s = malloc(3 * sizeof *s);
    s[0] = dup_str("a");
    s[1] = NULL;
    s[2] = dup_str("c");
    int idx = -1;
    CHECK(nn_table_add_text_take(t, "s", s, &idx, &err) == NN_OK);
    CHECK(idx == 1);
    return t;
}

static void test_table_add_and_find(void) {
    nn_table *t = small_table();
    CHECK(t->n_cols == 2 && t->n_rows == 3);
    CHECK(nn_table_find(t, "x") == 0);
    CHECK(nn_table_find(t, "s") == 1);
    CHECK(nn_table_find(t, "nope") == -1);
    CHECK(t->cols[0].type == NN_COL_NUMBER && t->cols[0].num[2] == 3.0);
    CHECK_STR(t->cols[1].text[2], "c");
    CHECK(nn_table_missing(t, 1) == 1);
    CHECK(nn_table_missing(t, 0) == 0);
    nn_table_destroy(t);
    nn_table_destroy(NULL);
}

static void test_table_rejects_bad_names(void) {
    nn_table *t = small_table();
    nn_error err;
    CHECK(nn_table_add_number_take(t, "x", doubles(3, 0), NULL, &err) == NN_ERR_INVALID);
    CHECK_STR(err.msg, "duplicate column name \"x\"");
    char long_name[NN_MAX_NAME + 1];
    memset(long_name, 'n', NN_MAX_NAME);
    long_name[NN_MAX_NAME] = '\0';
    CHECK(nn_table_add_number_copy(t, long_name, (double[]){1, 2, 3}, NULL, &err) ==
          NN_ERR_LIMIT);
    CHECK_CONTAINS(err.msg, "exceeds 255 bytes");
    long_name[NN_MAX_NAME - 1] = '\0'; /* 255 bytes: the longest allowed */
    CHECK(nn_table_add_number_copy(t, long_name, (double[]){1, 2, 3}, NULL, &err) == NN_OK);
    CHECK(nn_table_add_number_copy(t, "", (double[]){1, 2, 3}, NULL, &err) == NN_ERR_INVALID);
    CHECK(t->n_cols == 3);
    nn_table_destroy(t);
}

static void test_table_column_cap(void) {
    nn_table *t = NULL;
    nn_error err;
    CHECK(nn_table_create(1, &t, &err) == NN_OK);
    char name[32];
    nn_status st = NN_OK;
    for (int i = 0; i < NN_MAX_COLUMNS && st == NN_OK; i++) {
        (void)snprintf(name, sizeof name, "c%d", i);
        st = nn_table_add_number_copy(t, name, (double[]){(double)i}, NULL, &err);
    }
    CHECK(st == NN_OK);
    CHECK(t->n_cols == NN_MAX_COLUMNS);
    CHECK(t->cols[NN_MAX_COLUMNS - 1].num[0] == NN_MAX_COLUMNS - 1);
    CHECK(nn_table_add_number_copy(t, "one_more", (double[]){0}, NULL, &err) == NN_ERR_LIMIT);
    CHECK_STR(err.msg, "more than 4096 columns");
    nn_table_destroy(t);
}

static void test_table_remove_shifts_columns(void) {
    nn_table *t = small_table();
    nn_error err;
    CHECK(nn_table_add_number_take(t, "y", doubles(3, 10), NULL, &err) == NN_OK);
    nn_table_remove(t, 0);
    CHECK(t->n_cols == 2);
    CHECK(nn_table_find(t, "x") == -1);
    CHECK(nn_table_find(t, "s") == 0);
    CHECK(nn_table_find(t, "y") == 1);
    CHECK(t->cols[1].num[1] == 11.0);
    nn_table_destroy(t);
}

static void test_table_select_rows_and_clone(void) {
    nn_table *t = small_table();
    nn_table *s = NULL, *c = NULL;
    nn_error err;
    size_t rows[] = {2, 2, 1, 0};
    CHECK(nn_table_select_rows(t, rows, 4, &s, &err) == NN_OK);
    CHECK(s->n_rows == 4 && s->n_cols == 2);
    CHECK(s->cols[0].num[0] == 3.0 && s->cols[0].num[1] == 3.0 && s->cols[0].num[3] == 1.0);
    CHECK_STR(s->cols[1].text[1], "c");
    CHECK(s->cols[1].text[2] == NULL);
    CHECK(s->cols[1].text[0] != t->cols[1].text[2]); /* deep copy */
    size_t bad[] = {3};
    CHECK(nn_table_select_rows(t, bad, 1, &c, &err) == NN_ERR_INVALID);
    CHECK_STR(err.msg, "row index 3 out of range (3 rows)");
    CHECK(c == NULL);
    CHECK(nn_table_clone(t, &c, &err) == NN_OK);
    t->cols[0].num[0] = -1;
    t->cols[1].text[0][0] = 'z';
    CHECK(c->cols[0].num[0] == 1.0);
    CHECK_STR(c->cols[1].text[0], "a");
    CHECK(nn_table_missing(c, 1) == 1);
    nn_table_destroy(t);
    nn_table_destroy(s);
    nn_table_destroy(c);
}

static void test_table_zero_rows(void) {
    nn_table *t = NULL, *c = NULL;
    nn_error err;
    CHECK(nn_table_create(0, &t, &err) == NN_OK);
    CHECK(nn_table_add_number_take(t, "x", NULL, NULL, &err) == NN_OK);
    CHECK(nn_table_add_text_take(t, "s", NULL, NULL, &err) == NN_OK);
    CHECK(t->cols[0].num != NULL && t->cols[1].text != NULL);
    CHECK(nn_table_clone(t, &c, &err) == NN_OK);
    CHECK(c->n_rows == 0 && c->n_cols == 2);
    nn_table_destroy(t);
    nn_table_destroy(c);
}

int main(void) {
    RUN(test_table_add_and_find);
    RUN(test_table_rejects_bad_names);
    RUN(test_table_column_cap);
    RUN(test_table_remove_shifts_columns);
    RUN(test_table_select_rows_and_clone);
    RUN(test_table_zero_rows);
    return check_summary();
}
