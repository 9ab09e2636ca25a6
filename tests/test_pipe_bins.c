/* test_pipe_bins.c — the bins step: edges at the training values' quantiles (checked against a
 * quantile computed here, on random data), piecewise-linear and one-hot codes value by value
 * (edges, outside the training range, missing values), ties merging bins, refusals (a constant
 * column, a target, spec values) with their pointers, keep, and exact JSON round trips. */
#include "nn_rng.h"
#include "nn_spec.h"
#include "pipe_fixture.h"

#include <math.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of sorted v[0..n): linear between the order statistics at q·(n − 1). */
static double quantile(const double *v, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return v[n - 1];
    return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

/* The edges a fitted pipe holds for its first step's column c, from its JSON state. */
static size_t state_edges(const nn_pipe *p, size_t c, double *out, size_t cap) {
    json_t *j = nn_pipe_to_json(p);
    json_t *e = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(j, "steps"), 0), "columns"),
                       c),
        "edges");
    size_t n = json_array_size(e);
    for (size_t k = 0; k < n && k < cap; k++) out[k] = json_number_value(json_array_get(e, k));
    json_decref(j);
    return n;
}

static void test_bins_edges_are_the_training_quantiles(void) {
    enum { N = 203, BINS = 7 };
    char *text = malloc(N * 64 + 16), *at = text;
    at += sprintf(at, "y,x\n");
    nn_rng rng;
    nn_rng_init(&rng, 7, 0);
    double x[N];
    for (int i = 0; i < N; i++) {
        x[i] = nn_rng_normal(&rng) * 3 + 10;
        at += sprintf(at, "%d,%.17g\n", i, x[i]);
    }
    nn_table *a = csv(text);
    free(text);
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_BINS, NAMES("x"))->bins = BINS;
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p != NULL);
    qsort(x, N, sizeof *x, cmp);
    double e[BINS + 1];
    CHECK(p && state_edges(p, 0, e, BINS + 1) == BINS + 1);
    for (int k = 0; p && k <= BINS; k++) CHECK(e[k] == quantile(x, N, (double)k / BINS));
    /* every training row's code from the formula, the source column gone */
    CHECK(ta && nn_table_find(ta, "x") < 0 && ta->n_cols == 1 + BINS);
    for (int k = 0; ta && k < BINS; k++) {
        char name[32];
        snprintf(name, sizeof name, "x_bin%d", k);
        const double *b = col(ta, name), *src = a->cols[nn_table_find(a, "x")].num;
        CHECK(b != NULL);
        for (size_t i = 0; b && i < a->n_rows; i++)
            CHECK(b[i] == fmin(1, fmax(0, (src[i] - e[k]) / (e[k + 1] - e[k]))));
    }
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
}

/* Fits bins (4) of x on 1..9 (edges 1, 3, 5, 7, 9) and returns the codes of `rows` (x values). */
static nn_table *codes(nn_bins_encode enc, int keep, const char *rows) {
    nn_table *a = csv("y,x\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n"), *b = csv(rows);
    tspec t;
    tspec_init(&t, "y", NULL);
    nn_step *s = add_list(&t, NN_OP_BINS, NAMES("x"));
    s->bins = 4;
    s->encode = enc;
    s->keep = keep;
    nn_error err;
    nn_table *ta = NULL, *tb = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p && nn_pipe_transform(p, b, &tb, &err) == NN_OK);
    nn_pipe_destroy(p);
    nn_table_destroy(ta);
    nn_table_destroy(a);
    nn_table_destroy(b);
    return tb;
}

static void expect_row(const nn_table *t, size_t i, const double want[4]) {
    static const char *names[] = {"x_bin0", "x_bin1", "x_bin2", "x_bin3"};
    for (int k = 0; k < 4; k++) {
        const double *v = col(t, names[k]);
        CHECK(v != NULL);
        if (!v) continue;
        if (isnan(want[k]))
            CHECK(isnan(v[i]));
        else
            CHECK_NEAR(v[i], want[k], 0);
    }
}

static const char *probe = "y,x\n0,0\n0,1\n0,4\n0,5\n0,8.5\n0,9\n0,12\n0,\n";

