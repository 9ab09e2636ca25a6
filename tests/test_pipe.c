/* test_pipe.c — preprocessing pipelines: every step fitted on training rows only and applied
 * with that state to other rows, exact reverts, domain and plan errors with their exact messages
 * and pointers, JSON round trips, and the King County seed pipeline's 34 features. Specs are
 * built by hand (no parser); tables come from CSV text through nn_csv. */
#include "pipe_fixture.h"

static void test_pipe_normalize_fits_on_training_rows_only(void) {
    nn_table *a = csv("y,x\n1,2\n2,6\n3,4\n"), *b = csv("y,x\n10,0\n20,8\n30,5\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_step(&t, NN_OP_NORMALIZE, NN_SEL_ALL, NULL, 0);
    nn_error err;
    nn_table *ta = NULL, *tb = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p != NULL);
    CHECK(nn_pipe_transform(p, b, &tb, &err) == NN_OK);
    /* b's values scaled with a's min 2 and max 6 (x) and min 1, max 3 (y) */
    CHECK(col(tb, "x")[0] == (0.0 - 2.0) / 4.0);
    CHECK(col(tb, "x")[1] == (8.0 - 2.0) / 4.0);
    CHECK(col(tb, "x")[2] == (5.0 - 2.0) / 4.0);
    CHECK(col(tb, "y")[1] == (20.0 - 1.0) / 2.0);
    CHECK(col(ta, "x")[1] == 1.0);
    double v[3] = {col(tb, "y")[0], col(tb, "y")[1], col(tb, "y")[2]};
    nn_pipe_revert(p, 0, v, 3);
    CHECK_NEAR(v[0], 10, 1e-12);
    CHECK_NEAR(v[1], 20, 1e-12);
    CHECK_NEAR(v[2], 30, 1e-12);
    nn_table_destroy(ta);
    nn_table_destroy(tb);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
    nn_table_destroy(b);
}

static void test_pipe_zscore_and_constant_columns(void) {
    nn_table *a = csv("y,x,c\n0,1,5\n0,2,5\n0,3,5\n0,6,5\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_step(&t, NN_OP_NORMALIZE, NN_SEL_INPUTS, NULL, 0)->method = NN_NORM_ZSCORE;
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p != NULL);
    double mean = 3.0, sd = sqrt((4.0 + 1.0 + 0.0 + 9.0) / 4.0); /* population sd */
    CHECK(col(ta, "x")[3] == (6.0 - mean) / sd);
    CHECK(col(ta, "c")[0] == 0.0); /* sd 0: scale 1 */
    CHECK(col(ta, "y")[0] == 0.0); /* "inputs" leaves the target alone */
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
}

static void test_pipe_minmax_revert_round_trip(void) {
    nn_table *a = csv("y,x\n123456.789,1\n-0.001,2\n3.5e7,3\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_NORMALIZE, NAMES("y"));
    add_list(&t, NN_OP_NORMALIZE, NAMES("y"))->method = NN_NORM_ZSCORE;
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p != NULL);
    double v[3];
    memcpy(v, col(ta, "y"), sizeof v);
    nn_pipe_revert(p, 0, v, 3);
    for (int i = 0; i < 3; i++) CHECK_REL(v[i], col(a, "y")[i], 1e-12);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
}

static void test_pipe_log_domain_errors_and_revert(void) {
    nn_table *a = csv("y,x,z\n100,1,0\n1000,0,-1\n10,5,3\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_LOG10, NAMES("y", "x"));
    nn_error err;
    nn_table *ta = NULL;
    CHECK(fit(&t, a, &ta, &err) == NULL);
    CHECK(err.code == NN_ERR_DOMAIN);
    CHECK_STR(err.msg, "column \"x\", row 2: log10 of 0 is undefined (values must be > 0; log1p "
                       "handles zeros)");
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_LOG1P, NAMES("z"));
    CHECK(fit(&t, a, &ta, &err) == NULL);
    CHECK_STR(err.msg, "column \"z\", row 2: log1p of -1 is undefined (values must be > -1)");
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_LOG10, NAMES("y"));
    add_list(&t, NN_OP_LOG, NAMES("x"));
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p == NULL); /* log of 0 */
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_LOG10, NAMES("y"));
    add_list(&t, NN_OP_LOG1P, NAMES("x"));
    p = fit(&t, a, &ta, &err);
    CHECK(p != NULL);
    CHECK(col(ta, "y")[1] == 3.0);
    CHECK(col(ta, "x")[2] == log1p(5.0));
    double v[2] = {2.0, 3.0};
    nn_pipe_revert(p, 0, v, 2);
    CHECK_NEAR(v[0], 100, 1e-9);
    CHECK_NEAR(v[1], 1000, 1e-9);
    /* the same domain check guards rows transformed later */
    nn_table *b = csv("y,x,z\n10,-2,0\n"), *tb = NULL;
    CHECK(nn_pipe_transform(p, b, &tb, &err) == NN_ERR_DOMAIN);
    CHECK_STR(err.msg, "column \"x\", row 1: log1p of -2 is undefined (values must be > -1)");
    nn_table_destroy(b);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
}

