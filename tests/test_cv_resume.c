/* test_cv_resume.c — a training continued from a saved state is the training that never
 * stopped: nn_train_state through bytes (parameters bit-identical after the last epoch), and
 * fold states (nn_cv_task_state / nn_cv_task_resume) over a chain of prefixes 4 → 9 → 14 epochs
 * with two networks per fold, dropout, adam, early stopping with restored weights and reduce on
 * plateau, for a regression and a three-class classification: histories, out-of-fold
 * predictions, networks and the final model equal to the uninterrupted job's, bit for bit.
 * States that do not belong are refused with their reason. */
#include "check.h"
#include "cv_fixture.h"
#include "nn_train.h"

/* ---- nn_train: begin, resume, save, load ---- */

static void test_train_state_round_trip_is_bit_identical(void) {
    const size_t n = 57;
    nn_float x[57 * 2], y[57];
    for (size_t i = 0; i < n; i++) {
        x[2 * i] = (nn_float)(i % 7) / 7, x[2 * i + 1] = (nn_float)(i % 5) / 5;
        y[i] = (nn_float)(0.3 * x[2 * i] - 0.7 * x[2 * i + 1]);
    }
    nn_layer_cfg layers[2] = {
        {.units = 8, .act = NN_ACT_TANH, .dropout = 0.2, .weight_init = NN_INIT_GLOROT_UNIFORM},
        {.units = 1, .act = NN_ACT_LINEAR, .weight_init = NN_INIT_GLOROT_UNIFORM}};
    nn_net_cfg nc = {.n_inputs = 2, .n_layers = 2, .layers = layers};
    nn_net *a = NULL, *b = NULL;
    CHECK(nn_net_create(&nc, &a, NULL) == NN_OK && nn_net_create(&nc, &b, NULL) == NN_OK);
    if (!a || !b) return;
    nn_net_init(a, 3, NN_STREAM(1, NN_STREAM_INIT));
    nn_net_init(b, 3, NN_STREAM(1, NN_STREAM_INIT));
    nn_train_cfg tc = nn_train_defaults();
    tc.epochs = 10;
    tc.batch_size = 8;
    tc.seed = 11;
    tc.group = 2;
    tc.optim = nn_optim_defaults(NN_OPTIM_ADAMW);
    CHECK(nn_train_fit(a, x, y, n, &tc, NULL, NULL) == NN_OK);
    /* b: 4 epochs, saved to bytes, loaded into a fresh state, 6 more */
    nn_train_state *s1 = NULL, *s2 = NULL;
    nn_train_cfg first = tc;
    first.epochs = 4;
    CHECK(nn_train_begin(b, n, &first, &s1, NULL) == NN_OK);
    CHECK(nn_train_resume(b, x, y, n, &first, s1, NULL, NULL) == NN_OK);
    CHECK(nn_train_state_epoch(s1) == 4);
    nn_wbuf w = {0};
    nn_train_state_save(s1, &w);
    CHECK(!w.failed);
    nn_train_state_destroy(s1);
    CHECK(nn_train_begin(b, n, &tc, &s2, NULL) == NN_OK);
    nn_rbuf r = {w.p, w.len, 0, 0};
    CHECK(nn_train_state_load(s2, &r, NULL) == NN_OK && r.pos == w.len);
    nn_train_result res;
    CHECK(nn_train_resume(b, x, y, n, &tc, s2, &res, NULL) == NN_OK);
    CHECK(res.epochs_run == 10);
    CHECK(memcmp(nn_net_params_const(a), nn_net_params_const(b),
                 nn_net_param_count(a) * sizeof(nn_float)) == 0);
    /* short or wrong-sized bytes are refused */
    nn_rbuf cut = {w.p, w.len - 3, 0, 0};
    nn_error err = {0};
    CHECK(nn_train_state_load(s2, &cut, &err) == NN_ERR_INVALID);
    CHECK(strstr(err.msg, "cut short") != NULL);
    nn_train_state *s3 = NULL;
    CHECK(nn_train_begin(b, n - 1, &tc, &s3, NULL) == NN_OK);
    nn_rbuf other = {w.p, w.len, 0, 0};
    CHECK(nn_train_state_load(s3, &other, &err) == NN_ERR_INVALID);
    nn_train_state_destroy(s2);
    nn_train_state_destroy(s3);
    free(w.p);
    nn_net_destroy(a);
    nn_net_destroy(b);
}

