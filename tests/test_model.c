/* test_model.c — model files: a trained model saved and loaded back gives the same JSON text,
 * the same parameters and bit-identical predictions; rows without the target predict the same;
 * truncated or edited files are refused with the JSON pointer of the problem. */
#include "check.h"
#include "cv_fixture.h"
#include "nn_csv.h"
#include "nn_cv.h"
#include "nn_model.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

static nn_table *kc; /* the first 400 King County rows, id as text */

static const char spec_json[] =
    "{\"name\": \"kc-model\", \"seed\": 3, \"target\": \"price\", \"id\": \"id\","
    " \"preprocess\": ["
    "  {\"op\": \"drop\", \"columns\": [\"zipcode\", \"sqft_living15\", \"sqft_lot15\"]},"
    "  {\"op\": \"date\", \"column\": \"date\", \"format\": \"%Y%m%dT%H%M%S\","
    "   \"extract\": [\"timestamp\", \"month\"]},"
    "  {\"op\": \"replace\", \"column\": \"yr_renovated\", \"equal\": 0,"
    "   \"with_column\": \"yr_built\"},"
    "  {\"op\": \"log10\", \"columns\": [\"sqft_living\", \"sqft_above\", \"price\"]},"
    "  {\"op\": \"normalize\", \"columns\": \"all\", \"method\": \"zscore\"}],"
    " \"network\": {\"hidden\": [{\"units\": 5, \"activation\": \"tanh\"}]},"
    " \"training\": {\"epochs\": 3, \"batch_size\": 32, \"validation\": {\"type\": \"none\"}}}";

/* Trains the tiny job of spec text on kc; returns its model (owned). */
static nn_model *train_text(const char *text) {
    nn_spec *spec = NULL;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    if (nn_spec_parse(text, strlen(text), &spec, &errs) != NN_OK) {
        fprintf(stderr, "spec: %s: %s\n", errs.items[0].pointer, errs.items[0].message);
        return NULL;
    }
    nn_cv *cv = NULL;
    nn_error err = {0};
    nn_model *m = NULL;
    if (nn_cv_create(spec, kc, NULL, &cv, &errs, &err) == NN_OK && nn_cv_run(cv, 1, &err) == NN_OK)
        m = nn_cv_take_model(cv);
    else
        fprintf(stderr, "train: %s\n", err.msg);
    nn_cv_destroy(cv);
    nn_spec_destroy(spec); /* the model keeps its own copy */
    return m;
}

static nn_model *train_model(void) { return train_text(spec_json); }

static char tmpdir[] = "/tmp/test_model_XXXXXX";

static void tmp_path(char *buf, size_t size, const char *name) {
    (void)snprintf(buf, size, "%s/%s", tmpdir, name);
}