static void test_pipe_date_step_parts_keep_and_errors(void) {
    nn_table *a = csv("y,date\n1,20141013T000000\n2,\n3,20160229T123456\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    nn_step *s = add_list(&t, NN_OP_DATE, NAMES("date"));
    s->format = "%Y%m%dT%H%M%S";
    s->extract = NN_DATE_TIMESTAMP | NN_DATE_YEAR | NN_DATE_MONTH | NN_DATE_DAY | NN_DATE_WEEKDAY |
                 NN_DATE_YEARDAY;
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p != NULL);
    CHECK(ta && ta->n_cols == 7 && nn_table_find(ta, "date") < 0);
    CHECK_STR(ta->cols[1].name, "date_timestamp");
    CHECK_STR(ta->cols[6].name, "date_yearday");
    CHECK(col(ta, "date_timestamp")[0] == 1413158400);
    CHECK(col(ta, "date_weekday")[0] == 0);
    CHECK(isnan(col(ta, "date_month")[1])); /* missing stays missing */
    CHECK(col(ta, "date_timestamp")[2] == 1456749296);
    CHECK(col(ta, "date_yearday")[2] == 60);
    CHECK(col(ta, "date_year")[2] == 2016 && col(ta, "date_day")[2] == 29);
    nn_table *b = csv("y,date\n1,20141013T000000\n1,2014-10-13\n"), *tb = NULL;
    CHECK(nn_pipe_transform(p, b, &tb, &err) == NN_ERR_DATA);
    CHECK_STR(err.msg,
              "column \"date\", row 2: \"2014-10-13\" does not match format \"%Y%m%dT%H%M%S\"");
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    s->keep = 1; /* a kept text source must go before the end */
    p = fit(&t, a, &ta, &err);
    CHECK(p == NULL);
    CHECK_STR(err.msg, "/preprocess: text column \"date\" remains; drop it, or turn it into "
                       "numbers with one_hot or date");
    add_list(&t, NN_OP_DROP, NAMES("date"));
    p = fit(&t, a, &ta, &err);
    CHECK(p && nn_table_find(ta, "date") < 0 && nn_table_find(ta, "date_day") == 4);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
    nn_table_destroy(b);
}

static void test_pipe_replace_touches_only_matching_rows(void) {
    nn_table *a = csv("y,yr_built,yr_renovated,w\n1,1950,0,\n2,1960,1991,5\n3,1970,0,7\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    nn_step *s = add_list(&t, NN_OP_REPLACE, NAMES("yr_renovated"));
    s->equal = 0;
    s->with_column = "yr_built";
    s = add_list(&t, NN_OP_REPLACE, NAMES("w"));
    s->equal_missing = 1;
    s->with = -1;
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p != NULL);
    CHECK(col(ta, "yr_renovated")[0] == 1950);
    CHECK(col(ta, "yr_renovated")[1] == 1991); /* untouched (the seed zeroed these) */
    CHECK(col(ta, "yr_renovated")[2] == 1970);
    CHECK(col(ta, "w")[0] == -1 && col(ta, "w")[1] == 5 && col(ta, "w")[2] == 7);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
}