/* ---- fold states ---- */

/* A job's state of every fold after running it (NULL entries: none). */
typedef struct states {
    unsigned char *p[5];
    size_t len[5];
} states;

static void states_free(states *s) {
    for (int i = 0; i < 5; i++) free(s->p[i]);
    memset(s, 0, sizeof *s);
}

/* Runs spec on data, first handing it `from` (when not NULL); keeps the folds' states in out
 * (when not NULL). */
static nn_cv *run_from(const nn_spec *spec, const nn_table *data, const states *from, states *out) {
    nn_cv *cv = NULL;
    nn_error err = {0};
    if (nn_cv_create(spec, data, NULL, &cv, NULL, &err) != NN_OK) {
        fprintf(stderr, "create: %s\n", err.msg);
        CHECK(0);
        return NULL;
    }
    for (int f = 0; from && f < nn_cv_n_folds(cv); f++) {
        nn_status st = nn_cv_task_resume(cv, f, from->p[f], from->len[f], &err);
        CHECK(st == NN_OK);
        if (st != NN_OK) fprintf(stderr, "resume: %s\n", err.msg);
    }
    CHECK(nn_cv_run(cv, 2, &err) == NN_OK);
    for (int f = 0; out && f < nn_cv_n_folds(cv); f++) {
        int epoch = 0;
        CHECK(nn_cv_task_state(cv, f, &out->p[f], &out->len[f], &epoch, NULL) == NN_OK);
        CHECK(epoch == spec->stop_at);
    }
    return cv;
}

static int same_doubles(const double *a, const double *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0) return 0;
    return 1;
}

/* Everything two jobs produced but wall time: histories, fold results, out-of-fold
 * predictions, each fold's networks and out-of-fold values as checkpoints. */
static void check_same_job(const nn_cv *a, const nn_cv *b) {
    const nn_cv_result *ra = nn_cv_result_get(a), *rb = nn_cv_result_get(b);
    CHECK(ra->n_folds == rb->n_folds);
    for (int f = 0; f < ra->n_folds; f++) {
        const nn_fold_result *x = &ra->folds[f], *y = &rb->folds[f];
        CHECK(x->n_history == y->n_history && x->epochs_run == y->epochs_run);
        CHECK(x->best_epoch == y->best_epoch);
        for (int i = 0; i < x->n_history && i < y->n_history; i++) {
            const nn_history_row *p = &x->history[i], *q = &y->history[i];
            CHECK(p->epoch == q->epoch && p->member == q->member && p->fold == q->fold);
            CHECK(same_doubles(&p->train_loss, &q->train_loss, 1));
            CHECK(same_doubles(&p->val_loss, &q->val_loss, 1));
            CHECK(same_doubles(&p->lr, &q->lr, 1));
            CHECK(isnan(p->val_r2) ? isnan(q->val_r2) : same_doubles(&p->val_r2, &q->val_r2, 1));
        }
        json_t *ca = NULL, *cb = NULL;
        CHECK(nn_cv_task_export(a, f, &ca, NULL) == NN_OK);
        CHECK(nn_cv_task_export(b, f, &cb, NULL) == NN_OK);
        CHECK(json_equal(json_object_get(ca, "params"), json_object_get(cb, "params")));
        CHECK(json_equal(json_object_get(ca, "oof"), json_object_get(cb, "oof")));
        json_decref(ca);
        json_decref(cb);
    }
    size_t n = ra->n_rows * ra->n_targets;
    for (size_t i = 0; i < n; i++)
        CHECK(isnan(ra->oof_pred[i]) ? isnan(rb->oof_pred[i])
                                     : same_doubles(&ra->oof_pred[i], &rb->oof_pred[i], 1));
}