static void test_bins_piecewise_codes(void) {
    nn_table *t = codes(NN_ENCODE_PIECEWISE, 0, probe);
    CHECK(t && nn_table_find(t, "x") < 0);
    const double nan = NAN;
    expect_row(t, 0, (double[]){0, 0, 0, 0});         /* below the training range */
    expect_row(t, 1, (double[]){0, 0, 0, 0});         /* the lowest edge */
    expect_row(t, 2, (double[]){1, 0.5, 0, 0});       /* halfway through bin 1 */
    expect_row(t, 3, (double[]){1, 1, 0, 0});         /* an inner edge */
    expect_row(t, 4, (double[]){1, 1, 1, 0.75});      /* in the last bin */
    expect_row(t, 5, (double[]){1, 1, 1, 1});         /* the highest edge */
    expect_row(t, 6, (double[]){1, 1, 1, 1});         /* above the training range */
    expect_row(t, 7, (double[]){nan, nan, nan, nan}); /* missing stays missing */
    nn_table_destroy(t);
}

static void test_bins_one_hot_codes_and_keep(void) {
    nn_table *t = codes(NN_ENCODE_ONE_HOT, 1, probe);
    const double *x = t ? col(t, "x") : NULL;
    CHECK(x && x[2] == 4); /* keep: the source column stays, unchanged */
    const double nan = NAN;
    expect_row(t, 0, (double[]){1, 0, 0, 0}); /* below the range: the first bin */
    expect_row(t, 1, (double[]){1, 0, 0, 0});
    expect_row(t, 2, (double[]){0, 1, 0, 0});
    expect_row(t, 3, (double[]){0, 0, 1, 0}); /* an edge belongs to the bin above it */
    expect_row(t, 4, (double[]){0, 0, 0, 1});
    expect_row(t, 5, (double[]){0, 0, 0, 1}); /* the highest edge: the last bin */
    expect_row(t, 6, (double[]){0, 0, 0, 1});
    expect_row(t, 7, (double[]){nan, nan, nan, nan});
    nn_table_destroy(t);
}

static void test_bins_ties_merge_and_constant_refused(void) {
    nn_table *a = csv("y,x,z\n1,1,5\n2,1,5\n3,1,5\n4,1,5\n5,2,5\n6,2,5\n7,3,5\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_BINS, NAMES("x"))->bins = 8;
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    double e[9];
    /* quantiles of 1,1,1,1,2,2,3 at k/8: 1 (five times), 1.75, 2, 2.25, 3 */
    CHECK(p && state_edges(p, 0, e, 9) == 5);
    CHECK(p && e[0] == 1 && e[1] == 1.75 && e[2] == 2 && e[3] == 2.25 && e[4] == 3);
    CHECK(ta && col(ta, "x_bin3") && !col(ta, "x_bin4"));
    nn_table_destroy(ta);
    nn_pipe_destroy(p);

    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_BINS, NAMES("z"));
    CHECK(fit(&t, a, &ta, &err) == NULL);
    CHECK_CONTAINS(err.msg, "column \"z\": bins needs at least two distinct training values, "
                            "found 1");
    char buf[512];
    plan_error(&t, a, buf, sizeof buf, NULL);
    CHECK_CONTAINS(buf, "/preprocess/0: column \"z\": bins needs at least two distinct");

    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_BINS, NAMES("y"));
    plan_error(&t, a, buf, sizeof buf, NULL);
    CHECK_STR(buf, "/preprocess/0/columns/0: \"y\" is a target; binning it would feed the target "
                   "to the network");
    nn_table_destroy(a);
}