static void test_pipe_square_order_and_target_leak(void) {
    nn_table *a = csv("price,a,b,c\n1,2,3,4\n");
    tspec t;
    tspec_init(&t, "price", NULL);
    add_list(&t, NN_OP_SQUARE, NAMES("c", "a"));
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p && ta->n_cols == 6);
    CHECK_STR(ta->cols[4].name, "c^2");
    CHECK_STR(ta->cols[5].name, "a^2");
    CHECK(col(ta, "c^2")[0] == 16);
    CHECK(nn_pipe_n_features(p) == 5);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    char msg[512];
    tspec_init(&t, "price", NULL);
    add_list(&t, NN_OP_SQUARE, NAMES("a", "price"));
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/preprocess/0/columns/1: \"price\" is a target; squaring it would feed the "
                   "target to the network");
    tspec_init(&t, "price", NULL);
    add_step(&t, NN_OP_SQUARE, NN_SEL_ALL, NULL, 0); /* "all" skips targets for square */
    p = fit(&t, a, &ta, &err);
    CHECK(p && nn_table_find(ta, "price^2") < 0 && nn_table_find(ta, "b^2") >= 0);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
}

static void test_pipe_filter_outliers_tukey_fences(void) {
    /* x sorted: 1 2 3 4 5 6 7 100; n = 8, Q1 at 1.75 → 2.75, Q3 at 5.25 → 6.25, IQR 3.5,
       fences 2.75 − 5.25 = −2.5 and 6.25 + 5.25 = 11.5: only 100 goes. z: 10 × 7 and −50;
       Q1 = Q3 = 10, fences [10, 10]: −50 goes. Fences for both come from all 8 rows. */
    nn_table *a = csv("y,x,z\n1,5,10\n2,100,10\n3,1,10\n4,2,-50\n5,3,10\n6,4,10\n7,6,10\n8,7,10\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_FILTER_OUTLIERS, NAMES("x", "z"));
    nn_error err;
    nn_pipe *p = NULL;
    nn_table *ta = NULL;
    size_t *kept = NULL;
    CHECK(nn_pipe_fit(&t.s, a, &p, &ta, &kept, &err) == NN_OK);
    CHECK(ta && ta->n_rows == 6);
    size_t want[6] = {0, 2, 4, 5, 6, 7};
    for (int i = 0; i < 6 && kept; i++) CHECK(kept[i] == want[i]);
    json_t *j = nn_pipe_to_json(p);
    json_t *c0 = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "steps"), 0), "columns"), 0);
    CHECK(json_real_value(json_object_get(c0, "lo")) == -2.5);
    CHECK(json_real_value(json_object_get(c0, "hi")) == 11.5);
    json_decref(j);
    nn_table *tb = NULL; /* transforming never filters */
    CHECK(nn_pipe_transform(p, a, &tb, &err) == NN_OK && tb->n_rows == 8);
    nn_table_destroy(tb);
    free(kept);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
}

static void test_pipe_filter_then_normalize_sees_filtered_rows(void) {
    nn_table *a = csv("y,x\n1,1\n1,2\n1,3\n1,4\n1,1000\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_FILTER_OUTLIERS, NAMES("x"));
    add_list(&t, NN_OP_NORMALIZE, NAMES("x"));
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p && ta->n_rows == 4);
    CHECK(col(ta, "x")[3] == 1.0); /* max 4, not 1000 */
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
}

