/* test_cv.c — cross-validated training end to end: fold assignment, thread-count independence,
 * no leakage from validation rows into a fold's fit, metrics recomputed by hand from the
 * out-of-fold arrays, early stopping and reduce-on-plateau replayed from the history, cancel,
 * divergence, the three "final" modes, report events, permutation importance, and errors
 * against the data. Data: small synthetic tables built here, and the first 1500 rows of the
 * King County file. */
#include "check.h"
#include "cv_fixture.h"

static nn_table *kc; /* the King County slice, read once in main */

/* ---- fold assignment ---- */

static void test_cv_kfold_every_row_validated_once(void) {
    nn_table *t = synth(103, 2, -1, 0.5);
    nn_spec *s = synth_spec(3, "\"hidden\": [{\"units\": 4}]",
                            "\"epochs\": 2, \"validation\": {\"type\": \"kfold\", \"k\": 5}");
    nn_cv *cv = run_ok(s, t, 2);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        CHECK(r->n_folds == 5);
        CHECK(r->n_rows == 103);
        size_t count[5] = {0};
        int in_range = 1, finite = 1;
        for (size_t i = 0; i < 103; i++) {
            if (r->oof_fold[i] < 0 || r->oof_fold[i] >= 5)
                in_range = 0;
            else
                count[r->oof_fold[i]]++;
            if (!isfinite(r->oof_pred[i])) finite = 0;
        }
        CHECK(in_range);
        CHECK(finite);
        size_t lo = 103, hi = 0, sum = 0, sum_val = 0;
        for (int f = 0; f < 5; f++) {
            lo = count[f] < lo ? count[f] : lo;
            hi = count[f] > hi ? count[f] : hi;
            sum += count[f];
            sum_val += r->folds[f].n_val;
            CHECK(r->folds[f].n_val == count[f]);
            CHECK(r->folds[f].n_train == 103 - count[f]);
            CHECK(r->folds[f].fold == f);
        }
        CHECK(sum == 103);
        CHECK(sum_val == 103);
        CHECK(hi - lo <= 1);
        /* 103 = 5·20 + 3: three folds of 21, two of 20 */
        CHECK(hi == 21 && lo == 20);
        CHECK(r->overall[0].n == 103);
        /* actual holds the targets as given */
        int c = nn_table_find(t, "y");
        CHECK(memcmp(r->actual, t->cols[c].num, 103 * sizeof(double)) == 0);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

/* "stop_at" trains a prefix of the full run: the same epochs, bit for bit, under the schedule
 * of the full epoch count (cosine here), then stops. */
static void test_cv_stop_at_is_a_prefix(void) {
    nn_table *t = synth(90, 2, -1, 0.5);
    nn_spec *full =
        synth_spec(5, "\"hidden\": [{\"units\": 6}]",
                   "\"epochs\": 8, \"schedule\": {\"type\": \"cosine\"}, \"validation\": "
                   "{\"type\": \"kfold\", \"k\": 3}, \"final\": \"none\"");
    nn_spec *part =
        synth_spec(5, "\"hidden\": [{\"units\": 6}]",
                   "\"epochs\": 8, \"stop_at\": 3, \"schedule\": {\"type\": \"cosine\"}, "
                   "\"validation\": {\"type\": \"kfold\", \"k\": 3}, \"final\": \"none\"");
    nn_cv *a = run_ok(full, t, 2), *b = run_ok(part, t, 1);
    if (a && b) {
        const nn_cv_result *ra = nn_cv_result_get(a), *rb = nn_cv_result_get(b);
        for (int f = 0; f < 3; f++) {
            CHECK(ra->folds[f].epochs_run == 8 && rb->folds[f].epochs_run == 3);
            CHECK(rb->folds[f].n_history == 3);
            for (int e = 0; e < 3; e++) {
                CHECK(ra->folds[f].history[e].train_loss == rb->folds[f].history[e].train_loss);
                CHECK(ra->folds[f].history[e].val_loss == rb->folds[f].history[e].val_loss);
                CHECK(ra->folds[f].history[e].lr == rb->folds[f].history[e].lr);
            }
            /* the learning rate of epoch 3 is the cosine's over 8 epochs, not over 3 */
            CHECK(rb->folds[f].history[2].lr > ra->folds[f].history[7].lr);
        }
    }
    nn_cv_destroy(a);
    nn_cv_destroy(b);
    nn_spec_destroy(full);
    nn_spec_destroy(part);
    nn_table_destroy(t);
}

static void test_cv_holdout_validates_ceil_fraction(void) {
    nn_table *t = synth(103, 2, -1, 0.5);
    nn_spec *s = synth_spec(
        3, "", "\"epochs\": 2, \"validation\": {\"type\": \"holdout\", \"fraction\": 0.25}");
    nn_cv *cv = run_ok(s, t, 3);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        CHECK(r->n_folds == 1);
        size_t nv = 0, nan_ok = 1, codes_ok = 1;
        for (size_t i = 0; i < 103; i++) {
            if (r->oof_fold[i] == 0) {
                nv++;
                if (!isfinite(r->oof_pred[i])) nan_ok = 0;
            } else if (r->oof_fold[i] == -1) {
                if (!isnan(r->oof_pred[i])) nan_ok = 0;
            } else {
                codes_ok = 0;
            }
        }
        CHECK(nv == 26); /* ⌈0.25 · 103⌉ = ⌈25.75⌉ */
        /* the plan's parameter count is the final network's */
        nn_model *m = nn_cv_take_model(cv);
        CHECK(m && r->n_params > 0 && r->n_params == nn_net_param_count(nn_model_net(m)));
        nn_model_destroy(m);
        CHECK(nan_ok);
        CHECK(codes_ok);
        CHECK(r->folds[0].n_val == 26);
        CHECK(r->folds[0].n_train == 77);
        CHECK(r->overall[0].n == 26);
        CHECK(r->has_final_fit);
        CHECK(r->final.n_train == 103);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(t);
    /* exactly ⌈0.25 · 100⌉ = 25 */
    nn_table *t100 = synth(100, 1, 1, 0);
    s = synth_spec(3, "",
                   "\"epochs\": 1, \"validation\": {\"type\": \"holdout\", \"fraction\": 0.25}");
    cv = run_ok(s, t100, 1);
    if (cv) CHECK(nn_cv_result_get(cv)->folds[0].n_val == 25);
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(t100);
}

static void test_cv_validation_none_trains_a_model_only(void) {
    nn_table *t = synth(60, 2, -1, 0.5);
    nn_spec *s = synth_spec(3, "", "\"epochs\": 3, \"validation\": {\"type\": \"none\"}");
    nn_cv *cv = run_ok(s, t, 4);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        CHECK(r->n_folds == 0);
        CHECK(nn_cv_n_tasks(cv) == 1);
        int none = 1;
        for (size_t i = 0; i < 60; i++)
            if (r->oof_fold[i] != -1 || !isnan(r->oof_pred[i])) none = 0;
        CHECK(none);
        CHECK(r->has_final_fit);
        CHECK(r->final.n_train == 60);
        CHECK(r->final.n_val == 0);
        CHECK(r->final.epochs_run == 3);
        CHECK(isnan(r->final.history[0].val_loss));
        nn_model *m = nn_cv_take_model(cv);
        CHECK(m != NULL);
        CHECK(nn_cv_take_model(cv) == NULL); /* ownership passed */
        nn_model_destroy(m);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

/* ---- determinism ---- */

static void test_cv_bit_identical_across_thread_counts(void) {
    nn_spec *s = kc_spec(11, "\"epochs\": 4, \"batch_size\": 64,"
                             " \"optimizer\": {\"type\": \"adam\", \"learning_rate\": 0.01},"
                             " \"validation\": {\"type\": \"kfold\", \"k\": 3},"
                             " \"importance\": {\"repeats\": 1}");
    nn_cv *a = run_ok(s, kc, 1), *b = run_ok(s, kc, 3);
    if (a && b) {
        const nn_cv_result *ra = nn_cv_result_get(a), *rb = nn_cv_result_get(b);
        size_t n = ra->n_rows;
        CHECK(n == 1500 && rb->n_rows == 1500);
        CHECK(memcmp(ra->oof_fold, rb->oof_fold, n * sizeof *ra->oof_fold) == 0);
        CHECK(memcmp(ra->oof_pred, rb->oof_pred, n * sizeof *ra->oof_pred) == 0);
        CHECK(memcmp(ra->overall, rb->overall, sizeof *ra->overall) == 0);
        CHECK(memcmp(ra->overall_model, rb->overall_model, sizeof *ra->overall_model) == 0);
        for (int f = 0; f < 3; f++) {
            CHECK(memcmp(ra->folds[f].units, rb->folds[f].units, sizeof(nn_metrics)) == 0);
            CHECK(memcmp(ra->folds[f].model, rb->folds[f].model, sizeof(nn_metrics)) == 0);
            CHECK(history_equal(&ra->folds[f], &rb->folds[f]));
        }
        CHECK(history_equal(&ra->final, &rb->final));
        CHECK(ra->r2_mean == rb->r2_mean && ra->r2_sd == rb->r2_sd);
        CHECK(ra->n_importance == rb->n_importance && ra->n_importance == 17);
        for (size_t i = 0; i < ra->n_importance && i < rb->n_importance; i++) {
            CHECK_STR(ra->importance[i].feature, rb->importance[i].feature);
            CHECK(ra->importance[i].mean == rb->importance[i].mean);
        }
        nn_model *ma = nn_cv_take_model(a), *mb = nn_cv_take_model(b);
        CHECK(ma && mb);
        if (ma && mb) {
            char *ja = nn_model_to_json(ma), *jb = nn_model_to_json(mb);
            CHECK(ja && jb && strcmp(ja, jb) == 0);
            free(ja);
            free(jb);
        }
        nn_model_destroy(ma);
        nn_model_destroy(mb);
    }
    nn_cv_destroy(a);
    nn_cv_destroy(b);
    nn_spec_destroy(s);
}

static void test_cv_seed_changes_predictions(void) {
    const char *tr = "\"epochs\": 3, \"batch_size\": 64, \"validation\": {\"type\": \"kfold\","
                     " \"k\": 3}, \"final\": \"none\"";
    nn_spec *s1 = kc_spec(1, tr), *s2 = kc_spec(2, tr), *s1b = kc_spec(1, tr);
    nn_cv *a = run_ok(s1, kc, 2), *b = run_ok(s2, kc, 2), *c = run_ok(s1b, kc, 2);
    if (a && b && c) {
        const nn_cv_result *ra = nn_cv_result_get(a), *rb = nn_cv_result_get(b),
                           *rc = nn_cv_result_get(c);
        size_t n = ra->n_rows, same_pred = 0;
        CHECK(memcmp(ra->oof_fold, rb->oof_fold, n * sizeof(int)) != 0); /* folds reshuffled */
        for (size_t i = 0; i < n; i++) same_pred += ra->oof_pred[i] == rb->oof_pred[i];
        CHECK(same_pred < n / 100);
        CHECK(ra->overall[0].r2 != rb->overall[0].r2);
        /* and the same seed again reproduces */
        CHECK(memcmp(ra->oof_pred, rc->oof_pred, n * sizeof(double)) == 0);
    }
    nn_cv_destroy(a);
    nn_cv_destroy(b);
    nn_cv_destroy(c);
    nn_spec_destroy(s1);
    nn_spec_destroy(s2);
    nn_spec_destroy(s1b);
}

/* ---- leakage ---- */

/* A fold's out-of-fold predictions cannot depend on any value of the rows it validates other
 * than their own inputs: change row r's target (and make it the global extreme, which would
 * move a leaked min/max) and every prediction of r's fold stays bit-identical, while the
 * other folds (which train on r) change. */
static void test_cv_no_leakage_from_validation_rows(void) {
    nn_table *t = synth(120, 3, 0, 1);
    const char *tr = "\"epochs\": 3, \"batch_size\": 16, \"validation\": {\"type\": \"kfold\","
                     " \"k\": 4}, \"final\": \"none\"";
    nn_spec *s = synth_spec(5, "\"hidden\": [{\"units\": 6, \"activation\": \"tanh\"}]", tr);
    nn_cv *a = run_ok(s, t, 2);
    if (!a) goto done;
    const nn_cv_result *ra = nn_cv_result_get(a);
    size_t r = 17;
    int f = ra->oof_fold[r];
    int yc = nn_table_find(t, "y"), x1c = nn_table_find(t, "x1");
    t->cols[yc].num[r] = 1000.0; /* far outside [1, 4) */
    t->cols[x1c].num[r] = 50.0;  /* far outside [0, 1) */
    nn_cv *b = run_ok(s, t, 2);
    if (b) {
        const nn_cv_result *rb = nn_cv_result_get(b);
        size_t same_f = 0, n_f = 0, changed_other = 0, n_other = 0;
        for (size_t i = 0; i < 120; i++) {
            if (ra->oof_fold[i] == f && i != r) {
                n_f++;
                same_f += memcmp(&ra->oof_pred[i], &rb->oof_pred[i], sizeof(double)) == 0;
            } else if (ra->oof_fold[i] != f) {
                n_other++;
                changed_other += ra->oof_pred[i] != rb->oof_pred[i];
            }
        }
        CHECK(n_f == 29);
        CHECK(same_f == n_f);
        CHECK(changed_other == n_other);
        CHECK(ra->folds[f].history[2].train_loss == rb->folds[f].history[2].train_loss);
    }
    nn_cv_destroy(b);

    /* and directly: a pipe fitted on fold f's training rows maps the validation row's
       out-of-range x1 = 50 to far above 1 under minmax (impossible had it seen the row) */
    size_t tr_rows[120], va_rows[120], ntr = 0, nva = 0;
    for (size_t i = 0; i < 120; i++) {
        if (ra->oof_fold[i] == f)
            va_rows[nva++] = i;
        else
            tr_rows[ntr++] = i;
    }
    nn_table *ttr = NULL, *tva = NULL, *ftr = NULL, *fva = NULL;
    nn_pipe *p = NULL;
    nn_error err = {0};
    CHECK(nn_table_select_rows(t, tr_rows, ntr, &ttr, &err) == NN_OK);
    CHECK(nn_table_select_rows(t, va_rows, nva, &tva, &err) == NN_OK);
    CHECK(nn_pipe_fit(s, ttr, &p, &ftr, NULL, &err) == NN_OK);
    if (p) {
        CHECK(nn_pipe_transform(p, tva, &fva, &err) == NN_OK);
        int c = nn_table_find(fva, "x1"), cy = nn_table_find(fva, "y");
        double lo = 1, hi = 0;
        const double *xt = t->cols[x1c].num;
        for (size_t i = 0; i < ntr; i++) {
            lo = fmin(lo, xt[tr_rows[i]]);
            hi = fmax(hi, xt[tr_rows[i]]);
        }
        for (size_t i = 0; fva && i < nva; i++) {
            if (va_rows[i] != r) continue;
            CHECK(fva->cols[c].num[i] > 40);
            CHECK_NEAR(fva->cols[c].num[i], (50.0 - lo) / (hi - lo), 1e-12);
            CHECK(fva->cols[cy].num[i] > 100);
        }
        /* training rows stay in [0, 1] */
        int in01 = 1;
        int ct = nn_table_find(ftr, "x1");
        for (size_t i = 0; i < ftr->n_rows; i++)
            if (ftr->cols[ct].num[i] < 0 || ftr->cols[ct].num[i] > 1) in01 = 0;
        CHECK(in01);
    }
    nn_table_destroy(ttr);
    nn_table_destroy(tva);
    nn_table_destroy(ftr);
    nn_table_destroy(fva);
    nn_pipe_destroy(p);
done:
    nn_cv_destroy(a);
    nn_spec_destroy(s);
    nn_table_destroy(t);
}

/* ---- metrics ---- */

static void test_cv_metrics_match_hand_computation(void) {
    nn_spec *s =
        kc_spec(4, "\"epochs\": 5, \"batch_size\": 64,"
                   " \"optimizer\": {\"type\": \"adam\", \"learning_rate\": 0.01},"
                   " \"validation\": {\"type\": \"kfold\", \"k\": 4}, \"final\": \"none\"");
    nn_cv *cv = run_ok(s, kc, 2);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        size_t n = r->n_rows;
        my_metrics o = my_compute(r->actual, r->oof_pred, r->oof_fold, -1, n);
        CHECK(o.n == 1500 && r->overall[0].n == 1500);
        CHECK_REL(r->overall[0].r2, o.r2, 1e-12);
        CHECK_REL(r->overall[0].rmse, o.rmse, 1e-12);
        CHECK_REL(r->overall[0].mae, o.mae, 1e-12);
        CHECK_REL(r->overall[0].mse, o.rmse * o.rmse, 1e-12);
        /* actual is the price column as read */
        int pc = nn_table_find(kc, "price");
        CHECK(memcmp(r->actual, kc->cols[pc].num, n * sizeof(double)) == 0);
        double r2s[4], rm[4], ma[4];
        for (int f = 0; f < 4; f++) {
            my_metrics m = my_compute(r->actual, r->oof_pred, r->oof_fold, f, n);
            CHECK(m.n == r->folds[f].units[0].n);
            CHECK_REL(r->folds[f].units[0].r2, m.r2, 1e-12);
            CHECK_REL(r->folds[f].units[0].rmse, m.rmse, 1e-12);
            CHECK_REL(r->folds[f].units[0].mae, m.mae, 1e-12);
            r2s[f] = m.r2, rm[f] = m.rmse, ma[f] = m.mae;
        }
        /* mean ± sample sd across folds */
        double mean = (r2s[0] + r2s[1] + r2s[2] + r2s[3]) / 4, ss = 0;
        for (int f = 0; f < 4; f++) ss += (r2s[f] - mean) * (r2s[f] - mean);
        CHECK_REL(r->r2_mean, mean, 1e-12);
        CHECK_REL(r->r2_sd, sqrt(ss / 3), 1e-9);
        CHECK_REL(r->rmse_mean, (rm[0] + rm[1] + rm[2] + rm[3]) / 4, 1e-12);
        CHECK_REL(r->mae_mean, (ma[0] + ma[1] + ma[2] + ma[3]) / 4, 1e-12);
        /* a reasonable fit, in price units (dollars) */
        CHECK(o.r2 > 0.3 && o.r2 < 1);
        CHECK(o.mae > 1000 && o.mae < 500000);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
}

/* ---- early stopping and reduce on plateau ---- */

static void test_cv_early_stopping_restores_best_epoch(void) {
    nn_spec *s = kc_spec(8, "\"epochs\": 150, \"batch_size\": 32,"
                            " \"optimizer\": {\"type\": \"adam\", \"learning_rate\": 0.02},"
                            " \"validation\": {\"type\": \"kfold\", \"k\": 3},"
                            " \"early_stopping\": {\"monitor\": \"val_loss\", \"patience\": 3}");
    nn_cv *cv = run_ok(s, kc, 3);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        int stopped = 0, sum_best = 0;
        for (int f = 0; f < 3; f++) {
            const nn_fold_result *fr = &r->folds[f];
            CHECK(fr->best_epoch >= 1 && fr->best_epoch <= fr->epochs_run);
            sum_best += fr->best_epoch;
            if (fr->epochs_run < 150) {
                stopped++;
                /* stopped exactly `patience` epochs after the last improvement */
                CHECK(fr->epochs_run == fr->best_epoch + 3);
            }
            /* the best epoch is the first minimum of the monitored val_loss */
            const nn_history_row *h = fr->history;
            int first_min = 0;
            for (int e = 1; e < fr->epochs_run; e++)
                if (h[e].val_loss < h[first_min].val_loss) first_min = e;
            CHECK(first_min + 1 == fr->best_epoch);
            /* restored weights: the fold's reported metric is the best epoch's */
            CHECK_NEAR(fr->model[0].r2, h[fr->best_epoch - 1].val_r2, 1e-9);
            CHECK_NEAR(fr->model[0].mse, h[fr->best_epoch - 1].val_loss, 1e-9);
            for (int e = 0; e < fr->epochs_run; e++) CHECK(h[e].epoch == e + 1 && h[e].fold == f);
        }
        CHECK(stopped >= 1);
        /* the refit trains for the folds' mean best epoch */
        CHECK(r->has_final_fit);
        CHECK(r->final.epochs_run == (int)lround(sum_best / 3.0));
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
}

/* Without restore_best the fold keeps its last weights: its reported metric is the last
 * epoch's; best_epoch still names the best monitored epoch (val_r2 here, maximized). */
static void test_cv_early_stopping_without_restore(void) {
    nn_spec *s = kc_spec(8, "\"epochs\": 150, \"batch_size\": 32,"
                            " \"optimizer\": {\"type\": \"adam\", \"learning_rate\": 0.02},"
                            " \"validation\": {\"type\": \"kfold\", \"k\": 3}, \"final\": \"none\","
                            " \"early_stopping\": {\"monitor\": \"val_r2\", \"patience\": 2,"
                            " \"restore_best\": false}");
    nn_cv *cv = run_ok(s, kc, 3);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        int stopped = 0;
        for (int f = 0; f < 3; f++) {
            const nn_fold_result *fr = &r->folds[f];
            const nn_history_row *h = fr->history;
            int last = fr->epochs_run - 1, first_max = 0;
            for (int e = 1; e < fr->epochs_run; e++)
                if (h[e].val_r2 > h[first_max].val_r2) first_max = e;
            CHECK(fr->best_epoch == first_max + 1);
            if (fr->epochs_run < 150) {
                stopped++;
                CHECK(fr->epochs_run == fr->best_epoch + 2);
            }
            CHECK_NEAR(fr->model[0].r2, h[last].val_r2, 1e-9);
            CHECK_NEAR(fr->model[0].mse, h[last].val_loss, 1e-9);
        }
        CHECK(stopped >= 1);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
}

static void test_cv_reduce_on_plateau_replayed(void) {
    const double lr0 = 0.02, factor = 0.5, min_lr = 0.003;
    const int patience = 2;
    nn_spec *s = kc_spec(9, "\"epochs\": 40, \"batch_size\": 32,"
                            " \"optimizer\": {\"type\": \"adam\", \"learning_rate\": 0.02},"
                            " \"validation\": {\"type\": \"kfold\", \"k\": 3}, \"final\": \"none\","
                            " \"reduce_on_plateau\": {\"monitor\": \"val_loss\", \"patience\": 2,"
                            " \"factor\": 0.5, \"min_lr\": 0.003}");
    nn_cv *cv = run_ok(s, kc, 3);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        int lowered = 0;
        for (int f = 0; f < 3; f++) {
            const nn_history_row *h = r->folds[f].history;
            CHECK(r->folds[f].epochs_run == 40);
            /* replay: the lr of epoch e+1 is lowered when e ends a run of `patience` epochs
               without a new best val_loss; never below min_lr */
            double best = 0, lr = lr0;
            int wait = 0, monotone = 1, floor_ok = 1, replay_ok = 1;
            for (int e = 0; e < 40; e++) {
                if (fabs(h[e].lr - lr) > 1e-12 * lr0) replay_ok = 0;
                if (e > 0 && h[e].lr > h[e - 1].lr) monotone = 0;
                if (h[e].lr < min_lr * (1 - 1e-12)) floor_ok = 0;
                if (e > 0 && h[e].lr < h[e - 1].lr) lowered++;
                double v = h[e].val_loss;
                if (e == 0 || v < best) {
                    best = v;
                    wait = 0;
                } else if (++wait >= patience) {
                    lr = fmax(lr * factor, min_lr);
                    wait = 0;
                }
            }
            CHECK(replay_ok);
            CHECK(monotone);
            CHECK(floor_ok);
            CHECK(h[0].lr == lr0);
        }
        CHECK(lowered >= 1);
    }
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
}

/* ---- cancel and divergence ---- */
static void test_cv_cancel_from_report_callback(void) {
    nn_spec *s = kc_spec(2, "\"epochs\": 100000, \"batch_size\": 8,"
                            " \"validation\": {\"type\": \"kfold\", \"k\": 3}");
    atomic_int cancel = 0;
    events ev;
    memset(&ev, 0, sizeof ev);
    ev.order_ok = 1;
    ev.cancel = &cancel;
    nn_cv_cfg cfg = {on_event, &ev, &cancel};
    nn_cv *cv = NULL;
    nn_error err = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nn_status st = run(s, kc, 1, &cfg, &cv, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK(st == NN_ERR_CANCELLED);
    CHECK(err.code == NN_ERR_CANCELLED);
    CHECK_STR(err.msg, "fold 1: cancelled at epoch 2");
    CHECK(secs < 10);
    /* one thread: fold 1 ran one epoch, then nothing else started */
    CHECK(ev.epoch[0] == 1);
    CHECK(ev.start[0] == 1 && ev.end[0] == 1);
    CHECK(ev.end_status[0] == NN_ERR_CANCELLED);
    CHECK(ev.start[1] == 0 && ev.start[2] == 0 && ev.start[7] == 0);
    CHECK(ev.order_ok);
    if (cv) {
        const nn_cv_result *r = nn_cv_result_get(cv);
        CHECK(r->folds[0].status == NN_ERR_CANCELLED);
        CHECK_STR(r->folds[0].error, "fold 1: cancelled at epoch 2");
        CHECK(nn_cv_take_model(cv) == NULL);
    }
    nn_cv_destroy(cv);

    /* three threads: every running fold stops within its current epoch */
    atomic_store(&cancel, 0);
    memset(&ev, 0, sizeof ev);
    ev.order_ok = 1;
    ev.cancel = &cancel;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = run(s, kc, 3, &cfg, &cv, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK(st == NN_ERR_CANCELLED);
    CHECK_CONTAINS(err.msg, "cancelled at epoch");
    CHECK(secs < 10);
    CHECK(ev.epoch[0] + ev.epoch[1] + ev.epoch[2] <= 6);
    CHECK(ev.start[7] == 0);
    CHECK(ev.order_ok);
    nn_cv_destroy(cv);
    nn_spec_destroy(s);
}

static void test_cv_divergence_names_fold_and_epoch(void) {
    nn_spec *s = kc_spec(2, "\"epochs\": 20, \"batch_size\": 32,"
                            " \"optimizer\": {\"type\": \"sgd\", \"learning_rate\": 1e6},"
                            " \"validation\": {\"type\": \"kfold\", \"k\": 3}");
    events ev;
    memset(&ev, 0, sizeof ev);
    ev.order_ok = 1;
    nn_cv_cfg cfg = {on_event, &ev, NULL};
    for (int threads = 1; threads <= 3; threads += 2) {
        nn_cv *cv = NULL;
        nn_error err = {0};
        memset(&ev, 0, sizeof ev);
        ev.order_ok = 1;
        nn_status st = run(s, kc, threads, &cfg, &cv, &err);
        CHECK(st == NN_ERR_DIVERGED);
        CHECK(err.code == NN_ERR_DIVERGED);
        CHECK(strncmp(err.msg, "fold ", 5) == 0);
        CHECK_CONTAINS(err.msg, "epoch");
        CHECK_CONTAINS(err.msg, "diverged");
        if (threads == 1) CHECK(strncmp(err.msg, "fold 1: ", 8) == 0);
        CHECK(!ev.bad_number);
        CHECK(ev.order_ok);
        CHECK(ev.start[7] == 0); /* no refit after a failed fold */
        if (cv) {
            const nn_cv_result *r = nn_cv_result_get(cv);
            int failed = 0;
            for (int f = 0; f < 3; f++) {
                if (r->folds[f].status == NN_OK) continue;
                failed++;
                CHECK(r->folds[f].status == NN_ERR_DIVERGED);
                char prefix[16];
                (void)snprintf(prefix, sizeof prefix, "fold %d: ", f + 1);
                CHECK(strncmp(r->folds[f].error, prefix, strlen(prefix)) == 0);
                for (int e = 0; e < r->folds[f].epochs_run; e++) {
                    CHECK(isfinite(r->folds[f].history[e].train_loss));
                    CHECK(isfinite(r->folds[f].history[e].val_loss));
                }
            }
            CHECK(failed >= 1);
            CHECK(nn_cv_take_model(cv) == NULL);
        }
        nn_cv_destroy(cv);
    }
    nn_spec_destroy(s);
}

int main(void) {
    kc = read_kc_slice(1500);
    CHECK(kc != NULL);
    if (!kc) return check_summary();
    RUN(test_cv_kfold_every_row_validated_once);
    RUN(test_cv_holdout_validates_ceil_fraction);
    RUN(test_cv_stop_at_is_a_prefix);
    RUN(test_cv_validation_none_trains_a_model_only);
    RUN(test_cv_bit_identical_across_thread_counts);
    RUN(test_cv_seed_changes_predictions);
    RUN(test_cv_no_leakage_from_validation_rows);
    RUN(test_cv_metrics_match_hand_computation);
    RUN(test_cv_early_stopping_restores_best_epoch);
    RUN(test_cv_early_stopping_without_restore);
    RUN(test_cv_reduce_on_plateau_replayed);
    RUN(test_cv_cancel_from_report_callback);
    RUN(test_cv_divergence_names_fold_and_epoch);
    nn_table_destroy(kc);
    return check_summary();
}