/* The chain 4 → 9 → 14 epochs against one uninterrupted job of each length. */
static void check_chain(const nn_table *data, const char *top, const char *network,
                        const char *training) {
    char doc[3][2048];
    const char *stops[3] = {"\"stop_at\": 4, \"final\": \"none\",",
                            "\"stop_at\": 9, \"final\": \"none\",", ""};
    nn_spec *spec[3];
    for (int i = 0; i < 3; i++) {
        (void)snprintf(doc[i], sizeof doc[i],
                       "{\"name\": \"resume %d\", \"seed\": 4, %s \"network\": {%s},"
                       " \"training\": {%s %s}}",
                       i, top, network, stops[i], training);
        spec[i] = parse(doc[i]);
    }
    states s4 = {0}, s9 = {0}, s9b = {0};
    nn_cv *a4 = run_from(spec[0], data, NULL, &s4);
    nn_cv *a9 = run_from(spec[1], data, &s4, &s9);   /* continued */
    nn_cv *b9 = run_from(spec[1], data, NULL, &s9b); /* from the start */
    nn_cv *a14 = run_from(spec[2], data, &s9, NULL);
    nn_cv *b14 = run_from(spec[2], data, NULL, NULL);
    if (a4 && a9 && b9 && a14 && b14) {
        const nn_cv_result *r9 = nn_cv_result_get(a9), *r14 = nn_cv_result_get(a14);
        for (int f = 0; f < r9->n_folds; f++) {
            CHECK(r9->folds[f].resumed_epoch == 4);
            CHECK(r14->folds[f].resumed_epoch == 9);
            CHECK(nn_cv_result_get(b14)->folds[f].resumed_epoch == 0);
        }
        check_same_job(a9, b9);
        check_same_job(a14, b14);
        /* the final refit and its model: the same predictions */
        nn_model *ma = nn_cv_take_model(a14), *mb = nn_cv_take_model(b14);
        CHECK(ma && mb);
        if (ma && mb) {
            const nn_cv_result *ra = nn_cv_result_get(a14), *rb = nn_cv_result_get(b14);
            CHECK(ra->final.epochs_run == rb->final.epochs_run);
            CHECK(same_doubles(&ra->final.history[0].train_loss, &rb->final.history[0].train_loss,
                               1));
            double *pa = NULL, *pb = NULL;
            CHECK(nn_model_predict(ma, data, &pa, NULL) == NN_OK);
            CHECK(nn_model_predict(mb, data, &pb, NULL) == NN_OK);
            CHECK(pa && pb && same_doubles(pa, pb, data->n_rows));
            free(pa);
            free(pb);
        }
        nn_model_destroy(ma);
        nn_model_destroy(mb);
    }
    nn_cv_destroy(a4);
    nn_cv_destroy(a9);
    nn_cv_destroy(b9);
    nn_cv_destroy(a14);
    nn_cv_destroy(b14);
    states_free(&s4);
    states_free(&s9);
    states_free(&s9b);
    for (int i = 0; i < 3; i++) nn_spec_destroy(spec[i]);
}

static void test_fold_states_continue_a_regression(void) {
    nn_table *t = synth(150, 2, -1, 0.5);
    check_chain(t,
                "\"target\": \"y\", \"preprocess\": [{\"op\": \"normalize\", \"columns\":"
                " \"all\"}],",
                "\"hidden\": [{\"units\": 8, \"activation\": \"relu\", \"dropout\": 0.1}]",
                "\"epochs\": 14, \"batch_size\": 16, \"ensemble\": 2,"
                " \"optimizer\": {\"type\": \"adam\", \"learning_rate\": 0.03},"
                " \"validation\": {\"type\": \"kfold\", \"k\": 3},"
                " \"early_stopping\": {\"monitor\": \"val_loss\", \"patience\": 3},"
                " \"reduce_on_plateau\": {\"monitor\": \"val_loss\", \"patience\": 1,"
                " \"factor\": 0.5}");
    nn_table_destroy(t);
}