static void test_pipe_errors_after_filtering_name_rows_of_the_given_table(void) {
    nn_table *a = csv("y,x\n1,1\n1,2\n1,1000\n1,0\n1,3\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_FILTER_OUTLIERS, NAMES("x"))->k = 100;
    add_list(&t, NN_OP_LOG10, NAMES("x"));
    nn_error err;
    nn_table *ta = NULL;
    CHECK(fit(&t, a, &ta, &err) == NULL); /* 1000 is filtered; the 0 is row 4 of a */
    CHECK_STR(err.msg, "column \"x\", row 4: log10 of 0 is undefined (values must be > 0; log1p "
                       "handles zeros)");
    nn_table_destroy(a);
}

static void test_pipe_one_hot_categories_unseen_and_cap(void) {
    nn_table *a = csv("y,city,rooms\n1,b,2\n2,a,2\n3,c,3\n4,b,3\n5,,1.5\n6,a,2\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_ONE_HOT, NAMES("city"))->max_categories = 2;
    add_list(&t, NN_OP_ONE_HOT, NAMES("rooms"));
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p != NULL);
    /* a and b twice each, c once: the two kept are a and b; output in value order */
    CHECK(ta && ta->n_cols == 6);
    CHECK_STR(ta->cols[1].name, "city=a");
    CHECK_STR(ta->cols[2].name, "city=b");
    CHECK_STR(ta->cols[3].name, "rooms=1.5");
    CHECK_STR(ta->cols[4].name, "rooms=2");
    CHECK(col(ta, "city=a")[1] == 1 && col(ta, "city=b")[1] == 0);
    CHECK(col(ta, "city=a")[2] == 0 && col(ta, "city=b")[2] == 0); /* c: over the cap */
    CHECK(col(ta, "city=a")[4] == 0 && col(ta, "city=b")[4] == 0); /* missing */
    nn_table *b = csv("y,city,rooms\n1,zzz,7\n"), *tb = NULL;
    CHECK(nn_pipe_transform(p, b, &tb, &err) == NN_OK);
    CHECK(tb && col(tb, "city=a")[0] == 0 && col(tb, "city=b")[0] == 0); /* unseen */
    CHECK(tb && col(tb, "rooms=3")[0] == 0 && nn_table_find(tb, "rooms=7") < 0);
    nn_table_destroy(tb);
    nn_table_destroy(b);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
}

static void test_pipe_impute_strategies(void) {
    nn_table *a = csv("y,x,name\n1,1,p\n2,,q\n3,2,r\n4,10,s\n");
    tspec t;
    tspec_init(&t, "y", "name");
    add_list(&t, NN_OP_IMPUTE, NAMES("x"));
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p && col(ta, "x")[1] == 13.0 / 3.0);
    nn_table *b = csv("y,x,name\n1,,p\n"), *tb = NULL;
    CHECK(nn_pipe_transform(p, b, &tb, &err) == NN_OK && col(tb, "x")[0] == 13.0 / 3.0);
    nn_table_destroy(tb);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    t.steps[0].strategy = NN_IMPUTE_MEDIAN;
    p = fit(&t, a, &ta, &err);
    CHECK(p && col(ta, "x")[1] == 2.0);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    t.steps[0].strategy = NN_IMPUTE_CONSTANT;
    t.steps[0].value = -7;
    p = fit(&t, a, &ta, &err);
    CHECK(p && col(ta, "x")[1] == -7.0);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    char msg[512];
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_IMPUTE, NAMES("name"));
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/preprocess/0/columns/0: column \"name\" is text; impute needs numbers");
    nn_table_destroy(b);
    nn_table_destroy(a);
}

static void test_pipe_selectors_inputs_all_except(void) {
    nn_table *a = csv("id,y,a,b,c\nk1,1,2,3,4\nk2,5,6,7,8\n");
    tspec t;
    tspec_init(&t, "y", "id");
    add_step(&t, NN_OP_SQUARE, NN_SEL_INPUTS, NULL, 0)->cols.except = (char *[]){"b"};
    t.steps[0].cols.n_except = 1;
    nn_error err;
    nn_table *ta = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    CHECK(p && ta->n_cols == 7);
    CHECK(nn_table_find(ta, "a^2") == 5 && nn_table_find(ta, "c^2") == 6);
    CHECK(nn_table_find(ta, "b^2") < 0 && nn_table_find(ta, "y^2") < 0);
    CHECK(p && nn_pipe_n_features(p) == 5);
    CHECK_STR(nn_pipe_feature(p, 0), "a");
    CHECK_STR(nn_pipe_feature(p, 4), "c^2");
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    char msg[512];
    t.steps[0].cols.except = (char *[]){"bb"};
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/preprocess/0/columns/except/0: no column \"bb\" (did you mean \"b\"?)");
    tspec_init(&t, "y", "id");
    add_step(&t, NN_OP_LOG10, NN_SEL_TARGET, NULL, 0);
    p = fit(&t, a, &ta, &err);
    CHECK(p && col(ta, "y")[1] == log10(5.0) && col(ta, "a")[1] == 6.0);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    tspec_init(&t, "y", "id");
    add_step(&t, NN_OP_IMPUTE, NN_SEL_TARGET, NULL, 0);
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/preprocess/0/columns: \"y\" is a target; impute cannot be reverted on "
                   "predictions");
    nn_table_destroy(a);
}

