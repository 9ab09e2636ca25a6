/* cv_fixture.h — helpers shared by test_cv.c and test_cv_final.c: spec builders, synthetic
 * tables, job runners, metrics computed independently, the King County slice. */
#ifndef CV_FIXTURE_H
#define CV_FIXTURE_H

#include "check.h"
#include "nn_csv.h"
#include "nn_cv.h"
#include "nn_pipe.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* ---- helpers ---- */

static inline nn_spec *parse(const char *json) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    if (nn_spec_parse(json, strlen(json), &s, &errs) != NN_OK) {
        fprintf(stderr, "spec: %s: %s\n", errs.n ? errs.items[0].pointer : "",
                errs.n ? errs.items[0].message : "?");
        abort();
    }
    return s;
}

/* A spec on the synthetic columns x1, x2 → y: normalize everything, then `network` and
 * `training` (JSON object bodies). */
static inline nn_spec *synth_spec(uint64_t seed, const char *network, const char *training) {
    char buf[2048];
    (void)snprintf(buf, sizeof buf,
                   "{\"name\": \"synth\", \"seed\": %llu, \"target\": \"y\","
                   " \"preprocess\": [{\"op\": \"normalize\", \"columns\": \"all\"}],"
                   " \"network\": {%s}, \"training\": {%s}}",
                   (unsigned long long)seed, network, training);
    return parse(buf);
}

/* The King County seed pipeline with a small network and the given training body. */
static inline nn_spec *kc_spec(uint64_t seed, const char *training) {
    char buf[4096];
    (void)snprintf(
        buf, sizeof buf,
        "{\"name\": \"kc\", \"seed\": %llu, \"target\": \"price\", \"id\": \"id\","
        " \"preprocess\": ["
        "  {\"op\": \"drop\", \"columns\": [\"zipcode\", \"sqft_living15\", \"sqft_lot15\"]},"
        "  {\"op\": \"date\", \"column\": \"date\", \"format\": \"%%Y%%m%%dT%%H%%M%%S\","
        "   \"extract\": [\"timestamp\", \"month\"]},"
        "  {\"op\": \"replace\", \"column\": \"yr_renovated\", \"equal\": 0,"
        "   \"with_column\": \"yr_built\"},"
        "  {\"op\": \"log10\", \"columns\": [\"sqft_living\", \"sqft_above\", \"price\"]},"
        "  {\"op\": \"normalize\", \"columns\": \"all\", \"method\": \"minmax\"}],"
        " \"network\": {\"hidden\": [{\"units\": 12, \"activation\": \"relu\", \"repeat\": 2}]},"
        " \"training\": {%s}}",
        (unsigned long long)seed, training);
    return parse(buf);
}

/* n rows of x1, x2 uniform in [0, 1) from a fixed LCG, y = a·x1 + b·x2 + c. */
static inline nn_table *synth(size_t n, double a, double b, double c) {
    nn_table *t = NULL;
    if (nn_table_create(n, &t, NULL) != NN_OK) abort();
    double *x1 = malloc(n * sizeof *x1), *x2 = malloc(n * sizeof *x2), *y = malloc(n * sizeof *y);
    if (!x1 || !x2 || !y) abort();
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x1[i] = (double)(s >> 11) / 9007199254740992.0;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x2[i] = (double)(s >> 11) / 9007199254740992.0;
        y[i] = a * x1[i] + b * x2[i] + c;
    }
    if (nn_table_add_number_take(t, "x1", x1, NULL, NULL) != NN_OK ||
        nn_table_add_number_take(t, "x2", x2, NULL, NULL) != NN_OK ||
        nn_table_add_number_take(t, "y", y, NULL, NULL) != NN_OK)
        abort();
    return t;
}

/* n rows of x1, x2 (synth's) and a text label: "hi"/"lo" by x1 + x2 > 1 (k = 2), or "a", "b",
 * "c" by thirds of x1 (k = 3); every `rare`-th "hi" row is relabelled "lo" when rare > 0 (an
 * imbalanced, noisy set). */
static inline nn_table *labelled(size_t n, int k, int rare) {
    nn_table *t = synth(n, 1, 1, 0);
    int y = nn_table_find(t, "y");
    char **lab = calloc(n, sizeof *lab);
    const double *x1 = t->cols[nn_table_find(t, "x1")].num;
    int his = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s;
        if (k == 2) {
            s = t->cols[y].num[i] > 1 ? "hi" : "lo";
            if (rare > 0 && s[0] == 'h' && ++his % rare != 0) s = "lo";
        } else {
            s = x1[i] < 1.0 / 3 ? "a" : x1[i] < 2.0 / 3 ? "b" : "c";
        }
        lab[i] = strdup(s);
    }
    nn_table_remove(t, y);
    if (nn_table_add_text_take(t, "label", lab, NULL, NULL) != NN_OK) abort();
    return t;
}

/* Creates and runs a job; returns its status with the job in *out (NULL if creation failed). */
static inline nn_status run(const nn_spec *spec, const nn_table *data, int threads,
                            const nn_cv_cfg *cfg, nn_cv **out, nn_error *err) {
    *out = NULL;
    nn_spec_errors errs;
    nn_status st = nn_cv_create(spec, data, cfg, out, &errs, err);
    if (st != NN_OK) return st;
    return nn_cv_run(*out, threads, err);
}

