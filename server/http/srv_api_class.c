/* srv_api_class.c — what a classification run answers differently: its out-of-fold predictions
 * (labels and every class's probability) and its predictions of new rows.
 *
 * A stored prediction of a classification holds class indices in actual/predicted and the
 * probabilities as a JSON array (migrations/0004_class_probabilities.sql); the labels are the
 * run's metrics' "classes". Answers name classes by label everywhere: CSV columns row, fold,
 * <id>, actual, predicted, p_<label>…; JSON objects with the same keys. Both are appended to an
 * srv_buf, page by page for the stored predictions (srv_api_pages.c streams them). */
#include "srv_api.h"

#include "nn_metrics_class.h"
#include "srv_buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The label of class index v (NULL when v is none: a row without a label). */
static const char *label_of(char *const *classes, size_t k, double v) {
    if (!isfinite(v) || v < 0 || v >= (double)k) return NULL;
    return classes[(size_t)v];
}

/* A probability as JSON: shortest round-trip digits; null when not a number. */
static void json_prob(srv_buf *b, double v) {
    if (isfinite(v))
        srv_bprintf(b, "%.17g", v);
    else
        srv_bput(b, "null", 4);
}

void srv_class_predictions_head(srv_buf *out, int csv, int has_id, char *const *classes, size_t k) {
    if (!csv) {
        srv_bprintf(out, "{\"predictions\":[");
        return;
    }
    srv_bprintf(out, "row,fold%s,actual,predicted", has_id ? ",id" : "");
    for (size_t c = 0; c < k; c++) {
        srv_bput(out, ",", 1);
        srv_bcsv_name(out, "p_", classes[c]);
    }
    srv_bput(out, "\n", 1);
}

void srv_class_predictions_rows(srv_buf *out, int csv, int has_id, char *const *classes, size_t k,
                                const srv_prediction *p, size_t n, int first) {
    for (size_t i = 0; i < n; i++) {
        const char *a = label_of(classes, k, p[i].actual),
                   *q = label_of(classes, k, p[i].predicted);
        json_t *probs = p[i].probs ? json_loads(p[i].probs, 0, NULL) : NULL;
        if (csv) {
            srv_bprintf(out, "%lld,", (long long)p[i].row);
            if (p[i].fold > 0) srv_bprintf(out, "%d", p[i].fold); /* 0: a row without a label */
            if (has_id) {
                srv_bput(out, ",", 1);
                srv_bcsv_id(out, p[i].id);
            }
            srv_bput(out, ",", 1);
            if (a) srv_bcsv(out, a);
            srv_bput(out, ",", 1);
            if (q) srv_bcsv(out, q);
            for (size_t c = 0; c < k; c++) {
                const json_t *v = json_array_get(probs, c);
                srv_bput(out, ",", 1);
                srv_bnum(out, json_is_number(v) ? json_number_value(v) : NAN); /* NaN: empty */
            }
            srv_bput(out, "\n", 1);
        } else {
            srv_bprintf(out, "%s{\"row\":%lld,\"fold\":", first && i == 0 ? "" : ",",
                        (long long)p[i].row);
            if (p[i].fold > 0)
                srv_bprintf(out, "%d", p[i].fold);
            else
                srv_bput(out, "null", 4); /* a row without a label: predicted, in no fold */
            if (has_id) {
                srv_bprintf(out, ",\"id\":");
                if (p[i].id)
                    srv_bjson_str(out, p[i].id);
                else
                    srv_bput(out, "null", 4);
            }
            srv_bprintf(out, ",\"actual\":");
            if (a)
                srv_bjson_str(out, a);
            else
                srv_bput(out, "null", 4);
            srv_bprintf(out, ",\"predicted\":");
            if (q)
                srv_bjson_str(out, q);
            else
                srv_bput(out, "null", 4);
            for (size_t c = 0; c < k; c++) {
                char key[NN_MAX_NAME + 8];
                (void)snprintf(key, sizeof key, "p_%s", classes[c]);
                srv_bput(out, ",", 1);
                srv_bjson_str(out, key);
                srv_bput(out, ":", 1);
                const json_t *v = json_array_get(probs, c);
                json_prob(out, json_is_number(v) ? json_number_value(v) : NAN);
            }
            srv_bput(out, "}", 1);
        }
        json_decref(probs);
    }
}

/* The evaluation of a target column the rows carry (nn_model_check_labels). */
static void evaluation(srv_buf *b, const nn_model *m, const nn_table *t, const double *prob) {
    nn_label_check chk;
    nn_model_check_labels(m, t, prob, &chk);
    if (!chk.has_target) return;
    srv_bprintf(b, ",\"evaluation\":{\"rows\":%zu,\"accuracy\":", chk.known);
    json_prob(b, chk.known ? (double)chk.correct / (double)chk.known : NAN);
    srv_bprintf(b, ",\"unseen_labels\":%zu", chk.unseen);
    if (chk.unseen) {
        srv_bprintf(b, ",\"first_unseen\":{\"row\":%zu,\"label\":", chk.first_unseen + 1);
        srv_bjson_str(b, chk.first_label);
        srv_bput(b, "}", 1);
    }
    srv_bput(b, "}", 1);
}

void srv_class_predict_answer(srv_buf *b, int csv, const nn_model *m, const nn_table *t,
                              const double *prob) {
    const nn_labels *l = nn_model_labels(m);
    const nn_spec *spec = nn_model_spec(m);
    size_t k = l->n;
    int idc = spec->id ? nn_table_find(t, spec->id) : -1;
    if (csv) {
        if (idc >= 0) srv_bcsv_name(b, "", spec->id), srv_bput(b, ",", 1);
        srv_bprintf(b, "predicted");
        for (size_t c = 0; c < k; c++) {
            srv_bput(b, ",", 1);
            srv_bcsv_name(b, "p_", l->names[c]);
        }
        srv_bput(b, "\n", 1);
    } else {
        srv_bprintf(b, "{\"targets\":[");
        srv_bjson_str(b, spec->targets[0]);
        srv_bprintf(b, "],\"classes\":[");
        for (size_t c = 0; c < k; c++) {
            if (c) srv_bput(b, ",", 1);
            srv_bjson_str(b, l->names[c]);
        }
        srv_bprintf(b, "],\"predictions\":[");
    }
    for (size_t i = 0; i < t->n_rows; i++) {
        const double *p = prob + i * k;
        const char *label = l->names[nn_class_predict(p, (int)k, l->positive, 0.5)];
        if (csv) {
            if (idc >= 0) srv_bcsv_cell(b, &t->cols[idc], i);
            srv_bcsv(b, label);
            for (size_t c = 0; c < k; c++) {
                srv_bput(b, ",", 1);
                srv_bnum(b, p[c]);
            }
            srv_bput(b, "\n", 1);
            continue;
        }
        srv_bprintf(b, "%s{\"label\":", i ? "," : "");
        srv_bjson_str(b, label);
        srv_bprintf(b, ",\"probabilities\":{");
        for (size_t c = 0; c < k; c++) {
            if (c) srv_bput(b, ",", 1);
            srv_bjson_str(b, l->names[c]);
            srv_bput(b, ":", 1);
            json_prob(b, p[c]);
        }
        srv_bprintf(b, "}}");
    }
    if (!csv) {
        srv_bput(b, "]", 1);
        evaluation(b, m, t, prob);
        srv_bput(b, "}", 1);
    }
}