static void test_pipe_plan_errors_pointers_and_suggestions(void) {
    nn_table *a = csv("id,date,price,sqft_living,bedrooms\n1,20141013T000000,5,100,3\n");
    tspec t;
    tspec_init(&t, "price", "id");
    add_list(&t, NN_OP_DROP, NAMES("bedrooms"));
    add_list(&t, NN_OP_NORMALIZE, NAMES("sqft_living"));
    add_list(&t, NN_OP_SQUARE, NAMES("sqft_living"));
    add_list(&t, NN_OP_LOG10, NAMES("date", "sqft_livng"));
    char msg[512];
    size_t n = 0;
    plan_error(&t, a, msg, sizeof msg, &n);
    CHECK_STR(msg, "/preprocess/3/columns/0: column \"date\" is text; log10 needs numbers");
    nn_spec_errors errs = {0};
    nn_plan *plan = NULL;
    CHECK(nn_pipe_plan(&t.s, a, &plan, &errs) == NN_ERR_SPEC);
    CHECK(errs.n == 3);
    CHECK_STR(errs.items[1].pointer, "/preprocess/3/columns/1");
    CHECK_STR(errs.items[1].message, "no column \"sqft_livng\" (did you mean \"sqft_living\"?)");
    CHECK_STR(errs.items[2].pointer, "/preprocess"); /* date is still text at the end */
    CHECK_STR(errs.items[2].message, "text column \"date\" remains; drop it, or turn it into "
                                     "numbers with one_hot or date");
    tspec_init(&t, "prize", "idd");
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/target: no column \"prize\" (did you mean \"price\"?)");
    tspec_init(&t, "date", NULL); /* a text target is a classification's, unless told */
    add_list(&t, NN_OP_DROP, NAMES("id"));
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/target: column \"date\" has one class (\"20141013T000000\", 1 rows); a "
                   "classification needs two or more");
    t.s.task = NN_TASK_REGRESSION;
    t.s.task_given = 1;
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/target: column \"date\" is text; a regression target must be numeric "
                   "(leave out \"task\" or set it to \"classification\" to predict its labels)");
    tspec_init(&t, "price", "idd");
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/id: no column \"idd\" (did you mean \"id\"?)");
    tspec_init(&t, "price", "id");
    t.s.targets[1] = "bedroms";
    t.s.n_targets = 2;
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/target/1: no column \"bedroms\" (did you mean \"bedrooms\"?)");
    tspec_init(&t, "price", "id");
    add_list(&t, NN_OP_DATE, NAMES("sqft_living"))->format = "%Y";
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/preprocess/0/columns/0: column \"sqft_living\" is a number; date needs text "
                   "(list it in \"text_columns\")");
    tspec_init(&t, "price", "id");
    add_list(&t, NN_OP_REPLACE, NAMES("price"));
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/preprocess/0/columns/0: \"price\" is a target; replace cannot be reverted on "
                   "predictions");
    tspec_init(&t, "price", "id");
    add_list(&t, NN_OP_DROP, NAMES("date", "sqft_living", "bedrooms"));
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/preprocess: no input features remain");
    tspec_init(&t, "price", "id");
    add_list(&t, NN_OP_DATE, NAMES("date"))->format = "%Y-%q";
    plan_error(&t, a, msg, sizeof msg, NULL);
    CHECK_STR(msg, "/preprocess/0/format: unsupported directive %q");
    nn_table_destroy(a);
}

