/* test_spec_csv.c — a spec is parsed once (from a JSON tree, cloned, its canonical tree handed
 * out without re-parsing) and one function reads a CSV for it: its text columns — as many as
 * it lists — and its id are text, where the header has them. */
#include "check.h"
#include "nn_csv.h"
#include "nn_spec.h"

#include <stdlib.h>
#include <unistd.h>

static const char doc[] =
    "{\"name\": \"s\", \"target\": [\"a\", \"b\"], \"id\": \"k\", \"text_columns\": [\"t\"],"
    " \"preprocess\": [{\"op\": \"replace\", \"columns\": {\"select\": \"inputs\", \"except\": "
    "[\"t\"]}, \"equal\": 0, \"with_column\": \"w\"}, {\"op\": \"date\", \"column\": \"d\", "
    "\"format\": \"%Y\"}],"
    " \"network\": {\"hidden\": [{\"units\": 3, \"repeat\": 2}]},"
    " \"training\": {\"epochs\": 2, \"schedule\": {\"type\": \"piecewise_constant\", "
    "\"boundaries\": [1], \"values\": [0.1, 0.01]}}}";

static void test_spec_from_json_equals_parse(void) {
    json_error_t jerr;
    json_t *tree = json_loads(doc, 0, &jerr);
    nn_spec *a = NULL, *b = NULL;
    nn_spec_errors errs;
    CHECK(tree && nn_spec_from_json(tree, &a, &errs) == NN_OK);
    CHECK(nn_spec_parse(doc, strlen(doc), &b, &errs) == NN_OK);
    if (a && b) {
        CHECK_STR(a->canonical, b->canonical);
        CHECK_STR(a->hash, b->hash);
    }
    json_t *bad = json_pack("{s:s, s:{s:i}}", "target", "y", "training", "epochs", 0);
    nn_spec *c = NULL;
    CHECK(nn_spec_from_json(bad, &c, &errs) == NN_ERR_SPEC && c == NULL);
    CHECK_STR(errs.items[0].pointer, "/training/epochs");
    json_t *arr = json_array();
    CHECK(nn_spec_from_json(arr, &c, &errs) == NN_ERR_SPEC);
    CHECK_STR(errs.items[0].message, "must be an object");
    json_decref(arr);
    json_decref(bad);
    json_decref(tree);
    nn_spec_destroy(a);
    nn_spec_destroy(b);
}

static void test_spec_clone_is_deep_and_equal(void) {
    nn_spec *a = NULL, *b = NULL;
    nn_spec_errors errs;
    nn_error err = {0};
    CHECK(nn_spec_parse(doc, strlen(doc), &a, &errs) == NN_OK);
    CHECK(a && nn_spec_clone(a, &b, &err) == NN_OK);
    if (a && b) {
        CHECK_STR(b->canonical, a->canonical);
        CHECK(b->canonical != a->canonical && b->name != a->name && b->targets != a->targets);
        CHECK(b->n_targets == 2 && strcmp(b->targets[1], "b") == 0);
        CHECK_STR(b->id, "k");
        CHECK(b->n_text_columns == 1 && strcmp(b->text_columns[0], "t") == 0);
        CHECK(b->n_steps == 2 && b->steps[0].cols.except != a->steps[0].cols.except);
        CHECK_STR(b->steps[0].cols.except[0], "t");
        CHECK_STR(b->steps[0].with_column, "w");
        CHECK_STR(b->steps[1].format, "%Y");
        CHECK(b->n_hidden == 2 && b->hidden != a->hidden && b->hidden[1].units == 3);
        CHECK(b->sched.n_boundaries == 1 && b->sched.values[1] == 0.01);
        CHECK(b->epochs == 2 && strcmp(b->hash, a->hash) == 0);
    }
    nn_spec_destroy(a); /* the clone outlives its source */
    json_t *tree = b ? nn_spec_to_json(b) : NULL;
    char *text = tree ? json_dumps(tree, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17))
                      : NULL;
    CHECK(text && strcmp(text, b->canonical) == 0);
    /* the tree is the caller's: changing it leaves the spec alone */
    json_object_set_new(tree, "name", json_string("changed"));
    json_t *again = nn_spec_to_json(b);
    CHECK_STR(json_string_value(json_object_get(again, "name")), "s");
    json_decref(again);
    json_decref(tree);
    free(text);
    nn_spec_destroy(b);
}

