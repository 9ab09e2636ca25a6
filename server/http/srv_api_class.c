/* srv_api_class.c — what a classification run answers differently: its out-of-fold predictions
 * (labels and every class's probability) and its predictions of new rows.
 *
 * A stored prediction of a classification holds class indices in actual/predicted and the
 * probabilities as a JSON array (migrations/0004_class_probabilities.sql); the labels are the
 * run's metrics' "classes". Answers name classes by label everywhere: CSV columns row, fold,
 * <id>, actual, predicted, p_<label>…; JSON objects with the same keys. Text is built with
 * open_memstream, so this file needs no buffer of its own. */
#include "srv_api.h"

#include "nn_metrics_class.h"
#include "nn_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest %.*g form of v that reads back as the same double ("" for NaN). */
static void put_num(FILE *f, double v) {
    if (!isfinite(v)) return;
    char t[40];
    for (int prec = 15; prec <= 17; prec++) {
        (void)snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v) break;
    }
    (void)fputs(t, f);
}

/* A CSV field, always quoted (labels and ids may hold commas or look like numbers). */
static void put_text(FILE *f, const char *s) {
    (void)fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"') (void)fputc('"', f);
        (void)fputc(*s, f);
    }
    (void)fputc('"', f);
}

/* The label of class index v (NULL when v is not one: a row without a label). */
static const char *label_of(const json_t *classes, double v) {
    if (!isfinite(v) || v < 0 || v >= (double)json_array_size(classes)) return NULL;
    return json_string_value(json_array_get(classes, (size_t)v));
}

/* Probability c of a stored row (NaN when missing). */
static double prob_of(const json_t *probs, size_t c) {
    const json_t *v = json_array_get(probs, c);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

char *srv_class_predictions_csv(const srv_prediction *p, size_t n, const json_t *classes,
                                int has_id, size_t *len) {
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f) return NULL;
    size_t k = json_array_size(classes);
    (void)fprintf(f, "row,fold%s,actual,predicted", has_id ? ",id" : "");
    for (size_t c = 0; c < k; c++) {
        (void)fputc(',', f);
        char name[NN_MAX_NAME + 8];
        (void)snprintf(name, sizeof name, "p_%s", json_string_value(json_array_get(classes, c)));
        put_text(f, name);
    }
    (void)fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        (void)fprintf(f, "%lld,", (long long)p[i].row);
        if (p[i].fold > 0) (void)fprintf(f, "%d", p[i].fold); /* 0: a row without a label */
        if (has_id) {
            (void)fputc(',', f);
            if (p[i].id) put_text(f, p[i].id);
        }
        const char *a = label_of(classes, p[i].actual), *q = label_of(classes, p[i].predicted);
        (void)fputc(',', f);
        if (a) put_text(f, a);
        (void)fputc(',', f);
        if (q) put_text(f, q);
        json_t *probs = p[i].probs ? json_loads(p[i].probs, 0, NULL) : NULL;
        for (size_t c = 0; c < k; c++) {
            (void)fputc(',', f);
            put_num(f, prob_of(probs, c));
        }
        json_decref(probs);
        (void)fputc('\n', f);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

json_t *srv_class_predictions_json(const srv_prediction *p, size_t n, const json_t *classes,
                                   int has_id) {
    size_t k = json_array_size(classes);
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        json_t *o = json_pack("{s:I, s:o}", "row", (json_int_t)p[i].row, "fold",
                              p[i].fold > 0 ? json_integer(p[i].fold) : json_null());
        if (!o) break;
        if (has_id) json_object_set_new(o, "id", p[i].id ? json_string(p[i].id) : json_null());
        const char *a = label_of(classes, p[i].actual), *q = label_of(classes, p[i].predicted);
        json_object_set_new(o, "actual", a ? json_string(a) : json_null());
        json_object_set_new(o, "predicted", q ? json_string(q) : json_null());
        json_t *probs = p[i].probs ? json_loads(p[i].probs, 0, NULL) : NULL;
        for (size_t c = 0; c < k; c++) {
            char name[NN_MAX_NAME + 8];
            (void)snprintf(name, sizeof name, "p_%s",
                           json_string_value(json_array_get(classes, c)));
            double v = prob_of(probs, c);
            json_object_set_new(o, name, isfinite(v) ? json_real(v) : json_null());
        }
        json_decref(probs);
        json_array_append_new(list, o);
    }
    return list;
}