static void test_pipe_plan_reports_data_problems_and_counts_params(void) {
    nn_table *a = csv("y,x,d\n1,0,20141013T000000\n2,3,bad\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_LOG10, NAMES("x"));
    add_list(&t, NN_OP_DATE, NAMES("d"))->format = "%Y%m%dT%H%M%S";
    nn_spec_errors errs = {0};
    nn_plan *plan = NULL;
    CHECK(nn_pipe_plan(&t.s, a, &plan, &errs) == NN_ERR_SPEC && errs.n == 2);
    CHECK_STR(errs.items[0].pointer, "/preprocess/0");
    CHECK_STR(errs.items[1].message,
              "column \"d\", row 2: \"bad\" does not match format \"%Y%m%dT%H%M%S\"");
    t.s.n_steps = 0;
    add_list(&t, NN_OP_DROP, NAMES("d"));
    add_list(&t, NN_OP_SQUARE, NAMES("x"));
    t.hidden[0].units = 4;
    t.s.hidden = t.hidden;
    t.s.n_hidden = 1;
    memset(&errs, 0, sizeof errs);
    CHECK(nn_pipe_plan(&t.s, a, &plan, &errs) == NN_OK);
    CHECK(plan && plan->n_features == 2 && plan->n_params == 2 * 4 + 4 + 4 + 1);
    CHECK_STR(plan ? plan->features[1] : NULL, "x^2");
    nn_plan_destroy(plan);
    nn_table_destroy(a);
}

static void test_pipe_validation_rows_never_reach_fitted_state(void) {
    const char *head = "y,x,c\n";
    char text[1024];
    snprintf(text, sizeof text, "%s1,1,a\n2,2,b\n3,3,a\n4,4,c\n5,5,b\n6,6,a\n", head);
    nn_table *full = csv(text);
    snprintf(text, sizeof text, "%s1,1,a\n2,2,b\n3,3,a\n4,4,zz\n5,1e9,yy\n6,-8,yy\n", head);
    nn_table *poisoned = csv(text); /* rows 3..5 (the validation rows) differ */
    size_t train_rows[3] = {0, 1, 2};
    nn_table *t1, *t2, *o1, *o2, *val = NULL;
    nn_error err;
    CHECK(nn_table_select_rows(full, train_rows, 3, &t1, &err) == NN_OK);
    CHECK(nn_table_select_rows(poisoned, train_rows, 3, &t2, &err) == NN_OK);
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_ONE_HOT, NAMES("c"));
    add_list(&t, NN_OP_BINS, NAMES("x"))->bins = 2;
    add_step(&t, NN_OP_FILTER_OUTLIERS, NN_SEL_INPUTS, NULL, 0);
    add_step(&t, NN_OP_NORMALIZE, NN_SEL_ALL, NULL, 0)->method = NN_NORM_ZSCORE;
    nn_pipe *p1 = fit(&t, t1, &o1, &err), *p2 = fit(&t, t2, &o2, &err);
    char *s1 = state_text(p1), *s2 = state_text(p2);
    CHECK_STR(s1, s2);
    CHECK(nn_pipe_transform(p1, poisoned, &val, &err) == NN_OK); /* applying changes nothing */
    char *s3 = state_text(p1);
    CHECK_STR(s1, s3);
    free(s1);
    free(s2);
    free(s3);
    nn_table_destroy(val);
    nn_table_destroy(o1);
    nn_table_destroy(o2);
    nn_pipe_destroy(p1);
    nn_pipe_destroy(p2);
    nn_table_destroy(t1);
    nn_table_destroy(t2);
    nn_table_destroy(full);
    nn_table_destroy(poisoned);
}

static void test_pipe_json_round_trip_is_exact(void) {
    nn_table *a = csv("y,x,c,k\n1.1,0.3,a,7\n2.7,0.1,b,\n3.3,1e-7,a,9\n");
    tspec t;
    tspec_init(&t, "y", NULL);
    add_list(&t, NN_OP_LOG, NAMES("y"));
    add_list(&t, NN_OP_IMPUTE, NAMES("k"))->strategy = NN_IMPUTE_MEDIAN;
    add_list(&t, NN_OP_ONE_HOT, NAMES("c", "k"));
    add_step(&t, NN_OP_FILTER_OUTLIERS, NN_SEL_INPUTS, NULL, 0)->k = 3;
    add_step(&t, NN_OP_NORMALIZE, NN_SEL_ALL, NULL, 0)->method = NN_NORM_ZSCORE;
    nn_error err;
    nn_table *ta = NULL, *tb = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err), *q = NULL;
    CHECK(p != NULL);
    char *s1 = state_text(p);
    json_error_t jerr;
    json_t *j = json_loads(s1, 0, &jerr);
    CHECK(nn_pipe_from_json(&t.s, j, &q, &err) == NN_OK);
    char *s2 = q ? state_text(q) : NULL;
    CHECK_STR(s1, s2);
    CHECK(q && nn_pipe_transform(q, a, &tb, &err) == NN_OK);
    CHECK(tb && ta->n_cols == tb->n_cols);
    for (size_t c = 0; tb && c < ta->n_cols; c++)
        for (size_t i = 0; i < ta->n_rows; i++) CHECK(ta->cols[c].num[i] == tb->cols[c].num[i]);
    double v1[1] = {0.25}, v2[1] = {0.25};
    nn_pipe_revert(p, 0, v1, 1);
    if (q) nn_pipe_revert(q, 0, v2, 1);
    CHECK(v1[0] == v2[0]);
    t.s.n_steps = 4; /* a different spec is refused */
    nn_pipe *r = NULL;
    CHECK(nn_pipe_from_json(&t.s, j, &r, &err) == NN_ERR_PARSE);
    json_decref(j);
    free(s1);
    free(s2);
    nn_table_destroy(ta);
    nn_table_destroy(tb);
    nn_pipe_destroy(p);
    nn_pipe_destroy(q);
    nn_table_destroy(a);
}