/* A header of 101 columns c1..c100 and y and two rows of numbers. */
static char *hundred_columns(void) {
    size_t cap = 8192, n = 0;
    char *s = malloc(cap);
    for (int r = 0; s && r < 3; r++)
        for (int c = 1; c <= 101; c++)
            n += (size_t)snprintf(s + n, cap - n, r == 0 ? (c <= 100 ? "c%d," : "y\n")
                                                         : (c <= 100 ? "%d," : "%d\n"),
                                  r == 0 ? c : c * 10 + r);
    return s;
}

static void test_spec_read_csv_hundred_text_columns(void) {
    char *csv = hundred_columns();
    char spec[4096] = "{\"target\": \"y\", \"text_columns\": [";
    size_t n = strlen(spec);
    for (int c = 1; c <= 100; c++)
        n += (size_t)snprintf(spec + n, sizeof spec - n, "%s\"c%d\"", c > 1 ? ", " : "", c);
    (void)snprintf(spec + n, sizeof spec - n, "], \"training\": {\"epochs\": 1}}");
    nn_spec *s = NULL;
    nn_spec_errors errs;
    CHECK(nn_spec_parse(spec, strlen(spec), &s, &errs) == NN_OK);
    CHECK(s && s->n_text_columns == 100);
    nn_csv_source src = {.buf = csv, .len = csv ? strlen(csv) : 0};
    nn_table *t = NULL;
    nn_error err = {0};
    CHECK(s && csv && nn_spec_read_csv(s, &src, &t, &err) == NN_OK);
    if (t) {
        int text = 0;
        for (int c = 0; c < 100; c++) text += t->cols[c].type == NN_COL_TEXT;
        CHECK(text == 100);
        CHECK_STR(t->cols[99].name, "c100");
        CHECK(t->cols[99].type == NN_COL_TEXT);
        CHECK_STR(t->cols[99].text[1], "1002");
        CHECK(t->cols[100].type == NN_COL_NUMBER);
    }
    nn_table_destroy(t);
    nn_spec_destroy(s);
    free(csv);
}

static void test_spec_read_csv_where_the_header_has_them(void) {
    /* the id and a text column absent from the header are no error; a quoted header name with a
       comma and a line break is read whole; the id's numbers stay text */
    const char *spec_text = "{\"target\": \"y\", \"id\": \"id\", \"text_columns\": [\"gone\", "
                            "\"a,\\nb\"], \"training\": {\"epochs\": 1}}";
    nn_spec *s = NULL;
    nn_spec_errors errs;
    CHECK(nn_spec_parse(spec_text, strlen(spec_text), &s, &errs) == NN_OK);
    const char *csv = "\xEF\xBB\xBF\n\"a,\nb\",id,y\n12,0012,1\n13,0013,2\n";
    nn_csv_source src = {.buf = csv, .len = strlen(csv), .name = "rows"};
    nn_table *t = NULL;
    nn_error err = {0};
    CHECK(s && nn_spec_read_csv(s, &src, &t, &err) == NN_OK);
    CHECK(t && t->n_rows == 2 && t->cols[0].type == NN_COL_TEXT && t->cols[1].type == NN_COL_TEXT);
    CHECK(t && t->cols[2].type == NN_COL_NUMBER);
    nn_table_destroy(t);
    /* from a file: the same; and a file's error names the file */
    char dir[] = "/tmp/test_spec_csv_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    (void)snprintf(path, sizeof path, "%s/rows.csv", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f && fputs(csv, f) >= 0 && fclose(f) == 0);
    src = (nn_csv_source){.path = path};
    t = NULL;
    CHECK(s && nn_spec_read_csv(s, &src, &t, &err) == NN_OK);
    CHECK(t && t->n_rows == 2 && t->cols[1].type == NN_COL_TEXT);
    nn_table_destroy(t);
    (void)unlink(path);
    (void)rmdir(dir);
    src = (nn_csv_source){.path = path};
    CHECK(s && nn_spec_read_csv(s, &src, &t, &err) == NN_ERR_IO);
    CHECK_CONTAINS(err.msg, "rows.csv");
    nn_spec_destroy(s);
}

int main(void) {
    RUN(test_spec_from_json_equals_parse);
    RUN(test_spec_clone_is_deep_and_equal);
    RUN(test_spec_read_csv_hundred_text_columns);
    RUN(test_spec_read_csv_where_the_header_has_them);
    return check_summary();
}
