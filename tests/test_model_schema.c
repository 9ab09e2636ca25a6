/* test_model_schema.c — predictions follow the model's input schema: the raw columns a model
 * reads (with their types when fitted) and those it drops are stored in the model file and
 * derived for old files; new rows are read and predicted by that schema — a column that was
 * text is text even when the new values look numeric (an id without its leading zero, a zip
 * code), dropped columns, the id and the targets may be absent or hold anything, extra columns
 * are ignored, and a missing input is an error that names it. */
#include "check.h"
#include "cv_fixture.h"
#include "nn_model.h"

/* code (an id with leading zeros: text), zip (some with a leading zero: text), x, y. The spec
 * drops code, one_hots zip and predicts y. */
static const char train_csv[] = "code,zip,x,y\n"
                                "0101,02134,0.1,1\n0102,98001,0.5,3\n0103,98001,0.9,4\n"
                                "0104,02134,0.3,1.5\n0105,98052,0.7,5\n0106,98052,0.2,4.2\n"
                                "0107,02134,0.6,2\n0108,98001,0.4,3.1\n";

static const char spec_json[] =
    "{\"target\": \"y\", \"seed\": 4, \"preprocess\": ["
    "{\"op\": \"drop\", \"columns\": [\"code\"]},"
    "{\"op\": \"one_hot\", \"column\": \"zip\"},"
    "{\"op\": \"normalize\", \"columns\": [\"x\"]}],"
    " \"network\": {\"hidden\": [{\"units\": 3}]},"
    " \"training\": {\"epochs\": 20, \"batch_size\": 4, \"validation\": {\"type\": \"none\"}}}";

static nn_model *model; /* trained once in main */

static nn_table *mem_csv(const nn_model *m, const char *text) {
    nn_csv_source src = {.buf = text, .len = strlen(text), .name = "rows"};
    nn_table *t = NULL;
    nn_error err = {0};
    nn_status st = m ? nn_model_read_csv(m, &src, &t, &err) : nn_csv_read_source(&src, &t, &err);
    if (st != NN_OK) fprintf(stderr, "csv: %s\n", err.msg);
    return t;
}

static nn_model *train(void) {
    nn_spec *s = parse(spec_json);
    nn_table *t = mem_csv(NULL, train_csv);
    nn_cv *cv = run_ok(s, t, 1);
    nn_model *m = cv ? nn_cv_take_model(cv) : NULL;
    nn_cv_destroy(cv);
    nn_table_destroy(t);
    nn_spec_destroy(s);
    return m;
}

/* Predicts rows (or returns the status, message in err). */
static nn_status predict(nn_model *m, const nn_table *rows, double *out, nn_error *err) {
    double *p = NULL;
    nn_status st = nn_model_predict(m, rows, &p, err);
    if (st == NN_OK) memcpy(out, p, rows->n_rows * sizeof *p);
    free(p);
    return st;
}

static void test_model_schema_stored_and_derived(void) {
    nn_model *m = model;
    const nn_pipe *p = nn_model_pipe(m);
    nn_col_type type;
    CHECK(nn_pipe_n_inputs(p) == 2);
    CHECK_STR(nn_pipe_input(p, 0, &type), "zip");
    CHECK(type == NN_COL_TEXT);
    CHECK_STR(nn_pipe_input(p, 1, &type), "x");
    CHECK(type == NN_COL_NUMBER);
    CHECK(nn_pipe_n_dropped(p) == 1);
    CHECK_STR(nn_pipe_dropped(p, 0), "code");
    char *text = nn_model_to_json(m);
    json_error_t jerr;
    json_t *root = text ? json_loads(text, 0, &jerr) : NULL;
    CHECK(root != NULL);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(root, "inputs"), 0),
                                                "type")),
              "text");
    CHECK_STR(json_string_value(json_array_get(json_object_get(root, "dropped"), 0)), "code");
    /* an old file without the schema loads, with the same schema derived */
    json_object_del(root, "inputs");
    json_object_del(root, "dropped");
    char *old = json_dumps(root, JSON_REAL_PRECISION(17));
    nn_model *back = NULL;
    nn_error err = {0};
    CHECK(old && nn_model_from_json(old, strlen(old), &back, &err) == NN_OK);
    CHECK(back && nn_pipe_n_inputs(nn_model_pipe(back)) == 2 &&
          nn_pipe_n_dropped(nn_model_pipe(back)) == 1);
    nn_model_destroy(back);
    free(old);
    /* a stored schema that disagrees with the pipeline is refused */
    json_t *inputs = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "zip", "type", "number",
                               "name", "x", "type", "number");
    json_object_set_new(root, "inputs", inputs);
    char *edited = json_dumps(root, JSON_REAL_PRECISION(17));
    back = NULL;
    CHECK(edited && nn_model_from_json(edited, strlen(edited), &back, &err) == NN_ERR_PARSE);
    CHECK_STR(err.msg, "/inputs/0: does not match the pipeline");
    free(edited);
    json_decref(root);
    free(text);
}