static void test_pipe_matrices_and_rows_without_targets(void) {
    nn_table *a = csv("id,y,a,b\nr1,1,2,3\nr2,4,5,6\n");
    tspec t;
    tspec_init(&t, "y", "id");
    add_list(&t, NN_OP_LOG10, NAMES("y"));
    add_step(&t, NN_OP_NORMALIZE, NN_SEL_TARGET, NULL, 0);
    nn_error err;
    nn_table *ta = NULL, *tb = NULL;
    nn_pipe *p = fit(&t, a, &ta, &err);
    nn_float *x = NULL, *y = NULL;
    CHECK(p && nn_pipe_matrices(p, ta, &x, &y, &err) == NN_OK);
    CHECK(x && x[0] == 2 && x[1] == 3 && x[2] == 5 && x[3] == 6);
    CHECK(y && y[0] == 0 && y[1] == 1);
    free(x);
    free(y);
    nn_table *b = csv("id,a,b\nr3,7,\n"); /* rows to predict: no target */
    CHECK(nn_pipe_transform(p, b, &tb, &err) == NN_OK);
    CHECK(nn_pipe_matrices(p, tb, &x, NULL, &err) == NN_ERR_DATA);
    CHECK_STR(err.msg, "column \"b\", row 1: missing value (add an impute step)");
    nn_table_destroy(tb);
    nn_table_destroy(b);
    nn_table_destroy(ta);
    nn_pipe_destroy(p);
    nn_table_destroy(a);
}

/* The seed's King County model (seed-census §2): 15 base inputs, date_timestamp and
 * date_month, each squared, all min-max normalized: 34 inputs, 2,481 parameters. */
static char *kc_drop[] = {"zipcode", "sqft_living15", "sqft_lot15"};
static char *kc_date[] = {"date"};
static char *kc_renovated[] = {"yr_renovated"};
static char *kc_log10[] = {"price", "sqft_living", "sqft_above"};

static void kc_seed_spec(tspec *t) {
    tspec_init(t, "price", "id");
    add_list(t, NN_OP_DROP, kc_drop, 3);
    nn_step *s = add_list(t, NN_OP_DATE, kc_date, 1);
    s->format = "%Y%m%dT%H%M%S";
    s->extract = NN_DATE_TIMESTAMP | NN_DATE_MONTH;
    s = add_list(t, NN_OP_REPLACE, kc_renovated, 1);
    s->with_column = "yr_built";
    add_list(t, NN_OP_LOG10, kc_log10, 3);
    add_step(t, NN_OP_SQUARE, NN_SEL_INPUTS, NULL, 0);
    add_step(t, NN_OP_NORMALIZE, NN_SEL_ALL, NULL, 0);
    for (int i = 0; i < 8; i++) t->hidden[i].units = 16;
    t->s.hidden = t->hidden;
    t->s.n_hidden = 8;
}

static nn_table *read_kc(void) {
    const char *dir = getenv("NN_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/kc_house_data.csv", dir ? dir : "..");
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    else
        snprintf(path, sizeof path, "%s/../shared/data/kc_house_data.csv", dir ? dir : "..");
    nn_table *all = NULL;
    nn_error err;
    CHECK(nn_csv_read_file(path, NULL, &all, &err) == NN_OK);
    if (!all) fprintf(stderr, "%s\n", err.msg);
    return all;
}

static void test_pipe_king_county_seed_pipeline(void) {
    nn_table *all = read_kc(), *slice = NULL, *ta = NULL;
    nn_error err;
    if (!all) return;
    size_t rows[2000];
    for (size_t i = 0; i < 2000; i++) rows[i] = i;
    CHECK(nn_table_select_rows(all, rows, 2000, &slice, &err) == NN_OK);
    tspec t;
    kc_seed_spec(&t);
    nn_spec_errors errs = {0};
    nn_plan *plan = NULL;
    CHECK(nn_pipe_plan(&t.s, slice, &plan, &errs) == NN_OK);
    if (errs.n) fprintf(stderr, "plan: %s: %s\n", errs.items[0].pointer, errs.items[0].message);
    CHECK(plan && plan->n_features == 34);
    CHECK(plan && plan->n_params == 2481);
    nn_pipe *p = fit(&t, slice, &ta, &err);
    CHECK(p && nn_pipe_n_features(p) == 34);
    CHECK_STR(p ? nn_pipe_feature(p, 14) : NULL, "long");
    CHECK_STR(p ? nn_pipe_feature(p, 15) : NULL, "date_timestamp");
    CHECK_STR(p ? nn_pipe_feature(p, 16) : NULL, "date_month");
    CHECK_STR(p ? nn_pipe_feature(p, 33) : NULL, "date_month^2");
    nn_float *x = NULL, *y = NULL;
    CHECK(p && nn_pipe_matrices(p, ta, &x, &y, &err) == NN_OK);
    /* first row: 7129300520, 20141013T000000, 221900 — revert gives the price back */
    double v[1] = {y ? (double)y[0] : 0};
    if (p) nn_pipe_revert(p, 0, v, 1);
    CHECK_REL(v[0], 221900, sizeof(nn_float) == 4 ? 1e-5 : 1e-12);
    free(x);
    free(y);
    nn_plan_destroy(plan);
    nn_pipe_destroy(p);
    nn_table_destroy(ta);
    nn_table_destroy(slice);
    nn_table_destroy(all);
}