/* The CSV answer of a prediction: the id (when the rows have it), predicted, p_<label>…. */
static char *predict_csv(const nn_model *m, const nn_table *t, const double *prob, size_t *len) {
    const nn_labels *l = nn_model_labels(m);
    const nn_spec *spec = nn_model_spec(m);
    int idc = spec->id ? nn_table_find(t, spec->id) : -1;
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f) return NULL;
    if (idc >= 0) {
        put_text(f, spec->id);
        (void)fputc(',', f);
    }
    (void)fputs("predicted", f);
    for (size_t c = 0; c < l->n; c++) {
        char name[NN_MAX_NAME + 8];
        (void)snprintf(name, sizeof name, "p_%s", l->names[c]);
        (void)fputc(',', f);
        put_text(f, name);
    }
    (void)fputc('\n', f);
    for (size_t i = 0; i < t->n_rows; i++) {
        const double *p = prob + i * l->n;
        if (idc >= 0) {
            const nn_column *c = &t->cols[idc];
            if (c->type == NN_COL_TEXT)
                put_text(f, c->text[i]);
            else
                put_num(f, c->num[i]);
            (void)fputc(',', f);
        }
        put_text(f, l->names[nn_class_predict(p, (int)l->n, l->positive, 0.5)]);
        for (size_t c = 0; c < l->n; c++) {
            (void)fputc(',', f);
            put_num(f, p[c]);
        }
        (void)fputc('\n', f);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* The JSON answer: {"targets", "classes", "predictions": [{"label", "probabilities": {label: p}}],
 * and "evaluation" when the rows carry the target column}. */
static json_t *predict_json(const nn_model *m, const nn_table *t, const double *prob) {
    const nn_labels *l = nn_model_labels(m);
    const nn_spec *spec = nn_model_spec(m);
    json_t *classes = json_array(), *list = json_array();
    for (size_t c = 0; classes && c < l->n; c++)
        json_array_append_new(classes, json_string(l->names[c]));
    for (size_t i = 0; list && i < t->n_rows; i++) {
        const double *p = prob + i * l->n;
        json_t *probs = json_object();
        for (size_t c = 0; probs && c < l->n; c++)
            json_object_set_new(probs, l->names[c], json_real(p[c]));
        json_array_append_new(list,
                              json_pack("{s:s, s:o}", "label",
                                        l->names[nn_class_predict(p, (int)l->n, l->positive, 0.5)],
                                        "probabilities", probs ? probs : json_null()));
    }
    json_t *o =
        json_pack("{s:[s], s:o, s:o}", "targets", spec->targets[0], "classes",
                  classes ? classes : json_null(), "predictions", list ? list : json_null());
    nn_label_check chk;
    nn_model_check_labels(m, t, prob, &chk);
    if (o && chk.has_target) {
        json_t *ev =
            json_pack("{s:I, s:o, s:I}", "rows", (json_int_t)chk.known, "accuracy",
                      chk.known ? json_real((double)chk.correct / (double)chk.known) : json_null(),
                      "unseen_labels", (json_int_t)chk.unseen);
        if (ev && chk.unseen)
            json_object_set_new(ev, "first_unseen",
                                json_pack("{s:I, s:s}", "row", (json_int_t)chk.first_unseen + 1,
                                          "label", chk.first_label));
        json_object_set_new(o, "evaluation", ev);
    }
    return o;
}

void srv_class_predict_answer(srv_resp *resp, int csv, const nn_model *m, const nn_table *t,
                              const double *prob) {
    if (csv) {
        size_t len = 0;
        char *text = predict_csv(m, t, prob, &len);
        if (!text) {
            srv_problem(resp, 500, "out of memory");
            return;
        }
        srv_text(resp, 200, "text/csv; charset=utf-8", text, len);
        return;
    }
    json_t *o = predict_json(m, t, prob);
    if (!o) {
        srv_problem(resp, 500, "out of memory");
        return;
    }
    srv_json(resp, 200, o);
}