/* Runs a job that must succeed. */
static inline nn_cv *run_ok(const nn_spec *spec, const nn_table *data, int threads) {
    nn_cv *cv = NULL;
    nn_error err = {0};
    nn_status st = run(spec, data, threads, NULL, &cv, &err);
    CHECK(st == NN_OK);
    if (st != NN_OK) {
        fprintf(stderr, "job: %s\n", err.msg);
        nn_cv_destroy(cv);
        return NULL;
    }
    return cv;
}

/* R², RMSE, MAE of p against y over the rows where use[i] (or all when use is NULL),
 * computed here independently of nn_metrics. */
typedef struct my_metrics {
    double r2, rmse, mae;
    size_t n;
} my_metrics;

static inline my_metrics my_compute(const double *y, const double *p, const int *fold_of, int fold,
                                    size_t n) {
    my_metrics m = {0, 0, 0, 0};
    double sy = 0;
    for (size_t i = 0; i < n; i++)
        if (fold < 0 ? fold_of[i] >= 0 : fold_of[i] == fold) sy += y[i], m.n++;
    double mean = sy / (double)m.n, ss_res = 0, ss_tot = 0, sa = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(fold < 0 ? fold_of[i] >= 0 : fold_of[i] == fold)) continue;
        ss_res += (y[i] - p[i]) * (y[i] - p[i]);
        ss_tot += (y[i] - mean) * (y[i] - mean);
        sa += fabs(y[i] - p[i]);
    }
    m.r2 = 1 - ss_res / ss_tot;
    m.rmse = sqrt(ss_res / (double)m.n);
    m.mae = sa / (double)m.n;
    return m;
}

static inline int history_equal(const nn_fold_result *a, const nn_fold_result *b) {
    if (a->epochs_run != b->epochs_run) return 0;
    for (int e = 0; e < a->epochs_run; e++) {
        const nn_history_row *x = &a->history[e], *y = &b->history[e];
        if (x->fold != y->fold || x->epoch != y->epoch ||
            memcmp(&x->train_loss, &y->train_loss, sizeof x->train_loss) ||
            memcmp(&x->val_loss, &y->val_loss, sizeof x->val_loss) ||
            memcmp(&x->val_r2, &y->val_r2, sizeof x->val_r2) ||
            memcmp(&x->lr, &y->lr, sizeof x->lr))
            return 0;
    }
    return 1;
}

static inline nn_table *read_kc_slice(size_t n) {
    const char *dir = getenv("NN_SOURCE_DIR");
    char path[1024];
    (void)snprintf(path, sizeof path, "%s/examples/kc_house_data.csv", dir ? dir : "..");
    FILE *f = fopen(path, "rb");
    if (f)
        (void)fclose(f);
    else
        (void)snprintf(path, sizeof path, "%s/../shared/data/kc_house_data.csv", dir ? dir : "..");
    nn_spec *spec = parse("{\"target\": \"price\", \"id\": \"id\", \"training\": {\"epochs\": 1}}");
    nn_csv_source src = {.path = path};
    nn_table *all = NULL, *slice = NULL;
    nn_error err = {0};
    nn_status st = nn_spec_read_csv(spec, &src, &all, &err);
    nn_spec_destroy(spec);
    if (st != NN_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    size_t *rows = malloc(n * sizeof *rows);
    for (size_t i = 0; rows && i < n; i++) rows[i] = i;
    if (!rows || nn_table_select_rows(all, rows, n, &slice, &err) != NN_OK) slice = NULL;
    free(rows);
    nn_table_destroy(all);
    return slice;
}

typedef struct events {
    int start[8], end[8], epoch[8]; /* per task: index 7 is the final refit */
    int order_ok;                   /* every epoch and end after its start, nothing after end */
    int n_total;
    int epochs_planned;
    int n_folds_seen;
    int bad_number; /* an EPOCH event carried a non-finite loss or R² */
    int last_epoch[8];
    atomic_int *cancel; /* set on the first epoch event when not NULL */
    nn_status end_status[8];
} events;

static inline void on_event(void *user, const nn_cv_event *ev) {
    events *e = user;
    int i = ev->fold < 0 ? 7 : ev->fold;
    e->n_total++;
    e->epochs_planned = ev->epochs;
    e->n_folds_seen = ev->n_folds;
    if (ev->kind == NN_CV_FOLD_START) {
        if (e->start[i] || e->end[i]) e->order_ok = 0;
        e->start[i]++;
    } else if (ev->kind == NN_CV_EPOCH) {
        if (!e->start[i] || e->end[i] || ev->epoch->epoch != e->last_epoch[i] + 1 ||
            ev->epoch->fold != ev->fold)
            e->order_ok = 0;
        e->last_epoch[i] = ev->epoch->epoch;
        e->epoch[i]++;
        if (!isfinite(ev->epoch->train_loss) || !isfinite(ev->epoch->lr) ||
            (ev->fold >= 0 && (!isfinite(ev->epoch->val_loss) || !isfinite(ev->epoch->val_r2))))
            e->bad_number = 1;
        if (e->cancel) atomic_store(e->cancel, 1);
    } else {
        if (!e->start[i] || e->end[i] || ev->result == NULL) e->order_ok = 0;
        e->end[i]++;
        if (ev->result) {
            e->end_status[i] = ev->result->status;
            if (ev->result->status == NN_OK && ev->result->n_val &&
                (!isfinite(ev->result->units[0].r2) || !isfinite(ev->result->model[0].r2)))
                e->bad_number = 1;
        }
    }
}

#endif