static void test_bins_json_round_trip_and_corrupt_state(void) {
    nn_table *a = csv("y,x,w\n1,0.1,3\n2,0.7,1\n3,0.2,4\n4,1e-9,1\n5,0.33333333333333331,5\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_BINS, NAMES("x", "w"))->bins = 3;
    nn_error err;
    nn_table *ta = NULL, *tb = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err), *q = NULL;
    char *s1 = p ? state_text(p) : NULL;
    json_error_t jerr;
    json_t *j = s1 ? json_loads(s1, 0, &jerr) : NULL;
    CHECK(j && nn_pipe_from_json(&t.s, j, &q, &err) == NN_OK);
    char *s2 = q ? state_text(q) : NULL;
    CHECK_STR(s1, s2);
    CHECK(q && nn_pipe_transform(q, a, &tb, &err) == NN_OK);
    CHECK(tb && ta->n_cols == tb->n_cols && nn_pipe_n_features(q) == nn_pipe_n_features(p));
    for (size_t c = 0; tb && c < ta->n_cols; c++)
        for (size_t i = 0; i < ta->n_rows; i++) CHECK(ta->cols[c].num[i] == tb->cols[c].num[i]);
    /* the raw columns a loaded model reads: x and w, not their bins */
    CHECK(q && nn_pipe_n_inputs(q) == 2 && strcmp(nn_pipe_input(q, 0, NULL), "x") == 0);
    json_t *edges = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(j, "steps"), 0), "columns"),
                       0),
        "edges");
    json_array_set_new(edges, 1, json_real(-5)); /* no longer increasing */
    nn_pipe *r = NULL;
    CHECK(nn_pipe_from_json(&t.s, j, &r, &err) == NN_ERR_PARSE);
    CHECK_CONTAINS(err.msg, "bins edges must be increasing finite numbers");
    json_array_clear(edges);
    CHECK(nn_pipe_from_json(&t.s, j, &r, &err) == NN_ERR_PARSE);
    CHECK(r == NULL);
    json_decref(j);
    free(s1);
    free(s2);
    nn_table_destroy(ta);
    nn_table_destroy(tb);
    nn_pipe_destroy(p);
    nn_pipe_destroy(q);
    nn_table_destroy(a);
}

/* The spec's first problem as "pointer: message" ("" when it parses). */
static void spec_problem(const char *step, char *buf, size_t size, json_t **canon) {
    char text[512];
    snprintf(text, sizeof text,
             "{\"target\": \"y\", \"training\": {\"epochs\": 1}, \"preprocess\": [%s]}", step);
    nn_spec *s = NULL;
    nn_spec_errors errs = {0};
    buf[0] = '\0';
    if (nn_spec_parse(text, strlen(text), &s, &errs) != NN_OK && errs.n)
        snprintf(buf, size, "%s: %s", errs.items[0].pointer, errs.items[0].message);
    if (canon) *canon = s ? nn_spec_to_json(s) : NULL;
    nn_spec_destroy(s);
}

static void test_bins_spec_fields(void) {
    char buf[512];
    json_t *c = NULL;
    spec_problem("{\"op\": \"bins\", \"columns\": [\"x\"]}", buf, sizeof buf, &c);
    CHECK_STR(buf, "");
    json_t *step = json_array_get(json_object_get(c, "preprocess"), 0);
    CHECK(json_integer_value(json_object_get(step, "bins")) == 16);
    CHECK_STR(json_string_value(json_object_get(step, "encode")), "piecewise");
    CHECK(json_is_false(json_object_get(step, "keep")));
    json_decref(c);
    spec_problem("{\"op\": \"bins\", \"columns\": [\"x\"], \"bins\": 1}", buf, sizeof buf, NULL);
    CHECK_CONTAINS(buf, "/preprocess/0/bins: ");
    spec_problem("{\"op\": \"bins\", \"columns\": [\"x\"], \"bins\": 257}", buf, sizeof buf, NULL);
    CHECK_CONTAINS(buf, "/preprocess/0/bins: ");
    spec_problem("{\"op\": \"bins\", \"columns\": [\"x\"], \"encode\": \"ordinal\"}", buf,
                 sizeof buf, NULL);
    CHECK_CONTAINS(buf, "/preprocess/0/encode: ");
    CHECK_CONTAINS(buf, "piecewise, one_hot");
    spec_problem("{\"op\": \"normalize\", \"columns\": [\"x\"], \"bins\": 4}", buf, sizeof buf,
                 NULL);
    CHECK_CONTAINS(buf, "/preprocess/0/bins: ");
}

int main(void) {
    RUN(test_bins_edges_are_the_training_quantiles);
    RUN(test_bins_piecewise_codes);
    RUN(test_bins_one_hot_codes_and_keep);
    RUN(test_bins_ties_merge_and_constant_refused);
    RUN(test_bins_json_round_trip_and_corrupt_state);
    RUN(test_bins_spec_fields);
    return check_summary();
}