/* The parsed example spec on the whole file: fit on 7/8 of the rows, apply to the rest. */
static void test_pipe_king_county_example_spec_on_all_rows(void) {
    const char *dir = getenv("NN_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/kc_house_seed.json", dir ? dir : "..");
    nn_spec *spec = NULL;
    nn_spec_errors errs = {0};
    CHECK(nn_spec_parse_file(path, &spec, &errs) == NN_OK);
    nn_table *all = read_kc(), *train = NULL, *val = NULL, *ttrain = NULL, *tval = NULL;
    if (!spec || !all) goto done;
    nn_plan *plan = NULL;
    CHECK(nn_pipe_plan(spec, all, &plan, &errs) == NN_OK);
    CHECK(plan && plan->n_features == 34 && plan->n_params == 2481);
    nn_plan_destroy(plan);
    size_t n = all->n_rows, n_val = 0, n_train = 0;
    size_t *vi = malloc(n * sizeof *vi), *ti = malloc(n * sizeof *ti);
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 3)
            vi[n_val++] = i;
        else
            ti[n_train++] = i;
    }
    nn_error err;
    CHECK(nn_table_select_rows(all, ti, n_train, &train, &err) == NN_OK);
    CHECK(nn_table_select_rows(all, vi, n_val, &val, &err) == NN_OK);
    free(vi);
    free(ti);
    nn_pipe *p = NULL;
    CHECK(nn_pipe_fit(spec, train, &p, &ttrain, NULL, &err) == NN_OK);
    CHECK(ttrain && ttrain->n_rows == n_train); /* no row filter in this spec */
    CHECK(p && nn_pipe_transform(p, val, &tval, &err) == NN_OK);
    nn_float *x = NULL;
    CHECK(tval && nn_pipe_matrices(p, tval, &x, NULL, &err) == NN_OK);
    free(x);
    nn_pipe_destroy(p);
done:
    nn_table_destroy(ttrain);
    nn_table_destroy(tval);
    nn_table_destroy(train);
    nn_table_destroy(val);
    nn_table_destroy(all);
    nn_spec_destroy(spec);
}

int main(void) {
    RUN(test_pipe_normalize_fits_on_training_rows_only);
    RUN(test_pipe_zscore_and_constant_columns);
    RUN(test_pipe_minmax_revert_round_trip);
    RUN(test_pipe_log_domain_errors_and_revert);
    RUN(test_pipe_date_step_parts_keep_and_errors);
    RUN(test_pipe_replace_touches_only_matching_rows);
    RUN(test_pipe_square_order_and_target_leak);
    RUN(test_pipe_filter_outliers_tukey_fences);
    RUN(test_pipe_filter_then_normalize_sees_filtered_rows);
    RUN(test_pipe_errors_after_filtering_name_rows_of_the_given_table);
    RUN(test_pipe_one_hot_categories_unseen_and_cap);
    RUN(test_pipe_impute_strategies);
    RUN(test_pipe_selectors_inputs_all_except);
    RUN(test_pipe_plan_errors_pointers_and_suggestions);
    RUN(test_pipe_plan_reports_data_problems_and_counts_params);
    RUN(test_pipe_validation_rows_never_reach_fitted_state);
    RUN(test_pipe_json_round_trip_is_exact);
    RUN(test_pipe_matrices_and_rows_without_targets);
    RUN(test_pipe_king_county_seed_pipeline);
    RUN(test_pipe_king_county_example_spec_on_all_rows);
    return check_summary();
}
