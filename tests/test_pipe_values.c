/* test_pipe_values.c — the plan refuses values the network cannot take, saying where: missing
 * inputs, a step that overflows, and a finite double too large for nn_float (float builds). */
#include "check.h"
#include "cv_fixture.h"

/* The first plan problem as "pointer: message", or "" when the plan succeeds. */
static void plan_error(const char *spec_json, const char *csv, char *buf, size_t size) {
    nn_spec *spec = parse(spec_json);
    nn_table *t = NULL;
    nn_error err = {0};
    buf[0] = '\0';
    CHECK(nn_csv_read_mem(csv, strlen(csv), NULL, &t, &err) == NN_OK);
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    nn_plan *plan = NULL;
    if (t && nn_pipe_plan(spec, t, &plan, &errs) != NN_OK && errs.n)
        (void)snprintf(buf, size, "%s: %s", errs.items[0].pointer, errs.items[0].message);
    nn_plan_destroy(plan);
    nn_table_destroy(t);
    nn_spec_destroy(spec);
}

/* three rows: three folds, so that only the values can be wrong */
static const char plain[] = "{\"target\": \"y\", \"training\": {\"epochs\": 1, "
                            "\"validation\": {\"k\": 3}}}";
static const char squared[] = "{\"target\": \"y\", \"preprocess\": [{\"op\": \"square\", "
                              "\"columns\": \"inputs\"}], \"training\": {\"epochs\": 1}}";

static void test_plan_refuses_missing_inputs(void) {
    char buf[512];
    plan_error(plain, "a,b,y\n1,2,3\nNaN,5,6\n7,8,9\n", buf, sizeof buf);
    CHECK_STR(buf, "/preprocess: column \"a\" has 1 missing value (first in row 2); add an "
                   "impute step or remove those rows");
}

static void test_plan_refuses_overflowing_step(void) {
    char buf[512];
    plan_error(squared, "a,b,y\n1,2,3\n1e200,5,6\n7,8,9\n", buf, sizeof buf);
    CHECK_STR(buf, "/preprocess/0: column \"a^2\", row 2: the square step gives an infinite "
                   "value; scale, log or clip the input first");
}

static void test_plan_refuses_values_too_large_for_nn_float(void) {
    char buf[512];
    plan_error(plain, "a,b,y\n1,2,3\n1e200,5,6\n7,8,9\n", buf, sizeof buf);
#ifdef NN_DOUBLE
    CHECK_STR(buf, ""); /* 1e200 is a finite double */
#else
    CHECK_CONTAINS(buf, "column \"a\", row 2: 1e+200 is too large for a float");
#endif
}

int main(void) {
    RUN(test_plan_refuses_missing_inputs);
    RUN(test_plan_refuses_overflowing_step);
    RUN(test_plan_refuses_values_too_large_for_nn_float);
    return check_summary();
}