static void test_model_predicts_numeric_looking_text_columns(void) {
    nn_model *m = model;
    /* the training rows' form, and new rows whose code has lost its leading zero (a number
       column now) and whose zips all look numeric: read through the model, zip stays text */
    nn_table *a = mem_csv(m, "code,zip,x\n0102,98001,0.5\n0104,02134,0.3\n0105,98052,0.7\n");
    nn_table *b = mem_csv(m, "code,zip,x\n102,98001,0.5\n104,98001,0.3\n105,98052,0.7\n");
    double pa[3], pb[3];
    nn_error err = {0};
    CHECK(a && b && b->cols[nn_table_find(b, "code")].type == NN_COL_NUMBER);
    CHECK(b && b->cols[nn_table_find(b, "zip")].type == NN_COL_TEXT);
    CHECK(a && predict(m, a, pa, &err) == NN_OK);
    CHECK(b && predict(m, b, pb, &err) == NN_OK);
    CHECK(pa[0] == pb[0] && pa[2] == pb[2]); /* same zip and x: the same prediction */
    CHECK(pa[1] != pb[1]);                   /* 02134 and 98001 are different categories */
    /* the same rows read with no schema: zip a number column, converted back to "98001" */
    nn_table *c = mem_csv(NULL, "zip,x\n98001,0.5\n98052,0.7\n");
    double pc[2];
    CHECK(c && c->cols[0].type == NN_COL_NUMBER);
    CHECK(c && predict(m, c, pc, &err) == NN_OK);
    CHECK(pc[0] == pa[0] && pc[1] == pa[2]);
    nn_table_destroy(a);
    nn_table_destroy(b);
    nn_table_destroy(c);
}

static void test_model_missing_input_is_named(void) {
    nn_model *m = model;
    nn_table *t = mem_csv(m, "code,zip,xx\n0102,98001,0.5\n");
    double p[1];
    nn_error err = {0};
    CHECK(t && predict(m, t, p, &err) == NN_ERR_DATA);
    CHECK_STR(err.msg, "no column \"x\" (the model reads it); did you mean \"xx\"?");
    nn_table_destroy(t);
    t = mem_csv(m, "code,x\n0102,0.5\n");
    CHECK(t && predict(m, t, p, &err) == NN_ERR_DATA);
    CHECK_STR(err.msg, "no column \"zip\" (the model reads it)");
    nn_table_destroy(t);
    /* a number input given text that is not a number */
    t = mem_csv(m, "zip,x\n98001,abc\n");
    CHECK(t && predict(m, t, p, &err) == NN_ERR_DATA);
    CHECK_STR(err.msg, "column \"x\", row 1: \"abc\" is not a number (the model was fitted on "
                       "numbers there)");
    nn_table_destroy(t);
}

static void test_model_ignores_extra_dropped_and_target_columns(void) {
    nn_model *m = model;
    nn_table *a = mem_csv(m, "zip,x\n98001,0.5\n02134,0.3\n");
    /* extra columns (one named like a one_hot output), the dropped column and the target as
       text, all ignored */
    nn_table *b = mem_csv(m, "y,zip=98001,x,junk,code,zip\nn/a,7,0.5,hello,A1,98001\n"
                             "n/a,7,0.3,,B2,02134\n");
    double pa[2], pb[2];
    nn_error err = {0};
    CHECK(a && predict(m, a, pa, &err) == NN_OK);
    CHECK(b && predict(m, b, pb, &err) == NN_OK);
    CHECK(pa[0] == pb[0] && pa[1] == pb[1]);
    nn_table_destroy(a);
    nn_table_destroy(b);
}

int main(void) {
    model = train();
    CHECK(model != NULL);
    if (!model) return check_summary();
    RUN(test_model_schema_stored_and_derived);
    RUN(test_model_predicts_numeric_looking_text_columns);
    RUN(test_model_missing_input_is_named);
    RUN(test_model_ignores_extra_dropped_and_target_columns);
    nn_model_destroy(model);
    return check_summary();
}