static void test_fold_states_continue_a_classification(void) {
    nn_table *t = labelled(120, 3, 0);
    check_chain(t,
                "\"target\": \"label\", \"preprocess\": [{\"op\": \"normalize\", \"columns\":"
                " \"inputs\"}],",
                "\"hidden\": [{\"units\": 6}]",
                "\"epochs\": 14, \"batch_size\": 8, \"ensemble\": 2,"
                " \"optimizer\": {\"type\": \"momentum\", \"learning_rate\": 0.05},"
                " \"validation\": {\"type\": \"kfold\", \"k\": 4},"
                " \"early_stopping\": {\"monitor\": \"val_log_loss\", \"patience\": 4}");
    nn_table_destroy(t);
}

/* States that do not belong: refused with their reason, and the job then trains from epoch 1. */
static void test_fold_states_that_do_not_belong_are_refused(void) {
    nn_table *t = synth(90, 1, 1, 0);
    nn_spec *s4 = synth_spec(2, "\"hidden\": [{\"units\": 4}]",
                             "\"epochs\": 8, \"stop_at\": 4, \"final\": \"none\","
                             " \"validation\": {\"type\": \"kfold\", \"k\": 3}");
    nn_spec *s2 = synth_spec(2, "\"hidden\": [{\"units\": 4}]",
                             "\"epochs\": 8, \"stop_at\": 2, \"final\": \"none\","
                             " \"validation\": {\"type\": \"kfold\", \"k\": 3}");
    nn_spec *other = synth_spec(2, "\"hidden\": [{\"units\": 4}]",
                                "\"epochs\": 8, \"batch_size\": 7,"
                                " \"validation\": {\"type\": \"kfold\", \"k\": 3}");
    states st = {0};
    nn_cv *a = run_from(s4, t, NULL, &st);
    nn_cv *b = NULL, *c = NULL;
    nn_error err = {0};
    CHECK(nn_cv_create(s2, t, NULL, &b, NULL, NULL) == NN_OK);
    CHECK(nn_cv_create(other, t, NULL, &c, NULL, NULL) == NN_OK);
    if (a && b && c) {
        CHECK(nn_cv_task_resume(b, 0, st.p[0], st.len[0], &err) == NN_ERR_INVALID);
        CHECK(strstr(err.msg, "past the 2 this job trains") != NULL);
        CHECK(nn_cv_task_resume(c, 0, st.p[0], st.len[0], &err) == NN_ERR_INVALID);
        CHECK(strstr(err.msg, "another spec") != NULL);
        CHECK(nn_cv_task_resume(a, 1, st.p[0], st.len[0], &err) == NN_ERR_INVALID);
        CHECK(strstr(err.msg, "task 0") != NULL);
        st.p[0][st.len[0] / 2] ^= 1;
        CHECK(nn_cv_task_resume(a, 0, st.p[0], st.len[0], &err) == NN_ERR_INVALID);
        CHECK(strstr(err.msg, "corrupt") != NULL);
        CHECK(nn_cv_task_resume(a, 0, st.p[0], 20, &err) == NN_ERR_INVALID);
        CHECK(nn_cv_task_resume(a, 3, st.p[0], st.len[0], &err) == NN_ERR_INVALID);
        /* the final fit has no state, nor a job without stop_at */
        unsigned char *p = NULL;
        size_t len = 0;
        int epoch = 0;
        CHECK(nn_cv_run(c, 1, NULL) == NN_OK);
        CHECK(nn_cv_task_state(c, 0, &p, &len, &epoch, &err) == NN_ERR_NOT_FOUND);
        CHECK(nn_cv_task_state(c, 3, &p, &len, &epoch, &err) == NN_ERR_NOT_FOUND);
        CHECK(p == NULL && len == 0);
    }
    nn_cv_destroy(a);
    nn_cv_destroy(b);
    nn_cv_destroy(c);
    states_free(&st);
    nn_spec_destroy(s4);
    nn_spec_destroy(s2);
    nn_spec_destroy(other);
    nn_table_destroy(t);
}

int main(void) {
    RUN(test_train_state_round_trip_is_bit_identical);
    RUN(test_fold_states_continue_a_regression);
    RUN(test_fold_states_continue_a_classification);
    RUN(test_fold_states_that_do_not_belong_are_refused);
    return check_summary();
}