static int write_file(const char *path, const char *text, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(text, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

static void test_model_save_load_round_trip(void) {
    nn_model *m = train_model();
    CHECK(m != NULL);
    if (!m) return;
    char path[512];
    tmp_path(path, sizeof path, "model.json");
    nn_error err = {0};
    CHECK(nn_model_save(m, path, &err) == NN_OK);
    nn_model *l = NULL;
    CHECK(nn_model_load(path, &l, &err) == NN_OK);
    if (!l) {
        fprintf(stderr, "load: %s\n", err.msg);
        nn_model_destroy(m);
        return;
    }
    char *a = nn_model_to_json(m), *b = nn_model_to_json(l);
    CHECK(a && b && strcmp(a, b) == 0);
    /* the file is the JSON text plus a newline */
    FILE *f = fopen(path, "rb");
    char *file = a ? calloc(strlen(a) + 2, 1) : NULL;
    if (f && file) CHECK(fread(file, 1, strlen(a) + 1, f) == strlen(a) + 1);
    if (f) (void)fclose(f);
    if (file) {
        CHECK(strncmp(file, a, strlen(a)) == 0 && file[strlen(a)] == '\n');
        free(file);
    }
    /* envelope fields */
    json_error_t jerr;
    json_t *root = a ? json_loads(a, 0, &jerr) : NULL;
    CHECK(root != NULL);
    if (root) {
        CHECK_STR(json_string_value(json_object_get(root, "format")), "nnd-model");
        CHECK(json_integer_value(json_object_get(root, "version")) == 1);
        CHECK_STR(json_string_value(json_object_get(root, "nn_float")), NN_FLOAT_NAME);
        CHECK_STR(json_string_value(json_object_get(root, "spec_hash")), nn_model_spec(m)->hash);
        json_t *targets = json_object_get(root, "targets");
        CHECK(json_array_size(targets) == 1);
        CHECK_STR(json_string_value(json_array_get(targets, 0)), "price");
        CHECK(json_array_size(json_object_get(root, "features")) == 17);
        /* 17 inputs → 5 tanh → 1: (17·5 + 5) + (5 + 1) */
        CHECK(json_array_size(json_object_get(root, "params")) == 96);
        json_decref(root);
    }
    /* parameters round-trip exactly */
    nn_net *na = nn_model_net(m), *nb = nn_model_net(l);
    CHECK(nn_net_param_count(na) == 96 && nn_net_param_count(nb) == 96);
    CHECK(memcmp(nn_net_params(na), nn_net_params(nb), 96 * sizeof(nn_float)) == 0);
    CHECK_STR(nn_model_spec(l)->canonical, nn_model_spec(m)->canonical);
    CHECK_STR(nn_model_spec(l)->hash, nn_model_spec(m)->hash);

    /* predictions bit for bit, in dollars */
    double *pa = NULL, *pb = NULL, *pc = NULL;
    CHECK(nn_model_predict(m, kc, &pa, &err) == NN_OK);
    CHECK(nn_model_predict(l, kc, &pb, &err) == NN_OK);
    if (pa && pb) {
        CHECK(memcmp(pa, pb, kc->n_rows * sizeof *pa) == 0);
        int sane = 1;
        for (size_t i = 0; i < kc->n_rows; i++)
            if (!isfinite(pa[i]) || pa[i] < 1e3 || pa[i] > 1e8) sane = 0;
        CHECK(sane);
    }
    /* rows without the target (and without the id) predict the same */
    nn_table *rows = NULL;
    CHECK(nn_table_clone(kc, &rows, &err) == NN_OK);
    if (rows) {
        nn_table_remove(rows, nn_table_find(rows, "price"));
        nn_table_remove(rows, nn_table_find(rows, "id"));
        CHECK(nn_table_find(rows, "price") < 0);
        nn_status st = nn_model_predict(l, rows, &pc, &err);
        CHECK(st == NN_OK);
        if (st != NN_OK) fprintf(stderr, "predict without target: %s\n", err.msg);
        if (pa && pc) CHECK(memcmp(pa, pc, kc->n_rows * sizeof *pa) == 0);
        /* a missing input is an error naming it */
        double *pd = (double *)1;
        nn_table_remove(rows, nn_table_find(rows, "bedrooms"));
        CHECK(nn_model_predict(l, rows, &pd, &err) != NN_OK);
        CHECK_CONTAINS(err.msg, "bedrooms");
        CHECK(pd == NULL);
        nn_table_destroy(rows);
    }
    /* predicting a single row gives that row's prediction */
    size_t one = 7;
    nn_table *row7 = NULL;
    double *p7 = NULL;
    CHECK(nn_table_select_rows(kc, &one, 1, &row7, &err) == NN_OK);
    if (row7) CHECK(nn_model_predict(l, row7, &p7, &err) == NN_OK);
    if (p7 && pa) CHECK_REL(p7[0], pa[7], 1e-6);
    free(p7);
    nn_table_destroy(row7);
    free(pa);
    free(pb);
    free(pc);
    free(a);
    free(b);
    nn_model_destroy(l);
    nn_model_destroy(m);
    (void)unlink(path);
}

/* Loads text as a model and returns the error message ("" on success). */
static const char *load_error(const char *text, nn_error *err) {
    nn_model *m = NULL;
    memset(err, 0, sizeof *err);
    nn_status st = nn_model_from_json(text, strlen(text), &m, err);
    if (st == NN_OK) {
        nn_model_destroy(m);
        return "";
    }
    CHECK(m == NULL);
    return err->msg;
}

/* The model's JSON edited by fn, dumped back to text (malloc'd). */
static char *edited(const char *text, void (*fn)(json_t *root)) {
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!root) return NULL;
    fn(root);
    char *out = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    json_decref(root);
    return out;
}

static void drop_last_param(json_t *r) {
    json_t *p = json_object_get(r, "params");
    json_array_remove(p, json_array_size(p) - 1);
}
static void param3_string(json_t *r) {
    json_array_set_new(json_object_get(r, "params"), 3, json_string("0.5"));
}
static void param5_null(json_t *r) {
    json_array_set_new(json_object_get(r, "params"), 5, json_null());
}
static void params_object(json_t *r) { json_object_set_new(r, "params", json_object()); }
static void extra_param(json_t *r) {
    json_array_append_new(json_object_get(r, "params"), json_real(0.25));
}
static void format_other(json_t *r) { json_object_set_new(r, "format", json_string("keras")); }
static void format_missing(json_t *r) { json_object_del(r, "format"); }
static void version_2(json_t *r) { json_object_set_new(r, "version", json_integer(2)); }
static void spec_missing(json_t *r) { json_object_del(r, "spec"); }
static void spec_bad_epochs(json_t *r) {
    json_object_set_new(json_object_get(json_object_get(r, "spec"), "training"), "epochs",
                        json_integer(0));
}
static void pipeline_missing(json_t *r) { json_object_del(r, "pipeline"); }
static void units_changed(json_t *r) {
    /* a wider hidden layer in the spec: the params no longer fit */
    json_t *hidden =
        json_object_get(json_object_get(json_object_get(r, "spec"), "network"), "hidden");
    json_object_set_new(json_array_get(hidden, 0), "units", json_integer(6));
}

static void test_model_edited_files_refused_with_pointer(void) {
    nn_model *m = train_model();
    CHECK(m != NULL);
    if (!m) return;
    char *text = nn_model_to_json(m);
    nn_error err;
    CHECK_STR(load_error(text, &err), "");

    struct {
        void (*fn)(json_t *);
        const char *msg;
        int exact;
    } cases[] = {
        {drop_last_param, "/params: has 95 values, the network needs 96", 1},
        {extra_param, "/params: has 97 values, the network needs 96", 1},
        {param3_string, "/params/3: not a finite number", 1},
        {param5_null, "/params/5: not a finite number", 1},
        {params_object, "/params: must be an array of numbers", 1},
        {format_other, "/format: not an nnd model file", 1},
        {format_missing, "/format: not an nnd model file", 1},
        {version_2, "/version: unsupported model version", 1},
        {spec_missing, "/spec: missing", 1},
        {spec_bad_epochs, "/spec: /training/epochs", 0},
        {pipeline_missing, "/pipeline: ", 0},
        {units_changed, "/params: has 96 values, the network needs 115", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = edited(text, cases[i].fn);
        CHECK(t != NULL);
        if (!t) continue;
        const char *msg = load_error(t, &err);
        if (cases[i].exact)
            CHECK_STR(msg, cases[i].msg);
        else
            CHECK(strncmp(msg, cases[i].msg, strlen(cases[i].msg)) == 0);
        CHECK(err.code != NN_OK);
        free(t);
    }
    /* a number too large for a double is refused by the JSON reader, with its position */
    {
        char *t = edited(text, param3_string);
        char *q = t ? strstr(t, "\"0.5\"") : NULL;
        CHECK(q != NULL);
        if (q) {
            memcpy(q, "1e999", 5);
            CHECK_CONTAINS(load_error(t, &err), "invalid JSON at line ");
            CHECK_CONTAINS(err.msg, "1e999");
        }
        free(t);
    }

    /* truncated file, through nn_model_load: the path and the JSON position */
    char path[512];
    tmp_path(path, sizeof path, "truncated.json");
    size_t len = strlen(text);
    CHECK(write_file(path, text, len / 2) == 0);
    nn_model *l = NULL;
    CHECK(nn_model_load(path, &l, &err) == NN_ERR_PARSE);
    CHECK(l == NULL);
    CHECK(strncmp(err.msg, path, strlen(path)) == 0);
    CHECK_CONTAINS(err.msg, ": invalid JSON at line ");
    (void)unlink(path);
    /* an edited file, through nn_model_load */
    char *t = edited(text, drop_last_param);
    tmp_path(path, sizeof path, "edited.json");
    CHECK(t && write_file(path, t, strlen(t)) == 0);
    CHECK(nn_model_load(path, &l, &err) == NN_ERR_PARSE);
    char want[700];
    (void)snprintf(want, sizeof want, "%s: /params: has 95 values, the network needs 96", path);
    CHECK_STR(err.msg, want);
    (void)unlink(path);
    free(t);
    /* not an object, and an empty file */
    CHECK_STR(load_error("[1, 2]", &err), "not an nnd model file");
    CHECK_CONTAINS(load_error("", &err), "invalid JSON at line");
    /* a missing file */
    tmp_path(path, sizeof path, "no-such-model.json");
    CHECK(nn_model_load(path, &l, &err) == NN_ERR_IO);
    (void)snprintf(want, sizeof want, "cannot open %s: No such file or directory", path);
    CHECK_STR(err.msg, want);
    CHECK(l == NULL);
    free(text);
    nn_model_destroy(m);
}

/* A weighted model predicts its members' predictions averaged with the weights, and saves and
 * loads like any model. */
static void test_model_weighted(void) {
    char other[sizeof spec_json + 16];
    (void)snprintf(other, sizeof other, "%s", spec_json);
    char *seed = strstr(other, "\"seed\": 3");
    if (seed) seed[8] = '9';
    nn_model *a = train_model(), *b = train_text(other);
    CHECK(a && b);
    if (!a || !b) {
        nn_model_destroy(a);
        nn_model_destroy(b);
        return;
    }
    double *pa = NULL, *pb = NULL, *pw = NULL, *pl = NULL;
    nn_error err = {0};
    CHECK(nn_model_predict(a, kc, &pa, &err) == NN_OK);
    CHECK(nn_model_predict(b, kc, &pb, &err) == NN_OK);
    nn_model **members = malloc(2 * sizeof *members);
    members[0] = a;
    members[1] = b;
    double w[2] = {3, 1};
    nn_model *m = NULL;
    CHECK(nn_model_create_weighted_take(members, w, 2, &m, &err) == NN_OK);
    CHECK(m && nn_model_n_members(m) == 2 && nn_model_n_members(a) == 0);
    CHECK(m && nn_model_predict(m, kc, &pw, &err) == NN_OK);
    int close = pa && pb && pw, differ = 0;
    for (size_t i = 0; close && i < kc->n_rows; i++) {
        close &= fabs(pw[i] - (0.75 * pa[i] + 0.25 * pb[i])) <= 1e-9 * fabs(pw[i]);
        differ |= pa[i] != pb[i];
    }
    CHECK(close);
    CHECK(differ); /* two different members */
    char path[256];
    tmp_path(path, sizeof path, "weighted.json");
    CHECK(m && nn_model_save(m, path, &err) == NN_OK);
    nn_model *l = NULL;
    CHECK(nn_model_load(path, &l, &err) == NN_OK);
    CHECK(l && nn_model_n_members(l) == 2);
    CHECK(l && nn_model_predict(l, kc, &pl, &err) == NN_OK);
    int same = pl && pw;
    for (size_t i = 0; same && i < kc->n_rows; i++) same &= pl[i] == pw[i];
    CHECK(same);
    (void)unlink(path);
    nn_model **none = malloc(sizeof *none);
    none[0] = NULL;
    double zero = 0;
    nn_model *bad = NULL;
    CHECK(nn_model_create_weighted_take(none, &zero, 1, &bad, &err) == NN_ERR_INVALID);
    free(pa);
    free(pb);
    free(pw);
    free(pl);
    nn_model_destroy(l);
    nn_model_destroy(m);
}

int main(void) {
    kc = read_kc_slice(400);
    CHECK(kc != NULL && kc->n_rows == 400);
    if (!kc || !mkdtemp(tmpdir)) return check_summary();
    RUN(test_model_save_load_round_trip);
    RUN(test_model_edited_files_refused_with_pointer);
    RUN(test_model_weighted);
    (void)rmdir(tmpdir);
    nn_table_destroy(kc);
    return check_summary();
}
